"""The Compare page under AppTest: a stored run's table and box plot, and a tiny real run;
which runs Results shows (the newest beside the reference, new ones as they come); the
per-fold learning curves."""

from __future__ import annotations

import json
import re
import shutil
import time

import pytest
from streamlit.testing.v1 import AppTest

from mnist_core import jobs, paths
from mnist_core.charts import cv_learning_curves
from mnist_core.fileio import write_json_atomic
from mnist_core.jobs import progress, runs
from mnist_core.training.config import CVConfig
from mnist_core.training.crossval import CVResults, FoldResult, load_results, run_cross_validation, save_results
from tests.conftest import REPO_ROOT, SHIPPED_ARTIFACTS
from tests.helpers import wait_until_done

REFERENCE = "20261122-094938-cv-baseline_cnn-baseline_cnn_bn-deeper_cnn-0a94"  # shipped in artifacts/runs
REFERENCE_LABEL = "reference: the tutorial's 5-fold protocol"
OLDER = "20261201-090000-cv-baseline_cnn-1111"
NEWER = "20261201-100000-cv-baseline_cnn-2222"
NEWEST = "20261201-110000-cv-baseline_cnn-3333"


@pytest.fixture
def compare_page(tiny_npz, monkeypatch) -> AppTest:
    monkeypatch.setenv("MNIST_NPZ", str(tiny_npz))
    app = AppTest.from_file(str(REPO_ROOT / "app.py"), default_timeout=120).run()
    app.switch_page("pages/compare.py").run()
    assert not app.exception
    return app


@pytest.fixture
def stored_run(tiny_data):
    config = CVConfig(archs=("baseline_cnn", "lenet_tanh"), folds=2, epochs=1, batch_size=20, subset=200)
    run_dir = runs.create_run("cv", config.to_dict(), "cv-stored")
    runs.write_status(run_dir, state="running")
    run_cross_validation(config, tiny_data, run_dir=run_dir)
    runs.write_status(run_dir, state="finished")
    return run_dir


def summary_table(app: AppTest):
    """The results table (the last dataframe on the page)."""
    return app.dataframe[-1].value


def test_without_results_the_page_says_so(compare_page):
    assert any("No cross-validation results yet" in c.value for c in compare_page.caption)


def test_a_stored_run_shows_its_table_box_plot_and_curves(stored_run, compare_page):
    compare_page.run()
    assert not compare_page.exception
    table = summary_table(compare_page)
    assert list(table["architecture"]) == ["baseline_cnn", "lenet_tanh"]
    assert list(table["n"]) == [2, 2]
    charts = compare_page.get("plotly_chart")
    assert len(charts) == 3  # the box plot and the two learning-curve charts
    downloads = {button.proto.label for button in compare_page.get("download_button")}
    assert downloads == {"Fold results (.csv)", "Per-epoch curves (.csv)"}
    assert compare_page.selectbox(key="cv_curves_arch").options == ["baseline_cnn", "lenet_tanh"]


def test_bad_settings_are_refused(compare_page):
    compare_page.multiselect(key="cv_archs").set_value([]).run()
    compare_page.button(key="cv-start").click().run()
    assert any("at least one architecture" in e.value for e in compare_page.error)
    assert jobs.list_jobs() == []


def test_a_tiny_run_from_the_page(compare_page):
    compare_page.multiselect(key="cv_archs").set_value(["lenet_tanh"]).run()
    compare_page.number_input(key="cv_folds").set_value(2)
    compare_page.selectbox(key="cv_epochs").set_value(1)
    compare_page.selectbox(key="cv_batch_size").set_value(32).run()
    compare_page.button(key="cv-start").click().run()
    assert not compare_page.exception and not compare_page.error
    (job,) = jobs.list_jobs(kind="cv")
    assert wait_until_done(job.run_id).state == "finished", job.log_tail()
    compare_page.run()
    table = summary_table(compare_page)
    assert list(table["architecture"]) == ["lenet_tanh"] and list(table["n"]) == [2]
    # The ended run's bar says how long it took, from its own events: not the last fold's
    # epoch and batch, nor a time that keeps growing after it ended.
    (bar,) = [element.proto.text for element in compare_page.get("progress")]
    events = job.progress()
    took = progress.format_duration(max(e["time"] for e in events) - min(e["time"] for e in events
                                                                         if e["event"] == "train_start"))
    assert bar == f"Finished in {took}"
    time.sleep(1.5)
    compare_page.run()
    assert [element.proto.text for element in compare_page.get("progress")] == [bar]


