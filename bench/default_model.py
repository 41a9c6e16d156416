"""The shipped default model on the 10,000 MNIST test images.

    python -m bench.default_model
"""

from __future__ import annotations

import argparse
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from bench.common import default_mnist, emit  # noqa: E402


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=str(default_mnist() or ""), help="mnist.npz")
    args = parser.parse_args(argv)

    from mnist_core.data import load_mnist
    from mnist_core.models import store
    from mnist_core.models.evaluation import evaluate_saved_model
    from mnist_core.tfimport import import_keras_quietly

    import_keras_quietly()
    name = store.resolve_model_name(None)
    metadata = store.read_metadata(name)
    evaluation = evaluate_saved_model(name, load_mnist(args.data or None))
    emit({
        "benchmark": "default_model",
        "model": name,
        "arch": metadata.get("arch"),
        "test_accuracy": round(evaluation.accuracy, 4),
        "test_loss": round(evaluation.loss, 4),
        "mistakes": int(len(evaluation.mistake_indices)),
        "trained_by": metadata.get("command"),
        "train_seconds": metadata.get("train_seconds"),
    })
    return 0


if __name__ == "__main__":
    sys.exit(main())
