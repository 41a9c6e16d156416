"""The Models page in a real browser: a broken model is named and never offered, the
default is chosen, a model is deleted after a confirmation."""

from __future__ import annotations

import json

import numpy as np

from tests.e2e.conftest import wait_for_idle


def _hidden_width(table) -> int:
    """How many pixels of a st.dataframe's columns lie past its right edge (0: all show)."""
    scroller = table.locator(".dvn-scroller")
    scroller.wait_for()
    return scroller.evaluate("element => element.scrollWidth - element.clientWidth")


def test_broken_model_named_default_chosen_model_deleted(page, app_server, screenshot_dir):
    models = app_server.artifacts / "models"
    metadata = json.loads((models / "deeper_cnn-v1.json").read_text())
    (models / "damaged.json").write_text(json.dumps({**metadata, "name": "damaged"}))
    (models / "damaged.keras").write_bytes(np.random.default_rng(0).bytes(20_000))

    page.goto(f"{app_server.url}/models")
    page.get_by_text("Manage a model").wait_for()
    sidebar = page.get_by_test_id("stSidebar")
    sidebar.get_by_text("damaged is BROKEN").wait_for()
    sidebar.get_by_test_id("stSelectbox").click()
    options = page.get_by_role("option").all_inner_texts()
    assert options and not any("damaged" in option for option in options)
    page.keyboard.press("Escape")
    page.screenshot(path=str(screenshot_dir / "models.png"), full_page=True)

    manage = page.get_by_test_id("stMain").get_by_test_id("stSelectbox").filter(has_text="Model")
    manage.click()
    page.get_by_role("option", name="studio_cnn-v1").click()
    wait_for_idle(page)  # a click that arrives during a rerun is dropped by Streamlit
    page.get_by_role("button", name="Make it the default").click()
    page.get_by_text("studio_cnn-v1 is the default model now.").wait_for()
    sidebar.get_by_text("Default model: studio_cnn-v1").wait_for()

    manage.click()
    page.get_by_role("option", name="damaged").click()
    wait_for_idle(page)
    page.get_by_role("button", name="Delete...").click()
    page.get_by_text("for good?").wait_for()
    wait_for_idle(page)
    assert (models / "damaged.keras").exists()  # nothing until confirmed
    page.get_by_role("button", name="Yes, delete it").click()
    page.get_by_text("Deleted damaged.").wait_for()
    wait_for_idle(page)
    assert not (models / "damaged.keras").exists() and not (models / "damaged.json").exists()
    assert sidebar.get_by_text("damaged is BROKEN").count() == 0


def test_the_shipped_models_scorecards_show_on_a_wide_and_a_phone_screen(browser, app_server, screenshot_dir):
    for width, shot in ((1280, "models-scorecard.png"), (420, "models-scorecard-phone.png")):
        context = browser.new_context(viewport={"width": width, "height": 900})
        page = context.new_page()
        page.goto(f"{app_server.url}/models")
        heading = page.get_by_role("heading", name="Robustness scorecard")
        heading.wait_for(timeout=60_000)
        wait_for_idle(page)
        heading.scroll_into_view_if_needed()
        # The shipped models come scored: their table is there, and no button asks to score the default.
        models_table, scorecard = page.get_by_test_id("stDataFrame").nth(0), page.get_by_test_id("stDataFrame").nth(1)
        scorecard.wait_for()
        assert scorecard.bounding_box()["width"] <= width
        if width == 1280:
            # On a wide screen every column shows: neither table needs scrolling sideways.
            assert _hidden_width(models_table) == 0 and _hidden_width(scorecard) == 0
        default = json.loads((app_server.artifacts / "settings.json").read_text())["default_model"]
        assert page.get_by_role("button", name=f"Score {default}").count() == 0
        if json.loads((app_server.artifacts / "models" / f"{default}.json").read_text()).get("pen_writers"):
            # It trained on the pen digits: the page says its figures are for writers it did not see.
            assert page.get_by_text("so scored on writers it did not see").count() == 1
        page.screenshot(path=str(screenshot_dir / shot), full_page=True)
        context.close()


def test_two_imports_in_a_row_and_a_model_bigger_than_a_picture_may_be(page, app_server, mnist, tmp_path):
    """Import a small trained MLP, then, without closing the section, a 28 MB untrained
    one: the section stays open when the first import's message goes (it used to close
    when the next file was chosen); the big file is not refused by the server's upload
    cap (a picture's 20 MB once was), and reading near chance it gets a warning."""
    import keras

    keras.utils.set_random_seed(0)
    small = keras.Sequential([keras.Input((28, 28)), keras.layers.Flatten(), keras.layers.Dense(32, activation="relu"),
                              keras.layers.Dense(10, activation="softmax")])
    small.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    small.fit(mnist.x_train[:3000] / 255.0, mnist.y_train[:3000], epochs=2, verbose=0)
    small.save(tmp_path / "small.keras")
    big = keras.Sequential([keras.Input((784,)), keras.layers.Dense(9000),
                            keras.layers.Dense(10, activation="softmax")])
    big.save(tmp_path / "big.keras")
    assert (tmp_path / "big.keras").stat().st_size > 25 * 2**20

    page.goto(f"{app_server.url}/models")
    page.get_by_text("Manage a model").wait_for(timeout=60_000)
    wait_for_idle(page)
    page.get_by_text("Import a model trained elsewhere").click()
    name_box = page.get_by_role("textbox", name="Save it as")
    for file, name, says in (("small.keras", "small-mlp", "test accuracy"), ("big.keras", "big-guess", "FAILED")):
        page.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(str(tmp_path / file))
        page.get_by_test_id("stFileUploader").get_by_text(file, exact=True).wait_for()
        wait_for_idle(page)
        assert name_box.is_visible()  # still open
        name_box.fill(name)
        name_box.press("Enter")
        wait_for_idle(page)
        page.get_by_role("button", name="Import", exact=True).click()
        page.get_by_test_id("stAlert").filter(has_text=f"as {name}").filter(has_text=says).wait_for(timeout=120_000)
        wait_for_idle(page)
    assert page.get_by_test_id("stFileUploaderFileErrorMessage").count() == 0
    models = app_server.artifacts / "models"
    assert (models / "small-mlp.keras").exists() and (models / "big-guess.keras").exists()
    settings = json.loads((app_server.artifacts / "settings.json").read_text())
    assert settings["default_model"] not in ("small-mlp", "big-guess")
