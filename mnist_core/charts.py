"""Plotly figure builders: data in, ``go.Figure`` out. No Streamlit here.

Each builder takes plain numbers (lists, arrays, dicts) so the app, notebooks and
tests can all use them.
"""

from __future__ import annotations

from typing import Sequence

import plotly.graph_objects as go

ACCENT = "#ff4b4b"  # Streamlit's primary red: the predicted digit
MUTED = "#9aa5b1"


def percent_label(percent: float, decimals: int = 0) -> str:
    """A probability in percent as a label that never claims certainty: "97%", and
    "> 99.9%" rather than a rounded "100%" (a softmax never reaches 1)."""
    if percent >= 99.95:
        return "> 99.9%"
    text = f"{percent:.{decimals}f}%"
    return f"{percent:.1f}%" if text.startswith("100") else text


def probability_bars(probabilities: Sequence[float], height: int = 260) -> go.Figure:
    """Ten bars, one per digit, the most likely one highlighted; y in percent."""
    values = [100.0 * float(p) for p in probabilities]
    best = max(range(len(values)), key=values.__getitem__)
    figure = go.Figure(
        go.Bar(
            x=[str(d) for d in range(len(values))],
            y=values,
            marker_color=[ACCENT if d == best else MUTED for d in range(len(values))],
            text=[percent_label(v) if v >= 1 else "" for v in values],
            textposition="outside",
            customdata=[percent_label(v, decimals=2) for v in values],
            hovertemplate="digit %{x}: %{customdata}<extra></extra>",
        )
    )
    figure.update_layout(
        height=height,
        margin=dict(l=10, r=10, t=10, b=10),
        xaxis=dict(title="digit", type="category"),
        yaxis=dict(title="probability (%)", range=[0, 112], fixedrange=True),
        showlegend=False,
    )
    return figure


TRAIN_COLOUR = "#1f77b4"
VAL_COLOUR = "#ff7f0e"


def training_curves(curves, metric: str, height: int = 320) -> go.Figure:
    """Loss or accuracy (``metric``) of one fit: the training curve per batch group as a
    thin line, training and validation per epoch as markers and lines; x in epochs."""
    batch_values = curves.batch_loss if metric == "loss" else curves.batch_accuracy
    epoch_values = curves.loss if metric == "loss" else curves.accuracy
    val_values = curves.val_loss if metric == "loss" else curves.val_accuracy
    figure = go.Figure()
    if curves.batch_x:
        figure.add_trace(go.Scatter(
            x=curves.batch_x, y=batch_values, mode="lines", name="training (running, per batch)",
            line=dict(color=TRAIN_COLOUR, width=1), opacity=0.45,
            hovertemplate="epoch %{x:.2f}: %{y:.4f}<extra>training</extra>",
        ))
    if curves.epoch_x:
        figure.add_trace(go.Scatter(
            x=curves.epoch_x, y=epoch_values, mode="lines+markers", name="training (epoch)",
            line=dict(color=TRAIN_COLOUR, width=2),
            hovertemplate="epoch %{x}: %{y:.4f}<extra>training</extra>",
        ))
        if any(value is not None for value in val_values):
            figure.add_trace(go.Scatter(
                x=curves.epoch_x, y=val_values, mode="lines+markers", name="validation (epoch)",
                line=dict(color=VAL_COLOUR, width=2),
                hovertemplate="epoch %{x}: %{y:.4f}<extra>validation</extra>",
            ))
    figure.update_layout(
        height=height,
        margin=dict(l=10, r=10, t=40, b=10),
        title=dict(text="Loss" if metric == "loss" else "Accuracy", x=0.0),
        xaxis=dict(title="epoch", rangemode="tozero"),
        yaxis=dict(title=metric, tickformat=".1%" if metric == "accuracy" else None),
        legend=dict(orientation="h", y=-0.25),
        uirevision=metric,  # keep the user's zoom while the curves grow
    )
    return figure


def cv_box_plot(groups: dict[str, list[float]], height: int = 380) -> go.Figure:
    """One box of fold accuracies per label (architecture, or "architecture · run"), side
    by side, every fold shown as a point; y in percent. A label's parts go on lines of
    their own under its box: on one line, side by side on a phone, they ran into each other."""
    figure = go.Figure()
    for label, accuracies in groups.items():
        figure.add_trace(go.Box(
            y=[100.0 * a for a in accuracies], name=label.replace(" · ", "<br>"), boxpoints="all", jitter=0.3,
            pointpos=0,
            boxmean="sd", hovertemplate="%{y:.3f}%<extra>" + label + "</extra>",
        ))
    figure.update_layout(
        # The key in a subtitle: one long title line is cut off on a phone-width page.
        height=height, margin=dict(l=10, r=10, t=64, b=10), showlegend=False,
        title=dict(text="Fold accuracies", x=0.0,
                   subtitle=dict(text="box: quartiles · dashed: mean and standard deviation")),
        yaxis=dict(title="held-out fold accuracy (%)", tickformat=".2f"),
    )
    return figure


