"""Real handwriting through the app's own pipeline and a shipped model that never saw it.

bench/drawn_digits.py measures all 7,494 pendigits digits; this guards a fixed
sample of them (every 5th, about 1,500) against regressions.
"""

from __future__ import annotations

import numpy as np
import pytest

from bench.pendigits import at_written_scale, filling_canvas, load_pendigits, pad_value
from mnist_core.models import store
from mnist_core.reading.inference import predict_probabilities
from mnist_core.reading.preprocess import (
    CANVAS_SIZE,
    DEFAULT_BRUSH_WIDTH,
    dot_size,
    preprocess,
    preprocess_strokes,
    strokes_from_points,
)
from tests.conftest import SHARED_DATA, SHIPPED_ARTIFACTS, require_real_file

MODELS = SHIPPED_ARTIFACTS / "models"


@pytest.fixture(scope="module")
def pen_digits():
    path = require_real_file(SHARED_DATA / "pendigits-orig.tra", "pendigits-orig.tra")
    return load_pendigits(path)[::5]


@pytest.fixture(scope="module")
def default_model():
    """The default model, or, when it trained on these writers' pen digits, the shipped
    studio_cnn-v2 (trained on MNIST and synthetic 1s and 7s), which never saw them."""
    name = store.default_model_name(MODELS)
    if store.read_metadata(name, MODELS).get("pen_writers"):
        name = "studio_cnn-v2"
        assert not store.read_metadata(name, MODELS).get("pen_writers")
    return store.load_model(name, MODELS)


def test_the_file_parses_as_documented():
    path = require_real_file(SHARED_DATA / "pendigits-orig.tra", "pendigits-orig.tra")
    digits = load_pendigits(path)
    assert len(digits) == 7494
    assert list(np.bincount([d.label for d in digits])) == [780, 779, 780, 719, 780, 720, 720, 778, 719, 719]
    assert {d.writer for d in digits} == set(range(1, 31))


@pytest.mark.parametrize("placement", [at_written_scale, filling_canvas], ids=["written_scale", "filling_canvas"])
def test_default_model_reads_real_handwriting(pen_digits, default_model, placement):
    def as_the_page_reads_it(digit):
        canvas = pad_value(placement(digit.strokes, CANVAS_SIZE))
        return preprocess_strokes(strokes_from_points(canvas), min_extent=dot_size(DEFAULT_BRUSH_WIDTH))

    images = np.stack([as_the_page_reads_it(d) for d in pen_digits])
    labels = np.array([d.label for d in pen_digits])
    accuracy = float(np.mean(predict_probabilities(default_model, images).argmax(axis=1) == labels))
    assert accuracy >= 0.97


def test_mnist_is_read_as_well_after_the_pipeline(mnist, default_model):
    """The pipeline makes drawings look like MNIST; MNIST itself must lose nothing."""
    images, labels = mnist.x_test[:2000], mnist.y_test[:2000]
    raw = np.mean(predict_probabilities(default_model, images).argmax(axis=1) == labels)
    through = np.mean(predict_probabilities(default_model, np.stack([preprocess(i) for i in images]))
                      .argmax(axis=1) == labels)
    assert through >= raw - 0.005


def test_top_confusions_counts_pairs_and_writers():
    from bench.drawn_digits import top_confusions

    # Seven 1s read as 7 by six writers (writer 3 twice), two 4s read as 9, one 7 read as 1.
    labels = np.array([1] * 8 + [4, 4, 7, 7])
    predicted = np.array([7] * 7 + [1] + [9, 9, 7, 1])
    writers = np.array([3, 3, 5, 9, 10, 11, 12, 3, 2, 8, 1, 6])
    assert top_confusions(labels, predicted, writers, count=2) == [
        {"digit": 1, "read_as": 7, "count": 7, "writers": 6, "from_top_5_writers": 6},
        {"digit": 4, "read_as": 9, "count": 2, "writers": 2, "from_top_5_writers": 2},
    ]
    assert top_confusions(labels, labels, writers) == []
