"""Models trained elsewhere, into the store: the four ways the classic Keras MNIST
tutorials save them, checked, adapted and measured.

- ``model.save("final_model.h5")`` or a ``ModelCheckpoint`` ``.h5``: a whole model
  in legacy HDF5;
- ``model.to_json()`` in ``model.json`` plus ``model.save_weights("model.h5")``:
  architecture and weights in two files;
- ``model.save("model.keras")``: the Keras 3 format.

``import_model(paths, name)`` reads the file(s) with Keras' safe mode after
looking at the architecture first (a Lambda layer or a class from outside Keras
is refused without running anything), accepts inputs of (28, 28, 1), (28, 28) or
784 values in [0, 1] (a Reshape in front adapts what the studio feeds), wants ten
outputs (logits get a Softmax after them), measures the MNIST test accuracy, and
saves the adapted model atomically under ``name`` with where it came from. Anything
it cannot take raises ``ImportRefused`` with what it found and what it expects; the
store is left unchanged. ``export_model`` writes a saved model as ``.keras`` or
legacy ``.h5``.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from mnist_core.models import store

MAX_IMPORT_MB = 100  # per file; the tutorials' models are well under 10 MB
INPUT_SHAPES = {(28, 28, 1): "28 x 28 x 1 images", (28, 28): "28 x 28 images", (784,): "784 values (a flattened image)"}
EXPECTED_INPUTS = "(28, 28, 1), (28, 28) or (784,)"
WEIGHTS_SUFFIXES = (".h5", ".hdf5")
ARCH = "imported"


class ImportRefused(store.StoreError, ValueError):
    """A file (or pair) that cannot be imported; the message says why and what would do."""


@dataclass(frozen=True)
class ReadModel:
    """A model read from its file(s), before it is adapted."""

    model: Any
    source_format: str  # "keras", "h5" or "json+h5"
    files: tuple[str, ...]


def _refuse_if_unusable(path: Path) -> None:
    if not path.is_file():
        raise ImportRefused(f"{path.name}: no such file")
    size_mb = path.stat().st_size / 2**20
    if size_mb > MAX_IMPORT_MB:
        raise ImportRefused(f"{path.name} is {size_mb:.0f} MB; files up to {MAX_IMPORT_MB} MB can be imported")
    if path.stat().st_size == 0:
        raise ImportRefused(f"{path.name} is empty")


def _refuse_if_unsafe(config: Any, path: Path) -> None:
    problem = store._unsafe_layer(config)
    if problem:
        raise ImportRefused(f"{path.name} was not imported: {problem}. Nothing in it was run")


def _h5_model_config(path: Path) -> dict | None:
    """The architecture stored in a legacy HDF5 file (None for a weights-only file);
    raises ImportRefused for a file that is not HDF5."""
    import h5py

    try:
        with h5py.File(path, "r") as handle:
            config = handle.attrs.get("model_config")
    except OSError:
        raise ImportRefused(f"{path.name} is not an HDF5 file (damaged, truncated, or not a Keras model)") from None
    if config is None:
        return None
    try:
        return json.loads(config.decode() if isinstance(config, bytes) else config)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise ImportRefused(f"{path.name} holds an architecture that is not readable JSON") from None


def _keras_config(path: Path) -> dict:
    try:
        with zipfile.ZipFile(path) as archive:
            return json.loads(archive.read("config.json"))
    except (zipfile.BadZipFile, KeyError, json.JSONDecodeError, UnicodeDecodeError, OSError):
        raise ImportRefused(f"{path.name} is not a Keras model archive (damaged, truncated, or not a .keras "
                            "file)") from None


def _keras_error(path: Path, error: Exception) -> ImportRefused:
    text = str(error).split("\n")[0][:300]
    return ImportRefused(f"Keras could not load {path.name}: {type(error).__name__}: {text}")


def read_model_files(paths: list[str | Path]) -> ReadModel:
    """Read a model from one file (.keras, or a whole-model .h5) or a pair (the
    architecture's .json and the weights' .h5). Raises ImportRefused."""
    import keras

    paths = [Path(p) for p in paths]
    if not 1 <= len(paths) <= 2:
        raise ImportRefused(f"give one model file, or a .json and its weights (.h5); got {len(paths)} files")
    for path in paths:
        _refuse_if_unusable(path)
    files = tuple(path.name for path in paths)
    if len(paths) == 2:
        jsons = [p for p in paths if p.suffix.lower() == ".json"]
        weights = [p for p in paths if p.name.lower().endswith(WEIGHTS_SUFFIXES)]
        if len(jsons) != 1 or len(weights) != 1:
            raise ImportRefused("a pair must be the architecture (.json) and its weights (.h5); "
                                f"got {', '.join(files)}")
        return ReadModel(_from_json_and_weights(jsons[0], weights[0]), "json+h5", files)
    (path,) = paths
    suffix = path.suffix.lower()
    if suffix == ".json":
        raise ImportRefused(f"{path.name} holds the architecture only: give its weights (the .h5 written by "
                            "model.save_weights) too")
    if suffix == ".keras":
        _refuse_if_unsafe(_keras_config(path), path)
        try:
            return ReadModel(keras.saving.load_model(path, compile=False, safe_mode=True), "keras", files)
        except Exception as error:  # Keras raises many kinds for a damaged file
            raise _keras_error(path, error) from None
    if path.name.lower().endswith(WEIGHTS_SUFFIXES):
        config = _h5_model_config(path)
        if config is None:
            raise ImportRefused(f"{path.name} holds weights only (model.save_weights): give the architecture "
                                "(the .json from model.to_json()) too")
        _refuse_if_unsafe(config, path)
        try:
            return ReadModel(keras.saving.load_model(path, compile=False, safe_mode=True), "h5", files)
        except Exception as error:
            raise _keras_error(path, error) from None
    raise ImportRefused(f"{path.name}: expected a .keras or .h5 file, or a .json with its .h5 weights")


def _from_json_and_weights(json_path: Path, weights_path: Path):
    import keras

    try:
        config = json.loads(json_path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise ImportRefused(f"{json_path.name} is not JSON (expected the text of model.to_json())") from None
    _refuse_if_unsafe(config, json_path)
    try:
        model = keras.models.model_from_json(json.dumps(config))
    except Exception as error:
        raise _keras_error(json_path, error) from None
    _h5_model_config(weights_path)  # refuses what is not HDF5, with a clear message
    with warnings.catch_warnings():  # Keras warns of each layer it skipped; the refusal says it in one line
        warnings.simplefilter("ignore")
        try:
            model.load_weights(weights_path)  # Keras 2's save_weights("model.h5") layout, for a .h5 name
            return model
        except Exception as error:
            problem = str(error).split("\n")[0][:300]
        if not weights_path.name.lower().endswith(".weights.h5"):
            # Keras 3's save_weights layout under another name: Keras picks the reader by the name.
            with tempfile.TemporaryDirectory() as scratch:
                renamed = Path(scratch) / "model.weights.h5"
                shutil.copyfile(weights_path, renamed)
                try:
                    model.load_weights(renamed)
                    return model
                except Exception:
                    pass
    raise ImportRefused(f"the weights in {weights_path.name} do not fit the architecture in {json_path.name}: "
                        f"{problem}")


def _input_shape(model) -> tuple:
    shapes = model.input_shape
    if isinstance(shapes, list):
        if len(shapes) != 1:
            raise ImportRefused(f"the model has {len(shapes)} inputs; a digit model has one, {EXPECTED_INPUTS}")
        shapes = shapes[0]
    return tuple(shapes[1:])


def _ends_in_probabilities(model, probe: np.ndarray) -> bool:
    """Whether the outputs are already probabilities: a softmax as the last step, or
    outputs in [0, 1] that sum to 1 on ``probe`` images."""
    last = model.layers[-1]
    activation = getattr(last, "activation", None)
    if getattr(activation, "__name__", "") == "softmax" or type(last).__name__ == "Softmax":
        return True
    outputs = np.asarray(model(probe, training=False), dtype=np.float64)
    return bool(np.all(outputs >= -1e-6) and np.all(outputs <= 1 + 1e-6)
                and np.allclose(outputs.sum(axis=1), 1.0, atol=1e-3))


def adapt(model, probe: np.ndarray):
    """The model as the studio uses it: input (28, 28, 1) in [0, 1], output ten
    probabilities. Returns (model, notes); raises ImportRefused for inputs or outputs
    that do not fit. ``probe``: a few images as the studio feeds them, to tell
    logits from probabilities."""
    import keras

    shape = _input_shape(model)
    if shape not in INPUT_SHAPES:
        raise ImportRefused(f"the model takes inputs of shape {shape}; MNIST Studio feeds 28 x 28 grey images, "
                            f"so it takes {EXPECTED_INPUTS}")
    outputs = model.output_shape
    if isinstance(outputs, list) or len(outputs) != 2 or outputs[-1] != 10:
        found = f"{len(outputs)} outputs" if isinstance(outputs, list) else f"output shape {tuple(outputs[1:])}"
        raise ImportRefused(f"the model has {found}; a digit model ends in 10 outputs, one per digit")
    reshape = [] if shape == (28, 28, 1) else [keras.layers.Reshape(shape, name="studio_reshape")]
    as_fed = probe.reshape((-1, *shape))
    logits = not _ends_in_probabilities(model, as_fed)
    softmax = [keras.layers.Softmax(name="studio_softmax")] if logits else []
    notes = {"input_shape": list(shape), "logits": logits}
    if isinstance(model, keras.Sequential):
        # Flat, so that every layer is looked inside like a trained model's.
        adapted = keras.Sequential([keras.Input((28, 28, 1)), *reshape, *model.layers, *softmax], name=model.name)
    else:
        inputs = keras.Input((28, 28, 1))
        x = inputs
        for layer in reshape:
            x = layer(x)
        x = model(x)
        for layer in softmax:
            x = layer(x)
        adapted = keras.Model(inputs, x, name=model.name)
    return adapted, notes


MEASURE_BATCH = 500  # test images per step of the measurement (and per progress report)


def import_model(paths: list[str | Path], name: str, data=None, models_root: Path | None = None,
                 set_default: bool = False,
                 on_progress: Callable[[float, str], None] | None = None) -> store.ModelInfo:
    """Import the model in ``paths`` as ``name``: read, adapt, measure on ``data``'s
    test set (MNIST, loaded when not given), save. ``on_progress(fraction, what)`` is
    told how far it is, from 0 to 1, with a sentence. Returns its ModelInfo (its
    state is failed when it reads MNIST near chance). Raises ImportRefused,
    ModelExists, InvalidModelName; nothing is saved then."""
    from mnist_core.data import load_mnist, to_model_input
    from mnist_core.jobs.runs import now_iso
    from mnist_core.models.evaluation import Evaluation
    from mnist_core.reading.inference import predict_probabilities

    report = on_progress or (lambda fraction, what: None)
    store.validate_name(name)
    if store.model_exists(name, models_root):
        raise store.ModelExists(f"a model called {name!r} already exists; choose another name")
    report(0.0, "Checking and loading the file(s)")
    read = read_model_files(paths)
    data = data if data is not None else load_mnist()
    model, notes = adapt(read.model, to_model_input(data.x_test[:64]))
    total, batches = len(data.x_test), []
    for start in range(0, total, MEASURE_BATCH):
        report(0.05 + 0.9 * start / total, f"Reading the MNIST test images: {start:,} of {total:,}")
        batches.append(predict_probabilities(model, data.x_test[start:start + MEASURE_BATCH]))
    probabilities = np.concatenate(batches)
    report(0.95, "Saving")
    evaluation = Evaluation(name, "", probabilities.astype(np.float32), np.asarray(data.y_test, dtype=np.int64))
    metadata = {
        "arch": ARCH,
        "params": int(read.model.count_params()),
        "imported": {"from": list(read.files), "format": read.source_format, **notes, "at": now_iso()},
        "test_accuracy": evaluation.accuracy,
        "test_loss": evaluation.loss,
        "created": now_iso(),
        "versions": store.library_versions(),
        "data": {"source": data.source, "sha256": data.sha256},
        "command": "python -m mnist_core import " + " ".join(read.files) + f" --name {name}",
    }
    info = store.save_model(model, name, metadata, models_root)
    if set_default and info.usable:
        store.set_default_model(name, models_root)
    report(1.0, "Imported")
    return info


def adapter_note(metadata: dict) -> str | None:
    """For an imported model that ``adapt`` changed, what its exported file takes and gives
    that the file imported did not (a sentence); None for any other model."""
    imported = metadata.get("imported")
    if not isinstance(imported, dict):
        return None
    shape, logits = tuple(imported.get("input_shape") or (28, 28, 1)), bool(imported.get("logits"))
    changes = []
    if shape != (28, 28, 1):
        changes.append(f"it takes images of shape (28, 28, 1), where the file imported took {shape} "
                       "(a Reshape in front: give it x[..., None])")
    if logits:
        changes.append("it ends in probabilities, where the file imported ended in logits (a Softmax after them)")
    if not changes:
        return None
    return "It is exported as MNIST Studio reads with it: " + "; ".join(changes) + "."


def export_model(name: str, destination: str | Path, models_root: Path | None = None) -> list[Path]:
    """Write saved model ``name`` to ``destination`` (``.keras``: the file as saved;
    ``.h5``: legacy HDF5, written by Keras), with its metadata beside it
    (``destination`` + ``.json``). Returns the files written."""
    destination = Path(destination)
    info = store.get_model_info(name, models_root)
    suffix = destination.suffix.lower()
    if suffix not in (".keras", ".h5"):
        raise ImportRefused(f"export to a .keras or .h5 file; got {destination.name}")
    if not destination.parent.is_dir():
        raise ImportRefused(f"no such folder: {destination.parent}")
    if suffix == ".keras":
        shutil.copyfile(info.model_path, destination)
    else:
        write_legacy_h5(store.load_model(name, models_root), destination)
    metadata_path = destination.with_name(destination.name + ".json")
    metadata_path.write_text(json.dumps(info.metadata, indent=2))
    return [destination, metadata_path]


def write_legacy_h5(model, destination: Path) -> None:
    """``model.save`` in the legacy HDF5 format (Keras 3 still writes it, with a warning)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.save(destination)


def legacy_h5_bytes(name: str, models_root: Path | None = None) -> bytes:
    """Saved model ``name`` in the legacy HDF5 format, as the bytes of a ``.h5`` file
    (for a download: written to a scratch folder, read back, removed)."""
    model = store.load_model(name, models_root)
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / f"{name}.h5"
        write_legacy_h5(model, path)
        return path.read_bytes()
