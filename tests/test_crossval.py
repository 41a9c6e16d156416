"""Cross-validation: the folds, a real run end to end, results on disk, stopping."""

from __future__ import annotations

import json

import numpy as np
import pytest

from mnist_core.jobs import runs
from mnist_core.training.config import CVConfig
from mnist_core.training.crossval import (
    CVResults,
    estimated_seconds,
    fold_indices,
    load_results,
    run_cross_validation,
    save_results,
    summarise,
)
from tests.conftest import run_cli


def test_folds_are_disjoint_cover_everything_and_repeat():
    splits = fold_indices(1000, 5, seed=1)
    held_out = [set(test) for _, test in splits]
    assert all(len(part) == 200 for part in held_out)
    assert set().union(*held_out) == set(range(1000))
    assert all(a.isdisjoint(b) for i, a in enumerate(held_out) for b in held_out[i + 1:])
    for train, test in splits:
        assert set(train).isdisjoint(test) and len(train) + len(test) == 1000
    again = fold_indices(1000, 5, seed=1)
    assert all(np.array_equal(a[1], b[1]) for a, b in zip(splits, again, strict=True))
    other = fold_indices(1000, 5, seed=2)
    assert not all(np.array_equal(a[1], b[1]) for a, b in zip(splits, other, strict=True))


def test_a_tiny_run_end_to_end_through_the_cli(tiny_npz, isolated_artifacts):
    result = run_cli("cv", "--arch", "baseline_cnn", "--arch", "lenet_tanh", "--folds", "3", "--epochs", "2",
                     "--subset", "450", "--data", str(tiny_npz))
    assert result.returncode == 0, result.stderr
    assert "baseline_cnn: " in result.stdout and "lenet_tanh: " in result.stdout
    (run,) = runs.list_runs(kind="cv")
    assert run.status["state"] == "finished"
    results = load_results(run.path)
    assert results.state == "finished" and results.fold_sizes == [150, 150, 150]
    for name in ("baseline_cnn", "lenet_tanh"):
        folds = results.archs[name]
        assert [f.fold for f in folds] == [1, 2, 3]
        for fold in folds:
            # The synthetic digits are easy (every architecture passes 75% in one epoch; chance is 10%).
            assert fold.accuracy > 0.5 and fold.seconds > 0 and fold.epochs == 2
            assert len(fold.history["val_accuracy"]) == 2
            assert fold.accuracy == pytest.approx(fold.history["val_accuracy"][-1])
    # Both architectures saw the same folds.
    checksums = results.data["fold_checksums"]
    assert len(set(checksums)) == 3
    summary = {row.arch: row for row in summarise(results)}
    assert summary["baseline_cnn"].n == 3
    accuracies = [f.accuracy for f in results.archs["baseline_cnn"]]
    assert summary["baseline_cnn"].mean == pytest.approx(np.mean(accuracies))
    assert summary["baseline_cnn"].std == pytest.approx(np.std(accuracies))
    events = runs.read_progress(run.path)
    assert sum(e["event"] == "fold_end" for e in events) == 6
    assert {e.get("arch") for e in events if e["event"] == "epoch"} == {"baseline_cnn", "lenet_tanh"}


def test_reruns_with_the_same_seed_use_the_same_folds(tiny_data):
    config = CVConfig(archs=("lenet_tanh",), folds=2, epochs=1, batch_size=20, subset=200, seed=3)
    first = run_cross_validation(config, tiny_data)
    second = run_cross_validation(config, tiny_data)
    assert first.data["fold_checksums"] == second.data["fold_checksums"]
    other = run_cross_validation(
        CVConfig(archs=("lenet_tanh",), folds=2, epochs=1, batch_size=20, subset=200, seed=4), tiny_data)
    assert other.data["fold_checksums"] != first.data["fold_checksums"]


def test_results_file_round_trip(tiny_data, tmp_path):
    config = CVConfig(archs=("lenet_tanh",), folds=2, epochs=1, batch_size=20, subset=200)
    results = run_cross_validation(config, tiny_data, run_dir=tmp_path)
    on_disk = json.loads((tmp_path / "cv_results.json").read_text())
    assert on_disk["schema"] == 1 and on_disk["state"] == "finished"
    loaded = load_results(tmp_path)
    assert loaded.to_dict() == results.to_dict()
    save_results(tmp_path, loaded)
    assert load_results(tmp_path).to_dict() == results.to_dict()
    (tmp_path / "cv_results.json").write_text("{broken")
    assert load_results(tmp_path) is None


