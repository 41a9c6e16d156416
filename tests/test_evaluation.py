"""Evaluation of a saved model: counts, the confusion matrix, the mistakes, the cache."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from mnist_core.models import evaluation as evaluation_module
from mnist_core.models import store
from mnist_core.models.evaluation import evaluate_saved_model
from mnist_core.training.config import TrainConfig
from mnist_core.training.fit import train
from tests.conftest import run_cli


@pytest.fixture(scope="module")
def weak_model():
    """An untrained model: right about one time in ten, so there are mistakes of every kind."""
    import keras

    from mnist_core.models.architectures import get_architecture

    keras.utils.set_random_seed(5)
    return get_architecture("lenet_tanh").build()


@pytest.fixture
def saved(weak_model):
    store.save_model(weak_model, "weak", {"arch": "lenet_tanh", "test_accuracy": None})
    evaluation_module._MEMORY.clear()
    return "weak"


def test_counts_confusion_and_mistakes_agree(saved, tiny_data, weak_model):
    result = evaluate_saved_model(saved, tiny_data)
    n = len(tiny_data.y_test)
    assert result.probabilities.shape == (n, 10)
    expected = np.asarray(weak_model(tiny_data.x_test[..., None].astype("float32") / 255)).argmax(axis=1)
    np.testing.assert_array_equal(result.predictions, expected)
    assert result.confusion.sum() == n
    for true in range(10):
        for predicted in range(10):
            assert result.confusion[true, predicted] == np.sum((tiny_data.y_test == true) & (expected == predicted))
    np.testing.assert_array_equal(result.mistake_indices, np.flatnonzero(expected != tiny_data.y_test))
    assert len(result.mistake_indices) == n - np.trace(result.confusion)
    assert result.accuracy == pytest.approx(np.trace(result.confusion) / n)
    for row in result.per_class:
        digit = row["digit"]
        assert row["support"] == np.sum(tiny_data.y_test == digit)
        assert row["recall"] == pytest.approx(result.confusion[digit, digit] / max(1, row["support"]))
        column = result.confusion[:, digit].sum()
        assert row["precision"] == pytest.approx(result.confusion[digit, digit] / column if column else 0.0)


def test_filters_and_order(saved, tiny_data):
    result = evaluate_saved_model(saved, tiny_data)
    assert len(result.mistake_indices) > 0
    by_confidence = result.mistakes(order="confidence")
    assert sorted(by_confidence.tolist()) == result.mistake_indices.tolist()
    assert np.all(np.diff(result.confidence[by_confidence]) <= 0)
    assert result.mistakes(order="index").tolist() == sorted(result.mistake_indices.tolist())
    true_digit = int(tiny_data.y_test[result.mistake_indices[0]])
    some = result.mistakes(true_digit=true_digit)
    assert len(some) == result.confusion[true_digit].sum() - result.confusion[true_digit, true_digit]
    assert np.all(tiny_data.y_test[some] == true_digit)
    predicted = int(result.predictions[some[0]])
    pair = result.mistakes(true_digit=true_digit, predicted_digit=predicted)
    assert len(pair) == result.confusion[true_digit, predicted]
    with pytest.raises(ValueError):
        result.mistakes(order="random")


def test_second_evaluation_comes_from_the_cache(saved, tiny_data, isolated_artifacts):
    first = evaluate_saved_model(saved, tiny_data)
    assert not first.from_cache
    assert (isolated_artifacts / "models" / "weak.eval.npz").is_file()
    assert evaluate_saved_model(saved, tiny_data) is first  # memory
    evaluation_module._MEMORY.clear()
    again = evaluate_saved_model(saved, tiny_data)  # disk
    assert again.from_cache
    np.testing.assert_array_equal(again.probabilities, first.probabilities)
    assert "weak" not in [p for p in store.list_models()[1]]  # the cache file is not taken for a model


def test_a_changed_model_file_is_evaluated_again(saved, tiny_data):
    first = evaluate_saved_model(saved, tiny_data)
    retrained = train(TrainConfig(arch="lenet_tanh", epochs=2, batch_size=50, subset=300, seed=9), tiny_data).model
    store.save_model(retrained, "weak", {"arch": "lenet_tanh", "test_accuracy": None}, overwrite=True)
    second = evaluate_saved_model(saved, tiny_data)
    assert not second.from_cache and second.model_sha256 != first.model_sha256
    assert not np.array_equal(second.probabilities, first.probabilities)


def test_deleting_the_model_deletes_its_cache(saved, tiny_data, isolated_artifacts):
    evaluate_saved_model(saved, tiny_data)
    store.delete_model(saved)
    assert not any((isolated_artifacts / "models").glob("weak*"))


def test_cli_evaluate_json(saved, tiny_npz, tiny_data):
    result = run_cli("evaluate", "--model", saved, "--data", str(tiny_npz), "--json",
                     env={"MNIST_STUDIO_ARTIFACTS": os.environ["MNIST_STUDIO_ARTIFACTS"]})
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["model"] == "weak" and summary["test_images"] == len(tiny_data.y_test)
    assert np.asarray(summary["confusion_matrix"]).sum() == len(tiny_data.y_test)
    assert summary["mistakes"] == len(summary["misclassified"])
    first = summary["misclassified"][0]
    assert {"index", "true", "predicted", "confidence"} <= set(first) and first["true"] != first["predicted"]
    assert len(summary["per_class"]) == 10
