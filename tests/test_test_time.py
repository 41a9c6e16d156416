"""Test-time augmentation and ensembles: the views are what they say, and averaging is averaging."""

from __future__ import annotations

import numpy as np
import pytest

from mnist_core.models.test_time import VIEWS, UnknownView, averaged_probabilities, views
from mnist_core.reading.inference import predict_probabilities


def framed_digits(tiny_data, count: int = 16) -> np.ndarray:
    """Digits with no ink on their outer two pixels, so a 1-pixel shift loses none."""
    images = tiny_data.x_train[:count].copy()
    images[:, :2], images[:, -2:], images[:, :, :2], images[:, :, -2:] = 0, 0, 0, 0
    return images


def small_model(seed: int, position_blind: bool = False):
    import keras
    from keras import layers

    keras.utils.set_random_seed(seed)
    if position_blind:  # sees only how much ink there is: moving the digit changes nothing
        body = [layers.GlobalAveragePooling2D()]
    else:
        body = [layers.Conv2D(4, 3, activation="relu"), layers.Flatten()]
    return keras.Sequential([keras.Input((28, 28, 1)), *body, layers.Dense(10, activation="softmax")])


def test_the_first_view_is_the_images_themselves_and_shifts_move_every_pixel(tiny_data):
    images = framed_digits(tiny_data)
    looks = views(images, "shifts-diagonal")
    assert len(looks) == 9
    np.testing.assert_array_equal(looks[0], images)
    np.testing.assert_array_equal(looks[1][:, 1:], images[:, :-1])  # one row down
    np.testing.assert_array_equal(looks[3][:, :, 1:], images[:, :, :-1])  # one column right
    np.testing.assert_array_equal(looks[5][:, 1:, 1:], images[:, :-1, :-1])  # down and right
    for look in looks:
        assert look.dtype == np.uint8 and look.shape == images.shape
        np.testing.assert_array_equal(look.sum(axis=(1, 2), dtype=np.int64), images.sum(axis=(1, 2), dtype=np.int64))


def axis_degrees(image: np.ndarray) -> float:
    """The angle of the ink's principal axis from the vertical (image moments), in degrees."""
    rows, columns = np.indices(image.shape)
    weight = image.astype(float) / image.sum()
    row_mean, column_mean = (weight * rows).sum(), (weight * columns).sum()
    mu_rr = (weight * (rows - row_mean) ** 2).sum()
    mu_cc = (weight * (columns - column_mean) ** 2).sum()
    mu_rc = (weight * (rows - row_mean) * (columns - column_mean)).sum()
    return float(np.degrees(0.5 * np.arctan2(2 * mu_rc, mu_rr - mu_cc)))


def test_a_turned_view_turns_the_ink_about_the_centre_by_six_degrees_each_way():
    bar = np.zeros((1, 28, 28), np.uint8)
    bar[0, 6:22, 13:15] = 255  # a "1": a vertical bar through the centre
    plain, one_way, other_way = views(bar, "turns")
    turned = [axis_degrees(one_way[0]), axis_degrees(other_way[0])]
    assert axis_degrees(plain[0]) == pytest.approx(0.0, abs=0.1)
    assert sorted(turned) == pytest.approx([-6.0, 6.0], abs=0.5)
    for look in (one_way, other_way):  # about the centre, and no ink lost
        rows, columns = np.indices(look[0].shape)
        weight = look[0] / look[0].sum()
        assert (weight * rows).sum() == pytest.approx(13.5, abs=0.2)
        assert (weight * columns).sum() == pytest.approx(13.5, abs=0.2)
        assert look.sum(dtype=np.int64) == pytest.approx(bar.sum(dtype=np.int64), rel=0.02)


def test_an_unknown_view_is_refused_with_the_names():
    with pytest.raises(UnknownView, match="choose one of: as-is"):
        views(np.zeros((1, 28, 28), np.uint8), "upside down")


def test_one_model_as_is_reads_exactly_as_the_studio_reads(tiny_data):
    model = small_model(1)
    images = tiny_data.x_test[:20]
    np.testing.assert_allclose(averaged_probabilities(model, images), predict_probabilities(model, images),
                               atol=1e-7)


def test_every_view_is_averaged_and_a_model_blind_to_position_is_not_moved(tiny_data):
    images = framed_digits(tiny_data)
    model = small_model(2)
    by_view = [predict_probabilities(model, look) for look in views(images, "shifts")]
    np.testing.assert_allclose(averaged_probabilities(model, images, "shifts"),
                               np.mean(by_view, axis=0), atol=1e-6)
    blind = small_model(3, position_blind=True)
    np.testing.assert_allclose(averaged_probabilities(blind, images, "shifts-diagonal"),
                               predict_probabilities(blind, images), atol=1e-6)


def test_an_ensemble_is_the_mean_of_its_models(tiny_data):
    images = tiny_data.x_test[:20]
    first, second = small_model(4), small_model(5)
    mean = (predict_probabilities(first, images) + predict_probabilities(second, images)) / 2
    averaged = averaged_probabilities([first, second], images)
    np.testing.assert_allclose(averaged, mean, atol=1e-6)
    np.testing.assert_allclose(averaged.sum(axis=1), 1.0, atol=1e-5)
    # The same model twice is that model.
    np.testing.assert_allclose(averaged_probabilities([first, first], images), predict_probabilities(first, images),
                               atol=1e-6)


def test_every_view_starts_with_the_images_as_they_are():
    assert all(moves[0] == (0, 0, 0.0) for moves in VIEWS.values())
