"""The app's side of jobs: start one, find it, follow it, stop it, delete it.

``start_training`` and ``start_cross_validation`` check the settings, take the
store's job lock, write the run folder with the job's config.json (``spec``) and
launch ``python -m mnist_core job RUN`` as a process of its own (``worker`` is what
runs there). Everything else here reads run folders: a page rerun, a second tab or
a reloaded browser finds a job again through them and the job lock.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mnist_core.jobs.runs as runs
from mnist_core import paths
from mnist_core.data import MNIST_ENV_VAR
from mnist_core.jobs.spec import CrossValidationJob, JobSpec, TrainingJob, with_data
from mnist_core.training.config import CVConfig, TrainConfig

JOB_LOCK_FILE = "job.lock"
# How long a refused start waits for a job that has just taken the lock to write its run id.
OWNER_WAIT_SECONDS = 1.0
# A job writes its run's end, then lets go of the job lock: a start in between waits
# for it this long rather than refuse because of a job that says it has ended.
ENDING_WAIT_SECONDS = 10.0

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
    deadline = time.monotonic() + ENDING_WAIT_SECONDS
    while not job_lock.try_acquire():
        owner = active_run_id(root)
        if not (owner and _has_ended(root / owner)) or time.monotonic() > deadline:
            raise JobBusy(owner)
        time.sleep(0.05)
    return job_lock


def _has_ended(run_dir: Path) -> bool:
    """Whether the run has written its end (its process may still be letting go)."""
    try:
        return runs.read_status(run_dir).get("state") in runs.RunState.FINAL
    except (OSError, ValueError):
        return False


def run_is_alive(run_dir: Path) -> bool:
    """Whether the run's job process is alive (it holds the run's alive lock)."""
    return lock_is_held(Path(run_dir) / runs.ALIVE_FILE)


# --- Starting jobs: the app's side ------------------------------------------------


def start_job(spec: JobSpec, runs_root: Path | None = None) -> str:
    """Write ``spec`` as a new run folder's config.json and launch
    ``python -m mnist_core job RUN`` to run it; returns the run id.

    Raises JobBusy when another job is running, before anything is written. The
    job's stdout and stderr go to the run's log.txt; it runs in its own session,
    so it outlives the app's reruns (and the app itself).
    """
    root = runs_root or paths.runs_dir()
    run_dir = root / runs.new_run_id(spec.label)
    # The lock, then its owner, then the folder: a refused start leaves nothing, and
    # whoever is refused meanwhile is told the right run.
    job_lock = claim_job_lock(root)
    alive_lock = None
    try:
        job_lock.write_owner(run_dir.name)
        runs.create_run(spec.kind, spec.to_dict(), spec.label, command=shlex.join(spec.command()), path=run_dir)
        alive_lock = FileLock(run_dir / runs.ALIVE_FILE)
        alive_lock.try_acquire()
        held = [job_lock.fd, alive_lock.fd]
        env = {**os.environ, paths.ARTIFACTS_ENV: str(root.parent), "PYTHONUNBUFFERED": "1"}
        if env.get(MNIST_ENV_VAR):  # the job runs in the repository root: keep a relative path valid
            env[MNIST_ENV_VAR] = str(Path(env[MNIST_ENV_VAR]).expanduser().resolve())
        with open(run_dir / runs.LOG_FILE, "ab") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "mnist_core", "job", str(run_dir), "--lock-fds", ",".join(map(str, held))],
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


def _checked(spec: JobSpec) -> JobSpec:
    problems = spec.problems()
    if problems:
        raise JobError("; ".join(problems))
    return spec


def start_training(config: TrainConfig, name: str, save_if_stopped: bool = True, data_path: str | None = None,
                   runs_root: Path | None = None) -> str:
    """Check a training config and model name, then start the training job; returns its run id.

    Raises JobError (with every problem) for a config that cannot run or a name
    that is invalid or taken, and JobBusy when a job is already running.
    """
    job = with_data(TrainingJob(config, name, save_if_stopped=save_if_stopped), data_path)
    return start_job(_checked(job), runs_root=runs_root)


def start_cross_validation(config: CVConfig, data_path: str | None = None, runs_root: Path | None = None) -> str:
    """Check a CVConfig and start the cross-validation job; returns its run id.

    Raises JobError for a config that cannot run, JobBusy when a job is running.
    """
    return start_job(_checked(with_data(CrossValidationJob(config), data_path)), runs_root=runs_root)


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
        """The full config a training run used, every default filled in (the job records
        it when it starts training), or None for a run that never got that far."""
        settings = self.status.get("settings")
        return settings if isinstance(settings, dict) else None


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
