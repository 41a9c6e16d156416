"""A drawn or uploaded image -> a 28x28 MNIST-style uint8 array (white digit on black).

MNIST was made by fitting each digit into a 20x20 box, preserving its aspect
ratio, with anti-aliasing, then placing it in a 28x28 field so that its centre of
mass sits at the centre (LeCun's MNIST page). Both pipelines here end in that same
step (``fit_and_centre``); what differs is how they get a clean ink picture:

- ``preprocess_strokes`` takes the pen strokes themselves (the drawing pad returns
  the points the pen passed through) and re-renders them with the stroke width MNIST digits have
  after scaling, so a small digit drawn with a thick brush does not become a blob
  and a large one drawn with a thin brush does not fade away;
- ``preprocess`` takes pixels (uploads, or a canvas without vector data): it finds
  the polarity and the background, then thins or thickens the ink towards the
  same stroke width before fitting.

Both raise ``NothingToRead`` for a blank picture or a single dot, and
``decode_image`` refuses what is not an image, too large or too small to read.
A big picture is shrunk to ``MAX_WORKING_SIDE`` as soon as it is decoded, so
reading any picture within the limits takes about the same time as a small one.
"""

from __future__ import annotations

import io
import math
import warnings
from typing import Any, Iterable, Sequence

import numpy as np

# The upload limit, in the MB (2**20 bytes) that Streamlit's max_upload_size and the
# messages use: the Draw page's uploader refuses a bigger picture before it is sent.
MAX_UPLOAD_MB = 20
MAX_UPLOAD_BYTES = MAX_UPLOAD_MB * 1024 * 1024
MAX_PIXELS = 25_000_000  # e.g. 5000 x 5000; bigger images are refused, not resized
# A shorter side below this holds no readable digit (MNIST's is 28; 8x8 is as
# coarse as digit data sets go: scikit-learn's digits).
MIN_SIDE = 8
# Pictures are shrunk to at most this many pixels a side right after decoding: a
# digit that fills even a tenth of it still spans 100 pixels, five times the 20 it
# ends as, and every later step then costs what a 1-megapixel picture costs.
MAX_WORKING_SIDE = 1024

FIELD = 28  # the output is FIELD x FIELD
BOX = 20  # the digit's longer side, anti-aliased edge included
CENTRE = 14.0  # where MNIST's centres of mass sit, in pixel-index coordinates
# The stroke width MNIST digits have at 28x28, in pixels: the median of MNIST's
# training digits is about 2.8 px wide at half intensity (measured by
# bench/drawn_digits.py --calibrate, which also picks this value).
TARGET_STROKE = 2.4
SUPERSAMPLE = 4  # vector strokes are drawn this many times finer than the output
# normalise_stroke_width works on at most this many pixels a side (a digit with the
# margin preprocess gives it, about twice the digit): bigger ink is area-averaged down
# first, so the filter radius, and the cost, stay bounded whatever the picture. It is
# above the canvas size, so a canvas-sized picture is thinned at its own resolution,
# where TARGET_STROKE was calibrated, and a shrunk digit still spans about 160 pixels:
# a pixel of erosion is at most an eighth of an output pixel.
STROKE_WORK_SIDE = 320

# The Draw page's canvas (square, in CSS pixels) and its default brush width.
CANVAS_SIZE = 280
DEFAULT_BRUSH_WIDTH = 18


def dot_size(brush_width: float) -> float:
    """The ``min_extent`` for a drawing made with ``brush_width``: a tap of the brush
    leaves a path up to about half its width long, which is a dot, not a digit."""
    return max(6.0, brush_width / 2)


class ImageError(ValueError):
    """An input that cannot be read as a digit image; the message says why."""


class NothingToRead(ValueError):
    """The picture holds no digit (blank, or a dot)."""


# --- Decoding untrusted files -----------------------------------------------------


