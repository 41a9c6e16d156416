"""Batch-norm statistics that match the trained weights ("precise BN").

During training a BatchNormalization layer normalises with the statistics of the
current batch, and keeps an exponential moving average of them (momentum 0.99 in
Keras) for inference. After n steps that average still holds ``0.99 ** n`` of its
starting values (mean 0, variance 1): after the 70 steps of a quick run (5,000
images, 2 epochs, batch 128) that is half. The weights were trained for the real
statistics, so in inference mode such a model reads almost every digit as the
same class (11% test accuracy) while its training accuracy says 95%.

The cure, for any architecture, is to measure the statistics instead of
averaging them (Wu & Johnson, "Rethinking 'Batch' in BatchNorm", 2021): run
training images through the trained network in inference mode and set each
layer's moving mean and variance to the mean and variance of its inputs, layer
by layer in order, since each layer's inputs depend on the layers before it.

This module imports Keras at the top; ``mnist_core.training.fit`` imports it only
from inside the functions that train.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from mnist_core.data import sample_indices, to_model_input

# Each statistic then comes from 2,000 values per feature at least (the dense
# layers) and from hundreds of thousands in conv layers: a precise mean and
# variance for about one forward pass over 2,000 images (0.6 s for quick_cnn, 1.5 s
# for studio_cnn here, measured with other work running).
CALIBRATION_IMAGES = 2000
CALIBRATION_BATCH = 500
# Once a moving average holds under 5% of its starting values (about 300 steps at
# momentum 0.99) it reads within a point of the measured statistics: validation
# during training needs no recalibration from then on.
CONVERGED_RESIDUAL = 0.05


def batch_norm_layers(model) -> list:
    """The model's BatchNormalization layers, in the order the data meets them."""
    return [layer for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)]


def calibration_sample(images: np.ndarray, seed: int, count: int = CALIBRATION_IMAGES) -> np.ndarray:
    """A seeded sample of at most ``count`` uint8 training images (N, 28, 28)."""
    return images[sample_indices(len(images), count, seed)]


def recalibrate_batch_norm(model, images: np.ndarray) -> int:
    """Set every batch-norm layer's moving mean and variance to the statistics of its
    inputs over ``images`` (uint8, (N, 28, 28)), in inference mode, layer by layer.

    Returns the number of layers recalibrated (0 for a model without batch norm,
    which is left untouched).
    """
    layers = batch_norm_layers(model)
    for layer in layers:
        batch_sums = _input_sums(model, layer)
        # Per batch in the graph (float32 over 500 images is exact enough); across
        # batches in float64, so that thousands of images add up without loss.
        count, total, total_sq = 0.0, 0.0, 0.0
        for start in range(0, len(images), CALIBRATION_BATCH):
            batch = tf.constant(to_model_input(images[start:start + CALIBRATION_BATCH]))
            values, sums, squares = batch_sums(batch)
            count += float(values)
            total = total + sums.numpy().astype(np.float64)
            total_sq = total_sq + squares.numpy().astype(np.float64)
        mean = total / count
        variance = np.maximum(total_sq / count - np.square(mean), 0.0)
        layer.moving_mean.assign(mean.astype(np.float32))
        layer.moving_variance.assign(variance.astype(np.float32))
    return len(layers)


def _input_sums(model, layer):
    """A compiled function: a batch of model input -> (values per feature, their sum,
    the sum of their squares) of ``layer``'s input, reduced over every axis but the
    layer's feature axis."""
    probe = keras.Model(model.inputs[0], layer.input)  # every studio model has one input
    rank = len(layer.input.shape)
    feature_axis = layer.axis % rank
    axes = [axis for axis in range(rank) if axis != feature_axis]

    @tf.function(reduce_retracing=True)
    def sums(batch):
        features = probe(batch, training=False)
        values = tf.size(features) // tf.shape(features)[feature_axis]
        return values, tf.reduce_sum(features, axis=axes), tf.reduce_sum(tf.square(features), axis=axes)

    return sums


def moving_average_residual(model) -> float:
    """The share of its starting values still held by the slowest batch-norm moving
    average after the optimizer's steps so far (0.0 without batch norm)."""
    layers = batch_norm_layers(model)
    if not layers:
        return 0.0
    steps = int(model.optimizer.iterations.numpy())
    return max(float(layer.momentum) ** steps for layer in layers)


class CalibrateBeforeValidation(keras.callbacks.Callback):
    """Recalibrates batch norm before each validation pass inside ``fit`` while the
    moving averages have not converged yet (the first few hundred steps), so the
    validation curve shows what the model really reads rather than 11%.

    Keras runs validation after an epoch's last batch and before ``on_epoch_end``;
    its ``on_test_begin`` hook is the moment in between.
    """

    def __init__(self, images: np.ndarray):
        super().__init__()
        self.images = images
        self.recalibrations = 0

    def on_test_begin(self, logs=None):
        if moving_average_residual(self.model) > CONVERGED_RESIDUAL:
            self.recalibrations += int(recalibrate_batch_norm(self.model, self.images) > 0)
