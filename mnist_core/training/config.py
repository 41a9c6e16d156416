"""What to train and what to cross-validate: every setting declared once.

``TrainConfig`` and ``CVConfig`` are dataclasses whose fields carry their label,
help, bounds and choices (``mnist_core.settings``). The CLI's options, the Train
and Compare pages' widgets, the checks and the command recorded with a run are
all derived from these declarations: adding a setting is one field here plus its
use in ``fit.train``.
"""

from __future__ import annotations

import math
from dataclasses import MISSING, asdict, dataclass, fields, replace
from typing import Any

from mnist_core.data import NUM_CLASSES
from mnist_core.models.architectures import OPTIMIZERS, REGISTRY, get_architecture
from mnist_core.settings import Setting, is_number, is_whole_number, setting, value_problems

MIN_SUBSET = 100
MAX_EPOCHS = 1000
MAX_FOLDS = 20
SCHEDULES = ("constant", "onecycle")
ARCH_DEFAULT = "the architecture's"


class ConfigError(ValueError):
    """A training configuration that cannot run; the message lists every problem."""


def _architectures() -> tuple[str, ...]:
    return tuple(REGISTRY)


# The settings that training and cross-validation share, declared once.
ARCHITECTURE = Setting("Architecture", "the architecture to train", type=str, choices=_architectures)
EPOCHS = Setting("Epochs", "number of epochs", minimum=1, maximum=MAX_EPOCHS)
BATCH_SIZE = Setting("Batch size", "images per training step", minimum=1)
SUBSET = Setting(
    "Training-set size", "train on this many images of the training set (quick runs)",
    noun="training-set size", minimum=MIN_SUBSET, none_means="all 60,000 images",
    presets={None: "All 60,000 images", 30000: "30,000 images", 10000: "10,000 images", 5000: "5,000 images"},
)
SEED = Setting("Seed", "random seed of the split, the shuffling and the initial weights", minimum=0)