def decode_image(data: bytes) -> np.ndarray:
    """Bytes of a PNG/JPEG/... file -> grayscale uint8 (H, W), at most
    MAX_WORKING_SIDE pixels a side (a bigger picture is shrunk, aspect kept).

    Transparent pixels count as background (so a drawing exported with an alpha
    channel reads right). Raises ImageError for non-images, files over
    MAX_UPLOAD_MB, pictures over MAX_PIXELS or with a side under MIN_SIDE.
    """
    from PIL import Image, UnidentifiedImageError

    if len(data) > MAX_UPLOAD_BYTES:
        # Rounded up, so a file just over the limit never reads as equal to it.
        size_mb = math.ceil(len(data) / (1024 * 1024) * 10) / 10
        raise ImageError(f"the file is {size_mb:.1f} MB; the limit is {MAX_UPLOAD_MB} MB")
    if not data:
        raise ImageError("the file is empty")
    try:
        with warnings.catch_warnings():
            # Pillow's own warning starts at about 89 Mpx, far above MAX_PIXELS: the
            # check below refuses those first, and its message says what the limit is.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            width, height = image.size
            if width * height > MAX_PIXELS:
                raise ImageError(
                    f"the image is {width}x{height} pixels; the limit is {MAX_PIXELS:,} pixels"
                )
            _refuse_if_too_small(width, height)
            image.load()
    except ImageError:
        raise
    except Image.DecompressionBombError:
        # Pillow refuses above twice its own limit before it tells the size.
        raise ImageError(
            f"the image has more than {2 * Image.MAX_IMAGE_PIXELS:,} pixels; "
            f"the limit is {MAX_PIXELS:,} pixels"
        ) from None
    except UnidentifiedImageError:
        raise ImageError("the file is not an image Pillow can read (PNG, JPEG, GIF, BMP, WebP...)") from None
    except (OSError, ValueError, SyntaxError) as exc:
        raise ImageError(f"the image is damaged or truncated ({exc})") from None
    working_size = _working_size(image.size)
    if _has_alpha(image) and working_size != image.size:
        # Shrink before compositing: Pillow averages RGBA with premultiplied alpha,
        # which gives what compositing then averaging would, on far fewer pixels.
        image = (image if image.mode == "RGBA" else image.convert("RGBA")).resize(working_size, Image.BOX)
    return shrink_to_working_size(to_gray(image))


def _refuse_if_too_small(width: int, height: int) -> None:
    """Raise ImageError when a width x height picture is too small to hold a digit."""
    if min(width, height) < MIN_SIDE:
        raise ImageError(f"the picture is {width}x{height} pixels: too small to read "
                         f"(at least {MIN_SIDE}x{MIN_SIDE})")


def _working_size(size: tuple[int, int]) -> tuple[int, int]:
    """(width, height) -> the same shrunk so the longer side is at most MAX_WORKING_SIDE.

    The shorter side never drops below MIN_SIDE, so a long strip that could be read
    stays readable (the aspect then changes a little, which fit_and_centre forgives).
    """
    scale = MAX_WORKING_SIDE / max(size)
    if scale >= 1:
        return tuple(size)
    return tuple(min(side, max(MIN_SIDE, round(side * scale))) for side in size)


def shrink_to_working_size(gray: np.ndarray) -> np.ndarray:
    """Grayscale (H, W) -> the same, or area-averaged down to MAX_WORKING_SIDE a side.

    Area averaging (a box filter) keeps every stroke: a pen line thinner than the
    shrink factor turns fainter, not gone (as with nearest-neighbour or bilinear
    sampling, which skip pixels), and ink_map brings faint ink back to full level.
    uint8 stays uint8; anything else comes back as float32.
    """
    from PIL import Image

    gray = np.asarray(gray)
    height, width = gray.shape
    size = _working_size((width, height))
    if size == (width, height):
        return gray
    image = Image.fromarray(gray if gray.dtype == np.uint8 else gray.astype(np.float32))
    return np.asarray(image.resize(size, Image.BOX))


def _has_alpha(image) -> bool:
    return image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info)


def to_gray(image) -> np.ndarray:
    """A PIL image in any mode -> grayscale uint8; transparent areas become background."""
    if _has_alpha(image):
        rgba = image.convert("RGBA")
        alpha = np.asarray(rgba.getchannel("A"), dtype=np.float32) / 255.0
        gray = np.asarray(rgba.convert("L"), dtype=np.float32)
        if alpha.min() < 1.0:
            # Composite onto the colour that is not the ink: the opaque pixels'
            # median tells whether the ink is light or dark.
            opaque = gray[alpha > 0.5]
            ink_is_light = opaque.size > 0 and np.median(opaque) > 127
            background = 0.0 if ink_is_light else 255.0
            gray = gray * alpha + background * (1.0 - alpha)
        return np.clip(gray + 0.5, 0, 255).astype(np.uint8)
    if image.mode == "I;16" or image.mode.startswith("I;16"):
        image = image.point(lambda value: value / 256).convert("L")
    return np.asarray(image.convert("L"), dtype=np.uint8)


