"""Pen-up to reading on screen, as the user feels it: measured in a real browser.

Serves the app (``streamlit run app.py``, a copy of the shipped models) and drives
headless Chromium with playwright: real pen-written digits (the shared pendigits
file) are drawn on the Draw page's pad with the mouse, stroke by stroke, with an
inside view open. For every stroke, the page itself timestamps (``performance.now``):

- pen-up: the ``pointerup`` event, seen by the document before the pad sees it;
- reading on screen: the first animation frame after the reading for this stroke
  is in the page (the "What the model saw" picture shows the new drawing);
- settled: the first moment after pen-up that the app says its script is no
  longer running (the reading and the open inside view both done).

The pad is cleared between digits (not timed). ``--compare-with COMMIT`` measures
that commit of the app too, in the same run (served from a temporary git worktree
with the same models), for a before/after ratio. A commit from before the drawing
pad (streamlit-drawable-canvas, still installed here) is drawn on and cleared the
way its page offers.

    python -m bench.pen_up_latency [--count N] [--view VIEW ...] [--compare-with COMMIT]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import tempfile
from pathlib import Path

from bench.common import REPO_ROOT, default_mnist, default_pendigits, emit, summarise_ms

PAD = "[data-testid=drawing-pad]"
OLD_CANVAS = "canvas.upper-canvas"  # streamlit-drawable-canvas, before the pad

# Installed once per page: pen-up, reading-on-screen and settled times of the last stroke.
INSTRUMENT = """() => {
  const pen = window.__pen = {up: null, read: null, done: null, picture: null, ran: false};
  const picture = () => {
    const element = [...document.querySelectorAll('[data-testid=stImage]')]
      .find((e) => e.innerText.includes('What the model saw'));
    return element?.querySelector('img')?.getAttribute('src') ?? null;
  };
  document.addEventListener('pointerup', () => {
    Object.assign(pen, {up: performance.now(), read: null, done: null, picture: picture(), ran: false});
  }, true);
  new MutationObserver((records) => {
    if (pen.up === null) return;
    const state = document.querySelector('[data-testid=stApp]')?.getAttribute('data-test-script-state');
    // A short run can start and end within one batch of mutations: its records still show it.
    if (state === 'running' || records.some((r) => r.attributeName === 'data-test-script-state'
                                             && r.oldValue === 'running')) pen.ran = true;
    if (pen.read === null && pen.picture !== picture() && picture() !== null) {
      pen.read = -1;  // seen; stamped at the next frame, when it is painted
      requestAnimationFrame(() => { pen.read = performance.now(); });
    }
    if (pen.done === null && pen.ran && state === 'notRunning') pen.done = performance.now();
  }).observe(document.body, {subtree: true, childList: true, attributes: true, attributeOldValue: true,
                            characterData: true});
}"""


def _clear(page, canvas: str) -> None:
    if canvas == PAD:
        page.locator(PAD).locator("xpath=..").get_by_role("button", name="Clear").click()
    else:
        page.get_by_role("button", name="Reset canvas & history").click()
    page.get_by_text("Nothing to read yet").wait_for()


def measure(url: str, browser, drawings, view: str) -> dict:
    """Draw ``drawings`` (lists of strokes in canvas pixels) on the page at ``url`` with
    ``view`` open; returns the timings of every stroke read."""
    from tests.e2e.conftest import draw, wait_for_idle

    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(60_000)
    try:
        page.goto(url)
        page.get_by_text("Nothing to read yet").wait_for()
        page.locator(f"{PAD}, {OLD_CANVAS}").first.wait_for()
        canvas = PAD if page.locator(PAD).count() else OLD_CANVAS
        page.evaluate(INSTRUMENT)
        reading, settled = [], []
        for number, strokes in enumerate(drawings):
            for points in strokes:
                page.locator(canvas).scroll_into_view_if_needed()  # the page may have scrolled
                draw(page, [points], canvas)
                try:
                    page.wait_for_function("() => window.__pen.done !== null && window.__pen.read !== -1",
                                           timeout=30_000)
                except Exception as error:
                    shot = Path(tempfile.gettempdir()) / "pen_up_latency-stuck.png"
                    page.screenshot(path=str(shot), full_page=True)
                    raise RuntimeError(f"digit {number}: no end of the run after pen-up "
                                       f"({page.evaluate('() => window.__pen')}); page at {shot}") from error
                pen = page.evaluate("() => window.__pen")
                settled.append(pen["done"] - pen["up"])
                if pen["read"] is not None:  # None: nothing new to read (a dot)
                    reading.append(pen["read"] - pen["up"])
                wait_for_idle(page)
            if number == 0 and view:  # the view stays open from then on
                page.get_by_test_id("stButtonGroup").get_by_text(view, exact=True).click()
                wait_for_idle(page)
                reading.clear(), settled.clear()  # the first digit only opened the view
            _clear(page, canvas)
            wait_for_idle(page)
        return {"view": view or "none", "canvas": "pad" if canvas == PAD else "drawable-canvas",
                "pen_up_to_reading": summarise_ms(reading, 1), "pen_up_to_settled": summarise_ms(settled, 1)}
    finally:
        context.close()


def serve_and_measure(app_root: Path, drawings, views, mnist: Path, browser) -> list[dict]:
    from tests.e2e.conftest import AppServer, copy_shipped_artifacts

    with tempfile.TemporaryDirectory() as scratch:
        server = AppServer(copy_shipped_artifacts(Path(scratch) / "artifacts"), Path(scratch) / "streamlit.log",
                           extra_env={"MNIST_NPZ": str(mnist)}, app_root=app_root)
        try:
            return [measure(server.url, browser, drawings, view) for view in views]
        finally:
            server.stop()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=30, help="digits to draw after the first (default 30)")
    parser.add_argument("--view", action="append", dest="views",
                        help='inside view to keep open (repeatable; default "Layers" and "Where it looked")')
    parser.add_argument("--compare-with", metavar="COMMIT", help="also measure this commit of the app")
    parser.add_argument("--pendigits", default=str(default_pendigits()))
    parser.add_argument("--chromium", default=os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
    args = parser.parse_args(argv)
    views = args.views or ["Layers", "Where it looked"]
    mnist = default_mnist()
    if mnist is None:
        parser.error("MNIST is needed (../shared/data/mnist.npz or $MNIST_NPZ)")

    from playwright.sync_api import sync_playwright

    from bench.pendigits import filling_canvas, load_pendigits
    from mnist_core.reading.preprocess import CANVAS_SIZE
    from tests.e2e.conftest import CHROMIUM_ARGS

    digits = load_pendigits(args.pendigits)[: args.count + 1]
    drawings = [[[tuple(point) for point in stroke.round(1)] for stroke in filling_canvas(d.strokes, CANVAS_SIZE)]
                for d in digits]
    result = {"digits": len(drawings) - 1, "strokes": sum(len(d) for d in drawings[1:])}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=args.chromium, args=CHROMIUM_ARGS)
        result["now"] = serve_and_measure(REPO_ROOT, drawings, views, mnist, browser)
        if args.compare_with:
            with tempfile.TemporaryDirectory() as scratch:
                tree = Path(scratch) / "before"
                subprocess.run(["git", "-C", str(REPO_ROOT), "worktree", "add", "--detach", str(tree),
                                args.compare_with], check=True, capture_output=True)
                try:
                    result["before"] = {"commit": args.compare_with,
                                        "runs": serve_and_measure(tree, drawings, views, mnist, browser)}
                finally:
                    subprocess.run(["git", "-C", str(REPO_ROOT), "worktree", "remove", "--force", str(tree)],
                                   check=False, capture_output=True)
            result["ratios"] = {
                now["view"]: round(before["pen_up_to_reading"]["median_ms"] / now["pen_up_to_reading"]["median_ms"], 2)
                for now, before in zip(result["now"], result["before"]["runs"], strict=True)}
        browser.close()
    emit(result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
