"""MNIST loading, validation, splitting, and the one conversion into model input.

Where the data comes from, in order:
1. an explicit path (the CLI's ``--data PATH``),
2. the environment variable ``MNIST_NPZ``,
3. ``keras.datasets.mnist.load_data()``: the normal download, cached in ``~/.keras``.

A local ``.npz`` is read with numpy directly: a re-packed copy is not byte-identical
to the Keras download, so the Keras hash check would reject it.
"""

from __future__ import annotations

import hashlib
import os
import zipfile
from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path

import numpy as np

MNIST_ENV_VAR = "MNIST_NPZ"
IMAGE_SHAPE = (28, 28)
NUM_CLASSES = 10
EXPECTED_KEYS = ("x_train", "y_train", "x_test", "y_test")
_ZIP_MAGIC = b"PK"  # a .npz is a zip archive of .npy files
_NPY_MAGIC = b"\x93NUMPY"

_HOW_TO_FIX = (
    "Put MNIST's mnist.npz (the file keras.datasets.mnist downloads, or any .npz with "
    "the arrays x_train, y_train, x_test, y_test) somewhere on disk and either pass "
    f"--data PATH or set the environment variable {MNIST_ENV_VAR}=PATH."
)


class DataError(Exception):
    """MNIST could not be loaded; the message says why and how to fix it."""


@dataclass(frozen=True)
class Mnist:
    """The four MNIST arrays (uint8 images 28x28, uint8 labels) and where they came from."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    source: str
    sha256: str | None

    @cached_property
    def test_checksum(self) -> str:
        """SHA-256 of the test images and labels themselves (not of the file holding
        them), so the same test set from any file or download has the same key."""
        digest = hashlib.sha256(np.ascontiguousarray(self.x_test).tobytes())
        digest.update(np.ascontiguousarray(self.y_test, dtype=np.int64).tobytes())
        return digest.hexdigest()


def load_mnist(path: str | os.PathLike | None = None) -> Mnist:
    """Load and validate MNIST from ``path``, else ``$MNIST_NPZ``, else the Keras download.

    Returns an ``Mnist``; raises ``DataError`` with a message that says how to fix
    a missing file, a wrong file or a failed download.
    """
    if path is None:
        path = os.environ.get(MNIST_ENV_VAR) or None
    if path is not None:
        return _load_npz_cached(str(Path(path).expanduser().resolve()))
    return _load_from_keras()


def _load_npz_cached(path: str) -> Mnist:
    stat = _stat_or_fail(path)
    return _load_npz(path, stat.st_mtime_ns, stat.st_size)


def _stat_or_fail(path: str) -> os.stat_result:
    try:
        stat = os.stat(path)
    except FileNotFoundError:
        raise DataError(f"MNIST file not found: {path}. {_HOW_TO_FIX}") from None
    if not Path(path).is_file():
        raise DataError(f"MNIST path is not a file: {path}. {_HOW_TO_FIX}")
    return stat


@lru_cache(maxsize=2)
def _load_npz(path: str, mtime_ns: int, size: int) -> Mnist:
    # mtime and size are part of the cache key so an edited file is read again.
    arrays = _read_npz_arrays(path)
    validate_arrays(arrays, origin=path)
    return Mnist(**{key: arrays[key] for key in EXPECTED_KEYS}, source=path, sha256=file_sha256(path))


def _read_npz_arrays(path: str) -> dict[str, np.ndarray]:
    """The arrays in the .npz file at ``path``, by name; raises ``DataError`` for any
    other file. Never unpickles anything: MNIST's arrays are plain numbers."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(len(_NPY_MAGIC))
        # numpy reads a file that is neither a zip (.npz) nor a .npy as a pickle, and
        # its message then suggests allowing pickles: say what the file is instead.
        if head.startswith(_NPY_MAGIC):
            raise _not_mnist(path, "a single .npy array")
        if not head.startswith(_ZIP_MAGIC):
            raise _not_mnist(path, "not a NumPy file at all")
        with np.load(path, allow_pickle=False) as npz:
            return {key: npz[key] for key in npz.files}
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as exc:
        if "pickle" in str(exc).lower():  # an array of Python objects, not numbers
            raise _not_mnist(path, "pickled Python objects, not arrays of numbers") from None
        raise DataError(f"{path} is not a readable .npz file ({exc}). {_HOW_TO_FIX}") from None


def _not_mnist(path: str, what: str) -> DataError:
    return DataError(f"{path} is not a readable .npz file: not an MNIST .npz ({what}). {_HOW_TO_FIX}")


