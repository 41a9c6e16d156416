"""Every page's URL opened first on a fresh server: the page itself, inside the app's
navigation and sidebar (a folder called pages/ once made Streamlit run it alone)."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import AppServer, copy_shipped_artifacts

PAGES = {"": "Draw a digit", "train": "New training run", "compare": "New comparison",
         "mistakes": "Test accuracy", "models": "Manage a model"}


@pytest.fixture
def fresh_server(tmp_path, chromium_path, mnist_path):
    """A server no browser has talked to yet."""
    server = AppServer(copy_shipped_artifacts(tmp_path / "artifacts"), tmp_path / "streamlit.log",
                       extra_env={"MNIST_NPZ": str(mnist_path)})
    yield server
    server.stop()


@pytest.mark.parametrize("path", list(PAGES), ids=[path or "draw" for path in PAGES])
def test_a_page_opened_first_is_that_page_in_the_apps_navigation(path, fresh_server, page):
    page.goto(f"{fresh_server.url}/{path}")
    page.get_by_text(PAGES[path]).first.wait_for()
    sidebar = page.get_by_test_id("stSidebar")
    sidebar.get_by_text("Model", exact=True).wait_for()  # app.py's model picker
    for title in ("Draw", "Train", "Compare", "Mistakes", "Models"):
        assert sidebar.get_by_text(title, exact=True).count() >= 1
    assert sidebar.get_by_text("app", exact=True).count() == 0  # no stray pages/ entries
    assert page.url.rstrip("/") == f"{fresh_server.url}/{path}".rstrip("/")
