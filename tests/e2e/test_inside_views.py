"""Inside the model in a real browser: the reading changes stroke by stroke, a click
on a feature map shows it large, and every inside view opens for the drawing
(screenshots at 1280 and 420 px)."""

from __future__ import annotations

from tests.e2e.conftest import PHONE, boxes_of, draw, open_draw_page, rows_of, wait_for_idle, wait_for_prediction

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


def click_a_feature_map(page) -> None:
    """Click the second map of the first convolution (26 x 26 maps, 3 px each, in a grid
    with 1-map-pixel gaps, 4 px from the chart's corner): it is shown large right below
    its grid, before the next layer's; then the first map of the third layer of maps
    (12 x 12, 5 px each): the large view moves under that grid."""
    page.get_by_text("map 1 (26 x 26)").wait_for()  # the first map is shown large at first
    charts = page.get_by_test_id("stPlotlyChart")  # the probabilities, then one per layer of maps
    charts.nth(1).click(position={"x": 4 + 26 * 3 + 3 + 13 * 3, "y": 4 + 13 * 3})
    page.get_by_text("map 2 (26 x 26)").wait_for()
    _shown_large_between(page, charts.nth(1), charts.nth(2))
    wait_for_idle(page)
    charts.nth(3).scroll_into_view_if_needed()
    charts.nth(3).click(position={"x": 4 + 6 * 5, "y": 4 + 6 * 5})
    page.get_by_text("map 1 (12 x 12)").wait_for()
    _shown_large_between(page, charts.nth(3), charts.nth(4))


def _shown_large_between(page, clicked, next_grid) -> None:
    """The large map's heading lies below the grid clicked in and above the next one."""
    wait_for_idle(page)
    heading = page.get_by_text("One feature map, large").bounding_box()
    above, below = clicked.bounding_box(), next_grid.bounding_box()
    assert above["y"] + above["height"] < heading["y"] < below["y"], (above, heading, below)


def test_the_reading_changes_between_strokes_and_every_view_opens(page, app_server, screenshot_dir):
    open_draw_page(page, app_server.url)
    draw(page, STEM)
    wait_for_prediction(page, "1")
    draw(page, BAR)
    wait_for_prediction(page, "7")
    click_a_feature_map(page)
    for view, text in VIEWS.items():
        wait_for_idle(page)
        page.get_by_test_id("stButtonGroup").get_by_text(view, exact=True).click()
        page.get_by_text(text).first.wait_for(timeout=60_000)
        assert page.get_by_test_id("stException").count() == 0
        if view == "Where it looked":
            page.screenshot(path=str(screenshot_dir / "inside-where-it-looked.png"), full_page=True)
            page.set_viewport_size({"width": 420, "height": 900})
            wait_for_idle(page)
            page.get_by_text("Explain the digit").scroll_into_view_if_needed()  # the view, not the pad
            page.screenshot(path=str(screenshot_dir / "inside-where-it-looked-420.png"), full_page=True)
            page.set_viewport_size({"width": 1280, "height": 900})
    page.get_by_role("button", name="Find the smallest change").click()
    page.get_by_text("the change measures").wait_for(timeout=60_000)
    page.screenshot(path=str(screenshot_dir / "inside-change-its-mind.png"), full_page=True)


def test_on_a_phone_the_filters_wrap_to_the_screen(phone_page, app_server):
    """At phone width the first layer's 32 filters sit several to a row (rows of columns
    would stack them one per line), all on screen across."""
    page = phone_page
    open_draw_page(page, app_server.url)
    draw(page, STEM)
    wait_for_prediction(page, "1")
    page.get_by_test_id("stButtonGroup").get_by_text("Filters", exact=True).click()
    page.get_by_text(VIEWS["Filters"]).first.wait_for()
    filters = page.locator(".st-key-inside_filters [data-testid=stImage]")
    filters.first.wait_for()
    wait_for_idle(page)
    boxes = boxes_of(filters)
    assert len(boxes) == filters.count() == 32  # studio_cnn's first convolution
    assert rows_of(boxes) <= 6, rows_of(boxes)
    assert all(box["x"] + box["width"] <= PHONE["width"] for box in boxes)
