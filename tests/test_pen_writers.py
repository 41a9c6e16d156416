"""Training on real pen digits (``TrainConfig.pen_writers``), and scoring such a model
only on writers it did not train on."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from mnist_core.digitsets import WRITER_FOLDS, load_pendigits, pen_digit_images, pen_training_set, writer_fold
from mnist_core.models import store
from tests.conftest import SHARED_DATA, SHIPPED_ARTIFACTS, require_real_file, run_cli


@pytest.fixture(scope="module")
def pen_file(tmp_path_factory):
    """The first 300 pen digits (every writer has some) in a file of their own."""
    lines = require_real_file(SHARED_DATA / "pendigits-orig.tra", "pendigits-orig.tra").read_text().splitlines()
    starts = [i for i, line in enumerate(lines) if line.startswith(".SEGMENT DIGIT")]
    path = tmp_path_factory.mktemp("pen") / "pen.tra"
    path.write_text("\n".join(lines[:starts[300]]) + "\n")
    return path


def test_the_writer_folds_split_the_30_writers_into_three_tens():
    folds = [writer_fold(writer) for writer in range(1, 31)]
    assert [folds.count(fold) for fold in range(WRITER_FOLDS)] == [10, 10, 10]
    assert writer_fold(1) == writer_fold(4) == writer_fold(28) == 0 and writer_fold(30) == 2


def test_the_pen_training_set_leaves_the_fold_out_and_takes_both_renderings_in_turn(pen_file):
    digits = load_pendigits(pen_file)[:40]
    images, labels, writers = pen_training_set(digits, held_out_fold=1)
    kept = [digit for digit in digits if writer_fold(digit.writer) != 1]
    assert 0 < len(kept) < len(digits) and images.shape == (len(kept), 28, 28) and images.dtype == np.uint8
    assert labels.tolist() == [digit.label for digit in kept]
    assert writers.tolist() == [digit.writer for digit in kept] and 1 not in {writer_fold(w) for w in writers}
    # Each digit once, read as the Draw page reads it: 1st, 3rd, ... as written, the others filling the pad.
    np.testing.assert_array_equal(images[0::2], pen_digit_images(kept[0::2], "written scale"))
    np.testing.assert_array_equal(images[1::2], pen_digit_images(kept[1::2], "filling the canvas"))
    assert len(pen_training_set(digits)[0]) == len(digits)


def test_training_adds_the_other_writers_digits_and_records_them(mnist, pen_file, monkeypatch):
    from mnist_core.training.config import TrainConfig
    from mnist_core.training.fit import train

    monkeypatch.setenv("PENDIGITS_TRA", str(pen_file))
    result = train(TrainConfig(arch="quick_cnn", subset=18000, epochs=1, pen_writers=True), mnist,
                   held_out_writer_fold=2)
    available = sum(writer_fold(digit.writer) != 2 for digit in load_pendigits(pen_file))
    # A share of them in proportion to the 16,200 training images (of a full run's 54,000).
    assert result.n_train == 16200 and result.n_pen == round(available * 16200 / 54000)
    assert result.pen_writers and not {writer_fold(writer) for writer in result.pen_writers} & {2}
    assert result.check_accuracy > 0.9


def test_without_the_pendigits_file_the_job_and_the_cli_say_what_is_missing(monkeypatch, isolated_artifacts):
    from mnist_core.digitsets import DigitSetError
    from mnist_core.jobs.spec import TrainingJob
    from mnist_core.training.config import TrainConfig
    from mnist_core.training.fit import add_pen_writers

    monkeypatch.delenv("PENDIGITS_TRA", raising=False)
    message = "training on real pen digits needs the pendigits file: set PENDIGITS_TRA to pendigits-orig.tra"
    assert message in TrainingJob(TrainConfig(arch="quick_cnn", pen_writers=True), "mine").problems()
    assert TrainingJob(TrainConfig(arch="quick_cnn"), "mine").problems() == []
    with pytest.raises(DigitSetError, match="needs the pendigits file"):
        add_pen_writers(np.zeros((1, 28, 28), np.uint8), np.zeros(1, np.int64), 1, None)
    result = run_cli("train", "--arch", "quick_cnn", "--pen-writers", "--name", "mine",
                     env={"PENDIGITS_TRA": "", "MNIST_STUDIO_ARTIFACTS": str(isolated_artifacts)})
    assert result.returncode == 2 and message in result.stderr and "Traceback" not in result.stderr
    assert not (isolated_artifacts / "models" / "mine.keras").exists()


def _default_as(root, name: str, trained_writers: list[int]) -> str:
    """A copy of the shipped default saved as ``name``, its metadata saying it trained
    on the pen digits of ``trained_writers``."""
    default = store.default_model_name(SHIPPED_ARTIFACTS / "models")
    (root / "models").mkdir(parents=True, exist_ok=True)
    shutil.copy2(SHIPPED_ARTIFACTS / "models" / f"{default}.keras", root / "models" / f"{name}.keras")
    metadata = json.loads((SHIPPED_ARTIFACTS / "models" / f"{default}.json").read_text())
    metadata.update(name=name, pen_writers={"writers": trained_writers, "digits": 1})
    (root / "models" / f"{name}.json").write_text(json.dumps(metadata))
    return name


def test_a_model_that_trained_on_some_writers_is_scored_on_the_others(mnist, pen_file, isolated_artifacts):
    from mnist_core.data import Mnist
    from mnist_core.models.robustness import accuracy, score_model

    small = Mnist(mnist.x_train[:10], mnist.y_train[:10], mnist.x_test[:200], mnist.y_test[:200], "test", None)
    trained = [writer for writer in range(1, 31) if writer_fold(writer) != 0]
    name = _default_as(isolated_artifacts, "some", trained)
    card = score_model(name, small, pen_file, usps=None)
    unseen = [digit for digit in load_pendigits(pen_file) if writer_fold(digit.writer) == 0]
    labels = np.array([digit.label for digit in unseen])
    assert card["pen_digits"]["digits"] == len(unseen) < 300
    assert card["pen_digits"]["written scale"] == accuracy(
        store.load_model(name), pen_digit_images(unseen, "written scale"), labels)
    assert card["pen_digits"]["held out"].startswith("writers 1, 4, 7,")


def test_one_that_saw_every_writer_keeps_its_writer_fold_estimate(mnist, pen_file, isolated_artifacts):
    from mnist_core.data import Mnist
    from mnist_core.models.robustness import save_scorecard, saved_scorecard, score_model

    small = Mnist(mnist.x_train[:10], mnist.y_train[:10], mnist.x_test[:200], mnist.y_test[:200], "test", None)
    name = _default_as(isolated_artifacts, "all", list(range(1, 31)))
    card = score_model(name, small, pen_file, usps=None)
    assert "all 30 writers" in card["pen_digits"]["missing"] and "bench.pen_writers" in card["pen_digits"]["missing"]
    estimate = {"written scale": 0.99, "filling the canvas": 0.98, "digits": 7494, "held out": "by writer folds"}
    save_scorecard(name, score_model(name, small, pen_file, usps=None, pen_estimate=estimate))
    assert saved_scorecard(name)["pen_digits"] == estimate
    # Scored again (as the CLI and the Models page do), it keeps the estimate for the same file.
    assert score_model(name, small, pen_file, usps=None)["pen_digits"] == estimate
