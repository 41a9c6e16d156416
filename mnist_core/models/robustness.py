"""How a model reads digits that do not look like MNIST's test set: the pieces of its
robustness scorecard, each model + images in, accuracies out.

- ``corruption_scores(model, images, labels)`` -> {corruption: accuracy}, over the
  suite of ``mnist_core.models.corruptions`` (the images read as they are);
- ``picture_scores(model, images, labels)`` -> accuracy through the app's picture
  pipeline (what an uploaded picture goes through) and through a plain resize of
  the whole picture into MNIST's 20x20 box, padded to 28x28, for comparison, with
  the counts of pictures only one of them read wrong (``paired_p_value`` says
  whether that split could be chance);
- ``scorecard(model, data, pendigits, usps)`` -> all of it for one model, as a dict;
  ``score_model(name, data, ...)`` the same for a saved model, scoring pen digits only
  on writers it did not train on; ``save_scorecard`` / ``saved_scorecard`` keep it
  beside the model (``NAME.scorecard.json``), valid while the model file is the one
  it scored.

A model that trained on real pen digits (``TrainConfig.pen_writers``) reads the
writers it saw better than a user's: it is scored on the others. One that saw all
30 is scored by writer folds (``bench.pen_writers``): models of its settings, each
trained without a third of the writers and scoring them; that estimate is kept in
its scorecard, marked ``"held out"``.

A scorecard::

    {"schema": 1, "model_sha256": "...", "mnist_test": 0.9961,
     "pen_digits": {"written scale": 0.9825, "filling the canvas": 0.9831, "digits": 7494,
                    "held out": "..."  (only for a model that trained on pen digits)},
     "usps": {"picture pipeline": 0.9948, "resize and pad": 0.9947, "only the pipeline wrong": 7,
              "only resize and pad wrong": 8, "digits": 7291},
     "corruptions": {"rotation": 0.97, ...}, "corruption_mean": 0.9535, "scored": "2026-..."}

A set whose file was not found has ``{"missing": "why"}`` instead of its figures.
"""

from __future__ import annotations

import numpy as np

from mnist_core.models.corruptions import CORRUPTIONS, corrupt

SCHEMA = 1
SUFFIX = ".scorecard.json"
# picture_scores' counts of the pictures only one way read wrong, by that way.
ONLY_WRONG = {"picture pipeline": "only the pipeline wrong", "resize and pad": "only resize and pad wrong"}
# The name of those counts in a table (cells: usps_split_text) and what they mean, for
# the Models page and BENCHMARKS.md alike.
USPS_SPLIT = "USPS, wrong only by pipeline / resize"
USPS_SPLIT_MEANING = (
    "the scans only the app's picture pipeline read wrong, and those only the plain resize did. They alone "
    "decide which way reads better; p is how often a split at least as uneven comes by chance when neither way "
    "is better (exact McNemar test): under 0.05, the difference is unlikely to be chance.")


