"""The scorecard's pieces, on the shipped default model and real data: scores are
accuracies of what they say they score."""

from __future__ import annotations

import numpy as np
import pytest

from mnist_core.models import store
from mnist_core.models.corruptions import CORRUPTIONS
from mnist_core.models.robustness import (
    ONLY_WRONG,
    accuracy,
    corruption_scores,
    p_value_text,
    paired_p_value,
    picture_inputs,
    picture_scores,
    resize_and_pad,
)
from tests.conftest import SHARED_DATA, SHIPPED_ARTIFACTS, require_real_file


@pytest.fixture(scope="module")
def default_model():
    return store.load_model(store.default_model_name(SHIPPED_ARTIFACTS / "models"), SHIPPED_ARTIFACTS / "models")


@pytest.fixture(scope="module")
def usps():
    with np.load(require_real_file(SHARED_DATA / "usps-train.npz", "usps-train.npz")) as data:
        return data["x_train"][:300], data["y_train"][:300]


def test_resize_and_pad_puts_the_whole_picture_in_the_20_pixel_box(usps):
    padded = resize_and_pad(usps[0][0])
    assert padded.shape == (28, 28) and padded.dtype == np.uint8
    assert padded[:4].max() == padded[-4:].max() == padded[:, :4].max() == padded[:, -4:].max() == 0
    assert padded[4:24, 4:24].max() > 200


def test_usps_through_both_pipelines(default_model, usps):
    pictures, labels = usps
    inputs = picture_inputs(pictures)
    assert set(inputs) == {"picture pipeline", "resize and pad"}
    assert all(images.shape == (300, 28, 28) for images in inputs.values())
    scores = picture_scores(default_model, pictures, labels)
    # The scores are the accuracy of each pipeline's images, and both read scans well.
    assert scores["picture pipeline"] == accuracy(default_model, inputs["picture pipeline"], labels)
    assert min(scores["picture pipeline"], scores["resize and pad"]) > 0.9
    # The accuracies differ by exactly the pictures only one way got wrong.
    only_pipeline, only_resized = scores[ONLY_WRONG["picture pipeline"]], scores[ONLY_WRONG["resize and pad"]]
    assert scores["resize and pad"] - scores["picture pipeline"] == pytest.approx(
        (only_pipeline - only_resized) / len(labels))
    # Scored against wrong labels, the same images score low: the score is about the labels.
    assert accuracy(default_model, inputs["picture pipeline"], (labels + 1) % 10) < 0.05


def test_paired_p_value_is_the_exact_mcnemar_test():
    # Known values of the two-sided binomial test at 1/2: 13 against 11 is chance,
    # 0 against 10 is not (2 / 2**10), and two readings that never disagree do not differ.
    assert paired_p_value(13, 11) == pytest.approx(0.8388, abs=1e-4)
    assert paired_p_value(0, 10) == pytest.approx(2 / 1024)
    assert paired_p_value(10, 0) == paired_p_value(0, 10)
    assert paired_p_value(0, 0) == 1.0
    assert p_value_text(13, 11) == "0.84" and p_value_text(21, 193) == "< 0.01"


def test_corruption_scores_one_accuracy_per_corruption(default_model, mnist):
    images, labels = mnist.x_test[:300], mnist.y_test[:300]
    scores = corruption_scores(default_model, images, labels)
    assert list(scores) == list(CORRUPTIONS)
    assert all(0.0 <= value <= 1.0 for value in scores.values())
    clean = accuracy(default_model, images, labels)
    assert clean > 0.98 and min(scores.values()) < clean  # the suite is harder than the clean images
    assert scores["thicker"] > 0.9  # the default model trains with stroke-thickness augmentation


@pytest.fixture(scope="module")
def small_sets(tmp_path_factory, mnist):
    """The first 120 pen digits and 300 USPS scans in files of their own, and a
    500-image MNIST: a whole scorecard in seconds."""
    from mnist_core.data import Mnist

    folder = tmp_path_factory.mktemp("sets")
    lines = require_real_file(SHARED_DATA / "pendigits-orig.tra", "pendigits-orig.tra").read_text().splitlines()
    starts = [i for i, line in enumerate(lines) if line.startswith(".SEGMENT DIGIT")]
    (folder / "pen.tra").write_text("\n".join(lines[:starts[120]]) + "\n")
    with np.load(require_real_file(SHARED_DATA / "usps-train.npz", "usps-train.npz")) as data:
        np.savez(folder / "usps.npz", x_train=data["x_train"][:300], y_train=data["y_train"][:300])
    small = Mnist(mnist.x_train[:10], mnist.y_train[:10], mnist.x_test[:500], mnist.y_test[:500], "test", None)
    return folder / "pen.tra", folder / "usps.npz", small


