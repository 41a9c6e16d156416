"""Every architecture in the registry: seconds per epoch on the full training set, and
(with --train) its test accuracy after its own default training.

Without --train, each architecture fits two epochs on the 54,000 training images
(60,000 less the 10% validation split) with its default batch size, optimizer and
augmentation; the second epoch is timed (the first includes tracing). With
--train, each one is trained exactly as ``python -m mnist_core train --arch NAME``
does (its defaults, in a temporary artifacts folder), and the seconds per epoch
are the median of that run's own epochs. --train takes most of an hour here.

    python -m bench.architectures [--train] [--arch NAME ...]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from bench.common import REPO_ROOT, default_mnist, emit  # noqa: E402


def epoch_seconds(name: str, data) -> float:
    """Seconds of the second epoch of a two-epoch fit with the architecture's defaults."""
    from mnist_core.training.config import TrainConfig
    from mnist_core.training.fit import train

    result = train(TrainConfig(arch=name, epochs=2, early_stopping=False), data, evaluate_test=False)
    return result.epoch_seconds[-1]


def default_training(name: str, data_path: str) -> dict:
    """Train ``name`` with its defaults through the CLI; its accuracy and epoch times."""
    with tempfile.TemporaryDirectory() as folder:
        env = {**os.environ, "MNIST_STUDIO_ARTIFACTS": folder, "PYTHONUNBUFFERED": "1"}
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "mnist_core", "train", "--arch", name, "--name", name,
                        "--data", data_path], cwd=REPO_ROOT, env=env, check=True,
                       stdout=subprocess.DEVNULL)
        wall = time.perf_counter() - started
        metadata = json.loads((Path(folder) / "models" / f"{name}.json").read_text())
        run_dir = Path(folder) / "runs" / metadata["run_id"]
        epochs = [json.loads(line) for line in (run_dir / "progress.jsonl").read_text().splitlines()
                  if '"event": "epoch"' in line]
    seconds = [e["seconds"] for e in epochs]
    return {
        "test_accuracy": round(metadata["test_accuracy"], 4),
        "epochs": metadata["epochs_done"],
        "train_seconds": metadata["train_seconds"],
        "seconds_per_epoch": round(float(np.median(seconds[1:] or seconds)), 2),
        "wall_seconds": round(wall, 1),
        "command": metadata["command"],
    }


def main(argv=None) -> int:
    from mnist_core.models.architectures import REGISTRY, count_params

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--arch", action="append", choices=list(REGISTRY), help="only these (repeatable)")
    parser.add_argument("--train", action="store_true", help="train each with its defaults (slow)")
    parser.add_argument("--data", default=str(default_mnist() or ""), help="mnist.npz")
    args = parser.parse_args(argv)

    from mnist_core.data import load_mnist
    from mnist_core.tfimport import import_keras_quietly

    import_keras_quietly()
    names = args.arch or list(REGISTRY)
    results = {}
    data = None if args.train else load_mnist(args.data or None)
    for name in names:
        arch = REGISTRY[name]
        row = {"parameters": count_params(name), "batch_size": arch.batch_size, "default_epochs": arch.epochs,
               "augment": arch.augment}
        if args.train:
            row.update(default_training(name, args.data))
        else:
            row["seconds_per_epoch"] = round(epoch_seconds(name, data), 2)
        results[name] = row
        print(f"{name}: {row}", file=sys.stderr, flush=True)
    emit({"benchmark": "architectures", "mode": "default training" if args.train else "epoch time",
          "training_images": 54000, "results": results})
    return 0


if __name__ == "__main__":
    sys.exit(main())
