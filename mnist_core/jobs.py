"""Long work (training, cross-validation) as jobs with a run folder and an on-disk status.

This module has the job process's side: ``job_lifecycle`` writes the status
(running, then finished / stopped / failed) and turns stop requests and
SIGTERM/SIGINT into a ``should_stop()`` that training polls after every batch.
``run_training_job`` is what ``python -m mnist_core train`` runs.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

from mnist_core import runs


@dataclass
class JobHandle:
    """What the work inside ``job_lifecycle`` gets: its run folder and its stop check."""

    run_dir: Path
    should_stop: Callable[[], bool]


@contextlib.contextmanager
def job_lifecycle(run_dir: Path) -> Iterator[JobHandle]:
    """Mark the run running for the body's duration; failed (with the error) if it raises.

    The body writes the final state itself (finished or stopped) through
    ``runs.write_status``; an exception writes "failed" with the error message.
    """
    from mnist_core.cli import install_stop_signals

    signalled = threading.Event()
    install_stop_signals(signalled.set)
    runs.write_status(run_dir, state="running", pid=os.getpid(), started=runs.now_iso(),
                      started_ts=time.time())

    def should_stop() -> bool:
        return signalled.is_set() or runs.stop_requested(run_dir)

    try:
        yield JobHandle(run_dir, should_stop)
    except BaseException as exc:
        message = str(exc) or type(exc).__name__
        if isinstance(exc, KeyboardInterrupt):
            message = "aborted"
        runs.write_status(run_dir, state="failed", error=message, ended=runs.now_iso(),
                          ended_ts=time.time())
        raise


def _prepare_run_dir(run_dir: Path | None, kind: str, config: dict, label: str, command: str) -> Path:
    """The given run folder (created with its config if new), or a new one under artifacts/runs."""
    if run_dir is None:
        return runs.create_run(kind, config, label, command=command)
    run_dir = Path(run_dir)
    if not (run_dir / runs.CONFIG_FILE).exists():
        run_dir.mkdir(parents=True, exist_ok=True)
        from mnist_core.fileio import write_json_atomic

        write_json_atomic(run_dir / runs.CONFIG_FILE, {
            "schema": runs.SCHEMA, "kind": kind, "config": config, "command": command,
            "created": runs.now_iso(),
        })
    return run_dir


def run_training_job(config, name: str, data_path: Path | None, run_dir: Path | None, command: str,
                     save_if_stopped: bool = True, set_default: bool = False, verbose: int = 2) -> int:
    """Train ``config``, save the model as ``name`` with its metadata, and record the run.

    Returns the CLI exit status: 0 when a model was trained (or stopped as asked).
    Bad input raises the usual errors (DataError, ConfigError...) after marking the
    run failed.
    """
    from mnist_core import store
    from mnist_core.architectures import count_params
    from mnist_core.data import load_mnist
    from mnist_core.training import train

    job_config = {**config.to_dict(), "name": name, "data": str(data_path) if data_path else None,
                  "save_if_stopped": save_if_stopped}
    run_dir = _prepare_run_dir(run_dir, "train", job_config, config.arch, command)
    print(f"run folder: {run_dir}", flush=True)
    with job_lifecycle(run_dir) as job:
        data = load_mnist(data_path)
        result = train(config, data, run_dir=run_dir, should_stop=job.should_stop, verbose=verbose)
        state = "stopped" if result.stopped else "finished"
        fields = dict(
            state=state, ended=runs.now_iso(), ended_ts=time.time(), epochs_done=result.epochs_done,
            train_seconds=round(result.seconds, 2), test_accuracy=result.test_accuracy,
            test_loss=result.test_loss, history=result.history,
        )
        if result.stopped and not save_if_stopped:
            runs.write_status(run_dir, model=None, **fields)
            print(f"stopped after {result.epochs_done} epoch(s); no model saved, as asked")
            return 0
        metadata = {
            "arch": config.arch,
            "config": result.config.to_dict(),
            "params": count_params(config.arch),
            "history": result.history,
            "epochs_done": result.epochs_done,
            "stopped": result.stopped,
            "test_accuracy": result.test_accuracy,
            "test_loss": result.test_loss,
            "train_seconds": round(result.seconds, 2),
            "n_train": result.n_train,
            "n_val": result.n_val,
            "created": runs.now_iso(),
            "versions": store.library_versions(),
            "data": {"source": data.source, "sha256": data.sha256},
            "command": command,
            "run_id": run_dir.name,
        }
        store.save_model(result.model, name, metadata)
        if set_default:
            store.set_default_model(name)
        runs.write_status(run_dir, model=name, **fields)
    print(
        f"{'stopped' if result.stopped else 'finished'} after {result.epochs_done} epoch(s) "
        f"in {result.seconds:.1f} s; test accuracy {result.test_accuracy:.2%}; saved model {name!r}"
    )
    return 0

