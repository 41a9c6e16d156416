"""Run folders: one per training or cross-validation job, under ``artifacts/runs/``.

A run folder holds::

    config.json      what was asked for ({"schema": 1, "kind": "train"|"cv", "config": {...}})
    status.json      the job's state, written only by the job's own process
    progress.jsonl   one JSON object per line: start, batch, epoch, fold and end events
    log.txt          the job's stdout and stderr (jobs started by the app)
    stop             present when a stop was requested
    alive.lock       locked (flock) by the job's process for as long as it lives

This module only reads and writes those files; starting processes, the job lock
and liveness are in ``mnist_core.jobs``.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mnist_core import paths
from mnist_core.fileio import FileFormatError, read_json, read_json_lines, write_json_atomic

SCHEMA = 1
RUN_ID_PATTERN = re.compile(r"^[0-9]{8}-[0-9]{6}-[A-Za-z0-9_-]{1,64}-[0-9a-f]{4}$")

CONFIG_FILE = "config.json"
STATUS_FILE = "status.json"
PROGRESS_FILE = "progress.jsonl"
LOG_FILE = "log.txt"
STOP_FILE = "stop"
ALIVE_FILE = "alive.lock"



class RunState:
    """The states a run can be in, and how one leads to another (the one place they
    are defined).

    A job writes queued (when its folder is made), running (when its process
    starts), then its end: finished, stopped (asked to, after the current batch) or
    failed (an error). Readers work out two more from the folder: stopping, while a
    stop is asked for and the job still runs, and interrupted, when the process died
    without writing its end (killed, machine restarted).
    """

    QUEUED, RUNNING, STOPPING = "queued", "running", "stopping"
    FINISHED, STOPPED, FAILED, INTERRUPTED = "finished", "stopped", "failed", "interrupted"
    WRITTEN_ACTIVE = (QUEUED, RUNNING)  # written by a job that has not ended
    ACTIVE = (QUEUED, RUNNING, STOPPING)
    FINAL = (FINISHED, STOPPED, FAILED, INTERRUPTED)
    NEXT = {
        QUEUED: (RUNNING, FAILED, INTERRUPTED),
        RUNNING: (STOPPING, FINISHED, STOPPED, FAILED, INTERRUPTED),
        STOPPING: (STOPPED, FINISHED, FAILED, INTERRUPTED),
    }

    @staticmethod
    def check_move(written: str | None, new: str) -> None:
        """Raise InvalidStateChange unless a run whose status says ``written`` (None: no
        status yet) may be written as ``new``: a new run starts queued, and an ended
        run never changes again (a late write cannot turn "stopped" into "running")."""
        allowed = (RunState.QUEUED,) if written is None else RunState.NEXT.get(written, ())
        if new not in allowed:
            raise InvalidStateChange(f"a run that is {written or 'new'} cannot become {new}")

    @staticmethod
    def live(written: str, alive: bool, stop_asked: bool) -> str:
        """The state to show for a run whose status says ``written``, whose process is
        ``alive`` or not, and for which a stop was asked (``stop_asked``) or not."""
        if written not in RunState.WRITTEN_ACTIVE:
            return written
        if not alive:
            return RunState.INTERRUPTED
        return RunState.STOPPING if stop_asked and written == RunState.RUNNING else written



class InvalidStateChange(ValueError):
    """A status write that would move a run to a state it cannot reach from its own."""


class RunNotFound(LookupError):
    """No run folder with that id."""

    def __str__(self) -> str:
        return self.args[0]


def now_iso() -> str:
    """The current local time, ISO 8601 with offset, to the second."""
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


def new_run_id(label: str) -> str:
    """A sortable, unique run id: ``YYYYmmdd-HHMMSS-<label>-<4 hex>``."""
    label = re.sub(r"[^A-Za-z0-9_-]", "_", label)[:64] or "run"
    return f"{time.strftime('%Y%m%d-%H%M%S')}-{label}-{secrets.token_hex(2)}"


def run_path(run_id: str, runs_root: Path | None = None) -> Path:
    """The folder of run ``run_id``; raises RunNotFound for a malformed or missing id."""
    if not RUN_ID_PATTERN.match(run_id or ""):
        raise RunNotFound(f"not a run id: {run_id!r}")
    path = (runs_root or paths.runs_dir()) / run_id
    if not path.is_dir():
        raise RunNotFound(f"no run {run_id!r} in {path.parent}")
    return path


def create_run(kind: str, config: dict[str, Any], label: str, runs_root: Path | None = None,
               command: list[str] | str | None = None, path: Path | None = None) -> Path:
    """Make a new run folder with its config.json and a "queued" status; returns its path.

    ``path``: the folder to make (its name is the run id; a job names it before it
    makes it, to record it as the job lock's owner); by default a new one under
    ``runs_root``. Raises FileExistsError if ``path`` already holds a run.
    """
    if path is None:
        root = runs_root or paths.runs_dir()
        root.mkdir(parents=True, exist_ok=True)
        while True:
            path = root / new_run_id(label)
            try:
                path.mkdir()
                break
            except FileExistsError:
                continue
    else:
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        if (path / CONFIG_FILE).exists():
            raise FileExistsError(f"{path} already holds a run")
    write_json_atomic(
        path / CONFIG_FILE,
        {"schema": SCHEMA, "kind": kind, "config": config, "command": command, "created": now_iso()},
    )
    write_status(path, state=RunState.QUEUED, created=now_iso())
    return path


def read_config(run_dir: Path) -> dict[str, Any]:
    """config.json of a run."""
    return read_json(Path(run_dir) / CONFIG_FILE, schema=SCHEMA)


def read_status(run_dir: Path) -> dict[str, Any]:
    """status.json of a run, or ``{"state": "unknown"}`` when missing or unreadable."""
    try:
        return read_json(Path(run_dir) / STATUS_FILE, schema=SCHEMA)
    except (FileNotFoundError, FileFormatError):
        return {"schema": SCHEMA, "state": "unknown"}


def write_status(run_dir: Path, **fields: Any) -> dict[str, Any]:
    """Merge ``fields`` into status.json (atomically) and return the new status.

    A ``state`` field must be a move ``RunState.NEXT`` allows from the written one
    (InvalidStateChange otherwise).
    """
    run_dir = Path(run_dir)
    status = read_status(run_dir)
    if status.get("state") == "unknown":
        status = {"schema": SCHEMA}
    if "state" in fields:
        RunState.check_move(status.get("state"), fields["state"])
    status.update(fields)
    status["schema"] = SCHEMA
    status["updated"] = now_iso()
    write_json_atomic(run_dir / STATUS_FILE, status)
    return status


def read_progress(run_dir: Path) -> list[dict[str, Any]]:
    """Every progress event recorded so far, oldest first."""
    return read_json_lines(Path(run_dir) / PROGRESS_FILE)


class ProgressLog:
    """Appends progress events to a run's progress.jsonl, one flushed line each.

    Appending whole lines with one ``write`` keeps readers safe: they skip a torn
    last line (see ``fileio.read_json_lines``).
    """

    def __init__(self, run_dir: Path):
        self.path = Path(run_dir) / PROGRESS_FILE
        self._handle = open(self.path, "a", buffering=1, encoding="utf-8")

    def write(self, event: str, **fields: Any) -> None:
        record = {"event": event, "time": round(time.time(), 3), **fields}
        self._handle.write(json.dumps(record, allow_nan=True) + "\n")

    def close(self) -> None:
        self._handle.close()


def request_stop(run_dir: Path) -> None:
    """Ask the run's job to stop after its current batch (creates the stop file)."""
    stop_file = Path(run_dir) / STOP_FILE
    stop_file.write_text(now_iso() + "\n")


def stop_requested(run_dir: Path) -> bool:
    """Whether a stop was requested for this run."""
    return (Path(run_dir) / STOP_FILE).exists()


def read_log_tail(run_dir: Path, lines: int = 30) -> str:
    """The last ``lines`` lines of the run's log (empty if there is none)."""
    try:
        with open(Path(run_dir) / LOG_FILE, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - 64 * 1024))
            text = handle.read().decode("utf-8", errors="replace")
    except FileNotFoundError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


@dataclass(frozen=True)
class RunSummary:
    """What a listing shows of one run (the state as written; jobs.job_state works out the live one)."""

    run_id: str
    path: Path
    kind: str
    config: dict[str, Any]
    status: dict[str, Any]


def list_runs(runs_root: Path | None = None, kind: str | None = None) -> list[RunSummary]:
    """All readable runs, newest first; folders without a readable config are skipped."""
    root = runs_root or paths.runs_dir()
    summaries = []
    for path in sorted(root.iterdir(), reverse=True) if root.is_dir() else []:
        if not path.is_dir() or not RUN_ID_PATTERN.match(path.name):
            continue
        try:
            config = read_config(path)
        except (FileNotFoundError, FileFormatError):
            continue
        if kind is not None and config.get("kind") != kind:
            continue
        summaries.append(
            RunSummary(path.name, path, config.get("kind", "?"), config.get("config", {}), read_status(path))
        )
    return summaries


def delete_run(run_id: str, runs_root: Path | None = None) -> None:
    """Remove a run folder and everything in it."""
    shutil.rmtree(run_path(run_id, runs_root))
