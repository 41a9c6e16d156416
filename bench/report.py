"""Write BENCHMARKS.md from the measured results (bench/results/*.json and the shipped
cross-validation run), so that no figure in it is typed in by hand.

    python -m bench.report
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from bench.common import REPO_ROOT

RESULTS = Path(__file__).resolve().parent / "results"
OUTPUT = REPO_ROOT / "BENCHMARKS.md"

# The tutorial's published 5-fold figures (mean and std of accuracy, in percent).
REFERENCE_CV = {"baseline_cnn": (98.677, 0.107), "baseline_cnn_bn": (98.643, 0.101), "deeper_cnn": (99.062, 0.104)}
REFERENCE_PROTOCOL = "5 folds, 10 epochs, batch 32, SGD 0.01 momentum 0.9"


def load(name: str) -> dict | None:
    path = RESULTS / f"{name}.json"
    return json.loads(path.read_text()) if path.is_file() else None


def provenance(result: dict) -> str:
    env = result["environment"]
    versions = ", ".join(f"{k} {v}" for k, v in env["versions"].items())
    return (f"Measured {env['date']} on {env['cores']} cores of {env['cpu']} ({versions}).  \n"
            f"Reproduce: `{env['command']}`")


def pct(value: float, digits: int = 2) -> str:
    return f"{100 * value:.{digits}f}%"


def section_default_model(result: dict) -> list[str]:
    return [
        "## The shipped default model",
        "",
        f"`{result['model']}` ({result['arch']}): **{pct(result['test_accuracy'])}** on the 10,000 MNIST test "
        f"images ({result['mistakes']} mistakes, test loss {result['test_loss']}), trained in "
        f"{result['train_seconds']:.0f} s by `{result['trained_by']}`.",
        "",
        provenance(result),
    ]


def section_drawn_digits(result: dict) -> list[str]:
    names = {"strokes": "the app's canvas pipeline (strokes re-drawn)", "pixels": "the app's picture pipeline",
             "crop_centre": "plain MNIST-style crop and centre", "naive_resize": "naive resize of the canvas"}
    lines = [
        "## Real handwriting: drawn digits",
        "",
        f"All {result['samples']:,} pen-written digits of `pendigits-orig.tra` (30 writers), drawn the way "
        f"the Draw page's pad draws them ({result['canvas_size']}x{result['canvas_size']}, "
        f"brush {result['brush_width']:g}), "
        f"read by `{result['model']}`, which did not train on them (the default model trains on pen digits: "
        "its figures for writers it never saw are in the scorecard below).",
        "",
        "| pipeline | at written scale | filling the canvas |",
        "|---|---|---|",
    ]
    renderings = result["results"]
    for pipeline, label in names.items():
        lines.append(f"| {label} | {pct(renderings['written_scale'][pipeline]['accuracy'])} | "
                     f"{pct(renderings['filling_canvas'][pipeline]['accuracy'])} |")
    lines += ["", "Per digit, the app's canvas pipeline (filling the canvas):", "",
              "| " + " | ".join(str(d) for d in range(10)) + " |", "|" + "---|" * 10,
              "| " + " | ".join(pct(v, 1) for v in renderings["filling_canvas"]["strokes"]["per_digit"]) + " |"]
    confusions = renderings["filling_canvas"]["strokes"].get("confusions")
    if confusions:  # results saved before the benchmark counted them have none
        lines += ["", "Its commonest mistakes (same pipeline and rendering), and how many writers made them:", "",
                  "| digit | read as | mistakes | writers | from the 5 writers with the most |",
                  "|---|---|---|---|---|"]
        lines += [f"| {c['digit']} | {c['read_as']} | {c['count']} | {c['writers']} | {c['from_top_5_writers']} |"
                  for c in confusions]
    lines += ["", provenance(result)]
    # Other models, measured with --model NAME and saved as drawn_digits-NAME.json.
    for path in sorted(RESULTS.glob("drawn_digits-*.json")):
        other = json.loads(path.read_text())
        scores = other["results"]
        lines += ["", f"The same through the app's canvas pipeline with `{other['model']}`: "
                  f"{pct(scores['written_scale']['strokes']['accuracy'])} at written scale, "
                  f"{pct(scores['filling_canvas']['strokes']['accuracy'])} filling the canvas.", "",
                  provenance(other)]
    return lines


def section_latency(result: dict) -> list[str]:
    r = result["results"]
    return [
        "## Reading one drawing",
        "",
        f"Canvas JSON to prediction (parse the strokes, re-draw them MNIST-style, run the model through a "
        f"compiled function), model warm, {result['drawings']} real pen-written digits, model `{result['model']}`:",
        "",
        "| what | median | 95th percentile |",
        "|---|---|---|",
        f"| the whole pipeline | **{r['pipeline']['median_ms']:.2f} ms** | {r['pipeline']['p95_ms']:.2f} ms |",
        f"| preprocessing alone | {r['preprocess_only']['median_ms']:.2f} ms "
        f"| {r['preprocess_only']['p95_ms']:.2f} ms |",
        f"| inference alone (compiled function) | {r['inference_only']['median_ms']:.2f} ms | "
        f"{r['inference_only']['p95_ms']:.2f} ms |",
        f"| `model.predict` on one image, for comparison | {r['model_predict']['median_ms']:.2f} ms | "
        f"{r['model_predict']['p95_ms']:.2f} ms |",
        f"| calling the model eagerly, for comparison | {r['model_call_eager']['median_ms']:.2f} ms | "
        f"{r['model_call_eager']['p95_ms']:.2f} ms |",
        "",
        f"The pipeline is {r['speedup_vs_model_predict']}x faster than `model.predict` alone.",
        "",
        *rerun_rows(r),
        provenance(result),
    ]


def rerun_rows(r: dict) -> list[str]:
    """Inside the app: Streamlit's clean-up after every script run, and a reading after it."""
    if "rerun_cleanup_unfrozen" not in r:  # results from before this was measured
        return []
    row = lambda label, key: f"| {label} | {r[key]['median_ms']:.2f} ms | {r[key]['p95_ms']:.2f} ms |"  # noqa: E731
    return [
        "Inside the app, Streamlit ends every script run with a full garbage collection and "
        "`keras.backend.clear_session()` (another one, and TensorFlow's kernel cache emptied). "
        "The app freezes TensorFlow's objects out of the collector's reach once they are loaded, "
        "and reads one image through an XLA-compiled function, whose executable that clean-up keeps:",
        "",
        "| what | median | 95th percentile |",
        "|---|---|---|",
        row("the clean-up after a rerun, nothing frozen", "rerun_cleanup_unfrozen"),
        row("the clean-up after a rerun, TensorFlow frozen (the app)", "rerun_cleanup_frozen"),
        row("the whole pipeline right after the clean-up (the app)", "pipeline_after_cleanup"),
        row("inference alone right after it, plain `tf.function`", "plain_function_after_cleanup"),
        "",
    ]