FOLD_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf")  # d3's category10


def fold_colours(n: int) -> list[str]:
    """``n`` distinct colours, one per fold: category10, or Dark24 beyond ten folds."""
    if n <= len(FOLD_COLOURS):
        return list(FOLD_COLOURS[:n])
    from plotly.colors import qualitative

    return [qualitative.Dark24[i % len(qualitative.Dark24)] for i in range(n)]


def cv_learning_curves(folds: list[dict], metric: str, height: int = 360) -> go.Figure:
    """Per-fold learning curves of one architecture, as in the classic tutorial's
    diagnostics: one colour per fold, training as a solid line and validation on the
    held-out fold as a dashed one. One legend entry per fold ("fold 1", ...) shows or
    hides both of its lines. ``folds``: dicts with "fold" and "history"."""
    figure = go.Figure()
    for entry, colour in zip(folds, fold_colours(len(folds)), strict=True):
        history = entry["history"]
        name = f"fold {entry['fold']}"
        epochs = list(range(1, len(history.get(metric, [])) + 1))
        for key, dash, label in ((metric, "solid", "training"), (f"val_{metric}", "dash", "validation")):
            figure.add_trace(go.Scatter(
                x=epochs, y=history.get(key, []), mode="lines+markers", marker=dict(size=4, color=colour),
                line=dict(color=colour, width=1.5, dash=dash), opacity=0.85,
                name=name, legendgroup=name, showlegend=label == "training",
                hovertemplate=f"{name}, epoch %{{x}}: %{{y:.4f}}<extra>{label}</extra>",
            ))
    figure.update_layout(
        height=height, margin=dict(l=10, r=10, t=64, b=10),
        title=dict(text="Cross-entropy loss" if metric == "loss" else "Classification accuracy", x=0.0,
                   subtitle=dict(text="solid: training · dashed: validation (the held-out fold)")),
        xaxis=dict(title="epoch", dtick=1 if folds and len(folds[0]["history"].get(metric, [])) <= 20 else None),
        yaxis=dict(title=metric, tickformat=".1%" if metric == "accuracy" else None),
        legend=dict(orientation="h", y=-0.25),
    )
    return figure


def confusion_heatmap(confusion, height: int = 460) -> go.Figure:
    """The confusion matrix (rows: true digit, columns: predicted), every count written
    in its cell. The correct predictions on the diagonal are greyed out, so the
    mistakes get the whole colour scale instead of being drowned by them. An
    invisible marker sits on every cell so that a click selects it."""
    import numpy as np

    counts = np.asarray(confusion)
    digits = [str(d) for d in range(counts.shape[0])]
    off = counts.astype(float)
    diagonal = np.full_like(off, np.nan)
    np.fill_diagonal(diagonal, np.diag(counts))
    np.fill_diagonal(off, np.nan)
    figure = go.Figure()
    # The heatmaps only paint; hovering and clicking go to the markers on top.
    figure.add_trace(go.Heatmap(
        z=diagonal, x=digits, y=digits, colorscale=[[0, "#e8e8e8"], [1, "#e8e8e8"]], showscale=False,
        text=counts, texttemplate="%{text}", hoverinfo="skip",
    ))
    figure.add_trace(go.Heatmap(
        z=off, x=digits, y=digits, colorscale="Reds", zmin=0, text=counts, texttemplate="%{text}",
        colorbar=dict(title="mistakes"), hoverinfo="skip",
    ))
    cells_true, cells_predicted = np.divmod(np.arange(counts.size), counts.shape[1])
    figure.add_trace(go.Scatter(
        x=[digits[p] for p in cells_predicted], y=[digits[t] for t in cells_true], mode="markers",
        marker=dict(size=30, opacity=0.0, symbol="square"), showlegend=False,
        customdata=np.stack([cells_true, cells_predicted, counts.ravel()], axis=1),
        hovertemplate="true %{customdata[0]}, read as %{customdata[1]}: %{customdata[2]}<extra></extra>",
    ))
    figure.update_layout(
        height=height, margin=dict(l=10, r=10, t=40, b=10),
        title=dict(text="Confusion matrix (click a cell to see those mistakes)", x=0.0),
        xaxis=dict(title="predicted digit", type="category", side="bottom"),
        yaxis=dict(title="true digit", type="category", autorange="reversed"),
        clickmode="event+select",
    )
    return figure


