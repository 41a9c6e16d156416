"""Where models and runs live on disk.

Everything goes under one artifacts folder: ``<repo>/artifacts`` by default, or
the folder named by the environment variable ``MNIST_STUDIO_ARTIFACTS`` (the tests
point it at a temporary folder so they never touch the shipped models).
"""

from __future__ import annotations

import os
from pathlib import Path

ARTIFACTS_ENV = "MNIST_STUDIO_ARTIFACTS"
REPO_ROOT = Path(__file__).resolve().parent.parent


def artifacts_dir() -> Path:
    """The artifacts folder (not created here)."""
    override = os.environ.get(ARTIFACTS_ENV)
    return Path(override).expanduser().resolve() if override else REPO_ROOT / "artifacts"


def models_dir() -> Path:
    """``artifacts/models``, created if missing."""
    path = artifacts_dir() / "models"
    path.mkdir(parents=True, exist_ok=True)
    return path


def runs_dir() -> Path:
    """``artifacts/runs``, created if missing."""
    path = artifacts_dir() / "runs"
    path.mkdir(parents=True, exist_ok=True)
    return path
