"""The Models page under Streamlit's AppTest: every model with its state; set the
default, rename, delete with confirmation."""

from __future__ import annotations

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from mnist_core.models import store
from tests.conftest import REPO_ROOT


@pytest.fixture
def three_models(isolated_artifacts):
    """A good default, a better one, a failed one and a broken one."""
    from mnist_core.models.architectures import get_architecture

    model = get_architecture("lenet_tanh").build()
    store.save_model(model, "good", {"arch": "lenet_tanh", "test_accuracy": 0.97, "run_id": "gone"})
    store.save_model(model, "better", {"arch": "lenet_tanh", "test_accuracy": 0.99})
    store.save_model(model, "junk", {"arch": "lenet_tanh", "test_accuracy": 0.1135})
    store.save_model(model, "damaged", {"arch": "lenet_tanh", "test_accuracy": 0.98})
    (isolated_artifacts / "models" / "damaged.keras").write_bytes(np.random.default_rng(1).bytes(4000))
    store.set_default_model("good")


def _models_page() -> AppTest:
    app = AppTest.from_file(str(REPO_ROOT / "app.py"), default_timeout=60).run()
    app.switch_page("pages/models.py").run()
    assert not app.exception
    return app


def _table(app) -> list[dict]:
    return app.dataframe[0].value.to_dict("records")


def test_every_model_is_listed_with_its_state(three_models):
    app = _models_page()
    rows = {row["model"]: row for row in _table(app)}
    assert sorted(rows) == ["better", "damaged", "good", "junk"]
    assert rows["good"]["default"] == "★"
    assert [rows[name]["state"] for name in ("good", "better", "junk", "damaged")] == ["ok", "ok", "FAILED", "BROKEN"]
    assert "near chance" in rows["junk"]["why"]
    assert "not a Keras model archive" in rows["damaged"]["why"]
    assert rows["good"]["run"] == "(run not kept)"
    assert rows["better"]["size"].endswith(" MB")


def test_the_sidebar_never_offers_a_broken_model_and_marks_a_failed_one(three_models):
    app = AppTest.from_file(str(REPO_ROOT / "app.py"), default_timeout=60).run()
    picker = app.sidebar.selectbox(key="model_name")
    assert picker.options == ["better (99.00%)", "good (97.00%)", "junk (11.35%) · FAILED"]
    assert any("damaged is BROKEN" in warning.value for warning in app.sidebar.warning)


def test_make_another_model_the_default(three_models):
    app = _models_page()
    app.selectbox(key="models_chosen").set_value("better").run()
    app.button(key="models_make_default").click().run()
    assert not app.exception
    assert store.default_model_name() == "better"
    assert any("better is the default model now" in s.value for s in app.success)


@pytest.mark.parametrize("name", ["junk", "damaged"])
def test_a_failed_or_broken_model_cannot_be_made_the_default(three_models, name):
    app = _models_page()
    app.selectbox(key="models_chosen").set_value(name).run()
    assert app.button(key="models_make_default").disabled


def test_rename_the_chosen_model(three_models):
    app = _models_page()
    app.text_input(key="models_new_name-good").set_value("renamed").run()
    app.button(key="models_rename").click().run()
    assert not app.exception
    assert store.model_exists("renamed") and not store.model_exists("good")
    assert store.default_model_name() == "renamed"
    assert app.selectbox(key="models_chosen").value == "renamed"
    assert any("Renamed good to renamed" in s.value for s in app.success)


@pytest.mark.parametrize("new_name, message", [("better", "already exists"), ("a/b", "invalid model name"),
                                                ("", "cannot be empty")])
def test_a_bad_new_name_is_refused_with_a_message(three_models, new_name, message):
    app = _models_page()
    app.text_input(key="models_new_name-good").set_value(new_name).run()
    app.button(key="models_rename").click().run()
    assert not app.exception
    assert any(message in error.value for error in app.error)
    assert store.model_exists("good")


def test_delete_asks_first_and_names_the_next_default(three_models):
    app = _models_page()
    app.button(key="models_delete").click().run()
    assert store.model_exists("good")  # nothing yet: it asks
    (question,) = [w.value for w in app.warning if "for good?" in w.value]
    assert "Delete **good** for good?" in question and "**better** becomes the default" in question
    app.button(key="models_delete_cancel").click().run()
    assert store.model_exists("good")
    assert not [w for w in app.warning if "for good?" in w.value]
    app.button(key="models_delete").click().run()
    app.button(key="models_delete_confirm").click().run()
    assert not app.exception
    assert not store.model_exists("good")
    assert store.default_model_name() == "better"
    assert any("Deleted good. The default model is better." in s.value for s in app.success)


def test_deleting_the_only_usable_model_warns_that_nothing_will_read(isolated_artifacts):
    from mnist_core.models.architectures import get_architecture

    store.save_model(get_architecture("lenet_tanh").build(), "only", {"arch": "lenet_tanh", "test_accuracy": 0.9})
    app = _models_page()
    app.button(key="models_delete").click().run()
    assert any("the only usable model" in w.value for w in app.warning)


def test_without_models_the_page_says_how_to_get_one():
    app = _models_page()
    assert any("No saved models yet" in info.value for info in app.info)


def test_the_scorecard_scores_the_chosen_model_and_lists_it(three_models, tiny_npz, monkeypatch):
    from mnist_core.models.robustness import saved_scorecard

    monkeypatch.setenv("MNIST_NPZ", str(tiny_npz))
    monkeypatch.delenv("PENDIGITS_TRA", raising=False)
    monkeypatch.delenv("USPS_NPZ", raising=False)
    app = _models_page()
    assert not [frame for frame in app.dataframe if "corruptions" in frame.value.columns]
    assert any("good** has no scorecard yet" in caption.value and "set PENDIGITS_TRA / USPS_NPZ" in caption.value
               for caption in app.caption)
    button = app.button(key="models_score")
    assert button.label == "Score good"
    button.click().run()
    assert not app.exception and not app.error
    card = saved_scorecard("good")
    assert card is not None and "missing" in card["pen_digits"] and "missing" in card["usps"]
    (table,) = [frame.value for frame in app.dataframe if "corruptions" in frame.value.columns]
    (row,) = table.to_dict("records")
    assert row["model"] == "good" and row["MNIST test"] == pytest.approx(100 * card["mnist_test"])
    assert row["corruptions"] == pytest.approx(100 * card["corruption_mean"])
    assert any("Empty cells: no USPS file given" in caption.value for caption in app.caption)
    assert not [b for b in app.button if b.key == "models_score"]  # scored: no button any more


def test_the_scorecard_says_which_usps_scans_only_one_way_read_wrong(three_models):
    from mnist_core.models.robustness import CORRUPTIONS, ONLY_WRONG, save_scorecard

    card = {"schema": 1, "mnist_test": 0.99, "pen_digits": {"missing": "no pendigits file given"},
            "usps": {"picture pipeline": 0.9941, "resize and pad": 0.9944, ONLY_WRONG["picture pipeline"]: 13,
                     ONLY_WRONG["resize and pad"]: 11, "digits": 7291},
            "corruptions": dict.fromkeys(CORRUPTIONS, 0.9), "corruption_mean": 0.9, "scored": "2026-12-06"}
    save_scorecard("good", card)
    app = _models_page()
    assert not app.exception
    (table,) = [frame.value for frame in app.dataframe if "corruptions" in frame.value.columns]
    (row,) = table.to_dict("records")
    assert row["USPS split"] == "13 / 11 (p 0.84)"
    assert any("exact McNemar test" in caption.value for caption in app.caption)
