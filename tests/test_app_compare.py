"""The Compare page under AppTest: a stored run's table and box plot, and a tiny real run."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from mnist_core import jobs
from mnist_core.crossval import CVConfig, run_cross_validation
from mnist_core import runs
from tests.conftest import REPO_ROOT
from tests.test_jobs import wait_until_done


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
    compare_page.selectbox(key="cv_batch").set_value(32).run()
    compare_page.button(key="cv-start").click().run()
    assert not compare_page.exception and not compare_page.error
    (job,) = jobs.list_jobs(kind="cv")
    assert wait_until_done(job.run_id).state == "finished", job.log_tail()
    compare_page.run()
    table = summary_table(compare_page)
    assert list(table["architecture"]) == ["lenet_tanh"] and list(table["n"]) == [2]
