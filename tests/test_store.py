"""Saved models: save, load, list, delete, atomic writes, names, broken files, the default."""

from __future__ import annotations

import json

import numpy as np
import pytest

from mnist_core.models import store
from mnist_core.models.architectures import get_architecture


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


# --- States: ok, failed, broken -------------------------------------------------


def test_a_model_near_chance_is_failed_never_the_default(small_model):
    _save(small_model, "useful", accuracy=0.9)
    _save(small_model, "junk", accuracy=0.1135)
    by_name = {info.name: info for info in store.list_models()[0]}
    assert by_name["useful"].state == "ok"
    assert by_name["junk"].state == "failed"
    assert "11.3% of its test images" in by_name["junk"].reason and "chance" in by_name["junk"].reason
    assert by_name["junk"].label == "junk (11.35%) · FAILED"
    with pytest.raises(store.UnusableModel, match="junk cannot be the default model"):
        store.set_default_model("junk")
    store.delete_model("useful")
    assert store.default_model_name() is None  # the failed one is not taken instead
    with pytest.raises(store.ModelNotFound, match="every saved one failed"):
        store.resolve_model_name(None)


def test_a_model_marked_failed_by_its_training_is_failed(small_model):
    store.save_model(small_model, "marked", {"arch": "lenet_tanh", "test_accuracy": 0.6, "state": "failed",
                                             "failure": "it reads 12.0% of its validation images right"})
    (info,) = store.list_models()[0]
    assert info.state == "failed" and info.reason.startswith("it reads 12.0%")


def test_random_bytes_beside_valid_metadata_are_listed_as_broken(small_model, isolated_artifacts):
    _save(small_model, "good", accuracy=0.9)
    _save(small_model, "replaced", accuracy=0.99)
    (isolated_artifacts / "models" / "replaced.keras").write_bytes(np.random.default_rng(0).bytes(5000))
    by_name = {info.name: info for info in store.list_models()[0]}
    assert by_name["replaced"].state == "broken"
    assert "not a Keras model archive" in by_name["replaced"].reason
    assert store.default_model_name() == "good"  # the better accuracy of a broken file counts for nothing
    with pytest.raises(store.CorruptModel, match="replaced.keras could not be loaded: its file is not a Keras"):
        store.load_model("replaced")


def test_a_file_swapped_for_another_model_is_broken(small_model, isolated_artifacts):
    _save(small_model, "original", accuracy=0.9)
    other = get_architecture("mlp").build()
    other.save(isolated_artifacts / "models" / "original.keras")  # a valid Keras file, but not the one saved
    (info,) = store.list_models()[0]
    assert info.state == "broken" and "checksum" in info.reason


def test_a_lambda_layer_is_broken_and_never_run(isolated_artifacts):
    import keras

    ran = []

    def spy(x):
        ran.append(1)
        return x * 1.0

    inputs = keras.Input((28, 28, 1))
    outputs = keras.layers.Dense(10, activation="softmax")(keras.layers.Flatten()(keras.layers.Lambda(spy)(inputs)))
    ran.clear()
    store.save_model(keras.Model(inputs, outputs), "sneaky", {"arch": "custom", "test_accuracy": 0.9})
    ran.clear()
    (info,) = store.list_models()[0]
    assert info.state == "broken" and "Lambda layer" in info.reason
    with pytest.raises(store.CorruptModel, match="Lambda layer"):
        store.load_model("sneaky")
    assert ran == []


def test_a_load_failure_marks_the_model_broken(small_model, isolated_artifacts, monkeypatch):
    import keras

    _save(small_model, "refused", accuracy=0.9)

    def refuse(*args, **kwargs):
        raise ValueError("unknown layer")

    monkeypatch.setattr(keras.models, "load_model", refuse)
    with pytest.raises(store.CorruptModel, match="Keras refused it"):
        store.load_model("refused")
    (info,) = store.list_models()[0]
    assert info.state == "broken" and "unknown layer" in info.reason


def test_the_shipped_models_are_all_ok():
    from tests.conftest import SHIPPED_ARTIFACTS

    infos, problems = store.list_models(SHIPPED_ARTIFACTS / "models")
    assert problems == []
    assert [info.state for info in infos] == ["ok"] * len(infos)


# --- Names, rename, delete, temporary files ---------------------------------------


@pytest.mark.parametrize("name", ["tail\n", "a\nb", " ", "\n"])
def test_names_with_newlines_or_only_spaces_are_refused(name):
    with pytest.raises(store.InvalidModelName):
        store.validate_name(name)


def test_an_empty_name_says_it_is_empty():
    with pytest.raises(store.InvalidModelName, match="cannot be empty"):
        store.validate_name("")


def test_rename_moves_files_cache_and_default(small_model, isolated_artifacts):
    models = isolated_artifacts / "models"
    _save(small_model, "old", accuracy=0.9)
    _save(small_model, "other", accuracy=0.95)
    (models / "old.eval.npz").write_bytes(b"cache")
    store.set_default_model("old")
    info = store.rename_model("old", "new")
    assert info.name == "new" and info.state == "ok"
    assert sorted(path.name for path in models.iterdir()) == [
        "new.eval.npz", "new.json", "new.keras", "other.json", "other.keras"]
    assert store.read_metadata("new")["name"] == "new"
    assert store.read_metadata("new")["renamed_from"] == "old"
    assert store.default_model_name() == "new"
    with pytest.raises(store.ModelExists):
        store.rename_model("new", "other")
    with pytest.raises(store.InvalidModelName):
        store.rename_model("new", "../x")
    with pytest.raises(store.ModelNotFound):
        store.rename_model("old", "again")


def test_deleting_the_default_makes_the_best_remaining_usable_model_the_default(small_model):
    _save(small_model, "chosen", accuracy=0.9)
    _save(small_model, "second", accuracy=0.95)
    _save(small_model, "third", accuracy=0.93)
    _save(small_model, "junk", accuracy=0.2)
    store.set_default_model("chosen")
    assert store.delete_model("chosen") == "second"
    assert store._read_settings(None)["default_model"] == "second"


def test_stale_temporary_files_are_removed_but_fresh_ones_kept(isolated_artifacts):
    import os
    import time

    models = isolated_artifacts / "models"
    models.mkdir(parents=True)
    stale, fresh = models / ".tmp-dead.keras", models / ".tmp-saving.keras"
    stale.write_bytes(b"half")
    fresh.write_bytes(b"half")
    an_hour_ago = time.time() - 3600
    os.utime(stale, (an_hour_ago, an_hour_ago))
    assert store.remove_stale_temp_files() == [".tmp-dead.keras"]
    assert not stale.exists() and fresh.exists()


def test_the_one_model_cache_drops_a_deleted_renamed_or_replaced_model(small_model):
    _save(small_model, "kept")
    assert store.loaded_model("kept") is None  # nothing loaded yet
    first = store.load_model("kept")
    assert store.loaded_model("kept") is first
    _save(get_architecture("mlp").build(), "kept", overwrite=True)  # replaced under the same name
    assert store.loaded_model("kept") is None
    second = store.load_model("kept")
    assert second is not first and second.count_params() == get_architecture("mlp").params
    store.rename_model("kept", "moved")
    assert store.loaded_model("moved") is None and store.loaded_model("kept") is None
    store.load_model("moved")
    store.delete_model("moved")
    assert store.loaded_model("moved") is None
    assert all(path.stem != "moved" for path in store._MODEL_CACHE)
