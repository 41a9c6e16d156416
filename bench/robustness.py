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

Prints the scorecards as JSON (each as ``mnist_core.models.robustness.scorecard``
makes it, which is what ``python -m mnist_core scorecard`` saves for the app).

    python -m bench.robustness [--model NAME ...]
"""

from __future__ import annotations

import argparse
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from bench.common import SHARED_DATA, default_mnist, default_pendigits, emit  # noqa: E402


def rounded(card: dict) -> dict:
    """The scorecard with its accuracies to 4 decimals (the JSON is read by people too)."""
    return {key: rounded(value) if isinstance(value, dict) else round(value, 4) if isinstance(value, float) else value
            for key, value in card.items()}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", action="append", help="a saved model (default: every usable one)")
    parser.add_argument("--data", default=str(default_mnist() or ""), help="mnist.npz")
    parser.add_argument("--usps", default=str(SHARED_DATA / "usps-train.npz"))
    args = parser.parse_args(argv)

    from mnist_core.data import load_mnist
    from mnist_core.models import store
    from mnist_core.models.corruptions import CORRUPTIONS
    from mnist_core.models.robustness import score_model
    from mnist_core.tfimport import import_keras_quietly

    import_keras_quietly()
    data = load_mnist(args.data or None)
    names = args.model or [info.name for info in store.list_models()[0] if info.usable]
    models = {}
    for name in names:  # the same scorecard as `python -m mnist_core scorecard NAME` saves
        models[name] = rounded(score_model(name, data, default_pendigits(), args.usps))
        print(f"{name}: {models[name]}", file=sys.stderr, flush=True)
    first = next(iter(models.values()))
    emit({"benchmark": "robustness", "default_model": store.default_model_name(),
          "pen_digits": first["pen_digits"].get("digits"), "usps_digits": first["usps"].get("digits"),
          "corruptions": CORRUPTIONS, "models": models})
    return 0


if __name__ == "__main__":
    sys.exit(main())