def section_picture_reading(result: dict) -> list[str]:
    lines = [
        "## Reading an uploaded picture",
        "",
        "A '7' in black on white saved as PNG, read as an upload is (decode, shrink to at most "
        f"{result['max_working_side']} pixels a side, find the ink, stroke width, fit and centre), up to the "
        f"largest picture allowed ({result['max_pixels']:,} pixels); memory is the most the process's "
        "resident memory rose during a reading:",
        "",
        "| picture | pen width | PNG file | median | slowest | peak memory |",
        "|---|---|---|---|---|---|",
    ]
    for row in result["results"].values():
        memory = "-" if row["peak_rss_growth_mb"] is None else f"{row['peak_rss_growth_mb']:.0f} MB"
        lines.append(f"| {row['side']}x{row['side']} | {row['pen_width']} px | {row['file_kb']:,.0f} KB | "
                     f"**{row['median_s']:.3f} s** | {row['max_s']:.3f} s | {memory} |")
    return lines + ["", provenance(result)]


def section_explain(result: dict) -> list[str]:
    r = result["results"]
    feature_map = r["feature_map"]
    steps = ", ".join(f"{count} took {s}" for s, count in r["integrated_gradients_steps"].items())
    return [
        "## Looking inside a model",
        "",
        f"One drawing's update with the inside views (the reading, every layer's activations, Grad-CAM and "
        f"integrated gradients for the digit read), model `{result['model']}` warm, {result['drawings']} real "
        "pen-written digits; and the views computed on demand:",
        "",
        "| what | median | 95th percentile |",
        "|---|---|---|",
        f"| one drawing's update | **{r['update']['median_ms']:.1f} ms** | **{r['update']['p95_ms']:.1f} ms** |",
        f"| occlusion (144 blanked squares) | {r['occlusion']['median_ms']:.1f} ms | "
        f"{r['occlusion']['p95_ms']:.1f} ms |",
        f"| smallest change to read a 3 (L-infinity, 8 budgets at once) | {r['attack_linf']['median_ms']:.0f} ms | "
        f"{r['attack_linf']['p95_ms']:.0f} ms |",
        f"| placing a drawing on the feature map, with its 8 nearest training digits | "
        f"{feature_map['place_one_drawing']['median_ms']:.1f} ms | "
        f"{feature_map['place_one_drawing']['p95_ms']:.1f} ms |",
        "",
        f"Integrated gradients start with 32 steps and add half as many again, where the attributions change "
        f"most, until their sum is within 5% of the change "
        f"in probability ({steps} steps). The feature map of {feature_map['test_images']:,} test images (with "
        f"{feature_map['neighbour_images']:,} training images for neighbours) took "
        f"**{feature_map['build_and_save_s']:.1f} s** to build and save once, and **{feature_map['load_s']:.3f} s** "
        "to load from disk afterwards." + (
            f" Its t-SNE layout, computed when first asked for, took **{feature_map['tsne_build_and_save_s']:.1f} s** "
            f"once (loaded again in {feature_map['tsne_load_s']:.3f} s; placing a drawing on it: "
            f"{feature_map['place_one_drawing_tsne']['median_ms']:.1f} ms median)."
            if "tsne_build_and_save_s" in feature_map else ""),
        "",
        provenance(result),
    ]


