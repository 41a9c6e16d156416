"""Training jobs as real subprocesses: start, progress, finish, stop, failure, death, the lock."""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest

from mnist_core import jobs
from mnist_core.jobs import runs
from mnist_core.models import store
from mnist_core.training.config import TrainConfig
from tests.helpers import wait_for, wait_until_done


def state(run_id: str) -> str:
    return jobs.get_job(run_id).state


QUICK = TrainConfig(arch="baseline_cnn", epochs=1, batch_size=32, subset=300)
LONG = TrainConfig(arch="baseline_cnn", epochs=200, batch_size=10, subset=600)


def test_a_job_trains_reports_progress_and_saves_its_model(tiny_npz):
    run_id = jobs.start_training(QUICK, "job-model", data_path=str(tiny_npz))
    assert state(run_id) in ("queued", "running")
    job = wait_until_done(run_id)
    assert job.state == "finished", job.log_tail()
    assert job.status["model"] == "job-model" and job.status["pid"] != os.getpid()
    assert job.status["epochs_done"] == 1 and job.status["test_accuracy"] > 0.9  # the synthetic digits are easy
    assert job.status["settings"] == QUICK.resolved().to_dict()  # what it ran with, defaults filled in
    events = job.progress()
    assert [e["event"] for e in events][0] == "train_start"
    assert any(e["event"] == "epoch" for e in events) and any(e["event"] == "batch" for e in events)
    metadata = store.read_metadata("job-model")
    assert metadata["run_id"] == run_id and metadata["stopped"] is False
    assert "run folder:" in job.log_tail()
    # The job lets go of the lock right after writing its end.
    wait_for(lambda: jobs.active_run_id() is None, timeout=10)


def test_a_job_passes_pen_digits_on_to_training(tiny_npz):
    from dataclasses import replace

    run_id = jobs.start_training(replace(QUICK, pen_digits=True), "pen-model", data_path=str(tiny_npz))
    job = wait_until_done(run_id)
    assert job.state == "finished", job.log_tail()
    metadata = store.read_metadata("pen-model")
    assert "--pen-digits" in metadata["command"] and metadata["config"]["pen_digits"] is True
    assert metadata["n_train"] == 270 and metadata["n_synthetic"] == 25  # 270/54000 of 5,000


def test_a_job_trained_on_real_pen_digits_records_whose(tiny_npz, monkeypatch):
    from dataclasses import replace

    from tests.conftest import SHARED_DATA, require_real_file

    monkeypatch.setenv("PENDIGITS_TRA", str(require_real_file(SHARED_DATA / "pendigits-orig.tra",
                                                              "pendigits-orig.tra")))
    run_id = jobs.start_training(replace(QUICK, pen_writers=True), "pen-writers", data_path=str(tiny_npz))
    job = wait_until_done(run_id)
    assert job.state == "finished", job.log_tail()
    metadata = store.read_metadata("pen-writers")
    assert "--pen-writers" in metadata["command"] and metadata["config"]["pen_writers"] is True
    # 270/54000 of the 7,494 digits, from writers the scorecard will then leave out.
    assert metadata["pen_writers"]["digits"] == 37 and set(metadata["pen_writers"]["writers"]) <= set(range(1, 31))


def test_stop_ends_the_job_and_keeps_what_it_has(tiny_npz):
    run_id = jobs.start_training(LONG, "stopped-model", data_path=str(tiny_npz))
    wait_for(lambda: any(e["event"] == "batch" for e in jobs.get_job(run_id).progress()))
    jobs.stop_job(run_id)
    assert state(run_id) in ("stopping", "stopped")
    job = wait_until_done(run_id)
    assert job.state == "stopped" and job.status["epochs_done"] < 200
    assert store.read_metadata("stopped-model")["stopped"] is True
    with pytest.raises(jobs.JobError, match="not running"):
        jobs.stop_job(run_id)


