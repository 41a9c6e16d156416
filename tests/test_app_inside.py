"""The Draw page's "Inside the model" views under AppTest, on the shipped models
(copied, so the feature map cached beside a model lands in a scratch folder)."""

from __future__ import annotations

import io
import json
import re
import shutil

import numpy as np
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from mnist_core.charts import ACCENT
from mnist_core.explain import embedding
from mnist_core.models import store
from tests.conftest import REPO_ROOT, SHIPPED_ARTIFACTS
from ui import clicked_point
from ui.inside import DIGIT_KEY


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


def _map_charts(app: AppTest) -> dict[str, dict]:
    """The clickable feature-map grids on the page: layer name -> the figure's spec."""
    specs = [json.loads(chart.proto.spec) for chart in app.get("plotly_chart")]
    return {spec["data"][1]["text"][0].split(",")[0]: spec for spec in specs if spec["data"][0]["type"] == "image"}


def _outlined(spec: dict) -> list[int]:
    """Which maps of a grid figure are outlined as the chosen one (their order in the grid)."""
    return [index for index, shape in enumerate(spec["layout"].get("shapes", [])) if shape["line"]["color"] == ACCENT]


def test_layers_show_every_layer_of_the_model(page_with_a_three):
    app = page_with_a_three
    model = store.load_model(store.default_model_name())
    text = _text(_open(app, "Layers"))
    for layer in model.layers:
        assert f"**{layer.name}**" in text
    assert "One feature map, large" in text
    charts = _map_charts(app)
    with_maps = [layer for layer in model.layers if len(layer.output.shape) == 4]
    assert sorted(charts) == sorted(layer.name for layer in with_maps)  # one clickable grid per layer of maps
    for layer in with_maps:
        assert len(charts[layer.name]["data"][1]["customdata"]) == layer.output.shape[-1]  # a target per map
    assert _outlined(charts[with_maps[0].name]) == [0]  # at first: the first layer's first map
    # A click on the view already shown keeps it: the browser may not empty the section.
    assert app.button_group(key="inside_view").proto.required


def test_the_map_shown_large_is_the_one_chosen_and_outlined_in_its_grid(page_with_a_three):
    app = _open(page_with_a_three, "Layers")
    model = store.load_model(store.default_model_name())
    deep = [layer.name for layer in model.layers if len(layer.output.shape) == 4][3]
    app.selectbox(key="inside_map_layer").set_value(deep).run()
    app.number_input(key=f"inside_map_channel-{deep}").set_value(5).run()
    assert not app.exception
    assert re.search(rf"{deep}, map 5 \(\d+ x \d+\)", _text(app))
    charts = _map_charts(app)
    assert _outlined(charts[deep]) == [4]
    assert all(not _outlined(spec) for name, spec in charts.items() if name != deep)


def test_a_click_on_a_chart_is_read_from_its_selection_state():
    # The shape st.plotly_chart gives a click (AppTest cannot click a Plotly chart).
    clicked = {"selection": {"points": [{"curve_number": 1, "point_index": 4, "customdata": [4]}],
                             "point_indices": [4], "box": [], "lasso": []}}
    assert clicked_point(clicked) == [4]
    row = {"selection": {"points": [{"customdata": {"0": 1234, "1": 7}}]}}
    assert clicked_point(row) == [1234, 7]
    assert clicked_point({"selection": {"points": [], "point_indices": [], "box": [], "lasso": []}}) is None
    assert clicked_point({"selection": {"points": [{"point_index": 0}]}}) is None  # the star: no data
    assert clicked_point(None) is None


def test_where_it_looked_shows_three_maps_mostly_on_the_digit(page_with_a_three):
    app = _open(page_with_a_three, "Where it looked")
    text = _text(app)
    shares = re.findall(r"(Grad-CAM|Occlusion): (\d+)% on the digit", text)
    assert [method for method, _ in shares] == ["Grad-CAM", "Occlusion"]
    assert all(int(share) > 50 for _, share in shares)
    (evidence,) = re.findall(r"Integrated gradients: (\d+)% for, (\d+)% against", text)
    assert int(evidence[0]) > 50 and int(evidence[0]) + int(evidence[1]) in (99, 100, 101)  # a clear 3 read as 3
    app.selectbox(key="inside_target").set_value(8).run()  # "why not an 8?"
    assert not app.exception
    assert "Integrated gradients:" in _text(app)


def _weight_charts(app: AppTest) -> list[dict]:
    """The specs of the Filters view's weight charts (a histogram beside each unit's mean weight)."""
    specs = [json.loads(chart.proto.spec) for chart in app.get("plotly_chart")]
    return [spec for spec in specs if any("mean |weight| per" in note.get("text", "")
                                          for note in spec["layout"].get("annotations", []))]


