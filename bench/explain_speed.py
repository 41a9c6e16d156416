"""Speed of looking inside a model: one drawing's update, and the feature map.

For N real pen-written digits (the shared pendigits file) drawn as canvas strokes,
times what the Draw page computes for a drawing with its inside views: the reading
(preprocessing and inference), every layer's activations, Grad-CAM and integrated
gradients for the digit read (with the steps they took). The model is warm: each
function has run once. Also times the other views on demand (occlusion, the
targeted attack), and the feature map: built for 5,000 test images (plus 5,000
training images for neighbours) and saved, then loaded from disk in a new
process's way (memory emptied), and one drawing placed on it; then its t-SNE
layout, computed and added to the saved map, loaded again, and a drawing placed on it.

    python -m bench.explain_speed [--model NAME] [--count N]
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from bench.common import default_mnist, default_pendigits, emit, summarise_ms  # noqa: E402


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", help="saved model (default: the default model)")
    parser.add_argument("--count", type=int, default=200, help="drawings to time (default 200)")
    parser.add_argument("--pendigits", default=str(default_pendigits()))
    args = parser.parse_args(argv)

    from bench.pendigits import canvas_drawings
    from mnist_core.data import load_mnist
    from mnist_core.explain import activations, attack, embedding, saliency
    from mnist_core.models import store
    from mnist_core.reading.inference import read_strokes, warm_up
    from mnist_core.reading.preprocess import DEFAULT_BRUSH_WIDTH, dot_size, strokes_from_points
    from mnist_core.tfimport import import_keras_quietly

    import_keras_quietly()
    name = store.resolve_model_name(args.model)
    model = store.load_model(name)
    warm_up(model)
    drawings = canvas_drawings(args.pendigits, args.count)
    min_extent = dot_size(DEFAULT_BRUSH_WIDTH)
    has_convolutions = bool(saliency.conv_layers(model))
    steps = []

    def update(drawing):
        reading = read_strokes(model, strokes_from_points(drawing), min_extent)
        activations.layer_activations(model, reading.image)
        if has_convolutions:
            saliency.grad_cam(model, reading.image, reading.label)
        steps.append(saliency.integrated_gradients(model, reading.image, reading.label).steps)
        return reading

    for drawing in drawings[:10]:  # warm: every function traced once
        update(drawing)
    steps.clear()
    times, images = [], []
    for drawing in drawings:
        started = time.perf_counter()
        images.append(update(drawing).image)
        times.append((time.perf_counter() - started) * 1000)
    results = {"update": summarise_ms(times, 2),
               "integrated_gradients_steps": {str(s): steps.count(s) for s in sorted(set(steps))}}

    def timed(function, items) -> dict:
        function(items[0])
        spent = []
        for item in items:
            started = time.perf_counter()
            function(item)
            spent.append((time.perf_counter() - started) * 1000)
        return summarise_ms(spent, 2)

    results["occlusion"] = timed(lambda image: saliency.occlusion(model, image, 3), images[:50])
    results["attack_linf"] = timed(lambda image: attack.smallest_change(model, image, 3), images[:10])

    data = load_mnist(default_mnist())
    scratch = Path(tempfile.mkdtemp())
    try:
        shutil.copy(store.get_model_info(name).model_path, scratch / f"{name}.keras")
        started = time.perf_counter()
        embedding.saved_map(name, model, data, models_root=scratch)
        built = time.perf_counter() - started
        embedding._MEMORY.clear()  # as a new process finds it: on disk only
        started = time.perf_counter()
        feature_map = embedding.saved_map(name, model, data, models_root=scratch)
        loaded = time.perf_counter() - started
        assert feature_map.from_disk
        started = time.perf_counter()  # the t-SNE layout, computed when first asked for and added to the file
        embedding.saved_map(name, model, data, models_root=scratch, tsne=True)
        tsne_built = time.perf_counter() - started
        embedding._MEMORY.clear()
        started = time.perf_counter()
        with_tsne = embedding.saved_map(name, model, data, models_root=scratch, tsne=True)
        tsne_loaded = time.perf_counter() - started
        assert with_tsne.from_disk and with_tsne.tsne is not None
        results["feature_map"] = {
            "test_images": len(feature_map.test_indices), "neighbour_images": len(feature_map.train_indices),
            "build_and_save_s": round(built, 2), "load_s": round(loaded, 3),
            "place_one_drawing": timed(lambda image: embedding.place(feature_map, model, image), images[:50]),
            "tsne_build_and_save_s": round(tsne_built, 2), "tsne_load_s": round(tsne_loaded, 3),
            "place_one_drawing_tsne": timed(
                lambda image: embedding.place(with_tsne, model, image, projection=embedding.BY_TSNE), images[:50]),
        }
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    emit({"benchmark": "explain_speed", "model": name, "drawings": len(drawings), "results": results})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