def test_a_stopped_job_can_discard_its_model(tiny_npz):
    run_id = jobs.start_training(LONG, "discarded", save_if_stopped=False, data_path=str(tiny_npz))
    wait_for(lambda: any(e["event"] == "batch" for e in jobs.get_job(run_id).progress()))
    jobs.stop_job(run_id)
    job = wait_until_done(run_id)
    assert job.state == "stopped" and job.status["model"] is None
    assert not store.model_exists("discarded")


def test_a_crashing_job_is_failed_with_its_log_and_no_model(tmp_path):
    broken = tmp_path / "broken.npz"
    broken.write_bytes(b"not an npz file")
    run_id = jobs.start_training(QUICK, "never-saved", data_path=str(broken))
    job = wait_until_done(run_id)
    assert job.state == "failed"
    assert "not a readable .npz" in job.status["error"]
    assert job.status["settings"]["arch"] == QUICK.arch  # recorded before the data was read
    assert "not a readable .npz" in job.log_tail()
    assert not store.model_exists("never-saved")


def test_a_killed_job_shows_as_interrupted_not_running(tiny_npz):
    run_id = jobs.start_training(LONG, "killed", data_path=str(tiny_npz))
    pid = wait_for(lambda: jobs.get_job(run_id).status.get("pid"))
    wait_for(lambda: state(run_id) == "running")
    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: state(run_id) == "interrupted", timeout=30)
    wait_for(lambda: jobs.active_run_id() is None, timeout=10)
    assert not store.model_exists("killed")
    jobs.delete_job(run_id)
    with pytest.raises(runs.RunNotFound):
        jobs.get_job(run_id)


def test_one_job_at_a_time(tiny_npz):
    first = jobs.start_training(LONG, "first", data_path=str(tiny_npz))
    with pytest.raises(jobs.JobBusy) as busy:
        jobs.start_training(QUICK, "second", data_path=str(tiny_npz))
    assert busy.value.run_id == first and first in str(busy.value)
    with pytest.raises(jobs.JobError, match="stop it before deleting"):
        jobs.delete_job(first)
    jobs.stop_job(first)
    wait_until_done(first)
    second = jobs.start_training(QUICK, "second", data_path=str(tiny_npz))
    assert wait_until_done(second).state == "finished"


