"""The robustness scorecard of every shipped model: MNIST test, real pen-written
digits, scanned ZIP-code digits, and a corruption suite.

For each usable model in ``artifacts/models`` (or ``--model NAME``, repeatable):

- MNIST test: the 10,000 test images;
- pen digits: the 7,494 pendigits trajectories (30 writers), drawn through the
  Draw page's canvas pipeline, at their written scale and filling the canvas;
- USPS: the 7,291 scanned ZIP-code digits of ``usps-train.npz`` (16x16), read
  through the app's picture pipeline (what an upload goes through), and, for
  comparison, a plain resize into the 20x20 box padded to 28x28;
- corruptions: the suite of ``mnist_core.models.corruptions`` made from the 10,000
  test images (seed 0), one accuracy per corruption and their mean.

Prints the scorecard as JSON.

    python -m bench.robustness [--model NAME ...]
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from bench.common import SHARED_DATA, default_mnist, default_pendigits, emit  # noqa: E402

CANVAS_SIZE, BRUSH = 280, 18  # the Draw page's pad and default brush


def pen_inputs(path) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """({rendering: uint8 (N, 28, 28)}, labels): every pen digit through the canvas pipeline."""
    from bench.pendigits import at_written_scale, filling_canvas, load_pendigits, pad_value
    from mnist_core.reading.preprocess import NothingToRead, dot_size, preprocess_strokes, strokes_from_points

    digits = load_pendigits(path)
    inputs = {}
    for rendering, place in (("written scale", at_written_scale), ("filling the canvas", filling_canvas)):
        images = []
        for digit in digits:
            strokes = strokes_from_points(pad_value(place(digit.strokes, CANVAS_SIZE)))
            try:
                images.append(preprocess_strokes(strokes, min_extent=dot_size(BRUSH)))
            except NothingToRead:
                images.append(np.zeros((28, 28), np.uint8))  # scored as wrong
        inputs[rendering] = np.stack(images)
    return inputs, np.array([digit.label for digit in digits])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", action="append", help="a saved model (default: every usable one)")
    parser.add_argument("--data", default=str(default_mnist() or ""), help="mnist.npz")
    parser.add_argument("--usps", default=str(SHARED_DATA / "usps-train.npz"))
    args = parser.parse_args(argv)

    from mnist_core.data import load_mnist
    from mnist_core.models import store
    from mnist_core.models.corruptions import CORRUPTIONS, corrupt
    from mnist_core.models.robustness import accuracy, picture_inputs
    from mnist_core.tfimport import import_keras_quietly

    import_keras_quietly()
    data = load_mnist(args.data or None)
    names = args.model or [info.name for info in store.list_models()[0] if info.usable]
    pens, pen_labels = pen_inputs(default_pendigits())
    with np.load(args.usps) as usps:
        usps_inputs, usps_labels = picture_inputs(usps["x_train"]), usps["y_train"]
    corrupted = {name: corrupt(data.x_test, name, seed=0) for name in CORRUPTIONS}

    models = {}
    for name in names:
        model = store.load_model(name)
        corruption = {kind: round(accuracy(model, images, data.y_test), 4) for kind, images in corrupted.items()}
        models[name] = {
            "mnist_test": round(accuracy(model, data.x_test, data.y_test), 4),
            "pen_digits": {rendering: round(accuracy(model, images, pen_labels), 4)
                           for rendering, images in pens.items()},
            "usps": {pipeline: round(accuracy(model, images, usps_labels), 4)
                     for pipeline, images in usps_inputs.items()},
            "corruptions": corruption,
            "corruption_mean": round(float(np.mean(list(corruption.values()))), 4),
        }
        print(f"{name}: {models[name]}", file=sys.stderr, flush=True)
    emit({"benchmark": "robustness", "default_model": store.default_model_name(), "pen_digits": len(pen_labels),
          "usps_digits": len(usps_labels), "corruptions": CORRUPTIONS, "models": models})
    return 0


if __name__ == "__main__":
    sys.exit(main())
