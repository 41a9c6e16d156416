"""What every benchmark records beside its figures: when, on what machine, with what."""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def environment() -> dict:
    """Date, machine and library versions, for the record."""
    from mnist_core.models.store import library_versions

    return {
        "date": time.strftime("%Y-%m-%d %H:%M:%S %z"),
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "versions": library_versions(),
        "command": " ".join(["python", "-m", f"bench.{Path(sys.argv[0]).stem}", *sys.argv[1:]]),
    }


def emit(result: dict) -> None:
    """Print the benchmark's result as one JSON object (with the environment)."""
    print(json.dumps({**result, "environment": environment()}, indent=2), flush=True)


def default_pendigits() -> Path:
    return Path(os.environ.get("PENDIGITS_TRA", SHARED_DATA / "pendigits-orig.tra"))


def default_mnist() -> Path | None:
    path = Path(os.environ.get("MNIST_NPZ", SHARED_DATA / "mnist.npz"))
    return path if path.is_file() else None


def summarise_ms(milliseconds, decimals: int = 3) -> dict:
    """Median and 95th percentile of timings in milliseconds, and how many there were."""
    import numpy as np

    values = np.asarray(milliseconds)
    return {"median_ms": round(float(np.median(values)), decimals),
            "p95_ms": round(float(np.percentile(values, 95)), decimals), "runs": len(values)}