def per_class_accuracy_bars(per_class: list[dict], height: int = 300) -> go.Figure:
    """Accuracy per true digit (the share of its test images read right), in percent."""
    figure = go.Figure(go.Bar(
        x=[str(row["digit"]) for row in per_class], y=[100 * row["accuracy"] for row in per_class],
        marker_color=MUTED, text=[f"{100 * row['accuracy']:.1f}" for row in per_class], textposition="outside",
        customdata=[[row["support"], 100 * row["precision"]] for row in per_class],
        hovertemplate="digit %{x}: %{y:.2f}% of %{customdata[0]} read right; "
                      "precision %{customdata[1]:.2f}%<extra></extra>",
    ))
    lowest = min(100 * row["accuracy"] for row in per_class)
    figure.update_layout(
        height=height, margin=dict(l=10, r=10, t=40, b=10),
        title=dict(text="Accuracy per digit", x=0.0),
        xaxis=dict(title="true digit", type="category"),
        yaxis=dict(title="accuracy (%)", range=[max(0.0, lowest - 2.0), 100.6]),
    )
    return figure


DIGIT_COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
                 "#bcbd22", "#17becf"]


def feature_map_scatter(coordinates, labels, drawing, axis_titles: Sequence[str], test_indices=None, readings=None,
                        chosen: int | None = None, height: int = 480) -> go.Figure:
    """Test digits at their 2-D ``coordinates`` (N, 2), one colour per digit ``labels``,
    and the drawing's position ``drawing`` (2,) as a star.

    Args:
        axis_titles: the x and y axis titles.
        test_indices: (N,) each dot's test-set index: hovering says it, and it is each
            dot's first ``customdata`` value, so that a click tells which digit it was.
        readings: (N,) the digit the model reads in each (said on hover).
        chosen: a test-set index to ring (the digit shown beside the map), if any.
    """
    import numpy as np

    labels = np.asarray(labels).astype(int)
    coordinates = np.asarray(coordinates, dtype=float)
    indices = np.arange(len(labels)) if test_indices is None else np.asarray(test_indices).astype(int)
    read = labels if readings is None else np.asarray(readings).astype(int)
    figure = go.Figure()
    for digit in range(10):
        rows = np.flatnonzero(labels == digit)
        figure.add_trace(go.Scattergl(
            x=coordinates[rows, 0], y=coordinates[rows, 1], mode="markers", name=str(digit),
            marker=dict(size=4, color=DIGIT_COLOURS[digit], opacity=0.55),
            customdata=np.stack([indices[rows], read[rows]], axis=1).tolist(),  # plain lists: a click sends them back
            hovertemplate=f"a test {digit} · #%{{customdata[0]}} (read as %{{customdata[1]}})<extra></extra>",
        ))
    if chosen is not None and np.any(indices == chosen):
        row = int(np.flatnonzero(indices == chosen)[0])
        figure.add_trace(go.Scatter(
            x=[coordinates[row, 0]], y=[coordinates[row, 1]], mode="markers", name=f"#{chosen}",
            marker=dict(symbol="circle-open", size=16, color="black", line=dict(width=2.5)),
            hovertemplate=f"test image #{chosen}, shown beside the map<extra></extra>",
        ))
    figure.add_trace(go.Scatter(
        x=[float(drawing[0])], y=[float(drawing[1])], mode="markers", name="your drawing",
        marker=dict(symbol="star", size=20, color="black", line=dict(color="white", width=1.5)),
        hovertemplate="your drawing<extra></extra>",
    ))
    figure.update_layout(
        height=height, margin=dict(l=10, r=10, t=10, b=10), legend=dict(title="digit", itemsizing="constant"),
        xaxis=dict(title=axis_titles[0], zeroline=False), yaxis=dict(title=axis_titles[1], zeroline=False),
        clickmode="event+select",
    )
    return figure


MAP_GAP = 1  # pixels between the tiles of a feature-map grid


def map_tile_centres(count: int, height: int, width: int, columns: int, gap: int = MAP_GAP) -> list[tuple]:
    """The centre (x, y), in pixels of the grid image, of each of ``count`` maps of
    ``height`` x ``width`` tiled ``columns`` to a row with ``gap`` between them, as
    ``explain.pictures.map_grid`` lays them out (map 0 top left, then along the row)."""
    centres = []
    for index in range(count):
        row, column = divmod(index, columns)
        centres.append((column * (width + gap) + (width - 1) / 2, row * (height + gap) + (height - 1) / 2))
    return centres


