"""Draw a digit (or upload a picture of one) and see what the model reads.

Everything below the input switch is one fragment: lifting the pen reruns the
drawing, its reading and the inside views, not the whole app (sidebar, model list).
"""

from dataclasses import dataclass

import numpy as np
import streamlit as st

from mnist_core.charts import probability_bars
from mnist_core.models import store
from mnist_core.reading.preprocess import (
    CANVAS_SIZE,
    DEFAULT_BRUSH_WIDTH,
    MAX_UPLOAD_MB,
    ImageError,
    NothingToRead,
    decode_image,
    dot_size,
)
from ui import chart_config, require_entrypoint
from ui.canvas import drawing_pad
from ui.inside import inside_the_model
from ui.models import load_model, page_model_switch, selected_model_name
from ui.text import a_digit, sure_text

require_entrypoint()

ENLARGE = 7  # the 28x28 image is shown at 196x196
UPLOAD_ERROR_KEY = "draw_upload_error"
UPLOAD_ROUND_KEY = "draw_upload_round"  # a new uploader (an empty one) after a refused file


@dataclass(frozen=True)
class Drawing:
    """What there is to read: pen strokes from the canvas, or a decoded picture."""

    kind: str  # "strokes" or "picture"
    strokes: list | None = None
    brush: float = DEFAULT_BRUSH_WIDTH
    picture: np.ndarray | None = None


st.title("Draw a digit")
st.caption(
    "Draw one digit, 0 to 9, anywhere in the square, any size. When you lift the pen, "
    "it is cropped, scaled to 20x20 and centred the way MNIST's digits were, then read."
)

source = st.segmented_control(
    "Input", ["Draw", "Upload a picture"], default="Draw", required=True, key="draw_source",
    label_visibility="collapsed",
)


def canvas_input() -> Drawing | None:
    """The drawing pad; returns the strokes drawn, or None when it is empty."""
    colours = st.session_state.get("draw_colours", "White on black")
    ink, paper = ("#ffffff", "#000000") if colours == "White on black" else ("#000000", "#ffffff")
    brush = st.session_state.get("draw_brush", DEFAULT_BRUSH_WIDTH)
    strokes = drawing_pad(size=CANVAS_SIZE, brush=brush, ink=ink, paper=paper, key="draw_canvas")
    if strokes is None:
        st.warning("The pad sent something that is not pen strokes; clear it and draw again.")
        return None
    return Drawing("strokes", strokes=strokes, brush=brush) if strokes else None


def canvas_controls() -> None:
    """Below the reading, so that on a phone the drawing and its reading stay together."""
    st.slider("Brush width", 6, 40, DEFAULT_BRUSH_WIDTH, key="draw_brush",
              help="Any width reads the same: the strokes are re-drawn at MNIST's pen width.")
    st.radio("Colours", ["White on black", "Black on white"], horizontal=True, key="draw_colours")


@st.cache_data(max_entries=4, show_spinner="Reading the picture...")
def decoded(data: bytes) -> np.ndarray:
    # Once per file: a rerun (a click anywhere) does not decode a big picture again.
    return decode_image(data)


def upload_input() -> Drawing | None:
    """A file uploader; returns the decoded picture, or None. A file that is not a
    readable picture gets one message, and the uploader is emptied."""
    round_number = st.session_state.get(UPLOAD_ROUND_KEY, 0)
    upload = st.file_uploader(
        f"A picture of one digit (PNG, JPEG, GIF, BMP or WebP, up to {MAX_UPLOAD_MB} MB; light or dark background)",
        key=f"draw_upload-{round_number}", max_upload_size=MAX_UPLOAD_MB,
    )
    refused = st.session_state.pop(UPLOAD_ERROR_KEY, None)
    if refused:
        st.error(refused, icon=":material/block:")
    if upload is None:
        return None
    try:
        gray = decoded(upload.getvalue())
    except ImageError as error:
        st.session_state[UPLOAD_ERROR_KEY] = f"Cannot read {upload.name}: {error}."
        st.session_state[UPLOAD_ROUND_KEY] = round_number + 1
        st.rerun()
    st.image(gray, caption=f"{upload.name} ({gray.shape[1]}x{gray.shape[0]} as read)",
             width=min(CANVAS_SIZE, gray.shape[1]))
    return Drawing("picture", picture=gray)


