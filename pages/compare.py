"""Compare architectures by k-fold cross-validation."""

from dataclasses import replace

import streamlit as st

from mnist_core import jobs
from mnist_core.charts import cv_box_plot, cv_learning_curves, training_curves
from mnist_core.jobs import progress
from mnist_core.settings import declaration
from mnist_core.tables import csv_text
from mnist_core.training.config import CVConfig
from mnist_core.training.crossval import (
    CVResults,
    estimated_seconds,
    fold_epoch_rows,
    fold_rows,
    load_results,
    summarise,
)
from ui import chart_config, require_entrypoint
from ui.jobs import STATE_LABELS, failure_details, progress_bar, show_followed_run, start_and_follow, stop_button
from ui.settings import setting_input, settings_inputs

require_entrypoint()

RUN_KEY = "compare_run_id"
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


FOLDS_SEEN_KEY = "cv_folds_seen"  # run id -> finished folds, as the Results section last listed them


def finished_folds(results: CVResults | None) -> int:
    return sum(len(folds) for folds in results.archs.values()) if results is not None else 0


def rerun_when_a_fold_ends(job: jobs.Job, results: CVResults | None) -> None:
    """While the run goes on only its box redraws (a fragment, every second); once a fold
    has finished since the Results section was drawn, rerun the whole page so Results
    lists it. Recorded first, so that rerun does not rerun again."""
    seen = st.session_state.get(FOLDS_SEEN_KEY)
    if seen is None or not job.active:
        return
    if finished_folds(results) > seen.get(job.run_id, 0):
        seen[job.run_id] = finished_folds(results)
        st.rerun(scope="app")


def render_job(job: jobs.Job) -> None:
    """The followed CV run: state, overall progress, Stop, the current fold's curves,
    and the folds finished so far."""
    results = load_results(job.path)
    rerun_when_a_fold_ends(job, results)  # before anything is drawn, as in show_followed_run
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
            loss.plotly_chart(training_curves(curves, "loss", height=260), key=f"cv-live-loss-{job.run_id}",
                              config=chart_config(f"loss-{job.run_id}", tools=True))
            accuracy.plotly_chart(training_curves(curves, "accuracy", height=260), key=f"cv-live-acc-{job.run_id}",
                                  config=chart_config(f"accuracy-{job.run_id}", tools=True))
    if results is not None and any(results.archs.values()):
        st.caption("Folds finished so far:" if job.active else "Result:")
        st.dataframe(percent_rows(summary_rows(results)), hide_index=True, width="stretch",
                     column_config=PERCENT)
    failure_details(job)


# --- The followed run -------------------------------------------------------------

show_followed_run("cv", RUN_KEY, render_job)


# --- A new comparison -------------------------------------------------------------

st.subheader("New comparison")
# The widgets come from CVConfig's declarations (mnist_core/training/config.py).
archs = setting_input(st, declaration(CVConfig, "archs"), ("baseline_cnn", "deeper_cnn"), key="cv_archs")
form = settings_inputs(CVConfig, CVConfig(archs=archs).to_dict(), key=lambda setting: f"cv_{setting}",
                       skip=("archs",))
config = CVConfig(archs=archs, **form.values)


def start(config: CVConfig) -> None:
    start_and_follow(lambda: jobs.start_cross_validation(config), RUN_KEY)


def is_reference(job: jobs.Job) -> bool:
    """Whether the run is marked as the reference (``"reference": true`` in its status.json):
    the shipped run of the classic tutorial's protocol that BENCHMARKS.md quotes."""
    return job.status.get("reference") is True


def how_long(config: CVConfig, reference: CVResults | None) -> str | None:
    """'about 12 min' for ``config``, judged by the ``reference`` run's pace; None without
    one (or when it did not train one of the architectures, or the settings are wrong)."""
    seconds = None if reference is None or config.problems() else estimated_seconds(config, reference)
    if seconds is None:
        return None
    # An estimate: to the minute, or to ten seconds under two minutes.
    return f"about {round(seconds / 60)} min" if seconds >= 120 else f"about {max(10, round(seconds, -1)):.0f} s"


run_col, quick_col, _ = st.columns([1.3, 3.4, 1.1])
if run_col.button("Run cross-validation", type="primary", icon=":material/play_arrow:", key="cv-start"):
    start(config)
if quick_col.button(f"Quick comparison: {QUICK['subset']:,} images, {QUICK['folds']} folds, "
                    f"{QUICK['epochs']} epochs", icon=":material/bolt:", key="cv-quick"):
    start(replace(config, **QUICK))
reference_results = next((load_results(job.path) for job in jobs.list_jobs(kind="cv") if is_reference(job)), None)
full, quick = how_long(config, reference_results), how_long(replace(config, **QUICK), reference_results)
if full and quick:
    # A full run on all the images takes many minutes here: say so before it starts.
    st.caption(f"Cross-validation with these settings takes {full} of training on this machine (judging by the "
               f"reference run below); the quick comparison, {quick}. Each also takes a little while to start.")


# --- Results ----------------------------------------------------------------------

CHOSEN_KEY = "cv_chosen"
KNOWN_KEY = "cv_known_runs"  # the runs with results that the Results section listed last time
DEFAULT_KEY = "cv_default_runs"  # the selection it last made by itself
REFERENCE_LABEL = "reference: the tutorial's 5-fold protocol"


def default_selection(run_ids: list[str], references: set[str]) -> list[str]:
    """The newest run beside the reference run; the reference alone when there is no other."""
    newest = next((run_id for run_id in run_ids if run_id not in references), None)
    return [run_id for run_id in run_ids if run_id == newest or run_id in references]


