"""``python -m mnist_core``: architectures, train, cv, evaluate, predict, explain, models, import, export,
runs, stop.

Every command prints a clear ``error: ...`` line and exits with status 2 for bad
input (unknown architecture, bad name, missing data or model), never a traceback.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path

from mnist_core import __version__

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class CliError(Exception):
    """An error whose message is shown to the user as is (exit status 2)."""


def _quiet_tensorflow() -> None:
    # TensorFlow's C++ start-up chatter drowns the output users care about.
    from mnist_core.tfimport import import_keras_quietly

    import_keras_quietly()


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for every command."""
    from mnist_core.models.test_time import VIEWS
    from mnist_core.settings import add_arguments
    from mnist_core.training.config import ARCH_DEFAULT, CVConfig, TrainConfig

    parser = argparse.ArgumentParser(
        prog="python -m mnist_core",
        description="MNIST Studio from the command line: train, compare, evaluate and use MNIST models.",
    )
    parser.add_argument("--version", action="version", version=f"mnist_core {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    commands.add_parser("architectures", help="list the architectures in the registry",
                        description="List the registry: name, parameters, defaults, description.")

    train = commands.add_parser("train", help="train an architecture and save the model",
                                description="Train one architecture on MNIST and save it under artifacts/models/. "
                                "Options left out take the architecture's own defaults.")
    add_arguments(train, TrainConfig, default_text=ARCH_DEFAULT)
    train.add_argument("--name", help="name of the saved model (default: ARCH-DATE-TIME)")
    train.add_argument("--discard-if-stopped", action="store_true",
                       help="do not save a model when the run is stopped early")
    train.add_argument("--set-default", action="store_true",
                       help="make the trained model the default model")
    _add_data_option(train)
    train.add_argument("--run-dir", type=Path, help="run folder for progress and status "
                       "(default: a new folder under artifacts/runs/)")

    cv = commands.add_parser(
        "cv", help="k-fold cross-validation of one or more architectures",
        description="Cross-validate architectures on the same seeded folds of the training set "
        "(scikit-learn KFold, shuffled). Options left out take each architecture's defaults.")
    add_arguments(cv, CVConfig, default_text="each architecture's")
    _add_data_option(cv)
    cv.add_argument("--run-dir", type=Path, help="run folder (default: a new folder under artifacts/runs/)")

    # What the app starts: the job its run folder's config.json describes, with the
    # locks the app hands over. Not listed in the help.
    job = commands.add_parser("job", description="Run the job that RUN_DIR/config.json describes.")
    job.add_argument("run_dir", type=Path, metavar="RUN_DIR")
    job.add_argument("--lock-fds", type=_fd_list, help="the job lock's and the run's alive lock's descriptors")

    evaluate = commands.add_parser("evaluate", help="test accuracy and loss of a saved model",
                                   description="Evaluate a saved model on the 10,000 MNIST test images.")
    evaluate.add_argument("--model", help="saved model name (default: the default model)")
    evaluate.add_argument("--json", action="store_true",
                          help="print the full summary as JSON: accuracy, loss, confusion matrix, "
                          "per-class precision and recall, and every misclassified image")
    evaluate.add_argument("--view", default="as-is", choices=list(VIEWS),
                          help="test-time augmentation: read each image in these views and average "
                          "(shifts: moved 1 px four ways; shifts-diagonal: eight ways; turns: 6 degrees either way; "
                          "shifts-turns: both) (default: as-is)")
    evaluate.add_argument("--with", dest="with_models", nargs="+", default=[], metavar="MODEL",
                          help="average the model's probabilities with these saved models' (an ensemble)")
    _add_data_option(evaluate)

    predict = commands.add_parser(
        "predict", help="read digits from image files",
        description="Read the digit in each image file (PNG/JPEG/..., any size, either polarity). "
        "Prints one JSON object per line: {\"file\", \"label\", \"probabilities\"}, or {\"file\", \"error\"}.")
    predict.add_argument("--model", help="saved model name (default: the default model)")
    predict.add_argument("files", nargs="+", metavar="FILE", help="image files")

    explain = commands.add_parser(
        "explain", help="look inside a model: saliency and every layer's activations for one image",
        description="Read the digit in an image file and explain the reading: Grad-CAM (models with convolution "
        "layers), integrated gradients and occlusion for the digit read (or --target), and every layer's "
        "activations. Prints one JSON object: label, top3, and per saliency method the share of its positive "
        "mass inside the digit's bounding box (inside_bbox). With --out, writes the pictures there as PNGs.")
    explain.add_argument("file", metavar="IMAGE", help="image file (PNG/JPEG/..., any size, either polarity)")
    explain.add_argument("--model", help="saved model name (default: the default model)")
    explain.add_argument("--target", type=int, choices=range(10), metavar="DIGIT",
                         help="explain this digit instead of the one read (\"why not a 7?\")")
    explain.add_argument("--out", type=Path, metavar="DIR", help="write the saliency overlays and activation "
                         "grids here as PNGs")

    runs_parser = commands.add_parser(
        "runs", help="list training and cross-validation runs",
        description="List the runs under artifacts/runs with their state, newest first.")
    runs_parser.add_argument("--delete", metavar="RUN_ID", help="delete the run folder RUN_ID")

    stop = commands.add_parser("stop", help="stop a running job after its current batch",
                               description="Ask a running training or cross-validation job to stop.")
    stop.add_argument("run_id", nargs="?", metavar="RUN_ID", help="the run to stop (default: the running one)")

    models = commands.add_parser(
        "models", help="list, rename or delete saved models, or choose the default",
        description="List saved models with their test accuracy and state; * marks the default. "
        "A model that reads at or near chance is FAILED, one whose file cannot be loaded BROKEN: "
        "neither is ever the default.")
    group = models.add_mutually_exclusive_group()
    group.add_argument("--set-default", metavar="NAME", help="make NAME the default model")
    group.add_argument("--rename", nargs=2, metavar=("NAME", "NEW_NAME"), help="rename the saved model NAME")
    group.add_argument("--delete", metavar="NAME", help="delete the saved model NAME (a default model "
                       "is replaced as the default by the best remaining one)")

    import_ = commands.add_parser(
        "import", help="import a Keras model trained elsewhere (.keras, .h5, or .json with its .h5 weights)",
        description="Import a model saved by model.save (.keras or .h5), a ModelCheckpoint .h5, or "
        "model.to_json() plus model.save_weights (give both files). It is loaded in Keras' safe mode (a Lambda "
        "layer is refused, never run), adapted to 28x28 inputs in [0, 1] and ten probabilities, measured on "
        "the MNIST test set and saved under NAME.")
    import_.add_argument("paths", nargs="+", metavar="PATH", help="the model file, or the .json and its .h5")
    import_.add_argument("--name", required=True, help="the name to save it under")
    import_.add_argument("--set-default", action="store_true", help="make it the default model (unless it failed)")
    _add_data_option(import_)

    scorecard = commands.add_parser(
        "scorecard", help="score saved models on pen-written and scanned digits and a corruption suite",
        description="The robustness scorecard of each NAME (default: the default model): MNIST test, the "
        "pen-written digits of pendigits-orig.tra through the Draw page's pipeline, the USPS scans through the "
        "picture pipeline, and a corruption suite made from MNIST test. Saved beside the model (NAME."
        "scorecard.json), where the Models page shows it; printed as JSON.")
    scorecard.add_argument("names", nargs="*", metavar="NAME")
    scorecard.add_argument("--pendigits", type=Path, metavar="PATH",
                           help="pendigits-orig.tra (default: $PENDIGITS_TRA; without it, pen digits are skipped)")
    scorecard.add_argument("--usps", type=Path, metavar="PATH",
                           help="usps-train.npz (default: $USPS_NPZ; without it, USPS is skipped)")
    _add_data_option(scorecard)

    export = commands.add_parser(
        "export", help="write a saved model as .keras or legacy .h5, with its metadata",
        description="Write saved model NAME to PATH (.keras, or .h5 in Keras' legacy HDF5 format) and its "
        "metadata to PATH.json.")
    export.add_argument("name", metavar="NAME")
    export.add_argument("path", type=Path, metavar="PATH")
    return parser


