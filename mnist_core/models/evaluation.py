"""A saved model on the 10,000 MNIST test images: predictions, confusion matrix, mistakes.

``evaluate_saved_model`` runs the model once and caches the probabilities on disk
next to the model (``NAME.eval.npz``), keyed by the checksums of the model file
and of the test images, and in memory; a retrained model (a new file) is evaluated
again, an unchanged one is not. Everything else is derived from the
probabilities in ``Evaluation``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from mnist_core import paths
from mnist_core.data import Mnist, file_sha256
from mnist_core.fileio import atomic_path
from mnist_core.models import store

CACHE_SUFFIX = ".eval.npz"
_MEMORY: dict[tuple[str, str, str], "Evaluation"] = {}


@dataclass(frozen=True)
class Evaluation:
    """A model's test-set probabilities and the labels, with everything derived from them."""

    model_name: str
    model_sha256: str
    probabilities: np.ndarray  # float32 (N, 10)
    labels: np.ndarray  # (N,)
    from_cache: bool = False

    @cached_property
    def predictions(self) -> np.ndarray:
        return self.probabilities.argmax(axis=1)

    @cached_property
    def confidence(self) -> np.ndarray:
        """The probability of the predicted digit, per image."""
        return self.probabilities.max(axis=1)

    @property
    def accuracy(self) -> float:
        return float(np.mean(self.predictions == self.labels))

    @property
    def loss(self) -> float:
        """Mean cross-entropy of the true labels."""
        true = self.probabilities[np.arange(len(self.labels)), self.labels]
        return float(-np.mean(np.log(np.clip(true, 1e-7, 1.0))))

    @cached_property
    def confusion(self) -> np.ndarray:
        """Counts (10, 10): row = true digit, column = predicted digit."""
        from sklearn.metrics import confusion_matrix

        return confusion_matrix(self.labels, self.predictions, labels=list(range(10)))

    @cached_property
    def per_class(self) -> list[dict[str, float]]:
        """Per digit: precision, recall, accuracy (the share of that digit read right,
        which is its recall) and support (how many test images show it)."""
        from sklearn.metrics import precision_recall_fscore_support

        precision, recall, _, support = precision_recall_fscore_support(
            self.labels, self.predictions, labels=list(range(10)), zero_division=0
        )
        return [
            {"digit": d, "precision": float(precision[d]), "recall": float(recall[d]),
             "accuracy": float(recall[d]), "support": int(support[d])}
            for d in range(10)
        ]

    @cached_property
    def mistake_indices(self) -> np.ndarray:
        """Test-set indices where the prediction is wrong, in index order."""
        return np.flatnonzero(self.predictions != self.labels)

    def mistakes(self, true_digit: int | None = None, predicted_digit: int | None = None,
                 order: str = "confidence") -> np.ndarray:
        """Mistake indices filtered by true and/or predicted digit, sorted by ``order``:
        "confidence" (most confident mistakes first) or "index"."""
        selected = self.mistake_indices
        if true_digit is not None:
            selected = selected[self.labels[selected] == true_digit]
        if predicted_digit is not None:
            selected = selected[self.predictions[selected] == predicted_digit]
        if order == "confidence":
            selected = selected[np.argsort(-self.confidence[selected], kind="stable")]
        elif order != "index":
            raise ValueError(f"unknown order {order!r}; use 'confidence' or 'index'")
        return selected

    def summary(self, limit: int | None = None) -> dict[str, Any]:
        """A JSON-friendly summary (what ``evaluate --json`` prints)."""
        mistakes = self.mistakes(order="confidence")
        if limit is not None:
            mistakes = mistakes[:limit]
        return {
            "model": self.model_name,
            "model_sha256": self.model_sha256,
            "test_images": int(len(self.labels)),
            "accuracy": self.accuracy,
            "loss": self.loss,
            "mistakes": int(len(self.mistake_indices)),
            "confusion_matrix": self.confusion.tolist(),
            "per_class": self.per_class,
            "misclassified": [
                {"index": int(i), "true": int(self.labels[i]), "predicted": int(self.predictions[i]),
                 "confidence": round(float(self.confidence[i]), 6)}
                for i in mistakes
            ],
        }


def _cache_path(name: str, models_root: Path | None) -> Path:
    return (models_root or paths.models_dir()) / f"{name}{CACHE_SUFFIX}"


def evaluate_saved_model(name: str, data: Mnist, models_root: Path | None = None) -> Evaluation:
    """Evaluate saved model ``name`` on ``data``'s test set, from cache when possible.

    Raises store.ModelNotFound / CorruptModel for a missing or broken model.
    """
    store.read_metadata(name, models_root)  # clear errors for missing or corrupt models
    model_path = (models_root or paths.models_dir()) / f"{name}.keras"
    model_sha = file_sha256(model_path)
    key = (name, model_sha, data.test_checksum)
    if key in _MEMORY:
        return _MEMORY[key]
    cache = _cache_path(name, models_root)
    probabilities = _read_cache(cache, model_sha, data.test_checksum, len(data.y_test))
    from_cache = probabilities is not None
    if probabilities is None:
        from mnist_core.reading.inference import predict_probabilities

        model = store.load_model(name, models_root)
        probabilities = np.concatenate([
            predict_probabilities(model, data.x_test[start:start + 2000])
            for start in range(0, len(data.x_test), 2000)
        ]).astype(np.float32)
        _write_cache(cache, probabilities, model_sha, data.test_checksum)
    evaluation = Evaluation(name, model_sha, probabilities, np.asarray(data.y_test, dtype=np.int64), from_cache)
    if len(_MEMORY) >= 8:  # a few models' worth is plenty
        _MEMORY.clear()
    _MEMORY[key] = evaluation
    return evaluation


def _read_cache(path: Path, model_sha: str, test_sha: str, count: int) -> np.ndarray | None:
    try:
        with np.load(path, allow_pickle=False) as cached:
            if str(cached["model_sha256"]) != model_sha or str(cached["test_sha256"]) != test_sha:
                return None
            probabilities = cached["probabilities"]
    except (FileNotFoundError, KeyError, ValueError, OSError):
        return None
    return probabilities if probabilities.shape == (count, 10) else None


def _write_cache(path: Path, probabilities: np.ndarray, model_sha: str, test_sha: str) -> None:
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as handle:
            np.savez_compressed(handle, probabilities=probabilities, model_sha256=np.array(model_sha),
                                test_sha256=np.array(test_sha))
