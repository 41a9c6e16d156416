"""Browser tests: the real app served by ``streamlit run`` and driven in headless Chromium.

Chromium is /usr/bin/chromium (Debian's package) or $CHROMIUM_PATH; without it
these tests are skipped, except under CI=true, where they fail. Screenshots go
to test-artifacts/ (or $TEST_ARTIFACTS_DIR).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT, SHIPPED_ARTIFACTS

CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/e2e" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)


def _skip_or_fail(message: str):
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def chromium_path() -> str:
    path = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
    if not Path(path).is_file():
        _skip_or_fail(f"Chromium not found at {path} (apt-get install -y chromium, or set CHROMIUM_PATH)")
    try:
        import playwright  # noqa: F401
    except ImportError:
        _skip_or_fail("playwright is not installed (pip install -r requirements-test.txt)")
    return path


@pytest.fixture(scope="session")
def screenshot_dir() -> Path:
    path = Path(os.environ.get("TEST_ARTIFACTS_DIR", REPO_ROOT / "test-artifacts"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class AppServer:
    """``streamlit run app.py`` on a free localhost port, with its own artifacts folder
    (``app_root``: the checkout to serve, this one by default)."""

    def __init__(self, artifacts: Path, log_path: Path, extra_env: dict | None = None,
                 app_root: Path = REPO_ROOT):
        self.artifacts = artifacts
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "MNIST_STUDIO_ARTIFACTS": str(artifacts), "PYTHONUNBUFFERED": "1",
               **(extra_env or {})}
        self.log_path = log_path
        self._log = open(log_path, "w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", str(app_root / "app.py"),
             "--server.headless", "true", "--server.port", str(self.port),
             "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false",
             "--server.fileWatcherType", "none"],
            cwd=app_root, env=env, stdout=self._log, stderr=subprocess.STDOUT,
        )
        self._wait_healthy()

    def _wait_healthy(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"streamlit exited early:\n{self.log_path.read_text()}")
            try:
                with urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=2) as response:
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.3)
        raise RuntimeError(f"streamlit did not become healthy:\n{self.log_path.read_text()}")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self._log.close()


def copy_shipped_artifacts(destination: Path) -> Path:
    """A private copy of the shipped models and settings (runs left out)."""
    (destination / "runs").mkdir(parents=True, exist_ok=True)
    shutil.copytree(SHIPPED_ARTIFACTS / "models", destination / "models")
    shutil.copy2(SHIPPED_ARTIFACTS / "settings.json", destination / "settings.json")
    return destination


@pytest.fixture(scope="module")
def app_server(tmp_path_factory, chromium_path, mnist_path):
    """The app with a copy of the shipped artifacts and the real MNIST, served for this
    module's tests (a fresh server per test module)."""
    root = tmp_path_factory.mktemp("e2e")
    server = AppServer(copy_shipped_artifacts(root / "artifacts"), root / "streamlit.log",
                       extra_env={"MNIST_NPZ": str(mnist_path)})
    yield server
    server.stop()


