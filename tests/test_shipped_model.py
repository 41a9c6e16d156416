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