def preprocess_file_bytes(data: bytes) -> np.ndarray:
    """Image file bytes -> uint8 (28, 28); raises ImageError or NothingToRead."""
    return preprocess(decode_image(data))


# --- The common last step ---------------------------------------------------------


def fit_and_centre(ink: np.ndarray) -> np.ndarray:
    """Ink in [0, 1] (H, W), white on black, background already 0 -> uint8 (28, 28).

    Scales the ink's bounding box so that its longer side is 20 pixels, with
    anti-aliasing, and places it so the centre of mass lands on (14, 14). One
    resampling does both: the source rectangle that maps onto the 28x28 field is
    chosen in sub-pixel coordinates.
    """
    from PIL import Image

    rows, cols = np.nonzero(ink > 0)
    top, bottom, left, right = rows.min(), rows.max() + 1, cols.min(), cols.max() + 1
    scale = BOX / max(bottom - top, right - left)
    crop = ink[top:bottom, left:right]
    mass = crop.sum()
    ys, xs = np.indices(crop.shape)
    # Centre of mass in continuous coordinates (pixel i spans [i, i + 1]).
    centre_y = (crop * ys).sum() / mass + 0.5
    centre_x = (crop * xs).sum() / mass + 0.5
    span = FIELD / scale
    # Pad so the source rectangle never leaves the picture (PIL wants it inside).
    pad = int(math.ceil(span)) + 2
    padded = np.pad(crop, pad)
    x0 = centre_x + pad - (CENTRE + 0.5) / scale
    y0 = centre_y + pad - (CENTRE + 0.5) / scale
    image = Image.fromarray(padded.astype(np.float32))
    # Area averaging when shrinking: anti-aliased, and no ringing halo (MNIST has none).
    fitted = image.resize((FIELD, FIELD), Image.BOX if scale < 1 else Image.BILINEAR,
                          box=(x0, y0, x0 + span, y0 + span))
    out = np.clip(np.asarray(fitted), 0.0, None)
    peak = out.max()
    if peak <= 0:
        raise NothingToRead("the picture is blank")
    # MNIST strokes reach full white; scale so the brightest pixels do too.
    out = np.clip(out / max(peak, 1e-6), 0.0, 1.0)
    return (out * 255.0 + 0.5).astype(np.uint8)


# --- Pixels: uploads and canvas images --------------------------------------------


def ink_map(gray: np.ndarray) -> np.ndarray:
    """Grayscale uint8 -> ink in [0, 1], white on black, background at 0.

    Works out the polarity from the border (a digit rarely touches all four
    edges), separates ink from background with Otsu's threshold, removes an
    evenly changing background (a photo of paper lit from one side) by fitting a
    plane to the background pixels, and zeroes what is no brighter than the
    background's own noise (``_noise_floor``), so a photo reads like a clean drawing
    and a clean scan keeps its anti-aliased edges.
    """
    gray = np.asarray(gray, dtype=np.float32) / 255.0
    border = np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])
    if np.median(border) > 0.5:
        gray = 1.0 - gray
    if gray.max() - gray.min() < 0.1:
        return np.zeros_like(gray)
    ink = gray > _otsu_threshold(gray)
    gray = gray - _background_plane(gray, ~ink)
    ink = gray > _otsu_threshold(gray)
    if not ink.any() or ink.all():
        return np.zeros_like(gray)
    background = float(np.median(gray[~ink]))
    ink_level = float(np.percentile(gray[ink], 90))
    if ink_level - background < 0.1:
        return np.zeros_like(gray)
    level = np.clip((gray - background) / (ink_level - background), 0.0, 1.0)
    # What is left of the background (paper texture, JPEG noise) is not ink, and
    # in a large picture neither are specks: ink pixels need ink neighbours, two,
    # as every pixel of a line one pixel wide has (a pen line in a shrunk picture).
    level[level <= _noise_floor(level, ink)] = 0.0
    if min(level.shape) >= 64:
        level[_neighbour_count(level > 0) < 2] = 0.0
    return level