def section_pen_up(result: dict) -> list[str]:
    lines = [
        "## Pen-up to reading, in the browser",
        "",
        f"Measured in headless Chromium by `bench/pen_up_latency.py`: {result['digits']} real pen-written digits "
        f"({result['strokes']} strokes) drawn with the mouse on the Draw page's pad, stroke by stroke, with an "
        "inside view open. The page timestamps the pen lifting (`pointerup`), the first frame painted with the "
        "new reading, and the moment the app's script has finished (the open view updated too).",
        "",
        "| app | canvas | view open | pen-up to reading: median | p95 | pen-up to all done: median | p95 |",
        "|---|---|---|---|---|---|---|",
    ]
    before = result.get("before")
    versions = [("this version", result["now"])] + ([(f"before ({before['commit']})", before["runs"])]
                                                     if before else [])
    for name, runs in versions:
        for run in runs:
            reading, settled = run["pen_up_to_reading"], run["pen_up_to_settled"]
            lines.append(f"| {name} | {run['canvas']} | {run['view']} | **{reading['median_ms']:.0f} ms** | "
                         f"{reading['p95_ms']:.0f} ms | {settled['median_ms']:.0f} ms | {settled['p95_ms']:.0f} ms |")
    if result.get("ratios"):
        ratios = ", ".join(f"{ratio:.1f}x with {view}" for view, ratio in result["ratios"].items())
        lines += ["", f"Pen-up to reading, before over now, in the same run: {ratios}."]
    return lines + ["", provenance(result)]