def feature_maps_figure(maps, layer: str, scale: int = 3, chosen: int | None = None) -> go.Figure:
    """A layer's feature maps (H, W, C) as one clickable grid: the maps as one grey
    picture (dark: strong; all on the layer's one scale), an invisible square marker on
    each map whose ``customdata`` is its channel index (a click anywhere on a map
    selects it: with ``hoverdistance=-1`` the nearest marker answers), a thin frame
    around each map and a red one around map ``chosen``. ``scale``: screen pixels per
    map pixel (less where the page is narrower)."""
    import base64
    import io

    import numpy as np
    from PIL import Image

    from mnist_core.explain.pictures import map_grid

    height, width, count = np.shape(maps)
    columns = int(np.ceil(np.sqrt(count)))
    grid = map_grid(maps, scale=1, columns=columns, gap=MAP_GAP)
    buffer = io.BytesIO()
    Image.fromarray(grid[:, :, 0]).save(buffer, format="PNG")
    centres = np.asarray(map_tile_centres(count, height, width, columns))
    figure = go.Figure(go.Image(source="data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode(),
                                hoverinfo="skip"))
    figure.add_trace(go.Scatter(
        x=centres[:, 0], y=centres[:, 1], mode="markers", showlegend=False,
        marker=dict(symbol="square", size=0.6 * scale * min(height, width), opacity=0.0),  # unseen, yet hovered
        selected=dict(marker=dict(opacity=0.0)), unselected=dict(marker=dict(opacity=0.0)),
        customdata=[[channel] for channel in range(count)],  # plain lists: a click sends them back
        text=[f"{layer}, map {channel + 1}" for channel in range(count)],
        hovertemplate="%{text}<extra></extra>",
    ))
    # All frames in one go: add_shape validates the whole layout each time (a second for 128 maps).
    frames = [dict(type="rect", x0=x - width / 2, x1=x + width / 2, y0=y - height / 2, y1=y + height / 2,
                   line=dict(color=ACCENT if channel == chosen else "#d0d0d0", width=2.5 if channel == chosen else 1))
              for channel, (x, y) in enumerate(centres)]
    rows, columns_px = grid.shape[:2]
    figure.update_layout(
        shapes=frames, height=rows * scale + 8, margin=dict(l=4, r=4, t=4, b=4), showlegend=False,
        xaxis=dict(visible=False, range=[-0.5, columns_px - 0.5], fixedrange=True, constrain="domain",
                   constraintoward="left"),
        yaxis=dict(visible=False, range=[rows - 0.5, -0.5], fixedrange=True, scaleanchor="x", constrain="domain",
                   constraintoward="top"),
        hovermode="closest", hoverdistance=-1, clickmode="event+select", dragmode=False,
    )
    return figure


def weight_histogram(counts, edges, strengths, layer: str, unit: str = "filter", height: int = 300) -> go.Figure:
    """A layer's weights as a histogram (``counts`` per bin between ``edges``) beside the
    mean absolute weight of each of its filters or units (``strengths``). ``unit`` names
    them: "filter" or "unit", numbered from 1, or "digit" (the output layer's units,
    one per digit), numbered from 0 as the digits are."""
    from plotly.subplots import make_subplots

    figure = make_subplots(rows=1, cols=2, subplot_titles=(f"{layer}: weights", f"mean |weight| per {unit}"))
    centres = [(float(a) + float(b)) / 2 for a, b in zip(edges[:-1], edges[1:], strict=True)]
    figure.add_trace(go.Bar(x=centres, y=[int(c) for c in counts], marker_color=MUTED,
                            hovertemplate="%{x:.3f}: %{y}<extra></extra>"), row=1, col=1)
    first = 0 if unit == "digit" else 1
    figure.add_trace(go.Bar(x=list(range(first, first + len(strengths))), y=[float(s) for s in strengths],
                            marker_color=ACCENT, hovertemplate=f"{unit} %{{x}}: %{{y:.4f}}<extra></extra>"),
                     row=1, col=2)
    figure.update_xaxes(title_text="weight", row=1, col=1)
    figure.update_yaxes(title_text="how many", row=1, col=1)
    figure.update_xaxes(title_text=unit, row=1, col=2, dtick=1 if unit == "digit" else None)
    figure.update_layout(height=height, margin=dict(l=10, r=10, t=30, b=10), showlegend=False, bargap=0.05)
    return figure
