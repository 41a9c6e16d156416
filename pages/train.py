"""Train an architecture in the background and watch its curves live."""

import time

import streamlit as st

from mnist_core import jobs, progress, runs, store
from mnist_core.architectures import OPTIMIZERS, REGISTRY, count_params, get_architecture, layer_table
from mnist_core.charts import training_curves
from mnist_core.runs import RunState
from mnist_core.training import QUICK_RUN, SCHEDULES, TrainConfig, describe_settings
from ui import require_entrypoint
from ui.jobs import STATE_LABELS, failure_details, progress_bar, show_followed_run, start_and_follow, stop_button

require_entrypoint()

RUN_KEY = "train_run_id"
QUICK_PRESET = QUICK_RUN.arch
QUICK_SUBSET, QUICK_EPOCHS = QUICK_RUN.subset, QUICK_RUN.epochs
SIZES = {"All 60,000 images": None, "30,000 images": 30000, "10,000 images": 10000,
         f"{QUICK_SUBSET:,} images (quick)": QUICK_SUBSET}

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
    loss.plotly_chart(training_curves(curves, "loss"), key=f"{key}-loss")
    accuracy.plotly_chart(training_curves(curves, "accuracy"), key=f"{key}-accuracy")


def ending_text(job: jobs.Job) -> str:
    """"Finished after 2 epoch(s)" or "Stopped in epoch 2 at batch 1,585 of 1,688"."""
    status = job.status
    where = progress.stop_position(status.get("stopped_at"))
    if job.state == RunState.STOPPED and where:
        return f"Stopped in {where}"
    return f"{'Finished' if job.state == RunState.FINISHED else 'Stopped'} after {status.get('epochs_done')} epoch(s)"


def show_result(job: jobs.Job) -> None:
    """The outcome of a finished or stopped run; a model that failed its check says so."""
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
    show_result(job)


# --- The followed run (live while it runs) ----------------------------------------

run_id = show_followed_run("train", RUN_KEY, render_job)


# --- A new run --------------------------------------------------------------------

st.subheader("New training run")
# The quick preset first: pressing Train straight away gives a 99% model in about a minute.
st.session_state.setdefault("train_arch", QUICK_PRESET if QUICK_PRESET in REGISTRY else next(iter(REGISTRY)))
arch_name = st.selectbox("Architecture", list(REGISTRY), key="train_arch",
                         format_func=lambda name: f"{name}: {REGISTRY[name].description}")
arch = get_architecture(arch_name)
params, layers = describe(arch_name)
st.caption(f"{params:,} parameters · from: {arch.source}")
with st.expander("Layers (Keras summary)"):
    st.dataframe(layers, hide_index=True, width="stretch")

# Widget keys carry the architecture, so each one starts from its own defaults.
k = f"{arch_name}"
left, middle, right = st.columns(3)
epochs = left.number_input("Epochs", min_value=0, max_value=1000, value=arch.epochs, step=1, key=f"epochs-{k}")
batch_size = middle.number_input("Batch size", min_value=0, value=arch.batch_size, step=1, key=f"batch-{k}")
optimizer = right.selectbox("Optimizer", OPTIMIZERS, index=OPTIMIZERS.index(arch.optimizer), key=f"opt-{k}")
learning_rate = left.number_input("Learning rate", value=float(arch.learning_rate), format="%.5f",
                                  step=0.0001, key=f"lr-{k}")
schedule = middle.selectbox("Learning-rate schedule", SCHEDULES, index=SCHEDULES.index(arch.lr_schedule),
                            key=f"schedule-{k}", help="onecycle: warm up, then cosine decay to almost zero.")
val_split = right.slider("Validation split", 0.0, 0.5, 0.1, 0.05, key=f"val-{k}",
                         help="Fraction of the training images held out to validate each epoch.")
