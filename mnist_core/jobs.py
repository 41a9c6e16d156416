"""Long work (training, cross-validation) as jobs: a subprocess with a run folder.

The app never trains in its own process. ``start_training`` launches
``python -m mnist_core train ... --run-dir RUN`` and returns at once; the job
writes its status and progress into ``artifacts/runs/RUN_ID/``, and anyone (a
page rerun, a second tab, a reloaded browser) reads them back from there.

Two locks make this safe, both ``flock`` locks that the operating system drops
when the holding process ends, however it ends, so they cannot go stale:

- ``runs/job.lock``: one job at a time per artifacts folder, wherever its run
  folder is (``--run-dir`` elsewhere too), so two jobs never write the store at
  once. The starter takes it, writes the new run's id into it, and only then
  makes the run folder: a refused start leaves nothing behind. It hands the open
  descriptor to the job process and lets go of its own copy; two starts at the
  same moment cannot both get it.
- ``RUN/alive.lock``: held by the job for as long as it lives. A run whose
  status says queued or running but whose lock is free died without writing its
  end (killed, machine restarted): it is shown as "interrupted".

Stopping writes ``RUN/stop``; the job's Keras callback sees it before the next
batch, so training ends after the current one, and the job saves what it has (if
asked to) and marks itself stopped.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

from mnist_core import paths, runs
from mnist_core.data import MNIST_ENV_VAR

JOB_LOCK_FILE = "job.lock"
# How long a refused start waits for a job that has just taken the lock to write its run id.
OWNER_WAIT_SECONDS = 1.0

try:  # POSIX
    import fcntl
except ImportError:  # pragma: no cover - Windows: locks are taken by the job itself
    fcntl = None


class JobError(Exception):
    """A job could not be started or changed; the message says why."""


class JobBusy(JobError):
    """Another job holds the job lock."""

    def __init__(self, run_id: str | None):
        self.run_id = run_id
        super().__init__(f"a job is already running: {run_id or 'unknown run'} (follow it or stop it first)")


# --- Locks ----------------------------------------------------------------------


class FileLock:
    """An exclusive lock on a file, held through an open descriptor (flock).

    ``try_acquire`` never blocks. The lock lasts while any process holds a copy of
    the descriptor: passing it to a child (``pass_fds``) hands the lock over.
    """

    def __init__(self, path: Path):
        self.path = Path(path)
        self.fd: int | None = None

    def try_acquire(self) -> bool:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        if fcntl is None:  # pragma: no cover
            self.fd = fd
            return True
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return False
        self.fd = fd
        return True

    def write_owner(self, text: str) -> None:
        """Record who holds the lock (readable without the lock)."""
        os.ftruncate(self.fd, 0)
        os.pwrite(self.fd, text.encode(), 0)

    def clear_owner(self) -> None:
        """Forget the owner, before letting go: a stale name is never read as the next one's."""
        if self.fd is not None:
            with contextlib.suppress(OSError):
                os.ftruncate(self.fd, 0)

    def close(self) -> None:
        """Close this process's descriptor (the lock ends if no other copy is open)."""
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


def lock_is_held(path: Path) -> bool:
    """Whether some process holds the lock on ``path`` right now."""
    if not Path(path).exists():
        return False
    probe = FileLock(path)
    if probe.try_acquire():
        probe.close()
        return False
    return True


def active_run_id(runs_root: Path | None = None) -> str | None:
    """The run that holds the job lock, or None when no job is running."""
    lock_path = (runs_root or paths.runs_dir()) / JOB_LOCK_FILE
    # A job writes its run id a moment after taking the lock, and clears it before
    # letting go: an empty owner under a held lock is a job starting up.
    deadline = time.monotonic() + OWNER_WAIT_SECONDS
    while lock_is_held(lock_path):
        try:
            owner = lock_path.read_text().strip()
        except OSError:
            owner = ""
        if owner or time.monotonic() > deadline:
            return owner or None
        time.sleep(0.01)
    return None


def _claim_job_lock(runs_root: Path | None = None) -> FileLock:
    """The store's job lock, held; raises JobBusy naming the run that has it.

    There is one per artifacts folder (``runs/job.lock``), wherever a job's run
    folder is: two jobs never write the store at once.
    """
    root = runs_root or paths.runs_dir()
    job_lock = FileLock(root / JOB_LOCK_FILE)
    if not job_lock.try_acquire():
        raise JobBusy(active_run_id(root))
    return job_lock


def run_is_alive(run_dir: Path) -> bool:
    """Whether the run's job process is alive (it holds the run's alive lock)."""
    return lock_is_held(Path(run_dir) / runs.ALIVE_FILE)


# --- Starting jobs: the app's side ------------------------------------------------


