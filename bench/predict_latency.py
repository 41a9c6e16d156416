"""Latency of reading one drawing: preprocessing plus inference, with the model warm.

For each of N real pen-written digits (the shared pendigits file) drawn as canvas
strokes, times what the Draw page does when the pen lifts: parse the canvas
JSON, re-draw the strokes MNIST-style, and run the model through its compiled
function. For comparison, in the same run: ``model.predict`` on one image, and
calling the model eagerly. Prints medians and 95th percentiles in milliseconds.

    python -m bench.predict_latency [--model NAME] [--count N]
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from bench.common import default_pendigits, emit  # noqa: E402


def summarise(milliseconds: list[float]) -> dict:
    values = np.asarray(milliseconds)
    return {"median_ms": round(float(np.median(values)), 3),
            "p95_ms": round(float(np.percentile(values, 95)), 3), "runs": len(values)}


def time_calls(function, arguments) -> list[float]:
    times = []
    for argument in arguments:
        started = time.perf_counter()
        function(argument)
        times.append((time.perf_counter() - started) * 1000)
    return times


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", help="saved model (default: the default model)")
    parser.add_argument("--count", type=int, default=300, help="drawings to time (default 300)")
    parser.add_argument("--pendigits", default=str(default_pendigits()))
    args = parser.parse_args(argv)

    from mnist_core import store
    from mnist_core.data import to_model_input
    from mnist_core.inference import predict_probabilities, read_strokes, warm_up
    from mnist_core.pendigits import canvas_json, filling_canvas, load_pendigits
    from mnist_core.preprocess import (CANVAS_SIZE, DEFAULT_BRUSH_WIDTH, dot_size, preprocess_strokes,
                                       strokes_from_canvas_json)
    from mnist_core.tfimport import import_keras_quietly

    import_keras_quietly()
    name = store.resolve_model_name(args.model)
    model = store.load_model(name)
    warm_up(model)
    digits = load_pendigits(args.pendigits)[: args.count]
    drawings = [canvas_json(filling_canvas(d.strokes, CANVAS_SIZE), DEFAULT_BRUSH_WIDTH) for d in digits]
    min_extent = dot_size(DEFAULT_BRUSH_WIDTH)  # as the Draw page reads them
    images = [preprocess_strokes(strokes_from_canvas_json(d), min_extent) for d in drawings]

    def pipeline(drawing):
        return read_strokes(model, strokes_from_canvas_json(drawing), min_extent).label

    for drawing in drawings[:20]:  # warm caches and the allocator
        pipeline(drawing)
    results = {
        "pipeline": summarise(time_calls(pipeline, drawings)),
        "preprocess_only": summarise(time_calls(lambda d: preprocess_strokes(strokes_from_canvas_json(d), min_extent),
                                                drawings)),
        "inference_only": summarise(time_calls(lambda im: predict_probabilities(model, im), images)),
        "model_predict": summarise(time_calls(lambda im: model.predict(to_model_input(im), verbose=0),
                                              images[:60])),
        "model_call_eager": summarise(time_calls(lambda im: np.asarray(model(to_model_input(im), training=False)),
                                                 images[:100])),
    }
    results["speedup_vs_model_predict"] = round(
        results["model_predict"]["median_ms"] / results["pipeline"]["median_ms"], 1)
    emit({"benchmark": "predict_latency", "model": name, "drawings": len(drawings), "results": results})
    return 0


if __name__ == "__main__":
    sys.exit(main())
