"""Compare architectures by k-fold cross-validation."""

import streamlit as st

from mnist_core import jobs, progress
from mnist_core.architectures import REGISTRY
from mnist_core.charts import cv_box_plot, cv_learning_curves, training_curves
from mnist_core.crossval import CVConfig, load_results, summarise
from ui import require_entrypoint
from ui.jobs import (STATE_LABELS, failure_details, progress_bar, show_followed_run,
                     start_and_follow, stop_button)

require_entrypoint()

RUN_KEY = "compare_run_id"
DEFAULT = "each architecture's default"
SIZES = {"All 60,000 images": None, "30,000 images": 30000, "10,000 images": 10000, "5,000 images": 5000}
QUICK = dict(subset=10000, folds=3, epochs=2)

st.title("Compare architectures")
st.caption(
    "k-fold cross-validation: the training set is cut into k folds; each architecture is trained k "
    "times, each time on k-1 folds, and scored on the fold it did not see. Every architecture gets "
    "the same folds. Compare the spread, not one lucky number."
)


def summary_rows(results, label: str | None = None) -> list[dict]:
    return [
        {
            **({"run": label} if label else {}),
            "architecture": row.arch,
            "mean accuracy": row.mean,
            "std": row.std,
            "n": row.n,
            "min": row.min,
            "max": row.max,
            "time": progress.format_duration(row.seconds),
        }
        for row in summarise(results)
    ]


PERCENT = {name: st.column_config.NumberColumn(format="%.3f%%") for name in ("mean accuracy", "std", "min", "max")}


def percent_rows(rows: list[dict]) -> list[dict]:
    return [{key: 100 * value if key in PERCENT else value for key, value in row.items()} for row in rows]


def render_job(job: jobs.Job) -> None:
    """The followed CV run: state, overall progress, Stop, the current fold's curves,
    and the folds finished so far."""
    config = CVConfig.from_dict(job.config)
    header, button = st.columns([4, 1], vertical_alignment="center")
    header.markdown(f"**{STATE_LABELS.get(job.state, job.state)}** · `{job.run_id}` · "
                    f"{', '.join(config.archs)} · {config.folds} folds")
    if job.active:
        with button:
            stop_button(job, key=f"stop-{job.run_id}")
    events = job.progress()
    done = sum(1 for event in events if event.get("event") == "fold_end")
    current = next((e for e in reversed(events) if e.get("event") == "fold_start"), None)
    prefix = f"{current['arch']} · fold {current['fold']}/{config.folds} · " if current and job.active else ""
    progress_bar(job, events, units_done=done, units_total=len(config.archs) * config.folds, prefix=prefix)
    if job.active:
        curves = progress.curves(events)
        if curves.batch_x:
            loss, accuracy = st.columns(2)
            loss.plotly_chart(training_curves(curves, "loss", height=260), key=f"cv-live-loss-{job.run_id}")
            accuracy.plotly_chart(training_curves(curves, "accuracy", height=260), key=f"cv-live-acc-{job.run_id}")
    results = load_results(job.path)
    if results is not None and any(results.archs.values()):
        st.caption("Folds finished so far:" if job.active else "Result:")
        st.dataframe(percent_rows(summary_rows(results)), hide_index=True, width="stretch",
                     column_config=PERCENT)
    failure_details(job)


# --- The followed run -------------------------------------------------------------

show_followed_run("cv", RUN_KEY, render_job)


# --- A new comparison -------------------------------------------------------------

st.subheader("New comparison")
archs = st.multiselect("Architectures", list(REGISTRY), default=["baseline_cnn", "deeper_cnn"], key="cv_archs")
left, middle, right = st.columns(3)
folds = left.number_input("Folds (k)", min_value=2, max_value=10, value=5, step=1, key="cv_folds")
epochs = middle.selectbox("Epochs per fold", [DEFAULT, 1, 2, 3, 5, 10, 20], key="cv_epochs")
batch_size = right.selectbox("Batch size", [DEFAULT, 32, 64, 128, 256], key="cv_batch")
size_label = left.selectbox("Training-set size", list(SIZES), key="cv_size")
seed = middle.number_input("Seed (the folds and training)", min_value=0, value=1, step=1, key="cv_seed")


def start(config: CVConfig) -> None:
    start_and_follow(lambda: jobs.start_cross_validation(config), RUN_KEY)


config = CVConfig(archs=tuple(archs), folds=int(folds), epochs=None if epochs == DEFAULT else int(epochs),
                  batch_size=None if batch_size == DEFAULT else int(batch_size), subset=SIZES[size_label],
                  seed=int(seed))
run_col, quick_col, _ = st.columns([1.3, 2.5, 2])
if run_col.button("Run cross-validation", type="primary", icon=":material/play_arrow:", key="cv-start"):
    start(config)
if quick_col.button(f"Quick comparison: {QUICK['subset']:,} images, {QUICK['folds']} folds, "
                    f"{QUICK['epochs']} epochs", icon=":material/bolt:", key="cv-quick"):
    start(CVConfig(archs=tuple(archs), folds=QUICK["folds"], epochs=QUICK["epochs"], subset=QUICK["subset"],
                   batch_size=config.batch_size, seed=config.seed))


# --- Results ----------------------------------------------------------------------

st.subheader("Results")
stored = []
for job in jobs.list_jobs(kind="cv"):
    results = load_results(job.path)
    if results is not None and any(results.archs.values()):
        stored.append((job, results))
if not stored:
    st.caption("No cross-validation results yet.")
    st.stop()


def run_label(job) -> str:
    results_config = CVConfig.from_dict(job.config)
    images = f"{results_config.subset:,}" if results_config.subset else "60,000"
    epochs_text = results_config.epochs or "default"
    return f"{job.run_id} · {results_config.folds} folds · {epochs_text} epochs · {images} images · {job.state}"


labels = {run_label(job): (job, results) for job, results in stored}
chosen = st.multiselect("Cross-validation runs", list(labels), default=list(labels)[:1], key="cv_chosen",
                        help="Pick several to compare runs with each other.")
if not chosen:
    st.stop()
several = len(chosen) > 1
rows, groups, per_arch = [], {}, {}
for label in chosen:
    job, results = labels[label]
    rows += summary_rows(results, label=job.run_id if several else None)
    for arch, fold_results in results.archs.items():
        if fold_results:
            key = f"{arch} · {job.run_id[:15]}" if several else arch
            groups[key] = [f.accuracy for f in fold_results]
            per_arch[key] = [{"fold": f.fold, "history": f.history} for f in fold_results]

st.dataframe(percent_rows(rows), hide_index=True, width="stretch", column_config=PERCENT, key="cv-summary")
st.caption("Accuracy on the held-out fold; std is the population standard deviation (numpy's, as the "
           "reference tutorial reports it).")
st.plotly_chart(cv_box_plot(groups), key="cv-box")

st.markdown("**Per-fold learning curves**")
arch_key = st.selectbox("Architecture", list(per_arch), key="cv_curves_arch")
loss, accuracy = st.columns(2)
loss.plotly_chart(cv_learning_curves(per_arch[arch_key], "loss"), key="cv-curves-loss")
accuracy.plotly_chart(cv_learning_curves(per_arch[arch_key], "accuracy"), key="cv-curves-accuracy")