@dataclass(frozen=True)
class TrainConfig:
    """How to train one architecture: None means "the architecture's own default"."""

    arch: str = setting(MISSING, ARCHITECTURE)
    epochs: int | None = setting(None, EPOCHS)
    batch_size: int | None = setting(None, BATCH_SIZE)
    optimizer: str | None = setting(None, Setting("Optimizer", "optimizer", type=str, choices=OPTIMIZERS))
    learning_rate: float | None = setting(None, Setting(
        "Learning rate", "learning rate", type=float, above=0, flag="--lr", number_format="%.5f", step=0.0001))
    lr_schedule: str | None = setting(None, Setting(
        "Learning-rate schedule", "constant, or onecycle: warm up, then cosine decay to almost zero",
        type=str, choices=SCHEDULES, flag="--schedule"))
    val_split: float = setting(0.1, Setting(
        "Validation split", "fraction of the training images held out to validate each epoch",
        type=float, minimum=0.0, maximum=0.5, step=0.05, slider=True))
    subset: int | None = setting(None, SUBSET)
    seed: int = setting(1, replace(SEED, help="random seed of the shuffling, the initial weights and, without a "
                                   "split seed, the split"))
    split_seed: int | None = setting(None, Setting(
        "Split seed", "seed of which images the validation split and the training-set size take, so that runs "
        "with different seeds can hold out the same images (an ensemble's members, chosen on one validation set)",
        minimum=0, none_means="the seed", presets={None: "Same as the seed", 0: "0", 1: "1", 2: "2", 3: "3"}))
    early_stopping: bool | None = setting(None, Setting(
        "Early stopping", "stop when validation accuracy has not improved for the architecture's patience "
        "(2-3 epochs); keep the best epoch", type=bool))
    augment: bool | None = setting(None, Setting(
        "Data augmentation", "random scale, shift and stroke thickness per image while training, in the "
        "architecture's ranges (record_cnn also turns the digits up to 10 degrees and keeps their thickness; "
        "mnist_core/training/augment.py)", type=bool))
    pen_digits: bool = setting(False, Setting(
        "Pen-drawn 1s and 7s", "also train on 5,000 synthetic pen-drawn 1s and 7s, plain and European style "
        "(flagged 1s, crossed 7s), scaled down with the training-set size, so that a flagged 1 is not read as 7",
        type=bool))
    pen_writers: bool = setting(False, Setting(
        "Real pen-written digits", "also train on the 7,494 pen-written digits of pendigits-orig.tra (30 writers, "
        "read through the Draw page's pipeline; the file is found from $PENDIGITS_TRA). The scorecard then "
        "scores pen digits only on writers a model did not train on", type=bool))

    def resolved(self) -> TrainConfig:
        """This config with every None filled in from the architecture's defaults."""
        arch = get_architecture(self.arch)
        return replace(
            self,
            epochs=self.epochs if self.epochs is not None else arch.epochs,
            batch_size=self.batch_size if self.batch_size is not None else arch.batch_size,
            optimizer=self.optimizer or arch.optimizer,
            learning_rate=self.learning_rate if self.learning_rate is not None else arch.learning_rate,
            early_stopping=arch.early_stopping if self.early_stopping is None else self.early_stopping,
            augment=arch.augment if self.augment is None else self.augment,
            lr_schedule=self.lr_schedule or arch.lr_schedule,
        )

    @property
    def data_seed(self) -> int:
        """The seed of the subset and the validation split: the split seed, else the seed."""
        return self.seed if self.split_seed is None else self.split_seed

    def problems(self, n_available: int = 60000) -> list[str]:
        """Everything wrong with this config, as messages a user can act on (empty if fine).

        ``n_available`` is the size of the training set it would draw from.
        """
        if self.arch not in REGISTRY:
            return [f"unknown architecture {self.arch!r}; choose one of: {', '.join(REGISTRY)}"]
        config = self.resolved()
        wrong = value_problems(config)
        errors = list(wrong.values())
        if "val_split" in wrong or "subset" in wrong:
            return errors
        if config.subset is not None and config.subset > n_available:
            return [*errors, _too_many_images(config.subset, n_available)]
        n_total = config.subset or n_available
        n_val = validation_count(n_total, config.val_split)
        if config.val_split > 0 and n_val < NUM_CLASSES:
            errors.append(
                f"a validation split of {config.val_split} of {n_total} images holds {n_val}; "
                f"it needs at least {NUM_CLASSES} (one per digit)"
            )
        n_train = n_total - n_val
        if "batch_size" not in wrong and config.batch_size > n_train:
            errors.append(
                f"batch size must be a whole number from 1 to the {n_train} training images, "
                f"got {config.batch_size!r}"
            )
        if config.early_stopping and config.val_split == 0:
            errors.append("early stopping watches validation accuracy: set a validation split above 0")
        return errors

    def check(self, n_available: int = 60000) -> TrainConfig:
        """The resolved config; raises ConfigError listing every problem."""
        errors = self.problems(n_available)
        if errors:
            raise ConfigError("; ".join(errors))
        return self.resolved()

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        """The config in ``data`` (other keys, such as a job's model name, are ignored)."""
        known = {f.name for f in fields(cls)}
        return cls(**{key: value for key, value in data.items() if key in known})


