"""The corruption suite: the same on every run, and each corruption does what it says
(known properties of each transformation, checked on real MNIST digits)."""

from __future__ import annotations

import numpy as np
import pytest

from mnist_core.models.corruptions import CORRUPTIONS, corrupt


@pytest.fixture(scope="module")
def digits(mnist):
    return mnist.x_test[:200]


def _ink(images, level=64):
    return images >= level


def _box_sizes(images):
    sizes = []
    for image in images:
        rows, cols = np.nonzero(_ink(image))
        sizes.append(max(rows.max() - rows.min(), cols.max() - cols.min()) + 1)
    return np.array(sizes)


@pytest.mark.parametrize("name", list(CORRUPTIONS))
def test_every_corruption_is_deterministic_and_changes_the_digits(name, digits):
    once, again = corrupt(digits, name, seed=0), corrupt(digits, name, seed=0)
    assert once.dtype == np.uint8 and once.shape == digits.shape
    np.testing.assert_array_equal(once, again)
    assert not np.array_equal(corrupt(digits, name, seed=1), once) or name in ("thicker", "thinner", "blur")
    changed = np.mean([not np.array_equal(a, b) for a, b in zip(once, digits, strict=True)])
    assert changed > 0.95


def test_translation_moves_the_ink_whole_and_keeps_it_in_the_frame(digits):
    moved = corrupt(digits, "translation")
    for before, after in zip(digits, moved, strict=True):
        assert after.sum(dtype=np.int64) == before.sum(dtype=np.int64)  # nothing cut off
        rows, cols = np.nonzero(before)
        rows2, cols2 = np.nonzero(after)
        shift = (rows2.min() - rows.min(), cols2.min() - cols.min())
        np.testing.assert_array_equal(np.roll(before, shift, axis=(0, 1)), after)
        assert max(abs(shift[0]), abs(shift[1])) >= 1


def test_scale_shrinks_to_60_to_90_percent(digits):
    ratio = _box_sizes(corrupt(digits, "scale")) / _box_sizes(digits)
    assert 0.5 <= ratio.min() and ratio.max() <= 1.0 and 0.65 <= np.median(ratio) <= 0.85


def test_rotation_and_shear_keep_the_ink_and_move_it(digits):
    for name in ("rotation", "shear"):
        changed = corrupt(digits, name)
        mass = changed.sum(axis=(1, 2), dtype=np.float64) / digits.sum(axis=(1, 2), dtype=np.float64)
        assert 0.85 <= np.median(mass) <= 1.1  # bilinear resampling keeps the ink, nothing leaves the frame much
        overlap = (_ink(changed) & _ink(digits)).sum() / _ink(digits).sum()
        assert overlap < 0.8


def test_thicker_contains_the_digit_and_thinner_lies_inside_it(digits):
    thicker, thinner = corrupt(digits, "thicker"), corrupt(digits, "thinner")
    assert np.all(thicker >= digits) and np.all(thinner <= digits)
    assert _ink(thicker).sum() > 1.4 * _ink(digits).sum() and _ink(thinner).sum() < 0.8 * _ink(digits).sum()


def test_noise_blur_and_clutter(digits):
    noisy = corrupt(digits, "noise").astype(np.float64)
    background = digits == 0
    assert 0.1 * 255 < noisy[background].std() < 0.2 * 255  # sigma 0.2, half of it clipped away at 0
    blurred = corrupt(digits, "blur")
    assert blurred.max(axis=(1, 2)).mean() < digits.max(axis=(1, 2)).mean()
    np.testing.assert_allclose(blurred.sum(axis=(1, 2)), digits.sum(axis=(1, 2)), rtol=0.1)
    cluttered = corrupt(digits, "clutter")
    assert np.all(cluttered >= digits)  # only ink added
    added = (_ink(cluttered) & ~_ink(digits)).sum(axis=(1, 2))
    assert added.min() >= 5


def test_an_unknown_corruption_is_named_with_the_choices(digits):
    with pytest.raises(KeyError, match="choose one of: rotation"):
        corrupt(digits, "fog")
