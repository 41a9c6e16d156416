"""Latency of reading one drawing: preprocessing plus inference, with the model warm.

For each of N real pen-written digits (the shared pendigits file) drawn as canvas
strokes, times what the Draw page does when the pen lifts: check the pad's
strokes, re-draw them MNIST-style, and run the model through its compiled
function. For comparison, in the same run: ``model.predict`` on one image, and
calling the model eagerly. Prints medians and 95th percentiles in milliseconds.

Inside the app, Streamlit ends every script run with two full garbage
collections and ``keras.backend.clear_session()``, which empties TensorFlow's
kernel cache. So the suite also times that clean-up (before and after the app's
``freeze_long_lived_objects``) and a reading right after it, through the app's
XLA-compiled single-image function and through a plain ``tf.function``.

    python -m bench.predict_latency [--model NAME] [--count N]
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from bench.common import default_pendigits, emit, summarise_ms  # noqa: E402


def time_calls(function, arguments) -> list[float]:
    times = []
    for argument in arguments:
        started = time.perf_counter()
        function(argument)
        times.append((time.perf_counter() - started) * 1000)
    return times


def after_streamlit_reruns(model, drawings, images, min_extent, pipeline, reruns: int = 30) -> dict:
    """What Streamlit does between two readings, and a reading right after it."""
    import gc

    import tensorflow as tf

    from mnist_core.data import to_model_input
    from mnist_core.tfimport import import_keras_quietly
    from ui.models import freeze_long_lived_objects

    keras = import_keras_quietly()

    def rerun_cleanup(_):
        gc.collect(2)  # runner.postScriptGC
        keras.backend.clear_session()  # the script runner's _clean_problem_modules

    def reading_then_timed_cleanup(drawing):
        pipeline(drawing)  # a rerun leaves new objects for the collector to look at
        started = time.perf_counter()
        rerun_cleanup(None)
        return (time.perf_counter() - started) * 1000

    plain = tf.function(lambda x: model(x, training=False),
                        input_signature=[tf.TensorSpec((None, 28, 28, 1), tf.float32)])
    plain(to_model_input(images[0]))

    def after_cleanup(read):
        def timed_after_cleanup(argument):
            rerun_cleanup(None)
            started = time.perf_counter()
            read(argument)
            return (time.perf_counter() - started) * 1000
        return lambda arguments: [timed_after_cleanup(a) for a in arguments]

    results = {
        "rerun_cleanup_unfrozen": summarise_ms([reading_then_timed_cleanup(d) for d in drawings[:reruns]]),
        "pipeline_after_cleanup": summarise_ms(after_cleanup(pipeline)(drawings[:reruns])),
        "plain_function_after_cleanup": summarise_ms(
            after_cleanup(lambda im: np.asarray(plain(to_model_input(im))))(images[:reruns])),
    }
    freeze_long_lived_objects()
    try:
        results["rerun_cleanup_frozen"] = summarise_ms([reading_then_timed_cleanup(d) for d in drawings[:reruns]])
    finally:
        gc.unfreeze()
    results["rerun_cleanup_speedup_from_freezing"] = round(
        results["rerun_cleanup_unfrozen"]["median_ms"] / results["rerun_cleanup_frozen"]["median_ms"], 1)
    return results


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", help="saved model (default: the default model)")
    parser.add_argument("--count", type=int, default=300, help="drawings to time (default 300)")
    parser.add_argument("--pendigits", default=str(default_pendigits()))
    args = parser.parse_args(argv)

    from bench.pendigits import canvas_drawings
    from mnist_core.data import to_model_input
    from mnist_core.models import store
    from mnist_core.reading.inference import predict_probabilities, read_strokes, warm_up
    from mnist_core.reading.preprocess import (
        DEFAULT_BRUSH_WIDTH,
        dot_size,
        preprocess_strokes,
        strokes_from_points,
    )
    from mnist_core.tfimport import import_keras_quietly

    import_keras_quietly()
    name = store.resolve_model_name(args.model)
    model = store.load_model(name)
    warm_up(model)
    drawings = canvas_drawings(args.pendigits, args.count)
    min_extent = dot_size(DEFAULT_BRUSH_WIDTH)  # as the Draw page reads them
    images = [preprocess_strokes(strokes_from_points(d), min_extent) for d in drawings]

    def pipeline(drawing):
        return read_strokes(model, strokes_from_points(drawing), min_extent).label

    for drawing in drawings[:20]:  # warm caches and the allocator
        pipeline(drawing)
    results = {
        "pipeline": summarise_ms(time_calls(pipeline, drawings)),
        "preprocess_only": summarise_ms(time_calls(
            lambda d: preprocess_strokes(strokes_from_points(d), min_extent), drawings)),
        "inference_only": summarise_ms(time_calls(lambda im: predict_probabilities(model, im), images)),
        "model_predict": summarise_ms(time_calls(lambda im: model.predict(to_model_input(im), verbose=0),
                                              images[:60])),
        "model_call_eager": summarise_ms(time_calls(lambda im: np.asarray(model(to_model_input(im), training=False)),
                                                 images[:100])),
    }
    results["speedup_vs_model_predict"] = round(
        results["model_predict"]["median_ms"] / results["pipeline"]["median_ms"], 1)
    results.update(after_streamlit_reruns(model, drawings, images, min_extent, pipeline))
    emit({"benchmark": "predict_latency", "model": name, "drawings": len(drawings), "results": results})
    return 0


if __name__ == "__main__":
    sys.exit(main())
