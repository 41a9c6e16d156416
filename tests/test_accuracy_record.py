"""The accuracy record's preset, as the user gets it: ``record_cnn`` with its own
optimiser, schedule and augmentation. Its full run (26 epochs, about 21 minutes) is
the shipped ``record_cnn-v4``, which test_shipped_model checks against BENCHMARKS.md;
here a short run of it, 2 epochs on 12,000 images, must already read well, so a
change that breaks the preset (its ranges of augmentation, its schedule) shows."""

from __future__ import annotations

import pytest

from mnist_core.models.architectures import get_architecture
from mnist_core.training.config import TrainConfig
from mnist_core.training.fit import train


@pytest.mark.slow
def test_record_cnn_with_its_settings_learns_from_a_short_run(mnist):
    arch = get_architecture("record_cnn")
    assert arch.augment and arch.augmentation.max_rotation_deg == 10.0 and arch.lr_schedule == "onecycle"
    result = train(TrainConfig(arch="record_cnn", epochs=2, subset=12_000, seed=1), mnist)
    assert result.epochs_done == 2 and result.n_train == 10_800
    assert result.test_accuracy >= 0.97  # 97.9-98.0% with seeds 1 and 2


def test_a_record_model_is_chosen_for_only_by_its_twin():
    """The looks of a record model that held out nothing are chosen on the validation
    images of a twin: the same settings with a validation split, nothing else."""
    from bench.accuracy_record import check_twin

    record = {"name": "record", "config": {"arch": "record_cnn", "epochs": 26, "seed": 1, "val_split": 0.0}}
    twin = {"name": "twin", "config": {**record["config"], "val_split": 0.1}}
    check_twin(record, twin)
    with pytest.raises(SystemExit, match="held out no validation images"):
        check_twin(record, {"name": "twin", "config": record["config"]})
    with pytest.raises(SystemExit, match="their epochs, seed differ"):
        check_twin(record, {"name": "twin", "config": {**twin["config"], "epochs": 36, "seed": 2}})


def test_an_ensemble_member_must_be_saved_and_hold_out_the_same_images():
    """Members are averaged on the record model's validation images, so each must be
    saved (else the message gives the command that trains it) and must have held
    out exactly those images: the same split seed, whatever its own seed."""
    from bench.accuracy_record import MEMBER_COMMANDS, check_members
    from mnist_core.models import store
    from mnist_core.models.architectures import get_architecture

    record = {"config": {"arch": "record_cnn", "seed": 1, "val_split": 0.1, "subset": None}}
    with pytest.raises(SystemExit, match="train --arch record_cnn --seed 2 --split-seed 1 --name record_cnn-seed2"):
        check_members(["record_cnn-seed2"], record)
    assert "--split-seed 1" in " ".join(MEMBER_COMMANDS["record_cnn-seed3"])
    model = get_architecture("lenet_tanh").build()
    store.save_model(model, "same-split", {"arch": "lenet_tanh", "config": {
        **record["config"], "seed": 5, "split_seed": 1}})
    store.save_model(model, "other-split", {"arch": "lenet_tanh", "config": {**record["config"], "seed": 5}})
    assert check_members(["same-split"], record)["same-split"]["config"]["split_seed"] == 1
    with pytest.raises(SystemExit, match="other-split was trained on another split"):
        check_members(["same-split", "other-split"], record)
