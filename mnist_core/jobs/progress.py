"""Make sense of a run's progress events: where it is, how long is left, the curves.

Input: the event dicts of a run's progress.jsonl (``runs.read_progress``).
Output: plain numbers and lists for the pages and the chart builders.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Curves:
    """Training curves of one fit: per batch group and per epoch, x in epochs."""

    batch_x: list[float] = field(default_factory=list)
    batch_loss: list[float | None] = field(default_factory=list)
    batch_accuracy: list[float | None] = field(default_factory=list)
    epoch_x: list[int] = field(default_factory=list)
    loss: list[float | None] = field(default_factory=list)
    accuracy: list[float | None] = field(default_factory=list)
    val_loss: list[float | None] = field(default_factory=list)
    val_accuracy: list[float | None] = field(default_factory=list)
    epoch_seconds: list[float] = field(default_factory=list)


def curves(events: list[dict[str, Any]]) -> Curves:
    """Batch and epoch curves from progress events (the last fit's, if several)."""
    result = Curves()
    for event in events:
        kind = event.get("event")
        if kind == "train_start":
            result = Curves()  # a new fit (the next fold) starts a new curve
        elif kind == "batch" and event.get("batches"):
            result.batch_x.append(event["epoch"] - 1 + event["batch"] / event["batches"])
            result.batch_loss.append(event.get("loss"))
            result.batch_accuracy.append(event.get("accuracy"))
        elif kind == "epoch":
            result.epoch_x.append(event["epoch"])
            result.loss.append(event.get("loss"))
            result.accuracy.append(event.get("accuracy"))
            result.val_loss.append(event.get("val_loss"))
            result.val_accuracy.append(event.get("val_accuracy"))
            result.epoch_seconds.append(event.get("seconds", 0.0))
    return result


@dataclass(frozen=True)
class Position:
    """Where a fit is: epoch and batch (1-based), the fraction done, the time left."""

    epoch: int
    epochs: int
    batch: int
    batches: int
    fraction: float
    elapsed_seconds: float
    remaining_seconds: float | None


def position(events: list[dict[str, Any]], now: float, units_done: int = 0, units_total: int = 1) -> Position | None:
    """The position of the current fit, or None before it has started.

    ``units_done`` of ``units_total`` equal fits are already complete (the folds of a
    cross-validation): the fraction and the time left count them in.
    """
    start = epoch = batch = None
    epochs = batches = 0
    first_start_time = None
    for event in events:
        kind = event.get("event")
        if kind == "train_start":
            start = event
            epochs, batches = event.get("epochs") or 0, event.get("batches") or 0
            epoch, batch = 1, 0
            first_start_time = first_start_time or event.get("time")
        elif kind == "batch" and start is not None:
            epoch, batch = event["epoch"], event["batch"]
        elif kind == "epoch" and start is not None:
            # An epoch stopped part-way says how many batches it ran.
            epoch, batch = event["epoch"], event.get("batch") or batches
    if start is None or not epochs or not batches:
        return None
    within = ((epoch - 1) * batches + batch) / (epochs * batches)
    fraction = min(1.0, (units_done + within) / max(units_total, 1))
    elapsed = max(0.0, now - first_start_time)
    remaining = elapsed * (1 - fraction) / fraction if fraction > 0.01 else None
    return Position(epoch, epochs, batch, batches, fraction, elapsed, remaining)


def stop_position(stopped_at: dict | None) -> str | None:
    """Where a stopped run stopped, from its ``stopped_at`` record: "epoch 2 at batch
    1,585 of 1,688", or None when it is not known."""
    if not isinstance(stopped_at, dict) or not stopped_at.get("batches"):
        return None
    return f"epoch {stopped_at['epoch']} at batch {stopped_at['batch']:,} of {stopped_at['batches']:,}"


def format_duration(seconds: float | None) -> str:
    """'1 h 02 min', '3 min 05 s', '42 s', or '-' for None."""
    if seconds is None:
        return "-"
    seconds = int(round(seconds))
    if seconds >= 3600:
        return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"
    if seconds >= 60:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds} s"
