"""Plotly figure builders: data in, ``go.Figure`` out. No Streamlit here.

Each builder takes plain numbers (lists, arrays, dicts) so the app, notebooks and
tests can all use them.
"""

from __future__ import annotations

from typing import Sequence

import plotly.graph_objects as go

ACCENT = "#ff4b4b"  # Streamlit's primary red: the predicted digit
MUTED = "#9aa5b1"


def probability_bars(probabilities: Sequence[float], height: int = 260) -> go.Figure:
    """Ten bars, one per digit, the most likely one highlighted; y in percent."""
    values = [100.0 * float(p) for p in probabilities]
    best = max(range(len(values)), key=values.__getitem__)
    figure = go.Figure(
        go.Bar(
            x=[str(d) for d in range(len(values))],
            y=values,
            marker_color=[ACCENT if d == best else MUTED for d in range(len(values))],
            text=[f"{v:.0f}%" if v >= 1 else "" for v in values],
            textposition="outside",
            hovertemplate="digit %{x}: %{y:.2f}%<extra></extra>",
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
    """One box of fold accuracies per label (architecture, or architecture and run), side
    by side, every fold shown as a point; y in percent."""
    figure = go.Figure()
    for label, accuracies in groups.items():
        figure.add_trace(go.Box(
            y=[100.0 * a for a in accuracies], name=label, boxpoints="all", jitter=0.3, pointpos=0,
            boxmean="sd", hovertemplate="%{y:.3f}%<extra>" + label + "</extra>",
        ))
    figure.update_layout(
        height=height, margin=dict(l=10, r=10, t=40, b=10), showlegend=False,
        title=dict(text="Fold accuracies (box: quartiles; dashed: mean and standard deviation)", x=0.0),
        yaxis=dict(title="held-out fold accuracy (%)", tickformat=".2f"),
    )
    return figure


def cv_learning_curves(folds: list[dict], metric: str, height: int = 340) -> go.Figure:
    """Per-fold learning curves of one architecture, as in the classic tutorial's
    diagnostics: training (blue) and validation on the held-out fold (orange), one
    line per fold. ``folds``: dicts with "fold" and "history"."""
    figure = go.Figure()
    for entry in folds:
        history = entry["history"]
        epochs = list(range(1, len(history.get(metric, [])) + 1))
        for key, colour, label in ((metric, TRAIN_COLOUR, "training"), (f"val_{metric}", VAL_COLOUR, "validation")):
            figure.add_trace(go.Scatter(
                x=epochs, y=history.get(key, []), mode="lines+markers", marker=dict(size=4),
                line=dict(color=colour, width=1.5),
                opacity=0.75, name=label, legendgroup=label, showlegend=entry is folds[0],
                hovertemplate=f"fold {entry['fold']}, epoch %{{x}}: %{{y:.4f}}<extra>{label}</extra>",
            ))
    figure.update_layout(
        height=height, margin=dict(l=10, r=10, t=40, b=10),
        title=dict(text="Cross-entropy loss" if metric == "loss" else "Classification accuracy", x=0.0),
        xaxis=dict(title="epoch", dtick=1 if folds and len(folds[0]["history"].get(metric, [])) <= 20 else None),
        yaxis=dict(title=metric, tickformat=".1%" if metric == "accuracy" else None),
        legend=dict(orientation="h", y=-0.25),
    )
    return figure

