"""The architecture registry: every entry builds, and its size is what its layers say."""

from __future__ import annotations

import pytest

from mnist_core.models.architectures import (
    OPTIMIZERS,
    REGISTRY,
    UnknownArchitecture,
    count_params,
    get_architecture,
    make_optimizer,
)


def conv(k: int, c_in: int, c_out: int) -> int:
    return (k * k * c_in + 1) * c_out


def dense(n_in: int, n_out: int) -> int:
    return (n_in + 1) * n_out


def batch_norm(channels: int) -> int:
    return 4 * channels  # gamma, beta, moving mean, moving variance


# Parameter counts worked out by hand from the layer list of each architecture.
EXPECTED_PARAMS = {
    "mlp": dense(784, 500) + 2 * dense(500, 500) + dense(500, 10),
    # 28 -conv3-> 26 -pool-> 13 -conv3-> 11 -pool-> 5: 5*5*64 features
    "simple_cnn": conv(3, 1, 32) + conv(3, 32, 64) + dense(5 * 5 * 64, 128) + dense(128, 10),
    # 28 (same) -pool-> 14 (same) -pool-> 7 -valid-> 5 (same): 5*5*32 features
    "conv4": conv(3, 1, 64) + conv(3, 64, 128) + conv(3, 128, 64) + conv(3, 64, 32) + dense(5 * 5 * 32, 10),
    # 28 -conv3-> 26 -pool-> 13: 13*13*32 features
    "baseline_cnn": conv(3, 1, 32) + dense(13 * 13 * 32, 100) + dense(100, 10),
    "baseline_cnn_bn": conv(3, 1, 32) + batch_norm(32) + dense(13 * 13 * 32, 100) + batch_norm(100)
    + dense(100, 10),
    # 28 -> 26 -pool-> 13 -> 11 -> 9 -pool-> 4: 4*4*64 features
    "deeper_cnn": conv(3, 1, 32) + conv(3, 32, 64) + conv(3, 64, 64) + dense(4 * 4 * 64, 100) + dense(100, 10),
    # 28 -conv3-> 26 -pool-> 13 -conv2-> 12 -pool-> 6: 6*6*16 features
    "lenet_tanh": conv(3, 1, 6) + conv(2, 6, 16) + dense(6 * 6 * 16, 256) + dense(256, 10),
    # 28 -> 26 -> 24 -pool-> 12 -> 10 -> 8 -pool-> 4: 4*4*64 features; the dense 128 has no bias
    "studio_cnn": conv(3, 1, 32) + conv(3, 32, 32) + batch_norm(32) + conv(3, 32, 64) + conv(3, 64, 64)
    + batch_norm(64) + 4 * 4 * 64 * 128 + batch_norm(128) + dense(128, 10),
    # 28 -> 26 -pool-> 13 -> 11 -pool-> 5: 5*5*64 features
    "quick_cnn": conv(3, 1, 32) + batch_norm(32) + conv(3, 32, 64) + batch_norm(64) + 5 * 5 * 64 * 128
    + batch_norm(128) + dense(128, 10),
    # 28 -conv3-> 26 -pool-> 13 -conv3-> 11 -pool-> 5: 5*5*32 features, dense without bias
    "speed_cnn": conv(3, 1, 8) + conv(3, 8, 32) + batch_norm(32) + 5 * 5 * 32 * 128 + batch_norm(128)
    + dense(128, 10),
    # 28 -> 26 -> 24 -stride 2-> 12 -> 10 -> 8 -stride 2-> 4 -conv4-> 1: 128 features; the conv 4 has no bias
    "record_cnn": conv(3, 1, 32) + conv(3, 32, 32) + conv(5, 32, 32) + batch_norm(32) + conv(3, 32, 64)
    + conv(3, 64, 64) + conv(5, 64, 64) + batch_norm(64) + 4 * 4 * 64 * 128 + batch_norm(128) + dense(128, 10),
}


def test_mlp_has_exactly_the_documented_size():
    assert count_params("mlp") == 898_510 == EXPECTED_PARAMS["mlp"]


@pytest.mark.parametrize("name", sorted(EXPECTED_PARAMS))
def test_parameter_count_matches_the_layers(name):
    assert count_params(name) == EXPECTED_PARAMS[name]


def test_every_registered_architecture_has_its_count_worked_out_here():
    assert set(EXPECTED_PARAMS) == set(REGISTRY)


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_every_entry_builds_a_softmax_classifier(name):
    import numpy as np

    arch = get_architecture(name)
    assert arch.description and arch.source
    assert arch.optimizer in OPTIMIZERS and arch.learning_rate > 0
    assert arch.batch_size >= 1 and arch.epochs >= 1
    model = arch.build()
    assert tuple(model.input_shape) == (None, 28, 28, 1)
    assert tuple(model.output_shape) == (None, 10)
    probabilities = np.asarray(model(np.zeros((2, 28, 28, 1), np.float32)))
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)


def test_defaults_follow_the_spec():
    simple = get_architecture("simple_cnn")
    assert (simple.optimizer, simple.learning_rate, simple.batch_size, simple.epochs) == ("adadelta", 1.0, 128, 12)
    conv4 = get_architecture("conv4")
    assert (conv4.optimizer, conv4.batch_size, conv4.epochs, conv4.early_stopping, conv4.early_stopping_patience) \
        == ("adam", 200, 5, True, 2)
    for name in ("baseline_cnn", "baseline_cnn_bn", "deeper_cnn"):
        arch = get_architecture(name)
        assert (arch.optimizer, arch.learning_rate, arch.momentum, arch.batch_size, arch.epochs) \
            == ("sgd", 0.01, 0.9, 32, 10)
    assert get_architecture("mlp").optimizer == "rmsprop"


def test_unknown_name_lists_the_valid_ones():
    with pytest.raises(UnknownArchitecture) as info:
        get_architecture("resnet")
    assert "resnet" in str(info.value) and "deeper_cnn" in str(info.value)


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_every_optimizer_can_be_made(name):
    optimizer = make_optimizer(name, 0.01, momentum=0.9)
    assert float(optimizer.learning_rate) == pytest.approx(0.01)
