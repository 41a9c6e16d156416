"""The Mistakes page in a real browser: clicking a cell of the confusion matrix filters
the gallery to that confusion, and a mistake can be inspected."""

from __future__ import annotations

import numpy as np

from mnist_core import store
from mnist_core.evaluation import evaluate_saved_model
from tests.e2e.conftest import wait_for_idle


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
    plot_area = page.locator(".js-plotly-plot").first.locator(".nsewdrag").first.bounding_box()
    page.mouse.click(plot_area["x"] + plot_area["width"] * (predicted_digit + 0.5) / 10,
                     plot_area["y"] + plot_area["height"] * (true_digit + 0.5) / 10)
    page.get_by_text(f"{count} mistake(s)").wait_for()
    wait_for_idle(page)
    captions = page.get_by_test_id("stCaptionContainer").filter(has_text=" read as ").all_inner_texts()
    assert len(captions) == count
    assert all(f"{true_digit} read as {predicted_digit}" in caption for caption in captions)

    page.get_by_role("button", name="Inspect").first.click()
    page.get_by_text("Test image #").wait_for()
    page.screenshot(path=str(screenshot_dir / "mistakes.png"), full_page=True)
