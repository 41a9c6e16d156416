"""The Draw page in a real browser: draw with the mouse, read the prediction, clear."""

from __future__ import annotations

import math

import numpy as np

from tests.conftest import SHARED_DATA
from tests.e2e.conftest import CANVAS, PHONE, draw, open_draw_page, prediction, wait_for_idle, wait_for_prediction
from tests.helpers import wait_for


def clear_canvas(page) -> None:
    page.locator(CANVAS).locator("xpath=..").get_by_role("button", name="Clear").click()
    page.get_by_text("Nothing to read yet").wait_for()


ONE = [[(140, 50 + 9 * k) for k in range(21)]]
ZERO = [[(140 + 55 * math.sin(a), 140 - 80 * math.cos(a)) for a in np.linspace(0, 2 * math.pi, 45)]]


def test_draw_a_one_and_a_zero_and_clear(page, app_server, screenshot_dir):
    open_draw_page(page, app_server.url)
    draw(page, ONE)
    wait_for_prediction(page, "1")
    assert prediction(page) == "1"
    assert "sure" in page.get_by_test_id("stMetricDelta").inner_text()
    assert page.get_by_text("What the model saw (28 x 28)").is_visible()
    page.screenshot(path=str(screenshot_dir / "draw-one.png"), full_page=True)

    clear_canvas(page)
    assert page.get_by_test_id("stMetricValue").count() == 0

    draw(page, ZERO)
    wait_for_prediction(page, "0")
    assert prediction(page) == "0"
    page.screenshot(path=str(screenshot_dir / "draw-zero.png"), full_page=True)
    clear_canvas(page)


def test_a_dot_is_nothing_to_read(page, app_server):
    open_draw_page(page, app_server.url)
    draw(page, [[(100, 100), (101, 101)]])
    page.get_by_text("just a dot").wait_for()
    assert page.get_by_test_id("stMetricValue").count() == 0


def test_real_pen_trajectories_read_as_the_offline_pipeline_reads_them(page, app_server, screenshot_dir):
    """Digits written by people (the shared pendigits file), drawn with the mouse:
    the page must show what the same pipeline and model give offline."""
    from bench.pendigits import filling_canvas, load_pendigits
    from mnist_core.models import store
    from mnist_core.reading.inference import read_strokes
    from tests.conftest import require_real_file

    path = require_real_file(SHARED_DATA / "pendigits-orig.tra", "pendigits-orig.tra")
    digits = load_pendigits(path)
    model = store.load_model(store.default_model_name(app_server.artifacts / "models"),
                             app_server.artifacts / "models")
    open_draw_page(page, app_server.url)
    checked = 0
    for digit in digits[:48:8]:  # six digits from six writers
        strokes = [np.round(s, 1) for s in filling_canvas(digit.strokes, 280)]
        expected = read_strokes(model, strokes)
        if expected.unsure:
            continue  # the page shows "?" for those; covered by the unit tests
        draw(page, [[tuple(p) for p in s] for s in strokes])
        wait_for_prediction(page, str(expected.label))
        assert prediction(page) == str(expected.label)
        checked += 1
        if checked == 1:
            page.screenshot(path=str(screenshot_dir / "draw-pendigits.png"), full_page=True)
        clear_canvas(page)
    assert checked >= 4


def pixel(page, x: int, y: int) -> tuple[int, ...]:
    """The pad's colour (r, g, b) at canvas pixel (x, y); (3, 3) is paper."""
    return tuple(page.locator(CANVAS).evaluate(
        "(canvas, [x, y]) => Array.from(canvas.getContext('2d').getImageData(x, y, 1, 1).data.slice(0, 3))",
        [x, y]))


def test_black_on_white_keeps_the_drawing_and_reads_the_same(page, app_server):
    open_draw_page(page, app_server.url)
    assert pixel(page, 3, 3) == (0, 0, 0)
    draw(page, ONE)
    wait_for_prediction(page, "1")
    assert pixel(page, 140, 140) == (255, 255, 255)  # on the stroke
    page.get_by_text("Black on white").click()
    wait_for(lambda: pixel(page, 3, 3) == (255, 255, 255), timeout=30, interval=0.1)
    assert pixel(page, 140, 140) == (0, 0, 0)  # the same stroke, now black
    wait_for_idle(page)
    assert prediction(page) == "1"


def test_on_a_phone_the_drawing_and_its_reading_show_together(phone_page, app_server, screenshot_dir):
    """At 420 x 860 the sidebar is folded away: the canvas, the prediction and the model
    it is read with must all be on screen without scrolling."""
    page = phone_page
    open_draw_page(page, app_server.url)
    draw(page, ONE)
    wait_for_prediction(page, "1")
    for element in (page.locator(CANVAS), page.get_by_test_id("stMetricValue"),
                    page.get_by_role("button", name="studio_cnn")):
        box = element.first.bounding_box()
        assert box is not None and 0 <= box["y"] and box["y"] + box["height"] <= PHONE["height"], box
    page.screenshot(path=str(screenshot_dir / "draw-phone.png"))


def test_the_app_asks_nothing_of_other_machines_and_logs_no_error(page, app_server):
    """Everything the page loads comes from the app's own server (offline use, privacy),
    and the browser logs no error on the way."""
    outside, errors = [], []
    page.on("request", lambda request: outside.append(request.url)
            if not request.url.startswith((app_server.url, "data:", "blob:")) else None)
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    open_draw_page(page, app_server.url)
    draw(page, ONE)
    wait_for_prediction(page, "1")
    assert outside == []
    assert errors == []


def test_upload_a_picture_and_a_file_that_is_not_one(page, app_server, mnist, tmp_path, screenshot_dir):
    """A real file through the browser's uploader: a photo-like picture of an MNIST digit
    is read right; a text file gets one message and leaves the uploader empty."""
    from PIL import Image

    index = int(np.flatnonzero(mnist.y_test == 4)[0])
    picture = tmp_path / "four.png"
    Image.fromarray(255 - mnist.x_test[index]).resize((600, 600), Image.BILINEAR).save(picture)  # dark on light
    notes = tmp_path / "notes.txt"
    notes.write_text("not a picture")

    open_draw_page(page, app_server.url)
    page.get_by_text("Upload a picture").click()
    wait_for_idle(page)  # a file set while the page still runs can be lost
    uploader = page.get_by_test_id("stFileUploaderDropzoneInput")
    uploader.set_input_files(str(picture))
    wait_for_prediction(page, "4")
    assert prediction(page) == "4"
    page.get_by_text("four.png (600x600 as read)").wait_for()
    page.screenshot(path=str(screenshot_dir / "draw-upload.png"), full_page=True)

    # A text file in its place: one message, and the uploader emptied (no chip left behind).
    page.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(str(notes))
    page.get_by_text("Cannot read notes.txt").wait_for()
    page.get_by_text("Nothing to read yet: upload a picture of a digit.").wait_for()
    wait_for_idle(page)  # the counts below are of the finished page
    assert page.get_by_test_id("stAlertContentError").count() == 1
    uploader_box = page.get_by_test_id("stFileUploader")
    assert uploader_box.get_by_text("notes.txt").count() == 0
    assert uploader_box.get_by_text("four.png").count() == 0
    assert page.get_by_test_id("stMetricValue").count() == 0
