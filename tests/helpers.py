"""Helpers several test modules share (fixtures live in conftest.py)."""

from __future__ import annotations

import time


def wait_for(predicate, timeout: float = 120, interval: float = 0.1):
    """Poll ``predicate`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {predicate}")


def wait_until_done(run_id: str, timeout: float = 180):
    """The job ``run_id`` once it is no longer active."""
    from mnist_core import jobs

    return wait_for(lambda: (job := jobs.get_job(run_id)) and not job.active and job, timeout)
