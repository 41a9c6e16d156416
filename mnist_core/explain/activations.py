"""What every layer computes for one image, and what each layer learned.

``layer_activations`` runs the image through the model once and returns each
layer's output (feature maps for a convolution or pooling layer, a vector for a
dense one, the probabilities for the last). ``first_layer_filters``,
``filter_strengths`` and ``weight_histograms`` describe the learned weights.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mnist_core.explain.probes import as_input, cached

MAPS, GRID, VECTOR = "maps", "grid", "vector"


@dataclass(frozen=True)
class LayerActivation:
    """One layer's output for one image."""

    name: str
    layer_type: str  # the Keras class, e.g. "Conv2D"
    values: np.ndarray  # float32, the output without the batch axis: (H, W, C) maps, (H, W) or (units,)

    @property
    def kind(self) -> str:
        """"maps" for an output with a height, a width and channels (feature maps); "grid"
        for a two-axis one (an imported model's Reshape of the input to 28x28, a recurrent
        layer's steps); else "vector" (a dense layer's units, or anything else, flattened)."""
        return {3: MAPS, 2: GRID}.get(self.values.ndim, VECTOR)

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.values.shape)


def _every_layer(model):
    """A function: input batch -> every layer's output (one forward pass)."""
    import keras
    import tensorflow as tf

    layers = [layer for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)]
    probe = keras.Model(inputs=model.inputs, outputs=[layer.output for layer in layers])
    function = tf.function(lambda x: probe(x, training=False), reduce_retracing=True)
    return layers, function


def layer_activations(model, image) -> list[LayerActivation]:
    """Every layer's output for ``image`` (uint8 28x28, ink high), in order.

    The last one is the model's own output: its probabilities are what the model
    reads (``reading.inference`` gives the same numbers).
    """
    layers, function = cached(model, "every-layer", lambda: _every_layer(model))
    outputs = function(as_input(image)[:1])
    return [LayerActivation(layer.name, type(layer).__name__, np.asarray(output)[0])
            for layer, output in zip(layers, outputs, strict=True)]


# --- Learned weights -------------------------------------------------------------


def _kernels(model) -> list[tuple[str, np.ndarray]]:
    """(layer name, kernel) of every layer with a kernel: Conv2D (h, w, in, out), Dense (in, out)."""
    return [(layer.name, np.asarray(layer.kernel)) for layer in model.layers if hasattr(layer, "kernel")]


def first_layer_filters(model) -> tuple[str, np.ndarray] | None:
    """The first convolution layer's name and its kernels as (filters, h, w) images
    (summed over its input channels: one for a drawing), or None for a model without
    convolutions."""
    for name, kernel in _kernels(model):
        if kernel.ndim == 4:
            return name, np.moveaxis(kernel.sum(axis=2), -1, 0)
    return None


def filter_for_map(model, layer_name: str, channel: int) -> np.ndarray | None:
    """The kernel that made feature map ``channel`` of convolution ``layer_name``, as one
    (h, w) image (summed over the maps it reads), or None if that layer has no kernel."""
    for name, kernel in _kernels(model):
        if name == layer_name and kernel.ndim == 4:
            return kernel[:, :, :, channel].sum(axis=2)
    return None


def filter_strengths(model) -> list[tuple[str, np.ndarray]]:
    """For every convolution and dense layer, the mean absolute weight of each of its
    filters (or units): a compact view of deep layers whose kernels are not images."""
    strengths = []
    for name, kernel in _kernels(model):
        axes = tuple(range(kernel.ndim - 1))
        strengths.append((name, np.abs(kernel).mean(axis=axes)))
    return strengths


def weight_histograms(model, bins: int = 40) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(layer name, counts, bin edges) of every kernel's weights (numpy's histogram)."""
    return [(name, *np.histogram(kernel.ravel(), bins=bins)) for name, kernel in _kernels(model)]
