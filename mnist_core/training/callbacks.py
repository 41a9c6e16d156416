"""Keras callbacks that report training progress and honour stop requests.

This module imports Keras at the top, so only ``mnist_core.training.fit`` imports it,
from inside the functions that train.
"""

from __future__ import annotations

import math
import threading
import time
from typing import Callable

import keras

from mnist_core.jobs.runs import ProgressLog

# About this many batch records per epoch: enough for a smooth live curve, few
# enough that the file and the app's polling stay cheap.
BATCH_RECORDS_PER_EPOCH = 50


def _clean(value):
    """A log value as a JSON-friendly float (NaN and inf become None)."""
    value = float(value)
    return value if math.isfinite(value) else None


class ProgressCallback(keras.callbacks.Callback):
    """Writes progress events to a ``ProgressLog``.

    - ``batch`` every ``batch_every`` batches and at the end of each epoch:
      loss and accuracy so far this epoch, ``batch`` (batches done) and ``batches``;
    - ``epoch`` at each epoch end: every metric Keras logged, the learning rate,
      the epoch's wall time in ``seconds``, and ``batch``, the batches it ran (fewer
      than ``batches`` when training was stopped during it).

    ``context`` is merged into every record (cross-validation adds arch and fold).

    It is ``async_safe``: Keras then runs its batch hook on a worker thread, so the
    training loop never waits for a batch's loss to be copied out of the graph
    (a callback with a synchronous batch hook cost 2-6% of an epoch here;
    see bench/progress_overhead.py). A lock keeps the file's batch records in order.
    """

    async_safe = True

    def __init__(self, log: ProgressLog, batch_every: int | None = None, context: dict | None = None):
        super().__init__()
        self.log = log
        self.batch_every = batch_every
        self.context = context or {}
        self._epoch = 0
        self._epoch_start = 0.0
        self._lock = threading.Lock()
        self._last_batch_written = 0
        self._batches_done = 0

    def on_train_begin(self, logs=None):
        steps = self.params.get("steps") or 0
        if self.batch_every is None:
            self.batch_every = max(1, steps // BATCH_RECORDS_PER_EPOCH)
        self._steps = steps
        self.log.write("train_start", epochs=self.params.get("epochs"), batches=steps, **self.context)

    def on_epoch_begin(self, epoch, logs=None):
        # Keras has finished every batch hook of the previous epoch by now.
        self._epoch = epoch
        self._epoch_start = time.perf_counter()
        self._last_batch_written = 0
        self._batches_done = 0

    def on_train_batch_end(self, batch, logs=None):
        done = batch + 1
        with self._lock:
            self._batches_done = max(self._batches_done, done)
        if done % self.batch_every and done != self._steps:
            return
        logs = logs or {}
        with self._lock:
            if done <= self._last_batch_written:  # a later batch's worker got here first
                return
            self._last_batch_written = done
            self.log.write(
                "batch",
                epoch=self._epoch + 1,
                batch=done,
                batches=self._steps,
                loss=_clean(logs.get("loss", float("nan"))),
                accuracy=_clean(logs.get("accuracy", float("nan"))),
                **self.context,
            )

    def on_epoch_end(self, epoch, logs=None):
        # Keras has run every batch hook of this epoch by now: it waits for them.
        metrics = {key: _clean(value) for key, value in (logs or {}).items()}
        metrics.pop("learning_rate", None)
        self.log.write(
            "epoch",
            epoch=epoch + 1,
            batch=self._batches_done,
            batches=self._steps,
            seconds=round(time.perf_counter() - self._epoch_start, 3),
            lr=_current_learning_rate(self.model),
            **metrics,
            **self.context,
        )


def _current_learning_rate(model) -> float | None:
    try:
        optimizer = model.optimizer
        lr = optimizer.learning_rate
        if callable(lr):  # a schedule: evaluate it at the current step
            lr = lr(optimizer.iterations)
        return _clean(lr.numpy() if hasattr(lr, "numpy") else lr)
    except Exception:  # the learning rate is informative only
        return None


class StopOnRequest(keras.callbacks.Callback):
    """Ends training after the current batch once ``should_stop()`` returns True.

    It asks before each batch rather than after: Keras runs batch-begin hooks
    without waiting for the previous batch's results, and checks ``stop_training``
    once the batch is done, so the batch in flight is the last one. ``stopped_at``
    then says where, 1-based: {"epoch": 2, "batch": 1585, "batches": 1688}.
    """

    def __init__(self, should_stop: Callable[[], bool]):
        super().__init__()
        self.should_stop = should_stop
        self.stopped = False
        self.stopped_at: dict[str, int] | None = None
        self._epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_begin(self, batch, logs=None):
        if not self.stopped and self.should_stop():
            self.stopped = True
            self.stopped_at = {"epoch": self._epoch + 1, "batch": batch + 1,
                               "batches": int(self.params.get("steps") or 0)}
            self.model.stop_training = True


class EpochTimer(keras.callbacks.Callback):
    """Wall time of every epoch (epoch hooks only, so Keras' batch dispatch is unchanged)."""

    def __init__(self):
        super().__init__()
        self.seconds: list[float] = []
        self._start = 0.0

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self._start)
