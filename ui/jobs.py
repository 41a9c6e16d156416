"""Following a job from a page: which run to show, and its live progress.

The job runs in its own process; the page only reads its run folder, in a
fragment that reruns every second. Nothing here survives in the browser: a
reload or a second tab finds the running job again through the job lock.
"""

from __future__ import annotations

import time

import streamlit as st

from mnist_core import jobs
from mnist_core.jobs import progress
from mnist_core.jobs.runs import RunState

POLL_SECONDS = 1.0
STATE_LABELS = {
    RunState.QUEUED: ":material/hourglass_top: Starting",
    RunState.RUNNING: ":material/play_circle: Running",
    RunState.STOPPING: ":material/pause_circle: Stopping after this batch",
    RunState.FINISHED: ":material/check_circle: Finished",
    RunState.STOPPED: ":material/stop_circle: Stopped",
    RunState.FAILED: ":material/error: Failed",
    RunState.INTERRUPTED: ":material/warning: Interrupted",
}


def followed_run(kind: str, session_key: str) -> str | None:
    """The run a page should show: the running job of this kind if there is one (so
    another tab or a reload finds it), else the one this session started last."""
    active = jobs.active_run_id()
    if active is not None:
        try:
            if jobs.get_job(active).kind == kind:
                st.session_state[session_key] = active
                return active
        except Exception:  # a run folder being created or deleted right now
            pass
    return st.session_state.get(session_key)


def show_followed_run(kind: str, session_key: str, render) -> str | None:
    """Show the followed run (see ``followed_run``) in a bordered box with ``render(job)``:
    redrawn every second in a fragment while the job is active, once otherwise.
    Returns the run id shown, if any."""
    run_id = followed_run(kind, session_key)
    if run_id is None:
        return None

    def draw() -> None:
        try:
            job = jobs.get_job(run_id)
        except Exception:  # deleted or half-written meanwhile: stop following it
            st.session_state.pop(session_key, None)
            return
        # Before anything of the job is drawn: the live fragment that first sees it done
        # hands over to a full rerun at once, so only that run draws the outcome (a
        # fragment that drew it too would leave a second copy on screen until the full
        # run ends).
        _rerun_app_once_done(job, f"{session_key}_seen_done")
        render(job)

    with st.container(border=True):
        try:
            live = jobs.get_job(run_id).active
        except Exception:  # deleted or half-written meanwhile: draw() says so
            live = False
        if live:
            st.fragment(run_every=POLL_SECONDS)(draw)()
        else:
            draw()
    return run_id


def start_and_follow(start, session_key: str) -> None:
    """Call ``start()`` (which starts a job and returns its run id), follow the new run
    and rerun; or explain why it could not start (another job running, bad settings)."""
    try:
        new_run = start()
    except jobs.JobBusy as busy:
        st.warning(f"{busy}. Its progress is shown on its page (Train or Compare); stop it there first.",
                   icon=":material/hourglass_top:")
        return
    except jobs.JobError as error:
        st.error("Cannot start: " + "\n- ".join(["", *str(error).split("; ")]), icon=":material/block:")
        return
    st.session_state[session_key] = new_run
    st.rerun()


def stop_button(job: jobs.Job, key: str) -> None:
    """A Stop button for an active job. The stop is asked for in the click's callback,
    before the rerun it causes, so that rerun already shows "Stopping"."""
    error_key = f"{key}-error"

    def ask_to_stop() -> None:
        try:
            jobs.stop_job(job.run_id)
        except jobs.JobError as error:  # it ended meanwhile
            st.session_state[error_key] = str(error)

    st.button("Stop", key=key, icon=":material/stop:", disabled=job.state == RunState.STOPPING, type="primary",
              help="Ends training after the current batch.", on_click=ask_to_stop)
    if error_key in st.session_state:
        st.warning(st.session_state.pop(error_key))


def progress_bar(job: jobs.Job, events: list[dict], units_done: int = 0, units_total: int = 1,
                 prefix: str = "") -> None:
    """A progress bar with epoch, batch and time left; for a run that has ended, how long
    it took (to its last event, not to now) and, unless it finished, where it ended."""
    # An ended run is timed to its last event; only a live one to now.
    now = time.time() if job.active else max(
        (event["time"] for event in events if isinstance(event.get("time"), (int, float))), default=time.time())
    where = progress.position(events, now, units_done, units_total)
    if where is None:
        if job.active:
            st.progress(0.0, text=f"{prefix}Loading data and building the model...")
        return
    took = progress.format_duration(where.elapsed_seconds)
    at = f"{where.epoch}/{where.epochs} · batch {where.batch}/{where.batches}"
    if job.active:
        text = (f"{prefix}Epoch {at} · {took} elapsed · "
                f"about {progress.format_duration(where.remaining_seconds)} left")
    elif job.state == RunState.FINISHED:
        text = f"{prefix}Finished in {took}"
    else:
        text = f"{prefix}Ended at epoch {at}, after {took}"
    st.progress(where.fraction if job.active else 1.0 if job.state == RunState.FINISHED else where.fraction,
                text=text)


def failure_details(job: jobs.Job) -> None:
    """What went wrong, for a failed or interrupted job."""
    if job.state == RunState.FAILED:
        st.error(f"The job failed: {job.status.get('error', 'see the log below')}")
        with st.expander("Log (last lines)", expanded=True):
            st.code(job.log_tail(40) or "(empty)", language=None)
    elif job.state == RunState.INTERRUPTED:
        st.warning("The job ended without finishing: its process was killed or the machine "
                   "restarted. Nothing after its last epoch was saved.")
        with st.expander("Log (last lines)"):
            st.code(job.log_tail(40) or "(empty)", language=None)


def _rerun_app_once_done(job: jobs.Job, seen_key: str) -> None:
    """Once per finished job, rerun the whole app so the sidebar lists its model."""
    if not job.active and st.session_state.get(seen_key) != job.run_id:
        st.session_state[seen_key] = job.run_id
        st.rerun(scope="app")
