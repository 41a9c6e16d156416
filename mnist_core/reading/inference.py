"""Fast predictions for a few images at a time (the Draw page, the CLI's predict).

``model.predict`` builds a data pipeline on every call (tens of milliseconds);
calling the model through a compiled ``tf.function`` costs about a millisecond
for a single image.

One image goes through an XLA-compiled function. Streamlit calls
``keras.backend.clear_session()`` after every script run, which empties
TensorFlow's kernel cache: a plain ``tf.function`` then re-instantiates and
re-optimises its graph on the first call of every rerun (about 25 ms here, 50-60
ms while the browser is busy), whereas the executable XLA compiled stays cached.
XLA is slower on big batches (1.1 s against 0.7 s for the 10,000 test images),
so batches go through the plain function.
"""

from __future__ import annotations

import time
import weakref
from dataclasses import dataclass

import numpy as np

from mnist_core.data import to_model_input

# Below this top probability the app says it is not sure.
UNSURE_BELOW = 0.6
# Ink (sum of the 28x28 pixels / 255) beyond anything in MNIST (its largest digit
# has about 312; 99.9% have under 230): a scribble or a filled shape, not a digit.
MAX_DIGIT_INK = 300.0

_PREDICT_FUNCTIONS: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def _compiled(model, single_image: bool):
    functions = _PREDICT_FUNCTIONS.setdefault(model, {})
    if single_image not in functions:
        import tensorflow as tf

        # A weak reference: the function must not keep the model (its key) alive.
        model_ref = weakref.ref(model)
        functions[single_image] = tf.function(
            lambda x: model_ref()(x, training=False),
            input_signature=[tf.TensorSpec(shape=(1 if single_image else None, 28, 28, 1), dtype=tf.float32)],
            reduce_retracing=True,
            jit_compile=single_image,
        )
    return functions[single_image]


def predict_probabilities(model, images: np.ndarray) -> np.ndarray:
    """uint8 images (N, 28, 28) or one (28, 28) -> float32 probabilities (N, 10)."""
    inputs = to_model_input(np.asarray(images, dtype=np.uint8))
    return np.asarray(_compiled(model, single_image=inputs.shape[0] == 1)(inputs))


def is_warm(model) -> bool:
    """Whether ``warm_up`` has compiled this model's prediction functions."""
    return len(_PREDICT_FUNCTIONS.get(model, {})) == 2


def warm_up(model) -> None:
    """Trace (and, for one image, XLA-compile) the compiled functions once, so the
    first real prediction is fast."""
    for count in (1, 2):
        predict_probabilities(model, np.zeros((count, 28, 28), dtype=np.uint8))


@dataclass(frozen=True)
class Reading:
    """What the model made of one 28x28 image."""

    image: np.ndarray  # uint8 (28, 28): what the model saw
    probabilities: np.ndarray  # float (10,)
    milliseconds: float  # preprocessing plus inference

    @property
    def label(self) -> int:
        return int(self.probabilities.argmax())

    @property
    def confidence(self) -> float:
        return float(self.probabilities.max())

    @property
    def runner_up(self) -> int:
        return int(np.argsort(self.probabilities)[-2])

    @property
    def looks_like_a_digit(self) -> bool:
        """False for inputs with far more ink than any MNIST digit (scribbles, blobs)."""
        return float(self.image.sum()) / 255.0 <= MAX_DIGIT_INK

    @property
    def unsure(self) -> bool:
        return self.confidence < UNSURE_BELOW or not self.looks_like_a_digit


def _timed_reading(model, make_image) -> Reading:
    started = time.perf_counter()
    image = make_image()
    probabilities = predict_probabilities(model, image)[0]
    return Reading(image, probabilities, (time.perf_counter() - started) * 1000)


def read_strokes(model, strokes, min_extent: float = 6.0) -> Reading:
    """Pen strokes (canvas pixels) -> preprocessed, then read. Raises NothingToRead."""
    from mnist_core.reading.preprocess import preprocess_strokes

    return _timed_reading(model, lambda: preprocess_strokes(strokes, min_extent=min_extent))


def read_picture(model, gray: np.ndarray) -> Reading:
    """A grayscale picture of one digit -> preprocessed, then read. Raises NothingToRead."""
    from mnist_core.reading.preprocess import preprocess

    return _timed_reading(model, lambda: preprocess(gray))
