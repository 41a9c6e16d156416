"""The Mistakes page under AppTest: metrics, filters, paging, inspecting one image."""

from __future__ import annotations

import io
import json
import re
import shutil
from pathlib import PurePosixPath

import numpy as np
import pytest
from PIL import Image
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage
from streamlit.testing.v1 import AppTest

from mnist_core.models import evaluation as evaluation_module
from mnist_core.models import store
from mnist_core.models.evaluation import evaluate_saved_model
from tests.conftest import REPO_ROOT, SHIPPED_ARTIFACTS
from ui.text import a_digit


def mistakes_page(architecture: str) -> AppTest:
    """The Mistakes page reading with an untrained ``architecture`` model called "untrained"
    (MNIST_NPZ set by the caller): it gets most of the 200 test images wrong, so there are pages."""
    from mnist_core.models.architectures import get_architecture

    store.save_model(get_architecture(architecture).build(), "untrained", {"arch": architecture})
    evaluation_module._MEMORY.clear()
    app = AppTest.from_file(str(REPO_ROOT / "app.py"), default_timeout=120).run()
    app.switch_page("pages/mistakes.py").run()
    assert not app.exception
    return app


@pytest.fixture
def page(tiny_npz, monkeypatch):
    monkeypatch.setenv("MNIST_NPZ", str(tiny_npz))
    return mistakes_page("lenet_tanh")


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


# --- Where the model looked, for the true and for the predicted digit -------------------


def picture_captions(dialog) -> list[str]:
    return [picture.caption for element in dialog.get("image") for picture in element.proto.imgs]


def test_the_dialog_explains_the_true_and_the_predicted_digit(page, tiny_data):
    index = inspect_first_mistake(page, tiny_data)
    expected = evaluate_saved_model("untrained", tiny_data)
    (dialog,) = open_dialogs(page)
    headings = [markdown.value for markdown in dialog.get("markdown") if "Why a" in markdown.value]
    assert headings == [f"**Why {a_digit(expected.labels[index])}?** (the true digit)",
                        f"**Why {a_digit(expected.predictions[index])}?** (what it read)"]
    methods = [re.match(r"(Integrated gradients: \d+% for, \d+% against|Grad-CAM: \d+% on the digit)$", caption)
               for caption in picture_captions(dialog)[1:]]
    assert [match.group(1).split(":")[0] for match in methods if match] == ["Integrated gradients", "Grad-CAM"] * 2
    assert any("red pixels argued for" in caption.value for caption in dialog.get("caption"))
    assert not page.exception


def test_a_model_without_convolutions_gets_integrated_gradients_and_a_note(tiny_npz, monkeypatch, tiny_data):
    monkeypatch.setenv("MNIST_NPZ", str(tiny_npz))
    app = mistakes_page("mlp")
    inspect_first_mistake(app, tiny_data)
    assert not app.exception
    (dialog,) = open_dialogs(app)
    captions = picture_captions(dialog)[1:]
    assert len(captions) == 2  # one overlay for each digit
    assert all(caption.startswith("Integrated gradients: ") for caption in captions)
    assert all(re.search(r"\d+% for, \d+% against$", caption) for caption in captions)
    notes = [caption.value for caption in dialog.get("caption") if "Grad-CAM needs convolution" in caption.value]
    assert len(notes) == 1


def test_a_model_that_cannot_be_loaded_is_an_error_in_the_dialog(page, tiny_data, monkeypatch):
    import ui.models

    def cannot_load(name):
        raise store.CorruptModel(f"model file {name}.keras could not be loaded: damaged")

    monkeypatch.setattr(ui.models, "load_model", cannot_load)
    inspect_first_mistake(page, tiny_data)
    assert not page.exception
    (dialog,) = open_dialogs(page)
    assert any("could not be loaded" in error.value for error in dialog.get("error"))


@pytest.fixture
def shown_pictures(monkeypatch) -> dict[str, bytes]:
    """Every picture the app hands to Streamlit, by the name in its URL."""
    shown: dict[str, bytes] = {}
    keep = MemoryMediaFileStorage.load_and_get_id

    def load_and_get_id(self, path_or_data, mimetype, kind, filename=None):
        file_id = keep(self, path_or_data, mimetype, kind, filename)
        shown[file_id] = path_or_data
        return file_id

    monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id", load_and_get_id)
    return shown


def test_on_the_shipped_model_each_half_explains_its_own_digit(tmp_path, monkeypatch, mnist_path, mnist,
                                                                shown_pictures):
    from mnist_core.explain import pictures, saliency
    from mnist_core.reading.inference import predict_probabilities

    artifacts = tmp_path / "artifacts"
    shutil.copytree(SHIPPED_ARTIFACTS, artifacts, ignore=shutil.ignore_patterns("runs"))
    monkeypatch.setenv("MNIST_STUDIO_ARTIFACTS", str(artifacts))
    monkeypatch.setenv("MNIST_NPZ", str(mnist_path))
    evaluation_module._MEMORY.clear()
    name = store.default_model_name()
    index = int(evaluate_saved_model(name, mnist).mistakes(order="confidence")[0])
    image = mnist.x_test[index]
    model = store.load_model(name)
    true_digit, read_as = int(mnist.y_test[index]), int(predict_probabilities(model, image)[0].argmax())
    assert read_as != true_digit

    app = AppTest.from_file(str(REPO_ROOT / "app.py"), default_timeout=180).run()
    app.switch_page("pages/mistakes.py").run()
    app.button(key=f"inspect-{index}").click().run()
    assert not app.exception
    (dialog,) = open_dialogs(app)
    urls = [picture.url for element in dialog.get("image") for picture in element.proto.imgs][1:]
    shown = [np.asarray(Image.open(io.BytesIO(shown_pictures[PurePosixPath(url).stem]))) for url in urls]
    assert len(shown) == 4  # integrated gradients and Grad-CAM, for the true digit, then for the one read

    true_ig = saliency.integrated_gradients(model, image, true_digit)
    read_ig = saliency.integrated_gradients(model, image, read_as)
    # What the model read: its attributions add up to the change in its probability
    # from a blank image to this one (completeness), as the user is told.
    change = predict_probabilities(model, image)[0, read_as] - predict_probabilities(model, 0 * image)[0, read_as]
    assert read_ig.values.sum() == pytest.approx(change, rel=0.05)

    def difference(picture, values) -> int:
        return int(np.abs(picture.astype(int) - pictures.signed_overlay(image, values, scale=6)).max())

    assert difference(shown[0], true_ig.values) <= 2
    assert difference(shown[2], read_ig.values) <= 2
    assert difference(shown[2], true_ig.values) > 40  # the two halves explain different digits
    assert difference(shown[3], saliency.grad_cam(model, image, read_as)) <= 2
