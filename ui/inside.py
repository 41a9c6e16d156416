"""Inside the model: what any model computes for the image being read (Draw page),
one view at a time, each with a sentence or two on how to read it.

The numbers come from ``mnist_core.explain``; this module only lays them out.
Only the open view is computed, so the reading itself stays fast. Coloured pictures
go to the browser as PNG: Streamlit sends RGB arrays as JPEG, which smears the
single red and blue pixels a saliency map is made of.
"""

from __future__ import annotations

from functools import partial

import numpy as np
import streamlit as st

from mnist_core.charts import feature_map_scatter, feature_maps_figure, weight_histogram
from mnist_core.explain import activations, attack, embedding, pictures, saliency
from mnist_core.models import store
from mnist_core.reading.inference import UNSURE_BELOW
from ui import PERCENT_COLUMN, PERCENT_FORMAT, chart_config, clicked_point, in_percent

LAYERS, LOOKED, FILTERS, AMONG, ALL_MODELS, CHANGE = (
    "Layers", "Where it looked", "Filters", "Among the digits", "Every model", "Change its mind")
VIEWS = [LAYERS, LOOKED, FILTERS, AMONG, ALL_MODELS, CHANGE]
VIEW_KEY = "inside_view"
MAP_LAYER_KEY = "inside_map_layer"  # the layer whose map is shown large (its selectbox)
PROJECTIONS = {"PCA": embedding.BY_PCA, "t-SNE": embedding.BY_TSNE}
PROJECTION_KEY = "inside_projection"
DIGIT_KEY = "inside_map_digit"  # the test digit clicked on the map, shown beside it


def _channel_key(layer_name: str) -> str:
    """The key of the number input choosing a map of ``layer_name``."""
    return f"inside_map_channel-{layer_name}"


def inside_the_model(model_name: str, model, image: np.ndarray, label: int) -> None:
    """The "Inside the model" section for ``image`` (uint8 28x28) read as ``label``."""
    st.subheader("Inside the model")
    # required: a click on the view already shown keeps it (without, it would empty the section).
    view = st.segmented_control("View", VIEWS, default=LAYERS, required=True, key=VIEW_KEY,
                                label_visibility="collapsed")
    if view == LAYERS:
        _layers(model, image)
    elif view == LOOKED:
        _where_it_looked(model, image, label)
    elif view == FILTERS:
        _filters(model)
    elif view == AMONG:
        _among_the_digits(model_name, model, image)
    elif view == ALL_MODELS:
        _every_model(image)
    elif view == CHANGE:
        _change_its_mind(model, image, label)


def _gray(values: np.ndarray, scale: int) -> np.ndarray:
    top = float(np.abs(values).max())
    scaled = np.clip(values / top, 0, 1) if top > 0 else np.zeros_like(values)
    gray = ((1 - scaled) * 255).astype(np.uint8)
    return np.kron(gray, np.ones((scale, scale), dtype=np.uint8))


def _vector_strip(values: np.ndarray, width: int = 32, scale: int = 8) -> np.ndarray:
    """A dense layer's units (any other output flattened) as a grey grid, ``width``
    units a row (dark: strong)."""
    values = np.ravel(values)
    padded = np.zeros(int(np.ceil(len(values) / width)) * width)
    padded[:len(values)] = np.clip(values, 0, None)
    return _gray(padded.reshape(-1, width), scale)