def section_overhead(result: dict) -> list[str]:
    return [
        "## What live progress costs training",
        "",
        f"`{result['arch']}`, {result['images_per_epoch']:,} images per epoch, batch {result['batch_size']} "
        f"({result['batches_per_epoch']} batches): epochs with the progress callback, the stop check before "
        "every batch and a second process polling the run folder every second (as the app does), against a "
        "bare `model.fit` on the same pipeline, alternating, first epoch of each fit untimed. Some epochs on",
        "this shared host take twice as long in either mode, so the headline compares the fastest epochs;",
        "the medians are beside them.",
        "",
        "| | bare `model.fit` | with progress | ratio |",
        "|---|---|---|---|",
        f"| fastest epoch | {result['fastest_bare_s']:.2f} s | {result['fastest_with_progress_s']:.2f} s | "
        f"**{result['ratio']:.3f}** ({result['overhead_percent']:+.1f}%) |",
        f"| median epoch | {result['median_bare_s']:.2f} s | {result['median_with_progress_s']:.2f} s | "
        f"{result['median_ratio']:.3f} |",
        f"| all epochs (s) | {', '.join(f'{s:.2f}' for s in result['epoch_seconds_bare'])} | "
        f"{', '.join(f'{s:.2f}' for s in result['epoch_seconds_with_progress'])} | |",
        "",
        provenance(result),
    ]


def section_cv() -> list[str]:
    from mnist_core.jobs.runs import list_runs
    from mnist_core.training.crossval import load_results, summarise

    runs_root = REPO_ROOT / "artifacts" / "runs"
    reference = None
    for run in list_runs(runs_root, kind="cv"):
        results = load_results(run.path)
        config = run.config
        if (results and results.state == "finished" and sorted(config.get("archs", [])) == sorted(REFERENCE_CV)
                and config.get("folds") == 5 and config.get("epochs") == 10 and config.get("batch_size") == 32):
            reference = (run, results)
            break
    lines = ["## Cross-validation: the reference table", ""]
    if reference is None:
        return lines + ["Not measured yet: `python -m mnist_core cv --arch baseline_cnn --arch baseline_cnn_bn "
                        "--arch deeper_cnn --folds 5 --epochs 10 --batch-size 32`."]
    run, results = reference
    rows = {row.arch: row for row in summarise(results)}
    lines += [
        f"{REFERENCE_PROTOCOL}, on the same seeded folds for the three (`{run.run_id}`, shipped in "
        "artifacts/runs so the Compare page shows it out of the box). Accuracy on the held-out fold, "
        "mean +- population std, in percent:",
        "",
        "| architecture | tutorial | ours | ours min - max | ours, time for 5 folds |",
        "|---|---|---|---|---|",
    ]
    for arch, (mean, std) in REFERENCE_CV.items():
        row = rows[arch]
        lines.append(f"| `{arch}` | {mean:.3f} +- {std:.3f} | **{100 * row.mean:.3f} +- {100 * row.std:.3f}** | "
                     f"{100 * row.min:.2f} - {100 * row.max:.2f} | {row.seconds / 60:.1f} min |")
    lines += ["", f"{results.data.get('images', 60000):,} training images; run started "
              f"{run.status.get('started', '?')}.  ",
              "Reproduce: `python -m mnist_core cv --arch baseline_cnn --arch baseline_cnn_bn --arch deeper_cnn "
              "--folds 5 --epochs 10 --batch-size 32`"]
    return lines


def section_speed_record(result: dict) -> list[str]:
    holds = result["record_holds"]
    lines = [
        f"## Record: 99% in {result['median_train_seconds']:.1f} s of training on 2 CPU cores",
        "",
        f"`{result['arch']}` with its defaults ({result['settings']}): `python -m mnist_core train --arch "
        f"{result['arch']}`. Trained on the 54,000 training images {len(result['runs'])} times, seeds "
        f"{', '.join(str(r['seed']) for r in result['runs'])}; training time is the wall time of `model.fit`:",
        "",
        "| seed | training time | of which epochs | MNIST test accuracy |",
        "|---|---|---|---|",
    ]
    for run in result["runs"]:
        lines.append(f"| {run['seed']} | {run['train_seconds']:.2f} s | {sum(run['epoch_seconds']):.2f} s "
                     f"| {pct(run['test_accuracy'])} |")
    lines += ["", f"Median training time **{result['median_train_seconds']:.2f} s**; lowest test accuracy "
              f"**{pct(result['min_test_accuracy'])}**: the record (median at most 10 s, every seed at least "
              f"99.0%) {'holds' if holds else 'does NOT hold'} in this run."]
    if result.get("compared"):
        lines += ["", "Time to 99% in the same run (the epochs' training time up to the first epoch whose test "
                  "accuracy reaches 99%, scored outside the timed epochs), against the record's "
                  f"{result['median_epoch_seconds_total']:.2f} s of epochs:", "",
                  "| architecture | test accuracy after each epoch | time to 99% | times the record's |",
                  "|---|---|---|---|"]
        for row in result["compared"]:
            curve = ", ".join(pct(a) for a in row["test_accuracy_per_epoch"])
            trained = sum(row["epoch_seconds"])
            reached = (f"{row['time_to_99']:.1f} s" if row["time_to_99"] else
                       f"not reached in {len(row['epoch_seconds'])} epochs ({trained:.0f} s)")
            ratio = (f"{row['ratio_to_record']:.1f}x" if row["ratio_to_record"] else
                     f"more than {trained / result['median_epoch_seconds_total']:.0f}x")
            lines.append(f"| `{row['arch']}` | {curve} | {reached} | {ratio} |")
    return lines + ["", provenance(result)]