def show_reading(model_name: str, drawing: Drawing | None, reading_area, details_area):
    """Read the drawing with the model: the prediction and its confidence in
    ``reading_area`` (beside the drawing), the 28x28 image the model saw and all ten
    probabilities in ``details_area``. Returns (model, reading), or None when there
    is nothing read."""
    from mnist_core.reading.inference import read_picture, read_strokes

    with reading_area:
        try:
            model = load_model(model_name)
        except store.StoreError as error:
            st.error(f"{model_name} cannot be used: {error}. Pick another model, or delete this one on the "
                     "**Models** page.", icon=":material/error:")
            return None
        info = store.get_model_info(model_name)
        if info.state == store.FAILED:
            st.warning(f"**{model_name} FAILED its check**: {info.reason}. Its readings are close to guesses; "
                       "pick another model.", icon=":material/warning:")
        if drawing is None:
            st.info("Nothing to read yet: draw a digit on the canvas." if source == "Draw"
                    else "Nothing to read yet: upload a picture of a digit.")
            page_model_switch(model_name)
            return None
        try:
            if drawing.kind == "strokes":
                reading = read_strokes(model, drawing.strokes, min_extent=dot_size(drawing.brush))
            else:
                reading = read_picture(model, drawing.picture)
        except NothingToRead as nothing:
            st.info(f"Nothing to read: {nothing}.")
            page_model_switch(model_name)
            return None
        if reading.unsure:
            st.metric("Prediction", "?", f"best guess {reading.label} ({reading.confidence:.0%})",
                      delta_color="off", delta_arrow="off")
        else:
            st.metric("Prediction", str(reading.label), sure_text(reading.confidence),
                      delta_color="off", delta_arrow="off")
        with details_area:  # next, so that the reading reaches the screen before anything else
            enlarged = np.kron(reading.image, np.ones((ENLARGE, ENLARGE), dtype=np.uint8))
            st.image(enlarged, caption="What the model saw (28 x 28)", width=28 * ENLARGE)
        if not reading.looks_like_a_digit:
            st.warning("This does not look like a single digit (far more ink than any MNIST digit). "
                       "Clear the canvas and draw one digit.")
        elif reading.unsure:
            st.warning(
                f"The model is not sure. It looks most like {a_digit(reading.label)} "
                f"({reading.confidence:.0%}), maybe {a_digit(reading.runner_up)} "
                f"({reading.probabilities[reading.runner_up]:.0%})."
            )
        switch, timing = st.columns([1, 1], vertical_alignment="center")
        with switch:
            page_model_switch(model_name)
        timing.caption(f"Read in {reading.milliseconds:.1f} ms.")
    with details_area:
        st.plotly_chart(probability_bars(reading.probabilities), key="draw_probabilities",
                        config=chart_config(f"probabilities-{model_name}"))
    return model, reading


@st.fragment
def drawing_and_reading() -> None:
    """The drawing (or upload), its reading and the inside views: a fragment, so a
    stroke reruns only this (see the module's docstring)."""
    left, right = st.columns([1, 1.25], gap="large")
    with left:
        drawing = canvas_input() if source == "Draw" else upload_input()
        reading_area, controls_area = st.container(), st.container()
    model_name = selected_model_name()
    read = None
    if model_name is None:
        with reading_area:
            st.info("There is no saved model yet: train one on the **Train** page.")
    else:
        read = show_reading(model_name, drawing, reading_area, right.container())
    if source == "Draw":
        with controls_area:  # below the reading, drawn after it
            canvas_controls()
    if read is not None:
        model, reading = read
        inside_the_model(model_name, model, reading.image, reading.label)


drawing_and_reading()
