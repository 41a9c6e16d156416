"""The Models page's robustness scorecard: every model's saved scorecard in one table,
and a button that scores the chosen model (``mnist_core.models.robustness``)."""

from __future__ import annotations

import streamlit as st

from mnist_core.digitsets import find_pendigits, find_usps
from mnist_core.models import robustness
from ui import PERCENT_COLUMN, in_percent

# The table's columns, short enough for all of them to fit a 1280-pixel page: each one's
# header, what it holds (a tooltip on the header) and how a scorecard gives it.
COLUMNS = (
    ("MNIST test", "the 10,000 MNIST test images",
     lambda card: in_percent(card["mnist_test"])),
    ("pen, as written", "the 7,494 pen-written digits, drawn through the Draw page's pipeline at the size written",
     lambda card: in_percent(card["pen_digits"].get("written scale"))),
    ("pen, filling the pad", "the same pen-written digits, each drawn to fill the pad",
     lambda card: in_percent(card["pen_digits"].get("filling the canvas"))),
    ("USPS scans", "the 7,291 scanned USPS digits, through the pipeline an uploaded picture takes",
     lambda card: in_percent(card["usps"].get("picture pipeline"))),
    ("USPS, resized", "the same scans, plainly resized into MNIST's 20x20 box and padded",
     lambda card: in_percent(card["usps"].get("resize and pad"))),
    ("corruptions", "the mean over the nine corruptions of MNIST test (each one: 'Each corruption')",
     lambda card: in_percent(card["corruption_mean"])),
    # Last, a text column ("13 / 11 (p 0.84)"): the detail behind the two USPS columns.
    ("USPS split", "how many scans only the picture pipeline read wrong / only the plain resize did",
     lambda card: robustness.usps_split_text(card["usps"])),
)
TEXT_COLUMNS = {"USPS split"}


def _row(name: str, card: dict) -> dict:
    return {"model": name, **{column: value_of(card) for column, _, value_of in COLUMNS}}


def _column_config() -> dict:
    """Each column's tooltip; the percent columns shown as PERCENT_COLUMN shows them."""
    return {column: ({"help": what} if column in TEXT_COLUMNS else {**PERCENT_COLUMN, "help": what})
            for column, what, _ in COLUMNS}


def _score(name: str) -> None:
    """Score model ``name`` now, with a progress bar, and keep its scorecard beside it."""
    from mnist_core.data import DataError, load_mnist
    from mnist_core.models import store

    bar = st.progress(0.0, text="Loading MNIST")
    try:
        card = robustness.score_model(name, load_mnist(),
                                      on_progress=lambda fraction, what: bar.progress(fraction, text=what))
        robustness.save_scorecard(name, card)
    except (DataError, store.StoreError) as error:
        st.error(f"Cannot score {name}: {error}", icon=":material/error:")
        return
    finally:
        bar.empty()
    st.rerun()


def scorecard_section(names: list[str], chosen: str, scorable: bool) -> None:
    """The scorecards of ``names`` (those saved for their current file) and, when the
    model ``chosen`` has none and can be loaded (``scorable``), a button to score it."""
    st.subheader("Robustness scorecard")
    st.caption("How each model reads digits that do not look like MNIST's test set: pen-written digits (30 "
               "writers, drawn through the Draw page's pipeline as written and filling the pad), scanned USPS "
               "ZIP-code digits (through the pipeline an uploaded picture takes, beside a plain resize), and MNIST "
               "test rotated, sheared, shrunk, moved, thickened, thinned, noisy, blurred and cluttered. "
               "The same scorecard from a terminal: `python -m mnist_core scorecard NAME`.")
    cards = {name: robustness.saved_scorecard(name) for name in names}
    scored = {name: card for name, card in cards.items() if card is not None}
    if scored:
        st.dataframe([_row(name, card) for name, card in scored.items()], hide_index=True, width="stretch",
                     key="models_scorecard", column_config=_column_config())
        st.caption(f"**USPS split**: {robustness.USPS_SPLIT_MEANING}")
        with st.expander("Each corruption"):
            kinds = list(robustness.CORRUPTIONS)
            st.dataframe([{"model": name, **{kind: in_percent(card["corruptions"].get(kind)) for kind in kinds}}
                          for name, card in scored.items()], hide_index=True, width="stretch",
                         column_config={kind: PERCENT_COLUMN for kind in kinds}, key="models_scorecard_corruptions")
            st.caption(" ".join(f"**{kind}**: {what}." for kind, what in robustness.CORRUPTIONS.items()))
        missing = {why for card in scored.values() for kind in ("pen_digits", "usps")
                   if (why := card[kind].get("missing"))}
        if missing:
            st.caption("Empty cells: " + " ".join(f"{why}." for why in sorted(missing)))
        held_out = {name: why for name, card in scored.items() if (why := card["pen_digits"].get("held out"))}
        if held_out:
            st.caption("Trained on real pen digits, so scored on writers it did not see: " + " ".join(
                f"**{name}**: {why}." for name, why in held_out.items()))
    if chosen in cards and cards[chosen] is None and scorable:
        sets = [what for what, found in (("pen digits", find_pendigits()), ("USPS scans", find_usps())) if not found]
        note = f" Without {' and '.join(sets)}: set PENDIGITS_TRA / USPS_NPZ to add them." if sets else ""
        st.caption(f"**{chosen}** has no scorecard yet (about a minute on two cores).{note}")
        if st.button(f"Score {chosen}", icon=":material/fact_check:", key="models_score"):
            _score(chosen)