@dataclass(frozen=True)
class CVConfig:
    """What to cross-validate. None means each architecture's own default."""

    archs: tuple[str, ...] = setting(MISSING, replace(
        ARCHITECTURE, label="Architectures", noun="architecture", help="architecture to cross-validate",
        flag="--arch", many=True))
    folds: int = setting(5, Setting("Folds (k)", "number of folds", noun="folds", minimum=2, maximum=MAX_FOLDS))
    epochs: int | None = setting(None, replace(
        EPOCHS, label="Epochs per fold", noun="epochs", help="epochs per fold",
        presets={None: "each architecture's default", 1: "1", 2: "2", 3: "3", 5: "5", 10: "10", 20: "20"}))
    batch_size: int | None = setting(None, replace(
        BATCH_SIZE, presets={None: "each architecture's default", 32: "32", 64: "64", 128: "128", 256: "256"}))
    subset: int | None = setting(None, replace(SUBSET, help="cross-validate on this many training images"))
    seed: int = setting(1, replace(SEED, label="Seed (the folds and training)", noun="seed",
                                   help="seed of the folds and of training"))

    def problems(self, n_available: int = 60000) -> list[str]:
        """Everything wrong with this config, as messages (empty if it can run)."""
        wrong = value_problems(self)
        errors = list(wrong.values())
        if "archs" not in wrong:
            if not self.archs:
                errors.append("choose at least one architecture")
            if len(set(self.archs)) != len(self.archs):
                errors.append("an architecture is listed twice")
        if "folds" in wrong or "subset" in wrong:
            return errors
        if self.subset is not None and self.subset > n_available:
            return [*errors, _too_many_images(self.subset, n_available)]
        n_fold_train = self.fold_training_images(n_available)
        for name in self.archs if "archs" not in wrong else ():
            for problem in self.fold_config(name).problems(n_fold_train):
                message = f"{name}: {problem}" if len(self.archs) > 1 else problem
                if message not in errors:
                    errors.append(message)
        return errors

    def fold_training_images(self, n_available: int = 60000) -> int:
        """How many images each fold trains on: (k-1)/k of the images; the rest validate."""
        n_total = self.subset or n_available
        return n_total - math.ceil(n_total / self.folds)

    def fold_config(self, arch: str) -> TrainConfig:
        """The TrainConfig that trains ``arch`` on one fold: the held-out fold validates,
        so no further split and no early stopping (every fold trains as long)."""
        return TrainConfig(arch=arch, epochs=self.epochs, batch_size=self.batch_size,
                           val_split=0.0, seed=self.seed, early_stopping=False)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["archs"] = list(self.archs)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CVConfig:
        known = {f.name for f in fields(cls)}
        values = {key: value for key, value in data.items() if key in known}
        values["archs"] = tuple(values.get("archs", ()))
        return cls(**values)


# The Train page's "Quick run": a newcomer's first model, in about ten seconds here.
# Its test accuracy is held to QUICK_RUN_MIN_ACCURACY by the tests.
QUICK_RUN = TrainConfig(arch="quick_cnn", subset=5000, epochs=2, early_stopping=False)
QUICK_RUN_MIN_ACCURACY = 0.95


def _too_many_images(subset: int, n_available: int) -> str:
    return f"training-set size must be a whole number from {MIN_SUBSET} to {n_available}, got {subset!r}"


def validation_count(n_total: int, val_split: float) -> int:
    """How many of ``n_total`` images a validation split holds out (as scikit-learn's
    train_test_split does for a float test_size)."""
    return math.ceil(n_total * val_split) if val_split > 0 else 0


def describe_settings(stored: dict[str, Any], resolved: dict[str, Any] | None = None) -> str:
    """A run's settings as one line: "20 ep · batch 128 · adam 0.003 onecycle · augmented · all images".

    ``resolved`` is the full config the job recorded when it started (every
    default filled in). Without it (a run that failed before it started training)
    only ``stored`` is known, where None means "the architecture's default": those
    are shown as "defaults" rather than guessed.
    """
    config = TrainConfig.from_dict({"arch": None, **(resolved or stored)})
    learning_rate = f"{config.learning_rate:g}" if is_number(config.learning_rate) else None
    schedule = config.lr_schedule if config.lr_schedule != "constant" else None
    optimizer = " ".join(part for part in (config.optimizer, learning_rate, schedule) if part)
    parts = [
        f"{config.epochs} ep" if config.epochs is not None else "",
        f"batch {config.batch_size}" if config.batch_size is not None else "",
        optimizer,
        "augmented" if config.augment else "",
        "pen-drawn 1s and 7s" if config.pen_digits else "",
        "real pen digits" if config.pen_writers else "",
    ]
    if resolved is None and None in (config.epochs, config.batch_size, config.optimizer, config.learning_rate,
                                      config.lr_schedule, config.augment):
        parts.append("defaults" if not any(parts) else "other settings default")
    parts.append(f"{config.subset:,} images" if is_whole_number(config.subset) else "all images")
    return " · ".join(part for part in parts if part)
