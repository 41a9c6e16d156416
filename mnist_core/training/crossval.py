"""k-fold cross-validation of several architectures on the same, seeded folds.

``fold_indices`` splits the training set with scikit-learn's ``KFold`` (shuffled,
seeded), so every architecture, and every rerun with the same seed, sees the same
folds. ``run_cross_validation`` trains each architecture once per fold (k-1 folds
to train, the held-out fold to validate and score) and writes the results after
every fold, so a stopped or failed run keeps the folds it finished.

Results live in the run folder as ``cv_results.json``::

    {"schema": 1, "config": {...}, "fold_sizes": [...], "state": "finished",
     "archs": {"deeper_cnn": {"folds": [{"fold": 1, "accuracy": 0.99, "loss": 0.03,
                                          "seconds": 98.2, "epochs": 10,
                                          "history": {"loss": [...], ...}}, ...]}}}
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from mnist_core.fileio import FileFormatError, read_json, write_json_atomic
from mnist_core.jobs.runs import RunState
from mnist_core.training.config import ConfigError, CVConfig

SCHEMA = 1
RESULTS_FILE = "cv_results.json"


def fold_indices(n_samples: int, folds: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """(train indices, held-out indices) per fold: KFold with shuffle and a fixed seed."""
    from sklearn.model_selection import KFold

    splitter = KFold(n_splits=folds, shuffle=True, random_state=seed)
    return list(splitter.split(np.zeros(n_samples)))


def fold_checksum(images: np.ndarray) -> str:
    """A short SHA-256 of a fold's held-out images: equal checksums, equal folds."""
    import hashlib

    return hashlib.sha256(np.ascontiguousarray(images).tobytes()).hexdigest()[:16]


@dataclass
class FoldResult:
    """One architecture on one fold."""

    fold: int
    accuracy: float
    loss: float
    seconds: float
    epochs: int
    history: dict[str, list[float]] = field(default_factory=dict)


@dataclass
class CVResults:
    """Everything a cross-validation run has produced so far."""

    config: CVConfig
    fold_sizes: list[int]
    archs: dict[str, list[FoldResult]]
    state: str = "running"
    data: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "config": self.config.to_dict(),
            "fold_sizes": self.fold_sizes,
            "state": self.state,
            "data": self.data,
            "archs": {name: {"folds": [asdict(f) for f in folds]} for name, folds in self.archs.items()},
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "CVResults":
        return cls(
            config=CVConfig.from_dict(data["config"]),
            fold_sizes=list(data.get("fold_sizes", [])),
            archs={name: [FoldResult(**f) for f in entry.get("folds", [])]
                   for name, entry in data.get("archs", {}).items()},
            state=data.get("state", "unknown"),
            data=data.get("data", {}),
        )


def save_results(run_dir: Path, results: CVResults) -> None:
    """Write cv_results.json atomically."""
    write_json_atomic(Path(run_dir) / RESULTS_FILE, results.to_dict())


def load_results(run_dir: Path) -> CVResults | None:
    """The run's results, or None if it has none (yet) or they are unreadable."""
    try:
        return CVResults.from_dict(read_json(Path(run_dir) / RESULTS_FILE, schema=SCHEMA))
    except (FileNotFoundError, FileFormatError, KeyError, TypeError):
        return None


@dataclass(frozen=True)
class Summary:
    """One architecture's fold accuracies summarised (std is the population std, ddof=0,
    as numpy and the reference tutorial compute it)."""

    arch: str
    n: int
    mean: float
    std: float
    min: float
    max: float
    seconds: float


def summarise(results: CVResults) -> list[Summary]:
    """Per architecture with at least one finished fold: mean, std, n, min, max, time."""
    rows = []
    for name, folds in results.archs.items():
        if not folds:
            continue
        accuracies = np.array([f.accuracy for f in folds])
        rows.append(Summary(name, len(folds), float(accuracies.mean()), float(accuracies.std()),
                            float(accuracies.min()), float(accuracies.max()),
                            float(sum(f.seconds for f in folds))))
    return rows


