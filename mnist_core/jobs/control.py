"""The app's side of jobs: start one, find it, follow it, stop it, delete it.

``start_training`` and ``start_cross_validation`` check the settings, take the
store's job lock, make the run folder and launch ``python -m mnist_core ...`` as a
process of its own (see ``mnist_core.jobs.worker`` for what runs there). Everything
else here reads run folders: a page rerun, a second tab or a reloaded browser finds
a job again through them and the job lock.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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


def claim_job_lock(runs_root: Path | None = None) -> FileLock:
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
    job_lock = claim_job_lock(root)
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
    return start_job("cv", args, config.to_dict(), cv_label(config), runs_root=runs_root)


def cv_label(config) -> str:
    """The label in a cross-validation run's id: its architectures."""
    return "cv-" + "-".join(config.archs)[:40]


