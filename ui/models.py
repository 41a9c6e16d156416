"""The shared model picker and the once-per-process model cache."""

from __future__ import annotations

import gc
import os

import streamlit as st

from mnist_core import store
from mnist_core.data import MNIST_ENV_VAR

MODEL_KEY = "model_name"


def model_picker() -> str | None:
    """The sidebar's model picker: every saved model with its test accuracy, the default
    preselected. Returns the chosen name, or None when no model is saved."""
    infos, problems = store.list_models()
    for problem in problems:
        st.sidebar.warning(problem, icon=":material/warning:")
    if not infos:
        st.sidebar.info("No saved models yet: train one on the **Train** page.")
        return None
    labels = {info.name: info.label for info in infos}
    default = store.default_model_name()
    if st.session_state.get(MODEL_KEY) not in labels:
        st.session_state[MODEL_KEY] = default
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


def selected_model_name() -> str | None:
    """The name chosen in the sidebar's picker, else the default model (None if there
    are no models). The fallback matters when a page runs without the entry point,
    as Streamlit's AppTest does on reruns."""
    return st.session_state.get(MODEL_KEY) or store.default_model_name()


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


@st.cache_resource(show_spinner=False, max_entries=4)
def _load_model(name: str, version: tuple[int, int]):
    # ``version`` (mtime, size) is only a cache key: a retrained model loads anew.
    from mnist_core.inference import warm_up

    model = store.load_model(name)
    warm_up(model)
    freeze_long_lived_objects()
    return model


_LOADED: set[tuple[str, tuple[int, int]]] = set()


def load_model(name: str):
    """The Keras model called ``name``, loaded once per process and file version.

    The first time, a message says what is happening while TensorFlow is imported
    and the model loaded (seconds); afterwards it returns at once, saying nothing.
    """
    key = (name, store.model_version(name))
    if key in _LOADED:
        return _load_model(*key)
    with st.spinner(f"Loading TensorFlow and the model {name} (once, when the app starts)...", show_time=True):
        model = _load_model(*key)
    _LOADED.add(key)
    return model


@st.cache_resource(show_spinner=False, max_entries=2)
def _mnist(source: str | None):
    # ``source`` ($MNIST_NPZ) keys the cache: pointing it elsewhere loads anew.
    from mnist_core.data import load_mnist

    return load_mnist(source)


def evaluation_of(name: str):
    """(Evaluation, test images) for model ``name``, computed once per model file, or
    None after showing why MNIST could not be loaded."""
    from mnist_core.data import DataError
    from mnist_core.evaluation import evaluate_saved_model

    try:
        with st.spinner("Loading MNIST..."):
            data = _mnist(os.environ.get(MNIST_ENV_VAR) or None)
    except DataError as error:
        st.error(f"The test set is needed here and could not be loaded: {error}")
        return None
    try:
        with st.spinner(f"Reading the 10,000 test images with {name} (once per model)..."):
            return evaluate_saved_model(name, data), data.x_test
    except store.StoreError as error:
        st.error(str(error))
        return None
