"""Saved models under ``artifacts/models/``: NAME.keras plus NAME.json.

NAME.json holds the metadata (architecture, config, history, test accuracy and
loss, training time, date, library versions, the data file's checksum, the
command that trained it). It is written after the model file, so a model is only
listed once both are complete; both are written atomically.

The default model (used by ``predict``, ``evaluate`` and the app when no model is
named) is recorded in ``artifacts/settings.json``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from mnist_core import paths
from mnist_core.fileio import TEMP_PREFIX, FileFormatError, atomic_path, read_json, write_json_atomic

SCHEMA = 1
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
NAME_RULE = "1-64 letters, digits, '_' or '-', starting with a letter or digit"
SETTINGS_FILE = "settings.json"


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


def validate_name(name: str) -> str:
    """Return ``name`` if it is a safe model name, else raise InvalidModelName."""
    if not isinstance(name, str) or not NAME_PATTERN.match(name):
        raise InvalidModelName(f"invalid model name {name!r}: use {NAME_RULE}")
    return name


@dataclass(frozen=True)
class ModelInfo:
    """One saved model as a listing shows it."""

    name: str
    model_path: Path
    metadata: dict[str, Any]

    @property
    def arch(self) -> str:
        return self.metadata.get("arch", "?")

    @property
    def test_accuracy(self) -> float | None:
        return self.metadata.get("test_accuracy")

    @property
    def label(self) -> str:
        """"name (99.12%)" for pickers."""
        accuracy = self.test_accuracy
        return f"{self.name} ({accuracy:.2%})" if accuracy is not None else self.name


def _paths(name: str, models_root: Path | None) -> tuple[Path, Path]:
    root = models_root or paths.models_dir()
    validate_name(name)
    return root / f"{name}.keras", root / f"{name}.json"


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


def list_models(models_root: Path | None = None) -> tuple[list[ModelInfo], list[str]]:
    """All complete, readable models sorted by name, and a message per broken one.

    A broken or half-written model never hides the others.
    """
    root = models_root or paths.models_dir()
    infos, problems = [], []
    for model_path in sorted(root.glob("*.keras")):
        name = model_path.stem
        if name.startswith(TEMP_PREFIX) or not NAME_PATTERN.match(name):
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
        infos.append(ModelInfo(name, model_path, metadata))
    return infos, problems


def model_version(name: str, models_root: Path | None = None) -> tuple[int, int]:
    """(modification time in ns, size) of the model file: changes whenever it is rewritten."""
    model_path, _ = _paths(name, models_root)
    try:
        stat = model_path.stat()
    except FileNotFoundError:
        raise ModelNotFound(_not_found_message(name, models_root)) from None
    return stat.st_mtime_ns, stat.st_size


def load_model(name: str, models_root: Path | None = None):
    """Load a saved model with Keras' ``safe_mode=True``, cached per file version.

    Raises ModelNotFound or CorruptModel with a message naming the model.
    """
    model_path, _ = _paths(name, models_root)
    read_metadata(name, models_root)  # raises the clear errors for missing/corrupt metadata
    return _load_cached(str(model_path), *model_version(name, models_root))


@lru_cache(maxsize=8)
def _load_cached(path: str, mtime_ns: int, size: int):
    # mtime and size key the cache so a model retrained under the same name is reloaded.
    import keras

    try:
        return keras.models.load_model(path, compile=False, safe_mode=True)
    except Exception as exc:  # Keras raises many kinds for a damaged file
        raise CorruptModel(
            f"model file {Path(path).name} could not be loaded ({type(exc).__name__}: {exc})"
        ) from None


def delete_model(name: str, models_root: Path | None = None) -> None:
    """Delete both files of a model (and its evaluation cache); ModelNotFound if absent."""
    model_path, meta_path = _paths(name, models_root)
    if not model_path.exists() and not meta_path.exists():
        raise ModelNotFound(_not_found_message(name, models_root))
    for path in (meta_path, model_path, *model_path.parent.glob(f"{name}.eval*")):
        try:
            path.unlink()
        except FileNotFoundError:
            pass
    if default_model_name(models_root) == name:
        _write_settings(models_root, default_model=None)


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


def default_model_name(models_root: Path | None = None) -> str | None:
    """The default model's name: the one set in settings.json if it still exists,
    else the saved model with the best test accuracy, else None."""
    chosen = _read_settings(models_root).get("default_model")
    infos, _ = list_models(models_root)
    names = {info.name for info in infos}
    if chosen in names:
        return chosen
    ranked = sorted(infos, key=lambda info: info.test_accuracy or 0.0, reverse=True)
    return ranked[0].name if ranked else None


def set_default_model(name: str, models_root: Path | None = None) -> None:
    """Make ``name`` the default model; ModelNotFound if it is not saved."""
    read_metadata(name, models_root)
    _write_settings(models_root, default_model=name)


def resolve_model_name(name: str | None, models_root: Path | None = None) -> str:
    """``name`` validated, or the default model's name; ModelNotFound if there is none."""
    if name is not None:
        return validate_name(name)
    default = default_model_name(models_root)
    if default is None:
        raise ModelNotFound("no saved models yet; train one with: python -m mnist_core train --arch NAME")
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