def sync_selection(run_ids: list[str], references: set[str]) -> None:
    """Set the Results selection before its widget is drawn (its ``default`` counts only
    the first time). First the default; afterwards the user's choice, plus every run that
    has appeared since it was made (a run finished, or finished its first folds), so a new
    result shows without a reload. A selection still as the page made it follows the
    default: the newest run beside the reference."""
    default = default_selection(run_ids, references)
    known = st.session_state.get(KNOWN_KEY)
    current = st.session_state.get(CHOSEN_KEY)
    if known is None or current is None:
        chosen = default
    else:
        new = [run_id for run_id in run_ids if run_id not in known]
        kept = [run_id for run_id in current if run_id in run_ids]
        if set(current) == set(st.session_state.get(DEFAULT_KEY, ())):
            chosen = [run_id for run_id in run_ids if run_id in default or run_id in new]
        else:
            chosen = new + [run_id for run_id in kept if run_id not in new]
    if chosen != current:
        st.session_state[CHOSEN_KEY] = chosen
    st.session_state[KNOWN_KEY] = list(run_ids)
    st.session_state[DEFAULT_KEY] = default


st.subheader("Results")
stored: dict[str, tuple[jobs.Job, CVResults]] = {}
for job in jobs.list_jobs(kind="cv"):
    results = load_results(job.path)
    if results is not None and any(results.archs.values()):
        stored[job.run_id] = (job, results)
st.session_state[FOLDS_SEEN_KEY] = {run_id: finished_folds(results) for run_id, (_, results) in stored.items()}
references = {run_id for run_id, (job, _) in stored.items() if is_reference(job)}
sync_selection(list(stored), references)
if not stored:
    st.caption("No cross-validation results yet.")
    st.stop()


def run_label(run_id: str) -> str:
    job, _ = stored[run_id]
    run_config = CVConfig.from_dict(job.config)
    images = f"{run_config.subset:,}" if run_config.subset else "60,000"
    epochs_text = "default epochs" if not run_config.epochs else (
        "1 epoch" if run_config.epochs == 1 else f"{run_config.epochs} epochs")
    # Kept the same while the run goes on (the widget knows its choices by these labels).
    name = f"{REFERENCE_LABEL} · {run_id[:15]}" if run_id in references else run_id
    return f"{name} · {run_config.folds} folds · {epochs_text} · {images} images"


def short_name(run_id: str) -> str:
    """The run in the table, the box plot and the curves' picker, beside other runs: its
    date and time, or "reference"."""
    return "reference" if run_id in references else run_id[:15]


chosen = st.multiselect("Cross-validation runs", list(stored), format_func=run_label, key=CHOSEN_KEY,
                        help="Pick several to compare runs with each other. A new run is added "
                             "here as soon as it has finished folds.")
if not chosen:
    st.stop()
several = len(chosen) > 1
rows, groups, per_arch = [], {}, {}
for run_id in chosen:
    job, results = stored[run_id]
    rows += summary_rows(results, label=short_name(run_id) if several else None)
    for arch, fold_results in results.archs.items():
        if fold_results:
            key = f"{arch} · {short_name(run_id)}" if several else arch
            groups[key] = [f.accuracy for f in fold_results]
            per_arch[key] = [{"fold": f.fold, "history": f.history} for f in fold_results]

st.dataframe(percent_rows(rows), hide_index=True, width="stretch", column_config=PERCENT, key="cv-summary")
notes = ["Accuracy on the held-out fold; std is the population standard deviation (numpy's, as the "
         "reference tutorial reports it)."]
if references & set(chosen):
    notes.append("**reference**: the shipped run of the classic tutorial's 5-fold protocol, as in BENCHMARKS.md.")
for run_id in chosen:
    job, results = stored[run_id]
    if job.state != "finished":
        planned = len(results.config.archs) * results.config.folds
        notes.append(f"`{short_name(run_id)}` is {job.state}: {finished_folds(results)} of {planned} folds done.")
st.caption(" ".join(notes))
file_stem = chosen[0] if not several else "cross-validation"
folds_file, epochs_file, _ = st.columns([1, 1, 1])
folds_file.download_button(
    "Fold results (.csv)", csv_text([row for run_id in chosen for row in fold_rows(stored[run_id][1], run=run_id)]),
    file_name=f"{file_stem}-folds.csv", mime="text/csv", icon=":material/download:", key="cv-folds-csv",
    help="One row per architecture and fold: its held-out images, accuracy, loss, epochs and time.")
epochs_file.download_button(
    "Per-epoch curves (.csv)",
    csv_text([row for run_id in chosen for row in fold_epoch_rows(stored[run_id][1], run=run_id)]),
    file_name=f"{file_stem}-epochs.csv", mime="text/csv", icon=":material/download:", key="cv-epochs-csv",
    help="Every fold's loss and accuracy after each epoch; val_ is the held-out fold.")
st.plotly_chart(cv_box_plot(groups), key="cv-box", config=chart_config("cross-validation-accuracy"))

st.markdown("**Per-fold learning curves**")
arch_key = st.selectbox("Architecture", list(per_arch), key="cv_curves_arch")
loss, accuracy = st.columns(2)
loss.plotly_chart(cv_learning_curves(per_arch[arch_key], "loss"), key="cv-curves-loss",
                 config=chart_config(f"cross-validation-loss-{arch_key}", tools=True))
accuracy.plotly_chart(cv_learning_curves(per_arch[arch_key], "accuracy"), key="cv-curves-accuracy",
                     config=chart_config(f"cross-validation-accuracy-{arch_key}", tools=True))
