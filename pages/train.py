"""Train an architecture in the background and watch its curves live."""

import itertools
import time
from dataclasses import replace

import streamlit as st

from mnist_core import jobs
from mnist_core.charts import training_curves
from mnist_core.jobs import progress, runs
from mnist_core.jobs.runs import RunState
from mnist_core.models import store
from mnist_core.models.architectures import REGISTRY, count_params, get_architecture, layer_table
from mnist_core.settings import declaration
from mnist_core.tables import csv_text, epoch_rows
from mnist_core.training.config import QUICK_RUN, TrainConfig, describe_settings
from ui import PERCENT_COLUMN, chart_config, in_percent, require_entrypoint
from ui.jobs import STATE_LABELS, failure_details, progress_bar, show_followed_run, start_and_follow, stop_button
from ui.settings import settings_inputs

require_entrypoint()

RUN_KEY = "train_run_id"

st.title("Train")
st.caption("Training runs as a background job: switch pages, reload or open another tab, "
           "and it keeps going. One job runs at a time.")


@st.cache_data(show_spinner="Building the model to describe it...")
def describe(arch_name: str) -> tuple[int, list[dict]]:
    return count_params(arch_name), layer_table(arch_name)


def show_curves(job: jobs.Job, key: str) -> None:
    """Loss and accuracy charts of a training run."""
    curves = progress.curves(job.progress())
    if not curves.batch_x and not curves.epoch_x:
        return
    loss, accuracy = st.columns(2)
    loss.plotly_chart(training_curves(curves, "loss"), key=f"{key}-loss",
                    config=chart_config(f"loss-{job.run_id}", tools=True))
    accuracy.plotly_chart(training_curves(curves, "accuracy"), key=f"{key}-accuracy",
                        config=chart_config(f"accuracy-{job.run_id}", tools=True))


def ending_text(job: jobs.Job) -> str:
    """"Finished after 2 epoch(s)" or "Stopped in epoch 2 at batch 1,585 of 1,688"."""
    status = job.status
    where = progress.stop_position(status.get("stopped_at"))
    if job.state == RunState.STOPPED and where:
        return f"Stopped in {where}"
    return f"{'Finished' if job.state == RunState.FINISHED else 'Stopped'} after {status.get('epochs_done')} epoch(s)"


def show_result(job: jobs.Job, key: str) -> None:
    """The outcome of a finished or stopped run (a model that failed its check says
    so), and its per-epoch history to download as CSV."""
    status = job.status
    if job.state in (RunState.FINISHED, RunState.STOPPED) and status.get("test_accuracy") is not None:
        model = status.get("model")
        saved = f"saved as **{model}** (pick it in the sidebar)" if model else "no model saved, as asked"
        text = (f"{ending_text(job)}: test accuracy **{status['test_accuracy']:.2%}**, training time "
                f"{progress.format_duration(status.get('train_seconds'))}")
        if status.get("model_state") == store.FAILED:
            st.error(f"{text}. **The model FAILED its check**: {status.get('model_failure')}. "
                     + (f"It is saved as {model}, marked failed: it is never made the default. " if model else "")
                     + "Try more epochs, more images or another learning rate.", icon=":material/error:")
        else:
            st.success(f"{text}; {saved}.", icon=":material/check_circle:")
    if status.get("history"):
        st.download_button("Per-epoch history (.csv)", csv_text(epoch_rows(status["history"])),
                           file_name=f"{job.run_id}-history.csv", mime="text/csv", icon=":material/download:",
                           key=f"{key}-history-csv", help="Loss and accuracy after every epoch, on the training "
                           "images and (val_) on the validation images.")
    failure_details(job)


def render_job(job: jobs.Job) -> None:
    """The followed run: state, progress bar, Stop, curves, outcome."""
    header, button = st.columns([4, 1], vertical_alignment="center")
    config = job.config
    header.markdown(f"**{STATE_LABELS.get(job.state, job.state)}** · `{job.run_id}` · "
                    f"{config.get('arch')} → model `{config.get('name')}`")
    if job.active:
        with button:
            stop_button(job, key=f"stop-{job.run_id}")
    progress_bar(job, job.progress())
    show_curves(job, key=f"live-{job.run_id}")
    show_result(job, key=f"live-{job.run_id}")


# --- The followed run (live while it runs) ----------------------------------------

run_id = show_followed_run("train", RUN_KEY, render_job)


# --- A new run --------------------------------------------------------------------

st.subheader("New training run")
# The quick preset first: pressing Train straight away gives a 99% model in about a minute.
st.session_state.setdefault("train_arch", QUICK_RUN.arch)
arch_name = st.selectbox(declaration(TrainConfig, "arch").label, list(REGISTRY), key="train_arch",
                         format_func=lambda name: f"{name}: {REGISTRY[name].description}")