# The ink floor: background pixels at least FAR_FROM_INK pixels from the ink show how
# bright the picture's noise gets (their NOISE_PERCENTILE-th percentile); levels up to
# NOISE_MARGIN times that are background, and never more than MAX_INK_FLOOR is.
FAR_FROM_INK = 2
NOISE_PERCENTILE = 99
NOISE_MARGIN = 1.5
MAX_INK_FLOOR = 0.25


def _noise_floor(level: np.ndarray, ink: np.ndarray) -> float:
    """Ink levels (H, W) in [0, 1] and the ink mask -> the level at or below which a
    pixel is background.

    A clean picture (a scan, an MNIST digit, a canvas image) has a flat background, so
    its floor is about 0 and the faint anti-aliased edge of every stroke stays ink, as
    in MNIST's own digits (a fixed floor of 0.25 kept 81% of an MNIST digit's inked
    pixels; this keeps 99.7%). A photo's paper grain or a JPEG's noise raises the
    floor, to at most MAX_INK_FLOOR.
    """
    from scipy import ndimage

    far = level[~ndimage.binary_dilation(ink, iterations=FAR_FROM_INK)]
    if far.size == 0:
        return MAX_INK_FLOOR
    return min(MAX_INK_FLOOR, NOISE_MARGIN * float(np.percentile(far, NOISE_PERCENTILE)))


