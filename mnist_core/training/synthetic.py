"""Synthetic pen-drawn 1s and 7s, in the European and the American style.

MNIST's writers seldom put a long flag on their 1s, so a model trained on MNIST
alone reads a European 1 as a 7: about half of studio_cnn-v1's mistakes on real
pen-written digits. ``pen_drawn_ones_and_sevens`` draws 1s (plain, and
with a flag) and 7s (plain, and crossed) as pen trajectories with random slant,
flag angle, bar length and a little tremor, then renders each through the Draw
page's own stroke pipeline (``preprocess.preprocess_strokes``). Both digits come
in both styles and the same rendering, so neither the style nor the rendering
gives the label away.

Training adds them to the training images when ``TrainConfig.pen_digits`` is on.
Drawing flags onto MNIST's own 1s instead was tried and did not carry over to
real handwriting (see ``augment.py``).
"""

from __future__ import annotations

import math

import numpy as np

# How many of each kind one set holds: flagged 1s, plain 1s, plain 7s, crossed 7s.
DEFAULT_COUNTS = (2000, 1000, 1000, 1000)
_CANVAS_UNITS = 200.0  # a digit one unit tall is drawn 200 canvas pixels tall
_POINT_SPACING = 0.04


def pen_drawn_ones_and_sevens(counts: tuple[int, int, int, int] = DEFAULT_COUNTS,
                              seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """uint8 images (N, 28, 28) read the way the Draw page reads a drawing, and uint8 labels (N,).

    ``counts``: how many flagged 1s, plain 1s, plain 7s and crossed 7s, in that
    order (the images come in that order too). The same seed gives the same set.
    """
    rng = np.random.default_rng(seed)
    makers = (
        (lambda: _one(rng, flagged=True), 1),
        (lambda: _one(rng, flagged=False), 1),
        (lambda: _seven(rng, crossed=False), 7),
        (lambda: _seven(rng, crossed=True), 7),
    )
    from mnist_core.reading.preprocess import preprocess_strokes

    images, labels = [], []
    for count, (make, label) in zip(counts, makers, strict=True):
        for _ in range(count):
            images.append(preprocess_strokes([stroke * _CANVAS_UNITS for stroke in make()]))
            labels.append(label)
    if not images:
        return np.zeros((0, 28, 28), np.uint8), np.zeros((0,), np.uint8)
    return np.stack(images), np.array(labels, np.uint8)


def _one(rng: np.random.Generator, flagged: bool) -> list[np.ndarray]:
    """A 1 one unit tall (y points down), its top leaning right by up to 22 degrees.

    A flag is part of the same stroke, as people draw it: up from its free end to
    the top, then down the stem. It is turned 20-50 degrees off the stem, to the
    left, and is 25-60% as long.
    """
    slant = math.radians(rng.uniform(-6, 22))
    top = np.array([0.0, 0.0])
    bottom = np.array([-math.sin(slant), math.cos(slant)])
    if not flagged:
        return [_tremble(_line(top, bottom), rng)]
    opening = math.radians(rng.uniform(20, 50))
    down = bottom - top
    flag_direction = np.array([math.cos(opening) * down[0] - math.sin(opening) * down[1],
                               math.sin(opening) * down[0] + math.cos(opening) * down[1]])
    flag_end = top + rng.uniform(0.25, 0.6) * flag_direction
    return [_tremble(np.concatenate([_line(flag_end, top), _line(top, bottom)[1:]]), rng)]


def _seven(rng: np.random.Generator, crossed: bool) -> list[np.ndarray]:
    """A 7: a bar nearly level, 45-85% as long as the digit is tall, then a slanting stem.

    A crossed 7 has a short level stroke across the middle of its stem.
    """
    slant = math.radians(rng.uniform(12, 35))
    tilt = math.radians(rng.uniform(-8, 10))
    corner = np.array([0.0, 0.0])
    bar_start = corner + rng.uniform(0.45, 0.85) * np.array([-math.cos(tilt), math.sin(tilt)])
    bottom = corner + rng.uniform(0.9, 1.1) * np.array([-math.sin(slant), math.cos(slant)])
    strokes = [np.concatenate([_line(bar_start, corner), _line(corner, bottom)[1:]])]
    if crossed:
        middle = corner + rng.uniform(0.4, 0.6) * (bottom - corner)
        half = rng.uniform(0.15, 0.3)
        strokes.append(_line(middle - [half, 0.0], middle + [half, 0.0]))
    return [_tremble(stroke, rng) for stroke in strokes]


def _line(start, end) -> np.ndarray:
    start, end = np.asarray(start, float), np.asarray(end, float)
    count = max(2, int(np.hypot(*(end - start)) / _POINT_SPACING) + 1)
    return start + np.linspace(0.0, 1.0, count)[:, None] * (end - start)


def _tremble(points: np.ndarray, rng: np.random.Generator, amount: float = 0.006) -> np.ndarray:
    """The hand's slow drift along a stroke: a small random walk added to its points."""
    return points + rng.normal(0.0, amount, points.shape).cumsum(axis=0)
