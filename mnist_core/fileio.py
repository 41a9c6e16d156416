"""Crash-safe file writes and schema-checked JSON reads.

Every file the project writes goes to a temporary file in the destination folder
first and is moved into place with ``os.replace``, so a crash or a SIGKILL leaves
either the old file or the new one, never half of one.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Iterator

TEMP_PREFIX = ".tmp-"


class FileFormatError(ValueError):
    """A file exists but is not what it should be (not JSON, wrong schema...)."""


@contextlib.contextmanager
def atomic_path(final_path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``final_path``; on success move it into place.

    The temporary name keeps the final suffix (Keras insists on ``.keras``) and
    starts with ``.tmp-`` so listings can skip it. On any exception the temporary
    file is removed and ``final_path`` is left untouched.
    """
    final_path = Path(final_path)
    final_path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(
        prefix=TEMP_PREFIX, suffix=final_path.suffix or ".tmp", dir=final_path.parent
    )
    os.close(fd)
    tmp_path = Path(tmp_name)
    os.chmod(tmp_path, 0o644)  # mkstemp makes it private; these files are meant to be shared
    try:
        yield tmp_path
        _fsync_file(tmp_path)
        os.replace(tmp_path, final_path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp_path.unlink()
        raise


def _fsync_file(path: Path) -> None:
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())


def write_json_atomic(path: str | os.PathLike, data: dict[str, Any]) -> None:
    """Write ``data`` as indented JSON to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(data, indent=2, sort_keys=False, allow_nan=False) + "\n")


def read_json(path: str | os.PathLike, schema: int | None = None) -> dict[str, Any]:
    """Read a JSON object from ``path``.

    Raises FileNotFoundError if it is missing and FileFormatError if it is not a
    JSON object or (when ``schema`` is given) its ``"schema"`` field is not that
    version.
    """
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise FileFormatError(f"{path.name} is not valid JSON ({exc})") from exc
    if not isinstance(data, dict):
        raise FileFormatError(f"{path.name} does not hold a JSON object")
    if schema is not None and data.get("schema") != schema:
        raise FileFormatError(
            f"{path.name} has schema {data.get('schema')!r}; this version reads schema {schema}"
        )
    return data


def read_json_lines(path: str | os.PathLike) -> list[dict[str, Any]]:
    """Read a JSON-lines file, skipping a torn last line (a writer may be mid-line)."""
    records = []
    try:
        text = Path(path).read_text()
    except FileNotFoundError:
        return records
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(record, dict):
            records.append(record)
    return records
