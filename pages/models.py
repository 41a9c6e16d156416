"""Every saved model: its state, accuracy, size, date and how it was trained; import
one trained elsewhere; choose the default, rename, delete, download; the robustness
scorecards."""

import json
import tempfile
from functools import partial
from pathlib import Path

import streamlit as st

from mnist_core import jobs
from mnist_core.jobs import runs
from mnist_core.models import store
from mnist_core.models.importing import MAX_IMPORT_MB, adapter_note
from ui import PERCENT_COLUMN, in_percent, require_entrypoint
from ui.models import MODEL_KEY, choose_model_next_run, selected_model_name
from ui.scorecard import scorecard_section
from ui.text import megabytes

require_entrypoint()

CHOSEN_KEY = "models_chosen"
NEXT_CHOSEN_KEY = "models_chosen_next"
CONFIRM_KEY = "models_confirm_delete"
FLASH_KEY = "models_flash"
IMPORT_ROUND_KEY = "models_import_round"  # a new, empty uploader after an import

st.title("Models")
st.caption(
    "Every saved model. FAILED: it reads at or near chance; BROKEN: its file cannot be loaded. "
    "Neither is ever the default, and a broken one is never offered for reading."
)

flash = st.session_state.pop(FLASH_KEY, None)
if flash:
    message, worked = flash
    if worked:
        st.success(message, icon=":material/check_circle:")
    else:  # done, but what it made is not usable (an import that reads near chance)
        st.warning(message, icon=":material/warning:")


def import_uploaded(uploads: list, name: str) -> str | None:
    """Import the uploaded file(s) as ``name``; returns what went wrong, or None."""
    from mnist_core.data import DataError, load_mnist
    from mnist_core.models.importing import ImportRefused, import_model

    if not uploads:
        return "choose the model's file first (or its .json and .h5 together)"
    with tempfile.TemporaryDirectory() as scratch:
        paths = []
        for upload in uploads:
            path = Path(scratch) / Path(upload.name).name  # the name as uploaded: it is recorded as the origin
            path.write_bytes(upload.getvalue())
            paths.append(path)
        bar = st.progress(0.0, text="Loading MNIST")
        try:
            info = import_model(paths, name.strip(), data=load_mnist(),
                                on_progress=lambda fraction, what: bar.progress(fraction, text=what))
        except (ImportRefused, store.StoreError, DataError) as error:
            return str(error)
        finally:
            bar.empty()
    st.session_state[IMPORT_ROUND_KEY] = st.session_state.get(IMPORT_ROUND_KEY, 0) + 1
    st.session_state[NEXT_CHOSEN_KEY] = info.name
    imported = f"Imported {', '.join(info.metadata['imported']['from'])} as {info.name}"
    if info.usable:
        choose_model_next_run(info.name)
        done(f"{imported}: test accuracy {info.test_accuracy:.2%}. The sidebar reads with it now: draw a digit on "
             "the Draw page to try it.")
    else:
        done(f"{imported}, but it is FAILED: {info.reason}. It is listed below, and never offered as the default.",
             worked=False)
    return None


def legacy_h5(name: str) -> bytes:
    """The model as a legacy .h5 file, written when its download button is clicked."""
    from mnist_core.models.importing import legacy_h5_bytes

    return legacy_h5_bytes(name)


def done(message: str, worked: bool = True) -> None:
    """Say what happened on the next run (as a warning when not ``worked``), and rerun
    the whole app so the sidebar's picker lists the models as they are now."""
    st.session_state[FLASH_KEY] = (message, worked)
    st.session_state.pop(CONFIRM_KEY, None)
    st.rerun(scope="app")


