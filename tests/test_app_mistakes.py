"""The Mistakes page under AppTest: metrics, filters, paging, inspecting one image."""

from __future__ import annotations

import json

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from mnist_core.models import evaluation as evaluation_module
from mnist_core.models import store
from mnist_core.models.evaluation import evaluate_saved_model
from tests.conftest import REPO_ROOT


@pytest.fixture
def page(tiny_npz, monkeypatch):
    from mnist_core.models.architectures import get_architecture

    # An untrained model: it gets most of the 200 test images wrong, so there are pages.
    store.save_model(get_architecture("lenet_tanh").build(), "untrained", {"arch": "lenet_tanh"})
    monkeypatch.setenv("MNIST_NPZ", str(tiny_npz))
    evaluation_module._MEMORY.clear()
    app = AppTest.from_file(str(REPO_ROOT / "app.py"), default_timeout=120).run()
    app.switch_page("pages/mistakes.py").run()
    assert not app.exception
    return app


def open_dialogs(app: AppTest) -> list:
    """The dialogs open on the page."""
    return [dialog for dialog in app.get("dialog") if dialog.proto.dialog.is_open]


def test_metrics_and_charts(page, tiny_data):
    expected = evaluate_saved_model("untrained", tiny_data)
    values = {metric.label: metric.value for metric in page.metric}
    assert values["Mistakes"] == f"{len(expected.mistake_indices):,}"
    assert values["Test accuracy"] == f"{expected.accuracy:.2%}"
    assert len(page.get("plotly_chart")) == 2  # confusion matrix and per-class accuracy
    assert any(f"{len(expected.mistake_indices):,} mistake(s)" in c.value for c in page.caption)


def test_filters_select_one_confusion(page, tiny_data):
    expected = evaluate_saved_model("untrained", tiny_data)
    true_digit = int(tiny_data.y_test[expected.mistake_indices[0]])
    page.selectbox(key="mistakes_true").set_value(true_digit).run()
    count = len(expected.mistakes(true_digit=true_digit))
    assert any(f"{count:,} mistake(s)" in c.value for c in page.caption)
    captions = [c.value for c in page.caption if " read as " in c.value]
    assert captions and all(f"**{true_digit}** read as" in c for c in captions)


def test_paging_and_inspecting(page, tiny_data):
    expected = evaluate_saved_model("untrained", tiny_data)
    assert len(expected.mistake_indices) > 40
    first_page = [c.value for c in page.caption if " read as " in c.value]
    assert len(first_page) == 40
    page.get("pagination")[0].set_value(2).run()
    second_page = [c.value for c in page.caption if " read as " in c.value]
    assert second_page and set(second_page).isdisjoint(first_page)
    index = int(expected.mistakes(order="confidence")[40])
    page.button(key=f"inspect-{index}").click().run()
    assert any(f"Test image #{index}" in dialog.proto.dialog.title for dialog in open_dialogs(page))
    assert len(page.get("plotly_chart")) == 3


def inspect_first_mistake(page, tiny_data) -> int:
    index = int(evaluate_saved_model("untrained", tiny_data).mistakes(order="confidence")[0])
    page.button(key=f"inspect-{index}").click().run()
    return index


def test_inspect_opens_a_dialog(page, tiny_data):
    index = inspect_first_mistake(page, tiny_data)
    assert [dialog.proto.dialog.title for dialog in open_dialogs(page)] == [f"Test image #{index}"]


def test_the_dialog_shows_the_images_ten_probabilities(page, tiny_data):
    index = inspect_first_mistake(page, tiny_data)
    (dialog,) = open_dialogs(page)
    (chart,) = dialog.get("plotly_chart")
    expected = 100 * evaluate_saved_model("untrained", tiny_data).probabilities[index]
    assert np.allclose(json.loads(chart.proto.spec)["data"][0]["y"], expected)


def test_the_dialog_says_the_true_and_the_predicted_digit(page, tiny_data):
    index = inspect_first_mistake(page, tiny_data)
    expected = evaluate_saved_model("untrained", tiny_data)
    (dialog,) = open_dialogs(page)
    assert (f"True digit **{expected.labels[index]}**, read as **{expected.predictions[index]}**"
            in dialog.get("markdown")[0].value)


def test_a_rerun_after_inspecting_leaves_the_dialog_closed(page, tiny_data):
    inspect_first_mistake(page, tiny_data)
    page.run()  # as after closing the dialog, then any rerun
    assert open_dialogs(page) == []


def test_a_filter_changed_after_inspecting_leaves_the_dialog_closed(page, tiny_data):
    inspect_first_mistake(page, tiny_data)
    page.selectbox(key="mistakes_order").set_value("Test-set index").run()
    assert open_dialogs(page) == []


def test_without_data_the_page_says_how_to_fix_it(page, monkeypatch, tmp_path):
    monkeypatch.setenv("MNIST_NPZ", str(tmp_path / "missing.npz"))
    app = AppTest.from_file(str(REPO_ROOT / "app.py"), default_timeout=60).run()
    app.switch_page("pages/mistakes.py").run()
    assert not app.exception
    assert any("MNIST_NPZ" in error.value for error in app.error)
