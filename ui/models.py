"""The shared model picker and the once-per-process model cache."""

from __future__ import annotations

import gc

import streamlit as st

from mnist_core.models import store

MODEL_KEY = "model_name"
NEXT_MODEL_KEY = "model_name_next"  # a choice made after the picker was drawn, for the next run


PAGE_PICKER_KEY = "page_model_name"
SWITCHED_KEY = "page_model_switched"  # the page's switch was used: the whole app must follow


def pickable_models() -> tuple[dict[str, str], list[str]]:
    """The models a page may read with, {name: label} (failed ones marked as such),
    and a warning per model that cannot be offered (broken) or is not a model at all."""
    infos, problems = store.list_models()
    labels = {info.name: info.label for info in infos if info.state != store.BROKEN}
    warnings = [f"{info.name} is BROKEN and cannot be used: {info.reason}. Delete it on the Models page."
                for info in infos if info.state == store.BROKEN]
    return labels, warnings + problems


def model_picker() -> str | None:
    """The sidebar's model picker: every usable or failed model with its test accuracy
    (failed ones marked), the default preselected; broken ones are named below it,
    never offered. Returns the chosen name, or None when no model can be picked."""
    labels, warnings = pickable_models()
    for warning in warnings:
        st.sidebar.warning(warning, icon=":material/warning:")
    if not labels:
        st.sidebar.info("No saved models yet: train one on the **Train** page.")
        return None
    default = store.default_model_name()
    chosen_elsewhere = st.session_state.pop(NEXT_MODEL_KEY, None)
    if chosen_elsewhere in labels:
        st.session_state[MODEL_KEY] = chosen_elsewhere
    if st.session_state.get(MODEL_KEY) not in labels:
        st.session_state[MODEL_KEY] = default if default in labels else next(iter(labels))
    chosen = st.sidebar.selectbox(
        "Model",
        list(labels),
        key=MODEL_KEY,
        format_func=labels.get,
        help="The model every page uses, with its accuracy on the 10,000 MNIST test images.",
    )
    if default is not None:
        st.sidebar.caption(f"Default model: {default}")
    return chosen


def choose_model_next_run(name: str) -> None:
    """Make ``name`` the picker's choice from the next run on (a page that renamed the
    chosen model calls this: the picker is already drawn in this run)."""
    st.session_state[NEXT_MODEL_KEY] = name


def selected_model_name() -> str | None:
    """The name chosen in the sidebar's picker, else the default model (None if there
    are no models). The fallback matters when a page runs without the entry point,
    as Streamlit's AppTest does on reruns."""
    return st.session_state.get(MODEL_KEY) or store.default_model_name()


def page_model_switch(current: str) -> None:
    """A compact model switch for the page itself (a popover showing the model's name):
    on a narrow screen the sidebar, and its picker, are folded away. It changes the
    same choice as the sidebar's picker. Inside a fragment, a switch reruns the whole
    app, so that the sidebar shows the new choice too."""
    labels, _ = pickable_models()
    if current not in labels:
        return

    def follow() -> None:
        st.session_state[MODEL_KEY] = st.session_state[PAGE_PICKER_KEY]
        st.session_state[SWITCHED_KEY] = True

    st.session_state[PAGE_PICKER_KEY] = current
    with st.popover(current, icon=":material/swap_horiz:", help="Read with another model"):
        st.selectbox("Read with", list(labels), key=PAGE_PICKER_KEY, format_func=labels.get, on_change=follow)
    if st.session_state.pop(SWITCHED_KEY, False):
        st.rerun()


@st.cache_resource(show_spinner=False)
def start_importing_tensorflow() -> None:
    """Import TensorFlow in a background thread, once per process, so the first
    prediction does not wait for it and the first paint never does."""
    import threading

    from mnist_core.tfimport import import_keras_quietly

    def import_then_freeze():
        import_keras_quietly()
        freeze_long_lived_objects()

    threading.Thread(target=import_then_freeze, name="import-tensorflow", daemon=True).start()


def freeze_long_lived_objects() -> None:
    """Move every object alive now (TensorFlow, Keras, loaded models) out of reach of
    Python's cyclic garbage collector.

    Streamlit runs two full collections after every script run (its own, and the
    one in ``keras.backend.clear_session()``, which it also calls), fragments every
    second included. Over TensorFlow's few hundred thousand objects each took about
    150 ms of CPU here; over what a rerun creates, well under a millisecond. Frozen objects are
    still freed by reference counting; the unfreeze first lets a collection reclaim
    cycles frozen earlier that are garbage now (an evicted model).
    """
    gc.unfreeze()
    gc.collect()
    gc.freeze()


def load_model(name: str):
    """The Keras model called ``name``, from the store's one model cache (loaded once
    per process and file version), its prediction functions compiled.

    The first time, a message says what is happening while TensorFlow is imported
    and the model loaded and compiled (seconds); afterwards it returns at once,
    saying nothing. Raises store.StoreError (ModelNotFound, CorruptModel) for a
    model that is gone or cannot be loaded: pages say so instead of failing.
    """
    from mnist_core.reading.inference import is_warm, warm_up

    model = store.loaded_model(name)
    if model is not None and is_warm(model):
        return model
    with st.spinner(f"Loading TensorFlow and the model {name} (once, when the app starts)...", show_time=True):
        model = store.load_model(name)
        warm_up(model)
        freeze_long_lived_objects()
    return model


def evaluation_of(name: str):
    """(Evaluation, test images) for model ``name``, computed once per model file, or
    None after showing why MNIST could not be loaded."""
    from mnist_core.data import DataError, load_mnist
    from mnist_core.models.evaluation import evaluate_saved_model

    try:
        with st.spinner("Loading MNIST..."):
            data = load_mnist()  # cached by mnist_core.data, once per file (or download)
    except DataError as error:
        st.error(f"The test set is needed here and could not be loaded: {error}")
        return None
    try:
        with st.spinner(f"Reading the 10,000 test images with {name} (once per model)..."):
            return evaluate_saved_model(name, data), data.x_test
    except store.StoreError as error:
        st.error(str(error))
        return None
