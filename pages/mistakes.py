"""Browse the test images the model gets wrong, through its confusion matrix."""

import numpy as np
import streamlit as st

from mnist_core.charts import confusion_heatmap, per_class_accuracy_bars, percent_label, probability_bars
from mnist_core.models import store
from ui import chart_config, clicked_point, require_entrypoint
from ui.inside import saliency_overlays
from ui.models import evaluation_of, load_model, selected_model_name
from ui.text import a_digit, sure_text

require_entrypoint()

PAGE_SIZE = 40
TILE_WIDTH = 84  # px: one 3x-enlarged test image (28 x 3)
ANY = "any"
ORDERS = {"Most confident mistakes first": "confidence", "Test-set index": "index"}

st.title("Mistakes")
st.caption("The MNIST test images the model reads wrong. Click a cell of the confusion matrix, or "
           "use the filters, to see one kind of mistake; pick an image to see all ten probabilities.")

model_name = selected_model_name()
if model_name is None:
    st.info("There is no saved model yet: train one on the **Train** page.")
    st.stop()

evaluated = evaluation_of(model_name)
if evaluated is None:
    st.stop()
evaluation, x_test = evaluated

total = len(evaluation.labels)
wrong = len(evaluation.mistake_indices)
first, second, third = st.columns(3)
first.metric("Test accuracy", f"{evaluation.accuracy:.2%}", help=f"{model_name} on the {total:,} MNIST test images")
second.metric("Mistakes", f"{wrong:,}", help=f"out of {total:,}")
third.metric("Test loss", f"{evaluation.loss:.4f}")

if wrong == 0:
    st.success("No mistakes at all on the test set.")
    st.stop()

matrix, bars = st.columns([3, 2])
with matrix:
    clicked = st.plotly_chart(confusion_heatmap(evaluation.confusion), key="mistakes-confusion",
                              on_select="rerun", selection_mode="points",
                              config=chart_config(f"confusion-{model_name}"))
with bars:
    st.plotly_chart(per_class_accuracy_bars(evaluation.per_class), key="mistakes-per-class",
                    config=chart_config(f"per-digit-accuracy-{model_name}"))



def clicked_cell(chart_state) -> tuple[int, int] | None:
    """(true, predicted) of the cell clicked in the confusion matrix, if any."""
    point = clicked_point(chart_state)
    return (int(point[0]), int(point[1])) if point is not None else None


# A new click on a cell sets the filters (once: afterwards the filters are the user's).
cell = clicked_cell(clicked)
if cell is not None and st.session_state.get("mistakes_last_cell") != cell:
    st.session_state["mistakes_last_cell"] = cell
    true_digit, predicted_digit = cell
    st.session_state["mistakes_true"] = true_digit
    # The diagonal holds no mistakes: a click there shows all of that digit's mistakes.
    st.session_state["mistakes_predicted"] = ANY if true_digit == predicted_digit else predicted_digit

choices = [ANY, *range(10)]
left, middle, right = st.columns(3)
true_filter = left.selectbox("True digit", choices, key="mistakes_true")
predicted_filter = middle.selectbox("Predicted digit", choices, key="mistakes_predicted")
order = right.selectbox("Order", list(ORDERS), key="mistakes_order")
selected = evaluation.mistakes(
    true_digit=None if true_filter == ANY else int(true_filter),
    predicted_digit=None if predicted_filter == ANY else int(predicted_filter),
    order=ORDERS[order],
)

if len(selected) == 0:
    st.info("No mistakes of that kind.")
    st.stop()

pages = -(-len(selected) // PAGE_SIZE)
st.caption(f"{len(selected):,} mistake(s) · {pages} page(s) of {PAGE_SIZE}")
page = st.pagination(pages, key=f"mistakes_page-{true_filter}-{predicted_filter}-{order}") if pages > 1 else 1
shown = selected[(page - 1) * PAGE_SIZE: page * PAGE_SIZE]
inspected = None

# A wrapping row of fixed-width tiles: eight across a wide page, four on a phone (rows
# of st.columns would stack one mistake per line there).
with st.container(horizontal=True, gap="small", key="mistakes_gallery"):
    for index in shown:
        index = int(index)
        with st.container(width=TILE_WIDTH):
            st.image(np.kron(x_test[index], np.ones((3, 3), np.uint8)), width=TILE_WIDTH)
            st.caption(f"#{index}: **{evaluation.labels[index]}** read as **{evaluation.predictions[index]}** "
                       f"({percent_label(100 * evaluation.confidence[index])})")
            if st.button("Inspect", key=f"inspect-{index}", width="stretch"):
                inspected = index


def inspect_mistake(index: int) -> None:
    """One mistake up close (in a dialog titled with its number): the image large, its
    true and predicted digit, the ten probabilities, and where the model looked for each
    of the two digits."""
    true_digit, predicted_digit = evaluation.labels[index], evaluation.predictions[index]
    st.markdown(f"True digit **{true_digit}**, read as **{predicted_digit}** "
                f"({sure_text(evaluation.confidence[index])}).")
    big, chart = st.columns([2, 3], vertical_alignment="center")
    big.image(np.kron(x_test[index], np.ones((10, 10), np.uint8)), width=280)
    with chart:
        st.plotly_chart(probability_bars(evaluation.probabilities[index]), key="mistakes-inspected-bars",
                        config=chart_config(f"probabilities-test-{index}"))
    why_each_digit(x_test[index], int(true_digit), int(predicted_digit))


def why_each_digit(image: np.ndarray, true_digit: int, predicted_digit: int) -> None:
    """Saliency for the true digit and for the predicted one, side by side: what spoke
    for the right digit, and what made the model read the wrong one."""
    try:
        model = load_model(model_name)
    except store.StoreError as error:
        st.error(f"The model could not be loaded to show where it looked: {error}", icon=":material/error:")
        return
    with st.spinner("Working out where the model looked..."):
        maps = {digit: saliency_overlays(model, image, digit) for digit in (true_digit, predicted_digit)}
    st.caption(f"Where the model looked, for each digit: red pixels argued for that digit, blue against it. "
               f"Compare the two: the red in the maps for {a_digit(predicted_digit)} shows what misled the model.")
    for half, digit, role in zip(st.columns(2), maps, ("the true digit", "what it read"), strict=True):
        with half:
            st.markdown(f"**Why {a_digit(digit)}?** ({role})")
            for place, (overlay, caption) in zip(st.columns(2), maps[digit], strict=False):
                place.image(overlay, caption=caption, output_format="PNG")  # JPEG would smear single pixels
    if len(maps[true_digit]) == 1:  # integrated gradients alone: no convolution layer for Grad-CAM
        st.caption("Grad-CAM needs convolution layers, and this model has none (an MLP): integrated gradients "
                   "work for every model.")


# Opened by the button's click alone, never from session state: any later rerun (a filter
# changed, a page turned, the dialog closed) leaves it closed.
if inspected is not None:
    st.dialog(f"Test image #{inspected}", width="medium", icon=":material/zoom_in:")(inspect_mistake)(inspected)