@lru_cache(maxsize=1)  # once per process: the download is cached on disk, the arrays here
def _load_from_keras() -> Mnist:
    import keras

    try:
        (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
    except Exception as exc:  # no network, a proxy, a corrupt cache: all end the same way
        raise DataError(
            f"Could not download MNIST with Keras ({type(exc).__name__}: {exc}). {_HOW_TO_FIX}"
        ) from None
    arrays = {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test}
    # Where keras.utils.get_file caches it; only used to record a checksum.
    cached = Path(os.environ.get("KERAS_HOME", "~/.keras")).expanduser() / "datasets" / "mnist.npz"
    validate_arrays(arrays, origin="the Keras download")
    return Mnist(
        **arrays,
        source="keras.datasets.mnist",
        sha256=file_sha256(cached) if cached.is_file() else None,
    )


def validate_arrays(arrays: dict[str, np.ndarray], origin: str = "the data") -> None:
    """Check keys, shapes, dtypes and labels; raise ``DataError`` naming the first problem."""
    missing = [key for key in EXPECTED_KEYS if key not in arrays]
    if missing:
        raise DataError(
            f"{origin} lacks the arrays {', '.join(missing)} (it has: "
            f"{', '.join(sorted(arrays)) or 'nothing'}). {_HOW_TO_FIX}"
        )
    for split in ("train", "test"):
        images, labels = arrays[f"x_{split}"], arrays[f"y_{split}"]
        if images.ndim != 3 or images.shape[1:] != IMAGE_SHAPE or len(images) == 0:
            raise DataError(f"{origin}: x_{split} has shape {images.shape}, expected (N, 28, 28).")
        if images.dtype != np.uint8:
            raise DataError(f"{origin}: x_{split} has dtype {images.dtype}, expected uint8 (0..255).")
        if labels.shape != (len(images),):
            raise DataError(
                f"{origin}: y_{split} has shape {labels.shape}, expected ({len(images)},) "
                f"to match x_{split}."
            )
        if not np.issubdtype(labels.dtype, np.integer):
            raise DataError(f"{origin}: y_{split} has dtype {labels.dtype}, expected integers.")
        if labels.min() < 0 or labels.max() >= NUM_CLASSES:
            raise DataError(
                f"{origin}: y_{split} holds labels {labels.min()}..{labels.max()}, expected 0..9."
            )


def file_sha256(path: str | os.PathLike) -> str:
    """The SHA-256 of a file, hex."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def split_train_val(
    x: np.ndarray, y: np.ndarray, val_fraction: float = 0.1, seed: int = 1
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Hold out a stratified, seeded ``val_fraction`` of (x, y) for validation.

    Returns ``(x_train, y_train, x_val, y_val)``; with ``val_fraction == 0`` the
    validation arrays are empty.
    """
    if not 0 <= val_fraction < 1:
        raise ValueError(f"val_fraction must be in [0, 1), got {val_fraction}")
    if val_fraction == 0:
        return x, y, x[:0], y[:0]
    from sklearn.model_selection import train_test_split

    x_train, x_val, y_train, y_val = train_test_split(
        x, y, test_size=val_fraction, random_state=seed, stratify=y
    )
    return x_train, y_train, x_val, y_val


def take_subset(x: np.ndarray, y: np.ndarray, size: int | None, seed: int = 1):
    """A stratified, seeded subset of ``size`` samples (all of them when size is None)."""
    if size is None or size >= len(x):
        return x, y
    from sklearn.model_selection import train_test_split

    x_subset, _, y_subset, _ = train_test_split(
        x, y, train_size=size, random_state=seed, stratify=y
    )
    return x_subset, y_subset


def sample_indices(n: int, count: int, seed: int) -> np.ndarray:
    """Sorted indices of a seeded random sample of ``count`` of ``n`` items (all of
    them, in order, when ``count >= n``)."""
    if count >= n:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size=count, replace=False))


def to_model_input(images):
    """uint8 images (N, 28, 28) or (28, 28), 0..255 -> float32 (N, 28, 28, 1) in [0, 1].

    The one conversion used by training, evaluation and prediction. It takes a
    numpy array (returns numpy) or a TensorFlow tensor (returns a tensor, so the
    tf.data pipeline can keep uint8 and normalise inside the graph).
    """
    if isinstance(images, np.ndarray):
        return images.reshape((-1, *IMAGE_SHAPE, 1)).astype(np.float32) / np.float32(255)
    import tensorflow as tf

    return tf.cast(tf.reshape(images, (-1, *IMAGE_SHAPE, 1)), tf.float32) / 255.0
