"""Saved models under ``artifacts/models/``: NAME.keras plus NAME.json.

NAME.json holds the metadata (architecture, config, history, test accuracy and
loss, training time, date, library versions, the data file's checksum, the
command that trained it). It is written after the model file, so a model is only
listed once both are complete; both are written atomically.

Every listed model has a state, so that nothing the studio holds is silently junk:

- ``ok``: a model to use;
- ``failed``: it reads digits at or near chance (under ``MIN_USEFUL_ACCURACY`` on
  its validation or test images), however it got here: it is listed with a
  warning and never becomes the default;
- ``broken``: its file cannot be loaded (damaged, replaced since it was saved, or
  holding code that Keras' safe mode refuses to run): listed with the reason, never
  offered for reading.

The default model (used by ``predict``, ``evaluate`` and the app when no model is
named) is recorded in ``artifacts/settings.json``.
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
import zipfile
from collections import OrderedDict
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from mnist_core import paths
from mnist_core.fileio import TEMP_PREFIX, FileFormatError, atomic_path, read_json, write_json_atomic

SCHEMA = 1
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")  # used with fullmatch: no trailing newline
NAME_RULE = "1-64 letters, digits, '_' or '-', starting with a letter or digit"
SETTINGS_FILE = "settings.json"
MODEL_SUFFIX = ".keras"
# Caches kept beside a model, computed from it (its test-set evaluation, its feature
# map): deleted and renamed with it. Each is keyed by the model file's checksum too.
CACHE_SUFFIXES = (".eval.npz", ".embedding.npz", ".scorecard.json")

# A model that reads fewer than half of the digits right is not worth keeping:
# chance is 10%, and every architecture here passes 90% within an epoch.
MIN_USEFUL_ACCURACY = 0.5
CHANCE_ACCURACY = 0.1
OK, FAILED, BROKEN = "ok", "failed", "broken"
# A temporary file this old in the models folder belongs to a save that died
# (a save takes seconds): it is removed when a job starts.
STALE_TEMP_SECONDS = 60


class StoreError(Exception):
    """A model could not be saved, found or loaded; the message says which and why."""


class InvalidModelName(StoreError, ValueError):
    pass


class ModelNotFound(StoreError, LookupError):
    pass


class ModelExists(StoreError):
    pass


class CorruptModel(StoreError):
    pass


class UnusableModel(StoreError):
    """A model that may not be made the default (failed or broken)."""


def validate_name(name: str) -> str:
    """Return ``name`` if it is a safe model name, else raise InvalidModelName."""
    if isinstance(name, str) and not name.strip():
        raise InvalidModelName(f"a model name cannot be empty: use {NAME_RULE}")
    if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name):
        raise InvalidModelName(f"invalid model name {name!r}: use {NAME_RULE}")
    return name


def accuracy_problem(accuracy: float | None, measured_on: str) -> str | None:
    """Why a model with this accuracy is not worth using, or None if it is (or the
    accuracy is unknown). ``measured_on`` names the images: "validation", "test"."""
    if accuracy is None or accuracy >= MIN_USEFUL_ACCURACY:
        return None
    return (f"it reads {accuracy:.1%} of its {measured_on} images right, near chance "
            f"({CHANCE_ACCURACY:.0%}); a useful model reads over {MIN_USEFUL_ACCURACY:.0%}")


@dataclass(frozen=True)
class ModelInfo:
    """One saved model as a listing shows it: its files, metadata and state."""

    name: str
    model_path: Path
    metadata: dict[str, Any]
    broken: str | None = None  # why its file cannot be loaded, if it cannot

    @property
    def arch(self) -> str:
        return self.metadata.get("arch", "?")

    @property
    def test_accuracy(self) -> float | None:
        value = self.metadata.get("test_accuracy")
        return float(value) if isinstance(value, (int, float)) else None

    @property
    def failure(self) -> str | None:
        """Why the model is not worth using (at or near chance), or None."""
        if self.metadata.get("state") == FAILED:
            return self.metadata.get("failure") or "it failed the check after training"
        check = self.metadata.get("check") or {}
        return (accuracy_problem(check.get("accuracy"), check.get("split", "validation"))
                or accuracy_problem(self.test_accuracy, "test"))

    @property
    def state(self) -> str:
        """ok, failed or broken (see the module docstring)."""
        if self.broken:
            return BROKEN
        return FAILED if self.failure else OK

    @property
    def usable(self) -> bool:
        """Whether it may be the default: neither failed nor broken."""
        return self.state == OK

    @property
    def reason(self) -> str | None:
        """What is wrong with it, for a failed or broken model."""
        return self.broken or self.failure

    @property
    def state_label(self) -> str:
        """The state as listings write it: "ok", and the others loud ("FAILED", "BROKEN")."""
        return self.state if self.state == OK else self.state.upper()

    @property
    def label(self) -> str:
        """"name (99.12%)" for pickers; a failed model says so."""
        accuracy = self.test_accuracy
        text = f"{self.name} ({accuracy:.2%})" if accuracy is not None else self.name
        return text if self.state == OK else f"{text} · {self.state_label}"

    @property
    def size_bytes(self) -> int:
        try:
            return self.model_path.stat().st_size
        except OSError:
            return 0


def _paths(name: str, models_root: Path | None) -> tuple[Path, Path]:
    root = models_root or paths.models_dir()
    validate_name(name)
    return root / f"{name}{MODEL_SUFFIX}", root / f"{name}.json"


def model_exists(name: str, models_root: Path | None = None) -> bool:
    """Whether a complete model (both files) called ``name`` is saved."""
    model_path, meta_path = _paths(name, models_root)
    return model_path.is_file() and meta_path.is_file()


def save_model(model, name: str, metadata: dict[str, Any], models_root: Path | None = None,
               overwrite: bool = False) -> ModelInfo:
    """Save a Keras model and its metadata atomically; returns its ModelInfo.

    Raises ModelExists if the name is taken and ``overwrite`` is False.
    """
    model_path, meta_path = _paths(name, models_root)
    if not overwrite and (model_path.exists() or meta_path.exists()):
        raise ModelExists(f"a model called {name!r} already exists; choose another name")
    metadata = {"schema": SCHEMA, "name": name, **metadata}
    with atomic_path(model_path) as tmp:
        model.save(tmp)
    metadata["model_sha256"] = _sha256(model_path)
    write_json_atomic(meta_path, metadata)
    return ModelInfo(name, model_path, metadata)


def _sha256(path: Path) -> str:
    from mnist_core.data import file_sha256

    return file_sha256(path)


def read_metadata(name: str, models_root: Path | None = None) -> dict[str, Any]:
    """NAME.json; raises ModelNotFound or CorruptModel."""
    model_path, meta_path = _paths(name, models_root)
    if not model_path.is_file() or not meta_path.is_file():
        raise ModelNotFound(_not_found_message(name, models_root))
    try:
        return read_json(meta_path, schema=SCHEMA)
    except FileFormatError as exc:
        raise CorruptModel(f"model {name!r}: its metadata is unreadable ({exc})") from None


def _not_found_message(name: str, models_root: Path | None) -> str:
    names = [info.name for info in list_models(models_root)[0]]
    available = ", ".join(names) if names else "none yet (train one with: python -m mnist_core train)"
    return f"no saved model called {name!r}; saved models: {available}"


def get_model_info(name: str, models_root: Path | None = None) -> ModelInfo:
    """One saved model with its state; raises ModelNotFound or CorruptModel."""
    model_path, _ = _paths(name, models_root)
    metadata = read_metadata(name, models_root)
    return ModelInfo(name, model_path, metadata, _file_problem(model_path, metadata))


def list_models(models_root: Path | None = None) -> tuple[list[ModelInfo], list[str]]:
    """All models with readable metadata, sorted by name, each with its state (ok,
    failed, broken), and a message per file that is not a model at all (no or
    unreadable metadata). A broken or half-written model never hides the others.
    """
    root = models_root or paths.models_dir()
    infos, problems = [], []
    for model_path in sorted(root.glob(f"*{MODEL_SUFFIX}")):
        name = model_path.stem
        if name.startswith(TEMP_PREFIX) or not NAME_PATTERN.fullmatch(name):
            continue
        meta_path = root / f"{name}.json"
        if not meta_path.is_file():
            problems.append(f"{model_path.name}: no metadata file {meta_path.name}; not listed")
            continue
        try:
            metadata = read_json(meta_path, schema=SCHEMA)
        except FileFormatError as exc:
            problems.append(f"{name}: unreadable metadata ({exc}); not listed")
            continue
        infos.append(ModelInfo(name, model_path, metadata, _file_problem(model_path, metadata)))
    return infos, problems


# --- Is the file a model Keras will load? -----------------------------------------


def _file_problem(model_path: Path, metadata: dict[str, Any]) -> str | None:
    """Why ``model_path`` cannot be loaded, or None: checked without Keras (cheap,
    and cached per file version), plus any load that already failed."""
    try:
        stat = model_path.stat()
    except FileNotFoundError:
        return "its model file is missing"
    version = (str(model_path), stat.st_mtime_ns, stat.st_size)
    return _LOAD_FAILURES.get(version) or _inspect_file(*version, metadata.get("model_sha256"))


# Load failures seen in this process, per file version: a model that Keras refused
# once is listed as broken from then on.
_LOAD_FAILURES: dict[tuple[str, int, int], str] = {}


@lru_cache(maxsize=64)
def _inspect_file(path: str, mtime_ns: int, size: int, expected_sha256: str | None) -> str | None:
    # A .keras file is a zip of config.json (the architecture) and model.weights.h5.
    try:
        with zipfile.ZipFile(path) as archive:
            members = set(archive.namelist())
            if not {"config.json", "model.weights.h5"} <= members:
                return "its file is not a complete Keras model (config or weights missing)"
            config = json.loads(archive.read("config.json"))
    except (zipfile.BadZipFile, json.JSONDecodeError, UnicodeDecodeError, KeyError, OSError):
        return "its file is not a Keras model archive (damaged, truncated or replaced)"
    if expected_sha256 and _sha256(Path(path)) != expected_sha256:
        return "its file has changed since it was saved (the checksum in its metadata does not match)"
    return _unsafe_layer(config)


def _unsafe_layer(config: Any) -> str | None:
    """Why Keras' safe mode would refuse this model config, or None: a Lambda layer
    (arbitrary Python code) or a class from outside Keras."""
    if isinstance(config, dict):
        class_name, module = config.get("class_name"), config.get("module")
        if class_name == "Lambda":
            return ("it contains a Lambda layer (arbitrary Python code), which safe mode "
                    "refuses to run")
        if isinstance(class_name, str) and isinstance(module, str) and not module.startswith("keras"):
            return f"it uses custom code ({module}.{class_name}) that safe mode cannot load"
        children = config.values()
    elif isinstance(config, list):
        children = config
    else:
        return None
    for child in children:
        problem = _unsafe_layer(child)
        if problem:
            return problem
    return None


def model_version(name: str, models_root: Path | None = None) -> tuple[int, int]:
    """(modification time in ns, size) of the model file: changes whenever it is rewritten."""
    model_path, _ = _paths(name, models_root)
    try:
        stat = model_path.stat()
    except FileNotFoundError:
        raise ModelNotFound(_not_found_message(name, models_root)) from None
    return stat.st_mtime_ns, stat.st_size


def load_model(name: str, models_root: Path | None = None):
    """Load a saved model with Keras' ``safe_mode=True``, once per file version.

    Loaded models are kept in this process's one model cache, keyed by the model's
    file and its version (modification time and size): a model replaced under the
    same name is loaded anew, and deleting or renaming one drops it.
    Raises ModelNotFound, or CorruptModel with a message naming the model's file
    and why it cannot be loaded (a broken model is refused before Keras sees it).
    """
    model_path, _ = _paths(name, models_root)
    metadata = read_metadata(name, models_root)  # raises the clear errors for missing/corrupt metadata
    version = model_version(name, models_root)
    cached = _cached_model(model_path, version)
    if cached is not None:
        return cached
    problem = _file_problem(model_path, metadata)
    if problem:
        raise CorruptModel(f"model file {model_path.name} could not be loaded: {problem}")
    import keras

    try:
        model = keras.models.load_model(model_path, compile=False, safe_mode=True)
    except Exception as exc:  # Keras raises many kinds for a damaged file
        reason = f"Keras refused it ({type(exc).__name__}: {exc})"
        _LOAD_FAILURES[(str(model_path), *version)] = reason
        raise CorruptModel(f"model file {model_path.name} could not be loaded: {reason}") from None
    with _CACHE_LOCK:
        _MODEL_CACHE.pop(model_path, None)
        _MODEL_CACHE[model_path] = (version, model)
        while len(_MODEL_CACHE) > MODEL_CACHE_SIZE:
            _MODEL_CACHE.popitem(last=False)  # the least recently loaded
    return model


def loaded_model(name: str, models_root: Path | None = None):
    """The model called ``name`` if this process has loaded its current file version,
    else None (nothing is loaded here)."""
    model_path, _ = _paths(name, models_root)
    try:
        version = model_version(name, models_root)
    except ModelNotFound:
        return None
    return _cached_model(model_path, version)


def _cached_model(model_path: Path, version: tuple[int, int]):
    """The cached model of ``model_path`` if it was loaded from this file version, else None."""
    with _CACHE_LOCK:
        entry = _MODEL_CACHE.get(model_path)
    return entry[1] if entry is not None and entry[0] == version else None


def _forget_loaded(model_path: Path) -> None:
    with _CACHE_LOCK:
        _MODEL_CACHE.pop(model_path, None)


# The one cache of loaded models in a process (the app's sessions share it): model
# file -> ((mtime_ns, size), Keras model). A few models' worth; each is a few MB.
MODEL_CACHE_SIZE = 8
_MODEL_CACHE: OrderedDict[Path, tuple[tuple[int, int], Any]] = OrderedDict()
_CACHE_LOCK = threading.Lock()


def delete_model(name: str, models_root: Path | None = None) -> str | None:
    """Delete both files of a model (and its evaluation cache); ModelNotFound if absent.

    Deleting the default model makes the best remaining usable model the default;
    returns the default model's name afterwards (None when no usable model is left).
    """
    model_path, meta_path = _paths(name, models_root)
    if not model_path.exists() and not meta_path.exists():
        raise ModelNotFound(_not_found_message(name, models_root))
    was_default = default_model_name(models_root) == name
    _forget_loaded(model_path)
    # Metadata first: a model without it is no longer listed, whatever happens next.
    for path in (meta_path, model_path, *(model_path.with_name(name + suffix) for suffix in CACHE_SUFFIXES)):
        try:
            path.unlink()
        except FileNotFoundError:
            pass
    if was_default:
        _write_settings(models_root, default_model=best_usable_model(models_root))
    return default_model_name(models_root)


def rename_model(old: str, new: str, models_root: Path | None = None) -> ModelInfo:
    """Rename a saved model (its files, its metadata's name, the default setting).

    Raises ModelNotFound, InvalidModelName, or ModelExists if ``new`` is taken. At
    every moment one complete copy is listed, under the old name or the new one.
    """
    old_model, old_meta = _paths(old, models_root)
    new_model, new_meta = _paths(new, models_root)
    metadata = read_metadata(old, models_root)
    if new == old:
        return get_model_info(old, models_root)
    if new_model.exists() or new_meta.exists():
        raise ModelExists(f"a model called {new!r} already exists; choose another name")
    was_default = _read_settings(models_root).get("default_model") == old
    # The new metadata first (unlisted without its model file), then the model file
    # in one atomic rename: from that moment the new name is complete and the old
    # one is not listed (its model file is gone).
    write_json_atomic(new_meta, {**metadata, "name": new, "renamed_from": old})
    os.replace(old_model, new_model)
    _forget_loaded(old_model)
    old_meta.unlink(missing_ok=True)
    for suffix in CACHE_SUFFIXES:
        old_cache = old_model.with_name(old + suffix)
        if old_cache.exists():
            os.replace(old_cache, new_model.with_name(new + suffix))
    if was_default:
        _write_settings(models_root, default_model=new)
    return get_model_info(new, models_root)


def remove_stale_temp_files(models_root: Path | None = None, older_than: float = STALE_TEMP_SECONDS) -> list[str]:
    """Remove temporary files left in the models folder by saves that died (a kill
    mid-save); returns their names. Only files older than ``older_than`` seconds
    go, so a save running right now keeps its file."""
    root = models_root or paths.models_dir()
    removed = []
    for path in root.glob(f"{TEMP_PREFIX}*"):
        try:
            if time.time() - path.stat().st_mtime > older_than:
                path.unlink()
                removed.append(path.name)
        except FileNotFoundError:
            continue
    return removed


# --- The default model ------------------------------------------------------------


def _settings_path(models_root: Path | None) -> Path:
    root = models_root or paths.models_dir()
    return root.parent / SETTINGS_FILE


def _read_settings(models_root: Path | None) -> dict[str, Any]:
    try:
        return read_json(_settings_path(models_root), schema=SCHEMA)
    except (FileNotFoundError, FileFormatError):
        return {"schema": SCHEMA}


def _write_settings(models_root: Path | None, **fields: Any) -> None:
    settings = _read_settings(models_root)
    settings.update(fields)
    write_json_atomic(_settings_path(models_root), settings)


def best_usable_model(models_root: Path | None = None, excluding: str | None = None) -> str | None:
    """The usable model (neither failed nor broken) with the best test accuracy, other
    than ``excluding``; None if there is none. What becomes the default when the
    default is deleted."""
    return _best_usable(list_models(models_root)[0], excluding)


def _best_usable(infos: list[ModelInfo], excluding: str | None = None) -> str | None:
    usable = [info for info in infos if info.usable and info.name != excluding]
    ranked = sorted(usable, key=lambda info: info.test_accuracy or 0.0, reverse=True)
    return ranked[0].name if ranked else None


def default_model_name(models_root: Path | None = None) -> str | None:
    """The default model's name: the one set in settings.json if it is still saved and
    usable, else the usable model with the best test accuracy, else None. A failed or
    broken model is never the default."""
    chosen = _read_settings(models_root).get("default_model")
    infos, _ = list_models(models_root)
    if any(info.name == chosen and info.usable for info in infos):
        return chosen
    return _best_usable(infos)


def set_default_model(name: str, models_root: Path | None = None) -> None:
    """Make ``name`` the default model; ModelNotFound if it is not saved, UnusableModel
    if it is failed or broken."""
    info = get_model_info(name, models_root)
    if not info.usable:
        raise UnusableModel(f"{name} cannot be the default model: {info.reason}")
    _write_settings(models_root, default_model=name)


def resolve_model_name(name: str | None, models_root: Path | None = None) -> str:
    """``name`` validated, or the default model's name; ModelNotFound if there is none."""
    if name is not None:
        return validate_name(name)
    default = default_model_name(models_root)
    if default is None:
        how = "train one with: python -m mnist_core train --arch NAME"
        if list_models(models_root)[0]:
            raise ModelNotFound(f"no usable saved model (every saved one failed or is broken); {how}")
        raise ModelNotFound(f"no saved models yet; {how}")
    return default


def library_versions() -> dict[str, str]:
    """Versions of the libraries a saved model depends on."""
    import platform
    from importlib import metadata as importlib_metadata

    versions = {"python": platform.python_version()}
    for package in ("keras", "tensorflow", "tensorflow-cpu", "numpy"):
        try:
            versions[package] = importlib_metadata.version(package)
        except importlib_metadata.PackageNotFoundError:
            continue
    return versions

