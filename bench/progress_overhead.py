"""What the progress machinery costs training: with it against a bare ``model.fit``.

Both fit the same architecture on the same tf.data pipeline and data. "With
progress" adds what a job runs: the progress callback writing JSON lines, the
stop callback polling for a stop file before every batch, and a second process
reading the progress file and the job's state every second, as the app's page
does. The modes alternate (bare, with, with, bare, ...) so drift on a shared
machine hits both; each fit's first epoch (tracing, warm-up) is not timed.

On this shared host an epoch now and then takes about twice as long, in either
mode (the machine loses a core for a while). Such noise only ever adds time, so
the headline ratio compares the fastest epochs of the two modes, which is what
the progress machinery itself costs; the ratio of the medians, which a doubled
epoch can swing, is printed beside it.

    python -m bench.progress_overhead [--arch deeper_cnn] [--subset 12000] [--rounds 4]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from bench.common import default_mnist, emit  # noqa: E402

POLLER = """
import sys, time
from pathlib import Path
from mnist_core import jobs
from mnist_core.jobs import runs
run_dir = Path(sys.argv[1])
while True:
    runs.read_progress(run_dir)
    jobs.job_state(run_dir, runs.read_status(run_dir))
    time.sleep(1.0)
"""


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--arch", default="deeper_cnn")
    parser.add_argument("--subset", type=int, default=12000, help="training images per epoch")
    parser.add_argument("--epochs", type=int, default=3, help="epochs per fit (the first is not timed)")
    parser.add_argument("--rounds", type=int, default=4, help="fits per mode")
    parser.add_argument("--data", default=str(default_mnist() or ""), help="mnist.npz")
    args = parser.parse_args(argv)
    if args.epochs < 2 or args.rounds < 1:
        parser.error("--epochs must be at least 2 (the first epoch is not timed) and --rounds at least 1")

    from mnist_core.tfimport import import_keras_quietly

    keras = import_keras_quietly()
    from mnist_core.data import load_mnist, take_subset
    from mnist_core.jobs import runs
    from mnist_core.training import callbacks as keras_callbacks
    from mnist_core.training.config import TrainConfig
    from mnist_core.training.fit import build_compiled_model, make_dataset, uses_one_hot_labels

    data = load_mnist(args.data or None)
    config = TrainConfig(arch=args.arch, epochs=args.epochs).resolved()
    x, y = take_subset(data.x_train, data.y_train, args.subset, seed=1)
    steps = -(-len(x) // config.batch_size)

    def fit(with_progress: bool) -> list[float]:
        keras.utils.set_random_seed(1)
        model = build_compiled_model(config, steps)
        dataset = make_dataset(x, y, config.batch_size, shuffle=True, seed=1,
                               one_hot=uses_one_hot_labels(config.arch))
        timer = keras_callbacks.EpochTimer()
        callbacks = [timer]
        poller = None
        with tempfile.TemporaryDirectory() as folder:
            if with_progress:
                run_dir = runs.create_run("train", {}, "bench", runs_root=Path(folder))
                runs.write_status(run_dir, state="running")
                log = runs.ProgressLog(run_dir)
                callbacks += [keras_callbacks.ProgressCallback(log),
                              keras_callbacks.StopOnRequest(lambda: runs.stop_requested(run_dir))]
                poller = subprocess.Popen([sys.executable, "-c", POLLER, str(run_dir)])
            try:
                model.fit(dataset, epochs=args.epochs, callbacks=callbacks, verbose=0, shuffle=False)
            finally:
                if poller is not None:
                    poller.kill()
                    poller.wait()
                    log.close()
        return timer.seconds[1:]

    bare, with_progress = [], []
    for round_index in range(args.rounds):
        order = (False, True) if round_index % 2 == 0 else (True, False)
        for mode in order:
            (with_progress if mode else bare).extend(fit(mode))
    ratio = min(with_progress) / min(bare)
    median_ratio = float(np.median(with_progress) / np.median(bare))
    emit({
        "benchmark": "progress_overhead",
        "arch": args.arch,
        "images_per_epoch": len(x),
        "batch_size": config.batch_size,
        "batches_per_epoch": steps,
        "epoch_seconds_bare": [round(s, 3) for s in bare],
        "epoch_seconds_with_progress": [round(s, 3) for s in with_progress],
        "median_bare_s": round(float(np.median(bare)), 3),
        "median_with_progress_s": round(float(np.median(with_progress)), 3),
        "fastest_bare_s": round(min(bare), 3),
        "fastest_with_progress_s": round(min(with_progress), 3),
        "ratio": round(ratio, 4),
        "median_ratio": round(median_ratio, 4),
        "overhead_percent": round(100 * (ratio - 1), 2),
    })
    return 0


if __name__ == "__main__":
    sys.exit(main())