def test_filters_every_model_and_the_feature_map(page_with_a_three):
    app = _open(page_with_a_three, "Filters")
    (weights,) = _weight_charts(app)
    # At first the output layer: one unit per digit, numbered as the digits are.
    assert weights["data"][1]["x"] == list(range(10))
    assert "mean |weight| per digit" in [note["text"] for note in weights["layout"]["annotations"]]
    convolution = next(layer.name for layer in store.load_model(store.default_model_name()).layers
                       if len(getattr(layer, "kernel", np.zeros(0)).shape) == 4)
    app.selectbox(key="inside_filter_layer").set_value(convolution).run()
    (weights,) = _weight_charts(app)
    assert weights["data"][1]["x"][0] == 1 and "mean |weight| per filter" in [
        note["text"] for note in weights["layout"]["annotations"]]
    app = _open(app, "Every model")
    (table,) = app.dataframe
    rows = table.value
    usable = [info.name for info in store.list_models()[0] if info.state != store.BROKEN]
    assert sorted(rows["model"]) == sorted(usable)
    assert (rows["reads"] == 3).all()  # every shipped model reads this clear 3


def test_the_digit_map_in_both_projections_and_a_chosen_digit_beside_it(page_with_a_three, mnist):
    app = _open(page_with_a_three, "Among the digits")
    spec = app.get("plotly_chart")[-1].proto.spec
    assert "your drawing" in spec and "PCA 1" in spec
    assert "Click a dot to see that digit here" in _text(app)
    path = embedding.cache_path(store.default_model_name())
    assert path.exists()  # kept beside the model
    feature_map = embedding.saved_map(store.default_model_name(), None, mnist)
    seven = int(feature_map.test_indices[feature_map.test_labels == 7][0])
    app.session_state[DIGIT_KEY] = seven  # as a click on that dot leaves it
    app.run()
    assert not app.exception
    assert f"Test image #{seven}: a 7, read as 7" in _text(app)
    app.radio(key="inside_projection").set_value("t-SNE").run()
    assert not app.exception
    spec = app.get("plotly_chart")[-1].proto.spec
    assert "t-SNE 1" in spec and "your drawing" in spec
    assert f"test image #{seven}, shown beside the map" in spec  # ringed on this map too
    assert "average position of the 10 map digits most like it" in _text(app)
    with np.load(path) as stored:
        assert "tsne" in stored.files  # computed once, kept beside the model


def test_change_its_mind_finds_a_change_that_is_read_as_the_target(page_with_a_three):
    app = _open(page_with_a_three, "Change its mind")
    app.selectbox(key="inside_attack_target").set_value(8).run()
    app.button(key="inside_attack_run").click().run()
    assert not app.exception
    (sure,) = re.findall(r"Read 8 \((\d+)%\)", _text(app))
    assert int(sure) >= 60  # as sure as the Draw page needs to say it reads an 8
    assert re.search(r"Budget \*\*[0-9.]+\*\* per pixel; the change measures [0-9.]+", _text(app))


def test_layers_of_an_imported_mlp_show_its_input_reshaped_to_28_by_28(tmp_path, monkeypatch, mnist_path, mnist):
    """The classic MLP tutorial's model takes (28, 28): imported, it reads through a
    Reshape to 28 x 28 (two axes, neither maps nor a vector). The Layers view shows that
    layer as the picture it is: the input itself."""
    import keras

    from mnist_core.explain import activations
    from mnist_core.models.importing import import_model
    from ui.inside import _grid_picture

    artifacts = tmp_path / "artifacts"
    monkeypatch.setenv("MNIST_STUDIO_ARTIFACTS", str(artifacts))
    monkeypatch.setenv("MNIST_NPZ", str(mnist_path))
    keras.utils.set_random_seed(0)
    mlp = keras.Sequential([keras.Input((28, 28)), keras.layers.Flatten(), keras.layers.Dense(64, activation="relu"),
                            keras.layers.Dense(10, activation="softmax")])
    mlp.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    mlp.fit(mnist.x_train[:3000] / 255.0, mnist.y_train[:3000], epochs=2, batch_size=64, verbose=0)
    mlp.save(tmp_path / "mlp.keras")
    info = import_model([tmp_path / "mlp.keras"], "tutorial-mlp", data=mnist, set_default=True)
    assert info.state == store.OK

    three = mnist.x_test[int(np.flatnonzero(mnist.y_test == 3)[0])]
    (reshaped, *_) = activations.layer_activations(store.load_model("tutorial-mlp"), three)
    assert reshaped.kind == activations.GRID and reshaped.shape == (28, 28)
    np.testing.assert_allclose(reshaped.values, three / 255.0, atol=1e-6)
    picture = _grid_picture(reshaped.values)
    assert picture.shape == (280, 280)
    assert (picture[::10, ::10] < 128).sum() == (three > 127).sum()  # dark exactly where the ink is strong

    app = AppTest.from_file(str(REPO_ROOT / "app.py"), default_timeout=180).run()
    app.button_group(key="draw_source").set_value("Upload a picture").run()
    buffer = io.BytesIO()
    Image.fromarray(255 - three).resize((200, 200)).save(buffer, format="PNG")
    app.get("file_uploader")[0].set_value(("three.png", buffer.getvalue(), "image/png")).run()
    assert not app.exception
    text = _text(_open(app, "Layers"))
    assert f"**{reshaped.name}** · Reshape · output 28 x 28" in text
    assert "One feature map, large" not in text  # it has no feature maps