arch = get_architecture(arch_name)
params, layers = describe(arch_name)
st.caption(f"{params:,} parameters · from: {arch.source}")
with st.expander("Layers (Keras summary)"):
    st.dataframe(layers, hide_index=True, width="stretch")

# Widget keys carry the architecture, so each one starts from its own defaults. The
# widgets come from TrainConfig's declarations (mnist_core/training/config.py).
form = settings_inputs(TrainConfig, TrainConfig(arch=arch_name).resolved().to_dict(),
                       key=lambda setting: f"{setting}-{arch_name}", skip=("arch",))


def free_name(arch_name: str) -> str:
    """A name no saved model has: ``<arch>-<month><day>-<hour><minute>``, then ``-2``, ``-3``..."""
    base = f"{arch_name}-{time.strftime('%m%d-%H%M')}"
    candidates = itertools.chain([base], (f"{base}-{k}" for k in itertools.count(2)))
    return next(name for name in candidates if not store.model_exists(name))


name_key, suggested_key = f"name-{arch_name}", f"suggested-name-{arch_name}"
# Once a run has saved a model under the name this page suggested, suggest a free one, so
# that Train works again straight after a run. A name the user typed is theirs: kept, and
# refused with a message if it is taken.
if name_key not in st.session_state or (st.session_state[name_key] == st.session_state.get(suggested_key)
                                        and store.model_exists(st.session_state[name_key])):
    st.session_state[name_key] = st.session_state[suggested_key] = free_name(arch_name)
name = form.next_cell.text_input("Model name", key=name_key, help=store.NAME_RULE)
save_if_stopped = form.next_switch.checkbox("Save the model if I stop early", value=True,
                                            key=f"keep-{arch_name}")


def start(config: TrainConfig, model_name: str) -> None:
    start_and_follow(lambda: jobs.start_training(config, model_name.strip(), save_if_stopped=save_if_stopped),
                     RUN_KEY)


config = TrainConfig(arch=arch_name, **form.values)
train_col, quick_col, _ = st.columns([1, 2, 3])
if train_col.button("Train", type="primary", icon=":material/play_arrow:", key="train-start"):
    start(config, name)
if quick_col.button(f"Quick run: {QUICK_RUN.subset:,} images, {QUICK_RUN.epochs} epochs", icon=":material/bolt:",
                    key="train-quick"):
    start(replace(config, subset=QUICK_RUN.subset, epochs=QUICK_RUN.epochs, early_stopping=QUICK_RUN.early_stopping),
          name)


# --- Previous runs ----------------------------------------------------------------

st.subheader("Previous runs")
previous = [job for job in jobs.list_jobs(kind="train") if job.run_id != run_id or not job.active]
linked = next((job for job in previous if job.run_id == st.query_params.get("run")), None)
if linked is not None:  # opened from a model's "training run" link on the Models page
    with st.container(border=True):
        st.markdown(f"**{linked.run_id}** · {STATE_LABELS.get(linked.state, linked.state)} · "
                    f"{describe_settings(linked.config, linked.training_settings())}")
        show_curves(linked, key=f"linked-{linked.run_id}")
        show_result(linked, key=f"linked-{linked.run_id}")
if not previous:
    st.caption("None yet.")
else:
    rows = []
    for job in previous:
        config_row, status = job.config, job.status
        val = (status.get("history") or {}).get("val_accuracy") or []
        rows.append({
            "run": job.run_id,
            "architecture": config_row.get("arch"),
            # What a run reached first; its long settings line last, where it may run past the page.
            "test accuracy": in_percent(status.get("test_accuracy")),
            "best val. accuracy": in_percent(max(val)) if val else None,
            "time": progress.format_duration(status.get("train_seconds")),
            "status": job.state,
            "model": status.get("model"),
            "settings": describe_settings(config_row, job.training_settings()),
        })
    table = st.dataframe(
        rows, hide_index=True, width="stretch", on_select="rerun", selection_mode="single-row",
        key="train-previous",
        column_config={
            "best val. accuracy": PERCENT_COLUMN,
            "test accuracy": PERCENT_COLUMN,
        },
    )
    chosen = table.selection.rows
    if chosen:
        job = previous[chosen[0]]
        st.markdown(f"**{job.run_id}** · {STATE_LABELS.get(job.state, job.state)}")
        show_curves(job, key=f"old-{job.run_id}")
        show_result(job, key=f"old-{job.run_id}")
        if st.button("Delete this run", icon=":material/delete:", key=f"delete-{job.run_id}",
                     help="Deletes the run folder; its saved model, if any, stays."):
            try:
                jobs.delete_job(job.run_id)
            except (jobs.JobError, runs.RunNotFound) as error:  # started or deleted meanwhile, elsewhere
                st.warning(str(error))
            else:
                st.rerun()
    else:
        st.caption("Select a row to see its curves.")
