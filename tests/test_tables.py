"""The CSV tables a user downloads: a run's per-epoch history and a cross-validation
run's folds read back as the numbers the run recorded."""

from __future__ import annotations

import csv
import io

from mnist_core.tables import csv_text, epoch_rows
from mnist_core.training.config import CVConfig
from mnist_core.training.crossval import CVResults, FoldResult, fold_epoch_rows, fold_rows


def _read(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_a_history_reads_back_one_row_per_epoch_with_every_digit():
    history = {"loss": [0.5, 0.123456789012345], "accuracy": [0.8, 0.9], "val_loss": [0.4, 0.3],
               "val_accuracy": [0.85, 1 / 3]}
    rows = _read(csv_text(epoch_rows(history)))
    assert list(rows[0]) == ["epoch", "loss", "accuracy", "val_loss", "val_accuracy"]
    assert [row["epoch"] for row in rows] == ["1", "2"]
    assert float(rows[1]["loss"]) == 0.123456789012345 and float(rows[1]["val_accuracy"]) == 1 / 3


def test_a_metric_recorded_for_fewer_epochs_leaves_empty_cells():
    rows = _read(csv_text(epoch_rows({"loss": [0.5, 0.4, 0.3], "val_loss": [0.6]})))
    assert [row["val_loss"] for row in rows] == ["0.6", "", ""]
    assert csv_text([]) == "\r\n" and epoch_rows({}) == []


def test_fields_with_commas_and_quotes_are_quoted():
    rows = _read(csv_text([{"settings": 'batch 32, "sgd" 0.01', "n": None}]))
    assert rows == [{"settings": 'batch 32, "sgd" 0.01', "n": ""}]


def test_fold_results_and_their_curves():
    def fold(number, accuracy, val_accuracy):
        return FoldResult(number, accuracy, 0.1, 10.0, 2, {"loss": [0.3, 0.2], "val_accuracy": val_accuracy})

    results = CVResults(
        config=CVConfig(archs=("baseline_cnn", "lenet_tanh"), folds=2, epochs=2), fold_sizes=[300, 299],
        archs={"baseline_cnn": [fold(1, 0.97, [0.9, 0.97]), fold(2, 0.96, [0.91, 0.96])],
               "lenet_tanh": [fold(1, 0.95, [0.9, 0.95])]})
    folds = _read(csv_text(fold_rows(results, run="r1")))
    assert [(row["architecture"], row["fold"], row["held_out_images"]) for row in folds] == [
        ("baseline_cnn", "1", "300"), ("baseline_cnn", "2", "299"), ("lenet_tanh", "1", "300")]
    assert list(folds[0])[:2] == ["run", "architecture"] and float(folds[1]["accuracy"]) == 0.96
    curves = _read(csv_text(fold_epoch_rows(results, run="r1")))
    assert len(curves) == 6 and list(curves[0])[:4] == ["run", "architecture", "fold", "epoch"]
    # The last epoch's held-out accuracy is the fold's score.
    last = [row for row in curves if row["epoch"] == "2"]
    assert [float(row["val_accuracy"]) for row in last] == [0.97, 0.96, 0.95]
