"""Training jobs as real subprocesses: start, progress, finish, stop, failure, death, the lock."""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest

from mnist_core import jobs, runs, store
from mnist_core.training import TrainConfig
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


def test_runs_from_before_settings_were_recorded_take_them_from_their_model():
    from mnist_core.architectures import get_architecture

    run_dir = runs.create_run("train", {**QUICK.to_dict(), "epochs": None, "name": "old-model"}, "baseline_cnn")
    runs.write_status(run_dir, state="finished", model="old-model")
    assert jobs.get_job(run_dir.name).training_settings() is None  # its model is gone
    resolved = QUICK.resolved().to_dict()
    store.save_model(get_architecture("mlp").build(), "old-model",
                     {"arch": "baseline_cnn", "run_id": "another-run", "config": resolved})
    assert jobs.get_job(run_dir.name).training_settings() is None  # a model of that name, from another run
    store.delete_model("old-model")
    store.save_model(get_architecture("mlp").build(), "old-model",
                     {"arch": "baseline_cnn", "run_id": run_dir.name, "config": resolved})
    assert jobs.get_job(run_dir.name).training_settings() == resolved


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


def test_sigkill_while_saving_leaves_no_half_written_model(tiny_npz, isolated_artifacts):
    """Freeze the job the moment its temporary model file appears, kill it there,
    and check that no model file (half or whole) is listed under the name."""
    models = isolated_artifacts / "models"
    for attempt in range(5):
        name = f"half-{attempt}"
        run_id = jobs.start_training(QUICK, name, data_path=str(tiny_npz))
        pid = wait_for(lambda run_id=run_id: jobs.get_job(run_id).status.get("pid"))
        caught = False
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not caught:
            if any(models.glob(".tmp-*.keras")):
                os.kill(pid, signal.SIGSTOP)
                caught = any(models.glob(".tmp-*.keras"))
                os.kill(pid, signal.SIGKILL)
                break
            if not jobs.get_job(run_id).active:
                break
            time.sleep(0.0005)
        wait_until_done(run_id)
        if caught:
            assert not (models / f"{name}.keras").exists() and not (models / f"{name}.json").exists()
            assert name not in [info.name for info in store.list_models()[0]]
            assert jobs.get_job(run_id).state == "interrupted"
            return
    pytest.fail("never caught the job while it was saving")


def test_run_states_and_their_transitions_are_one_table():
    from mnist_core.runs import RunState

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