def estimated_seconds(config: CVConfig, reference: CVResults) -> float | None:
    """About how long ``config`` will take to train, from how fast each of its
    architectures trained in the ``reference`` run: its seconds per epoch per training
    image, times the epochs and images ``config`` asks for, over all its folds. None
    when the reference has not trained one of them."""
    total = 0.0
    for arch in config.archs:
        folds = reference.archs.get(arch)
        if not folds:
            return None
        pace = sum(f.seconds for f in folds) / (sum(f.epochs for f in folds) * reference.config.fold_training_images())
        epochs = config.fold_config(arch).resolved().epochs
        total += pace * epochs * config.fold_training_images() * config.folds
    return total


def run_cross_validation(
    config: CVConfig,
    data,
    run_dir: Path | None = None,
    should_stop: Callable[[], bool] | None = None,
    verbose: int = 0,
    on_fold: Callable[[str, FoldResult], None] | None = None,
) -> CVResults:
    """Cross-validate every architecture of ``config`` on ``data.x_train``.

    Writes ``cv_results.json`` (and progress events) into ``run_dir`` after every
    fold when given. A stop request ends the current fold's training after its
    current batch; that unfinished fold is not counted and the run ends "stopped".
    """
    from mnist_core.data import take_subset
    from mnist_core.jobs.runs import ProgressLog
    from mnist_core.training.fit import train

    should_stop = should_stop or (lambda: False)
    errors = config.problems(len(data.x_train))
    if errors:
        raise ConfigError("; ".join(errors))
    x, y = take_subset(data.x_train, data.y_train, config.subset, config.seed)
    splits = fold_indices(len(x), config.folds, config.seed)
    results = CVResults(config, [len(held_out) for _, held_out in splits], {name: [] for name in config.archs},
                        data={"source": data.source, "sha256": data.sha256, "images": len(x),
                              "fold_checksums": [fold_checksum(x[held_out]) for _, held_out in splits]})
    log = ProgressLog(run_dir) if run_dir is not None else None

    def persist():
        if run_dir is not None:
            save_results(run_dir, results)

    persist()
    try:
        for arch in config.archs:
            for fold, (train_index, held_out) in enumerate(splits, start=1):
                if should_stop():
                    results.state = RunState.STOPPED
                    return results
                if log is not None:
                    log.write("fold_start", arch=arch, fold=fold, folds=config.folds)
                started = time.perf_counter()
                outcome = train(
                    config.fold_config(arch), data, run_dir=run_dir, should_stop=should_stop, verbose=verbose,
                    progress_context={"arch": arch, "fold": fold},
                    x_train=x[train_index], y_train=y[train_index], x_val=x[held_out], y_val=y[held_out],
                    evaluate_test=False,
                )
                if outcome.stopped:
                    results.state = RunState.STOPPED
                    return results
                # The finished model (batch norm measured, not averaged) on the held-out fold.
                result = FoldResult(
                    fold=fold,
                    accuracy=outcome.check_accuracy,
                    loss=outcome.check_loss,
                    seconds=round(time.perf_counter() - started, 2),
                    epochs=outcome.epochs_done,
                    history=outcome.history,
                )
                results.archs[arch].append(result)
                persist()
                if log is not None:
                    log.write("fold_end", arch=arch, fold=fold, accuracy=result.accuracy, seconds=result.seconds)
                if on_fold is not None:
                    on_fold(arch, result)
        results.state = RunState.FINISHED
        return results
    except BaseException:
        results.state = RunState.FAILED
        raise
    finally:
        persist()
        if log is not None:
            log.close()


def fold_rows(results: CVResults, **first_columns: Any) -> list[dict[str, Any]]:
    """One row per architecture and finished fold, after ``first_columns``: the
    architecture, the fold (from 1), its held-out images, accuracy and loss on them,
    epochs trained and seconds taken."""
    return [{**first_columns, "architecture": arch, "fold": f.fold,
             "held_out_images": results.fold_sizes[f.fold - 1] if f.fold <= len(results.fold_sizes) else None,
             "accuracy": f.accuracy, "loss": f.loss, "epochs": f.epochs, "seconds": f.seconds}
            for arch, folds in results.archs.items() for f in folds]


def fold_epoch_rows(results: CVResults, **first_columns: Any) -> list[dict[str, Any]]:
    """Every finished fold's per-epoch history, one row per architecture, fold and
    epoch (``val_`` metrics are on the held-out fold)."""
    from mnist_core.tables import epoch_rows

    return [row for arch, folds in results.archs.items() for f in folds
            for row in epoch_rows(f.history, **first_columns, architecture=arch, fold=f.fold)]
