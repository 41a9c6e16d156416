"""The other digit sets: real handwriting that is not MNIST, for the robustness scorecard.

- Pen-written digits: UCI "Pen-Based Recognition of Handwritten Digits", the original
  pen trajectories (UNIPEN text), written with a stylus on a screen. ``load_pendigits``
  parses them; ``at_written_scale`` and ``filling_canvas`` place them on the Draw
  page's canvas as written or scaled up; ``pad_value`` is what its drawing pad sends;
  ``pen_digit_images`` reads them through the canvas pipeline. Its 30 writers fall in
  ``WRITER_FOLDS`` folds (``writer_fold``): a model that trains on pen digits
  (``pen_training_set``) is scored only on writers it did not see.
- Scanned digits: USPS ZIP-code digits, 16x16, ink high (``load_usps``).

Neither is downloaded: their files are found from ``PENDIGITS_TRA`` / ``USPS_NPZ``
or an explicit path (``find_pendigits``, ``find_usps``); without them the scorecard
says what it could not score and why.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mnist_core.data import DataError

PENDIGITS_ENV, USPS_ENV = "PENDIGITS_TRA", "USPS_NPZ"

TABLET_BOX = 500.0  # the writing box, in tablet units; y points up


class DigitSetError(DataError):
    """A digit set's file is missing or not in its expected layout; the message says which."""


@dataclass(frozen=True)
class PenDigit:
    """One written digit: its label, writer, and strokes in screen coordinates (y down)."""

    label: int
    writer: int
    strokes: tuple[np.ndarray, ...]


def load_pendigits(path: str | os.PathLike) -> list[PenDigit]:
    """Parse a pendigits-orig UNIPEN file into PenDigits (y flipped to point down)."""
    path = Path(path)
    if not path.is_file():
        raise DigitSetError(f"pendigits file not found: {path}")
    digits: list[PenDigit] = []
    label = writer = None
    strokes: list[np.ndarray] = []
    points: list[tuple[float, float]] | None = None

    def finish():
        if label is not None and strokes:
            digits.append(PenDigit(label, writer or 0, tuple(strokes)))

    for raw in path.read_text(errors="replace").splitlines():
        line = raw.strip()
        if line.startswith(".SEGMENT"):
            finish()
            try:
                label = int(line.split('"')[1])
            except (IndexError, ValueError):
                raise DigitSetError(f"bad .SEGMENT line: {line!r}") from None
            writer, strokes, points = None, [], None
        elif line.startswith(".COMMENT") and label is not None:
            parts = line.split()
            writer = int(parts[2]) if len(parts) > 2 and parts[2].isdigit() else None
        elif line.startswith(".PEN_DOWN"):
            points = []
        elif line.startswith(".PEN_UP"):
            if points:
                xy = np.asarray(points, dtype=np.float64)
                xy[:, 1] = TABLET_BOX - xy[:, 1]
                strokes.append(xy)
            points = None
        elif points is not None and line and not line.startswith("."):
            x, y = line.split()[:2]
            points.append((float(x), float(y)))
    finish()
    if not digits:
        raise DigitSetError(f"no digits found in {path}")
    return digits


def at_written_scale(strokes, canvas_size: int) -> list[np.ndarray]:
    """Strokes with the tablet's 500x500 box mapped onto the canvas (as written)."""
    return [s * (canvas_size / TABLET_BOX) for s in strokes]


def filling_canvas(strokes, canvas_size: int, fill: float = 0.8) -> list[np.ndarray]:
    """Strokes scaled so the digit's longer side is ``fill`` of the canvas, centred."""
    points = np.concatenate(strokes)
    low, high = points.min(axis=0), points.max(axis=0)
    scale = fill * canvas_size / max(float((high - low).max()), 1e-6)
    offset = canvas_size / 2 - (low + high) / 2 * scale
    return [s * scale + offset for s in strokes]


def pad_value(strokes) -> list[list[list[float]]]:
    """What the Draw page's pad sends for these strokes: each stroke's points, in
    canvas pixels rounded to 0.1 as the pad rounds them."""
    return [np.round(np.asarray(stroke, dtype=np.float64), 1).tolist() for stroke in strokes]


