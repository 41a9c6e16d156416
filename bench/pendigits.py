"""Real pen-written digits (UCI pendigits, UNIPEN format) drawn the way the canvas draws.

The drawing pipeline is measured against these: 7,494 digits written with a
stylus on a screen by 30 people. ``load_pendigits`` parses the file;
``render_like_canvas`` draws strokes the way the browser shows them (white,
round-capped, anti-aliased, on black); ``pad_value`` builds the value the Draw
page's drawing pad sends back. The parsing and placing live in
``mnist_core.digitsets`` (the app's scorecard reads these digits too); the
rendering, for the benchmarks and tests, draws with the app's own stroke renderer
(``mnist_core.reading.preprocess.draw_round_strokes``).
"""

from __future__ import annotations

import os

import numpy as np

from mnist_core.digitsets import (  # noqa: F401 (the names the benchmarks and tests import from here)
    at_written_scale,
    filling_canvas,
    load_pendigits,
    pad_value,
)


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
