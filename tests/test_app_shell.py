"""The app shell: every page loads, and the sidebar lists the saved models."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from mnist_core.models import store
from tests.conftest import REPO_ROOT

APP = str(REPO_ROOT / "app.py")
PAGES = ["pages/draw.py", "pages/train.py", "pages/compare.py", "pages/mistakes.py", "pages/models.py"]


def _app() -> AppTest:
    return AppTest.from_file(APP, default_timeout=60)


def test_no_models_says_how_to_get_one():
    app = _app().run()
    assert not app.exception
    assert any("No saved models yet" in info.value for info in app.sidebar.info)


@pytest.fixture
def two_models():
    from mnist_core.models.architectures import get_architecture

    model = get_architecture("lenet_tanh").build()
    store.save_model(model, "first", {"arch": "lenet_tanh", "test_accuracy": 0.9876})
    store.save_model(model, "second", {"arch": "lenet_tanh", "test_accuracy": 0.5})
    store.set_default_model("second")


def test_sidebar_lists_models_with_accuracy_and_preselects_the_default(two_models):
    app = _app().run()
    assert not app.exception
    picker = app.sidebar.selectbox(key="model_name")
    assert picker.options == ["first (98.76%)", "second (50.00%)"]
    assert picker.value == "second"


@pytest.mark.parametrize("page", PAGES)
def test_every_page_loads(page, two_models):
    app = _app().run()
    app.switch_page(page).run()
    assert not app.exception
    assert app.title
