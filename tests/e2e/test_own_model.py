"""Bring your own model, in a real browser: upload a model saved as the classic MLP
tutorial saves it, see it listed and chosen, draw a digit with it, download its chart
as a PNG, and download the model (.keras and legacy .h5) that reads as the stored one."""

from __future__ import annotations

import io

import numpy as np

from tests.e2e.conftest import draw, prediction, wait_for_idle, wait_for_prediction
from tests.e2e.test_draw_page import ONE


def tutorial_mlp(folder, mnist):
    """The Keras MLP tutorial's model (784 inputs), trained for 2 epochs on 20,000
    images, saved with ``model.save("final_model.h5")``."""
    import keras

    layers = keras.layers
    model = keras.Sequential([keras.Input((784,)), layers.Dense(256, activation="relu"), layers.Dropout(0.2),
                              layers.Dense(10, activation="softmax")])
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    x = mnist.x_train[:20_000].reshape(-1, 784).astype("float32") / 255.0
    model.fit(x, keras.utils.to_categorical(mnist.y_train[:20_000], 10), epochs=2, batch_size=128, verbose=0)
    path = folder / "final_model.h5"
    model.save(path)
    return path


def download(page, button_name: str, folder) -> bytes:
    """Click the download button called ``button_name`` and return the file's bytes."""
    with page.expect_download() as started:
        page.get_by_role("button", name=button_name).click()
    path = folder / started.value.suggested_filename
    started.value.save_as(path)
    return path.read_bytes()


def go_to(page, title: str) -> None:
    """Another page of the app through its navigation (the same session: the sidebar's
    choice is kept)."""
    page.get_by_test_id("stSidebarNav").get_by_role("link", name=title).click()
    wait_for_idle(page)


def test_upload_a_model_draw_with_it_and_download_it(page, app_server, mnist, tmp_path, screenshot_dir):
    import keras
    from PIL import Image
    from playwright.sync_api import expect

    from mnist_core.models import store
    from mnist_core.reading.inference import read_strokes

    uploaded = tutorial_mlp(tmp_path, mnist)
    models_root = app_server.artifacts / "models"

    page.goto(f"{app_server.url}/models")
    wait_for_idle(page)
    page.get_by_text("Import a model trained elsewhere").click()
    # The file must be listed in the uploader before going on: a file set while the page
    # still runs can be lost, and the import then (rightly) asks for a file.
    page.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(str(uploaded))
    page.get_by_test_id("stFileChipName").get_by_text("final_model.h5").wait_for()
    page.get_by_role("textbox", name="Save it as").fill("my-mlp")
    page.get_by_role("textbox", name="Save it as").press("Enter")
    wait_for_idle(page)
    page.get_by_role("button", name="Import", exact=True).click()
    refused = page.get_by_test_id("stAlertContentError")
    page.get_by_text("Imported final_model.h5 as my-mlp").or_(refused).wait_for(timeout=120_000)
    assert refused.count() == 0, refused.inner_text()
    wait_for_idle(page)
    info = store.get_model_info("my-mlp", models_root)
    assert info.state == store.OK and info.metadata["imported"]["format"] == "h5"
    # Listed, described, and chosen in the sidebar: the app reads with it now.
    sidebar = page.get_by_test_id("stSidebar")
    expect(sidebar.get_by_role("combobox", name="Model")).to_have_value(f"my-mlp ({info.test_accuracy:.2%})")
    page.get_by_text("Imported from final_model.h5").wait_for()
    page.screenshot(path=str(screenshot_dir / "models-imported.png"), full_page=True)

    # Draw with it: the page reads as the imported model reads the same strokes offline.
    go_to(page, "Draw")
    page.get_by_text("Nothing to read yet").wait_for()
    model = store.load_model("my-mlp", models_root)
    expected = read_strokes(model, [np.asarray(stroke, dtype=float) for stroke in ONE])
    assert expected.label == 1 and not expected.unsure
    draw(page, ONE)
    wait_for_prediction(page, "1")
    assert prediction(page) == "1"
    assert page.get_by_role("button", name="my-mlp").count() == 1  # the page's own model switch names it
    page.screenshot(path=str(screenshot_dir / "draw-imported.png"), full_page=True)

    # Every chart has Plotly's PNG button: the probabilities, at twice their size on screen.
    chart = page.get_by_test_id("stPlotlyChart").first
    chart.hover()
    with page.expect_download() as started:
        chart.locator(".modebar-btn[data-title='Download plot as a PNG']").click()
    assert started.value.suggested_filename == "probabilities-my-mlp.png"
    picture = Image.open(io.BytesIO(open(started.value.path(), "rb").read()))
    box = chart.locator(".main-svg").first.bounding_box()
    assert picture.format == "PNG" and picture.size == (round(2 * box["width"]), round(2 * box["height"]))

    # Download the model both ways: each file reads the test images as the stored model does.
    go_to(page, "Models")
    page.get_by_role("button", name="Download the model (.keras)").wait_for()
    images = mnist.x_test[:100, :, :, None].astype("float32") / 255.0
    stored = np.asarray(model(images, training=False))
    for button, suffix in (("Download the model (.keras)", ".keras"), ("Download as legacy .h5", ".h5")):
        data = download(page, button, tmp_path)
        path = tmp_path / f"downloaded{suffix}"
        path.write_bytes(data)
        again = keras.saving.load_model(path, compile=False)
        np.testing.assert_allclose(np.asarray(again(images, training=False)), stored, atol=1e-6)
    assert (tmp_path / "my-mlp.keras").is_file() and (tmp_path / "my-mlp.h5").is_file()
