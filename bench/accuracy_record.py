"""The accuracy record: the most MNIST test accuracy from one model, and from a few looks.

The record model is trained by the CLI, as a user would train it, with the
architecture's defaults (about 18 minutes on two CPU cores; its training time is
the wall time of ``model.fit``, recorded in its metadata):

    python -m mnist_core train --arch record_cnn --name record_cnn-v2

This benchmark then reads that model's metadata and measures, on the 6,000
validation images its training held out (the same seeded split for every shipped
model, all trained with seed 1 and a 0.1 split) and on the 10,000 test images:

- the model alone;
- every test-time augmentation of ``mnist_core.models.test_time.VIEWS``; the one
  the record uses is the best on the validation images (ties: the fewest views),
  chosen before the test set is looked at;
- small ensembles: the record model with each other model named, averaged; the
  ensemble the record uses is again the best on the validation images.

    python -m bench.accuracy_record [--model record_cnn-v2]
        [--ensemble-with studio_cnn-v2 studio_cnn-v1 deeper_cnn-v1] [--train]

``--train`` first trains the record model afresh with that command (into the
artifacts folder, replacing the model of that name).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from bench.common import REPO_ROOT, default_mnist, emit  # noqa: E402

RECORD_MODEL = "record_cnn-v2"
TRAIN_COMMAND = ["-m", "mnist_core", "train", "--arch", "record_cnn", "--name", RECORD_MODEL]
SINGLE_TARGET, LOOKS_TARGET = 0.997, 0.998


def validation_split(data, config: dict):
    """The validation images and labels a run with ``config`` (its metadata) held out."""
    from mnist_core.data import split_train_val, take_subset

    x, y = take_subset(data.x_train, data.y_train, config.get("subset"), config["seed"])
    _, _, x_val, y_val = split_train_val(x, y, config["val_split"], config["seed"])
    return x_val, y_val


def accuracy(probabilities: np.ndarray, labels: np.ndarray) -> float:
    return round(float(np.mean(probabilities.argmax(axis=1) == labels)), 4)


def best_on_validation(candidates: list[dict]) -> dict:
    """The candidate with the highest validation accuracy; ties go to the cheapest one."""
    return max(candidates, key=lambda candidate: (candidate["validation"], -candidate["looks"]))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=RECORD_MODEL, help="the record model's name")
    parser.add_argument("--ensemble-with", nargs="*", default=["studio_cnn-v2", "studio_cnn-v1", "deeper_cnn-v1"],
                        help="models to average with it (each trained on the same split)")
    parser.add_argument("--train", action="store_true", help="train the record model first")
    parser.add_argument("--data", default=str(default_mnist() or ""), help="mnist.npz")
    args = parser.parse_args(argv)

    if args.train:
        command = [sys.executable, *TRAIN_COMMAND[:-1], args.model]
        if args.data:
            command += ["--data", args.data]
        subprocess.run(command, cwd=REPO_ROOT, check=True)

    from mnist_core import paths
    from mnist_core.data import load_mnist
    from mnist_core.models import store
    from mnist_core.models.test_time import VIEWS, averaged_probabilities
    from mnist_core.tfimport import import_keras_quietly

    import_keras_quietly()
    data = load_mnist(args.data or None)
    metadata = store.read_metadata(args.model)
    x_val, y_val = validation_split(data, metadata["config"])
    model = store.load_model(args.model)

    def measured(models, view: str, what: str) -> dict:
        looks = len(models) * len(VIEWS[view])
        return {"what": what, "view": view, "looks": looks,
                "validation": accuracy(averaged_probabilities(models, x_val, view), y_val),
                "test": accuracy(averaged_probabilities(models, data.x_test, view), data.y_test)}

    views = [measured([model], view, args.model) for view in VIEWS]
    single = views[0]
    chosen_view = best_on_validation(views)
    print(f"test-time augmentation: {views}", file=sys.stderr, flush=True)

    ensembles, others = [], {}
    for name in args.ensemble_with:
        other = store.read_metadata(name)["config"]
        if (other["seed"], other["val_split"], other.get("subset")) != (
                metadata["config"]["seed"], metadata["config"]["val_split"], metadata["config"].get("subset")):
            raise SystemExit(f"{name} was trained on another split: its validation images are not held out")
        others[name] = store.load_model(name)
    members = [args.model]
    for name in args.ensemble_with:  # grow the ensemble one model at a time, in the order given
        members.append(name)
        ensembles.append(measured([model, *(others[m] for m in members[1:])], "as-is", " + ".join(members)))
    chosen_looks = best_on_validation([chosen_view, *ensembles])

    emit({
        "benchmark": "accuracy_record",
        "model": args.model,
        "arch": metadata["arch"],
        "trained_by": metadata.get("command"),
        "train_seconds": metadata.get("train_seconds"),
        "params": metadata.get("params"),
        "file_bytes": (paths.models_dir() / f"{args.model}.keras").stat().st_size,
        "validation_images": int(len(y_val)),
        "single": single,
        "test_time_augmentation": views,
        "ensembles": ensembles,
        "ensemble_train_seconds": {name: store.read_metadata(name).get("train_seconds")
                                   for name in args.ensemble_with},
        "chosen_looks": chosen_looks,
        "single_record_holds": single["test"] >= SINGLE_TARGET
        and (metadata.get("train_seconds") or 1e9) <= 30 * 60,
        "looks_record_holds": chosen_looks["test"] >= LOOKS_TARGET,
    })
    return 0


if __name__ == "__main__":
    sys.exit(main())
