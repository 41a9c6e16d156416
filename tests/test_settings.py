"""Settings declared once: the CLI, the checks, the recorded command and the job's
config.json all come from the declarations in mnist_core/training/config.py."""

from __future__ import annotations

import json
import shlex
from dataclasses import fields

import pytest

from mnist_core.cli import build_parser
from mnist_core.jobs import runs
from mnist_core.jobs.spec import CrossValidationJob, JobSpecError, TrainingJob, read_job_spec
from mnist_core.settings import Setting, declared, from_arguments, to_arguments, value_problem
from mnist_core.training.config import CVConfig, TrainConfig
from tests.conftest import run_cli

AWAY_FROM_DEFAULTS = TrainConfig(
    arch="lenet_tanh", epochs=3, batch_size=64, optimizer="sgd", learning_rate=0.05, lr_schedule="onecycle",
    val_split=0.2, subset=2000, seed=7, split_seed=3, early_stopping=True, augment=False, pen_digits=True,
    pen_writers=True,
)


@pytest.mark.parametrize("config_class", [TrainConfig, CVConfig])
def test_every_field_is_a_declared_setting(config_class):
    assert [item.name for item, _ in declared(config_class)] == [item.name for item in fields(config_class)]


def test_every_training_setting_goes_through_the_cli_and_back():
    arguments = to_arguments(AWAY_FROM_DEFAULTS)
    # Each setting away from its default becomes an option: none is forgotten.
    assert len({a for a in arguments if a.startswith("--")}) == len(fields(TrainConfig))
    parsed = build_parser().parse_args(["train", *arguments])
    assert from_arguments(TrainConfig, parsed) == AWAY_FROM_DEFAULTS


def test_options_left_out_take_the_declared_defaults():
    parsed = build_parser().parse_args(["train", "--arch", "mlp"])
    assert from_arguments(TrainConfig, parsed) == TrainConfig(arch="mlp")
    parsed = build_parser().parse_args(["cv", "--arch", "mlp", "--arch", "conv4", "--folds", "3"])
    assert from_arguments(CVConfig, parsed) == CVConfig(archs=("mlp", "conv4"), folds=3)


def test_the_recorded_command_gives_the_same_job_back():
    job = TrainingJob(AWAY_FROM_DEFAULTS, "again", save_if_stopped=False, set_default=True, data="/data/mnist.npz")
    command = shlex.split(shlex.join(job.command()))
    assert command[:4] == ["python", "-m", "mnist_core", "train"]
    parsed = build_parser().parse_args(command[3:])
    assert from_arguments(TrainConfig, parsed) == AWAY_FROM_DEFAULTS
    assert (parsed.name, parsed.discard_if_stopped, parsed.set_default, str(parsed.data)) == \
        ("again", True, True, "/data/mnist.npz")
    cv = CrossValidationJob(CVConfig(archs=("mlp", "conv4"), folds=3, epochs=2, subset=1000, seed=4))
    assert from_arguments(CVConfig, build_parser().parse_args(cv.command()[3:])) == cv.config


@pytest.mark.parametrize(
    "spec, value, message",
    [
        (Setting("Epochs", "", minimum=1, maximum=10), 0, "epochs must be at least 1, got 0"),
        (Setting("Epochs", "", minimum=1, maximum=10), 11, "epochs must be at most 10, got 11"),
        (Setting("Epochs", "", minimum=1), 2.5, "epochs must be a whole number, got 2.5"),
        (Setting("Epochs", "", minimum=1), True, "epochs must be a whole number, got True"),
        (Setting("Rate", "", type=float, above=0), 0.0, "rate must be a number above 0, got 0.0"),
        (Setting("Rate", "", type=float, above=0), float("inf"), "rate must be a number, got inf"),
        (Setting("Split", "", type=float, minimum=0, maximum=0.5), 0.6, "split must be from 0 to 0.5, got 0.6"),
        (Setting("Optimizer", "", type=str, choices=("sgd", "adam")), "lbfgs",
         "unknown optimizer 'lbfgs'; choose one of: sgd, adam"),
        (Setting("Augment", "", type=bool), "yes", "augment must be true or false, got 'yes'"),
        (Setting("Architectures", "", type=str, many=True, choices=("mlp",), noun="architecture"), ("cnn",),
         "unknown architecture(s) cnn; choose from: mlp"),
    ],
)
def test_a_value_out_of_its_declared_bounds_is_named_with_them(spec, value, message):
    assert value_problem(spec, value) == message


@pytest.mark.parametrize(
    "spec, value",
    [
        (Setting("Epochs", "", minimum=1, maximum=10), 10),
        (Setting("Rate", "", type=float, above=0), 1e-9),
        (Setting("Split", "", type=float, minimum=0, maximum=0.5), 0),
        (Setting("Augment", "", type=bool), False),
    ],
)
def test_a_value_within_bounds_passes(spec, value):
    assert value_problem(spec, value) is None


def test_cli_bounds_come_from_the_declaration():
    result = run_cli("cv", "--arch", "mlp", "--folds", "21")
    assert result.returncode == 2 and "folds must be at most 20, got 21" in result.stderr
    assert "Traceback" not in result.stderr


def _hand_written_run(kind: str, config: dict) -> str:
    return runs.create_run(kind, config, "hand-written").name


def test_the_job_reads_its_settings_from_config_json(tiny_npz):
    """config.json is the worker's only input: what is in it is what is trained."""
    job = TrainingJob(TrainConfig(arch="mlp", epochs=1, subset=200, seed=5), "from-config", data=str(tiny_npz))
    run_id = _hand_written_run("train", job.to_dict())
    spec = read_job_spec(runs.run_path(run_id))
    assert spec == job
    result = run_cli("job", str(runs.run_path(run_id)))
    assert result.returncode == 0, result.stderr
    status = runs.read_status(runs.run_path(run_id))
    assert status["state"] == "finished" and status["model"] == "from-config"
    assert status["settings"] == job.config.resolved().to_dict()


@pytest.mark.parametrize(
    "kind, config, message",
    [
        ("train", {"arch": "mlp", "epochs": 0, "name": "x"}, "epochs must be at least 1, got 0"),
        ("train", {"arch": "mlp", "name": "../x"}, "invalid model name"),
        ("train", {"epochs": 2, "name": "x"}, "does not describe a job this version can run"),
        ("cv", {"archs": ["mlp"], "folds": "five"}, "folds must be a whole number, got 'five'"),
        ("deploy", {}, "asks for no job this version runs"),
    ],
)
def test_a_config_json_no_job_can_run_is_refused_and_the_run_marked_failed(kind, config, message):
    run_id = _hand_written_run(kind, config)
    with pytest.raises(JobSpecError, match=message.replace("(", r"\(").replace(")", r"\)")):
        read_job_spec(runs.run_path(run_id))
    result = run_cli("job", str(runs.run_path(run_id)))
    assert result.returncode == 2 and message in result.stderr and "Traceback" not in result.stderr
    status = runs.read_status(runs.run_path(run_id))
    assert status["state"] == "failed" and message in status["error"]


def test_config_json_records_the_schema_and_a_command_that_reproduces_it():
    job = TrainingJob(TrainConfig(arch="mlp", epochs=1), "recorded")
    run_dir = runs.create_run("train", job.to_dict(), "mlp", command=shlex.join(job.command()))
    stored = json.loads((run_dir / runs.CONFIG_FILE).read_text())
    assert stored["schema"] == runs.SCHEMA and stored["kind"] == "train"
    assert stored["command"] == "python -m mnist_core train --arch mlp --epochs 1 --name recorded"