@pytest.fixture(scope="module")
def browser(chromium_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the test item, so fixtures can see that the test failed."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


PHONE = {"width": 420, "height": 860}  # the viewport of ``phone_page``


def _fresh_page(browser, request, screenshot_dir, viewport: dict):
    """A browser page of ``viewport``'s size in its own context. When the test fails, a
    screenshot of the page is saved as FAILED-<test>.png and the app server's log tail
    is printed, to show what the page was at."""
    context = browser.new_context(viewport=viewport)
    page = context.new_page()
    page.set_default_timeout(60_000)
    yield page
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        page.screenshot(path=str(screenshot_dir / f"FAILED-{request.node.name}.png"), full_page=True)
        if "app_server" in request.fixturenames:
            log = request.getfixturevalue("app_server").log_path.read_text(errors="replace")
            print("--- the app server's log, last 60 lines ---", *log.splitlines()[-60:], sep="\n")
    context.close()


@pytest.fixture
def page(browser, request, screenshot_dir):
    """A fresh page of a desktop browser window (1400 x 1000)."""
    yield from _fresh_page(browser, request, screenshot_dir, {"width": 1400, "height": 1000})


@pytest.fixture
def phone_page(browser, request, screenshot_dir):
    """A fresh page of a phone's size (``PHONE``): the sidebar folds away, columns stack."""
    yield from _fresh_page(browser, request, screenshot_dir, PHONE)


QUIET_MS = 400  # how long the app must stay idle to count as settled


def wait_for_idle(page) -> None:
    """Until Streamlit has finished running the script and stays so: the app says it is
    not running, continuously for QUIET_MS, and its status widget is gone. Elements
    left from the previous run are gone then, and a click is not lost to a rerun
    still running (Streamlit drops a button click that arrives during one).

    Right after a click the app may not have started the rerun yet: the quiet window
    covers that gap, and the state it watches is the app's own.
    """
    page.wait_for_function(
        """(quietMs) => {
            const state = document.querySelector('[data-testid=stApp]')?.getAttribute('data-test-script-state');
            const now = performance.now();
            if (state !== 'notRunning' || window.__busySince === undefined) window.__busySince = now;
            if (state !== 'notRunning') return false;
            return now - window.__busySince >= quietMs;
        }""", arg=QUIET_MS, polling=50, timeout=60_000)
    page.evaluate("() => { delete window.__busySince; }")
    page.get_by_test_id("stStatusWidget").wait_for(state="hidden", timeout=60_000)


@pytest.fixture(scope="module")
def app_server_with_reference_run(tmp_path_factory, chromium_path, mnist_path):
    """As ``app_server``, with the shipped reference cross-validation run copied too (the
    run whose status.json says ``"reference": true``), for the Compare page."""
    from mnist_core.jobs import runs

    root = tmp_path_factory.mktemp("e2e-reference")
    artifacts = copy_shipped_artifacts(root / "artifacts")
    for run in runs.list_runs(SHIPPED_ARTIFACTS / "runs", kind="cv"):
        if run.status.get("reference") is True:
            shutil.copytree(run.path, artifacts / "runs" / run.run_id)
    server = AppServer(artifacts, root / "streamlit.log", extra_env={"MNIST_NPZ": str(mnist_path)})
    yield server
    server.stop()


# --- Drawing on the Draw page's pad ------------------------------------------------

CANVAS = "[data-testid=drawing-pad]"


def draw(page, strokes, canvas: str = CANVAS) -> None:
    """Draw strokes (lists of (x, y) in canvas pixels) on the pad (the element ``canvas``
    selects) with the mouse."""
    box = page.locator(canvas).bounding_box()
    for stroke in strokes:
        x, y = stroke[0]
        page.mouse.move(box["x"] + x, box["y"] + y)
        page.mouse.down()
        for x, y in stroke[1:]:
            page.mouse.move(box["x"] + x, box["y"] + y)
        page.mouse.up()


def boxes_of(locator) -> list[dict]:
    """The bounding boxes of the elements ``locator`` finds, laid out now (one browser
    round trip each, so measured once per check)."""
    return [box for box in (element.bounding_box() for element in locator.all()) if box]


def rows_of(boxes: list[dict]) -> int:
    """How many rows ``boxes`` (``boxes_of``) are laid out in: their distinct tops."""
    return len({round(box["y"]) for box in boxes})


def prediction(page) -> str:
    """The Prediction metric's value once it shows one."""
    metric = page.get_by_test_id("stMetricValue")
    metric.wait_for()
    return metric.inner_text().strip()


def wait_for_prediction(page, expected: str) -> None:
    """Until the Prediction metric reads ``expected`` and the run that wrote it has
    finished: the page writes the metric first and the rest (what the model saw, the
    views inside) after it, so a test that looks at once may look mid-run."""
    page.get_by_test_id("stMetricValue").filter(has_text=expected).wait_for()
    wait_for_idle(page)


def open_draw_page(page, url: str) -> None:
    page.goto(url)
    page.locator(CANVAS).wait_for()
    page.get_by_text("Nothing to read yet").wait_for()  # the model is loaded and waiting
