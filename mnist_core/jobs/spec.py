"""What a job is asked to do: the contract between whoever starts a job and the job.

The starter (the app, or the CLI run from a terminal) checks a ``TrainingJob`` or
``CrossValidationJob`` and writes it once, as the run folder's ``config.json``
(``{"schema": 1, "kind": "train"|"cv", "config": {...}}``, see ``runs``). The job
process reads it back with ``read_job_spec``, the only input it takes, and checks
it with the same ``problems`` (a hand-edited file is refused the same way).

``config`` in the file is flat: the training (or cross-validation) settings
(``mnist_core.training.config``) next to the job's own (the model's name, whether
to keep a model stopped early, the data file).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mnist_core.jobs.runs as runs
from mnist_core.settings import to_arguments
from mnist_core.training.config import CVConfig, TrainConfig

TRAIN, CROSS_VALIDATION = "train", "cv"


class JobSpecError(ValueError):
    """A run folder's config.json that no job can run; the message says why."""


@dataclass(frozen=True)
class TrainingJob:
    """Train ``config`` and save the model as ``name``."""

    config: TrainConfig
    name: str
    save_if_stopped: bool = True  # save the model when the run is stopped early
    set_default: bool = False  # make it the default model (never one that fails its check)
    data: str | None = None  # the MNIST .npz (None: $MNIST_NPZ, else the Keras download)

    kind = TRAIN

    @property
    def label(self) -> str:
        """The label in the run's id."""
        return self.config.arch

    def problems(self, check_name_free: bool = True) -> list[str]:
        """Everything wrong with this job, as messages (empty if it can run).

        ``check_name_free``: also refuse a name a saved model has (the starter asks;
        the job itself does not: the store refuses to overwrite a model anyway).
        """
        from mnist_core.models import store

        problems = self.config.problems()
        if self.config.pen_writers is True and not _pendigits_found():
            problems.append("training on real pen digits needs the pendigits file: set PENDIGITS_TRA to "
                            "pendigits-orig.tra")
        if not isinstance(self.save_if_stopped, bool) or not isinstance(self.set_default, bool):
            problems.append("save_if_stopped and set_default must be true or false")
        try:
            store.validate_name(self.name)
            if check_name_free and store.model_exists(self.name):
                problems.append(f"a model called {self.name!r} already exists; choose another name")
        except store.InvalidModelName as error:
            problems.append(str(error))
        return problems

    def command(self) -> list[str]:
        """The CLI command that runs this job from a terminal (recorded with the run and the model)."""
        return ["python", "-m", "mnist_core", "train", *to_arguments(self.config), "--name", self.name,
                *([] if self.save_if_stopped else ["--discard-if-stopped"]),
                *(["--set-default"] if self.set_default else []),
                *(["--data", self.data] if self.data else [])]

    def to_dict(self) -> dict[str, Any]:
        return {**self.config.to_dict(), "name": self.name, "save_if_stopped": self.save_if_stopped,
                "set_default": self.set_default, "data": self.data}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainingJob:
        return cls(TrainConfig.from_dict(data), name=data.get("name"),
                   save_if_stopped=data.get("save_if_stopped", True), set_default=data.get("set_default", False),
                   data=data.get("data"))


@dataclass(frozen=True)
class CrossValidationJob:
    """Cross-validate the architectures of ``config``."""

    config: CVConfig
    data: str | None = None

    kind = CROSS_VALIDATION

    @property
    def label(self) -> str:
        return "cv-" + "-".join(self.config.archs)[:40]

    def problems(self, check_name_free: bool = True) -> list[str]:
        return self.config.problems()

    def command(self) -> list[str]:
        return ["python", "-m", "mnist_core", "cv", *to_arguments(self.config),
                *(["--data", self.data] if self.data else [])]

    def to_dict(self) -> dict[str, Any]:
        return {**self.config.to_dict(), "data": self.data}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CrossValidationJob:
        return cls(CVConfig.from_dict(data), data=data.get("data"))


JobSpec = TrainingJob | CrossValidationJob
KINDS = {TRAIN: TrainingJob, CROSS_VALIDATION: CrossValidationJob}


def with_data(spec: JobSpec, data_path: str | Path | None) -> JobSpec:
    """``spec`` reading MNIST from ``data_path`` (made absolute: the job runs elsewhere)."""
    from dataclasses import replace

    return replace(spec, data=str(Path(data_path).expanduser().resolve()) if data_path else None)


def read_job_spec(run_dir: Path) -> JobSpec:
    """The job a run folder's config.json asks for, checked; raises JobSpecError."""
    try:
        stored = runs.read_config(run_dir)
    except (OSError, ValueError) as error:
        raise JobSpecError(f"cannot read the job's {runs.CONFIG_FILE}: {error}") from None
    kind, config = stored.get("kind"), stored.get("config")
    if kind not in KINDS or not isinstance(config, dict):
        raise JobSpecError(f"{runs.CONFIG_FILE} asks for no job this version runs (kind {kind!r})")
    try:
        spec = KINDS[kind].from_dict(config)
    except (TypeError, ValueError) as error:
        raise JobSpecError(f"{runs.CONFIG_FILE} does not describe a job this version can run: {error}") from None
    problems = spec.problems(check_name_free=False)
    if problems:
        raise JobSpecError("; ".join(problems))
    return spec


def _pendigits_found() -> bool:
    from mnist_core.digitsets import find_pendigits

    path = find_pendigits()
    return path is not None and path.is_file()