def start_job(kind: str, cli_args: list[str], config: dict[str, Any], label: str,
              runs_root: Path | None = None) -> str:
    """Launch ``python -m mnist_core CLI_ARGS --run-dir RUN`` as a job; returns the run id.

    Raises JobBusy when another job is running, before anything is written. The
    job's stdout and stderr go to the run's log.txt; it runs in its own session,
    so it outlives the app's reruns (and the app itself).
    """
    root = runs_root or paths.runs_dir()
    run_dir = root / runs.new_run_id(label)
    # The lock, then its owner, then the folder: a refused start leaves nothing, and
    # whoever is refused meanwhile is told the right run.
    job_lock = _claim_job_lock(root)
    alive_lock = None
    try:
        job_lock.write_owner(run_dir.name)
        command = ["python", "-m", "mnist_core", *cli_args]
        runs.create_run(kind, config, label, command=command, path=run_dir)
        alive_lock = FileLock(run_dir / runs.ALIVE_FILE)
        alive_lock.try_acquire()
        held = [job_lock.fd, alive_lock.fd]
        env = {**os.environ, paths.ARTIFACTS_ENV: str(root.parent), "PYTHONUNBUFFERED": "1"}
        if env.get(MNIST_ENV_VAR):  # the job runs in the repository root: keep a relative path valid
            env[MNIST_ENV_VAR] = str(Path(env[MNIST_ENV_VAR]).expanduser().resolve())
        with open(run_dir / runs.LOG_FILE, "ab") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "mnist_core", *cli_args, "--run-dir", str(run_dir),
                 "--lock-fds", ",".join(map(str, held))],
                cwd=paths.REPO_ROOT, env=env, stdin=subprocess.DEVNULL, stdout=log,
                stderr=subprocess.STDOUT, pass_fds=held, start_new_session=True,
            )
        # Reap the process when it ends, so no zombie lingers; the job writes its
        # own status from here on (writing it here too could overwrite the job's).
        threading.Thread(target=process.wait, name=f"reap-{run_dir.name}", daemon=True).start()
        return run_dir.name
    except BaseException:
        job_lock.clear_owner()
        raise
    finally:
        job_lock.close()
        if alive_lock is not None:
            alive_lock.close()


def _options_given(*pairs: tuple[str, Any]) -> list[str]:
    """``[flag, value, ...]`` for the (flag, value) pairs whose value is set: options
    left out take the architecture's defaults in the job."""
    args = []
    for flag, value in pairs:
        if value is not None:
            args += [flag, str(value)]
    return args


def start_training(config, name: str, save_if_stopped: bool = True, data_path: str | None = None,
                   runs_root: Path | None = None) -> str:
    """Check a training config and model name, then start the training job; returns its run id.

    Raises JobError (with every problem) for a config that cannot run or a name
    that is invalid or taken, and JobBusy when a job is already running.
    """
    from mnist_core import store

    problems = config.problems()
    try:
        store.validate_name(name)
        if store.model_exists(name):
            problems.append(f"a model called {name!r} already exists; choose another name")
    except store.InvalidModelName as error:
        problems.append(str(error))
    if problems:
        raise JobError("; ".join(problems))
    args = ["train", "--arch", config.arch, "--name", name, "--seed", str(config.seed),
            "--val-split", str(config.val_split)]
    args += _options_given(("--epochs", config.epochs), ("--batch-size", config.batch_size),
                           ("--lr", config.learning_rate), ("--optimizer", config.optimizer),
                           ("--schedule", config.lr_schedule), ("--subset", config.subset),
                           ("--data", data_path and Path(data_path).resolve()))
    for flag, value in (("early-stopping", config.early_stopping), ("augment", config.augment)):
        if value is not None:
            args.append(f"--{flag}" if value else f"--no-{flag}")
    if config.pen_digits:
        args.append("--pen-digits")
    if not save_if_stopped:
        args.append("--discard-if-stopped")
    job_config = {**config.to_dict(), "name": name, "save_if_stopped": save_if_stopped}
    return start_job("train", args, job_config, config.arch, runs_root=runs_root)


# --- The job process's side -------------------------------------------------------


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
    job_lock = _claim_job_lock()
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
    where = result.stopped_at or {}
    if not where:
        return f"stopped after {result.epochs_done} epoch(s)"
    return f"stopped in epoch {where['epoch']} at batch {where['batch']:,} of {where['batches']:,}"



# --- Reading jobs -----------------------------------------------------------------