def chosen_on(result: dict) -> str:
    """How the accuracy record's settings and looks were chosen, as a sentence or two."""
    twin = result.get("chosen_on", result["model"])
    if twin == result["model"]:
        return (f"Everything below was chosen on the {result['validation_images']:,} validation images its "
                "training held out (the same seeded split for every shipped model), and only then scored on the "
                "10,000 test images.")
    return (f"It trained on all {result['n_train']:,} training images, so its settings and everything below were "
            f"chosen on the {result['validation_images']:,} validation images held out by its twin "
            f"`{twin}` (`{result['chosen_on_trained_by']}`, the same settings with the split every shipped model "
            f"holds out; {pct(result['chosen_on_test'])} on test): the validation column is the twin's reading, "
            "in the record model's place, and only then was the record model scored on the 10,000 test images.")


def section_accuracy_record(result: dict) -> list[str]:
    from bench.accuracy_record import MEMBER_COMMANDS

    single, looks = result["single"], result["chosen_looks"]
    minutes = result["train_seconds"] / 60
    lines = [
        f"## Record: {pct(single['test'])} from one model, {pct(looks['test'])} from a few looks",
        "",
        f"`{result['model']}` ({result['arch']}, {result['params']:,} parameters, a "
        f"{result['file_bytes'] / 1e6:.1f} MB file), trained in **{minutes:.1f} minutes** on 2 CPU cores "
        "(the wall time of `model.fit`) by "
        f"`{result['trained_by']}`. {chosen_on(result)}",
        "",
        "| reading | looks | validation | MNIST test |",
        "|---|---|---|---|",
    ]
    for row in result["test_time_augmentation"] + result["ensembles"]:
        label = row["what"] if row["view"] == "as-is" else f"{row['what']}, views `{row['view']}`"
        chosen = " (chosen)" if row == looks else ""
        lines.append(f"| {label}{chosen} | {row['looks']} | {pct(row['validation'])} | {pct(row['test'])} |")
    extra = sum(seconds or 0 for seconds in result["ensemble_train_seconds"].values())
    lines += [
        "",
        f"One model: **{pct(single['test'])}** ({round((1 - single['test']) * 10000)} mistakes); the bar (99.70% "
        f"in at most 30 minutes of training) {'holds' if result['single_record_holds'] else 'is NOT met'}. "
        f"The best of the looks on the validation images: **{pct(looks['test'])}** on test; the bar (99.80%) "
        f"{'holds' if result['looks_record_holds'] else 'is NOT met'}. The ensembles' other models took "
        f"{extra / 60:.1f} minutes more to train ({', '.join(result['ensemble_train_seconds'])}).",
    ]
    members = {name: command for name, command in result["ensemble_trained_by"].items()
               if name in MEMBER_COMMANDS}
    if members:
        lines += ["", f"The members of `{result['arch']}` are its settings with other seeds, holding out the same "
                  "validation images (`--split-seed 1`). They are not shipped (5 MB each): "
                  "`python -m bench.accuracy_record --train` trains them, and the record model, afresh: "
                  + "; ".join(f"`{command}` ({result['ensemble_train_seconds'][name] / 60:.1f} min)"
                              for name, command in members.items()) + "."]
    return lines + ["", provenance(result)]


