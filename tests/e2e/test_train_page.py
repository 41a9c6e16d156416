"""The Train page in a real browser: start a run, watch the curves grow, see it from a
second tab, press Stop, see where it stopped (deep links: test_deep_links.py)."""

from __future__ import annotations

import re

from tests.e2e.conftest import wait_for_idle
from tests.helpers import wait_for


def plotted_points(page) -> int:
    """How many points the page's Plotly charts hold, all traces together."""
    return page.evaluate(
        """() => Array.from(document.querySelectorAll('.js-plotly-plot'))
               .flatMap(plot => plot.data || [])
               .reduce((total, trace) => total + (trace.x ? trace.x.length : 0), 0)"""
    )


def test_start_watch_follow_in_a_second_tab_and_stop(page, app_server, browser, screenshot_dir):
    page.goto(f"{app_server.url}/train")
    page.get_by_text("New training run").wait_for()
    page.get_by_test_id("stSelectbox").filter(has_text="Architecture").click()
    page.get_by_role("option", name="deeper_cnn").click()
    page.get_by_label("Epochs", exact=True).fill("40")
    page.get_by_label("Epochs", exact=True).press("Enter")
    page.get_by_test_id("stSelectbox").filter(has_text="Training-set size").click()
    page.get_by_role("option", name="5,000 images").click()
    wait_for_idle(page)  # a click that arrives during a rerun is dropped by Streamlit
    page.get_by_role("button", name="Train", exact=True).click()

    page.get_by_text("Running").first.wait_for()
    wait_for(lambda: plotted_points(page) >= 4, timeout=90, interval=0.5)
    run_id = page.locator("code").filter(has_text="-deeper_cnn-").first.inner_text()
    page.screenshot(path=str(screenshot_dir / "train-running.png"), full_page=True)

    second = browser.new_page(viewport={"width": 1400, "height": 1000})
    second.goto(f"{app_server.url}/train")
    second.get_by_text("Running").first.wait_for()
    assert second.locator("code").filter(has_text=run_id).count() == 1
    wait_for(lambda: plotted_points(second) >= 4, timeout=60, interval=0.5)
    second.close()

    page.get_by_role("button", name="Stop", exact=True).click()
    page.get_by_text("Stopped in epoch").first.wait_for(timeout=120_000)
    wait_for_idle(page)
    # Elements of the last live refresh may outlast the status widget by a moment; what
    # must not happen is a second copy that stays.
    wait_for(lambda: page.get_by_text("Stopped in epoch").count() == 1
             and page.get_by_text("Loss", exact=True).count() == 1, timeout=20, interval=0.25)
    outcome = page.get_by_text("Stopped in epoch").inner_text()
    assert "saved as" in outcome
    # Where it really stopped, the same in the outcome and on the progress bar (not a full epoch).
    epoch, batch, batches = re.search(r"Stopped in epoch (\d+) at batch ([\d,]+) of ([\d,]+)", outcome).groups()
    bar = page.get_by_test_id("stProgress").first.inner_text()
    assert f"Ended at epoch {epoch}/40 · batch {batch.replace(',', '')}/{batches.replace(',', '')}, after" in bar
    assert plotted_points(page) >= 4
    page.screenshot(path=str(screenshot_dir / "train-stopped.png"), full_page=True)

    # The stopped run's model is in the sidebar's picker for every page to use.
    page.get_by_test_id("stSidebar").get_by_test_id("stSelectbox").click()
    assert page.get_by_role("option").filter(has_text="deeper_cnn-").count() >= 1