size_label = left.selectbox("Training-set size", list(SIZES), key=f"size-{k}")
seed = middle.number_input("Seed", min_value=0, value=1, step=1, key=f"seed-{k}")
st.session_state.setdefault(f"name-{k}", f"{arch_name}-{time.strftime('%m%d-%H%M')}")
name = right.text_input("Model name", key=f"name-{k}", help=store.NAME_RULE)
checks = st.columns(4)
early_stopping = checks[0].checkbox("Early stopping", value=arch.early_stopping, key=f"es-{k}",
                                    help="Stop when validation accuracy has not improved for "
                                    f"{arch.early_stopping_patience} epochs; keep the best epoch.")
augment = checks[1].checkbox("Data augmentation", value=arch.augment, key=f"aug-{k}",
                             help="Random scale, shift and stroke thickness per image (rotation and shear are in "
                             "mnist_core/augment.py, off by default: they hurt on real handwriting).")
pen_digits = checks[2].checkbox("Pen-drawn 1s and 7s", value=False, key=f"pen-{k}",
                                help="Also train on 5,000 synthetic pen-drawn 1s and 7s, plain and European "
                                "style (flagged 1s, crossed 7s), so that a flagged 1 drawn here is not read as 7.")
save_if_stopped = checks[3].checkbox("Save the model if I stop early", value=True, key=f"keep-{k}")


def start(config: TrainConfig, model_name: str) -> None:
    start_and_follow(lambda: jobs.start_training(config, model_name.strip(), save_if_stopped=save_if_stopped),
                     RUN_KEY)


config = TrainConfig(
    arch=arch_name, epochs=int(epochs), batch_size=int(batch_size), optimizer=optimizer,
    learning_rate=float(learning_rate), val_split=float(val_split), subset=SIZES[size_label],
    seed=int(seed), early_stopping=early_stopping, augment=augment, lr_schedule=schedule,
    pen_digits=pen_digits,
)
train_col, quick_col, _ = st.columns([1, 2, 3])
if train_col.button("Train", type="primary", icon=":material/play_arrow:", key="train-start"):
    start(config, name)
if quick_col.button(f"Quick run: {QUICK_SUBSET:,} images, {QUICK_EPOCHS} epochs", icon=":material/bolt:",
                    key="train-quick"):
    quick = TrainConfig(**{**config.to_dict(), "subset": QUICK_SUBSET, "epochs": QUICK_EPOCHS,
                           "early_stopping": QUICK_RUN.early_stopping})
    start(quick, name)


# --- Previous runs ----------------------------------------------------------------

st.subheader("Previous runs")
previous = [job for job in jobs.list_jobs(kind="train") if job.run_id != run_id or not job.active]
linked = next((job for job in previous if job.run_id == st.query_params.get("run")), None)
if linked is not None:  # opened from a model's "training run" link on the Models page
    with st.container(border=True):
        st.markdown(f"**{linked.run_id}** · {STATE_LABELS.get(linked.state, linked.state)} · "
                    f"{describe_settings(linked.config, linked.training_settings())}")
        show_curves(linked, key=f"linked-{linked.run_id}")
        show_result(linked)
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
            "settings": describe_settings(config_row, job.training_settings()),
            "best val. accuracy": max(val) if val else None,
            "test accuracy": status.get("test_accuracy"),
            "time": progress.format_duration(status.get("train_seconds")),
            "status": job.state,
            "model": status.get("model"),
        })
    table = st.dataframe(
        rows, hide_index=True, width="stretch", on_select="rerun", selection_mode="single-row",
        key="train-previous",
        column_config={
            "best val. accuracy": st.column_config.NumberColumn(format="percent"),
            "test accuracy": st.column_config.NumberColumn(format="percent"),
        },
    )
    chosen = table.selection.rows
    if chosen:
        job = previous[chosen[0]]
        st.markdown(f"**{job.run_id}** · {STATE_LABELS.get(job.state, job.state)}")
        show_curves(job, key=f"old-{job.run_id}")
        show_result(job)
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