def _store_copy_of_the_default(root, without_pen_writers: bool = False):
    """A copy, named "mine", of the shipped default; ``without_pen_writers``: of the
    newest shipped model that trained on no pen digits, all of whose are then scored."""
    import json
    import shutil

    name = store.default_model_name(SHIPPED_ARTIFACTS / "models")
    if without_pen_writers:
        shipped = sorted((SHIPPED_ARTIFACTS / "models").glob("studio_cnn-v*.keras"), reverse=True)
        name = next(path.stem for path in shipped
                     if not json.loads(path.with_suffix(".json").read_text()).get("pen_writers"))
    (root / "models").mkdir(parents=True, exist_ok=True)
    for suffix in (".keras", ".json"):
        shutil.copy2(SHIPPED_ARTIFACTS / "models" / f"{name}{suffix}", root / "models" / f"mine{suffix}")
    return "mine"


def test_a_scorecard_is_what_its_parts_measure_and_is_kept_with_its_model(default_model, small_sets,
                                                                          isolated_artifacts):
    from mnist_core.digitsets import load_pendigits, load_usps, pen_digit_images
    from mnist_core.models.robustness import save_scorecard, saved_scorecard, scorecard

    pen_path, usps_path, small = small_sets
    card = scorecard(default_model, small, pen_path, usps_path)
    digits = load_pendigits(pen_path)
    labels = np.array([digit.label for digit in digits])
    assert card["pen_digits"]["digits"] == 120
    assert card["pen_digits"]["filling the canvas"] == accuracy(
        default_model, pen_digit_images(digits, "filling the canvas"), labels)
    assert card["usps"] == {**picture_scores(default_model, *load_usps(usps_path)), "digits": 300}
    assert card["mnist_test"] == accuracy(default_model, small.x_test, small.y_test)
    assert card["corruption_mean"] == pytest.approx(np.mean(list(card["corruptions"].values())))

    name = _store_copy_of_the_default(isolated_artifacts)
    assert saved_scorecard(name) is None
    save_scorecard(name, card)
    assert {key: value for key, value in saved_scorecard(name).items() if key != "model_sha256"} == card
    store.rename_model(name, "renamed")  # the scorecard goes with its model
    assert saved_scorecard("renamed")["mnist_test"] == card["mnist_test"]
    # A new model file under the same name: the old scorecard no longer counts.
    (isolated_artifacts / "models" / "renamed.keras").write_bytes(
        (SHIPPED_ARTIFACTS / "models" / "deeper_cnn-v1.keras").read_bytes())
    assert saved_scorecard("renamed") is None
    store.delete_model("renamed")
    assert not (isolated_artifacts / "models" / "renamed.scorecard.json").exists()


def test_a_set_that_is_not_there_is_marked_missing_with_why(default_model, small_sets, tmp_path, monkeypatch):
    from mnist_core.models.robustness import scorecard

    monkeypatch.delenv("PENDIGITS_TRA", raising=False)
    monkeypatch.delenv("USPS_NPZ", raising=False)
    (tmp_path / "bad.npz").write_bytes(b"not an npz")
    card = scorecard(default_model, small_sets[2], usps=tmp_path / "bad.npz")
    assert card["pen_digits"] == {"missing": "no pendigits file given: set PENDIGITS_TRA to pendigits-orig.tra"}
    assert "is not a USPS .npz" in card["usps"]["missing"]
    assert set(card["corruptions"]) == set(CORRUPTIONS)


def test_the_cli_scores_and_saves_and_refuses_an_unknown_model(small_sets, isolated_artifacts, tmp_path):
    import json

    from mnist_core.models.robustness import saved_scorecard
    from tests.conftest import run_cli

    pen_path, usps_path, small = small_sets
    npz = tmp_path / "small.npz"
    np.savez(npz, x_train=small.x_train, y_train=small.y_train, x_test=small.x_test, y_test=small.y_test)
    name = _store_copy_of_the_default(isolated_artifacts, without_pen_writers=True)
    result = run_cli("scorecard", name, "--data", str(npz), "--pendigits", str(pen_path),
                     env={"USPS_NPZ": "", "MNIST_STUDIO_ARTIFACTS": str(isolated_artifacts)})
    assert result.returncode == 0, result.stderr
    assert "warning: mine: usps not scored: no USPS file given" in result.stderr
    printed = json.loads(result.stdout)[name]
    assert printed["pen_digits"]["digits"] == 120 and saved_scorecard(name)["mnist_test"] == printed["mnist_test"]
    missing = run_cli("scorecard", "nobody", env={"MNIST_STUDIO_ARTIFACTS": str(isolated_artifacts)})
    assert missing.returncode == 2 and missing.stderr.startswith("error:") and "Traceback" not in missing.stderr
