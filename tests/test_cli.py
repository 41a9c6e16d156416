"""The command line, run as a user runs it: ``python -m mnist_core ...`` in a subprocess."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from mnist_core import runs, store
from tests.conftest import run_cli


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
    assert 0 <= metadata["test_accuracy"] <= 1 and metadata["train_seconds"] > 0
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


def test_predict_reads_files_and_reports_bad_ones(trained, tiny_data, tmp_path):
    env, _, _ = trained
    good = tmp_path / "digit.png"
    Image.fromarray(tiny_data.x_test[0]).resize((140, 140)).save(good)
    inverted = tmp_path / "inverted.jpg"
    Image.fromarray(255 - tiny_data.x_test[1]).convert("RGB").save(inverted)
    not_image = tmp_path / "notes.png"
    not_image.write_text("not an image")
    result = run_cli("predict", str(good), str(not_image), str(inverted), str(tmp_path / "missing.png"), env=env)
    assert result.returncode == 1
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["file"] for line in lines] == [str(good), str(not_image), str(inverted), str(tmp_path / "missing.png")]
    for line in (lines[0], lines[2]):
        assert 0 <= line["label"] <= 9 and len(line["probabilities"]) == 10
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
