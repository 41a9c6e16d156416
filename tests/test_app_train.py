"""The Train page under AppTest: a refused form, and a tiny real job from start to result."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from mnist_core import jobs
from mnist_core.models import store
from tests.conftest import REPO_ROOT
from tests.helpers import wait_until_done


@pytest.fixture
def train_page(tiny_npz, monkeypatch) -> AppTest:
    monkeypatch.setenv("MNIST_NPZ", str(tiny_npz))  # the job inherits it
    app = AppTest.from_file(str(REPO_ROOT / "app.py"), default_timeout=120).run()
    app.switch_page("pages/train.py").run()
    assert not app.exception
    return app


def _set_form(app: AppTest, arch: str, **values) -> None:
    app.selectbox(key="train_arch").set_value(arch).run()
    for key, value in values.items():
        widget = next(w for w in app.main.get(values_kind(key)) if w.key == f"{key}-{arch}")
        widget.set_value(value)
    app.run()


def values_kind(key: str) -> str:
    return {"epochs": "number_input", "batch_size": "number_input", "learning_rate": "number_input",
            "seed": "number_input", "name": "text_input", "subset": "selectbox", "augment": "checkbox",
            "early_stopping": "checkbox"}[key]


def test_form_is_prefilled_with_the_architecture_defaults(train_page):
    _set_form(train_page, "simple_cnn")
    numbers = {w.key: w.value for w in train_page.number_input}
    assert numbers["epochs-simple_cnn"] == 12 and numbers["batch_size-simple_cnn"] == 128
    assert numbers["learning_rate-simple_cnn"] == pytest.approx(1.0)
    assert train_page.selectbox(key="optimizer-simple_cnn").value == "adadelta"
    assert "225,034 parameters" in " ".join(c.value for c in train_page.caption)


def test_every_declared_setting_has_its_widget(train_page):
    from mnist_core.settings import declared
    from mnist_core.training.config import TrainConfig

    _set_form(train_page, "lenet_tanh")
    widgets = {w.key: w for kind in ("number_input", "selectbox", "slider", "checkbox")
               for w in train_page.main.get(kind)}
    defaults = TrainConfig(arch="lenet_tanh").resolved()
    for item, spec in declared(TrainConfig):
        if item.name == "arch":
            continue
        widget = widgets[f"{item.name}-lenet_tanh"]
        assert widget.label == spec.label
        expected = getattr(defaults, item.name)
        assert widget.value == (pytest.approx(expected) if spec.type is float else expected)


def test_bad_settings_are_refused_in_the_form(train_page):
    # The widgets hold the declared bounds (epochs 1-1000) themselves; what only the
    # whole config can judge (a batch bigger than the training set) is refused on Train.
    epochs = train_page.number_input(key="epochs-quick_cnn")
    assert (epochs.min, epochs.max) == (1, 1000)
    _set_form(train_page, "mlp", batch_size=100_000, learning_rate=0.0, name="../escape")
    train_page.button(key="train-start").click().run()
    assert not train_page.exception
    message = " ".join(error.value for error in train_page.error)
    assert "batch size must be" in message and "learning rate must be" in message
    assert "invalid model name" in message
    assert jobs.list_jobs() == []


def test_a_taken_name_is_refused(train_page):
    from mnist_core.models.architectures import get_architecture

    store.save_model(get_architecture("mlp").build(), "taken", {"arch": "mlp", "test_accuracy": 0.1})
    _set_form(train_page, "mlp", name="taken")
    train_page.button(key="train-start").click().run()
    assert any("already exists" in error.value for error in train_page.error)


def test_after_a_run_saves_the_suggested_name_a_free_one_is_suggested(train_page):
    """A Quick run then Train must not be refused for the name the page itself filled in;
    a name the user typed stays as typed."""
    from mnist_core.models.architectures import get_architecture

    _set_form(train_page, "mlp")
    suggested = train_page.text_input(key="name-mlp").value
    store.save_model(get_architecture("mlp").build(), suggested, {"arch": "mlp", "test_accuracy": 0.1})
    train_page.run()
    fresh = train_page.text_input(key="name-mlp").value
    assert fresh != suggested and fresh.startswith(suggested.split("-")[0]) and not store.model_exists(fresh)

    store.save_model(get_architecture("mlp").build(), "mine", {"arch": "mlp", "test_accuracy": 0.1})
    _set_form(train_page, "mlp", name="mine")
    train_page.run()
    assert train_page.text_input(key="name-mlp").value == "mine"


def test_a_tiny_job_runs_and_its_result_is_shown(train_page):
    _set_form(train_page, "baseline_cnn", epochs=1, name="from-the-page")
    train_page.button(key="train-start").click().run()
    assert not train_page.exception and not train_page.error
    (job,) = jobs.list_jobs()
    wait_until_done(job.run_id)
    train_page.run()
    assert not train_page.exception
    text = " ".join(s.value for s in train_page.success)
    assert "Finished after 1 epoch(s)" in text and "from-the-page" in text
    assert len(train_page.get("plotly_chart")) >= 2  # loss and accuracy curves
    assert "Per-epoch history (.csv)" in {button.proto.label for button in train_page.get("download_button")}
    assert store.model_exists("from-the-page")
    # The run is listed among the previous runs, with the settings it ran with.
    (previous,) = [table.value for table in train_page.dataframe if "settings" in table.value.columns]
    assert previous["settings"].tolist() == ["1 ep · batch 32 · sgd 0.01 · all images"]


def test_a_second_start_while_one_runs_is_refused_with_its_name(train_page, tiny_npz):
    from mnist_core.training.config import TrainConfig

    running = jobs.start_training(TrainConfig(arch="baseline_cnn", epochs=200, batch_size=10, subset=600),
                                  "long-one", data_path=str(tiny_npz))
    try:
        train_page.run()
        _set_form(train_page, "mlp", epochs=1)
        train_page.button(key="train-start").click().run()
        assert any(running in warning.value for warning in train_page.warning)
    finally:
        jobs.stop_job(running)
        wait_until_done(running)


def _finished_run(**status) -> str:
    from mnist_core.jobs import runs
    from mnist_core.training.config import TrainConfig

    run_dir = runs.create_run("train", {**TrainConfig(arch="quick_cnn").to_dict(), "name": "m"}, "quick_cnn")
    runs.write_status(run_dir, state="running")  # as a job writes it, before its end
    runs.write_status(run_dir, test_accuracy=0.1135, train_seconds=5.0, epochs_done=2, **status)
    return run_dir.name


def _open_linked(run_id: str) -> AppTest:
    app = AppTest.from_file(str(REPO_ROOT / "app.py"), default_timeout=60).run()
    app.switch_page("pages/train.py")
    app.query_params["run"] = run_id
    app.run()
    assert not app.exception
    return app


def test_a_run_whose_model_failed_its_check_says_so(isolated_artifacts):
    run_id = _finished_run(state="finished", model="m", model_state="failed",
                           model_failure="it reads 11.2% of its validation images right, near chance (10%)")
    app = _open_linked(run_id)
    (error,) = [e.value for e in app.error if "FAILED its check" in e.value]
    assert "11.2% of its validation images" in error and "never made the default" in error
    assert not [s for s in app.success if "saved as" in s.value]


def test_a_stopped_run_says_where_it_stopped(isolated_artifacts):
    run_id = _finished_run(state="stopped", model="m", model_state="ok",
                           stopped_at={"epoch": 2, "batch": 1585, "batches": 1688})
    app = _open_linked(run_id)
    assert any("Stopped in epoch 2 at batch 1,585 of 1,688" in s.value for s in app.success)


def test_the_rerun_after_stop_already_says_stopping(tiny_npz, monkeypatch):
    from mnist_core.training.config import TrainConfig
    from tests.helpers import wait_for

    run_id = jobs.start_training(TrainConfig(arch="baseline_cnn", epochs=200, batch_size=10, subset=600),
                                 "long", data_path=str(tiny_npz))
    try:
        wait_for(lambda: jobs.get_job(run_id).state == "running")
        app = AppTest.from_file(str(REPO_ROOT / "app.py"), default_timeout=60).run()
        app.switch_page("pages/train.py").run()
        assert any("Running" in m.value for m in app.markdown)
        app.button(key=f"stop-{run_id}").click().run()
        assert not app.exception
        header = " ".join(m.value for m in app.markdown if run_id in m.value)
        assert "Stopping" in header or "Stopped" in header
        assert "Running" not in header
    finally:
        if jobs.get_job(run_id).active:
            jobs.stop_job(run_id)
        wait_until_done(run_id)
