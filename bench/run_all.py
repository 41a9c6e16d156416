"""Run the benchmark suite: each benchmark in its own process, one after the other.

Each benchmark's JSON is saved as bench/results/NAME.json, the whole suite is
printed as one JSON object, and BENCHMARKS.md is regenerated from the saved
results (bench/report.py), so every figure in it was measured, none typed in.

    python -m bench.run_all                 # the suite (about 35 minutes here)
    python -m bench.run_all --only predict_latency --only drawn_digits
    python -m bench.run_all --train         # also train every architecture with its defaults (about an hour)
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

from bench.common import REPO_ROOT

RESULTS = Path(__file__).resolve().parent / "results"

# name -> extra arguments; the order is the order they run in.
SUITE = {
    "default_model": [],
    "predict_latency": [],
    "picture_reading": [],
    "explain_speed": [],
    "pen_up_latency": ["--compare-with", "79cdc46"],  # the last version before the pad and the fragment
    "drawn_digits": ["--model", "studio_cnn-v2"],  # the pipelines compared with a model that never saw pen digits
    "pen_writers": ["--save"],  # before robustness, which shows the estimate it keeps (about 20 minutes)
    "robustness": [],
    "progress_overhead": [],
    "quick_train": [],
    "speed_record": [],
    "accuracy_record": [],  # scores the shipped record model; --train in its own run trains it (about 18 min)
    "architectures": [],
}


def run_benchmark(name: str, extra: list[str]) -> dict:
    """Run ``python -m bench.NAME`` and return the JSON it printed."""
    completed = subprocess.run([sys.executable, "-m", f"bench.{name}", *extra], cwd=REPO_ROOT,
                               capture_output=True, text=True)
    if completed.returncode != 0:
        raise RuntimeError(f"bench.{name} failed:\n{completed.stderr[-3000:]}")
    return json.loads(completed.stdout)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", action="append", choices=list(SUITE), help="run only these (repeatable)")
    parser.add_argument("--skip", action="append", choices=list(SUITE), default=[], help="leave these out")
    parser.add_argument("--train", action="store_true",
                        help="architectures: train each with its defaults for the test accuracy (slow)")
    args = parser.parse_args(argv)

    RESULTS.mkdir(exist_ok=True)
    suite = {}
    for name, extra in SUITE.items():
        if (args.only and name not in args.only) or name in args.skip:
            continue
        if name == "architectures" and args.train:
            extra = [*extra, "--train"]
        print(f"running bench.{name} ...", file=sys.stderr, flush=True)
        result = run_benchmark(name, extra)
        (RESULTS / f"{name}.json").write_text(json.dumps(result, indent=2) + "\n")
        suite[name] = result
    print(json.dumps(suite, indent=2))

    from bench.report import write_report

    write_report()
    return 0


if __name__ == "__main__":
    sys.exit(main())
