"""Pen digits of writers a model never saw: the writer-fold estimate for a model that
trains on real pen digits.

A model trained with ``--pen-writers`` has read the pen digits of all 30 writers of
``pendigits-orig.tra``, so its own score on them says little about a new writer.
For each of the 3 writer folds (``mnist_core.digitsets.writer_fold``: writers 1, 4,
..., 28; 2, 5, ..., 29; 3, 6, ..., 30) this trains a model of the same settings on
the same MNIST images and the other 20 writers' pen digits, and reads the 10 held-out
writers' digits through the Draw page's canvas pipeline, at their written scale and
filling the canvas. Every writer is read once, by a model that never saw them; the
estimate is the share of all 7,494 digits read right.

With ``--save`` the estimate goes into the model's scorecard (``NAME.scorecard.json``,
shown on the Models page), marked "held out"; ``python -m mnist_core scorecard NAME``
keeps it when it scores the model again.

    python -m bench.pen_writers [--model NAME] [--fold K ...] [--save]

About 7 minutes per fold here for studio_cnn's settings.
"""

from __future__ import annotations

import argparse
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from bench.common import SHARED_DATA, default_mnist, default_pendigits, emit  # noqa: E402


def fold_scores(config, data, digits, fold: int) -> dict:
    """Train ``config`` without writer fold ``fold``'s pen digits and read them."""
    import numpy as np

    from mnist_core.digitsets import RENDERINGS, pen_digit_images, writer_fold
    from mnist_core.models.robustness import accuracy
    from mnist_core.training.fit import train

    result = train(config, data, held_out_writer_fold=fold)
    held_out = [digit for digit in digits if writer_fold(digit.writer) == fold]
    writers = sorted({digit.writer for digit in held_out})
    assert not set(writers) & set(result.pen_writers), "a held-out writer was trained on"
    labels = np.array([digit.label for digit in held_out])
    right = {rendering: int(round(accuracy(result.model, pen_digit_images(held_out, rendering), labels)
                                  * len(labels))) for rendering in RENDERINGS}
    return {"fold": fold, "held_out_writers": writers, "digits": len(held_out), "right": right,
            "accuracy": {rendering: count / len(held_out) for rendering, count in right.items()},
            "trained_pen_digits": result.n_pen, "train_seconds": round(result.seconds, 1),
            "validation_accuracy": result.check_accuracy, "test_accuracy": result.test_accuracy}


def estimate_of(folds: list[dict]) -> dict:
    """The scorecard's pen_digits from the folds: each rendering's share read right."""
    from mnist_core.digitsets import RENDERINGS

    total = sum(fold["digits"] for fold in folds)
    estimate = {rendering: sum(fold["right"][rendering] for fold in folds) / total for rendering in RENDERINGS}
    return {**estimate, "digits": total,
            "held out": f"by writer folds: {len(folds)} models of its settings, each trained without the "
                        f"{len(folds[0]['held_out_writers'])} writers it read (python -m bench.pen_writers)"}


def main(argv=None) -> int:
    from mnist_core.digitsets import PENDIGITS_ENV, WRITER_FOLDS

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", help="a saved model that trained on pen digits (default: the default model)")
    parser.add_argument("--fold", type=int, action="append", choices=range(WRITER_FOLDS),
                        help="only these folds (repeatable; the estimate needs all)")
    parser.add_argument("--save", action="store_true", help="keep the estimate in the model's scorecard")
    parser.add_argument("--data", default=str(default_mnist() or ""), help="mnist.npz")
    parser.add_argument("--usps", default=str(SHARED_DATA / "usps-train.npz"))
    args = parser.parse_args(argv)
    os.environ.setdefault(PENDIGITS_ENV, str(default_pendigits()))

    from mnist_core.data import load_mnist
    from mnist_core.digitsets import find_pendigits, load_pendigits
    from mnist_core.models import store
    from mnist_core.models.robustness import save_scorecard, score_model
    from mnist_core.tfimport import import_keras_quietly
    from mnist_core.training.config import TrainConfig

    name = args.model or store.resolve_model_name(None)
    metadata = store.read_metadata(name)
    config = TrainConfig.from_dict(metadata["config"])
    if not config.pen_writers:
        print(f"error: {name} did not train on real pen digits: its scorecard reads every writer as it is "
              "(python -m mnist_core scorecard)", file=sys.stderr)
        return 2
    if args.save and args.fold and sorted(set(args.fold)) != list(range(WRITER_FOLDS)):
        print("error: --save needs every fold", file=sys.stderr)
        return 2
    import_keras_quietly()
    data = load_mnist(args.data or None)
    digits = load_pendigits(find_pendigits())
    folds = []
    for fold in sorted(set(args.fold or range(WRITER_FOLDS))):
        folds.append(fold_scores(config, data, digits, fold))
        print(f"fold {fold}: {folds[-1]}", file=sys.stderr, flush=True)
    estimate = estimate_of(folds)
    if args.save:
        save_scorecard(name, score_model(name, data, usps=args.usps, pen_estimate=estimate))
    emit({"benchmark": "pen_writers", "model": name, "settings": metadata["config"],
          "model_test_accuracy": metadata.get("test_accuracy"), "folds": folds, "estimate": estimate,
          "saved": args.save})
    return 0


if __name__ == "__main__":
    sys.exit(main())
