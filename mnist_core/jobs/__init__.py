"""Long work (training, cross-validation) as jobs: a process of its own with a run folder.

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

The two sides live apart: ``control`` is the app's (start, read, stop, delete),
``worker`` the job process's own. This package hands out the app's side.
"""

from mnist_core.jobs.control import (
    FileLock,
    Job,
    JobBusy,
    JobError,
    active_run_id,
    delete_job,
    get_job,
    job_state,
    list_jobs,
    lock_is_held,
    run_is_alive,
    running_job_saving_as,
    start_cross_validation,
    start_job,
    start_training,
    stop_job,
)

__all__ = [
    "FileLock", "Job", "JobBusy", "JobError", "active_run_id", "delete_job", "get_job", "job_state", "list_jobs",
    "lock_is_held", "run_is_alive", "running_job_saving_as", "start_cross_validation", "start_job",
    "start_training", "stop_job",
]
