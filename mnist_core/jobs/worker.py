"""The job's own side: what runs inside ``python -m mnist_core train|cv`` as a job.

It holds the job lock (inherited from the app, or taken from a terminal) and the
run's alive lock for as long as it works, turns SIGTERM and Ctrl-C into a stop
after the current batch, marks the run running, then finished, stopped or failed,
and saves the trained model, checked, into the store.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

from mnist_core import paths, runs
from mnist_core.jobs.control import FileLock, claim_job_lock, cv_label


@contextlib.contextmanager
def hold_job_locks(run_dir: Path, create_run: Callable[[], None],
                   inherited_fds: list[int] | None) -> Iterator[None]:
    """Hold the job lock and the run's alive lock for the body's duration.

    A job started by ``start_job`` inherited both (``inherited_fds``: the job lock's
    descriptor first) and its folder exists. Run from a terminal, it takes the
    store's job lock itself (JobBusy if another job holds it, with nothing
    written), records ``run_dir``'s name as its owner, then calls ``create_run`` to
    make the folder. Either way the locks go as soon as the work is done, not when
    the interpreter has finished exiting, so the next job can start at once.
    """
    if inherited_fds:
        try:
            yield
        finally:
            with contextlib.suppress(OSError):
                os.ftruncate(inherited_fds[0], 0)  # no owner: see active_run_id
            for fd in inherited_fds:
                with contextlib.suppress(OSError):
                    os.close(fd)
        return
    job_lock = claim_job_lock()
    alive_lock = None
    try:
        job_lock.write_owner(Path(run_dir).name)
        create_run()
        alive_lock = FileLock(Path(run_dir) / runs.ALIVE_FILE)
        alive_lock.try_acquire()
        yield
    finally:
        if alive_lock is not None:
            alive_lock.close()
        job_lock.clear_owner()
        job_lock.close()


@dataclass
class JobHandle:
    """What the work inside ``job_lifecycle`` gets: its run folder and its stop check."""

    run_dir: Path
    should_stop: Callable[[], bool]


@contextlib.contextmanager
def job_lifecycle(kind: str, config: dict, label: str, command: str, run_dir: Path | None = None,
                  inherited_fds: list[int] | None = None) -> Iterator[JobHandle]:
    """The life of a job in its own process: hold the locks, make the run folder (a
    new one under artifacts/runs unless ``run_dir`` is given), mark it running, and
    mark it failed with the error if the body raises.

    - ``kind``, ``config``, ``label``, ``command``: what a new run folder records.
    - ``inherited_fds``: the locks a job started by the app inherited.
    The body writes the final state itself (finished or stopped) through
    ``runs.write_status``. Raises JobBusy, with nothing written, when another job
    holds the lock. Stale temporary files of saves that died are cleared first.
    """
    from mnist_core import store

    run_dir = Path(run_dir) if run_dir is not None else paths.runs_dir() / runs.new_run_id(label)

    def create_run() -> None:
        if not (run_dir / runs.CONFIG_FILE).exists():
            runs.create_run(kind, config, label, command=command, path=run_dir)

    with hold_job_locks(run_dir, create_run, inherited_fds):
        print(f"run folder: {run_dir}", flush=True)
        # Under the job lock no other save can be running: what is left is stale.
        store.remove_stale_temp_files()
        with _running(run_dir) as handle:
            yield handle


def install_stop_signals(on_signal) -> None:
    """SIGTERM and the first SIGINT ask for a graceful stop; a second SIGINT aborts."""
    def handle(signum, frame):
        if signum == signal.SIGINT and getattr(handle, "seen_int", False):
            raise KeyboardInterrupt
        if signum == signal.SIGINT:
            handle.seen_int = True
            print("\nstopping after this batch (press Ctrl-C again to abort)", file=sys.stderr)
        on_signal()

    signal.signal(signal.SIGTERM, handle)
    signal.signal(signal.SIGINT, handle)


@contextlib.contextmanager
def _running(run_dir: Path) -> Iterator[JobHandle]:
    signalled = threading.Event()
    install_stop_signals(signalled.set)
    runs.write_status(run_dir, state=runs.RunState.RUNNING, pid=os.getpid(), started=runs.now_iso(),
                      started_ts=time.time())

    def should_stop() -> bool:
        return signalled.is_set() or runs.stop_requested(run_dir)

    try:
        yield JobHandle(run_dir, should_stop)
    except BaseException as exc:
        message = str(exc) or type(exc).__name__
        if isinstance(exc, KeyboardInterrupt):
            message = "aborted"
        runs.write_status(run_dir, state=runs.RunState.FAILED, error=message, ended=runs.now_iso(),
                          ended_ts=time.time())
        raise


def run_training_job(config, name: str, data_path: Path | None, run_dir: Path | None, command: str,
                     save_if_stopped: bool = True, set_default: bool = False, verbose: int = 2,
                     inherited_fds: list[int] | None = None) -> int:
    """Train ``config``, check the model, save it as ``name`` with its metadata, and
    record the run. What ``python -m mnist_core train`` runs.

    - ``data_path``: the MNIST .npz (None: $MNIST_NPZ or the Keras download).
    - ``run_dir``: the run folder (None: a new one under artifacts/runs).
    - ``command``: the command line, recorded with the run and the model.
    - ``save_if_stopped``: save the model when the run is stopped early.
    - ``set_default``: make the model the default (never a model that failed its check).
    - ``verbose``: Keras' verbosity; ``inherited_fds``: the locks of a job the app started.

    The finished model is checked on its validation images: one that reads at or
    near chance is saved marked failed (see ``store``), never made the default.
    Returns the CLI exit status: 0 for a useful model (or a stop as asked), 1 for a
    model that failed its check. Bad input raises the usual errors (DataError,
    ConfigError...) after marking the run failed.
    """
    from mnist_core import store
    from mnist_core.architectures import REGISTRY
    from mnist_core.data import load_mnist
    from mnist_core.training import train

    job_config = {**config.to_dict(), "name": name, "data": str(data_path) if data_path else None,
                  "save_if_stopped": save_if_stopped}
    with job_lifecycle("train", job_config, config.arch, command, run_dir, inherited_fds) as job:
        run_dir = job.run_dir
        if config.arch in REGISTRY:  # train() refuses an unknown one with a clear message
            # Every default filled in, so the run still says what it did after the defaults change.
            runs.write_status(run_dir, settings=config.resolved().to_dict())
        data = load_mnist(data_path)
        result = train(config, data, run_dir=run_dir, should_stop=job.should_stop, verbose=verbose)
        failure = store.accuracy_problem(result.check_accuracy, result.check_split)
        check = {"split": result.check_split, "accuracy": result.check_accuracy, "loss": result.check_loss,
                 "images": result.check_images}
        fields = dict(
            state=runs.RunState.STOPPED if result.stopped else runs.RunState.FINISHED, ended=runs.now_iso(),
            ended_ts=time.time(),
            epochs_done=result.epochs_done, stopped_at=result.stopped_at,
            train_seconds=round(result.seconds, 2), test_accuracy=result.test_accuracy,
            test_loss=result.test_loss, history=result.history, check=check,
            model_state=store.FAILED if failure else store.OK, model_failure=failure,
        )
        if result.stopped and not save_if_stopped:
            runs.write_status(run_dir, model=None, **fields)
            print(f"{_stop_text(result)}; no model saved, as asked")
            return 0
        metadata = {
            "arch": config.arch,
            "config": result.config.to_dict(),
            "params": int(result.model.count_params()),
            "history": result.history,
            "epochs_done": result.epochs_done,
            "stopped": result.stopped,
            "stopped_at": result.stopped_at,
            "test_accuracy": result.test_accuracy,
            "test_loss": result.test_loss,
            "check": check,
            "state": store.FAILED if failure else store.OK,
            **({"failure": failure} if failure else {}),
            "train_seconds": round(result.seconds, 2),
            "n_train": result.n_train,
            "n_val": result.n_val,
            "n_synthetic": result.n_synthetic,
            "created": runs.now_iso(),
            "versions": store.library_versions(),
            "data": {"source": data.source, "sha256": data.sha256},
            "command": command,
            "run_id": run_dir.name,
        }
        store.save_model(result.model, name, metadata)
        if set_default and not failure:
            store.set_default_model(name)
        runs.write_status(run_dir, model=name, **fields)
    print(f"{_stop_text(result) if result.stopped else f'finished after {result.epochs_done} epoch(s)'} "
          f"in {result.seconds:.1f} s; {result.check_split} accuracy {result.check_accuracy:.2%}, "
          f"test accuracy {result.test_accuracy:.2%}; saved model {name!r}")
    if failure:
        print(f"warning: model {name!r} FAILED its check: {failure}. It is saved marked failed, "
              "never made the default; try more epochs, more images or another learning rate.",
              file=sys.stderr)
        return 1
    return 0


def _stop_text(result) -> str:
    """Where a stopped run stopped: "stopped in epoch 2 at batch 1,585 of 1,688"."""
    from mnist_core.progress import stop_position

    where = stop_position(result.stopped_at)
    return f"stopped in {where}" if where else f"stopped after {result.epochs_done} epoch(s)"



def run_cv_job(config, data_path: Path | None, run_dir: Path | None, command: str, verbose: int = 2,
               inherited_fds: list[int] | None = None) -> int:
    """What ``python -m mnist_core cv`` runs: cross-validate, record results and status."""
    from mnist_core.crossval import run_cross_validation, summarise
    from mnist_core.data import load_mnist

    with job_lifecycle("cv", config.to_dict(), cv_label(config), command, run_dir, inherited_fds) as job:
        data = load_mnist(data_path)

        def report(arch, fold):
            print(f"{arch} fold {fold.fold}/{config.folds}: accuracy {fold.accuracy:.4%} "
                  f"in {fold.seconds:.1f} s", flush=True)

        results = run_cross_validation(config, data, run_dir=job.run_dir, should_stop=job.should_stop,
                                       verbose=verbose, on_fold=report)
        summary = [vars(row) for row in summarise(results)]
        runs.write_status(job.run_dir, state=results.state, ended=runs.now_iso(), ended_ts=time.time(),
                          summary=summary)
    for row in summary:
        print(f"{row['arch']}: {100 * row['mean']:.3f} +- {100 * row['std']:.3f} % "
              f"(n={row['n']}, min {100 * row['min']:.2f}, max {100 * row['max']:.2f}, {row['seconds']:.0f} s)")
    return 0