def section_robustness(result: dict) -> list[str]:
    from mnist_core.models.robustness import USPS_SPLIT, USPS_SPLIT_MEANING, usps_split_text

    kinds = list(result["corruptions"])
    lines = [
        "## Robustness scorecard",
        "",
        f"Every shipped model on MNIST test (10,000), on the {result['pen_digits']:,} pen-written digits of "
        "`pendigits-orig.tra` through the Draw page's canvas pipeline (at their written scale / filling the "
        f"canvas), on the {result['usps_digits']:,} scanned USPS digits of `usps-train.npz` through the app's "
        "picture pipeline (beside a plain resize into the 20x20 box, padded), and on a corruption suite made from "
        "MNIST test (`mnist_core/models/corruptions.py`, seed 0; the images read as they are). The default model "
        f"is `{result['default_model']}`.",
        "",
        "| model | MNIST test | pen, written scale | pen, filling the canvas | USPS, picture pipeline "
        f"| USPS, resize and pad | {USPS_SPLIT} | corruptions, mean |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, row in result["models"].items():
        pen, usps = row["pen_digits"], row["usps"]
        lines.append(f"| `{name}` | {pct(row['mnist_test'])} | {pct(pen['written scale'])} "
                     f"| {pct(pen['filling the canvas'])} | {pct(usps['picture pipeline'])} "
                     f"| {pct(usps['resize and pad'])} | {usps_split_text(usps) or ''} "
                     f"| {pct(row['corruption_mean'])} |")
    lines += ["", f"{USPS_SPLIT}: {USPS_SPLIT_MEANING}"]
    held_out = {name: row["pen_digits"]["held out"] for name, row in result["models"].items()
                if "held out" in row["pen_digits"]}
    if held_out:
        lines += ["", "Trained on real pen digits, so scored on writers it did not see: " + " ".join(
            f"`{name}`: {why}." for name, why in held_out.items())]
    lines += ["", "Per corruption:", "", "| model | " + " | ".join(kinds) + " |",
              "|---|" + "---|" * len(kinds)]
    for name, row in result["models"].items():
        lines.append(f"| `{name}` | " + " | ".join(pct(row["corruptions"][kind], 1) for kind in kinds) + " |")
    lines += ["", "The corruptions: " + "; ".join(f"**{kind}**: {what}" for kind, what in result["corruptions"].items())
              + "."]
    return lines + ["", provenance(result)]


def section_pen_writers(result: dict) -> list[str]:
    from mnist_core.digitsets import RENDERINGS
    from mnist_core.training.config import describe_settings

    renderings = list(RENDERINGS)
    lines = [
        "## Pen digits of writers a model never saw",
        "",
        f"`{result['model']}` trains on real pen digits ({describe_settings(result['settings'])}), so the "
        "scorecard reads its pen digits by writer folds: for each third of the 30 writers, a model of the same "
        "settings trained on the same MNIST images and the other writers' pen digits reads the held-out "
        "writers' digits through the Draw page's canvas pipeline.",
        "",
        "| held-out writers | digits | " + " | ".join(f"pen, {r}" for r in renderings)
        + " | MNIST test | training time |",
        "|---|---|" + "---|" * len(renderings) + "---|---|",
    ]
    for fold in result["folds"]:
        lines.append(f"| {', '.join(map(str, fold['held_out_writers']))} | {fold['digits']:,} | "
                     + " | ".join(pct(fold["accuracy"][r]) for r in renderings)
                     + f" | {pct(fold['test_accuracy'])} | {fold['train_seconds']:.0f} s |")
    estimate = result["estimate"]
    lines += ["", f"Every writer read by a model that never saw them ({estimate['digits']:,} digits): "
              + ", ".join(f"**{pct(estimate[r])}** {r}" for r in renderings) + "."]
    return lines + ["", provenance(result)]


def section_quick(result: dict) -> list[str]:
    lines = [
        "## Fast to 99%: the quick-train preset",
        "",
        f"`{result['arch']}` with its defaults ({result['settings']}), trained on the full training set "
        f"{len(result['runs'])} times with seeds {', '.join(str(r['seed']) for r in result['runs'])}:",
        "",
        "| seed | training time | MNIST test accuracy |",
        "|---|---|---|",
    ]
    for run in result["runs"]:
        lines.append(f"| {run['seed']} | {run['train_seconds']:.1f} s | {pct(run['test_accuracy'])} |")
    lines += ["", f"Median training time **{result['median_train_seconds']:.1f} s**, median test accuracy "
              f"**{pct(result['median_test_accuracy'])}**; 99% reached in {result['reached_99']} of "
              f"{len(result['runs'])} runs."]
    quick = result.get("quick_run")
    if quick:
        lines += ["", f"The Train page's \"Quick run\" (`{quick['arch']}`, {quick['subset']:,} images, "
                  f"{quick['epochs']} epochs; it gave 11.35% before batch-norm statistics were measured "
                  "after training):", "",
                  "| seed | training time | validation accuracy | MNIST test accuracy |", "|---|---|---|---|"]
        for run in quick["runs"]:
            lines.append(f"| {run['seed']} | {run['train_seconds']:.1f} s | {pct(run['validation_accuracy'])} "
                         f"| {pct(run['test_accuracy'])} |")
        lines += ["", f"Lowest test accuracy **{pct(quick['min_test_accuracy'])}** (the tests hold it to 95%)."]
    return lines + ["", provenance(result)]


def section_architectures(result: dict) -> list[str]:
    trained = result["mode"] == "default training"
    lines = ["## Every architecture", ""]
    if trained:
        lines += ["Each trained with its own defaults (`python -m mnist_core train --arch NAME`): seconds per epoch "
                  "on the 54,000 training images (the median of the run's epochs after the first) and the test "
                  "accuracy it reaches.", "",
                  "| architecture | parameters | batch | epochs | s/epoch | training time | MNIST test accuracy |",
                  "|---|---|---|---|---|---|---|"]
        for name, row in result["results"].items():
            lines.append(f"| `{name}` | {row['parameters']:,} | {row['batch_size']} | {row['epochs']} | "
                         f"{row['seconds_per_epoch']:.1f} | {row['train_seconds']:.0f} s | "
                         f"{pct(row['test_accuracy'])} |")
    else:
        lines += ["Seconds per epoch on the 54,000 training images with each architecture's defaults (second "
                  "epoch of two).", "", "| architecture | parameters | batch | s/epoch |", "|---|---|---|---|"]
        for name, row in result["results"].items():
            lines.append(f"| `{name}` | {row['parameters']:,} | {row['batch_size']} | {row['seconds_per_epoch']:.1f} |")
    return lines + ["", provenance(result)]


SECTIONS = [
    ("default_model", section_default_model),
    ("drawn_digits", section_drawn_digits),
    ("robustness", section_robustness),
    ("pen_writers", section_pen_writers),
    ("predict_latency", section_latency),
    ("picture_reading", section_picture_reading),
    ("explain_speed", section_explain),
    ("pen_up_latency", section_pen_up),
    ("progress_overhead", section_overhead),
    ("cv", None),
    ("speed_record", section_speed_record),
    ("accuracy_record", section_accuracy_record),
    ("quick_train", section_quick),
    ("architectures", section_architectures),
]


def write_report(path: Path = OUTPUT) -> str:
    """Regenerate BENCHMARKS.md; returns its text."""
    lines = [
        "# Benchmarks",
        "",
        "Every figure below was measured by a benchmark in `bench/` (each prints JSON; the results are kept",
        "in `bench/results/`) and written here by `python -m bench.report`. `python -m bench.run_all` runs",
        "the suite and rewrites this file. Timings are from a shared 2-core machine: compare ratios measured",
        "in one run rather than absolute seconds across runs.",
        "",
    ]
    for name, writer in SECTIONS:
        if name == "cv":
            lines += section_cv() + [""]
            continue
        result = load(name)
        if result is None:
            lines += [f"## {name}", "", f"Not measured yet: `python -m bench.{name}`.", ""]
        else:
            lines += writer(result) + [""]
    text = "\n".join(lines)
    path.write_text(text)
    return text


if __name__ == "__main__":
    write_report()
    sys.exit(0)
