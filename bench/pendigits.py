"""Real pen-written digits (UCI pendigits, UNIPEN format) drawn the way the canvas draws.

The drawing pipeline is measured against these: 7,494 digits written with a
stylus on a screen by 30 people. ``load_pendigits`` parses the file;
``canvas_path`` turns a pen trajectory into the path Fabric.js (the canvas
component) makes of it; ``render_like_canvas`` draws strokes the way the browser
shows them (white, round-capped, anti-aliased, on black); ``canvas_json`` builds
the ``json_data`` the canvas would send back. A data set for the benchmarks and
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


def canvas_path(points: np.ndarray, brush_width: float) -> list[list]:
    """The path Fabric.js's PencilBrush makes from pointer positions (getSmoothPathFromPoints):
    a quadratic curve through the midpoints of successive points."""
    points = np.asarray(points, dtype=np.float64)
    correction = brush_width / 1000
    first, second = points[0], points[1] if len(points) > 1 else points[0]
    sign = np.zeros(2)
    if len(points) > 2:
        sign = np.sign(points[2] - second)
    commands: list[list] = [["M", *(first - sign * correction)]]
    p1, p2 = first, second
    index = 1
    for index in range(1, len(points)):
        if not np.array_equal(p1, p2):
            commands.append(["Q", *p1, *((p1 + p2) / 2)])
        p1 = points[index]
        if index + 1 < len(points):
            p2 = points[index + 1]
    if len(points) > 2:
        sign = np.sign(p1 - points[index - 1])
    commands.append(["L", *(p1 + sign * correction)])
    return [[c[0], *(float(v) for v in c[1:])] for c in commands]


def canvas_json(strokes, brush_width: float, color: str = "#ffffff") -> dict:
    """The ``json_data`` a streamlit-drawable-canvas would return for these strokes."""
    objects = []
    for stroke in strokes:
        low, high = stroke.min(axis=0), stroke.max(axis=0)
        objects.append({
            "type": "Path",
            "originX": "center",
            "originY": "center",
            "left": float(low[0] + high[0]) / 2,
            "top": float(low[1] + high[1]) / 2,
            "width": float(high[0] - low[0]),
            "height": float(high[1] - low[1]),
            "stroke": color,
            "strokeWidth": brush_width,
            "strokeLineCap": "round",
            "strokeLineJoin": "round",
            "scaleX": 1,
            "scaleY": 1,
            "angle": 0,
            "path": canvas_path(stroke, brush_width),
        })
    return {"version": "7.4.0", "objects": objects}


def render_like_canvas(strokes, canvas_size: int, brush_width: float, supersample: int = 4) -> np.ndarray:
    """Draw strokes as the canvas shows them: white, round caps and joins, anti-aliased,
    on black; returns uint8 (canvas_size, canvas_size)."""
    from PIL import Image

    from mnist_core.reading.preprocess import draw_round_strokes, path_commands_to_points

    big = canvas_size * supersample
    lines = [line * supersample for stroke in strokes
             for line in path_commands_to_points(canvas_path(stroke, brush_width), curve_steps=8)]
    image = draw_round_strokes((big, big), lines, brush_width * supersample)
    return np.asarray(image.resize((canvas_size, canvas_size), Image.BOX), dtype=np.uint8)


def canvas_drawings(path: str | os.PathLike, count: int) -> list[dict]:
    """The first ``count`` pen digits as the Draw page's canvas sends them: strokes
    filling the canvas, as canvas JSON at the default brush width."""
    from mnist_core.reading.preprocess import CANVAS_SIZE, DEFAULT_BRUSH_WIDTH

    return [canvas_json(filling_canvas(d.strokes, CANVAS_SIZE), DEFAULT_BRUSH_WIDTH)
            for d in load_pendigits(path)[:count]]