# --- Which runs Results shows ------------------------------------------------------


def history(folds_seen: int, epochs: int = 3) -> dict[str, list[float]]:
    """A made-up learning history, different per fold."""
    return {
        "loss": [1.0 / (epoch + folds_seen) for epoch in range(1, epochs + 1)],
        "val_loss": [1.2 / (epoch + folds_seen) for epoch in range(1, epochs + 1)],
        "accuracy": [1 - 0.1 / (epoch + folds_seen) for epoch in range(1, epochs + 1)],
        "val_accuracy": [1 - 0.12 / (epoch + folds_seen) for epoch in range(1, epochs + 1)],
    }


def write_cv_run(run_id: str, folds: int = 3, archs: tuple[str, ...] = ("baseline_cnn",),
                 state: str = "finished") -> str:
    """A cross-validation run folder with made-up results (no training), as a job leaves it."""
    config = CVConfig(archs=archs, folds=folds, epochs=3, subset=5000)
    run_dir = paths.runs_dir() / run_id
    run_dir.mkdir(parents=True)
    write_json_atomic(run_dir / runs.CONFIG_FILE, {"schema": runs.SCHEMA, "kind": "cv", "config": config.to_dict()})
    for written in ("queued", "running", state)[:("queued", "running", state).index(state) + 1]:
        runs.write_status(run_dir, state=written)  # as a job writes them
    save_results(run_dir, CVResults(
        config, [5000 // folds] * folds,
        {arch: [FoldResult(fold, 0.97 + fold / 1000, 0.1, 1.0, 3, history(fold)) for fold in range(1, folds + 1)]
         for arch in archs},
        state=state,
    ))
    return run_id


@pytest.fixture
def shipped_reference():
    """A copy of the shipped reference run (its status.json marks it "reference")."""
    shutil.copytree(SHIPPED_ARTIFACTS / "runs" / REFERENCE, paths.runs_dir() / REFERENCE)
    return REFERENCE


def chosen_runs(app: AppTest) -> list[str]:
    return app.multiselect(key="cv_chosen").value


def test_the_shipped_reference_run_is_marked_as_such():
    status = runs.read_status(SHIPPED_ARTIFACTS / "runs" / REFERENCE)
    assert status["reference"] is True


def test_the_reference_alone_is_chosen_when_there_is_no_other_run(shipped_reference, compare_page):
    assert chosen_runs(compare_page) == [REFERENCE]


def test_the_newest_run_is_chosen_beside_the_reference(shipped_reference, tiny_npz, monkeypatch):
    write_cv_run(OLDER)
    write_cv_run(NEWER)
    monkeypatch.setenv("MNIST_NPZ", str(tiny_npz))
    app = AppTest.from_file(str(REPO_ROOT / "app.py"), default_timeout=120).run()
    app.switch_page("pages/compare.py").run()
    assert not app.exception
    assert chosen_runs(app) == [NEWER, REFERENCE]


def test_the_reference_run_is_labelled_as_the_reference(shipped_reference, compare_page):
    (label,) = compare_page.multiselect(key="cv_chosen").options
    assert label.startswith(REFERENCE_LABEL)


def test_the_table_names_the_reference_run_beside_the_newest(shipped_reference, compare_page):
    write_cv_run(NEWER)
    compare_page.run()
    assert list(summary_table(compare_page)["run"]) == [NEWER[:15], "reference", "reference", "reference"]


def test_a_run_that_appears_later_is_added_to_the_results(shipped_reference, compare_page):
    assert chosen_runs(compare_page) == [REFERENCE]
    write_cv_run(NEWER)  # a job finished (or finished its first folds) since the page was drawn
    compare_page.run()
    assert chosen_runs(compare_page) == [NEWER, REFERENCE]


def test_a_later_run_replaces_the_newest_in_a_selection_left_as_it_was(shipped_reference, compare_page):
    write_cv_run(NEWER)
    compare_page.run()
    write_cv_run(NEWEST)
    compare_page.run()
    assert chosen_runs(compare_page) == [NEWEST, REFERENCE]


def test_a_later_run_is_added_to_the_users_own_selection(shipped_reference, compare_page):
    write_cv_run(OLDER)
    write_cv_run(NEWER)
    compare_page.run()
    compare_page.multiselect(key="cv_chosen").set_value([OLDER]).run()
    write_cv_run(NEWEST)
    compare_page.run()
    assert chosen_runs(compare_page) == [NEWEST, OLDER]


def test_a_run_with_unfinished_folds_is_added_too(shipped_reference, compare_page):
    write_cv_run(NEWER, state="stopped")
    compare_page.run()
    assert chosen_runs(compare_page) == [NEWER, REFERENCE]


# --- Per-fold learning curves ------------------------------------------------------


def curve_figure(app: AppTest, key: str) -> dict:
    """The figure of the page's Plotly chart with ``key``, as the browser gets it."""
    (chart,) = [chart for chart in app.get("plotly_chart") if chart.proto.id.endswith(key)]
    return json.loads(chart.proto.spec)


def legend_entries(figure: dict) -> list[str]:
    return [trace["name"] for trace in figure["data"] if trace.get("showlegend", True)]


def colours_by_fold(figure: dict) -> dict[str, set[str]]:
    colours: dict[str, set[str]] = {}
    for trace in figure["data"]:
        colours.setdefault(trace["legendgroup"], set()).add(trace["line"]["color"])
    return colours


def test_the_page_draws_one_legend_entry_per_fold(compare_page):
    write_cv_run(NEWER, folds=5)
    compare_page.run()
    figure = curve_figure(compare_page, "cv-curves-loss")
    assert legend_entries(figure) == ["fold 1", "fold 2", "fold 3", "fold 4", "fold 5"]


def test_the_page_draws_one_colour_per_fold(compare_page):
    write_cv_run(NEWER, folds=5)
    compare_page.run()
    colours = colours_by_fold(curve_figure(compare_page, "cv-curves-accuracy"))
    assert len({colour for fold_colours in colours.values() for colour in fold_colours}) == 5


FOLDS = [{"fold": fold, "history": history(fold)} for fold in (1, 2, 3)]


def test_curves_have_a_legend_entry_per_fold():
    assert legend_entries(cv_learning_curves(FOLDS, "loss").to_plotly_json()) == ["fold 1", "fold 2", "fold 3"]


def test_curves_give_each_fold_one_colour_of_its_own():
    colours = colours_by_fold(cv_learning_curves(FOLDS, "accuracy").to_plotly_json())
    assert all(len(fold_colours) == 1 for fold_colours in colours.values())


def test_curves_give_no_two_folds_the_same_colour():
    colours = colours_by_fold(cv_learning_curves(FOLDS, "accuracy").to_plotly_json())
    assert len(set.union(*colours.values())) == len(FOLDS)


def test_curves_draw_training_solid_and_validation_dashed():
    figure = cv_learning_curves(FOLDS, "loss")
    dashes = {(trace.hovertemplate.split("<extra>")[1], trace.line.dash) for trace in figure.data}
    assert dashes == {("training</extra>", "solid"), ("validation</extra>", "dash")}


def test_curves_say_which_line_is_which():
    figure = cv_learning_curves(FOLDS, "loss")
    assert figure.layout.title.subtitle.text == "solid: training · dashed: validation (the held-out fold)"


def test_many_folds_still_get_distinct_colours():
    many = [{"fold": fold, "history": history(fold)} for fold in range(1, 16)]
    colours = colours_by_fold(cv_learning_curves(many, "loss").to_plotly_json())
    assert len(set.union(*colours.values())) == 15


def test_the_page_says_how_long_a_comparison_will_take_before_it_starts(shipped_reference, compare_page):
    (estimate,) = [caption.value for caption in compare_page.caption if "takes about" in caption.value]
    minutes, quick = re.search(r"takes about (\d+) min of training.*the quick comparison, about (\d+) s",
                               estimate).groups()
    # The default choice, baseline_cnn and deeper_cnn on all the images at their default 10 epochs (the
    # reference's protocol): what the reference run took for them.
    reference = load_results(paths.runs_dir() / REFERENCE)
    took = sum(f.seconds for arch in ("baseline_cnn", "deeper_cnn") for f in reference.archs[arch])
    assert int(minutes) == round(took / 60) and 0 < int(quick) < 120