def _fd_list(text: str) -> list[int]:
    try:
        return [int(part) for part in text.split(",") if part]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a list of descriptors") from None


def _add_data_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", type=Path, metavar="PATH",
                        help="mnist.npz to use (default: $MNIST_NPZ, else the Keras download)")


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the exit status."""
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser().parse_args(argv)
    if args.command not in ("architectures", "models", "runs", "stop"):
        _quiet_tensorflow()
    handler = {
        "architectures": cmd_architectures,
        "train": cmd_train,
        "cv": cmd_cv,
        "job": cmd_job,
        "evaluate": cmd_evaluate,
        "predict": cmd_predict,
        "explain": cmd_explain,
        "models": cmd_models,
        "import": cmd_import,
        "export": cmd_export,
        "scorecard": cmd_scorecard,
        "runs": cmd_runs,
        "stop": cmd_stop,
    }[args.command]
    try:
        return handler(args, argv)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        message = _user_error_message(exc)
        if message is None:
            raise
        print(f"error: {message}", file=sys.stderr)
        return EXIT_USAGE


def _user_error_message(exc: Exception) -> str | None:
    """The message for errors caused by input, None for real bugs (which keep their traceback)."""
    from mnist_core.data import DataError
    from mnist_core.fileio import FileFormatError
    from mnist_core.jobs import JobError
    from mnist_core.jobs.runs import RunNotFound
    from mnist_core.jobs.spec import JobSpecError
    from mnist_core.models.architectures import UnknownArchitecture
    from mnist_core.models.store import StoreError
    from mnist_core.training.config import ConfigError

    if isinstance(exc, (CliError, DataError, StoreError, ConfigError, UnknownArchitecture, FileFormatError,
                        JobError, JobSpecError, RunNotFound)):
        return str(exc)
    return None


# --- Commands ---------------------------------------------------------------------


def cmd_architectures(args, argv) -> int:
    from mnist_core.models.architectures import REGISTRY, count_params

    rows = [("name", "parameters", "defaults", "description")]
    for arch in REGISTRY.values():
        defaults = f"{arch.optimizer} lr={arch.learning_rate:g} batch={arch.batch_size} epochs={arch.epochs}"
        rows.append((arch.name, f"{count_params(arch.name):,}", defaults, arch.description))
    _print_table(rows)
    return EXIT_OK


def _print_table(rows: list[tuple]) -> None:
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(rows[0]) - 1)]
    for row in rows:
        # The last cell is not padded: it has no width.
        cells = [str(cell).ljust(width) for cell, width in zip(row, widths, strict=False)]
        print("  ".join([*cells, str(row[-1])]).rstrip())


def cmd_train(args, argv) -> int:
    from mnist_core.jobs.spec import TrainingJob, with_data
    from mnist_core.settings import from_arguments
    from mnist_core.training.config import TrainConfig

    config = from_arguments(TrainConfig, args)
    # An empty --name is refused (as invalid), not taken for "no name given".
    name = args.name if args.name is not None else _default_model_name(config.arch)
    job = with_data(TrainingJob(config, name, save_if_stopped=not args.discard_if_stopped,
                                set_default=args.set_default), args.data)
    return _run_here(job, args, argv)


def cmd_cv(args, argv) -> int:
    from mnist_core.jobs.spec import CrossValidationJob, with_data
    from mnist_core.settings import from_arguments
    from mnist_core.training.config import CVConfig

    job = with_data(CrossValidationJob(from_arguments(CVConfig, args)), args.data)
    return _run_here(job, args, argv)


def _run_here(job, args, argv) -> int:
    """Check ``job`` (CliError with every problem) and run it in this process, recording the command line."""
    from mnist_core.jobs.worker import run_new_job

    problems = job.problems()
    if problems:
        raise CliError("; ".join(problems))
    return run_new_job(job, run_dir=args.run_dir, command=shlex.join(["python", "-m", "mnist_core", *argv]),
                       verbose=_keras_verbosity())


def cmd_job(args, argv) -> int:
    from mnist_core.jobs.worker import run_job

    return run_job(args.run_dir, inherited_fds=args.lock_fds, verbose=_keras_verbosity())


def _keras_verbosity() -> int:
    # A progress bar for a person at a terminal, one line per epoch for a log file.
    return 1 if sys.stdout.isatty() else 2


def _default_model_name(arch: str) -> str:
    import time

    return f"{arch}-{time.strftime('%Y%m%d-%H%M%S')}"


def cmd_evaluate(args, argv) -> int:
    from mnist_core.data import load_mnist
    from mnist_core.models import store
    from mnist_core.models.evaluation import evaluate_saved_model

    name = store.resolve_model_name(args.model)
    for model_name in [name, *args.with_models]:
        store.read_metadata(model_name)  # a missing or broken model says so before MNIST is loaded
    data = load_mnist(args.data)
    if args.view == "as-is" and not args.with_models:
        evaluation = evaluate_saved_model(name, data)
    else:
        from mnist_core.models.evaluation import Evaluation
        from mnist_core.models.test_time import averaged_probabilities

        models = [store.load_model(model_name) for model_name in [name, *args.with_models]]
        name = " + ".join([name, *args.with_models]) + ("" if args.view == "as-is" else f", views {args.view}")
        evaluation = Evaluation(name, "", averaged_probabilities(models, data.x_test, args.view), data.y_test)
    if args.json:
        print(json.dumps(evaluation.summary(), indent=2))
        return EXIT_OK
    total = len(evaluation.labels)
    print(f"model: {name}")
    print(f"test accuracy: {evaluation.accuracy:.2%} ({total - len(evaluation.mistake_indices)}/{total})")
    print(f"test loss: {evaluation.loss:.4f}")
    print(f"mistakes: {len(evaluation.mistake_indices)}")
    return EXIT_OK


def cmd_predict(args, argv) -> int:
    from mnist_core.models import store
    from mnist_core.reading.inference import predict_probabilities
    from mnist_core.reading.preprocess import ImageError, NothingToRead, preprocess_file_bytes

    name = store.resolve_model_name(args.model)
    model = store.load_model(name)
    failed = False
    for file_name in args.files:
        try:
            data = Path(file_name).read_bytes()
            image = preprocess_file_bytes(data)
        except (OSError, ImageError, NothingToRead) as exc:
            failed = True
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            print(json.dumps({"file": file_name, "error": reason}), flush=True)
            continue
        probabilities = predict_probabilities(model, image)[0]
        print(json.dumps({
            "file": file_name,
            "label": int(probabilities.argmax()),
            "probabilities": [round(float(p), 6) for p in probabilities],
        }), flush=True)
    return EXIT_FAILED if failed else EXIT_OK


def cmd_explain(args, argv) -> int:
    from mnist_core.explain.summary import explain_image
    from mnist_core.models import store
    from mnist_core.reading.preprocess import ImageError, NothingToRead, preprocess_file_bytes

    name = store.resolve_model_name(args.model)
    try:
        image = preprocess_file_bytes(Path(args.file).read_bytes())
    except OSError as exc:
        raise CliError(f"cannot read {args.file}: {exc.strerror or exc}") from None
    except (ImageError, NothingToRead) as exc:
        raise CliError(f"cannot read {args.file}: {exc}") from None
    result = explain_image(store.load_model(name), image, out_dir=args.out, target=args.target)
    print(json.dumps({"file": args.file, "model": name, **result}))
    return EXIT_OK


def cmd_import(args, argv) -> int:
    from mnist_core.data import load_mnist
    from mnist_core.models.importing import import_model

    info = import_model(args.paths, args.name, data=load_mnist(args.data), set_default=args.set_default)
    imported = info.metadata["imported"]
    adapted = [text for flag, text in ((imported["logits"], "logits turned into probabilities"),
                                       (imported["input_shape"] != [28, 28, 1],
                                        f"input reshaped to {tuple(imported['input_shape'])}")) if flag]
    print(f"imported {', '.join(imported['from'])} as {info.name}: {info.metadata['params']:,} parameters, "
          f"test accuracy {info.test_accuracy:.2%}" + (f" ({'; '.join(adapted)})" if adapted else ""))
    if not info.usable:
        print(f"warning: {info.name} is {info.state_label}: {info.reason}", file=sys.stderr)
        return EXIT_FAILED
    if args.set_default:
        print(f"default model: {info.name}")
    return EXIT_OK


def cmd_scorecard(args, argv) -> int:
    from mnist_core.data import load_mnist
    from mnist_core.models import store
    from mnist_core.models.robustness import save_scorecard, score_model

    names = args.names or [store.resolve_model_name(None)]
    for name in names:
        store.read_metadata(name)  # a missing or broken model says so before anything is loaded
    data = load_mnist(args.data)
    cards = {}
    for name in names:
        cards[name] = score_model(name, data, args.pendigits, args.usps)
        save_scorecard(name, cards[name])
        for kind in ("pen_digits", "usps"):
            if "missing" in cards[name][kind]:
                print(f"warning: {name}: {kind.replace('_', ' ')} not scored: {cards[name][kind]['missing']}",
                      file=sys.stderr)
    print(json.dumps(cards, indent=2))
    return EXIT_OK


def cmd_export(args, argv) -> int:
    from mnist_core.models import store
    from mnist_core.models.importing import adapter_note, export_model

    written = export_model(args.name, args.path)
    print("wrote " + " and ".join(str(path) for path in written))
    note = adapter_note(store.get_model_info(args.name).metadata)
    if note:
        print(note)
    return EXIT_OK


def cmd_models(args, argv) -> int:
    from mnist_core.models import store

    if args.set_default:
        store.set_default_model(args.set_default)
        print(f"default model: {args.set_default}")
        return EXIT_OK
    if args.rename:
        old, new = args.rename
        from mnist_core.jobs import running_job_saving_as

        running = running_job_saving_as(new)
        if running:
            raise CliError(f"the running job {running} will save its model as {new!r}; choose another name")
        store.rename_model(old, new)
        print(f"renamed model {old} to {new}")
        return EXIT_OK
    if args.delete:
        default = store.delete_model(args.delete)
        print(f"deleted model {args.delete}; default model: {default or 'none (no usable model left)'}")
        return EXIT_OK
    infos, problems = store.list_models()
    default = store.default_model_name()
    if not infos:
        print("no saved models yet; train one with: python -m mnist_core train --arch NAME")
    else:
        rows = [("", "name", "architecture", "test accuracy", "state", "trained")]
        for info in infos:
            accuracy = f"{info.test_accuracy:.2%}" if info.test_accuracy is not None else "-"
            rows.append(("*" if info.name == default else "", info.name, info.arch, accuracy,
                         info.state_label,
                         str(info.metadata.get("created", "-"))))
        _print_table(rows)
    for info in infos:
        if info.state != store.OK:
            print(f"warning: {info.name} is {info.state_label}: {info.reason}", file=sys.stderr)
    for problem in problems:
        print(f"warning: {problem}", file=sys.stderr)
    return EXIT_OK


def cmd_runs(args, argv) -> int:
    from mnist_core import jobs

    if args.delete:
        jobs.delete_job(args.delete)
        print(f"deleted run {args.delete}")
        return EXIT_OK
    listed = jobs.list_jobs()
    if not listed:
        print("no runs yet")
        return EXIT_OK
    rows = [("run", "kind", "state", "architecture", "result")]
    for job in listed:
        status = job.status
        arch = job.config.get("arch") or ",".join(job.config.get("archs", []))
        if status.get("test_accuracy") is not None:
            result = f"test {status['test_accuracy']:.2%}" + (f" -> {status['model']}" if status.get("model") else "")
        else:
            result = status.get("error", "")
        rows.append((job.run_id, job.kind, job.state, arch or "-", result))
    _print_table(rows)
    return EXIT_OK


def cmd_stop(args, argv) -> int:
    from mnist_core import jobs

    run_id = args.run_id or jobs.active_run_id()
    if run_id is None:
        raise CliError("no job is running")
    jobs.stop_job(run_id)
    print(f"asked run {run_id} to stop after its current batch")
    return EXIT_OK