def _background_plane(gray: np.ndarray, background: np.ndarray) -> np.ndarray:
    """Least-squares plane a + b*x + c*y through (a sample of) the background pixels."""
    rows, cols = np.nonzero(background)
    if rows.size < 3:
        return np.zeros_like(gray)
    step = max(1, rows.size // 20000)
    rows, cols = rows[::step], cols[::step]
    design = np.stack([np.ones(rows.size), cols, rows], axis=1).astype(np.float64)
    coefficients, *_ = np.linalg.lstsq(design, gray[rows, cols].astype(np.float64), rcond=None)
    all_rows, all_cols = np.indices(gray.shape)
    plane = coefficients[0] + coefficients[1] * all_cols + coefficients[2] * all_rows
    return (plane - plane.min()).astype(np.float32)


def _neighbour_count(mask: np.ndarray) -> np.ndarray:
    """How many of its 8 neighbours are set, per pixel."""
    padded = np.pad(mask, 1).astype(np.uint8)
    height, width = mask.shape
    return sum(padded[1 + dy:1 + dy + height, 1 + dx:1 + dx + width]
               for dy in (-1, 0, 1) for dx in (-1, 0, 1) if dy or dx)


def _otsu_threshold(values: np.ndarray) -> float:
    """The level in [0, 1] that best splits ``values`` into two classes (Otsu, 1979)."""
    histogram, edges = np.histogram(values, bins=64, range=(0.0, 1.0))
    centres = (edges[:-1] + edges[1:]) / 2
    weight = np.cumsum(histogram)
    total = weight[-1]
    mean = np.cumsum(histogram * centres)
    with np.errstate(divide="ignore", invalid="ignore"):
        between = (mean[-1] * weight / total - mean) ** 2 / (weight * (total - weight))
    between = np.nan_to_num(between[:-1])
    return float(centres[int(np.argmax(between))] + (edges[1] - edges[0]) / 2)


def estimate_stroke_width(mask: np.ndarray) -> float:
    """The typical stroke width of a binary ink mask, in pixels.

    A stroke of width w and length L covers about w*L pixels and has about 2*L
    boundary pixels, so twice the area over the boundary count is w.
    """
    mask = np.asarray(mask, dtype=bool)
    area = int(mask.sum())
    if area == 0:
        return 0.0
    padded = np.pad(mask, 1)
    interior = (padded[1:-1, 1:-1] & padded[:-2, 1:-1] & padded[2:, 1:-1]
                & padded[1:-1, :-2] & padded[1:-1, 2:])
    boundary = int((mask & ~interior).sum())
    return 2.0 * area / max(boundary, 1)


def _octagon_filter(image: np.ndarray, radius: int, thicken: bool) -> np.ndarray:
    """Image (H, W) -> its grey dilation (``thicken``) or erosion by a disc-like octagon
    of ``radius`` pixels: within ``radius`` along the axes, about 1.06 ``radius`` along
    the diagonals (the shape TARGET_STROKE was calibrated with).

    The octagon is a square of side 2 * ceil(radius / 2) + 1 widened by floor(radius / 2)
    3x3 crosses: filtering by each in turn gives the same result as the octagon at
    once, and costs about 5 * radius / 2 per pixel instead of radius squared.
    """
    from scipy import ndimage

    # Outside the picture is neutral: thickening adds no ink from the edge, thinning eats none.
    filter_, outside = (ndimage.maximum_filter, 0.0) if thicken else (ndimage.minimum_filter, 1.0)
    out = filter_(image, size=2 * ((radius + 1) // 2) + 1, mode="constant", cval=outside)
    cross = ndimage.generate_binary_structure(2, 1)
    for _ in range(radius // 2):
        out = filter_(out, footprint=cross, mode="constant", cval=outside)
    return out


def normalise_stroke_width(ink: np.ndarray, target_width: float) -> np.ndarray:
    """Ink in [0, 1] (H, W) and the stroke width wanted, in its pixels -> ink in [0, 1]
    with its strokes thinned or thickened towards ``target_width``.

    Only strokes outside the range MNIST's own digits span (about 0.6x to 1.5x the
    typical width) are changed: within it, the variety is part of what the models
    learnt, and the ink comes back as it came. Changed ink comes back at most
    STROKE_WORK_SIDE pixels a side (it is area-averaged down first, which bounds
    the cost); fit_and_centre does not mind the scale.
    """
    from PIL import Image

    # Measured before any shrinking, which would fade a thin pen line below 0.5.
    width = estimate_stroke_width(ink > 0.5)
    if width <= 0 or 0.6 * target_width <= width <= 1.5 * target_width:
        return ink
    scale = min(1.0, STROKE_WORK_SIDE / max(ink.shape))
    work = ink
    if scale < 1.0:
        size = (max(1, round(ink.shape[1] * scale)), max(1, round(ink.shape[0] * scale)))
        work = np.asarray(Image.fromarray(ink.astype(np.float32)).resize(size, Image.BOX))
    radius = int(round((width - target_width) * scale / 2))
    if radius >= 1:
        thinned = _octagon_filter(work, radius, thicken=False)
        # Never erode a digit away: keep the original where thinning would erase it.
        return thinned if (thinned > 0.5).sum() >= 0.2 * (work > 0.5).sum() else ink
    if radius <= -1:
        return _octagon_filter(work, -radius, thicken=True)
    return ink


def _bounding_box(mask: np.ndarray) -> tuple[int, int, int, int] | None:
    rows, cols = np.nonzero(mask)
    if rows.size == 0:
        return None
    return rows.min(), rows.max() + 1, cols.min(), cols.max() + 1


def preprocess(gray: np.ndarray, normalise_width: bool = True) -> np.ndarray:
    """Grayscale (H, W) of one digit, either polarity -> uint8 (28, 28), white on black.

    Raises NothingToRead for a blank picture or a dot, ImageError for an input that
    is not 2-D or has a side under MIN_SIDE. A picture over MAX_WORKING_SIDE is
    shrunk to it first. ``normalise_width=False`` skips the stroke-width step (a
    plain MNIST-style crop and centre; the drawn-digit benchmark compares the two).
    """
    gray = np.asarray(gray)
    if gray.ndim != 2:
        raise ImageError(f"expected a 2-D grayscale image, got an array of shape {gray.shape}")
    _refuse_if_too_small(gray.shape[1], gray.shape[0])
    gray = shrink_to_working_size(gray)
    ink = ink_map(gray)
    box = _bounding_box(ink > 0.5)
    if box is None:
        raise NothingToRead("the picture is blank")
    top, bottom, left, right = box
    side = max(bottom - top, right - left)
    if side <= max(3, 0.08 * max(gray.shape)) and _is_solid(ink[top:bottom, left:right] > 0.5):
        raise NothingToRead("that is just a dot: draw a digit")
    # Work on the digit's own region (plus a margin for thickening) to keep it fast.
    margin = side // 2 + 2
    region = ink[max(0, top - margin):bottom + margin, max(0, left - margin):right + margin]
    # Below about twice the output size, a pixel of erosion is too coarse a tool.
    if normalise_width and side >= 2 * BOX:
        region = normalise_stroke_width(region, TARGET_STROKE * side / BOX)
    return fit_and_centre(region)


def _is_solid(mask: np.ndarray) -> bool:
    """A blob that fills most of its bounding box and is about as wide as tall (a dot)."""
    height, width = mask.shape
    return mask.mean() > 0.5 and 0.5 <= height / max(width, 1) <= 2.0


# --- Vector strokes: the canvas ---------------------------------------------------


def preprocess_strokes(strokes: Sequence[np.ndarray], min_extent: float = 6.0) -> np.ndarray:
    """Pen strokes -> uint8 (28, 28), re-drawn at MNIST's stroke width.

    ``strokes`` is a list of (N, 2) arrays of x, y points in any units (canvas
    pixels). ``min_extent``: a drawing whose longer side is shorter than this is a
    dot, not a digit. Raises NothingToRead for no strokes or a dot.
    """
    strokes = [np.asarray(s, dtype=np.float64).reshape(-1, 2) for s in strokes if len(s)]
    strokes = [s[np.isfinite(s).all(axis=1)] for s in strokes]
    strokes = [s for s in strokes if len(s)]
    if not strokes:
        raise NothingToRead("the canvas is empty")
    points = np.concatenate(strokes)
    low, high = points.min(axis=0), points.max(axis=0)
    extent = float((high - low).max())
    if extent < min_extent:
        raise NothingToRead("that is just a dot: draw a digit")
    # Draw so that the finished 28x28 digit (path box plus the pen's width) spans
    # BOX pixels, SUPERSAMPLE times finer; fit_and_centre then resamples it down.
    pen = TARGET_STROKE * SUPERSAMPLE
    scale = (BOX * SUPERSAMPLE - pen) / extent
    margin = pen + 2
    size = (int(math.ceil((high[0] - low[0]) * scale + 2 * margin)),
            int(math.ceil((high[1] - low[1]) * scale + 2 * margin)))
    canvas = draw_round_strokes(size, [(stroke - low) * scale + margin for stroke in strokes], pen)
    return fit_and_centre(np.asarray(canvas, dtype=np.float32) / 255.0)


def draw_round_strokes(size: tuple[int, int], polylines: Iterable[np.ndarray], pen: float):
    """Polylines ((N, 2) arrays of x, y in the picture's pixels) -> a PIL "L" picture of
    ``size`` (width, height): white strokes on black, ``pen`` pixels wide, with round
    caps and joins, as the Draw page's canvas draws them. The one stroke renderer:
    ``preprocess_strokes`` and the pen-digit benchmark both draw with it."""
    from PIL import Image, ImageDraw

    picture = Image.new("L", size, 0)
    draw = ImageDraw.Draw(picture)
    radius = pen / 2
    for line in polylines:
        xy = [(float(x), float(y)) for x, y in line]
        if len(xy) > 1:
            draw.line(xy, fill=255, width=max(1, int(round(pen))), joint="curve")
        for x, y in (xy[0], xy[-1]) if len(xy) > 1 else xy:
            draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=255)
    return picture


MAX_STROKES = 200  # far more than any digit; a bigger value is not a drawing
MAX_POINTS = 20_000


def strokes_from_points(value: Any) -> list[np.ndarray] | None:
    """The drawing pad's value (a list of strokes, each a list of [x, y] in canvas
    pixels) -> strokes as (N, 2) float arrays. [] for an empty pad (None, []); None
    when the value is not a list of strokes of finite points, or is too big to be a
    drawing."""
    if value is None:
        return []
    if not isinstance(value, (list, tuple)) or len(value) > MAX_STROKES:
        return None
    strokes: list[np.ndarray] = []
    total = 0
    for stroke in value:
        try:
            points = np.asarray(stroke, dtype=np.float64)
        except (TypeError, ValueError):
            return None
        total += len(points)
        if points.ndim != 2 or points.shape[1] != 2 or len(points) == 0 or total > MAX_POINTS:
            return None
        if not np.isfinite(points).all():
            return None
        strokes.append(points)
    return strokes


def naive_resize(gray: np.ndarray) -> np.ndarray:
    """What most draw-a-digit demos do: squash the whole picture to 28x28 (for comparison)."""
    from PIL import Image

    gray = np.asarray(gray, dtype=np.uint8)
    if np.median(np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])) > 127:
        gray = 255 - gray
    return np.asarray(Image.fromarray(gray).resize((FIELD, FIELD), Image.LANCZOS), dtype=np.uint8)
