"""The explanations as pictures (RGB uint8 arrays, and PNG files for the CLI).

A saliency map is drawn over the image it explains, red where a pixel argued for
the class and blue where it argued against; feature maps are tiled in a grid, all
scaled by the layer's largest value so that they compare with each other.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mnist_core.explain.probes import as_input


def signed_overlay(image, heat: np.ndarray, scale: int = 8) -> np.ndarray:
    """``heat`` (28, 28) over ``image`` as RGB (28*scale, 28*scale, 3): the digit in grey,
    positive heat in red, negative in blue, each scaled by the map's largest magnitude."""
    gray = as_input(image)[0, :, :, 0] * 0.45
    heat = np.asarray(heat, dtype=np.float64)
    top = np.abs(heat).max()
    heat = heat / top if top > 0 else heat
    positive, negative = np.clip(heat, 0, 1), np.clip(-heat, 0, 1)
    rgb = np.stack([gray + positive * (1 - gray), gray * (1 - positive) * (1 - negative),
                    gray + negative * (1 - gray)], axis=-1)
    return _enlarge((np.clip(rgb, 0, 1) * 255).astype(np.uint8), scale)


def signed_image(values: np.ndarray, scale: int = 8) -> np.ndarray:
    """A signed array (a filter, a change to an image) as RGB on white: red above 0,
    blue below, scaled by its largest magnitude."""
    values = np.asarray(values, dtype=np.float64)
    top = np.abs(values).max()
    values = values / top if top > 0 else values
    positive, negative = np.clip(values, 0, 1), np.clip(-values, 0, 1)
    rgb = np.stack([1 - negative, 1 - positive - negative, 1 - positive], axis=-1)
    return _enlarge((np.clip(rgb, 0, 1) * 255).astype(np.uint8), scale)


def map_grid(maps: np.ndarray, scale: int = 4, columns: int | None = None, gap: int = 1) -> np.ndarray:
    """Feature maps (H, W, C) tiled in a grid as grey RGB, one scale for all of them."""
    maps = np.asarray(maps, dtype=np.float64)
    height, width, count = maps.shape
    columns = columns or int(np.ceil(np.sqrt(count)))
    rows = int(np.ceil(count / columns))
    top = maps.max()
    scaled = np.clip(maps / top, 0, 1) if top > 0 else np.zeros_like(maps)
    canvas = np.ones((rows * (height + gap) - gap, columns * (width + gap) - gap))
    for index in range(count):
        row, column = divmod(index, columns)
        canvas[row * (height + gap):row * (height + gap) + height,
               column * (width + gap):column * (width + gap) + width] = 1 - scaled[:, :, index]
    gray = (canvas * 255).astype(np.uint8)
    return _enlarge(np.stack([gray] * 3, axis=-1), scale)


def _enlarge(rgb: np.ndarray, scale: int) -> np.ndarray:
    return np.repeat(np.repeat(rgb, scale, axis=0), scale, axis=1)


def save_png(rgb: np.ndarray, path: Path) -> Path:
    """Write an RGB uint8 array as a PNG; returns the path."""
    from PIL import Image

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(rgb).save(path)
    return path
