"""How a model reads digits that do not look like MNIST's test set: the pieces of its
robustness scorecard, each model + images in, accuracies out.

- ``corruption_scores(model, images, labels)`` -> {corruption: accuracy}, over the
  suite of ``mnist_core.models.corruptions`` (the images read as they are);
- ``picture_scores(model, images, labels)`` -> accuracy through the app's picture
  pipeline (what an uploaded picture goes through) and through a plain resize of
  the whole picture into MNIST's 20x20 box, padded to 28x28, for comparison.
"""

from __future__ import annotations

import numpy as np

from mnist_core.models.corruptions import CORRUPTIONS, corrupt


def accuracy(model, images: np.ndarray, labels: np.ndarray) -> float:
    """The share of ``images`` (uint8 (N, 28, 28)) that ``model`` reads as ``labels``."""
    from mnist_core.reading.inference import predict_probabilities

    return float(np.mean(predict_probabilities(model, images).argmax(axis=1) == np.asarray(labels)))


def corruption_scores(model, images: np.ndarray, labels: np.ndarray, seed: int = 0) -> dict[str, float]:
    """Accuracy on each corruption of ``images`` (MNIST test images), in CORRUPTIONS' order."""
    return {name: accuracy(model, corrupt(images, name, seed), labels) for name in CORRUPTIONS}


def resize_and_pad(picture: np.ndarray) -> np.ndarray:
    """A picture (uint8 (H, W), white on black) squeezed into a 20x20 box, bilinear,
    and padded to 28x28: the plain way to make a small scan MNIST-sized."""
    from PIL import Image

    box = np.asarray(Image.fromarray(picture).resize((20, 20), Image.BILINEAR))
    return np.pad(box, 4)


def picture_inputs(pictures: np.ndarray) -> dict[str, np.ndarray]:
    """{"picture pipeline": ..., "resize and pad": ...}: uint8 (N, 28, 28) each. A
    picture the pipeline finds nothing in becomes a blank image (read as wrong)."""
    from mnist_core.reading.preprocess import ImageError, NothingToRead, preprocess

    through_pipeline = []
    for picture in pictures:
        try:
            through_pipeline.append(preprocess(picture))
        except (NothingToRead, ImageError):
            through_pipeline.append(np.zeros((28, 28), np.uint8))
    return {"picture pipeline": np.stack(through_pipeline),
            "resize and pad": np.stack([resize_and_pad(picture) for picture in pictures])}


def picture_scores(model, pictures: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    """Accuracy on ``pictures`` (uint8 (N, H, W), white on black, one digit each)
    through the app's picture pipeline and through a plain resize and pad."""
    return {name: accuracy(model, images, labels) for name, images in picture_inputs(pictures).items()}
