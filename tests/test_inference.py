"""Predictions for one image and for batches, and how they survive a Streamlit rerun."""

from __future__ import annotations

import gc
import weakref

import numpy as np
import pytest

from mnist_core.models import store
from mnist_core.models.architectures import REGISTRY, get_architecture
from mnist_core.reading.inference import _PREDICT_FUNCTIONS, predict_probabilities, warm_up
from tests.conftest import SHIPPED_ARTIFACTS


@pytest.fixture(scope="module")
def default_model():
    models = SHIPPED_ARTIFACTS / "models"
    return store.load_model(store.default_model_name(models), models)


def test_one_image_reads_as_it_does_in_a_batch(default_model, tiny_data):
    images = tiny_data.x_test[:16]
    batch = predict_probabilities(default_model, images)
    one_by_one = np.concatenate([predict_probabilities(default_model, image) for image in images])
    assert batch.shape == one_by_one.shape == (16, 10)
    # The single-image path is XLA-compiled: the same model, floating-point differences only.
    np.testing.assert_allclose(one_by_one, batch, atol=1e-4)
    np.testing.assert_array_equal(one_by_one.argmax(axis=1), batch.argmax(axis=1))


@pytest.mark.parametrize("arch_name", sorted(REGISTRY))
def test_every_architecture_reads_one_image_through_xla(arch_name, tiny_data):
    model = get_architecture(arch_name).build()
    images = tiny_data.x_test[:3]
    one_by_one = np.concatenate([predict_probabilities(model, image) for image in images])
    np.testing.assert_allclose(one_by_one, predict_probabilities(model, images), atol=1e-4)


def test_readings_survive_the_session_clearing_streamlit_does_between_reruns(default_model, tiny_data):
    from mnist_core.tfimport import import_keras_quietly

    keras = import_keras_quietly()
    image = tiny_data.x_test[0]
    before = predict_probabilities(default_model, image)
    keras.backend.clear_session()  # what Streamlit's script runner calls after every run
    np.testing.assert_allclose(predict_probabilities(default_model, image), before, atol=1e-6)


def test_the_compiled_functions_do_not_keep_a_model_alive():
    model = get_architecture("mlp").build()
    warm_up(model)
    assert len(_PREDICT_FUNCTIONS[model]) == 2  # one image, and batches
    alive = weakref.ref(model)
    del model
    gc.collect()
    assert alive() is None


def test_freezing_after_a_load_reclaims_what_an_earlier_freeze_kept():
    from ui.models import freeze_long_lived_objects

    class Node:
        pass

    cycle = Node()
    cycle.itself = cycle
    alive = weakref.ref(cycle)
    try:
        freeze_long_lived_objects()
        assert gc.get_freeze_count() > 0
        del cycle
        gc.collect()
        assert alive() is not None  # frozen: out of the collector's reach
        freeze_long_lived_objects()  # the next model load
        assert alive() is None
    finally:
        gc.unfreeze()
