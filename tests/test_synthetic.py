"""Synthetic pen-drawn 1s and 7s: what a set holds, that a seed repeats it, that flags and crosses show."""

from __future__ import annotations

import numpy as np

from mnist_core.training.synthetic import pen_drawn_ones_and_sevens


def test_the_set_holds_what_was_asked_in_order():
    images, labels = pen_drawn_ones_and_sevens((3, 2, 4, 1), seed=5)
    assert images.shape == (10, 28, 28) and images.dtype == np.uint8
    assert labels.tolist() == [1] * 5 + [7] * 5
    # Read the way the Draw page reads a drawing: fitted to MNIST's 20-pixel box (these are
    # taller than wide), fully inked.
    for image in images:
        rows = np.nonzero(image.max(axis=1) > 64)[0]
        assert image.max() > 200 and 18 <= rows[-1] - rows[0] + 1 <= 21


def test_the_same_seed_gives_the_same_set():
    first, _ = pen_drawn_ones_and_sevens((2, 2, 2, 2), seed=1)
    again, _ = pen_drawn_ones_and_sevens((2, 2, 2, 2), seed=1)
    other, _ = pen_drawn_ones_and_sevens((2, 2, 2, 2), seed=2)
    assert np.array_equal(first, again) and not np.array_equal(first, other)


def test_flagged_ones_and_crossed_sevens_carry_their_extra_stroke():
    """A flag puts ink left of a 1's stem; a cross adds ink to a 7 (same seed, same slants drawn)."""
    flagged, _ = pen_drawn_ones_and_sevens((50, 0, 0, 0), seed=3)
    plain, _ = pen_drawn_ones_and_sevens((0, 50, 0, 0), seed=3)

    def width(images):  # inked columns
        return (images.max(axis=1) > 64).sum(axis=1).mean()

    assert width(flagged) > width(plain) + 1.5
    crossed, _ = pen_drawn_ones_and_sevens((0, 0, 0, 50), seed=3)
    sevens, _ = pen_drawn_ones_and_sevens((0, 0, 50, 0), seed=3)
    assert (crossed > 64).sum(axis=(1, 2)).mean() > (sevens > 64).sum(axis=(1, 2)).mean()


def test_none_asked_gives_an_empty_set():
    images, labels = pen_drawn_ones_and_sevens((0, 0, 0, 0))
    assert images.shape == (0, 28, 28) and labels.shape == (0,)
