"""The Compare page in a real browser: a comparison started on the page shows in Results,
beside the shipped reference run, as soon as it is done, without reloading the page."""

from __future__ import annotations

import csv

from tests.e2e.conftest import wait_for_idle
from tests.helpers import wait_for

REFERENCE_LABEL = "reference: the tutorial's 5-fold protocol"


def results_column(page, name: str) -> list[str]:
    """The cells of column ``name`` of the Results table (the page's last table). It is drawn
    on a canvas; its grid keeps the cells as text in an accessible table, built once it has
    the focus."""
    table = page.get_by_test_id("stDataFrame").last
    table.get_by_test_id("data-grid-canvas").focus()
    headers = table.locator("th[role=columnheader]").all_text_contents()
    if name not in headers:
        return []
    return table.locator(f"td[aria-colindex='{headers.index(name) + 1}']").all_text_contents()


def chosen_runs(page) -> list[str]:
    """The labels of the runs chosen in Results' multiselect."""
    chosen = page.get_by_test_id("stMultiSelect").filter(has_text="Cross-validation runs")
    return chosen.locator("[data-tag] span[title]").evaluate_all("tags => tags.map(tag => tag.title)")


def check_fold_results_download(page, artifacts) -> None:
    """The reference run's fold results, downloaded as CSV, are the folds its results file records."""
    from mnist_core.jobs import runs
    from mnist_core.training.crossval import load_results

    (reference,) = [run for run in runs.list_runs(artifacts / "runs", kind="cv") if run.status.get("reference")]
    results = load_results(reference.path)
    with page.expect_download() as started:
        page.get_by_role("button", name="Fold results (.csv)").click()
    assert started.value.suggested_filename == f"{reference.run_id}-folds.csv"
    with open(started.value.path(), newline="") as handle:
        rows = list(csv.DictReader(handle))
    recorded = [(arch, f.fold, f.accuracy) for arch, folds in results.archs.items() for f in folds]
    assert len(recorded) == 15  # three architectures, five folds
    assert [(row["architecture"], int(row["fold"]), float(row["accuracy"])) for row in rows] == recorded
    assert {row["run"] for row in rows} == {reference.run_id}


def test_a_comparison_run_on_the_page_shows_beside_the_reference(page, app_server_with_reference_run,
                                                                  screenshot_dir):
    page.goto(f"{app_server_with_reference_run.url}/compare")
    page.get_by_text("Per-fold learning curves").wait_for()
    wait_for_idle(page)
    assert [label.split(" · ")[0] for label in chosen_runs(page)] == [REFERENCE_LABEL]
    check_fold_results_download(page, app_server_with_reference_run.artifacts)
    page.evaluate("window.sameDocument = true")  # gone if the page were reloaded

    # The smallest comparison the page offers: one architecture, 2 folds of 5,000 images, 1 epoch.
    page.get_by_role("button", name="Remove deeper_cnn").click()
    page.get_by_role("button", name="Remove deeper_cnn").wait_for(state="detached")
    page.get_by_label("Folds (k)", exact=True).fill("2")
    page.get_by_label("Folds (k)", exact=True).press("Enter")
    page.get_by_test_id("stSelectbox").filter(has_text="Epochs per fold").click()
    page.get_by_role("option", name="1", exact=True).click()
    page.get_by_test_id("stSelectbox").filter(has_text="Training-set size").click()
    page.get_by_role("option", name="5,000 images").click()
    wait_for_idle(page)  # a click that arrives during a rerun is dropped by Streamlit
    assert page.get_by_label("Folds (k)", exact=True).input_value() == "2"
    page.get_by_role("button", name="Run cross-validation").click()

    run_id = page.locator("code").filter(has_text="-cv-baseline_cnn-").first.inner_text()
    page.get_by_text("Result:", exact=True).wait_for(timeout=120_000)  # the followed run's, once it ended
    wait_for(lambda: run_id[:15] in results_column(page, "run"), timeout=30, interval=0.5)
    wait_for_idle(page)
    page.screenshot(path=str(screenshot_dir / "compare.png"), full_page=True)

    assert page.evaluate("window.sameDocument === true")
    assert "Finished" in page.get_by_test_id("stMarkdownContainer").filter(has_text=run_id).first.inner_text()
    assert [label.split(" · ")[0] for label in chosen_runs(page)] == [run_id, REFERENCE_LABEL]
    assert results_column(page, "run") == [run_id[:15], "reference", "reference", "reference"]
    assert results_column(page, "n") == ["2", "5", "5", "5"]
