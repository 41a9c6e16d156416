"""The shipped default model: present, documented, and at least 99.0% on the real MNIST test set."""

from __future__ import annotations

import numpy as np
import pytest

from mnist_core.data import file_sha256
from mnist_core.models import store
from mnist_core.reading.inference import predict_probabilities
from tests.conftest import SHIPPED_ARTIFACTS, run_cli

SHIPPED_MODELS = SHIPPED_ARTIFACTS / "models"


@pytest.fixture(scope="module")
def default_name() -> str:
    name = store.default_model_name(SHIPPED_MODELS)
    assert name is not None, "no default model is shipped under artifacts/models"
    return name


def test_default_model_is_recorded_with_how_it_was_trained(default_name):
    metadata = store.read_metadata(default_name, SHIPPED_MODELS)
    assert metadata["command"].startswith("python -m mnist_core train ")
    assert f"--arch {metadata['arch']}" in metadata["command"]
    assert metadata["n_train"] + metadata["n_val"] == 60000 and metadata["config"]["subset"] is None
    assert metadata["data"]["sha256"]
    assert metadata["model_sha256"] == file_sha256(SHIPPED_MODELS / f"{default_name}.keras")


@pytest.mark.slow
def test_default_model_scores_at_least_99_percent(default_name, mnist):
    model = store.load_model(default_name, SHIPPED_MODELS)
    predictions = predict_probabilities(model, mnist.x_test).argmax(axis=1)
    accuracy = float(np.mean(predictions == mnist.y_test))
    assert accuracy >= 0.990
    recorded = store.read_metadata(default_name, SHIPPED_MODELS)["test_accuracy"]
    assert accuracy == pytest.approx(recorded, abs=1e-4)


@pytest.mark.slow
def test_cli_evaluate_shows_it(mnist_path, monkeypatch):
    monkeypatch.delenv("MNIST_STUDIO_ARTIFACTS")
    result = run_cli("evaluate", "--data", str(mnist_path))
    assert result.returncode == 0, result.stderr
    percent = float(result.stdout.split("test accuracy: ")[1].split("%")[0])
    assert percent >= 99.0


@pytest.mark.slow
def test_the_accuracy_record_reads_as_benchmarks_md_says(mnist):
    """The shipped record model, and the looks chosen for it, give the test accuracy
    bench.accuracy_record recorded (and BENCHMARKS.md shows), trained within 30 minutes."""
    import json

    from mnist_core.models.test_time import averaged_probabilities
    from tests.conftest import REPO_ROOT

    result = json.loads((REPO_ROOT / "bench" / "results" / "accuracy_record.json").read_text())
    metadata = store.read_metadata(result["model"], SHIPPED_MODELS)
    assert metadata["arch"] == "record_cnn" and metadata["command"] == result["trained_by"]
    assert metadata["train_seconds"] == result["train_seconds"] <= 30 * 60
    # A few MB for a repository: its 326,346 weights (1.3 MB), Adam's two slots for each and
    # the optimizer's copy of their average (Keras saves the optimizer's state with the model).
    assert (SHIPPED_MODELS / f"{result['model']}.keras").stat().st_size < 6_000_000
    model = store.load_model(result["model"], SHIPPED_MODELS)
    single = float(np.mean(predict_probabilities(model, mnist.x_test).argmax(axis=1) == mnist.y_test))
    assert single == pytest.approx(result["single"]["test"], abs=1e-4)
    if result["chosen_on"] != result["model"]:
        # Chosen on a twin's validation images: a twin that is shipped, and is one.
        from bench.accuracy_record import check_twin, validation_split

        twin_metadata = store.read_metadata(result["chosen_on"], SHIPPED_MODELS)
        check_twin(metadata, twin_metadata)
        x_val, y_val = validation_split(mnist, twin_metadata["config"])
        twin = store.load_model(result["chosen_on"], SHIPPED_MODELS)
        read = float(np.mean(predict_probabilities(twin, x_val).argmax(axis=1) == y_val))
        assert read == pytest.approx(result["single"]["validation"], abs=1e-4)
    chosen = result["chosen_looks"]
    names = chosen["what"].split(" + ")
    models = [model] + [store.load_model(name, SHIPPED_MODELS) for name in names[1:]]
    looks = averaged_probabilities(models, mnist.x_test, chosen["view"]).argmax(axis=1) == mnist.y_test
    assert float(np.mean(looks)) == pytest.approx(chosen["test"], abs=1e-4)


def test_the_default_reads_pen_digits_of_writers_it_never_saw_as_recorded(default_name):
    """When the default trains on real pen digits, its scorecard's pen figures are the
    writer-fold estimate bench.pen_writers measured for it: every writer read by a
    model of its settings that never saw them, at least 98.5% in both renderings."""
    import json

    from mnist_core.digitsets import RENDERINGS
    from mnist_core.models.robustness import saved_scorecard
    from tests.conftest import REPO_ROOT

    metadata = store.read_metadata(default_name, SHIPPED_MODELS)
    if not metadata.get("pen_writers"):
        pytest.skip(f"{default_name} did not train on pen digits: the scorecard reads every writer")
    result = json.loads((REPO_ROOT / "bench" / "results" / "pen_writers.json").read_text())
    assert result["model"] == default_name and result["settings"] == metadata["config"]
    assert sorted(w for fold in result["folds"] for w in fold["held_out_writers"]) == list(range(1, 31))
    card = saved_scorecard(default_name, SHIPPED_MODELS)
    assert card is not None, "the shipped default has no scorecard for its file"
    assert card["pen_digits"] == result["estimate"]
    assert min(card["pen_digits"][rendering] for rendering in RENDERINGS) >= 0.985
