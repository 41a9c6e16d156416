"""Time and memory to read an uploaded picture: decode plus preprocess, small to the largest allowed.

Draws a '7' as dark ink on white paper, as a scan or photo of one would be, at
280x280 (the canvas size, the app's default brush), 2000x2000 and 5000x5000 (the
largest picture allowed, 25 megapixels) with thick strokes, the last once more
with a stroke so thick the stroke-width step thins it, saves each as PNG, and times
what an upload goes through: ``preprocess_file_bytes`` (decode, shrink, find the
ink, stroke width, fit and centre). Prints, as JSON, the median and slowest time
of each and its peak memory: the most the process's resident memory rose above
what it held before a reading, over the readings (Linux; null elsewhere).

    python -m bench.picture_reading [--repeats N]
"""

from __future__ import annotations

import argparse
import io
import sys
import time
from pathlib import Path

import numpy as np

from bench.common import emit

# (side in pixels, pen width in pixels): the canvas with the app's default brush, then
# big pictures whose stroke is thick in pixels (a photo of a marker-drawn digit); at
# 800 px the stroke is past 1.5x MNIST's width for the digit's size, so it is thinned.
PICTURES = ((280, 18), (2000, 120), (5000, 400), (5000, 800))
# Readings per picture: a steady median on a shared machine, and the suite stays quick.
DEFAULT_REPEATS = 5


def seven_png(side: int, pen: int) -> bytes:
    """A '7' (a top bar and a diagonal) in black on white, side x side pixels, as PNG bytes."""
    from PIL import Image, ImageDraw

    image = Image.new("L", (side, side), 255)
    scale = side / 280  # the shape is laid out on the 280-pixel canvas
    points = [(60 * scale, 60 * scale), (190 * scale, 60 * scale), (135 * scale, 230 * scale)]
    ImageDraw.Draw(image).line(points, fill=0, width=pen, joint="curve")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _status_kb(field: str) -> int | None:
    """A field of /proc/self/status in kB (Linux), else None."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return None


def _reset_peak_rss() -> bool:
    """Reset the kernel's peak-resident-memory mark for this process (Linux 4.0+)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def timed_reading(read, data: bytes) -> tuple[float, float | None]:
    """Read once: (seconds, peak resident memory above what the process held before, in MB)."""
    tracked = _reset_peak_rss()
    before = _status_kb("VmRSS")
    started = time.perf_counter()
    read(data)
    seconds = time.perf_counter() - started
    peak = _status_kb("VmHWM") if tracked else None
    growth = round((peak - before) / 1024, 1) if peak is not None and before is not None else None
    return seconds, growth


def measure(read, repeats: int) -> dict:
    """{"WxH_penN": {...}} for each picture in PICTURES, read with ``read(png_bytes)``."""
    results = {}
    read(seven_png(280, 18))  # imports and first-call costs are not what is measured
    for side, pen in PICTURES:
        data = seven_png(side, pen)
        times, growths = zip(*(timed_reading(read, data) for _ in range(max(1, repeats))), strict=True)
        known = [growth for growth in growths if growth is not None]
        results[f"{side}x{side}_pen{pen}"] = {
            "side": side, "pen_width": pen, "file_kb": round(len(data) / 1024, 1),
            "median_s": round(float(np.median(times)), 3), "max_s": round(max(times), 3), "runs": len(times),
            "peak_rss_growth_mb": max(known) if known else None,
        }
    return results


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=DEFAULT_REPEATS, help="readings per picture (default 5)")
    args = parser.parse_args(argv)

    from mnist_core.reading.preprocess import MAX_PIXELS, MAX_WORKING_SIDE, preprocess_file_bytes

    emit({
        "benchmark": "picture_reading",
        "max_pixels": MAX_PIXELS,
        "max_working_side": MAX_WORKING_SIDE,
        "results": measure(preprocess_file_bytes, args.repeats),
    })
    return 0


if __name__ == "__main__":
    sys.exit(main())