def test_two_starts_at_the_same_moment_start_one_job(tiny_npz):
    barrier = threading.Barrier(4)
    outcomes = []

    def start(index: int):
        barrier.wait()
        try:
            outcomes.append(("started", jobs.start_training(QUICK, f"racer-{index}", data_path=str(tiny_npz))))
        except jobs.JobBusy as busy:
            outcomes.append(("busy", busy.run_id))

    threads = [threading.Thread(target=start, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    started = [run for kind, run in outcomes if kind == "started"]
    assert len(started) == 1, outcomes
    wait_until_done(started[0])
    assert len(jobs.list_jobs()) == 1


def test_terminal_run_takes_the_lock_too(tiny_npz, isolated_artifacts):
    from tests.conftest import run_cli

    first = jobs.start_training(LONG, "holder", data_path=str(tiny_npz))
    result = run_cli("train", "--arch", "mlp", "--epochs", "1", "--subset", "200", "--data", str(tiny_npz))
    assert result.returncode == 2 and f"a job is already running: {first}" in result.stderr
    jobs.stop_job(first)
    wait_until_done(first)


def test_bad_settings_are_refused_before_anything_starts(tiny_npz):
    with pytest.raises(jobs.JobError) as error:
        jobs.start_training(TrainConfig(arch="mlp", epochs=0, learning_rate=-1.0), "../bad")
    message = str(error.value)
    assert "epochs must be" in message and "learning rate" in message and "invalid model name" in message
    assert jobs.list_jobs() == []


# Saves a model in a process of its own that SIGKILLs itself at its Nth os.replace:
# 1 is the model file moved into place, 2 its metadata. A kill lands exactly there,
# every time (polling for the temporary file, as this test once did, can miss it).
SAVE_AND_DIE = """
import os, signal, sys
from mnist_core.models import store
from mnist_core.models.architectures import get_architecture

model = get_architecture("mlp").build()
real_replace, calls = os.replace, []

def replace_or_die(source, target):
    calls.append(target)
    if len(calls) == int(sys.argv[1]):
        os.kill(os.getpid(), signal.SIGKILL)
    real_replace(source, target)

os.replace = replace_or_die
store.save_model(model, "half", {"arch": "mlp", "test_accuracy": 0.9})
"""


@pytest.mark.parametrize("killed_at_replace", [1, 2])
def test_sigkill_while_saving_leaves_no_half_written_model(killed_at_replace, isolated_artifacts):
    import subprocess
    import sys

    from tests.conftest import REPO_ROOT

    result = subprocess.run([sys.executable, "-c", SAVE_AND_DIE, str(killed_at_replace)], cwd=REPO_ROOT,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == -signal.SIGKILL, result.stderr
    models = isolated_artifacts / "models"
    # Neither a half-written model nor one without its metadata is ever listed.
    assert "half" not in [info.name for info in store.list_models()[0]]
    assert not (models / "half.json").exists()
    if killed_at_replace == 1:
        assert not (models / "half.keras").exists()
        (leftover,) = models.glob(".tmp-*")  # the killed save's temporary file, never read as a model
        # The next job clears it when it starts (older than a running save could be).
        assert store.remove_stale_temp_files(older_than=0) == [leftover.name]
    else:
        problems = store.list_models()[1]
        assert any("half.keras: no metadata file" in problem for problem in problems)


def test_run_states_and_their_transitions_are_one_table():
    from mnist_core.jobs.runs import RunState

    every = {RunState.QUEUED, RunState.RUNNING, RunState.STOPPING, RunState.FINISHED, RunState.STOPPED,
             RunState.FAILED, RunState.INTERRUPTED}
    assert set(RunState.ACTIVE) | set(RunState.FINAL) == every
    assert not set(RunState.ACTIVE) & set(RunState.FINAL)
    assert set(RunState.NEXT) == set(RunState.ACTIVE)  # only an active run moves on
    assert all(set(nexts) <= every for nexts in RunState.NEXT.values())
    live = RunState.live
    assert live("running", alive=True, stop_asked=False) == "running"
    assert live("running", alive=True, stop_asked=True) == "stopping"
    assert live("running", alive=False, stop_asked=True) == "interrupted"
    assert live("queued", alive=False, stop_asked=False) == "interrupted"
    assert live("finished", alive=False, stop_asked=True) == "finished"


def test_status_writes_keep_to_the_transitions(tmp_path):
    run_dir = runs.create_run("train", QUICK.to_dict(), "moves", runs_root=tmp_path)
    with pytest.raises(runs.InvalidStateChange, match="queued cannot become finished"):
        runs.write_status(run_dir, state="finished")  # a job runs before it ends
    runs.write_status(run_dir, state="running")
    runs.write_status(run_dir, state="stopped")
    with pytest.raises(runs.InvalidStateChange, match="stopped cannot become running"):
        runs.write_status(run_dir, state="running")  # a late write never revives an ended run
    runs.write_status(run_dir, note="fields other than the state may still be added")
    assert runs.read_status(run_dir)["state"] == "stopped"


def test_a_start_waits_for_a_job_that_has_written_its_end_to_let_go(isolated_artifacts):
    """Between a job's last status write and its letting go of the lock, a start waits
    for it instead of refusing; a job still running is refused at once."""
    from mnist_core import paths
    from mnist_core.jobs.control import JOB_LOCK_FILE, FileLock, claim_job_lock

    root = paths.runs_dir()
    run_dir = runs.create_run("train", {"arch": "mlp", "name": "ending"}, "ending")
    holder = FileLock(root / JOB_LOCK_FILE)
    assert holder.try_acquire()
    holder.write_owner(run_dir.name)
    runs.write_status(run_dir, state="running")
    with pytest.raises(jobs.JobBusy, match=run_dir.name):
        claim_job_lock(root)
    runs.write_status(run_dir, state="stopped")
    threading.Timer(0.5, holder.close).start()
    started = time.monotonic()
    claim_job_lock(root).close()
    assert 0.3 < time.monotonic() - started < 5