# How a pen digit is placed on the Draw page's canvas, by name.
RENDERINGS = {"written scale": at_written_scale, "filling the canvas": filling_canvas}


def pen_digit_images(digits: list[PenDigit], rendering: str, canvas_size: int | None = None,
                     brush: float | None = None) -> np.ndarray:
    """The digits as the Draw page reads them, uint8 (N, 28, 28): placed on its canvas
    (``rendering``, one of RENDERINGS; the page's canvas size and default brush unless
    given), sent as its pad sends them, and through the canvas pipeline. One the
    pipeline finds nothing in (a dot) becomes a blank image, which reads as wrong."""
    from mnist_core.reading.preprocess import (
        CANVAS_SIZE,
        DEFAULT_BRUSH_WIDTH,
        NothingToRead,
        dot_size,
        preprocess_strokes,
        strokes_from_points,
    )

    place, canvas_size = RENDERINGS[rendering], canvas_size or CANVAS_SIZE
    min_extent = dot_size(brush or DEFAULT_BRUSH_WIDTH)
    images = []
    for digit in digits:
        strokes = strokes_from_points(pad_value(place(digit.strokes, canvas_size)))
        try:
            images.append(preprocess_strokes(strokes, min_extent=min_extent))
        except NothingToRead:
            images.append(np.zeros((28, 28), np.uint8))
    return np.stack(images)


# A model trained on the pen digits of some writers is scored on the others: the
# writers fall in this many folds, 1, 4, ..., 28 in the first.
WRITER_FOLDS = 3


def writer_fold(writer: int) -> int:
    """The writer fold (0 to WRITER_FOLDS - 1) that writer number ``writer`` is in."""
    return (writer - 1) % WRITER_FOLDS


def pen_training_set(digits: list[PenDigit], held_out_fold: int | None = None
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pen digits to train on: (images uint8 (N, 28, 28), labels (N,), each one's
    writer (N,)), leaving out the writers of ``held_out_fold`` (None: none left out).

    Each digit comes once, read through the canvas pipeline as the Draw page reads
    it, the renderings taking turns (RENDERINGS' first for the 1st, 3rd, ... digit),
    so that the model learns both a pen digit's written scale and one filling the pad.
    """
    kept = [digit for digit in digits if held_out_fold is None or writer_fold(digit.writer) != held_out_fold]
    images = np.zeros((len(kept), 28, 28), np.uint8)
    for turn, rendering in enumerate(RENDERINGS):
        chosen = list(range(turn, len(kept), len(RENDERINGS)))
        if chosen:
            images[chosen] = pen_digit_images([kept[i] for i in chosen], rendering)
    labels = np.array([digit.label for digit in kept], dtype=np.int64)
    return images, labels, np.array([digit.writer for digit in kept], dtype=np.int64)


def load_usps(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray]:
    """(images uint8 (N, 16, 16) white on black, labels (N,)) from a USPS .npz with
    ``x_train`` and ``y_train``; raises DigitSetError naming what is wrong."""
    path = Path(path)
    if not path.is_file():
        raise DigitSetError(f"USPS file not found: {path}")
    try:
        with np.load(path) as data:
            images, labels = np.asarray(data["x_train"]), np.asarray(data["y_train"])
    except (OSError, ValueError, KeyError) as error:
        raise DigitSetError(f"{path} is not a USPS .npz with x_train and y_train: {error}") from None
    if images.ndim != 3 or images.dtype != np.uint8 or len(images) != len(labels):
        raise DigitSetError(f"{path}: expected uint8 images (N, H, W) and N labels, got {images.shape} "
                            f"{images.dtype} and {labels.shape}")
    return images, labels.astype(np.int64)


def _found(path: str | os.PathLike | None, variable: str) -> Path | None:
    chosen = path or os.environ.get(variable)
    return Path(chosen) if chosen else None


def find_pendigits(path: str | os.PathLike | None = None) -> Path | None:
    """The pendigits file: ``path``, else $PENDIGITS_TRA; None when neither is given."""
    return _found(path, PENDIGITS_ENV)


def find_usps(path: str | os.PathLike | None = None) -> Path | None:
    """The USPS file: ``path``, else $USPS_NPZ; None when neither is given."""
    return _found(path, USPS_ENV)
