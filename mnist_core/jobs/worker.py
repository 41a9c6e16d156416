"""The job's own side: what runs inside a job's process.

That is ``python -m mnist_core job RUN`` for a job the app started (``control``
wrote its run folder), or ``python -m mnist_core train|cv`` run from a terminal
(``run_new_job`` writes the folder first). Either way the job reads what to do
from the run folder's config.json and nothing else (``spec``).

It holds the job lock (inherited from the app, or taken from a terminal) and the
run's alive lock for as long as it works, turns SIGTERM and Ctrl-C into a stop
after the current batch, marks the run running, then finished, stopped or failed,
and saves the trained model, checked, into the store.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import mnist_core.jobs.runs as runs
from mnist_core import paths
from mnist_core.jobs.control import FileLock, claim_job_lock
from mnist_core.jobs.spec import TRAIN, CrossValidationJob, JobSpec, TrainingJob, read_job_spec


@contextlib.contextmanager
def hold_job_locks(run_dir: Path, create_run: Callable[[], None] | None,
                   inherited_fds: list[int] | None) -> Iterator[None]:
    """Hold the job lock and the run's alive lock for the body's duration.

    A job started by ``start_job`` inherited both (``inherited_fds``: the job lock's
    descriptor first) and its folder exists. Run from a terminal, it takes the
    store's job lock itself (JobBusy if another job holds it, with nothing
    written), records ``run_dir``'s name as its owner, then calls ``create_run`` (if
    given) to make the folder. Either way the locks go as soon as the work is done, not when
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
        if create_run is not None:
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
    """What the work of a job gets: its run folder and its stop check."""

    run_dir: Path
    should_stop: Callable[[], bool]


def run_job(run_dir: Path, inherited_fds: list[int] | None = None, verbose: int = 2) -> int:
    """Run the job that ``start_job`` wrote into ``run_dir`` (``python -m mnist_core job RUN``).

    ``inherited_fds``: the job lock and the run's alive lock, handed over by the
    app. The run folder's config.json is the only input (see ``spec``). Returns the
    CLI exit status; a config.json no job can run raises JobSpecError after marking
    the run failed.
    """
    return _run(Path(run_dir), create_run=None, inherited_fds=inherited_fds, verbose=verbose)


def run_new_job(spec: JobSpec, run_dir: Path | None = None, command: str | None = None, verbose: int = 2) -> int:
    """Run ``spec`` in this process (``python -m mnist_core train|cv`` from a terminal).

    Takes the store's job lock (JobBusy, with nothing written, if another job holds
    it), writes the run folder (``run_dir``, or a new one under artifacts/runs) with
    ``spec`` as its config.json, and runs it from there, as a job the app started.
    ``command``: the command line to record (default: the one ``spec`` gives).
    """
    run_dir = Path(run_dir) if run_dir is not None else paths.runs_dir() / runs.new_run_id(spec.label)

    def create_run() -> None:
        runs.create_run(spec.kind, spec.to_dict(), spec.label, command=command or shlex.join(spec.command()),
                        path=run_dir)

    return _run(run_dir, create_run=create_run, inherited_fds=None, verbose=verbose)


def _run(run_dir: Path, create_run: Callable[[], None] | None, inherited_fds: list[int] | None,
         verbose: int) -> int:
    """Hold the locks, mark the run running, run what its config.json asks for, and
    mark it failed with the error if that raises."""
    from mnist_core.models import store

    with hold_job_locks(run_dir, create_run, inherited_fds):
        print(f"run folder: {run_dir}", flush=True)
        # Under the job lock no other save can be running: what is left is stale.
        store.remove_stale_temp_files()
        with _running(run_dir) as handle:
            job = read_job_spec(run_dir)
            command = runs.read_config(run_dir).get("command")
            command = command if isinstance(command, str) else shlex.join(job.command())
            if job.kind == TRAIN:
                return _train(job, handle, command, verbose)
            return _cross_validate(job, handle, verbose)


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
        # An error after the run has written its end (printing the summary) leaves that end as it is.
        if runs.read_status(run_dir).get("state") not in runs.RunState.FINAL:
            runs.write_status(run_dir, state=runs.RunState.FAILED, error=message, ended=runs.now_iso(),
                              ended_ts=time.time())
        raise


def _train(job: TrainingJob, handle: JobHandle, command: str, verbose: int) -> int:
    """Train ``job.config``, check the model, save it as ``job.name`` with its metadata,
    and record the run's end.

    The finished model is checked on its validation images: one that reads at or
    near chance is saved marked failed (see ``store``), never made the default.
    Returns the CLI exit status: 0 for a useful model (or a stop as asked), 1 for a
    model that failed its check.
    """
    from mnist_core.data import load_mnist
    from mnist_core.models import store
    from mnist_core.training.fit import train

    config, name, run_dir = job.config, job.name, handle.run_dir
    # Every default filled in, so the run still says what it did after the defaults change.
    runs.write_status(run_dir, settings=config.resolved().to_dict())
    data = load_mnist(job.data)
    result = train(config, data, run_dir=run_dir, should_stop=handle.should_stop, verbose=verbose)
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
    if result.stopped and not job.save_if_stopped:
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
        # The writers whose pen digits it trained on: the scorecard scores the others.
        **({"pen_writers": {"writers": result.pen_writers, "digits": result.n_pen}} if result.n_pen else {}),
        "created": runs.now_iso(),
        "versions": store.library_versions(),
        "data": {"source": data.source, "sha256": data.sha256},
        "command": command,
        "run_id": run_dir.name,
    }
    store.save_model(result.model, name, metadata)
    if job.set_default and not failure:
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
    from mnist_core.jobs.progress import stop_position

    where = stop_position(result.stopped_at)
    return f"stopped in {where}" if where else f"stopped after {result.epochs_done} epoch(s)"


def _cross_validate(job: CrossValidationJob, handle: JobHandle, verbose: int) -> int:
    """Cross-validate ``job.config``; record the results and the run's end."""
    from mnist_core.data import load_mnist
    from mnist_core.training.crossval import run_cross_validation, summarise

    config = job.config
    data = load_mnist(job.data)

    def report(arch, fold):
        print(f"{arch} fold {fold.fold}/{config.folds}: accuracy {fold.accuracy:.4%} "
              f"in {fold.seconds:.1f} s", flush=True)

    results = run_cross_validation(config, data, run_dir=handle.run_dir, should_stop=handle.should_stop,
                                   verbose=verbose, on_fold=report)
    summary = [vars(row) for row in summarise(results)]
    runs.write_status(handle.run_dir, state=results.state, ended=runs.now_iso(), ended_ts=time.time(),
                      summary=summary)
    for row in summary:
        print(f"{row['arch']}: {100 * row['mean']:.3f} +- {100 * row['std']:.3f} % "
              f"(n={row['n']}, min {100 * row['min']:.2f}, max {100 * row['max']:.2f}, {row['seconds']:.0f} s)")
    return 0