def _grid_picture(values: np.ndarray, side: int = 280) -> np.ndarray:
    """A two-axis output (rows, columns) as one grey picture about ``side`` pixels on its
    longer side (dark: strong)."""
    return _gray(np.clip(values, 0, None), max(1, side // max(values.shape)))


def _layers(model, image: np.ndarray) -> None:
    st.caption("Each layer's output for this drawing, from the input to the answer. A convolution layer makes "
               "one feature map per filter: dark where the filter found its pattern. All maps of a layer share "
               "one scale, so a pale map found little. Click a map to see it large beside the filter that made "
               "it. Dense layers are shown as a grid of units; a layer whose output has two axes (rows and "
               "columns, such as the input reshaped to 28 x 28) as one picture.")
    layers = activations.layer_activations(model, image)
    with_maps = [layer for layer in layers if layer.kind == activations.MAPS]
    names = [layer.name for layer in with_maps]
    _keep_the_choice_valid(with_maps)
    shown = st.session_state.get(MAP_LAYER_KEY, names[0] if names else None)
    for layer in layers[:-1]:
        with st.container(border=True):
            st.markdown(f"**{layer.name}** · {layer.layer_type} · output {' x '.join(map(str, layer.shape))}")
            if layer.kind == activations.MAPS:
                chosen = st.session_state.get(_channel_key(layer.name), 1) - 1 if layer.name == shown else None
                chart_key = f"inside_maps-{layer.name}"
                st.plotly_chart(feature_maps_figure(layer.values, layer.name, 3 if layer.shape[0] > 14 else 5, chosen),
                                key=chart_key, on_select=partial(_map_clicked, chart_key, layer.name),
                                selection_mode="points", config=chart_config(f"feature-maps-{layer.name}"))
            elif layer.kind == activations.GRID:
                st.image(_grid_picture(layer.values))
            else:
                st.image(_vector_strip(layer.values))
        if layer.name == shown:
            # Right under the grid it was clicked in, not after every other layer.
            _one_map_closer(model, with_maps)
    st.caption(f"**{layers[-1].name}** · the last layer's output is the probabilities above.")


def _map_clicked(chart_key: str, layer_name: str) -> None:
    """A click on a map of ``layer_name``: choose it in the widgets below (they are drawn
    after the charts, so they show it on this run)."""
    point = clicked_point(st.session_state.get(chart_key))
    if point is None:  # a click that only cleared the selection
        return
    st.session_state[MAP_LAYER_KEY] = layer_name
    st.session_state[_channel_key(layer_name)] = int(point[0]) + 1


def _keep_the_choice_valid(with_maps: list) -> None:
    """Forget a chosen layer or map that this model does not have (another model was picked)."""
    names = [layer.name for layer in with_maps]
    if st.session_state.get(MAP_LAYER_KEY) not in names:
        st.session_state.pop(MAP_LAYER_KEY, None)
    for layer in with_maps:
        if st.session_state.get(_channel_key(layer.name), 1) > layer.shape[2]:
            st.session_state[_channel_key(layer.name)] = 1


def _one_map_closer(model, with_maps: list) -> None:
    st.markdown("**One feature map, large, beside the filter that made it**")
    names = [layer.name for layer in with_maps]
    left, right = st.columns(2)
    name = left.selectbox("Layer", names, key=MAP_LAYER_KEY)
    layer = with_maps[names.index(name)]
    channel = right.number_input("Feature map", 1, layer.shape[2], key=_channel_key(name)) - 1
    kernel = activations.filter_for_map(model, name, channel)
    big, small = st.columns(2)
    big.image(_gray(layer.values[:, :, channel], max(4, 168 // layer.shape[0])),
              caption=f"{name}, map {channel + 1} ({layer.shape[0]} x {layer.shape[1]})")
    if kernel is not None:
        small.image(pictures.signed_image(kernel, scale=24), output_format="PNG",
                    caption=f"its {kernel.shape[0]} x {kernel.shape[1]} filter (red: weights above 0, blue: below)")
    else:
        small.caption("This layer has no filter of its own (pooling or normalisation): it reshapes what the "
                      "layer before it found.")


OVERLAY_SCALE = 6  # 168 px a picture


def saliency_overlays(model, image: np.ndarray, digit: int, with_steps: bool = False) -> list[tuple[np.ndarray, str]]:
    """(overlay, caption) for integrated gradients and, for a model with convolution
    layers, Grad-CAM, explaining ``digit``; ``with_steps`` says in the caption how
    many steps integrated gradients took. The Mistakes page's dialog shows these too."""
    ig = saliency.integrated_gradients(model, image, digit)
    steps = f" ({ig.steps} steps)" if with_steps else ""
    # Not "on the digit": from a blank image, integrated gradients can credit only inked pixels.
    share = saliency.share_for(ig.values)
    shown = [(pictures.signed_overlay(image, ig.values, scale=OVERLAY_SCALE),
              f"Integrated gradients: {share:.0%} for, {1 - share:.0%} against{steps}")]
    try:
        cam = saliency.grad_cam(model, image, digit)
    except saliency.NeedsConvolutions:
        return shown
    shown.append((pictures.signed_overlay(image, cam, scale=OVERLAY_SCALE),
                  f"Grad-CAM: {saliency.inside_box_share(cam, image):.0%} on the digit"))
    return shown


def _where_it_looked(model, image: np.ndarray, label: int) -> None:
    st.caption("Which pixels made the model read a digit. Red pixels argued for it, blue against. Pick another "
               "digit to ask \"why not a 7?\": its maps show what speaks for and against that digit.")
    digit = st.selectbox("Explain the digit", list(range(10)), index=label, key="inside_target",
                         format_func=lambda d: f"{d} (the reading)" if d == label else str(d))
    columns = st.columns(3)
    shown = saliency_overlays(model, image, digit, with_steps=True)
    for column, (overlay, caption) in zip(columns, shown, strict=False):
        column.image(overlay, width=168, output_format="PNG", caption=caption)
    if len(shown) == 1:
        columns[1].info("Grad-CAM needs convolution layers, and this model has none (an MLP). Integrated "
                        "gradients and occlusion work for every model.")
    heat = saliency.occlusion(model, image, digit)
    columns[2].image(pictures.signed_overlay(image, heat, scale=OVERLAY_SCALE), width=168, output_format="PNG",
                     caption=f"Occlusion: {saliency.inside_box_share(heat, image):.0%} on the digit")
    st.caption("Integrated gradients: each pixel's share of the change in probability from a blank image to "
               "this one (the shares add up to it), and how much of it argues for the digit and how much "
               "against; only inked pixels can get a share, as a blank pixel did not change. Grad-CAM: where "
               "the last convolution layer's features that matter for the digit were found. Occlusion: how much "
               "the probability drops when a 6x6 square around the pixel is blanked. Grad-CAM and occlusion can "
               "look anywhere: their figure is how much of what they found lies on the digit.")


def _filters(model) -> None:
    st.caption("What the layers learned. The first convolution's filters are small images: each slides over the "
               "drawing and responds where the pixels match it (red: weights above 0, blue: below). Deeper "
               "filters read many maps at once, so each is summed up by its mean absolute weight.")
    first = activations.first_layer_filters(model)
    if first is None:
        st.info("This model has no convolution layer: its first layer weighs every pixel separately.")
    else:
        name, kernels = first
        tiles = [_framed(pictures.signed_image(kernel, scale=12)) for kernel in kernels]
        st.markdown(f"**{name}**: {len(kernels)} filters of {kernels.shape[1]} x {kernels.shape[2]}")
        # A wrapping row: rows of st.columns would stack one filter per line on a phone.
        with st.container(horizontal=True, gap="xsmall", key="inside_filters"):
            for tile in tiles:
                st.image(tile, output_format="PNG")
    strengths = activations.filter_strengths(model)
    histograms = {name: (counts, edges) for name, counts, edges in activations.weight_histograms(model)}
    names = [name for name, _ in strengths]
    chosen = st.selectbox("Layer", names, index=len(names) - 1, key="inside_filter_layer")
    counts, edges = histograms[chosen]
    strength = dict(strengths)[chosen]
    st.plotly_chart(weight_histogram(counts, edges, strength, chosen, _unit_of(model, chosen, names[-1])),
                    key="inside_weights",
                    config=chart_config(f"weights-{chosen}"))


def _framed(tile: np.ndarray, margin: int = 5) -> np.ndarray:
    """An RGB tile in a thin grey frame with a white margin around it: Streamlit rounds
    an image's corners, which would cut a 3x3 filter's corner weights."""
    framed = np.pad(tile, ((1, 1), (1, 1), (0, 0)), constant_values=190)
    return np.pad(framed, ((margin, margin), (margin, margin), (0, 0)), constant_values=255)


def _unit_of(model, layer_name: str, last_with_kernel: str) -> str:
    """What layer ``layer_name``'s kernel is made of: "filter" (a convolution), "digit"
    (the output layer, ``last_with_kernel``, one unit per digit) or "unit" (any other
    dense layer)."""
    kernel = model.get_layer(layer_name).kernel
    if len(kernel.shape) == 4:
        return "filter"
    return "digit" if layer_name == last_with_kernel and kernel.shape[-1] == 10 else "unit"


def _among_the_digits(model_name: str, model, image: np.ndarray) -> None:
    st.caption("Every dot is a test digit, placed by what the model's last hidden layer makes of it: digits the "
               "model finds alike sit together. The star is your drawing. Point at a dot to see which digit it "
               "is; click it to see it beside the map. Below: the training digits it finds most like yours, each "
               "with its distance from yours in those features (smaller: more alike).")
    from mnist_core.data import DataError, load_mnist

    try:
        data = load_mnist()
    except DataError as error:
        st.error(f"The map needs the MNIST data: {error}", icon=":material/error:")
        return
    label = st.radio("Projection", list(PROJECTIONS), horizontal=True, key=PROJECTION_KEY,
                     help="PCA: the two directions in which the features vary most (a straight projection). "
                     "t-SNE: a layout that keeps each digit's nearest neighbours near it.")
    projection = PROJECTIONS[label]
    with st.spinner("Mapping 5,000 test digits (once per model; kept beside it)..."):
        feature_map = embedding.saved_map(model_name, model, data)
    if projection == embedding.BY_TSNE and feature_map.tsne is None:
        with st.spinner("Laying out 5,000 test digits with t-SNE (a few seconds, once per model; kept beside it)..."):
            feature_map = embedding.saved_map(model_name, model, data, tsne=True)
    where, neighbours, distances = embedding.place(feature_map, model, image, projection=projection)
    if projection == embedding.BY_TSNE:
        st.caption("t-SNE keeps neighbours together but its axes mean nothing, and distances between groups "
                   "mean little. It has no formula for a new image, so your drawing is placed at the average "
                   f"position of the {embedding.TSNE_PLACE_NEIGHBOURS} map digits most like it (in the model's "
                   "features).")
        axes = ("t-SNE 1", "t-SNE 2")
    else:
        axes = (f"PCA 1 ({100 * float(feature_map.explained[0]):.0f}% of the variance)",
                f"PCA 2 ({100 * float(feature_map.explained[1]):.0f}%)")
    chosen = st.session_state.get(DIGIT_KEY)
    chart, beside = st.columns([3, 1], vertical_alignment="center")
    chart_key = f"inside_map-{projection}"
    chart.plotly_chart(
        feature_map_scatter(feature_map.coordinates_for(projection), feature_map.test_labels, where, axes,
                            feature_map.test_indices, feature_map.test_readings, chosen),
        key=chart_key, on_select=partial(_digit_clicked, chart_key), selection_mode="points",
        config=chart_config(f"map-of-digits-{model_name}-{projection}"))
    with beside:
        _one_test_digit(feature_map, data, chosen)
    with st.container(horizontal=True, gap="small"):  # wraps on a phone, as the filters do
        for index, distance in zip(neighbours, distances, strict=True):
            st.image(np.kron(data.x_train[index], np.ones((3, 3), np.uint8)),
                     caption=f"a {data.y_train[index]} · {distance:.1f}")


def _digit_clicked(chart_key: str) -> None:
    """A click on a dot of the map: show that test digit beside it."""
    point = clicked_point(st.session_state.get(chart_key))
    if point is not None:
        st.session_state[DIGIT_KEY] = int(point[0])


def _one_test_digit(feature_map, data, index: int | None) -> None:
    """The test digit ``index`` large, with its label and the model's reading."""
    if index is None:
        st.caption("Click a dot to see that digit here.")
        return
    rows = np.flatnonzero(feature_map.test_indices == index)
    reading = f", read as {feature_map.test_readings[rows[0]]}" if len(rows) else ""
    st.image(np.kron(data.x_test[index], np.ones((6, 6), np.uint8)),
             caption=f"Test image #{index}: a {data.y_test[index]}{reading}")


def _every_model(image: np.ndarray) -> None:
    from mnist_core.reading.inference import predict_probabilities

    st.caption("The same drawing read by every saved model: where they disagree, the drawing is hard.")
    rows = []
    for info in store.list_models()[0]:
        if info.state == store.BROKEN:
            continue
        try:
            probabilities = predict_probabilities(store.load_model(info.name), image)[0]
        except store.StoreError:
            continue
        # The state beside the name: a FAILED model's reading must not be read without it (on a phone too).
        rows.append({"model": info.name, "state": info.state_label, "reads": int(probabilities.argmax()),
                     "probability": in_percent(float(probabilities.max())),
                     "test accuracy": in_percent(info.test_accuracy)})
    st.dataframe(rows, hide_index=True, width="stretch", column_config={
        "probability": st.column_config.ProgressColumn(format=PERCENT_FORMAT, min_value=0, max_value=100),
        "test accuracy": PERCENT_COLUMN})


def _change_its_mind(model, image: np.ndarray, label: int) -> None:
    st.caption(f"The smallest change to your drawing that makes the model read another digit, and be sure of it "
               f"(at least {UNSURE_BELOW:.0%}, as a reading above needs). The smaller it is, the more easily this "
               "model is fooled: a faint haze, 0.05 a pixel or less, that no person would notice fools many "
               "models; a change you can see is one a person might be fooled by too.")
    left, middle, right = st.columns([1, 1, 1], vertical_alignment="bottom")
    target = left.selectbox("Make it read", [d for d in range(10) if d != label], key="inside_attack_target")
    norm = middle.radio("Budget", ["per pixel (L∞)", "in total (L2)"], key="inside_attack_norm",
                        help="Per pixel: no pixel changes by more than the budget. In total: the Euclidean "
                        "length of the whole change is within it.")
    key = ("inside_attack", image.tobytes(), target, norm)
    if right.button("Find the smallest change", key="inside_attack_run"):
        with st.spinner("Searching..."):
            st.session_state["inside_attack_result"] = (
                key, attack.smallest_change(model, image, target, "linf" if "L∞" in norm else "l2"))
    stored = st.session_state.get("inside_attack_result")
    if stored is None or stored[0] != key:
        return
    result = stored[1]
    if not result.succeeded:
        st.info(f"No change within the largest budget made it read {target}.")
        return
    columns = st.columns(3)
    columns[0].image(np.kron(image, np.ones((6, 6), np.uint8)), width=168, caption=f"Your drawing: read {label}")
    columns[1].image(pictures.signed_image(result.change, scale=6), width=168, output_format="PNG",
                     caption="The change (red: more ink, blue: less)")
    columns[2].image(np.kron((result.image * 255).astype(np.uint8), np.ones((6, 6), np.uint8)), width=168,
                     caption=f"Read {result.reading} ({result.probabilities.max():.0%})")
    st.markdown(f"Budget **{result.budget:g}** {'per pixel' if result.norm == 'linf' else 'in total'}; "
                f"the change measures {result.size:.3f} (pixels run from 0 to 1).")
