"""Inside the model in a real browser: the reading changes stroke by stroke, and
every inside view opens for the drawing (screenshots at 1280 and 420 px)."""

from __future__ import annotations

from tests.e2e.conftest import draw, open_draw_page, wait_for_idle, wait_for_prediction

# A 7 in two strokes: its slanted stem alone reads as a 1; the top bar makes it a 7.
STEM = [[(205 - 4 * k, 60 + 9 * k) for k in range(20)]]
BAR = [[(85 + 6 * k, 60) for k in range(21)]]

VIEWS = {
    "Layers": "One feature map, large",
    "Where it looked": "Grad-CAM:",
    "Filters": "mean absolute weight",
    "Among the digits": "the training digits it finds most like yours",
    "Every model": "read by every saved model",
    "Change its mind": "The smallest change to your drawing",
}


def test_the_reading_changes_between_strokes_and_every_view_opens(page, app_server, screenshot_dir):
    open_draw_page(page, app_server.url)
    draw(page, STEM)
    wait_for_prediction(page, "1")
    draw(page, BAR)
    wait_for_prediction(page, "7")
    for view, text in VIEWS.items():
        wait_for_idle(page)
        page.get_by_test_id("stButtonGroup").get_by_text(view, exact=True).click()
        page.get_by_text(text).first.wait_for(timeout=60_000)
        assert page.get_by_test_id("stException").count() == 0
        if view == "Where it looked":
            page.screenshot(path=str(screenshot_dir / "inside-where-it-looked.png"), full_page=True)
            page.set_viewport_size({"width": 420, "height": 900})
            wait_for_idle(page)
            page.screenshot(path=str(screenshot_dir / "inside-where-it-looked-420.png"), full_page=True)
            page.set_viewport_size({"width": 1280, "height": 900})
    page.get_by_role("button", name="Find the smallest change").click()
    page.get_by_text("the change measures").wait_for(timeout=60_000)
    page.screenshot(path=str(screenshot_dir / "inside-change-its-mind.png"), full_page=True)
