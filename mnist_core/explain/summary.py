"""Everything the explanations say about one image, as one JSON-ready dict, with the
pictures written as PNGs (what ``python -m mnist_core explain`` prints and writes)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from mnist_core.explain import activations, pictures, saliency


def explain_image(model, image: np.ndarray, out_dir: Path | None = None, target: int | None = None) -> dict[str, Any]:
    """The reading of ``image`` (uint8 28x28), its top three classes, and for each
    saliency method (for ``target``, by default the digit read) the share of its
    positive mass inside the digit's bounding box. With ``out_dir``, the saliency
    overlays and every layer's activations are written there as PNGs (the dict
    names each file)."""
    layers = activations.layer_activations(model, image)
    probabilities = layers[-1].values
    label = int(probabilities.argmax())
    target = label if target is None else int(target)
    top = np.argsort(probabilities)[::-1][:3]
    result: dict[str, Any] = {
        "label": label,
        "top3": [{"digit": int(d), "probability": round(float(probabilities[d]), 6)} for d in top],
        "target": target,
        "saliency": {},
        "activations": [],
    }
    maps: dict[str, np.ndarray] = {}
    ig = saliency.integrated_gradients(model, image, target)
    maps["integrated_gradients"] = ig.values
    try:
        maps["grad_cam"] = saliency.grad_cam(model, image, target)
    except saliency.NeedsConvolutions as note:
        result["saliency"]["grad_cam"] = {"error": str(note)}
    maps["occlusion"] = saliency.occlusion(model, image, target)
    for method, heat in maps.items():
        if method == "integrated_gradients":
            # Its share on the digit is 1 by construction (it credits only inked pixels).
            entry: dict[str, Any] = {"share_for": round(saliency.share_for(heat), 4), "steps": ig.steps,
                                     "completeness_gap": round(ig.gap, 4)}
        else:
            entry = {"inside_bbox": round(saliency.inside_box_share(heat, image), 4)}
        if out_dir is not None:
            path = pictures.save_png(pictures.signed_overlay(image, heat), Path(out_dir) / f"saliency-{method}.png")
            entry["png"] = str(path)
        result["saliency"][method] = entry
    for index, layer in enumerate(layers):
        entry = {"layer": layer.name, "type": layer.layer_type, "shape": list(layer.shape)}
        if out_dir is not None and layer.kind == activations.MAPS:
            path = Path(out_dir) / f"activations-{index:02d}-{layer.name}.png"
            entry["png"] = str(pictures.save_png(pictures.map_grid(layer.values), path))
        result["activations"].append(entry)
    return result
