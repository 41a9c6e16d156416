"""Real pen-written digits (UCI pendigits, UNIPEN format) drawn the way the canvas draws.

The drawing pipeline is measured against these: 7,494 digits written with a
stylus on a screen by 30 people. ``load_pendigits`` parses the file;
``render_like_canvas`` draws strokes the way the browser shows them (white,
round-capped, anti-aliased, on black); ``pad_value`` builds the value the Draw
page's drawing pad sends back. A data set for the benchmarks and
tests, not app code: it lives in bench/, and draws with the app's own stroke
renderer (``mnist_core.reading.preprocess.draw_round_strokes``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

TABLET_BOX = 500.0  # the writing box, in tablet units; y points up


class PendigitsError(ValueError):
    """The file is missing or not in the expected UNIPEN layout."""


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
        raise PendigitsError(f"pendigits file not found: {path}")
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
                raise PendigitsError(f"bad .SEGMENT line: {line!r}") from None
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
        raise PendigitsError(f"no digits found in {path}")
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


def render_like_canvas(strokes, canvas_size: int, brush_width: float, supersample: int = 4) -> np.ndarray:
    """Draw strokes as the pad shows them: white, round caps and joins, anti-aliased,
    on black; returns uint8 (canvas_size, canvas_size)."""
    from PIL import Image

    from mnist_core.reading.preprocess import draw_round_strokes

    big = canvas_size * supersample
    lines = [np.asarray(stroke, dtype=np.float64) * supersample for stroke in strokes]
    image = draw_round_strokes((big, big), lines, brush_width * supersample)
    return np.asarray(image.resize((canvas_size, canvas_size), Image.BOX), dtype=np.uint8)


def canvas_drawings(path: str | os.PathLike, count: int) -> list[list]:
    """The first ``count`` pen digits as the Draw page's pad sends them: strokes
    filling the canvas (see ``pad_value``)."""
    from mnist_core.reading.preprocess import CANVAS_SIZE

    return [pad_value(filling_canvas(d.strokes, CANVAS_SIZE)) for d in load_pendigits(path)[:count]]
