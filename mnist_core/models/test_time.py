"""Reading with more than one look: test-time augmentation and small ensembles.

- ``views(images, name)`` -> the images as a test-time augmentation sees them:
  as they are, and moved or turned a little (``VIEWS`` names the choices);
- ``averaged_probabilities(models, images, view)`` -> float32 (N, 10): every model's
  probabilities over every view, averaged. One model and the view ``"as-is"`` give
  exactly what ``predict_probabilities`` gives.

``python -m mnist_core evaluate --view shifts --with studio_cnn-v2`` scores a saved
model so.

Which view (and which ensemble) to use is chosen on a validation split, never on
the test set (``bench.accuracy_record`` does that).
"""

from __future__ import annotations

import numpy as np

# How each view moves the digit: (rows down, columns right, degrees turned).
_AS_IS = ((0, 0, 0.0),)
_SHIFTS = ((1, 0, 0.0), (-1, 0, 0.0), (0, 1, 0.0), (0, -1, 0.0))
_DIAGONALS = ((1, 1, 0.0), (1, -1, 0.0), (-1, 1, 0.0), (-1, -1, 0.0))
_TURNS = ((0, 0, 6.0), (0, 0, -6.0))

# name -> the moves of its views, the images as they are first.
VIEWS: dict[str, tuple[tuple[int, int, float], ...]] = {
    "as-is": _AS_IS,  # one look: no test-time augmentation
    "shifts": _AS_IS + _SHIFTS,  # and moved 1 px up, down, left, right: 5 looks
    "shifts-diagonal": _AS_IS + _SHIFTS + _DIAGONALS,  # and the 4 diagonal moves too: 9 looks
    "turns": _AS_IS + _TURNS,  # and turned 6 degrees either way: 3 looks
    "shifts-turns": _AS_IS + _SHIFTS + _TURNS,  # 7 looks
}


class UnknownView(KeyError):
    """A view name that is not in VIEWS."""

    def __str__(self) -> str:
        return self.args[0]


def _moved(images: np.ndarray, rows: int, columns: int, degrees: float) -> np.ndarray:
    """uint8 images (N, 28, 28) moved by whole pixels (black coming in, nothing wrapping
    round) and turned about the centre, bilinear."""
    out = np.zeros_like(images)
    source_rows = slice(max(0, -rows), images.shape[1] - max(0, rows))
    target_rows = slice(max(0, rows), images.shape[1] - max(0, -rows))
    source_cols = slice(max(0, -columns), images.shape[2] - max(0, columns))
    target_cols = slice(max(0, columns), images.shape[2] - max(0, -columns))
    out[:, target_rows, target_cols] = images[:, source_rows, source_cols]
    if degrees:
        from scipy import ndimage

        turned = ndimage.rotate(out.astype(np.float32), degrees, axes=(2, 1), reshape=False, order=1, cval=0.0)
        out = np.clip(np.rint(turned), 0, 255).astype(np.uint8)
    return out


def views(images: np.ndarray, name: str) -> list[np.ndarray]:
    """The views of uint8 ``images`` (N, 28, 28) that view ``name`` reads, the images as
    they are first. Raises UnknownView for a name not in VIEWS."""
    if name not in VIEWS:
        raise UnknownView(f"unknown view {name!r}; choose one of: {', '.join(VIEWS)}")
    images = np.asarray(images, dtype=np.uint8)
    return [images if move == (0, 0, 0.0) else _moved(images, *move) for move in VIEWS[name]]


def averaged_probabilities(models, images: np.ndarray, view: str = "as-is") -> np.ndarray:
    """float32 (N, 10): the probabilities of every model in ``models`` (one model or a
    list) for every view of ``images`` (uint8 (N, 28, 28)), averaged."""
    from mnist_core.reading.inference import predict_probabilities

    models = models if isinstance(models, (list, tuple)) else [models]
    looks = views(images, view)
    total = np.zeros((len(looks[0]), 10), np.float64)
    for model in models:
        for look in looks:
            total += predict_probabilities(model, look)
    return (total / (len(models) * len(looks))).astype(np.float32)
