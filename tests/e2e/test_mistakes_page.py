"""The Mistakes page in a real browser: clicking a cell of the confusion matrix filters
the gallery to that confusion, and a mistake can be inspected, in a dialog in view."""

from __future__ import annotations

import re

import numpy as np

from mnist_core.models import store
from mnist_core.models.evaluation import evaluate_saved_model
from tests.e2e.conftest import PHONE, boxes_of, rows_of, wait_for_idle


def most_common_confusion(evaluation) -> tuple[int, int, int]:
    """(true digit, predicted digit, count) of the mistake the model makes most."""
    off_diagonal = evaluation.confusion.copy()
    np.fill_diagonal(off_diagonal, -1)
    true_digit, predicted_digit = np.unravel_index(off_diagonal.argmax(), off_diagonal.shape)
    return int(true_digit), int(predicted_digit), int(off_diagonal[true_digit, predicted_digit])


def click_confusion_cell(page, true_digit: int, predicted_digit: int) -> None:
    matrix = page.locator(".js-plotly-plot").first
    matrix.scroll_into_view_if_needed()
    plot_area = matrix.locator(".nsewdrag").first.bounding_box()
    page.mouse.click(plot_area["x"] + plot_area["width"] * (predicted_digit + 0.5) / 10,
                     plot_area["y"] + plot_area["height"] * (true_digit + 0.5) / 10)


def test_clicking_a_confusion_cell_filters_the_gallery(page, app_server, mnist, screenshot_dir):
    models = app_server.artifacts / "models"
    evaluation = evaluate_saved_model(store.default_model_name(models), mnist, models)
    off_diagonal = evaluation.confusion.copy()
    np.fill_diagonal(off_diagonal, -1)
    true_digit, predicted_digit = np.unravel_index(off_diagonal.argmax(), off_diagonal.shape)
    count = int(off_diagonal[true_digit, predicted_digit])

    page.goto(f"{app_server.url}/mistakes")
    page.get_by_text("Confusion matrix").wait_for()
    page.get_by_text(f"{len(evaluation.mistake_indices)} mistake(s)").wait_for()
    click_confusion_cell(page, true_digit, predicted_digit)
    page.get_by_text(f"{count} mistake(s)").wait_for()
    wait_for_idle(page)
    captions = page.get_by_test_id("stCaptionContainer").filter(has_text=" read as ").all_inner_texts()
    assert len(captions) == count
    assert all(f"{true_digit} read as {predicted_digit}" in caption for caption in captions)

    page.get_by_role("button", name="Inspect").first.click()
    page.get_by_text("Test image #").wait_for()
    page.screenshot(path=str(screenshot_dir / "mistakes.png"), full_page=True)


def within_viewport(page, locator) -> bool:
    """Whether the element lies wholly inside the browser's viewport, as scrolled now."""
    box, viewport = locator.bounding_box(), page.viewport_size
    return (box is not None and box["x"] >= 0 and box["y"] >= 0 and box["x"] + box["width"] <= viewport["width"]
            and box["y"] + box["height"] <= viewport["height"])


def test_inspect_opens_a_dialog_with_the_probabilities_in_view(page, app_server, mnist, screenshot_dir):
    models = app_server.artifacts / "models"
    evaluation = evaluate_saved_model(store.default_model_name(models), mnist, models)

    page.goto(f"{app_server.url}/mistakes")
    page.get_by_text("Confusion matrix").wait_for()
    page.get_by_text(f"{len(evaluation.mistake_indices)} mistake(s)").wait_for()
    wait_for_idle(page)
    # The last image of the gallery's first page: far below the top of the page.
    caption = page.get_by_test_id("stCaptionContainer").filter(has_text=" read as ").last
    index = int(caption.inner_text().split(":")[0].lstrip("#"))
    page.get_by_role("button", name="Inspect").last.click()

    dialog = page.get_by_role("dialog")
    dialog.get_by_text(f"Test image #{index}").wait_for()
    chart = dialog.locator(".js-plotly-plot")
    chart.wait_for()
    page.screenshot(path=str(screenshot_dir / "mistakes-inspect.png"))
    shown = chart.evaluate("plot => plot.data[0].y")
    assert np.allclose(shown, 100 * evaluation.probabilities[index], atol=1e-3)
    assert within_viewport(page, chart)
    assert within_viewport(page, dialog.get_by_role("img").first)
    assert f"True digit {evaluation.labels[index]}, read as {evaluation.predictions[index]}" in dialog.inner_text()

    # Closed, it stays closed through the next rerun (here: a click on a confusion cell).
    dialog.get_by_role("button", name="Close").click()
    dialog.wait_for(state="hidden")
    true_digit, predicted_digit, count = most_common_confusion(evaluation)
    click_confusion_cell(page, true_digit, predicted_digit)
    page.get_by_text(re.compile(rf"^{count} mistake\(s\)")).wait_for()
    wait_for_idle(page)
    assert page.get_by_role("dialog").count() == 0


def test_on_a_phone_the_gallery_keeps_four_mistakes_to_a_row(phone_page, app_server, screenshot_dir):
    """At phone width the gallery wraps (one mistake per line would make 40 screens of
    scrolling), and no tile sticks out past the screen's edge."""
    page = phone_page
    page.goto(f"{app_server.url}/mistakes")
    page.get_by_text("Confusion matrix").wait_for()
    tiles = page.locator(".st-key-mistakes_gallery [data-testid=stImage]")
    tiles.first.wait_for()
    wait_for_idle(page)
    boxes = boxes_of(tiles)
    assert len(boxes) == tiles.count()
    assert rows_of(boxes) <= -(-len(boxes) // 4), (rows_of(boxes), len(boxes))
    assert all(box["x"] + box["width"] <= PHONE["width"] for box in boxes)
    tiles.first.scroll_into_view_if_needed()
    page.screenshot(path=str(screenshot_dir / "mistakes-phone.png"))