# Keyed, so it stays open when the message above it comes or goes (which moves it).
with st.expander("Import a model trained elsewhere", icon=":material/upload:", key="models_import_section"):
    st.caption("A Keras model saved by `model.save` (.keras or .h5) or a ModelCheckpoint (.h5), or "
               "`model.to_json()` with `model.save_weights` (choose both files). It must take 28x28 images or 784 "
               "values in [0, 1] and end in 10 outputs. It is loaded in Keras' safe mode: a model with a Lambda "
               "layer is refused and never run.")
    round_number = st.session_state.get(IMPORT_ROUND_KEY, 0)
    uploads = st.file_uploader("Model file(s)", type=["keras", "h5", "hdf5", "json"], accept_multiple_files=True,
                               key=f"models_import_files-{round_number}", max_upload_size=MAX_IMPORT_MB)
    import_name = st.text_input("Save it as", key=f"models_import_name-{round_number}", help=store.NAME_RULE)
    if st.button("Import", icon=":material/upload:", key="models_import"):
        problem = import_uploaded(uploads, import_name)
        if problem:
            st.error(f"Not imported: {problem}.", icon=":material/block:")

infos, problems = store.list_models()
for problem in problems:
    st.warning(problem, icon=":material/warning:")
if not infos:
    st.info("No saved models yet: train one on the **Train** page.")
    st.stop()
default = store.default_model_name()
by_name = {info.name: info for info in infos}


def run_of(info: store.ModelInfo) -> str | None:
    """The id of the run that trained the model, if its folder is still here."""
    run_id = info.metadata.get("run_id")
    try:
        return runs.run_path(run_id).name if isinstance(run_id, str) else None
    except runs.RunNotFound:
        return None


# A "what is wrong" column only when something is: wide and empty, it would push the table past the page.
something_wrong = any(info.reason for info in infos)
rows = [
    {
        "default": "★" if info.name == default else "",
        "model": info.name,
        "state": info.state_label,
        "architecture": info.arch,
        "test accuracy": in_percent(info.test_accuracy),
        "size": megabytes(info.size_bytes),
        # An imported model was made elsewhere: its file says only when it came in.
        "added": str(info.metadata.get("created", ""))[:16].replace("T", " "),
        "run": run_of(info) or ("(run not kept)" if info.metadata.get("run_id") else
                                "(imported)" if info.metadata.get("imported") else ""),
        **({"why": info.reason or ""} if something_wrong else {}),
    }
    for info in infos
]
st.dataframe(
    # Every model in view: at the default height, past ten the newest imports hid below the fold.
    rows, hide_index=True, width="stretch", height="content", key="models_table",
    column_config={
        "default": st.column_config.TextColumn("", width=30),
        "test accuracy": PERCENT_COLUMN,
        "added": st.column_config.TextColumn(help="when it was trained here, or imported"),
        "why": st.column_config.TextColumn("what is wrong", width="large"),
    },
)

# --- One model: where it came from, and what to do with it ------------------------

st.subheader("Manage a model")
renamed = st.session_state.pop(NEXT_CHOSEN_KEY, None)
if renamed in by_name:
    st.session_state[CHOSEN_KEY] = renamed
if st.session_state.get(CHOSEN_KEY) not in by_name:  # first, the model the app reads with
    reading_with = selected_model_name()
    st.session_state[CHOSEN_KEY] = next(name for name in (reading_with, default, *by_name) if name in by_name)
name = st.selectbox("Model", list(by_name), key=CHOSEN_KEY, format_func=lambda n: by_name[n].label)
info = by_name[name]
if info.state == store.BROKEN:
    st.error(f"**{name} is BROKEN**: {info.reason}.", icon=":material/error:")
elif info.state == store.FAILED:
    st.warning(f"**{name} FAILED its check**: {info.reason}.", icon=":material/warning:")
command = info.metadata.get("command")
imported = info.metadata.get("imported")
if isinstance(imported, dict):
    st.caption(f"Imported from {', '.join(map(str, imported.get('from', [])))}, "
               f"{str(imported.get('at', ''))[:16].replace('T', ' ')}; {info.metadata.get('params', 0):,} "
               "parameters. The same import from a terminal:")
    st.code(command or "", language="bash", wrap_lines=True)
