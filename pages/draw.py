"""Draw a digit (or upload a picture of one) and see what the model reads."""

import numpy as np
import streamlit as st

from mnist_core.charts import probability_bars
from mnist_core.preprocess import (
    CANVAS_SIZE,
    DEFAULT_BRUSH_WIDTH,
    ImageError,
    NothingToRead,
    decode_image,
    dot_size,
    strokes_from_canvas_json,
)
from ui import require_entrypoint
from ui.models import load_model, selected_model_name

require_entrypoint()

ENLARGE = 7  # the 28x28 image is shown at 196x196

st.title("Draw a digit")
st.caption(
    "Draw one digit, 0 to 9, anywhere in the square, any size. When you lift the pen, "
    "it is cropped, scaled to 20x20 and centred the way MNIST's digits were, then read."
)

source = st.segmented_control(
    "Input", ["Draw", "Upload a picture"], default="Draw", required=True, key="draw_source",
    label_visibility="collapsed",
)
st.space("small")  # room for the canvas's floating toolbar
left, right = st.columns([1, 1.25], gap="large")


def canvas_input():
    """The canvas and its controls; returns ("strokes", strokes, brush) or None when empty."""
    from streamlit_drawable_canvas import st_canvas

    colours = st.session_state.get("draw_colours", "White on black")
    ink, paper = ("#ffffff", "#000000") if colours == "White on black" else ("#000000", "#ffffff")
    brush = st.session_state.get("draw_brush", DEFAULT_BRUSH_WIDTH)
    result = st_canvas(
        stroke_width=brush, stroke_color=ink, background_color=paper,
        width=CANVAS_SIZE, height=CANVAS_SIZE, drawing_mode="freedraw", key="draw_canvas",
    )
    st.caption("Undo, redo and clear are in the canvas's toolbar.")
    st.slider("Brush width", 6, 40, DEFAULT_BRUSH_WIDTH, key="draw_brush",
              help="Any width reads the same: the strokes are re-drawn at MNIST's pen width.")
    st.radio("Colours", ["White on black", "Black on white"], horizontal=True, key="draw_colours",
             help="Changing the colours clears the canvas.")
    strokes = strokes_from_canvas_json(result.json_data)
    if strokes is None:
        st.warning("The canvas holds something that is not a pen stroke; clear it and draw again.")
        return None
    return ("strokes", strokes, brush) if strokes else None


def upload_input():
    """A file uploader; returns ("picture", gray) or None."""
    upload = st.file_uploader(
        "A picture of one digit (PNG, JPEG, GIF, BMP or WebP; light or dark background)",
        type=["png", "jpg", "jpeg", "gif", "bmp", "webp"], key="draw_upload", max_upload_size=20,
    )
    if upload is None:
        return None
    try:
        gray = decode_image(upload.getvalue())
    except ImageError as error:
        st.error(f"Cannot read {upload.name}: {error}.")
        return None
    st.image(gray, caption=f"{upload.name} ({gray.shape[1]}x{gray.shape[0]})", width=CANVAS_SIZE)
    return ("picture", gray)


def show_reading(model_name: str, drawing) -> None:
    """Read the drawing with the model and show the prediction, its confidence,
    all ten probabilities and the 28x28 image the model saw."""
    from mnist_core.inference import read_picture, read_strokes

    model = load_model(model_name)
    if drawing is None:
        st.info("Nothing to read yet: draw a digit on the canvas." if source == "Draw"
                else "Nothing to read yet: upload a picture of a digit.")
        return
    try:
        if drawing[0] == "strokes":
            reading = read_strokes(model, drawing[1], min_extent=dot_size(drawing[2]))
        else:
            reading = read_picture(model, drawing[1])
    except NothingToRead as nothing:
        st.info(f"Nothing to read: {nothing}.")
        return

    numbers, picture = st.columns([1, 1])
    with numbers:
        if reading.unsure:
            st.metric("Prediction", "?", f"best guess {reading.label} ({reading.confidence:.0%})",
                      delta_color="off", delta_arrow="off")
        else:
            st.metric("Prediction", str(reading.label), f"{reading.confidence:.1%} sure",
                      delta_color="off", delta_arrow="off")
        st.caption(f"Read in {reading.milliseconds:.1f} ms by {model_name}.")
    with picture:
        enlarged = np.kron(reading.image, np.ones((ENLARGE, ENLARGE), dtype=np.uint8))
        st.image(enlarged, caption="What the model saw (28 x 28)", width=28 * ENLARGE)
    if not reading.looks_like_a_digit:
        st.warning("This does not look like a single digit (far more ink than any MNIST digit). "
                   "Clear the canvas and draw one digit.")
    elif reading.unsure:
        st.warning(
            f"The model is not sure. It looks most like a {reading.label} "
            f"({reading.confidence:.0%}), maybe a {reading.runner_up} "
            f"({reading.probabilities[reading.runner_up]:.0%})."
        )
    st.plotly_chart(probability_bars(reading.probabilities), key="draw_probabilities",
                    config={"displayModeBar": False})


with left:
    drawing = canvas_input() if source == "Draw" else upload_input()

with right:
    model_name = selected_model_name()
    if model_name is None:
        st.info("There is no saved model yet: train one on the **Train** page.")
    else:
        show_reading(model_name, drawing)