@dataclass(frozen=True)
class Job(runs.RunSummary):
    """A run folder as the app shows it, with its state worked out."""

    state: str  # queued, running, stopping, finished, stopped, failed or interrupted

    @property
    def active(self) -> bool:
        return self.state in runs.RunState.ACTIVE

    def progress(self) -> list[dict[str, Any]]:
        return runs.read_progress(self.path)

    def log_tail(self, lines: int = 30) -> str:
        return runs.read_log_tail(self.path, lines)

    def training_settings(self) -> dict[str, Any] | None:
        """The full config a training run used, every default filled in, or None if unknown.

        Jobs record it when they start; for runs from before that, it is the config
        saved with the run's model, when that model is still there.
        """
        if isinstance(self.status.get("settings"), dict):
            return self.status["settings"]
        model = self.status.get("model")
        if not isinstance(model, str):
            return None
        from mnist_core import store

        try:
            # Asked first: read_metadata's not-found message reads every saved model to list them,
            # and the Train page asks this for each earlier run on every rerun.
            if not store.model_exists(model):
                return None
            metadata = store.read_metadata(model)
        except store.StoreError:  # an invalid name, or unreadable metadata
            return None
        config = metadata.get("config")
        return config if metadata.get("run_id") == self.run_id and isinstance(config, dict) else None


def job_state(run_dir: Path, status: dict[str, Any]) -> str:
    """The state to show: the written one, "stopping" while a stop is pending, or
    "interrupted" when the job died without writing its end."""
    written = status.get("state", "unknown")
    if written not in runs.RunState.WRITTEN_ACTIVE:
        return written
    return runs.RunState.live(written, run_is_alive(run_dir), runs.stop_requested(run_dir))


def _job(summary: runs.RunSummary) -> Job:
    return Job(**vars(summary), state=job_state(summary.path, summary.status))


def list_jobs(kind: str | None = None, runs_root: Path | None = None) -> list[Job]:
    """Every run (of ``kind``, if given), newest first, with its state."""
    return [_job(summary) for summary in runs.list_runs(runs_root, kind=kind)]


def get_job(run_id: str, runs_root: Path | None = None) -> Job:
    """One run by id; raises runs.RunNotFound."""
    path = runs.run_path(run_id, runs_root)
    config = runs.read_config(path)
    return _job(runs.RunSummary(run_id, path, config.get("kind", "?"), config.get("config", {}),
                                runs.read_status(path)))


def running_job_saving_as(name: str, runs_root: Path | None = None) -> str | None:
    """The id of the running training job that will save its model as ``name``, or None:
    a rename must keep that name free."""
    running = active_run_id(runs_root)
    if running is None:
        return None
    try:
        planned = get_job(running, runs_root).config.get("name")
    except (runs.RunNotFound, OSError, ValueError):  # its folder is elsewhere, or being written
        return None
    return running if planned == name else None


def stop_job(run_id: str, runs_root: Path | None = None) -> None:
    """Ask a running job to stop after its current batch; JobError if it is not running."""
    job = get_job(run_id, runs_root)
    if not job.active:
        raise JobError(f"run {run_id} is not running (it is {job.state})")
    runs.request_stop(job.path)


def delete_job(run_id: str, runs_root: Path | None = None) -> None:
    """Delete a run folder (its saved model, if any, stays); JobError while it runs."""
    job = get_job(run_id, runs_root)
    if job.active:
        raise JobError(f"run {run_id} is {job.state}; stop it before deleting it")
    runs.delete_run(run_id, runs_root)


# --- Cross-validation jobs --------------------------------------------------------


def start_cross_validation(config, data_path: str | None = None, runs_root: Path | None = None) -> str:
    """Check a CVConfig and start the cross-validation job; returns its run id.

    Raises JobError for a config that cannot run, JobBusy when a job is running.
    """
    problems = config.problems()
    if problems:
        raise JobError("; ".join(problems))
    args = ["cv", "--folds", str(config.folds), "--seed", str(config.seed)]
    for arch in config.archs:
        args += ["--arch", arch]
    args += _options_given(("--epochs", config.epochs), ("--batch-size", config.batch_size),
                           ("--subset", config.subset), ("--data", data_path and Path(data_path).resolve()))
    return start_job("cv", args, config.to_dict(), _cv_label(config), runs_root=runs_root)


def _cv_label(config) -> str:
    """The label in a cross-validation run's id: its architectures."""
    return "cv-" + "-".join(config.archs)[:40]


def run_cv_job(config, data_path: Path | None, run_dir: Path | None, command: str, verbose: int = 2,
               inherited_fds: list[int] | None = None) -> int:
    """What ``python -m mnist_core cv`` runs: cross-validate, record results and status."""
    from mnist_core.crossval import run_cross_validation, summarise
    from mnist_core.data import load_mnist

    with job_lifecycle("cv", config.to_dict(), _cv_label(config), command, run_dir, inherited_fds) as job:
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
