"""Saved models: save, load, list, delete, atomic writes, names, broken files, the default."""

from __future__ import annotations

import json

import numpy as np
import pytest

from mnist_core import store
from mnist_core.architectures import get_architecture


@pytest.fixture(scope="module")
def small_model():
    return get_architecture("lenet_tanh").build()


def _save(model, name, accuracy=0.5, **kwargs):
    return store.save_model(model, name, {"arch": "lenet_tanh", "test_accuracy": accuracy}, **kwargs)


def test_save_then_load_gives_the_same_predictions(small_model, isolated_artifacts):
    info = _save(small_model, "m1")
    assert info.model_path == isolated_artifacts / "models" / "m1.keras"
    assert info.model_path.is_file() and (isolated_artifacts / "models" / "m1.json").is_file()
    metadata = store.read_metadata("m1")
    assert metadata["schema"] == 1 and metadata["name"] == "m1" and metadata["arch"] == "lenet_tanh"
    assert len(metadata["model_sha256"]) == 64
    loaded = store.load_model("m1")
    x = np.random.default_rng(0).random((3, 28, 28, 1), dtype=np.float32)
    np.testing.assert_allclose(np.asarray(loaded(x)), np.asarray(small_model(x)), rtol=1e-5, atol=1e-6)


def test_load_is_cached_until_the_file_changes(small_model):
    _save(small_model, "cached")
    first = store.load_model("cached")
    assert store.load_model("cached") is first
    _save(small_model, "cached", overwrite=True)
    assert store.load_model("cached") is not first


def test_listing_is_sorted_and_skips_broken_files(small_model, isolated_artifacts):
    _save(small_model, "b-model", accuracy=0.9)
    _save(small_model, "a-model", accuracy=0.8)
    models = isolated_artifacts / "models"
    (models / "broken.keras").write_bytes(b"junk")
    (models / "broken.json").write_text("{not json")
    (models / "orphan.keras").write_bytes(b"no metadata")
    (models / ".tmp-abc.keras").write_bytes(b"half written")
    infos, problems = store.list_models()
    assert [info.name for info in infos] == ["a-model", "b-model"]
    assert infos[0].label == "a-model (80.00%)"
    assert any("broken" in p for p in problems) and any("orphan" in p for p in problems)
    assert not any(".tmp-" in p for p in problems)


def test_corrupt_model_file_gives_a_clear_error(isolated_artifacts):
    models = isolated_artifacts / "models"
    models.mkdir(parents=True, exist_ok=True)
    (models / "bad.keras").write_bytes(b"this is not a keras file")
    (models / "bad.json").write_text(json.dumps({"schema": 1, "name": "bad"}))
    with pytest.raises(store.CorruptModel, match="bad.keras could not be loaded"):
        store.load_model("bad")


def test_missing_model_names_the_saved_ones(small_model):
    _save(small_model, "present")
    with pytest.raises(store.ModelNotFound, match="present"):
        store.load_model("absent")


@pytest.mark.parametrize("name", ["", "../evil", "a/b", "..", ".hidden", "a b", "x" * 65, "name.keras", "é"])
def test_bad_names_are_refused(small_model, name):
    with pytest.raises(store.InvalidModelName):
        _save(small_model, name)
    with pytest.raises(store.InvalidModelName):
        store.load_model(name)


def test_taken_name_is_refused_without_overwrite(small_model):
    _save(small_model, "taken")
    with pytest.raises(store.ModelExists):
        _save(small_model, "taken")


def test_failed_save_leaves_nothing_behind(small_model, isolated_artifacts, monkeypatch):
    models = isolated_artifacts / "models"

    def save_half_then_fail(self, path, *args, **kwargs):
        with open(path, "wb") as handle:
            handle.write(b"half a model")
        raise OSError("disk full")

    monkeypatch.setattr(type(small_model), "save", save_half_then_fail)
    with pytest.raises(OSError, match="disk full"):
        _save(small_model, "never")
    assert list(models.iterdir()) == []


def test_failed_save_keeps_the_previous_version(small_model, isolated_artifacts, monkeypatch):
    _save(small_model, "keep", accuracy=0.7)
    before = (isolated_artifacts / "models" / "keep.keras").read_bytes()
    monkeypatch.setattr(type(small_model), "save", lambda self, path, *a, **k: (_ for _ in ()).throw(OSError("boom")))
    with pytest.raises(OSError):
        _save(small_model, "keep", accuracy=0.9, overwrite=True)
    assert (isolated_artifacts / "models" / "keep.keras").read_bytes() == before
    assert store.read_metadata("keep")["test_accuracy"] == 0.7


def test_delete_removes_both_files(small_model, isolated_artifacts):
    _save(small_model, "gone")
    store.delete_model("gone")
    assert list((isolated_artifacts / "models").iterdir()) == []
    with pytest.raises(store.ModelNotFound):
        store.delete_model("gone")


def test_default_model_is_the_chosen_one_else_the_best(small_model):
    assert store.default_model_name() is None
    with pytest.raises(store.ModelNotFound, match="no saved models"):
        store.resolve_model_name(None)
    _save(small_model, "good", accuracy=0.9)
    _save(small_model, "better", accuracy=0.95)
    assert store.default_model_name() == "better"
    store.set_default_model("good")
    assert store.default_model_name() == "good" == store.resolve_model_name(None)
    store.delete_model("good")
    assert store.default_model_name() == "better"
    with pytest.raises(store.ModelNotFound):
        store.set_default_model("absent")