def read_right(model, images: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Whether ``model`` reads each of ``images`` (uint8 (N, 28, 28)) as its label: bool (N,)."""
    from mnist_core.reading.inference import predict_probabilities

    return predict_probabilities(model, images).argmax(axis=1) == np.asarray(labels)


def accuracy(model, images: np.ndarray, labels: np.ndarray) -> float:
    """The share of ``images`` (uint8 (N, 28, 28)) that ``model`` reads as ``labels``."""
    return float(np.mean(read_right(model, images, labels)))


def corruption_scores(model, images: np.ndarray, labels: np.ndarray, seed: int = 0) -> dict[str, float]:
    """Accuracy on each corruption of ``images`` (MNIST test images), in CORRUPTIONS' order."""
    return {name: accuracy(model, corrupt(images, name, seed), labels) for name in CORRUPTIONS}


def resize_and_pad(picture: np.ndarray) -> np.ndarray:
    """A picture (uint8 (H, W), white on black) squeezed into a 20x20 box, bilinear,
    and padded to 28x28: the plain way to make a small scan MNIST-sized."""
    from PIL import Image

    box = np.asarray(Image.fromarray(picture).resize((20, 20), Image.BILINEAR))
    return np.pad(box, 4)


def picture_inputs(pictures: np.ndarray) -> dict[str, np.ndarray]:
    """{"picture pipeline": ..., "resize and pad": ...}: uint8 (N, 28, 28) each. A
    picture the pipeline finds nothing in becomes a blank image (read as wrong)."""
    from mnist_core.reading.preprocess import ImageError, NothingToRead, preprocess

    through_pipeline = []
    for picture in pictures:
        try:
            through_pipeline.append(preprocess(picture))
        except (NothingToRead, ImageError):
            through_pipeline.append(np.zeros((28, 28), np.uint8))
    return {"picture pipeline": np.stack(through_pipeline),
            "resize and pad": np.stack([resize_and_pad(picture) for picture in pictures])}


def picture_scores(model, pictures: np.ndarray, labels: np.ndarray) -> dict[str, float | int]:
    """Accuracy on ``pictures`` (uint8 (N, H, W), white on black, one digit each)
    through the app's picture pipeline and through a plain resize and pad, and how
    many pictures only one of the two got wrong, each way (``ONLY_WRONG``): the
    pictures that decide between them (``paired_p_value``)."""
    right = {name: read_right(model, images, labels) for name, images in picture_inputs(pictures).items()}
    pipeline, resized = right["picture pipeline"], right["resize and pad"]
    return {**{name: float(np.mean(hits)) for name, hits in right.items()},
            ONLY_WRONG["picture pipeline"]: int(np.sum(~pipeline & resized)),
            ONLY_WRONG["resize and pad"]: int(np.sum(pipeline & ~resized))}


def paired_p_value(only_first_wrong: int, only_second_wrong: int) -> float:
    """How likely a split at least this uneven of the pictures that two readings
    disagree on would be if neither reading were better (exact McNemar test: a
    two-sided binomial test at 1/2); 1.0 when they never disagree."""
    from scipy.stats import binomtest

    disagreements = only_first_wrong + only_second_wrong
    return 1.0 if disagreements == 0 else float(binomtest(only_first_wrong, disagreements, 0.5).pvalue)


def p_value_text(only_first_wrong: int, only_second_wrong: int) -> str:
    """``paired_p_value`` as people read it: '0.84', or '< 0.01'."""
    p = paired_p_value(only_first_wrong, only_second_wrong)
    return "< 0.01" if p < 0.01 else f"{p:.2f}"


def usps_split_text(usps: dict) -> str | None:
    """A scorecard's ``usps`` -> '13 / 11 (p 0.84)': the scans only the pipeline / only
    the resize read wrong, and ``p_value_text``; None for an older scorecard without them."""
    only = [usps.get(ONLY_WRONG[way]) for way in ("picture pipeline", "resize and pad")]
    return None if None in only else f"{only[0]} / {only[1]} (p {p_value_text(*only)})"


def scorecard(model, data, pendigits=None, usps=None, on_progress=None, trained_writers=(),
              pen_estimate: dict | None = None) -> dict:
    """The whole scorecard of ``model``: MNIST test and its corruptions from ``data``
    (an Mnist), the pen digits of the pendigits file and the USPS scans of the USPS
    file (paths, or None: $PENDIGITS_TRA / $USPS_NPZ; a set not found is marked
    missing, with why). ``on_progress(fraction, what)`` hears how far it is.

    ``trained_writers``: the writers whose pen digits the model trained on; only the
    others' digits are scored. Where that leaves none, ``pen_estimate`` (a writer-fold
    estimate, ``pen_digits`` as a scorecard has it) stands in, or the set is marked
    missing, with why.
    """
    from mnist_core.digitsets import (
        RENDERINGS,
        DigitSetError,
        find_pendigits,
        find_usps,
        load_pendigits,
        load_usps,
        pen_digit_images,
    )
    from mnist_core.jobs.runs import now_iso

    report = on_progress or (lambda fraction, what: None)
    report(0.0, "Reading the MNIST test images")
    card: dict = {"schema": SCHEMA, "mnist_test": accuracy(model, data.x_test, data.y_test)}
    report(0.1, "Drawing the pen-written digits through the canvas pipeline")
    pen_path = find_pendigits(pendigits)
    try:
        if pen_path is None:
            raise DigitSetError("no pendigits file given: set PENDIGITS_TRA to pendigits-orig.tra")
        digits = load_pendigits(pen_path)
        unseen = [digit for digit in digits if digit.writer not in set(trained_writers)]
        if unseen:
            labels = np.array([digit.label for digit in unseen])
            card["pen_digits"] = {rendering: accuracy(model, pen_digit_images(unseen, rendering), labels)
                                  for rendering in RENDERINGS}
            card["pen_digits"]["digits"] = len(unseen)
            if trained_writers:
                writers = sorted({digit.writer for digit in unseen})
                card["pen_digits"]["held out"] = f"writers {', '.join(map(str, writers))}, which it did not train on"
        elif pen_estimate is not None:
            card["pen_digits"] = dict(pen_estimate)
        else:
            raise DigitSetError(f"it trained on the pen digits of all {len(set(trained_writers))} writers: "
                                "score it by writer folds with python -m bench.pen_writers")
    except DigitSetError as error:
        card["pen_digits"] = {"missing": str(error)}
    report(0.5, "Reading the USPS scans through the picture pipeline")
    usps_path = find_usps(usps)
    try:
        if usps_path is None:
            raise DigitSetError("no USPS file given: set USPS_NPZ to usps-train.npz")
        pictures, labels = load_usps(usps_path)
        card["usps"] = {**picture_scores(model, pictures, labels), "digits": len(labels)}
    except DigitSetError as error:
        card["usps"] = {"missing": str(error)}
    report(0.7, "Reading the corrupted MNIST test images")
    card["corruptions"] = corruption_scores(model, data.x_test, data.y_test)
    card["corruption_mean"] = float(np.mean(list(card["corruptions"].values())))
    card["scored"] = now_iso()
    report(1.0, "Scored")
    return card


def score_model(name: str, data, pendigits=None, usps=None, on_progress=None, models_root=None,
                pen_estimate: dict | None = None) -> dict:
    """The scorecard of saved model ``name`` (see ``scorecard``), pen digits scored only
    on writers it did not train on (its metadata's ``pen_writers``). A model that saw
    every writer keeps the writer-fold estimate of its saved scorecard, unless
    ``pen_estimate`` gives a new one. Raises StoreError for a model that cannot load."""
    from mnist_core.models import store

    metadata = store.read_metadata(name, models_root)
    trained_writers = (metadata.get("pen_writers") or {}).get("writers") or ()
    if trained_writers and pen_estimate is None:
        saved = saved_scorecard(name, models_root) or {}
        if "held out" in saved.get("pen_digits", {}):
            pen_estimate = saved["pen_digits"]
    return scorecard(store.load_model(name, models_root), data, pendigits, usps, on_progress,
                     trained_writers=trained_writers, pen_estimate=pen_estimate)


def _card_path(name: str, models_root=None):
    from mnist_core import paths

    return (models_root or paths.models_dir()) / f"{name}{SUFFIX}"


def save_scorecard(name: str, card: dict, models_root=None) -> None:
    """Keep ``card`` beside model ``name``, with the checksum of the model file it scored."""
    from mnist_core.data import file_sha256
    from mnist_core.fileio import write_json_atomic
    from mnist_core.models import store

    info = store.get_model_info(name, models_root)
    write_json_atomic(_card_path(name, models_root), {**card, "model_sha256": file_sha256(info.model_path)})


def saved_scorecard(name: str, models_root=None) -> dict | None:
    """Model ``name``'s scorecard if one was saved for its current file, else None."""
    from mnist_core.data import file_sha256
    from mnist_core.fileio import FileFormatError, read_json
    from mnist_core.models import store

    try:
        card = read_json(_card_path(name, models_root), schema=SCHEMA)
        info = store.get_model_info(name, models_root)
        return card if card.get("model_sha256") == file_sha256(info.model_path) else None
    except (FileNotFoundError, FileFormatError, store.StoreError):
        return None
