"""The Draw page's "Inside the model" views under AppTest, on the shipped models
(copied, so the feature map cached beside a model lands in a scratch folder)."""

from __future__ import annotations

import io
import re
import shutil

import numpy as np
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from mnist_core.explain import embedding
from mnist_core.models import store
from tests.conftest import REPO_ROOT, SHIPPED_ARTIFACTS


@pytest.fixture
def page_with_a_three(tmp_path, monkeypatch, mnist_path, mnist) -> AppTest:
    artifacts = tmp_path / "artifacts"
    shutil.copytree(SHIPPED_ARTIFACTS, artifacts, ignore=shutil.ignore_patterns("runs"))
    monkeypatch.setenv("MNIST_STUDIO_ARTIFACTS", str(artifacts))
    monkeypatch.setenv("MNIST_NPZ", str(mnist_path))
    app = AppTest.from_file(str(REPO_ROOT / "app.py"), default_timeout=180).run()
    app.button_group(key="draw_source").set_value("Upload a picture").run()
    three = mnist.x_test[int(np.flatnonzero(mnist.y_test == 3)[0])]
    buffer = io.BytesIO()
    Image.fromarray(255 - three).resize((200, 200)).save(buffer, format="PNG")
    app.get("file_uploader")[0].set_value(("three.png", buffer.getvalue(), "image/png")).run()
    assert not app.exception and app.metric[0].value == "3"
    return app


def _open(app: AppTest, view: str) -> AppTest:
    app.button_group(key="inside_view").set_value(view).run()
    assert not app.exception, app.exception
    return app


def _text(app: AppTest) -> str:
    """Every markdown, caption and info text on the page, and every picture's caption."""
    texts = [element.value for kind in ("markdown", "caption", "info") for element in app.get(kind)]
    texts += [picture.caption for element in app.get("image") for picture in element.proto.imgs]
    return " ".join(texts)


def test_layers_show_every_layer_of_the_model(page_with_a_three):
    app = page_with_a_three
    model = store.load_model(store.default_model_name())
    text = _text(_open(app, "Layers"))
    for layer in model.layers:
        assert f"**{layer.name}**" in text
    assert "One feature map, large" in text


def test_where_it_looked_shows_three_maps_mostly_on_the_digit(page_with_a_three):
    app = _open(page_with_a_three, "Where it looked")
    shares = re.findall(r"(Integrated gradients|Grad-CAM|Occlusion): (\d+)% on the digit", _text(app))
    assert [method for method, _ in shares] == ["Integrated gradients", "Grad-CAM", "Occlusion"]
    assert all(int(share) > 50 for _, share in shares)
    app.selectbox(key="inside_target").set_value(8).run()  # "why not an 8?"
    assert not app.exception
    assert "Integrated gradients:" in _text(app)


def test_filters_every_model_and_the_feature_map(page_with_a_three):
    app = _open(page_with_a_three, "Filters")
    assert any(chart for chart in app.get("plotly_chart"))
    app = _open(app, "Every model")
    (table,) = app.dataframe
    rows = table.value
    usable = [info.name for info in store.list_models()[0] if info.state != store.BROKEN]
    assert sorted(rows["model"]) == sorted(usable)
    assert (rows["reads"] == 3).all()  # every shipped model reads this clear 3
    app = _open(app, "Among the digits")
    assert "your drawing" in str(app.get("plotly_chart")[-1].proto.spec)
    assert embedding.cache_path(store.default_model_name()).exists()  # kept beside the model


def test_change_its_mind_finds_a_change_that_is_read_as_the_target(page_with_a_three):
    app = _open(page_with_a_three, "Change its mind")
    app.selectbox(key="inside_attack_target").set_value(8).run()
    app.button(key="inside_attack_run").click().run()
    assert not app.exception
    assert re.search(r"Read 8 \(\d+%\)", _text(app))
    assert re.search(r"Budget \*\*[0-9.]+\*\* per pixel; the change measures [0-9.]+", _text(app))
