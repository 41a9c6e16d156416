"""Time to 99%: the quick-train preset trained on the full training set, three seeds;
and the Train page's "Quick run" (5,000 images, 2 epochs) with the same seeds.

The preset is the ``quick_cnn`` registry entry with its own defaults, which is
what a user gets by choosing it on the Train page and pressing Train. The quick
run is ``mnist_core.training.config.QUICK_RUN``, what the "Quick run" button trains.
Training time is the wall time of ``model.fit`` (data loading, the batch-norm
measurement and the final evaluations excluded); the test accuracy is on the
10,000 MNIST test images, the validation accuracy that of the finished model on its
held-out images (the check every trained model gets).

    python -m bench.quick_train [--arch quick_cnn] [--seeds 1 2 3]
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from bench.common import default_mnist, emit  # noqa: E402

PRESET = "quick_cnn"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--arch", default=PRESET)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--data", default=str(default_mnist() or ""), help="mnist.npz")
    args = parser.parse_args(argv)

    from mnist_core.data import load_mnist
    from mnist_core.models.architectures import get_architecture
    from mnist_core.tfimport import import_keras_quietly
    from mnist_core.training.config import QUICK_RUN, TrainConfig
    from mnist_core.training.fit import train

    import_keras_quietly()
    data = load_mnist(args.data or None)
    arch = get_architecture(args.arch)
    runs = []
    for seed in args.seeds:
        result = train(TrainConfig(arch=args.arch, seed=seed), data)
        runs.append({"seed": seed, "train_seconds": round(result.seconds, 2),
                     "test_accuracy": round(result.test_accuracy, 4), "epoch_seconds": result.epoch_seconds})
        print(f"seed {seed}: {runs[-1]}", file=sys.stderr, flush=True)
    quick_runs = []
    for seed in args.seeds:
        result = train(TrainConfig(**{**QUICK_RUN.to_dict(), "seed": seed}), data)
        quick_runs.append({"seed": seed, "train_seconds": round(result.seconds, 2),
                           "test_accuracy": round(result.test_accuracy, 4),
                           "validation_accuracy": round(result.check_accuracy, 4)})
        print(f"quick run, seed {seed}: {quick_runs[-1]}", file=sys.stderr, flush=True)
    emit({
        "benchmark": "quick_train",
        "arch": args.arch,
        "settings": (f"{arch.optimizer} {arch.learning_rate:g} {arch.lr_schedule}, batch {arch.batch_size}, "
                     f"{arch.epochs} epochs, augmentation {'on' if arch.augment else 'off'}"),
        "runs": runs,
        "median_train_seconds": round(float(np.median([r["train_seconds"] for r in runs])), 2),
        "median_test_accuracy": round(float(np.median([r["test_accuracy"] for r in runs])), 4),
        "reached_99": sum(r["test_accuracy"] >= 0.99 for r in runs),
        "quick_run": {
            "arch": QUICK_RUN.arch, "subset": QUICK_RUN.subset, "epochs": QUICK_RUN.epochs,
            "runs": quick_runs,
            "min_test_accuracy": min(r["test_accuracy"] for r in quick_runs),
            "median_train_seconds": round(float(np.median([r["train_seconds"] for r in quick_runs])), 2),
        },
    })
    return 0


if __name__ == "__main__":
    sys.exit(main())
