"""Shared fixtures: an isolated artifacts folder per test, tiny data sets, the real MNIST."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"
SHIPPED_ARTIFACTS = REPO_ROOT / "artifacts"

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def real_mnist_path() -> Path | None:
    """$MNIST_NPZ, else ../shared/data/mnist.npz, else None."""
    candidate = os.environ.get("MNIST_NPZ")
    path = Path(candidate) if candidate else SHARED_DATA / "mnist.npz"
    return path if path.is_file() else None


def require_real_file(path: Path | None, what: str) -> Path:
    """The path, or skip (fail under CI=true, where the data must be there)."""
    if path is None or not path.is_file():
        message = f"{what} not found (set MNIST_NPZ or put it in ../shared/data/)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture(scope="session")
def mnist_path() -> Path:
    """Path to the real MNIST .npz."""
    return require_real_file(real_mnist_path(), "mnist.npz")


@pytest.fixture(scope="session")
def mnist(mnist_path):
    """The real MNIST, loaded once."""
    from mnist_core.data import load_mnist

    return load_mnist(mnist_path)


@pytest.fixture(autouse=True)
def isolated_artifacts(tmp_path, monkeypatch) -> Path:
    """Every test gets its own empty artifacts folder, so none touches the shipped models."""
    root = tmp_path / "artifacts"
    monkeypatch.setenv("MNIST_STUDIO_ARTIFACTS", str(root))
    return root


def make_pattern_digits(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """n synthetic 28x28 uint8 "digits" a model can learn quickly: digit k is a bright
    block in a cell of its own (a 5x2 grid), with noise and a random shift of a pixel."""
    rng = np.random.default_rng(seed)
    labels = np.arange(n, dtype=np.uint8) % 10
    rng.shuffle(labels)
    images = rng.integers(0, 40, size=(n, 28, 28), dtype=np.uint8)
    for i, label in enumerate(labels):
        row = 2 + 5 * (int(label) // 2) + int(rng.integers(-1, 2))
        col = 3 + 12 * (int(label) % 2) + int(rng.integers(-1, 2))
        images[i, row:row + 4, col:col + 10] = 255
    return images, labels


@pytest.fixture(scope="session")
def tiny_npz(tmp_path_factory) -> Path:
    """A small MNIST-shaped .npz (600 train, 200 test) of learnable synthetic digits."""
    x_train, y_train = make_pattern_digits(600, seed=1)
    x_test, y_test = make_pattern_digits(200, seed=2)
    path = tmp_path_factory.mktemp("data") / "tiny.npz"
    np.savez_compressed(path, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    return path


@pytest.fixture(scope="session")
def tiny_data(tiny_npz):
    from mnist_core.data import load_mnist

    return load_mnist(tiny_npz)


def run_cli(*args: str, env: dict | None = None, timeout: float = 300):
    """Run ``python -m mnist_core ARGS`` in a subprocess; returns the CompletedProcess."""
    import subprocess

    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "mnist_core", *args], cwd=REPO_ROOT, env=full_env,
        capture_output=True, text=True, timeout=timeout,
    )