elif command:
    st.caption("Trained by:")
    st.code(command, language="bash", wrap_lines=True)  # a long command in view, not scrolled sideways
run_id = run_of(info)
if run_id:
    st.page_link("pages/train.py", label=f"Its training run, {run_id}", icon=":material/monitoring:",
                 query_params={"run": run_id})

keras_file, h5_file, metadata_file = st.columns(3)
if info.model_path.is_file():
    # Read when clicked, not on every run of the page (a model is megabytes).
    keras_file.download_button("Download the model (.keras)", info.model_path.read_bytes,
                               file_name=f"{name}.keras", mime="application/zip", icon=":material/download:",
                               key="models_download_keras", help="Keras 3's format: `keras.saving.load_model`.")
    if info.state != store.BROKEN:
        h5_file.download_button("Download as legacy .h5", partial(legacy_h5, name), file_name=f"{name}.h5",
                                mime="application/x-hdf5", icon=":material/download:", key="models_download_h5",
                                help="The HDF5 format of the classic tutorials (Keras 2's `load_model`); "
                                     "written when clicked.")
else:
    keras_file.error("Its model file is missing: there is nothing to download.")
metadata_file.download_button("Download its metadata (.json)", json.dumps(info.metadata, indent=2),
                              file_name=f"{name}.json", mime="application/json", icon=":material/download:",
                              key="models_download_metadata")
exported_as = adapter_note(info.metadata)
if exported_as:
    st.caption(exported_as)

make_default, rename, delete = st.columns(3, vertical_alignment="bottom")
with make_default:
    why_not = ("it is the default" if name == default
               else f"it is {info.state_label}" if not info.usable else None)
    if st.button("Make it the default", icon=":material/star:", key="models_make_default",
                 disabled=why_not is not None, help=f"Not available: {why_not}." if why_not else
                 "The model the app reads with when it starts, and the CLI's default."):
        store.set_default_model(name)
        done(f"{name} is the default model now.")
with rename:
    new_name = st.text_input("New name", key=f"models_new_name-{name}", help=store.NAME_RULE)
    if st.button("Rename", icon=":material/edit:", key="models_rename"):
        target = new_name.strip()
        running = jobs.running_job_saving_as(target) if target else None
        try:
            if running:
                raise store.ModelExists(f"the running job {running} will save its model as {target!r}")
            store.rename_model(name, target)
        except store.StoreError as error:
            st.error(f"Cannot rename: {error}.", icon=":material/block:")
        else:
            if st.session_state.get(MODEL_KEY) == name:
                choose_model_next_run(target)
            st.session_state[NEXT_CHOSEN_KEY] = target
            done(f"Renamed {name} to {target}.")
with delete:
    if st.button("Delete...", icon=":material/delete:", key="models_delete"):
        st.session_state[CONFIRM_KEY] = name

if st.session_state.get(CONFIRM_KEY) == name:
    next_default = store.best_usable_model(excluding=name)
    consequence = ""
    if name == default:
        consequence = (f" It is the default model: **{next_default}** becomes the default." if next_default
                       else " It is the only usable model: drawings cannot be read until you train another.")
    with st.container(border=True):
        st.warning(f"Delete **{name}** for good? Its model file, metadata and cached test-set "
                   f"predictions go; its training run stays.{consequence}", icon=":material/delete:")
        yes, no = st.columns(2)
        if yes.button("Yes, delete it", type="primary", key="models_delete_confirm"):
            try:
                new_default = store.delete_model(name)
            except store.StoreError as error:  # deleted elsewhere meanwhile
                st.session_state.pop(CONFIRM_KEY, None)
                st.error(str(error))
            else:
                done(f"Deleted {name}." + (f" The default model is {new_default}." if name == default and new_default
                                           else ""))
        if no.button("Cancel", key="models_delete_cancel"):
            st.session_state.pop(CONFIRM_KEY, None)
            st.rerun()

scorecard_section(list(by_name), name, scorable=info.state != store.BROKEN)
