"""A drawn or uploaded image -> a 28x28 MNIST-style uint8 array (white digit on black).

``decode_image`` turns untrusted bytes into a grayscale array, refusing what is
not an image, what is too large and decompression bombs. ``preprocess`` turns a
grayscale picture of one digit into what the models were trained on.
"""

from __future__ import annotations

import io
import warnings

import numpy as np

MAX_UPLOAD_BYTES = 20 * 1024 * 1024
MAX_PIXELS = 25_000_000  # e.g. 5000 x 5000; bigger images are refused, not resized


class ImageError(ValueError):
    """An input that cannot be read as a digit image; the message says why."""


class NothingToRead(ValueError):
    """The picture holds no digit (blank, or a dot)."""


def decode_image(data: bytes) -> np.ndarray:
    """Bytes of a PNG/JPEG/... file -> grayscale uint8 (H, W).

    Transparent pixels count as background (so a drawing exported with an alpha
    channel reads right). Raises ImageError for non-images, oversized files and
    decompression bombs.
    """
    from PIL import Image, UnidentifiedImageError

    if len(data) > MAX_UPLOAD_BYTES:
        raise ImageError(
            f"the file is {len(data) / 1e6:.1f} MB; the limit is {MAX_UPLOAD_BYTES / 1e6:.0f} MB"
        )
    if not data:
        raise ImageError("the file is empty")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            width, height = image.size
            if width * height > MAX_PIXELS:
                raise ImageError(
                    f"the image is {width}x{height} pixels; the limit is {MAX_PIXELS:,} pixels"
                )
            image.load()
    except ImageError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageError("the image is too large to decode safely (a decompression bomb?)") from None
    except UnidentifiedImageError:
        raise ImageError("the file is not an image Pillow can read (PNG, JPEG, GIF, BMP, WebP...)") from None
    except (OSError, ValueError, SyntaxError) as exc:
        raise ImageError(f"the image is damaged or truncated ({exc})") from None
    return _to_gray(image)


def _to_gray(image) -> np.ndarray:
    """A PIL image in any mode -> grayscale uint8, transparent areas as background."""
    from PIL import Image

    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        gray = np.asarray(rgba.convert("L"), dtype=np.float32)
        alpha = np.asarray(rgba.getchannel("A"), dtype=np.float32) / 255.0
        if alpha.min() < 1.0:
            # Composite onto the colour that is not the ink: the opaque pixels'
            # median tells whether the ink is light or dark.
            opaque = gray[alpha > 0.5]
            ink_is_light = opaque.size > 0 and np.median(opaque) > 127
            background = 0.0 if ink_is_light else 255.0
            gray = gray * alpha + background * (1.0 - alpha)
        return np.clip(gray + 0.5, 0, 255).astype(np.uint8)
    if image.mode not in ("L", "RGB"):
        image = image.convert("RGB")
    return np.asarray(image.convert("L") if image.mode != "L" else image, dtype=np.uint8)


def preprocess(gray: np.ndarray) -> np.ndarray:
    """Grayscale (H, W) uint8 of one digit -> uint8 (28, 28), white digit on black.

    Placeholder until the MNIST-style pipeline lands: polarity check, then a plain
    resize. Raises NothingToRead for a blank picture.
    """
    from PIL import Image

    gray = np.asarray(gray, dtype=np.uint8)
    if gray.ndim != 2 or gray.size == 0:
        raise ImageError(f"expected a 2-D grayscale image, got shape {gray.shape}")
    if np.median(gray) > 127:  # dark ink on a light background: invert
        gray = 255 - gray
    if int(gray.max()) - int(gray.min()) < 32:
        raise NothingToRead("the image is blank")
    return np.asarray(Image.fromarray(gray).resize((28, 28), Image.LANCZOS), dtype=np.uint8)


def preprocess_file_bytes(data: bytes) -> np.ndarray:
    """Image file bytes -> uint8 (28, 28); raises ImageError or NothingToRead."""
    return preprocess(decode_image(data))
