"""A corruption suite made from MNIST test images, in the spirit of MNIST-C
(Mu & Gilmer, 2019): the same digits, shifted the ways real handwriting and real
pictures differ from MNIST's.

``corrupt(images, name, seed)`` -> the images corrupted, uint8 (N, 28, 28), white on
black like MNIST; every image gets its own random strength, drawn from a generator
seeded by ``seed`` and the corruption's name, so the suite is the same on every
machine and every run. ``CORRUPTIONS`` names them, in the order the scorecard shows
them, each with a sentence saying what it does.

A model reads the corrupted 28x28 images as they are, without the app's reading
pipeline (which would undo some of them: it re-centres and re-scales the ink), as
MNIST-C scores them.
"""

from __future__ import annotations

import zlib

import numpy as np

CORRUPTIONS = {
    "rotation": "rotated by up to 30 degrees either way",
    "shear": "sheared sideways by up to 0.5 (a slant of 27 degrees)",
    "scale": "shrunk to between 60% and 90% of its size, about the centre",
    "translation": "moved 2 to 6 pixels across and up or down (kept inside the frame)",
    "thicker": "strokes thickened by one pixel on every side",
    "thinner": "strokes thinned by one pixel",
    "noise": "Gaussian noise of standard deviation 0.2 (of the 0-1 range) added",
    "blur": "blurred by a Gaussian of standard deviation 1 pixel",
    "clutter": "three dots and a short line drawn at random places",
}
CENTRE = 13.5  # the middle of a 28x28 image, in pixel coordinates


def _generator(name: str, seed: int) -> np.random.Generator:
    # crc32, not hash(): Python salts string hashes per process.
    return np.random.default_rng([seed, zlib.crc32(name.encode())])


def _affine(image: np.ndarray, matrix: np.ndarray, shift: np.ndarray | None = None) -> np.ndarray:
    """``image`` mapped by ``matrix`` about its centre (output pixel o reads input
    pixel matrix @ (o - centre) + centre - shift), bilinear, black outside."""
    from scipy import ndimage

    shift = np.zeros(2) if shift is None else shift
    offset = CENTRE - matrix @ np.full(2, CENTRE) - shift
    out = ndimage.affine_transform(image.astype(np.float32), matrix, offset=offset, order=1, cval=0.0)
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def _rotation(image, rng):
    angle = np.deg2rad(rng.uniform(-30, 30))
    cos, sin = np.cos(angle), np.sin(angle)
    return _affine(image, np.array([[cos, -sin], [sin, cos]]))


def _shear(image, rng):
    # Rows are the first axis: a column offset proportional to the row is a sideways slant.
    return _affine(image, np.array([[1.0, 0.0], [rng.uniform(-0.5, 0.5), 1.0]]))


def _scale(image, rng):
    return _affine(image, np.eye(2) / rng.uniform(0.6, 0.9))


def _translation(image, rng):
    rows, cols = np.nonzero(image)
    if len(rows) == 0:
        return image.copy()
    moves = []
    for low, high in ((rows.min(), rows.max()), (cols.min(), cols.max())):
        step = int(rng.integers(2, 7)) * (1 if rng.random() < 0.5 else -1)
        moves.append(int(np.clip(step, -low, 27 - high)))  # the ink stays inside the frame
    return np.roll(image, moves, axis=(0, 1))


def _thicker(image, rng):
    from scipy import ndimage

    return ndimage.grey_dilation(image, footprint=ndimage.generate_binary_structure(2, 1))


def _thinner(image, rng):
    from scipy import ndimage

    return ndimage.grey_erosion(image, size=(2, 2))


def _noise(image, rng):
    noisy = image.astype(np.float32) + rng.normal(0.0, 0.2 * 255, image.shape)
    return np.clip(np.rint(noisy), 0, 255).astype(np.uint8)


def _blur(image, rng):
    from scipy import ndimage

    return np.clip(np.rint(ndimage.gaussian_filter(image.astype(np.float32), 1.0)), 0, 255).astype(np.uint8)


def _clutter(image, rng):
    from PIL import Image, ImageDraw

    picture = Image.fromarray(image)
    draw = ImageDraw.Draw(picture)
    for _ in range(3):
        x, y = rng.uniform(1, 26, 2)
        draw.ellipse([x - 1, y - 1, x + 1, y + 1], fill=255)
    x, y = rng.uniform(2, 25, 2)
    angle, length = rng.uniform(0, np.pi), rng.uniform(5, 9)
    dx, dy = np.cos(angle) * length / 2, np.sin(angle) * length / 2
    draw.line([x - dx, y - dy, x + dx, y + dy], fill=255, width=2)
    return np.asarray(picture, dtype=np.uint8)


_FUNCTIONS = {"rotation": _rotation, "shear": _shear, "scale": _scale, "translation": _translation,
              "thicker": _thicker, "thinner": _thinner, "noise": _noise, "blur": _blur, "clutter": _clutter}


def corrupt(images: np.ndarray, name: str, seed: int = 0) -> np.ndarray:
    """``images`` (uint8 (N, 28, 28), white on black) with corruption ``name`` applied
    to each, each with its own seeded random strength. Raises KeyError naming the
    corruptions for an unknown name."""
    if name not in _FUNCTIONS:
        raise KeyError(f"unknown corruption {name!r}; choose one of: {', '.join(CORRUPTIONS)}")
    rng = _generator(name, seed)
    function = _FUNCTIONS[name]
    return np.stack([function(image, rng) for image in np.asarray(images, dtype=np.uint8)])
