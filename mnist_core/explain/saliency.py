"""Where the model looked: which pixels of the image made it read a class.

- ``integrated_gradients`` (Sundararajan et al. 2017), for every model: each
  pixel's share of the class probability's change from a blank image to this one.
  The shares add up to that change (completeness); ``IntegratedGradients.gap``
  says how closely, for the number of steps used.
- ``grad_cam`` (Selvaraju et al. 2017), for models with convolution layers: the
  last convolution's feature maps weighted by how much the class score depends on
  each, upsampled to the image.
- ``occlusion``: how much the class probability drops when a small square of the
  image is blanked, for every position.

``inside_box_share`` measures how much of a map's positive mass lies on the digit
(inside the bounding box of its ink): for Grad-CAM and occlusion, which can put it
anywhere. Integrated gradients from a blank image can credit only inked pixels, so
for it that share is 1 by construction; ``share_for`` says instead how much of its
mass argues for the digit rather than against it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mnist_core.explain.probes import as_input, cached, conv_layers, layer_chain

IG_STEPS = 32
IG_TOLERANCE = 0.05  # the largest relative gap between the attributions' sum and the change (the authors' 5%)
IG_MAX_STEPS = 256
INK_THRESHOLD = 0.1  # of full ink: the faint edge of a stroke still counts as the digit


class NeedsConvolutions(ValueError):
    """Grad-CAM asked of a model without convolution layers (the MLP)."""


@dataclass(frozen=True)
class IntegratedGradients:
    """Attributions for one class: ``values`` (28, 28) add up to about ``change``."""

    values: np.ndarray
    change: float  # f(image) - f(blank) for the class's probability f
    steps: int

    @property
    def gap(self) -> float:
        """How far the attributions' sum is from the change, relative to it."""
        return abs(float(self.values.sum()) - self.change) / max(abs(self.change), 1e-12)


def _ig_function(model):
    import tensorflow as tf

    @tf.function(reduce_retracing=True)
    def gradients(path, target):
        with tf.GradientTape() as tape:
            tape.watch(path)
            scores = model(path, training=False)[:, target]
        return tape.gradient(scores, path), scores

    return gradients


def _points_to_add(alphas: np.ndarray, attributions: np.ndarray, count: int) -> np.ndarray:
    """The midpoints of the ``count`` steps (between the ``alphas`` already evaluated)
    where the trapezoid rule is likely most wrong: where the pixels' attributions
    (gradient times input, ``attributions`` (len(alphas), ...) at each alpha) change
    most over the step, times its width. A uniform share keeps flat stretches in.

    A softmax probability often jumps within a few hundredths of the path; a uniform
    grid steps over that. Bisecting there fits the same integral with far fewer
    gradients than doubling every step, and every gradient computed before is kept.
    """
    widths = np.diff(alphas)
    change = widths * np.abs(np.diff(attributions, axis=0)).reshape(len(widths), -1).sum(axis=1)
    weight = change + 0.25 * widths * max(change.sum(), 1e-12)
    chosen = np.sort(np.argsort(-weight, kind="stable")[:count])
    return (alphas[chosen] + alphas[chosen + 1]) / 2