def test_a_stopped_run_keeps_its_finished_folds(tiny_data, tmp_path):
    finished = []
    config = CVConfig(archs=("baseline_cnn", "lenet_tanh"), folds=3, epochs=2, batch_size=10, subset=300)
    results = run_cross_validation(config, tiny_data, run_dir=tmp_path,
                                   should_stop=lambda: len(finished) >= 2,
                                   on_fold=lambda arch, fold: finished.append((arch, fold.fold)))
    assert results.state == "stopped"
    assert [f.fold for f in results.archs["baseline_cnn"]] == [1, 2]
    assert results.archs["lenet_tanh"] == []
    kept = load_results(tmp_path)
    assert kept.state == "stopped" and len(kept.archs["baseline_cnn"]) == 2
    assert [row.arch for row in summarise(kept)] == ["baseline_cnn"]


@pytest.mark.parametrize(
    "config, message",
    [
        (CVConfig(archs=()), "at least one architecture"),
        (CVConfig(archs=("resnet",)), "unknown architecture"),
        (CVConfig(archs=("mlp", "mlp")), "listed twice"),
        (CVConfig(archs=("mlp",), folds=1), "folds must be"),
        (CVConfig(archs=("mlp",), subset=50), "training-set size"),
        (CVConfig(archs=("mlp",), epochs=0), "epochs must be"),
        (CVConfig(archs=("mlp",), batch_size=100000), "batch size must be"),
    ],
)
def test_bad_configs_are_refused(config, message):
    assert any(message in problem for problem in config.problems())


def test_cli_refuses_a_bad_config():
    result = run_cli("cv", "--arch", "mlp", "--folds", "1")
    assert result.returncode == 2 and "folds must be" in result.stderr


def test_summary_of_a_results_dict_without_folds_is_empty():
    results = CVResults(CVConfig(archs=("mlp",)), [], {"mlp": []})
    assert summarise(results) == []


def test_the_shipped_reference_run_is_complete():
    """artifacts/runs holds the tutorial's protocol, run here, for the Compare page and BENCHMARKS.md."""
    from tests.conftest import SHIPPED_ARTIFACTS

    shipped = [run for run in runs.list_runs(SHIPPED_ARTIFACTS / "runs", kind="cv")
               if run.config.get("epochs") == 10 and run.config.get("batch_size") == 32]
    assert shipped, "the reference cross-validation run is not shipped"
    results = load_results(shipped[0].path)
    assert results.state == "finished" and results.config.folds == 5
    assert set(results.archs) == {"baseline_cnn", "baseline_cnn_bn", "deeper_cnn"}
    assert all(len(folds) == 5 for folds in results.archs.values())
    assert len(set(results.data["fold_checksums"])) == 5 and results.data["images"] == 60000
    for row in summarise(results):
        assert 0.98 < row.mean < 0.995 and row.std < 0.005


def test_the_time_a_comparison_takes_is_estimated_from_the_reference_runs_pace():
    from dataclasses import replace

    from tests.conftest import SHIPPED_ARTIFACTS

    (reference_run,) = [run for run in runs.list_runs(SHIPPED_ARTIFACTS / "runs", kind="cv")
                        if run.config.get("epochs") == 10 and run.config.get("batch_size") == 32]
    reference = load_results(reference_run.path)
    # Its own settings: exactly the time it took.
    took = sum(f.seconds for folds in reference.archs.values() for f in folds)
    assert estimated_seconds(reference.config, reference) == pytest.approx(took)
    # Twice the epochs, or three folds of a tenth of the images: in proportion to the images trained on.
    one = replace(reference.config, archs=("deeper_cnn",))
    alone = estimated_seconds(one, reference)
    assert alone == pytest.approx(sum(f.seconds for f in reference.archs["deeper_cnn"]))
    assert estimated_seconds(replace(one, epochs=20), reference) == pytest.approx(2 * alone)
    small = replace(one, subset=6000, folds=3)
    assert estimated_seconds(small, reference) == pytest.approx(alone * (3 * 4000) / (5 * 48000))
    # An architecture the reference never trained: no estimate.
    assert estimated_seconds(replace(one, archs=("deeper_cnn", "mlp")), reference) is None
