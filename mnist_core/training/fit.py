"""Fit one architecture on MNIST: ``train``.

``train`` takes a ``TrainConfig`` and an ``Mnist`` and returns a ``TrainResult``
(the trained Keras model, its per-epoch history, its accuracy on the validation
images and on the test set). With a run folder it writes progress events there as
it goes; a stop request ends training after the current batch.

After fitting, batch-norm statistics are measured on the training images rather
than left as moving averages (``mnist_core.training.batch_norm``): a short run otherwise
gives a model that reads 11% in inference mode.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from mnist_core.data import NUM_CLASSES, Mnist, sample_indices, split_train_val, take_subset, to_model_input
from mnist_core.models.architectures import get_architecture
from mnist_core.training.config import TrainConfig

# With no validation split, the finished model is checked on this many training images.
CHECK_IMAGES_WITHOUT_VAL = 5000


@dataclass
class TrainResult:
    """What ``train`` gives back."""

    model: Any
    config: TrainConfig
    history: dict[str, list[float]]
    epochs_done: int
    stopped: bool
    seconds: float
    test_loss: float
    test_accuracy: float
    n_train: int
    n_val: int
    epoch_seconds: list[float] = field(default_factory=list)
    n_synthetic: int = 0  # synthetic pen-drawn digits added to the n_train MNIST images
    n_pen: int = 0  # real pen-written digits added (config.pen_writers) ...
    pen_writers: list[int] = field(default_factory=list)  # ... and the writers they are from
    # The finished model (batch norm recalibrated, best weights restored) on the
    # validation images, or on training images when none were held out.
    check_accuracy: float = float("nan")
    check_loss: float = float("nan")
    check_split: str = "validation"
    check_images: int = 0
    # Where a stopped run stopped: {"epoch", "batch", "batches"}, 1-based.
    stopped_at: dict[str, int] | None = None


def make_dataset(x: np.ndarray, y: np.ndarray, batch_size: int, shuffle: bool,
                 augment: bool = False, seed: int = 1, augmentation=None, one_hot: bool = False):
    """A tf.data pipeline over uint8 images, batched, normalised (and augmented) in the graph.

    The images stay in memory as one uint8 tensor. With ``shuffle``, every pass over
    the dataset (every epoch) draws a new permutation of the indices, seeded, and each
    batch is gathered from the tensor: tf.data's element-wise shuffle would first fill
    a buffer with every image, about half a second per epoch here. ``augmentation``
    (an AugmentSettings) gives the ranges when ``augment`` is on (default: augment.py's).
    ``one_hot`` gives the labels as (batch, 10) one-hot rows instead of digits, for a
    model compiled with label smoothing (``build_compiled_model``).
    """
    import tensorflow as tf

    from mnist_core.training.augment import DEFAULT_SETTINGS, augment_batch

    images, labels, count = tf.constant(x), tf.constant(y.astype(np.int32)), len(x)
    if shuffle:
        generator = tf.random.Generator.from_seed(seed)
        starts = tf.range(0, count, batch_size, dtype=tf.int64)

        def batches_of_one_epoch(_):
            order = tf.argsort(generator.uniform([count]))  # a new permutation per pass
            return tf.data.Dataset.from_tensor_slices(starts).map(
                lambda start: tf.gather(order, tf.range(start, tf.minimum(start + batch_size, count))))

        # One element per pass, mapped in order by the one stateful generator.
        indices = tf.data.Dataset.from_tensors(0).flat_map(batches_of_one_epoch)
    else:
        indices = tf.data.Dataset.range(0, count, batch_size).map(
            lambda start: tf.range(start, tf.minimum(start + batch_size, count)))
    # Keras needs the number of batches up front (the progress bar, no "ran out of data").
    batches = -(-count // batch_size)
    if one_hot:
        labels = tf.one_hot(labels, NUM_CLASSES)
    dataset = indices.apply(tf.data.experimental.assert_cardinality(batches)).map(
        lambda index: (tf.gather(images, index), tf.gather(labels, index)))
    if augment:
        augment_generator = tf.random.Generator.from_seed(seed + 1)
        dataset = dataset.map(
            lambda batch, batch_labels: (augment_batch(
                to_model_input(batch), augment_generator, augmentation or DEFAULT_SETTINGS), batch_labels),
            num_parallel_calls=1,  # one stateful generator: keep its draws in order
        )
    else:
        dataset = dataset.map(lambda batch, batch_labels: (to_model_input(batch), batch_labels))
    return dataset.prefetch(tf.data.AUTOTUNE)


def augmentation_of(arch_name: str):
    """The AugmentSettings architecture ``arch_name`` trains with when augmenting."""
    from mnist_core.training.augment import DEFAULT_SETTINGS

    return get_architecture(arch_name).augmentation or DEFAULT_SETTINGS


def add_pen_digits(x: np.ndarray, y: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The training images and labels with synthetic pen-drawn 1s and 7s added.

    The set is 5,000 for the 54,000 images of a full run, and scaled down with a
    smaller training set so that it never swamps it.
    """
    from mnist_core.training.synthetic import DEFAULT_COUNTS, pen_drawn_ones_and_sevens

    share = len(x) / 54000
    counts = tuple(int(round(count * share)) for count in DEFAULT_COUNTS)
    extra_x, extra_y = pen_drawn_ones_and_sevens(counts, seed=seed)
    return np.concatenate([x, extra_x]), np.concatenate([y, extra_y.astype(y.dtype)])


def add_pen_writers(x: np.ndarray, y: np.ndarray, seed: int, held_out_fold: int | None
                    ) -> tuple[np.ndarray, np.ndarray, int, list[int]]:
    """The training images and labels with real pen-written digits added: (x, y, how
    many were added, the writers they are from).

    The digits of the pendigits file ($PENDIGITS_TRA) less the writers of
    ``held_out_fold`` (``digitsets.pen_training_set``): all of them for the 54,000
    images of a full run, a random share of them with a smaller training set.
    Raises DigitSetError when the file is not there or not a pendigits file.
    """
    from mnist_core.digitsets import DigitSetError, find_pendigits, load_pendigits, pen_training_set, writer_fold

    path = find_pendigits()
    if path is None:
        raise DigitSetError("training on real pen digits needs the pendigits file: "
                            "set PENDIGITS_TRA to pendigits-orig.tra")
    digits = [digit for digit in load_pendigits(path)
              if held_out_fold is None or writer_fold(digit.writer) != held_out_fold]
    count = min(len(digits), int(round(len(digits) * len(x) / 54000)))
    # Chosen before they are drawn: drawing all 7,494 takes seconds that a small run need not wait.
    chosen = np.sort(np.random.default_rng(seed).permutation(len(digits))[:count])
    images, labels, writers = pen_training_set([digits[i] for i in chosen])
    return (np.concatenate([x, images]), np.concatenate([y, labels.astype(y.dtype)]),
            count, sorted(int(writer) for writer in set(writers)))


def uses_one_hot_labels(arch_name: str) -> bool:
    """Whether architecture ``arch_name`` trains on one-hot labels (it smooths them)."""
    return get_architecture(arch_name).label_smoothing > 0


def weight_average_momentum(arch_name: str, total_steps: int) -> float | None:
    """The momentum of the weights' moving average for a run of ``total_steps`` steps of
    architecture ``arch_name``, or None when it averages none.

    The average spans ``Architecture.weight_average_steps`` steps, but never more than
    a tenth of the run: Keras starts the average at the first step's weights, and over
    a short run a long average would still hold the untrained network's weights.
    """
    window = min(get_architecture(arch_name).weight_average_steps, total_steps // 10)
    return 1.0 - 1.0 / window if window >= 2 else None


def build_compiled_model(config: TrainConfig, steps_per_epoch: int):
    """Build the architecture and compile it with the config's optimizer and schedule.

    An architecture with ``label_smoothing`` is compiled with Keras' own
    CategoricalCrossentropy, which smooths one-hot labels (its datasets give them:
    ``make_dataset(one_hot=True)``). Keras 3's sparse loss cannot smooth, and a loss
    of our own would be saved in the model file, which a plain ``keras.models.load_model``
    elsewhere could then not read.

    An architecture with ``weight_average_steps`` gets an optimizer that keeps a moving
    average of the weights (``weight_average_momentum``); ``Model.fit`` writes it into
    the model when it ends, and ``train`` then measures batch norm for those weights.
    """
    import keras

    from mnist_core.models.architectures import make_optimizer

    arch = get_architecture(config.arch)
    learning_rate = config.learning_rate
    total = max(1, steps_per_epoch * config.epochs)
    if config.lr_schedule == "onecycle":
        warmup = max(1, int(0.25 * total))
        learning_rate = keras.optimizers.schedules.CosineDecay(
            initial_learning_rate=config.learning_rate / 20,
            warmup_target=config.learning_rate,
            warmup_steps=warmup,
            decay_steps=max(1, total - warmup),
            alpha=1e-3,
        )
    model = arch.build()
    model.compile(
        optimizer=make_optimizer(config.optimizer, learning_rate, arch.momentum, arch.weight_decay,
                                 ema_momentum=weight_average_momentum(config.arch, total)),
        loss=(keras.losses.CategoricalCrossentropy(label_smoothing=arch.label_smoothing)
              if uses_one_hot_labels(config.arch) else "sparse_categorical_crossentropy"),
        metrics=["accuracy"],
    )
    return model


def train(
    config: TrainConfig,
    data: Mnist,
    run_dir: Path | None = None,
    should_stop: Callable[[], bool] | None = None,
    verbose: int = 0,
    progress_context: dict | None = None,
    x_train: np.ndarray | None = None,
    y_train: np.ndarray | None = None,
    x_val: np.ndarray | None = None,
    y_val: np.ndarray | None = None,
    evaluate_test: bool = True,
    callbacks: list | None = None,
    held_out_writer_fold: int | None = None,
) -> TrainResult:
    """Train ``config`` on ``data`` and evaluate the result on the test set.

    - ``run_dir``: when given, progress events are appended to its progress.jsonl.
    - ``should_stop``: polled before every batch; True ends training after that batch.
    - ``x_train``...``y_val``: explicit arrays (cross-validation folds) instead of the
      config's subset and validation split of ``data.x_train``.
    - ``evaluate_test``: also score the test set (cross-validation folds do not).
    - ``callbacks``: more Keras callbacks, called after the epoch timer's, so the time
      they take at an epoch's end is not in ``epoch_seconds`` (the benchmarks score
      the test set after every epoch this way).
    - ``held_out_writer_fold``: with ``config.pen_writers``, leave this writer fold's
      pen digits out (``digitsets.writer_fold``), to score the model on them.
    Returns a TrainResult; raises ConfigError for a config that cannot run, and
    DigitSetError when ``config.pen_writers`` finds no pendigits file.
    """
    import keras

    from mnist_core.jobs.runs import ProgressLog
    from mnist_core.training import callbacks as keras_callbacks
    from mnist_core.training.batch_norm import CalibrateBeforeValidation, calibration_sample, recalibrate_batch_norm

    if x_train is None:
        config = config.check(len(data.x_train))
        x, y = take_subset(data.x_train, data.y_train, config.subset, config.data_seed)
        x_train, y_train, x_val, y_val = split_train_val(x, y, config.val_split, config.data_seed)
    else:
        config = config.check(len(x_train) + (0 if x_val is None else len(x_val)))
    keras.utils.set_random_seed(config.seed)
    n_mnist = len(x_train)
    if config.pen_digits:
        x_train, y_train = add_pen_digits(x_train, y_train, config.seed)
    n_synthetic, n_pen, pen_writers = len(x_train) - n_mnist, 0, []
    if config.pen_writers:
        x_train, y_train, n_pen, pen_writers = add_pen_writers(x_train, y_train, config.seed, held_out_writer_fold)

    one_hot = uses_one_hot_labels(config.arch)
    train_ds = make_dataset(x_train, y_train, config.batch_size, shuffle=True, augment=config.augment,
                            seed=config.seed, augmentation=augmentation_of(config.arch), one_hot=one_hot)
    has_val = x_val is not None and len(x_val) > 0
    val_ds = make_dataset(x_val, y_val, 1000, shuffle=False, one_hot=one_hot) if has_val else None
    steps = math.ceil(len(x_train) / config.batch_size)
    model = build_compiled_model(config, steps)
    calibration_images = calibration_sample(x_train, config.seed)

    extra_callbacks, callbacks = list(callbacks or []), []
    progress_log = ProgressLog(run_dir) if run_dir is not None else None
    if progress_log is not None:
        callbacks.append(keras_callbacks.ProgressCallback(progress_log, context=progress_context))
    stopper = keras_callbacks.StopOnRequest(should_stop or (lambda: False))
    timer = keras_callbacks.EpochTimer()
    callbacks += [stopper, timer, CalibrateBeforeValidation(calibration_images), *extra_callbacks]
    if config.early_stopping:
        patience = get_architecture(config.arch).early_stopping_patience
        # It restores the best epoch's weights in memory when it stops: no checkpoint file.
        callbacks.append(
            keras.callbacks.EarlyStopping(
                monitor="val_accuracy", patience=patience, restore_best_weights=True
            )
        )

    started = time.perf_counter()
    try:
        history = model.fit(
            train_ds, epochs=config.epochs, validation_data=val_ds, callbacks=callbacks, verbose=verbose,
            shuffle=False,  # the dataset shuffles itself
        )
    finally:
        if progress_log is not None:
            progress_log.close()
    seconds = time.perf_counter() - started
    recalibrate_batch_norm(model, calibration_images)

    history_dict = {key: [float(v) for v in values] for key, values in history.history.items()}
    history_dict.pop("learning_rate", None)
    # The check every trained model gets: the finished model on its validation images
    # (with none held out, on a sample of its training images).
    if has_val:
        check_x, check_y, check_split = x_val, y_val, "validation"
    else:
        index = sample_indices(len(x_train), CHECK_IMAGES_WITHOUT_VAL, config.seed + 1)
        check_x, check_y, check_split = x_train[index], y_train[index], "training"
    check_loss, check_accuracy = model.evaluate(
        make_dataset(check_x, check_y, 1000, shuffle=False, one_hot=one_hot), verbose=0)
    test_loss, test_accuracy = float("nan"), float("nan")
    if evaluate_test:
        test_loss, test_accuracy = model.evaluate(
            make_dataset(data.x_test, data.y_test, 1000, shuffle=False, one_hot=one_hot), verbose=0
        )
    return TrainResult(
        model=model,
        config=config,
        history=history_dict,
        epochs_done=len(history_dict.get("loss", [])),
        stopped=stopper.stopped,
        seconds=seconds,
        test_loss=float(test_loss),
        test_accuracy=float(test_accuracy),
        n_train=n_mnist,
        n_val=len(x_val) if has_val else 0,
        epoch_seconds=[round(s, 3) for s in timer.seconds],
        n_synthetic=n_synthetic,
        n_pen=n_pen,
        pen_writers=pen_writers,
        check_accuracy=float(check_accuracy),
        check_loss=float(check_loss),
        check_split=check_split,
        check_images=len(check_x),
        stopped_at=stopper.stopped_at,
    )