def integrated_gradients(model, image, target: int, steps: int = IG_STEPS, tolerance: float = IG_TOLERANCE,
                         max_steps: int = IG_MAX_STEPS) -> IntegratedGradients:
    """Integrated gradients of class ``target``'s probability, from a blank (all
    background) image to ``image``, by the trapezoid rule.

    First ``steps`` uniform steps; while the attributions' sum misses the change in
    probability by more than ``tolerance`` (relative), half as many steps again, by
    bisecting the steps where the attributions changed most (``_points_to_add``), up
    to ``max_steps``: the check the method's authors advise, made every time. Only
    the new points' gradients are computed.
    """
    import tensorflow as tf

    x = as_input(image)[:1]
    gradients_at = cached(model, "integrated-gradients", lambda: _ig_function(model))
    target_tensor = tf.constant(int(target))

    def evaluate(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        gradients, scores = gradients_at(tf.constant(points.astype(np.float32).reshape(-1, 1, 1, 1) * x),
                                         target_tensor)
        return np.asarray(gradients, dtype=np.float64), np.asarray(scores, dtype=np.float64)

    alphas = np.linspace(0.0, 1.0, steps + 1)
    gradients, scores = evaluate(alphas)
    while True:
        widths = np.diff(alphas).reshape(-1, 1, 1, 1)
        average = (widths * (gradients[:-1] + gradients[1:]) / 2.0).sum(axis=0)
        result = IntegratedGradients((x[0] * average)[:, :, 0], float(scores[-1] - scores[0]), len(alphas) - 1)
        if result.gap <= tolerance or result.steps >= max_steps:
            return result
        added = _points_to_add(alphas, gradients * x, min(result.steps // 2, max_steps - result.steps))
        new_gradients, new_scores = evaluate(added)
        order = np.argsort(np.concatenate([alphas, added]), kind="stable")
        alphas = np.concatenate([alphas, added])[order]
        gradients = np.concatenate([gradients, new_gradients])[order]
        scores = np.concatenate([scores, new_scores])[order]


def _grad_cam_function(model, layer):
    import tensorflow as tf

    chain = layer_chain(model)

    @tf.function(reduce_retracing=True)
    def cam(x, target):
        # Layer by layer, so the tape sees the convolution's maps the class score comes from.
        with tf.GradientTape() as tape:
            h, maps = x, None
            for each in chain:
                h = each(h, training=False)
                if each is layer:
                    maps = h
                    tape.watch(maps)
            # The log-probability: its gradient does not vanish when the model is sure.
            score = tf.math.log(h[:, target] + 1e-12)
        gradients = tape.gradient(score, maps)
        weights = tf.reduce_mean(gradients, axis=(1, 2), keepdims=True)
        return tf.nn.relu(tf.reduce_sum(weights * maps, axis=-1))[0]

    return cam


def map_positions(model, layer) -> tuple[float, float]:
    """Where ``layer``'s output cells sit on the 28x28 input: cell i's receptive field
    is centred on input pixel ``offset + step * i`` (the same along both axes), from
    the kernels, strides and padding of the layers before it."""
    offset, step, size = 0.0, 1.0, 28
    for each in layer_chain(model):
        config = each.get_config()
        window = config.get("kernel_size") or config.get("pool_size")
        if window is not None:
            kernel = window[0] * config.get("dilation_rate", (1, 1))[0] - (config.get("dilation_rate", (1, 1))[0] - 1)
            stride = (config.get("strides") or window)[0]
            if config.get("padding") == "same":
                out = -(-size // stride)
                pad_before = max((out - 1) * stride + kernel - size, 0) // 2
            else:
                out = (size - kernel) // stride + 1
                pad_before = 0
            offset += step * ((kernel - 1) / 2 - pad_before)
            step *= stride
            size = out
        if each is layer:
            break
    return offset, step


def _on_input_grid(heat: np.ndarray, offset: float, step: float) -> np.ndarray:
    """A layer's (h, w) heat, with cells centred at ``offset + step * i``, interpolated
    onto the 28x28 input pixels (bilinear); pixels beyond the outer cells' reach get 0."""
    from scipy.ndimage import map_coordinates

    cells = (np.arange(28) - offset) / step
    rows, cols = np.meshgrid(cells, cells, indexing="ij")
    values = map_coordinates(heat, [rows, cols], order=1, mode="nearest")
    inside = ((rows >= -0.5) & (rows <= heat.shape[0] - 0.5) & (cols >= -0.5) & (cols <= heat.shape[1] - 0.5))
    return np.where(inside, values, 0.0)


def grad_cam(model, image, target: int, layer_name: str | None = None) -> np.ndarray:
    """Grad-CAM heat (28, 28) in [0, 1] for class ``target`` from the last convolution
    layer (or ``layer_name``). Raises NeedsConvolutions for a model without one."""
    import tensorflow as tf

    convolutions = conv_layers(model)
    if not convolutions:
        raise NeedsConvolutions("Grad-CAM needs a convolution layer; this model has none "
                                "(integrated gradients and occlusion work for every model)")
    layer = next((c for c in convolutions if c.name == layer_name), convolutions[-1])
    function = cached(model, f"grad-cam-{layer.name}", lambda: _grad_cam_function(model, layer))
    heat = _on_input_grid(np.asarray(function(as_input(image)[:1], tf.constant(int(target)))),
                          *cached(model, f"positions-{layer.name}", lambda: map_positions(model, layer)))
    top = heat.max()
    return heat / top if top > 0 else heat


def occlusion(model, image, target: int, patch: int = 6, stride: int = 2) -> np.ndarray:
    """Drop in class ``target``'s probability (28, 28) when a ``patch``-pixel square
    around each pixel is blanked, averaged over the squares that cover it. Positive:
    the pixel helped the class; negative: it argued against it."""
    x = as_input(image)[0, :, :, 0]
    starts = range(0, 28 - patch + 1, stride)
    occluded, boxes = [], []
    for top in starts:
        for left in starts:
            copy = x.copy()
            copy[top:top + patch, left:left + patch] = 0.0
            occluded.append(copy)
            boxes.append((top, left))
    batch = np.stack([x, *occluded])
    probabilities = _predict_floats(model, batch)[:, target]
    drops, counts = np.zeros((28, 28)), np.zeros((28, 28))
    for (top, left), probability in zip(boxes, probabilities[1:], strict=True):
        drops[top:top + patch, left:left + patch] += probabilities[0] - probability
        counts[top:top + patch, left:left + patch] += 1
    return drops / np.maximum(counts, 1)


def _predict_floats(model, images: np.ndarray) -> np.ndarray:
    """Probabilities for float images in [0, 1] (N, 28, 28)."""
    return np.asarray(model(as_input(images), training=False))


# --- How much of a map is on the digit -----------------------------------------------


def ink_box(image) -> tuple[int, int, int, int]:
    """(top, bottom, left, right), inclusive, of the image's ink; the whole image if blank."""
    x = as_input(image)[0, :, :, 0]
    rows, cols = np.nonzero(x > INK_THRESHOLD)
    if len(rows) == 0:
        return 0, 27, 0, 27
    return int(rows.min()), int(rows.max()), int(cols.min()), int(cols.max())


def inside_box_share(saliency: np.ndarray, image) -> float:
    """The share (0..1) of the map's positive mass inside the bounding box of the ink."""
    positive = np.clip(np.asarray(saliency, dtype=np.float64), 0, None)
    total = positive.sum()
    if total <= 0:
        return 0.0
    top, bottom, left, right = ink_box(image)
    return float(positive[top:bottom + 1, left:right + 1].sum() / total)


def share_for(saliency: np.ndarray) -> float:
    """The share (0..1) of the map's absolute mass that is positive: how much of what it
    says argues for the digit explained rather than against it (0.5 for an empty map).

    For integrated gradients, positive minus negative mass is the change in probability
    from a blank image (completeness): a digit read with probability p, from a blank
    image's b, has a share over 1/2 when p > b, and under 1/2 when p < b.
    """
    values = np.asarray(saliency, dtype=np.float64)
    positive, negative = values.clip(0, None).sum(), -values.clip(None, 0).sum()
    total = positive + negative
    return 0.5 if total <= 0 else float(positive / total)
