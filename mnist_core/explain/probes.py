"""Models derived from a model, to see inside it: built once per model and kept
while the model lives (weakly keyed, as ``reading.inference`` keeps its functions)."""

from __future__ import annotations

import weakref

import numpy as np

from mnist_core.data import to_model_input

_PROBES: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def cached(model, key: str, build):
    """``build()`` once per (model, key)."""
    per_model = _PROBES.setdefault(model, {})
    if key not in per_model:
        per_model[key] = build()
    return per_model[key]


def as_input(images) -> np.ndarray:
    """uint8 (28, 28) or (N, 28, 28) images, or floats already in [0, 1] shaped (N, 28,
    28, 1) -> the float32 (N, 28, 28, 1) batch every model takes."""
    array = np.asarray(images)
    if array.dtype == np.uint8:
        return to_model_input(array)
    array = array.astype(np.float32)
    return array.reshape(-1, 28, 28, 1)


def conv_layers(model) -> list:
    """The model's 2-D convolution layers, in order."""
    import keras

    return [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]


def classifier_layer(model):
    """The last Dense layer: the one that scores the ten classes."""
    import keras

    dense = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
    if not dense:
        raise ValueError("the model has no Dense layer scoring the ten classes")
    return dense[-1]


def layer_chain(model) -> list:
    """The model's layers in the order an input goes through them (its InputLayer left
    out). Every studio architecture is such a chain, as are the tutorials' models."""
    import keras

    return [layer for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)]
