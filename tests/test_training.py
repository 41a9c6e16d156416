"""Training: every architecture trains, progress is recorded, stop requests are honoured."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mnist_core.jobs import runs
from mnist_core.models.architectures import REGISTRY
from mnist_core.training.config import ConfigError, TrainConfig
from mnist_core.training.fit import make_dataset, train


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_every_architecture_trains_one_epoch(name, tiny_data):
    config = TrainConfig(arch=name, epochs=1, batch_size=32, subset=300, early_stopping=False)
    result = train(config, tiny_data)
    assert result.epochs_done == 1 and not result.stopped
    assert result.n_train + result.n_val == 300 and result.n_val == 30
    assert set(result.history) >= {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert math.isfinite(result.history["loss"][0])
    # The synthetic digits are easy: every architecture passes 75% in this one epoch (chance is 10%),
    # and reads the test images as well as its validation images (batch norm measured, not averaged).
    assert result.test_accuracy > 0.5 and math.isfinite(result.test_loss)
    assert abs(result.test_accuracy - result.check_accuracy) < 0.2
    assert result.model.predict(np.zeros((1, 28, 28, 1), np.float32), verbose=0).shape == (1, 10)


def test_training_learns_the_synthetic_digits(tiny_data):
    result = train(TrainConfig(arch="baseline_cnn", epochs=3, subset=500, seed=2), tiny_data)
    # Ten classes: chance is 10%. The synthetic bars are easy to tell apart.
    assert result.test_accuracy > 0.8
    assert result.history["loss"][-1] < result.history["loss"][0]


def test_same_seed_same_result(tiny_data):
    config = TrainConfig(arch="lenet_tanh", epochs=1, batch_size=50, subset=200, seed=7)
    first, second = train(config, tiny_data), train(config, tiny_data)
    assert first.history["loss"] == pytest.approx(second.history["loss"], rel=1e-4)


def test_a_split_seed_holds_out_the_images_of_that_seed(tiny_data):
    """Runs with different seeds and one split seed hold out the same images, so an
    ensemble of them can be chosen on one validation set."""
    from bench.accuracy_record import held_out_by, validation_split

    config = TrainConfig(arch="lenet_tanh", epochs=1, batch_size=50, subset=300, seed=2, split_seed=1)
    assert config.data_seed == 1 and TrainConfig(arch="lenet_tanh", seed=2).data_seed == 2
    result = train(config, tiny_data)
    metadata = config.resolved().to_dict()
    assert held_out_by(metadata) == held_out_by({**metadata, "seed": 1, "split_seed": None})
    assert held_out_by(metadata) != held_out_by({**metadata, "split_seed": None})
    # The run's check (its finished model on its validation images) is these images' loss.
    x_val, y_val = validation_split(tiny_data, metadata)
    assert len(y_val) == result.n_val == 30
    loss = result.model.evaluate(make_dataset(x_val, y_val, 1000, shuffle=False), verbose=0)[0]
    assert loss == pytest.approx(result.check_loss, rel=1e-4)
    x_other, y_other = validation_split(tiny_data, {**metadata, "split_seed": None})
    assert not np.array_equal(x_other, x_val)
    # A model saved before split seeds existed split with its seed.
    assert held_out_by({key: value for key, value in metadata.items() if key != "split_seed"})[0] == 2


def test_progress_file_records_batches_and_epochs(tiny_data, tmp_path):
    run_dir = runs.create_run("train", {}, "t", runs_root=tmp_path)
    config = TrainConfig(arch="simple_cnn", epochs=2, batch_size=20, subset=300)
    train(config, tiny_data, run_dir=run_dir)
    events = runs.read_progress(run_dir)
    assert events[0]["event"] == "train_start" and events[0]["epochs"] == 2
    batches_per_epoch = math.ceil(270 / 20)
    assert events[0]["batches"] == batches_per_epoch
    epochs = [e for e in events if e["event"] == "epoch"]
    assert [e["epoch"] for e in epochs] == [1, 2]
    for record in epochs:
        assert {"loss", "accuracy", "val_loss", "val_accuracy", "seconds", "lr"} <= set(record)
        assert record["seconds"] > 0
    batches = [e for e in events if e["event"] == "batch"]
    assert {b["epoch"] for b in batches} == {1, 2}
    assert all(b["batches"] == batches_per_epoch and 1 <= b["batch"] <= batches_per_epoch for b in batches)
    # Every epoch's last batch is recorded, so the curve reaches the epoch's end.
    assert sum(b["batch"] == batches_per_epoch for b in batches) == 2
    assert all(0 <= b["accuracy"] <= 1 and b["loss"] > 0 for b in batches)
    # The events come in time order, with the epoch summary after its batches, even
    # though batch records are written from Keras' worker threads.
    times = [e["time"] for e in events]
    assert times == sorted(times)
    for epoch in (1, 2):
        numbers = [e["batch"] for e in events if e["event"] == "batch" and e["epoch"] == epoch]
        assert numbers == sorted(set(numbers))
        last_batch = max(i for i, e in enumerate(events) if e["event"] == "batch" and e["epoch"] == epoch)
        assert events[last_batch + 1] == next(e for e in epochs if e["epoch"] == epoch)


def test_stop_request_ends_training_after_the_current_batch(tiny_data, tmp_path):
    calls = []

    def should_stop():
        calls.append(1)
        return len(calls) >= 3

    run_dir = runs.create_run("train", {}, "t", runs_root=tmp_path)
    config = TrainConfig(arch="baseline_cnn", epochs=5, batch_size=10, subset=300)
    result = train(config, tiny_data, should_stop=should_stop, run_dir=run_dir)
    assert result.stopped and result.epochs_done == 1
    assert len(calls) == 3  # polled once per batch, and not after it said stop
    # 27 batches an epoch, each one recorded: the batch in flight was the last.
    batches = [e["batch"] for e in runs.read_progress(run_dir) if e["event"] == "batch"]
    assert batches == [1, 2, 3]


def test_stop_file_is_honoured(tiny_data, tmp_path):
    run_dir = runs.create_run("train", {}, "t", runs_root=tmp_path)
    runs.request_stop(run_dir)
    config = TrainConfig(arch="baseline_cnn", epochs=3, batch_size=10, subset=300)
    result = train(config, tiny_data, run_dir=run_dir, should_stop=lambda: runs.stop_requested(run_dir))
    assert result.stopped and result.epochs_done == 1
    batches = [e for e in runs.read_progress(run_dir) if e["event"] == "batch"]
    assert batches[0]["batch"] == 1


def test_early_stopping_restores_the_best_epoch(tiny_data, tmp_path):
    run_dir = runs.create_run("train", {}, "t", runs_root=tmp_path)
    config = TrainConfig(arch="conv4", epochs=30, batch_size=50, subset=300, learning_rate=0.003)
    result = train(config, tiny_data, run_dir=run_dir)
    assert result.config.early_stopping
    val = result.history["val_accuracy"]
    # Stopped once validation accuracy failed to improve for 2 epochs...
    assert result.epochs_done < 30
    assert max(val) >= max(val[-2:]) and val.index(max(val)) == len(val) - 3
    # ...and the model it gives back is the best epoch's (conv4 has no batch norm to re-measure).
    assert result.check_accuracy == pytest.approx(max(val))


def test_augmented_training_runs_and_changes_the_images(tiny_data):
    import tensorflow as tf

    from mnist_core.data import to_model_input
    from mnist_core.training.augment import augment_batch

    images = to_model_input(tiny_data.x_train[:16])
    augmented = augment_batch(tf.constant(images), tf.random.Generator.from_seed(1)).numpy()
    assert augmented.shape == images.shape and 0 <= augmented.min() and augmented.max() <= 1.0 + 1e-6
    assert np.abs(augmented - images).mean() > 0.01
    result = train(TrainConfig(arch="baseline_cnn", epochs=1, subset=300, augment=True), tiny_data)
    assert math.isfinite(result.history["loss"][0])


def test_pen_digits_are_added_to_the_training_images_only(tiny_data):
    config = TrainConfig(arch="baseline_cnn", epochs=1, subset=540, val_split=0.1, pen_digits=True)
    result = train(config, tiny_data)
    # 486 training images are 0.9% of a full run's 54,000: 45 synthetic digits (18 + 9 + 9 + 9).
    assert (result.n_train, result.n_val, result.n_synthetic) == (486, 54, 45)
    assert train(TrainConfig(arch="baseline_cnn", epochs=1, subset=540), tiny_data).n_synthetic == 0


def test_augmentation_with_every_range_at_zero_changes_nothing(tiny_data):
    import tensorflow as tf

    from mnist_core.data import to_model_input
    from mnist_core.training.augment import AugmentSettings, augment_batch

    still = AugmentSettings(scale_range=(1, 1), max_shift_px=0, thickness_range=(0, 0),
                            max_rotation_deg=0, max_shear_deg=0)
    images = to_model_input(tiny_data.x_train[:8])
    out = augment_batch(tf.constant(images), tf.random.Generator.from_seed(3), still).numpy()
    np.testing.assert_allclose(out, images, atol=1e-6)


def test_rotation_turns_the_image(tiny_data):
    import tensorflow as tf

    from mnist_core.data import to_model_input
    from mnist_core.training.augment import AugmentSettings, augment_batch

    turn = AugmentSettings(scale_range=(1, 1), max_shift_px=0, thickness_range=(0, 0), max_rotation_deg=90)
    images = to_model_input(tiny_data.x_train[:32])
    out = augment_batch(tf.constant(images), tf.random.Generator.from_seed(3), turn).numpy()
    assert np.abs(out - images).mean() > 0.05
    # Turning keeps the ink (bilinear sampling blurs it slightly, the corners may clip a little).
    np.testing.assert_allclose(out.sum(axis=(1, 2, 3)), images.sum(axis=(1, 2, 3)), rtol=0.25)


def test_noise_gives_each_image_its_own_strength_within_the_range():
    import tensorflow as tf

    from mnist_core.training.augment import AugmentSettings, augment_batch

    noise_only = AugmentSettings(scale_range=(1, 1), max_shift_px=0, thickness_range=(0, 0), max_noise_std=0.2)
    grey = np.full((256, 28, 28, 1), 0.5, np.float32)  # mid-grey: the clipping to [0, 1] hardly bites
    out = augment_batch(tf.constant(grey), tf.random.Generator.from_seed(3), noise_only).numpy()
    assert out.min() >= 0.0 and out.max() <= 1.0
    spread = (out - grey).std(axis=(1, 2, 3))
    assert spread.max() < 0.21 and spread.min() < 0.02 and np.median(spread) == pytest.approx(0.1, abs=0.03)
    again = augment_batch(tf.constant(grey), tf.random.Generator.from_seed(3), noise_only).numpy()
    np.testing.assert_array_equal(out, again)


def test_augmentation_shifts_move_the_centre_of_mass(tiny_data):
    import tensorflow as tf

    from mnist_core.data import to_model_input
    from mnist_core.training.augment import AugmentSettings, augment_batch

    shift_only = AugmentSettings(scale_range=(1, 1), max_shift_px=3, thickness_range=(0, 0))
    images = to_model_input(tiny_data.x_train[:64])
    out = augment_batch(tf.constant(images), tf.random.Generator.from_seed(3), shift_only).numpy()
    columns = np.arange(28)
    before = (images[..., 0].sum(axis=1) * columns).sum(axis=1) / images[..., 0].sum(axis=(1, 2))
    after = (out[..., 0].sum(axis=1) * columns).sum(axis=1) / out[..., 0].sum(axis=(1, 2))
    moved = np.abs(after - before)
    assert moved.max() <= 3.2 and moved.mean() > 0.5


def test_dataset_yields_normalised_batches(tiny_data):
    dataset = make_dataset(tiny_data.x_train[:70], tiny_data.y_train[:70], 32, shuffle=False)
    batches = list(dataset)
    assert [len(b[1]) for b in batches] == [32, 32, 6]
    images = batches[0][0].numpy()
    assert images.shape == (32, 28, 28, 1) and images.dtype == np.float32 and images.max() <= 1.0
    np.testing.assert_allclose(images[0, :, :, 0], tiny_data.x_train[0] / 255.0, rtol=1e-6)


def test_a_shuffled_dataset_is_a_new_permutation_every_epoch_and_repeats_with_its_seed():
    images = np.arange(100, dtype=np.uint8).repeat(784).reshape(100, 28, 28)  # image i is all i
    labels = np.arange(100) % 10

    def one_pass(dataset):
        batches = list(dataset)
        order = np.concatenate([np.rint(b[0].numpy()[:, 0, 0, 0] * 255).astype(int) for b in batches])
        return order, np.concatenate([b[1].numpy() for b in batches]), [len(b[1]) for b in batches]

    dataset = make_dataset(images, labels, 32, shuffle=True, seed=5)
    assert int(dataset.cardinality()) == 4  # known up front: Keras shows progress and no "ran out of data"
    first, first_labels, sizes = one_pass(dataset)
    second, _, _ = one_pass(dataset)
    assert sizes == [32, 32, 32, 4]
    assert sorted(first) == sorted(second) == list(range(100))  # every image once per epoch
    np.testing.assert_array_equal(first_labels, first % 10)  # each image keeps its label
    assert not np.array_equal(first, second) and not np.array_equal(first, np.arange(100))
    again, _, _ = one_pass(make_dataset(images, labels, 32, shuffle=True, seed=5))
    np.testing.assert_array_equal(again, first)  # the same seed, the same epochs
    other, _, _ = one_pass(make_dataset(images, labels, 32, shuffle=True, seed=6))
    assert not np.array_equal(other, first)


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"epochs": 0}, "epochs must be"),
        ({"learning_rate": 0.0}, "learning rate must be"),
        ({"learning_rate": -1.0}, "learning rate must be"),
        ({"learning_rate": float("nan")}, "learning rate must be"),
        ({"batch_size": 54001}, "batch size must be"),
        ({"batch_size": 300, "subset": 300}, "batch size must be"),
        ({"subset": 50}, "training-set size"),
        ({"val_split": 0.9}, "validation split"),
        ({"val_split": 0.0, "early_stopping": True}, "early stopping"),
        ({"optimizer": "lbfgs"}, "unknown optimizer"),
        ({"arch": "nope"}, "unknown architecture"),
    ],
)
def test_bad_configs_are_refused_with_a_message(overrides, message):
    config = TrainConfig(**{"arch": "mlp", **overrides})
    assert any(message in problem for problem in config.problems())
    with pytest.raises(ConfigError, match=message):
        config.check()


def test_defaults_come_from_the_architecture():
    resolved = TrainConfig(arch="simple_cnn").resolved()
    resolved_fields = (resolved.epochs, resolved.batch_size, resolved.optimizer, resolved.learning_rate)
    assert resolved_fields == (12, 128, "adadelta", 1.0)
    assert TrainConfig(arch="simple_cnn", epochs=3).resolved().epochs == 3
    assert TrainConfig(arch="mlp").problems() == []
    assert TrainConfig.from_dict(TrainConfig(arch="mlp", seed=4).to_dict()) == TrainConfig(arch="mlp", seed=4)


def test_describe_settings_says_what_a_run_did():
    from mnist_core.training.config import describe_settings

    stored = {"arch": "studio_cnn", "epochs": None, "batch_size": None, "optimizer": None, "learning_rate": None,
              "subset": None, "augment": None, "lr_schedule": None, "name": "x", "save_if_stopped": True}
    resolved = TrainConfig.from_dict(stored).resolved().to_dict()
    assert describe_settings(stored, resolved) == "20 ep · batch 128 · adam 0.003 onecycle · augmented · all images"
    assert (describe_settings(stored, {**resolved, "pen_digits": True})
            == "20 ep · batch 128 · adam 0.003 onecycle · augmented · pen-drawn 1s and 7s · all images")
    chosen = {**stored, "epochs": 2, "optimizer": "sgd", "learning_rate": 0.05, "lr_schedule": "constant",
              "augment": False, "subset": 5000}
    assert (describe_settings(chosen, TrainConfig.from_dict(chosen).resolved().to_dict())
            == "2 ep · batch 128 · sgd 0.05 · 5,000 images")
    # Runs that recorded no resolved settings: what they chose, and no guess at old defaults.
    assert describe_settings(stored) == "defaults · all images"
    partly_chosen = {**chosen, "batch_size": None}
    assert describe_settings(partly_chosen) == "2 ep · sgd 0.05 · other settings default · 5,000 images"
    assert describe_settings({"arch": "gone", "epochs": 3, "batch_size": 64, "optimizer": "adam",
                              "learning_rate": 0.001, "lr_schedule": "constant", "augment": False}) == (
        "3 ep · batch 64 · adam 0.001 · all images")


def test_a_stopped_run_says_where_it_stopped(tiny_data, tmp_path):
    from mnist_core.jobs import progress

    calls = []

    def stop_in_the_second_epoch():
        calls.append(1)
        return len(calls) >= 27 + 5  # 27 batches an epoch: the 5th batch of epoch 2

    run_dir = runs.create_run("train", {}, "t", runs_root=tmp_path)
    config = TrainConfig(arch="baseline_cnn", epochs=5, batch_size=10, subset=300)
    result = train(config, tiny_data, run_dir=run_dir, should_stop=stop_in_the_second_epoch)
    assert result.stopped_at == {"epoch": 2, "batch": 5, "batches": 27}
    events = runs.read_progress(run_dir)
    last_epoch = [e for e in events if e["event"] == "epoch"][-1]
    assert (last_epoch["epoch"], last_epoch["batch"], last_epoch["batches"]) == (2, 5, 27)
    where = progress.position(events, now=events[-1]["time"])
    assert (where.epoch, where.batch, where.batches) == (2, 5, 27)
    assert where.fraction == pytest.approx((27 + 5) / (5 * 27))


def test_a_finished_model_is_checked_on_its_validation_images(tiny_data):
    result = train(TrainConfig(arch="baseline_cnn", epochs=2, subset=400, seed=2), tiny_data)
    assert (result.check_split, result.check_images) == ("validation", 40)
    assert result.check_accuracy == pytest.approx(result.history["val_accuracy"][-1])
    no_validation = train(TrainConfig(arch="baseline_cnn", epochs=1, subset=300, val_split=0.0), tiny_data)
    assert (no_validation.check_split, no_validation.check_images) == ("training", 300)


def test_each_architecture_augments_with_its_own_rotation(tiny_data, monkeypatch):
    from mnist_core.training import augment
    from mnist_core.training.fit import augmentation_of

    assert augmentation_of("record_cnn").max_rotation_deg == 10.0
    assert augmentation_of("studio_cnn") == augment.DEFAULT_SETTINGS
    seen = []
    original = augment.augment_batch

    def recording(images, generator, settings):
        seen.append(settings)
        return original(images, generator, settings)

    monkeypatch.setattr(augment, "augment_batch", recording)
    train(TrainConfig(arch="record_cnn", epochs=1, subset=300, val_split=0.0, batch_size=100), tiny_data,
          evaluate_test=False)
    assert seen and all(settings.max_rotation_deg == 10.0 for settings in seen)


def test_label_smoothing_trains_against_smoothed_one_hot_labels(tiny_data, monkeypatch, tmp_path):
    from dataclasses import replace

    import keras

    from mnist_core.data import to_model_input

    plain_config = TrainConfig(arch="baseline_cnn", epochs=3, subset=500, seed=2)
    plain = train(plain_config, tiny_data)
    monkeypatch.setitem(REGISTRY, "baseline_cnn", replace(REGISTRY["baseline_cnn"], label_smoothing=0.1))
    smoothed = train(plain_config, tiny_data)
    assert smoothed.model.loss.get_config()["label_smoothing"] == 0.1
    assert smoothed.test_accuracy > 0.8 and smoothed.check_split == "validation"
    # What smoothing does: the loss is least where the true digit gets 1 - 0.1 + 0.1/10 = 0.91,
    # so the smoothed model is less sure of its readings than the same model trained on hard labels.
    images = to_model_input(tiny_data.x_test[:200])
    top_smoothed = smoothed.model.predict(images, verbose=0).max(axis=1).mean()
    top_plain = plain.model.predict(images, verbose=0).max(axis=1).mean()
    assert top_smoothed < 0.93 and top_smoothed < top_plain - 0.03
    # The loss is Keras' own: the saved file loads, compiled, with nothing of ours imported.
    path = tmp_path / "smoothed.keras"
    smoothed.model.save(path)
    assert keras.models.load_model(path).loss.get_config()["label_smoothing"] == 0.1


def test_weight_average_momentum_spans_at_most_a_tenth_of_the_run():
    from mnist_core.training.fit import weight_average_momentum

    assert weight_average_momentum("baseline_cnn", 10_000) is None  # it averages nothing
    assert REGISTRY["record_cnn"].weight_average_steps == 1000
    assert weight_average_momentum("record_cnn", 20_000) == pytest.approx(1 - 1 / 1000)
    assert weight_average_momentum("record_cnn", 5_000) == pytest.approx(1 - 1 / 500)
    assert weight_average_momentum("record_cnn", 15) is None  # a window of one step is no average


def test_weight_averaging_saves_the_average_and_still_reads_well(tiny_data, monkeypatch, tmp_path):
    from dataclasses import replace

    import keras

    config = TrainConfig(arch="baseline_cnn", epochs=3, subset=500, seed=2, batch_size=20)
    plain = train(config, tiny_data)
    monkeypatch.setitem(REGISTRY, "baseline_cnn", replace(REGISTRY["baseline_cnn"], weight_average_steps=20))
    averaged = train(config, tiny_data)
    optimizer = averaged.model.optimizer
    # 3 epochs of 23 steps: a window of 6 (a tenth of the run), so the average forgets the untrained start.
    assert optimizer.use_ema and optimizer.ema_momentum == pytest.approx(1 - 1 / 6)
    # The model holds the average, not the last step's weights, and it reads as well as the plain run.
    averages = [variable.numpy() for variable in optimizer._model_variables_moving_average]
    for weight, average in zip(averaged.model.trainable_weights, averages, strict=True):
        np.testing.assert_allclose(weight.numpy(), average, rtol=1e-6, atol=1e-7)
    assert any(not np.allclose(a.numpy(), b.numpy()) for a, b in
               zip(plain.model.trainable_weights, averaged.model.trainable_weights, strict=True))
    assert averaged.test_accuracy > 0.8 and averaged.test_accuracy >= plain.test_accuracy - 0.05
    # Keras' own optimizer setting: the saved file loads with nothing of ours imported.
    path = tmp_path / "averaged.keras"
    averaged.model.save(path)
    assert keras.models.load_model(path).optimizer.use_ema
