"""Accuracy on real handwriting: pendigits drawn the way the canvas draws them.

Renders the 7,494 pen trajectories of ../shared/data/pendigits-orig.tra as the
canvas shows them (white, round-capped strokes on black, at the canvas size and
the app's default brush), once at their written scale (the tablet's 500x500 box
mapped onto the canvas, so many digits are small) and once scaled to fill most
of the canvas. Each goes through:

- ``strokes``: the app's canvas pipeline (the vector strokes re-drawn, MNIST-style);
- ``pixels``: the app's pipeline for pictures (uploads), on the rendered image;
- ``crop_centre``: a plain MNIST-style crop, fit and centre, no stroke handling;
- ``naive_resize``: the whole canvas squashed to 28x28, as most demos do;

and the model; prints accuracy for each, overall and per digit, and the commonest
confusions (which digit read as which, from how many writers), as JSON.

A model that trained on real pen digits (``train --pen-writers``) is measured on
the writers it did not train on, and refused when it saw them all.

    python -m bench.drawn_digits [--model NAME] [--limit N]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from functools import partial

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from bench.common import default_pendigits, emit  # noqa: E402

PIPELINES = ("strokes", "pixels", "crop_centre", "naive_resize")


def build_inputs(digits, canvas_size: int, brush: float):
    """28x28 inputs per rendering and pipeline: {rendering: {pipeline: uint8 (N, 28, 28)}}."""
    from bench.pendigits import render_like_canvas
    from mnist_core.digitsets import RENDERINGS, pen_digit_images
    from mnist_core.reading.preprocess import NothingToRead, naive_resize, preprocess

    renderings = {"written_scale": "written scale", "filling_canvas": "filling the canvas"}
    inputs = {}
    for rendering, name in renderings.items():
        # The app's canvas pipeline, as the scorecard reads the pen digits.
        arrays = {"strokes": pen_digit_images(digits, name, canvas_size, brush)}
        pictures = {pipeline: [] for pipeline in PIPELINES[1:]}
        for digit in digits:
            picture = render_like_canvas(RENDERINGS[name](digit.strokes, canvas_size), canvas_size, brush)
            for pipeline, make in (
                ("pixels", partial(preprocess, picture)),
                ("crop_centre", partial(preprocess, picture, normalise_width=False)),
                ("naive_resize", partial(naive_resize, picture)),
            ):
                try:
                    pictures[pipeline].append(make())
                except NothingToRead:
                    pictures[pipeline].append(np.zeros((28, 28), np.uint8))  # scored as wrong
        inputs[rendering] = {**arrays, **{pipeline: np.stack(values) for pipeline, values in pictures.items()}}
    return inputs


def top_confusions(labels: np.ndarray, predicted: np.ndarray, writers: np.ndarray, count: int = 5) -> list[dict]:
    """The ``count`` commonest (digit, read as) mistakes, most first.

    Each is {"digit", "read_as", "count", "writers": how many writers made them,
    "from_top_5_writers": how many of them come from the 5 writers with the most}.
    """
    wrong = labels != predicted
    pairs, counts = np.unique(np.stack([labels[wrong], predicted[wrong]], axis=1), axis=0, return_counts=True)
    confusions = []
    for index in np.argsort(-counts, kind="stable")[:count]:
        digit, read_as = (int(v) for v in pairs[index])
        by_writer = np.bincount(writers[wrong & (labels == digit) & (predicted == read_as)])
        confusions.append({
            "digit": digit, "read_as": read_as, "count": int(counts[index]),
            "writers": int(np.count_nonzero(by_writer)),
            "from_top_5_writers": int(np.sort(by_writer)[::-1][:5].sum()),
        })
    return confusions


def score(model, inputs, labels: np.ndarray, writers: np.ndarray) -> dict:
    from mnist_core.reading.inference import predict_probabilities

    results = {}
    for rendering, pipelines in inputs.items():
        results[rendering] = {}
        for name, images in pipelines.items():
            predicted = predict_probabilities(model, images).argmax(axis=1)
            correct = predicted == labels
            results[rendering][name] = {
                "accuracy": round(float(correct.mean()), 4),
                "per_digit": [round(float(correct[labels == d].mean()), 4) for d in range(10)],
                "confusions": top_confusions(labels, predicted, writers),
            }
    return results


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", help="saved model (default: the default model)")
    parser.add_argument("--pendigits", default=str(default_pendigits()), help="pendigits-orig.tra")
    parser.add_argument("--limit", type=int, help="only the first N digits (quick look)")
    parser.add_argument("--brush", type=float, help="brush width in canvas pixels (default: the app's)")
    args = parser.parse_args(argv)

    from bench.pendigits import load_pendigits
    from mnist_core.models import store
    from mnist_core.reading.preprocess import CANVAS_SIZE, DEFAULT_BRUSH_WIDTH
    from mnist_core.tfimport import import_keras_quietly

    import_keras_quietly()
    brush = args.brush or DEFAULT_BRUSH_WIDTH
    name = store.resolve_model_name(args.model)
    # A model that trained on some writers' pen digits is measured on the others only.
    trained_writers = set((store.read_metadata(name).get("pen_writers") or {}).get("writers") or ())
    digits = [digit for digit in load_pendigits(args.pendigits)[: args.limit] if digit.writer not in trained_writers]
    if not digits:
        print(f"error: {name} trained on the pen digits of every writer here: measure a model that did not "
              "(--model NAME)", file=sys.stderr)
        return 2
    labels = np.array([digit.label for digit in digits])
    writers = np.array([digit.writer for digit in digits])
    model = store.load_model(name)

    started = time.perf_counter()
    inputs = build_inputs(digits, CANVAS_SIZE, brush)
    results = score(model, inputs, labels, writers)
    emit({
        "benchmark": "drawn_digits",
        "model": name,
        "samples": len(digits),
        "writers": sorted({int(writer) for writer in writers}),
        "canvas_size": CANVAS_SIZE,
        "brush_width": brush,
        "app_pipeline": "strokes",
        "results": results,
        "seconds": round(time.perf_counter() - started, 1),
    })
    return 0


if __name__ == "__main__":
    sys.exit(main())
