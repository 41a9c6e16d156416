"""Trust in a short run: batch-norm statistics are measured, so a model reads in
inference what it learnt in training, for every architecture (issue: the quick
preset once gave an 11% model)."""

from __future__ import annotations

import numpy as np
import pytest

from mnist_core.data import to_model_input
from mnist_core.models.architectures import REGISTRY, get_architecture
from mnist_core.training.config import QUICK_RUN, QUICK_RUN_MIN_ACCURACY, TrainConfig
from mnist_core.training.fit import train


def test_recalibration_sets_each_layer_to_the_statistics_of_its_inputs(tiny_data):
    import keras

    from mnist_core.training.batch_norm import batch_norm_layers, recalibrate_batch_norm

    model = get_architecture("studio_cnn").build()
    layers = batch_norm_layers(model)
    assert len(layers) == 3
    images = tiny_data.x_train[:600]
    assert recalibrate_batch_norm(model, images) == 3
    for layer in layers:
        inputs = np.asarray(keras.Model(model.inputs[0], layer.input)(to_model_input(images), training=False))
        flat = inputs.reshape(-1, inputs.shape[-1]).astype(np.float64)
        np.testing.assert_allclose(layer.moving_mean.numpy(), flat.mean(axis=0), rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(layer.moving_variance.numpy(), flat.var(axis=0), rtol=1e-3, atol=1e-5)


def test_after_recalibration_inference_matches_batch_statistics(tiny_data):
    """The property that matters: a model in inference mode then computes what it
    computes with the statistics of a large batch, whatever its moving averages held."""
    from mnist_core.training.batch_norm import batch_norm_layers, recalibrate_batch_norm

    model = get_architecture("quick_cnn").build()
    for layer in batch_norm_layers(model):  # moving averages far from the truth
        layer.moving_mean.assign(np.full(layer.moving_mean.shape, 3.0, np.float32))
        layer.moving_variance.assign(np.full(layer.moving_variance.shape, 50.0, np.float32))
    x = to_model_input(tiny_data.x_train[:500])
    # Dropout scales in training mode: switch it off to compare only normalisation.
    for layer in model.layers:
        if type(layer).__name__ == "Dropout":
            layer.rate = 0.0
    with_batch_statistics = np.asarray(model(x, training=True))
    before = np.asarray(model(x, training=False))
    assert np.abs(before - with_batch_statistics).max() > 0.1
    recalibrate_batch_norm(model, tiny_data.x_train[:500])
    after = np.asarray(model(x, training=False))
    np.testing.assert_allclose(after, with_batch_statistics, atol=2e-3)


def test_a_model_without_batch_norm_is_left_as_it_is(tiny_data):
    from mnist_core.training.batch_norm import recalibrate_batch_norm

    model = get_architecture("baseline_cnn").build()
    weights = [w.copy() for w in model.get_weights()]
    assert recalibrate_batch_norm(model, tiny_data.x_train[:100]) == 0
    assert all(np.array_equal(a, b) for a, b in zip(weights, model.get_weights(), strict=True))


@pytest.mark.slow
def test_the_quick_preset_gives_a_model_worth_keeping(mnist):
    """The Train page's "Quick run", exactly as offered (5,000 images, 2 epochs)."""
    result = train(QUICK_RUN, mnist)
    assert QUICK_RUN.arch == "quick_cnn" and QUICK_RUN.subset == 5000 and QUICK_RUN.epochs == 2
    assert result.test_accuracy >= QUICK_RUN_MIN_ACCURACY
    assert result.check_split == "validation"
    assert result.check_accuracy >= QUICK_RUN_MIN_ACCURACY
    # The validation curve shows what the model reads, not the 11% of unconverged averages.
    assert result.history["val_accuracy"][-1] >= QUICK_RUN_MIN_ACCURACY


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_every_architecture_reads_the_test_set_as_well_as_it_trained(name, mnist):
    """Any architecture with its own defaults, on a small subset and few epochs: the
    test accuracy is not far below the last training accuracy (the symptom was 11%
    against 95%)."""
    result = train(TrainConfig(arch=name, subset=3000, epochs=2, early_stopping=False), mnist)
    last_training_accuracy = result.history["accuracy"][-1]
    assert result.test_accuracy >= last_training_accuracy - 0.05
    assert abs(result.check_accuracy - result.test_accuracy) <= 0.05
