"""The scorecard's pieces, on the shipped default model and real data: scores are
accuracies of what they say they score."""

from __future__ import annotations

import numpy as np
import pytest

from mnist_core.models import store
from mnist_core.models.corruptions import CORRUPTIONS
from mnist_core.models.robustness import accuracy, corruption_scores, picture_inputs, picture_scores, resize_and_pad
from tests.conftest import SHARED_DATA, SHIPPED_ARTIFACTS, require_real_file


@pytest.fixture(scope="module")
def default_model():
    return store.load_model(store.default_model_name(SHIPPED_ARTIFACTS / "models"), SHIPPED_ARTIFACTS / "models")


@pytest.fixture(scope="module")
def usps():
    with np.load(require_real_file(SHARED_DATA / "usps-train.npz", "usps-train.npz")) as data:
        return data["x_train"][:300], data["y_train"][:300]


def test_resize_and_pad_puts_the_whole_picture_in_the_20_pixel_box(usps):
    padded = resize_and_pad(usps[0][0])
    assert padded.shape == (28, 28) and padded.dtype == np.uint8
    assert padded[:4].max() == padded[-4:].max() == padded[:, :4].max() == padded[:, -4:].max() == 0
    assert padded[4:24, 4:24].max() > 200


def test_usps_through_both_pipelines(default_model, usps):
    pictures, labels = usps
    inputs = picture_inputs(pictures)
    assert set(inputs) == {"picture pipeline", "resize and pad"}
    assert all(images.shape == (300, 28, 28) for images in inputs.values())
    scores = picture_scores(default_model, pictures, labels)
    # The scores are the accuracy of each pipeline's images, and both read scans well.
    assert scores["picture pipeline"] == accuracy(default_model, inputs["picture pipeline"], labels)
    assert min(scores.values()) > 0.9
    # Scored against wrong labels, the same images score low: the score is about the labels.
    assert accuracy(default_model, inputs["picture pipeline"], (labels + 1) % 10) < 0.05


def test_corruption_scores_one_accuracy_per_corruption(default_model, mnist):
    images, labels = mnist.x_test[:300], mnist.y_test[:300]
    scores = corruption_scores(default_model, images, labels)
    assert list(scores) == list(CORRUPTIONS)
    assert all(0.0 <= value <= 1.0 for value in scores.values())
    clean = accuracy(default_model, images, labels)
    assert clean > 0.98 and min(scores.values()) < clean  # the suite is harder than the clean images
    assert scores["thicker"] > 0.9  # the default model trains with stroke-thickness augmentation
