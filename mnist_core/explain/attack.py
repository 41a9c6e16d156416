"""What it takes to change the model's mind: the smallest change to an image that
makes the model read a chosen other digit, and be sure of it (as sure as the app
needs to give a reading: ``UNSURE_BELOW``).

``smallest_change`` runs a targeted projected-gradient attack (PGD, Madry et al.
2018) at several budgets at once, one image per budget in one batch, and keeps
the smallest budget that succeeds. The budget bounds the change either per pixel
(``linf``: no pixel moves more than it) or in total (``l2``: the Euclidean length
of the change), pixels in [0, 1].
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mnist_core.explain.probes import as_input, cached
from mnist_core.reading.inference import UNSURE_BELOW

LINF_BUDGETS = (0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5)
L2_BUDGETS = (0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 8.0)
STEPS = 60


@dataclass(frozen=True)
class ChangedMind:
    """The result of ``smallest_change``."""

    target: int
    norm: str  # "linf" or "l2"
    succeeded: bool
    budget: float | None  # the smallest budget that worked (None: none did)
    image: np.ndarray  # float (28, 28) in [0, 1]: the changed image (the original if none worked)
    change: np.ndarray  # float (28, 28): image minus the original
    probabilities: np.ndarray  # (10,) the model's reading of the changed image

    @property
    def size(self) -> float:
        """The change's size in the attack's norm."""
        return float(np.abs(self.change).max() if self.norm == "linf" else np.linalg.norm(self.change))

    @property
    def reading(self) -> int:
        return int(self.probabilities.argmax())


def _attack_function(model):
    import tensorflow as tf

    @tf.function(reduce_retracing=True)
    def step(x, original, target, budgets, step_sizes, linf):
        with tf.GradientTape() as tape:
            tape.watch(x)
            probabilities = model(x, training=False)
            loss = -tf.math.log(probabilities[:, target] + 1e-12)
        gradient = tape.gradient(loss, x)
        if linf:
            moved = x - step_sizes * tf.sign(gradient)
            change = tf.clip_by_value(moved - original, -budgets, budgets)
        else:
            norm = tf.sqrt(tf.reduce_sum(gradient ** 2, axis=(1, 2, 3), keepdims=True)) + 1e-12
            moved = x - step_sizes * gradient / norm
            change = moved - original
            length = tf.sqrt(tf.reduce_sum(change ** 2, axis=(1, 2, 3), keepdims=True)) + 1e-12
            change = change * tf.minimum(1.0, budgets / length)
        return tf.clip_by_value(original + change, 0.0, 1.0), probabilities

    return step


def smallest_change(model, image, target: int, norm: str = "linf", budgets: tuple[float, ...] | None = None,
                    steps: int = STEPS, sure: float = UNSURE_BELOW) -> ChangedMind:
    """The smallest of ``budgets`` (by default LINF_BUDGETS or L2_BUDGETS) within which
    a targeted attack makes ``model`` read ``image`` as ``target`` with a probability
    of at least ``sure``, and that change.

    Success is checked on the changed image itself, after its last step, so a
    reported success is one the model really reads as ``target``, and is sure of: a
    change that only tips it to 31% for the target would be shown as "?" on the Draw
    page, not as a changed mind.
    """
    import tensorflow as tf

    if norm not in ("linf", "l2"):
        raise ValueError(f"norm must be 'linf' or 'l2', got {norm!r}")
    budgets = tuple(budgets or (LINF_BUDGETS if norm == "linf" else L2_BUDGETS))
    original = np.repeat(as_input(image)[:1], len(budgets), axis=0)
    size = np.asarray(budgets, dtype=np.float32).reshape(-1, 1, 1, 1)
    # Each budget's attack moves a quarter of its budget per step: it reaches the edge
    # within a few steps and still has room to search along it.
    step_sizes = size / 4.0
    function = cached(model, "targeted-attack", lambda: _attack_function(model))
    arguments = (tf.constant(original), tf.constant(int(target)), tf.constant(size), tf.constant(step_sizes),
                 norm == "linf")
    current = tf.constant(original)
    done = np.zeros(len(budgets), dtype=bool)
    found = original.copy()
    # One more pass than steps: the last one only reads the last step's images.
    for _ in range(steps + 1):
        moved, probabilities = function(current, *arguments)  # probabilities: of ``current``
        hit = (np.asarray(probabilities)[:, target] >= sure) & ~done
        found[hit] = np.asarray(current)[hit]
        done |= hit
        if done[0] or done.all():  # the smallest budget worked, or every one did
            break
        current = moved
    final = np.asarray(model(found, training=False))
    success = done & (final[:, target] >= sure)
    base = original[0, :, :, 0]
    if not success.any():
        return ChangedMind(int(target), norm, False, None, base, np.zeros_like(base), final[0])
    index = int(np.argmax(success))  # budgets ascend: the first success is the smallest
    changed = found[index, :, :, 0]
    return ChangedMind(int(target), norm, True, float(budgets[index]), changed, changed - base, final[index])
