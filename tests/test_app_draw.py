"""The Draw page under Streamlit's AppTest: it loads, shows the picker, reads uploads."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from tests.conftest import REPO_ROOT, SHIPPED_ARTIFACTS


@pytest.fixture
def shipped_models(monkeypatch):
    """The app as a user gets it: the shipped artifacts and default model."""
    monkeypatch.setenv("MNIST_STUDIO_ARTIFACTS", str(SHIPPED_ARTIFACTS))


def _draw_page() -> AppTest:
    return AppTest.from_file(str(REPO_ROOT / "app.py"), default_timeout=90).run()


def _png(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def test_page_loads_with_the_model_picker_and_waits_for_a_drawing(shipped_models):
    app = _draw_page()
    assert not app.exception
    assert app.title[0].value == "Draw a digit"
    picker = app.sidebar.selectbox(key="model_name")
    # The shipped default (artifacts/settings.json) is preselected; every option shows its accuracy.
    shipped_default = json.loads((SHIPPED_ARTIFACTS / "settings.json").read_text())["default_model"]
    assert picker.value == shipped_default and all("%" in option for option in picker.options)
    assert any("Nothing to read yet" in info.value for info in app.info)


def test_uploaded_image_gets_a_prediction(shipped_models, mnist):
    app = _draw_page()
    app.button_group(key="draw_source").set_value("Upload a picture").run()
    index = int(np.flatnonzero(mnist.y_test == 3)[0])
    digit = Image.fromarray(255 - mnist.x_test[index]).resize((200, 200))  # dark on light, larger
    app.get("file_uploader")[0].set_value(("three.png", _png(np.asarray(digit)), "image/png")).run()
    assert not app.exception
    (metric,) = app.metric
    assert metric.label == "Prediction" and metric.value == "3"
    assert "sure" in metric.delta
    bars = [json.loads(chart.proto.spec)["data"][0] for chart in app.get("plotly_chart")]
    probabilities = [trace for trace in bars if trace.get("type") == "bar" and len(trace.get("x", [])) == 10]
    assert len(probabilities) == 1  # the ten probabilities, in percent, the 3 highest
    assert abs(sum(probabilities[0]["y"]) - 100) < 0.1 and max(probabilities[0]["y"]) == probabilities[0]["y"][3]


def test_a_file_that_is_not_an_image_gets_a_message(shipped_models):
    app = _draw_page()
    app.button_group(key="draw_source").set_value("Upload a picture").run()
    app.get("file_uploader")[0].set_value(("notes.png", b"not an image at all", "image/png")).run()
    assert not app.exception
    assert any("Cannot read notes.png" in error.value for error in app.error)
    assert not app.metric


def test_a_blank_upload_has_nothing_to_read(shipped_models):
    app = _draw_page()
    app.button_group(key="draw_source").set_value("Upload a picture").run()
    app.get("file_uploader")[0].set_value(("blank.png", _png(np.full((50, 50), 255, np.uint8)), "image/png")).run()
    assert not app.exception
    assert any("Nothing to read" in info.value for info in app.info)


def test_without_models_the_page_says_where_to_get_one():
    app = _draw_page()
    assert not app.exception
    assert any("no saved model yet" in info.value for info in app.info)


# --- Faults and wording (issue: trust) -------------------------------------------


def _upload(app, name: str, data: bytes, mime: str = "image/png"):
    app.button_group(key="draw_source").set_value("Upload a picture").run()
    app.get("file_uploader")[0].set_value((name, data, mime)).run()
    return app


@pytest.mark.parametrize("shape", [(1, 1), (1, 300), (4, 50)])
def test_a_picture_too_small_to_read_says_so(shipped_models, shape):
    app = _upload(_draw_page(), "tiny.png", _png(np.full(shape, 200, np.uint8)))
    assert not app.exception
    (error,) = app.error
    assert "too small to read" in error.value
    assert not app.metric


def test_a_file_that_is_not_a_picture_gets_one_message_and_leaves_the_uploader_empty(shipped_models):
    app = _upload(_draw_page(), "notes.txt", b"some notes", "text/plain")
    assert not app.exception
    assert [error.value for error in app.error] == [
        "Cannot read notes.txt: the file is not an image Pillow can read (PNG, JPEG, GIF, BMP, WebP...)."]
    (uploader,) = app.get("file_uploader")
    assert uploader.value is None
    app.run()  # the next rerun (any click) no longer repeats it
    assert not app.error


def test_a_failed_model_is_read_with_a_warning(isolated_artifacts):
    from mnist_core.models import store
    from mnist_core.models.architectures import get_architecture

    store.save_model(get_architecture("lenet_tanh").build(), "junk", {"arch": "lenet_tanh", "test_accuracy": 0.11})
    app = _draw_page()
    assert not app.exception
    assert any("junk FAILED its check" in warning.value for warning in app.warning)


def test_a_model_keras_refuses_gives_a_message_not_a_traceback(isolated_artifacts, monkeypatch):
    import keras

    from mnist_core.models import store
    from mnist_core.models.architectures import get_architecture

    store.save_model(get_architecture("lenet_tanh").build(), "refused", {"arch": "lenet_tanh", "test_accuracy": 0.9})

    def refuse(*args, **kwargs):
        raise ValueError("Requested the deserialization of a Lambda layer")

    monkeypatch.setattr(keras.models, "load_model", refuse)
    app = _draw_page()
    assert not app.exception
    assert any("refused cannot be used" in error.value and "Lambda" in error.value for error in app.error)
    # From now on it is listed as broken, so the picker never offers it again.
    (info,) = store.list_models()[0]
    assert info.state == "broken" and "Lambda" in info.reason


def test_the_page_model_switch_changes_the_model_everywhere(shipped_models):
    app = _draw_page()
    switch = app.selectbox(key="page_model_name")
    assert switch.value == json.loads((SHIPPED_ARTIFACTS / "settings.json").read_text())["default_model"]
    switch.set_value("studio_cnn-v1").run()
    assert not app.exception
    assert app.session_state["model_name"] == "studio_cnn-v1"  # the sidebar picker's choice
    assert app.selectbox(key="page_model_name").value == "studio_cnn-v1"
