"""The command line, run as a user runs it: ``python -m mnist_core ...`` in a subprocess."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from mnist_core.jobs import runs
from mnist_core.models import store
from tests.conftest import run_cli
from tests.helpers import wait_until_done


def test_help_lists_every_command():
    result = run_cli("--help")
    assert result.returncode == 0
    for command in ("architectures", "train", "evaluate", "predict", "models"):
        assert command in result.stdout


@pytest.mark.parametrize("command", ["architectures", "train", "evaluate", "predict", "models"])
def test_every_command_has_help(command):
    result = run_cli(command, "--help")
    assert result.returncode == 0 and "usage:" in result.stdout


def test_architectures_table():
    result = run_cli("architectures")
    assert result.returncode == 0
    lines = result.stdout.splitlines()
    assert lines[0].split()[:3] == ["name", "parameters", "defaults"]
    mlp = next(line for line in lines if line.startswith("mlp "))
    assert "898,510" in mlp
    assert "stderr" not in result.stderr and "oneDNN" not in result.stderr


@pytest.fixture(scope="module")
def trained(tmp_path_factory, tiny_npz):
    """One tiny model trained through the CLI, shared by the tests below."""
    artifacts = tmp_path_factory.mktemp("cli-artifacts")
    env = {"MNIST_STUDIO_ARTIFACTS": str(artifacts)}
    result = run_cli("train", "--arch", "baseline_cnn", "--epochs", "2", "--subset", "400",
                     "--data", str(tiny_npz), "--name", "tiny", "--seed", "3", env=env)
    assert result.returncode == 0, result.stderr
    return env, artifacts, result


def test_train_saves_the_model_and_its_run(trained, tiny_npz):
    env, artifacts, result = trained
    assert "saved model 'tiny'" in result.stdout
    metadata = json.loads((artifacts / "models" / "tiny.json").read_text())
    assert metadata["arch"] == "baseline_cnn" and metadata["epochs_done"] == 2
    assert metadata["command"].startswith("python -m mnist_core train --arch baseline_cnn")
    assert metadata["data"]["sha256"] and metadata["versions"]["keras"].startswith("3.")
    assert metadata["test_accuracy"] > 0.9 and metadata["train_seconds"] > 0  # the synthetic digits are easy
    assert len(metadata["history"]["loss"]) == 2
    (run,) = runs.list_runs(artifacts / "runs")
    assert run.status["state"] == "finished" and run.status["model"] == "tiny"
    assert any(e["event"] == "epoch" for e in runs.read_progress(run.path))


def test_models_lists_it_as_the_default(trained):
    env, _, _ = trained
    result = run_cli("models", env=env)
    assert result.returncode == 0
    (row,) = [line for line in result.stdout.splitlines() if "tiny" in line]
    assert row.startswith("*") and "baseline_cnn" in row and "%" in row


def test_evaluate_prints_accuracy_as_a_percentage(trained, tiny_npz):
    env, artifacts, _ = trained
    result = run_cli("evaluate", "--model", "tiny", "--data", str(tiny_npz), env=env)
    assert result.returncode == 0, result.stderr
    accuracy = json.loads((artifacts / "models" / "tiny.json").read_text())["test_accuracy"]
    assert f"test accuracy: {accuracy:.2%}" in result.stdout
    # Without --model it uses the default model, which is the only one.
    assert run_cli("evaluate", "--data", str(tiny_npz), env=env).stdout == result.stdout


def test_evaluate_with_views_and_an_ensemble_reads_as_the_averaged_probabilities(trained, tiny_npz, tiny_data):
    from mnist_core.models import store
    from mnist_core.models.test_time import averaged_probabilities

    env, artifacts, _ = trained
    result = run_cli("evaluate", "--model", "tiny", "--view", "shifts", "--with", "tiny", "--json",
                     "--data", str(tiny_npz), env=env)
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    model = store.load_model("tiny", artifacts / "models")
    expected = averaged_probabilities(model, tiny_data.x_test, "shifts").argmax(axis=1) == tiny_data.y_test
    assert summary["accuracy"] == pytest.approx(float(expected.mean()), abs=1e-9)
    refused = run_cli("evaluate", "--model", "tiny", "--view", "sideways", env=env)
    assert refused.returncode == 2 and "invalid choice: 'sideways'" in refused.stderr
    missing = run_cli("evaluate", "--model", "tiny", "--with", "absent", env=env)
    assert missing.returncode == 2 and "no saved model called 'absent'" in missing.stderr


def test_predict_reads_files_and_reports_bad_ones(mnist, tmp_path):
    """Real MNIST digits, enlarged or inverted, read by the shipped default model."""
    from tests.conftest import SHIPPED_ARTIFACTS

    env = {"MNIST_STUDIO_ARTIFACTS": str(SHIPPED_ARTIFACTS)}  # predict only reads
    good = tmp_path / "digit.png"
    Image.fromarray(mnist.x_test[0]).resize((140, 140)).save(good)
    inverted = tmp_path / "inverted.jpg"
    Image.fromarray(255 - mnist.x_test[1]).convert("RGB").save(inverted)
    not_image = tmp_path / "notes.png"
    not_image.write_text("not an image")
    result = run_cli("predict", str(good), str(not_image), str(inverted), str(tmp_path / "missing.png"), env=env)
    assert result.returncode == 1
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["file"] for line in lines] == [str(good), str(not_image), str(inverted), str(tmp_path / "missing.png")]
    assert (lines[0]["label"], lines[2]["label"]) == (int(mnist.y_test[0]), int(mnist.y_test[1]))
    for line in (lines[0], lines[2]):
        assert len(line["probabilities"]) == 10
        assert sum(line["probabilities"]) == pytest.approx(1.0, abs=1e-4)
        assert line["label"] == int(np.argmax(line["probabilities"]))
    assert "not an image" in lines[1]["error"] and "No such file" in lines[3]["error"]


def test_predict_exit_zero_when_all_files_read(trained, tiny_data, tmp_path):
    env, _, _ = trained
    path = tmp_path / "one.png"
    Image.fromarray(tiny_data.x_test[0]).save(path)
    assert run_cli("predict", "--model", "tiny", str(path), env=env).returncode == 0


@pytest.mark.parametrize(
    "args, message",
    [
        (["train", "--arch", "resnet"], "invalid choice"),
        (["train", "--arch", "mlp", "--epochs", "0"], "must be at least 1"),
        (["train", "--arch", "mlp", "--lr", "-1"], "learning rate must be a number above 0"),
        (["train", "--arch", "mlp", "--name", "../up"], "invalid model name"),
        (["train", "--arch", "mlp", "--data", "/nonexistent/mnist.npz"], "MNIST file not found"),
        (["evaluate", "--model", "absent"], "no saved model called 'absent'"),
        (["evaluate", "--model", "a/b"], "invalid model name"),
        (["predict", "x.png"], "no saved models yet"),
        (["models", "--delete", "absent"], "no saved model called"),
    ],
)
def test_bad_input_gives_one_clear_line(args, message):
    result = run_cli(*args)
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr


def test_train_refuses_a_taken_name_before_training(trained, tiny_npz):
    env, _, _ = trained
    result = run_cli("train", "--arch", "mlp", "--name", "tiny", "--data", str(tiny_npz), env=env)
    assert result.returncode == 2 and "already exists" in result.stderr


def test_models_set_default(trained):
    env, artifacts, _ = trained
    assert run_cli("models", "--set-default", "tiny", env=env).returncode == 0
    assert store.default_model_name(artifacts / "models") == "tiny"


# --- Trust: the guard, names, the lock, leftovers ---------------------------------


def test_a_model_near_chance_is_saved_failed_and_never_made_the_default(tiny_npz, isolated_artifacts):
    """A learning rate far too small leaves the model at chance: the run says so, exits
    1, and the model is marked failed everywhere instead of being handed out."""
    result = run_cli("train", "--arch", "baseline_cnn", "--epochs", "1", "--subset", "300", "--optimizer", "sgd",
                     "--lr", "1e-9", "--data", str(tiny_npz), "--name", "junk", "--set-default")
    assert result.returncode == 1, result.stderr
    assert "warning: model 'junk' FAILED its check" in result.stderr and "near chance" in result.stderr
    assert "Traceback" not in result.stderr
    metadata = store.read_metadata("junk")
    assert metadata["state"] == "failed" and metadata["check"]["split"] == "validation"
    assert metadata["check"]["accuracy"] < store.MIN_USEFUL_ACCURACY
    assert store.default_model_name() is None
    (run,) = runs.list_runs()
    assert run.status["state"] == "finished" and run.status["model_state"] == "failed"
    listing = run_cli("models")
    (row,) = [line for line in listing.stdout.splitlines() if "junk" in line]
    assert "FAILED" in row and not row.startswith("*")
    assert "warning: junk is FAILED" in listing.stderr


@pytest.mark.parametrize("name, message", [("", "cannot be empty"), ("tail\n", "invalid model name")])
def test_train_refuses_an_empty_or_multiline_name_and_leaves_nothing(name, message, tiny_npz, isolated_artifacts):
    result = run_cli("train", "--arch", "mlp", "--name", name, "--data", str(tiny_npz))
    assert result.returncode == 2 and message in result.stderr
    assert not (isolated_artifacts / "runs").exists() or runs.list_runs() == []


def test_listing_the_architectures_does_not_import_tensorflow():
    import subprocess
    import sys

    from tests.conftest import REPO_ROOT

    code = ("import sys, contextlib, io; from mnist_core.cli import main\n"
            "with contextlib.redirect_stdout(io.StringIO()): main(['architectures'])\n"
            "print('tensorflow' in sys.modules, 'keras' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert result.stdout.split() == ["False", "False"], result.stderr


def test_models_rename_and_delete_the_default(trained, tmp_path):
    import shutil

    _, artifacts, _ = trained
    copy = tmp_path / "artifacts"
    shutil.copytree(artifacts, copy, ignore=shutil.ignore_patterns("*.lock"))
    env = {"MNIST_STUDIO_ARTIFACTS": str(copy)}
    result = run_cli("models", "--rename", "tiny", "small", env=env)
    assert result.returncode == 0 and "renamed model tiny to small" in result.stdout
    assert store.default_model_name(copy / "models") == "small"
    refused = run_cli("models", "--rename", "small", "bad/name", env=env)
    assert refused.returncode == 2 and "invalid model name" in refused.stderr
    deleted = run_cli("models", "--delete", "small", env=env)
    assert deleted.returncode == 0 and "default model: none" in deleted.stdout


def test_a_refused_start_leaves_no_run_folder_and_names_the_running_job(tiny_npz, isolated_artifacts):
    from mnist_core import jobs
    from mnist_core.training.config import TrainConfig

    first = jobs.start_training(TrainConfig(arch="baseline_cnn", epochs=200, batch_size=10, subset=600),
                                "holder", data_path=str(tiny_npz))
    try:
        refused = run_cli("train", "--arch", "mlp", "--epochs", "1", "--subset", "200", "--data", str(tiny_npz))
        assert refused.returncode == 2 and f"a job is already running: {first}" in refused.stderr
        assert [run.run_id for run in runs.list_runs()] == [first]
        # A run folder elsewhere does not get round the store's one lock.
        elsewhere = isolated_artifacts.parent / "elsewhere" / "my-run"
        refused = run_cli("train", "--arch", "mlp", "--epochs", "1", "--subset", "200", "--data", str(tiny_npz),
                          "--run-dir", str(elsewhere))
        assert refused.returncode == 2 and f"a job is already running: {first}" in refused.stderr
        assert not elsewhere.exists()
    finally:
        jobs.stop_job(first)
    wait_until_done(first)


def test_a_job_start_clears_temporary_files_left_by_a_killed_save(tiny_npz, isolated_artifacts):
    import os
    import time

    models = isolated_artifacts / "models"
    models.mkdir(parents=True)
    leftover = models / ".tmp-killed-mid-save.keras"
    leftover.write_bytes(b"half a model")
    an_hour_ago = time.time() - 3600
    os.utime(leftover, (an_hour_ago, an_hour_ago))
    result = run_cli("train", "--arch", "baseline_cnn", "--epochs", "1", "--subset", "300",
                     "--data", str(tiny_npz), "--name", "after-a-kill")
    assert result.returncode in (0, 1), result.stderr
    assert not leftover.exists()
    assert store.model_exists("after-a-kill")
