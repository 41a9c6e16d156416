"""Importing models trained elsewhere: the four ways the classic Keras MNIST tutorials
save them, written with the tutorials' own calls and layers, trained for a moment;
and every refusal, which leaves the store as it was.

The imports run through the CLI (a subprocess, as a user runs it) and through
``import_model`` (what the app calls)."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from mnist_core.models import store
from mnist_core.models.importing import ImportRefused, adapter_note, export_model, import_model, legacy_h5_bytes
from tests.conftest import run_cli

IMAGES = 2000  # trained on this many for one epoch: enough to be far above chance


def _train(model, x, y, **fit):
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    model.fit(x, y, epochs=1, batch_size=64, verbose=0, **fit)
    return model


@pytest.fixture(scope="module")
def tutorial_files(tmp_path_factory, mnist):
    """{format: (paths, the original model, the inputs it takes)} for the four formats."""
    import keras
    from keras.src.legacy.saving import legacy_h5_format

    keras.utils.set_random_seed(0)  # the same models every run: what the tests read of them does not vary
    folder = tmp_path_factory.mktemp("tutorials")
    x = mnist.x_train[:IMAGES].astype("float32") / 255.0
    y = keras.utils.to_categorical(mnist.y_train[:IMAGES], 10)
    layers = keras.layers

    # "How to develop a CNN for MNIST": model.save("final_model.h5").
    cnn = _train(keras.Sequential([
        keras.Input((28, 28, 1)),
        layers.Conv2D(32, (3, 3), activation="relu", kernel_initializer="he_uniform"),
        layers.MaxPooling2D((2, 2)), layers.Flatten(),
        layers.Dense(100, activation="relu", kernel_initializer="he_uniform"), layers.Dense(10, activation="softmax"),
    ]), x[..., None], y)
    cnn.save(folder / "final_model.h5")

    # A ModelCheckpoint writing the best model to an .h5 during training.
    checkpointed = keras.Sequential([
        keras.Input((28, 28, 1)), layers.Conv2D(16, kernel_size=(3, 3), activation="relu"),
        layers.MaxPooling2D(pool_size=(2, 2)), layers.Dropout(0.25), layers.Flatten(),
        layers.Dense(10, activation="softmax"),
    ])
    _train(checkpointed, x[..., None], y, validation_split=0.1, callbacks=[keras.callbacks.ModelCheckpoint(
        filepath=str(folder / "my_model_conv2d.h5"), save_best_only=True, monitor="val_loss")])
    checkpointed = keras.saving.load_model(folder / "my_model_conv2d.h5")  # the best, as written

    # The MLP tutorials: flattened 784 inputs; model.to_json() and model.save_weights("model.h5"), which
    # Keras 3 no longer writes under that name: Keras 2's layout, written by its own legacy writer.
    mlp = _train(keras.Sequential([
        keras.Input((784,)), layers.Dense(512, activation="relu"), layers.Dropout(0.2),
        layers.Dense(10, activation="softmax"),
    ]), x.reshape(-1, 784), y)
    (folder / "model.json").write_text(mlp.to_json())
    import h5py

    with h5py.File(folder / "model.h5", "w") as handle:
        legacy_h5_format.save_weights_to_hdf5_group(handle, mlp)

    # Keras 3: model.save("model.keras"); (28, 28) inputs, ending in logits.
    logits = keras.Sequential([keras.Input((28, 28)), layers.Flatten(), layers.Dense(64, activation="relu"),
                               layers.Dense(10)])
    logits.compile(optimizer="adam", loss=keras.losses.CategoricalCrossentropy(from_logits=True))
    logits.fit(x, y, epochs=1, batch_size=64, verbose=0)
    logits.save(folder / "model.keras")

    return {
        "h5": ([folder / "final_model.h5"], cnn, lambda images: images[..., None]),
        "checkpoint": ([folder / "my_model_conv2d.h5"], checkpointed, lambda images: images[..., None]),
        "json+h5": ([folder / "model.json", folder / "model.h5"], mlp, lambda images: images.reshape(-1, 784)),
        "keras": ([folder / "model.keras"], logits, lambda images: images),
    }


def _original_probabilities(model, shape, images, logits: bool) -> np.ndarray:
    outputs = np.asarray(model(shape(images.astype("float32") / 255.0), training=False), dtype=np.float64)
    if logits:
        outputs = np.exp(outputs - outputs.max(axis=1, keepdims=True))
        outputs /= outputs.sum(axis=1, keepdims=True)
    return outputs


@pytest.mark.parametrize("kind", ["h5", "checkpoint", "json+h5", "keras"])
def test_each_tutorial_format_imports_and_reads_as_the_original(kind, tutorial_files, mnist, isolated_artifacts):
    from mnist_core.reading.inference import predict_probabilities

    paths, original, shape = tutorial_files[kind]
    result = run_cli("import", *map(str, paths), "--name", f"mine-{kind.replace('+', '-')}",
                     env={"MNIST_NPZ": os.environ.get("MNIST_NPZ", str(mnist.source))})
    assert result.returncode == 0, result.stderr
    name = f"mine-{kind.replace('+', '-')}"
    info = store.get_model_info(name)
    assert info.state == store.OK and info.arch == "imported"
    imported = info.metadata["imported"]
    assert imported["from"] == [p.name for p in paths] and imported["logits"] == (kind == "keras")
    assert f"as {name}" in result.stdout and "test accuracy" in result.stdout

    # The same readings as the original, through the studio's own prediction path.
    model = store.load_model(name)
    expected = _original_probabilities(original, shape, mnist.x_test[:100], logits=kind == "keras")
    np.testing.assert_allclose(predict_probabilities(model, mnist.x_test[:100]), expected, atol=1e-5)
    # The recorded accuracy is the original's on the 10,000 test images.
    everything = _original_probabilities(original, shape, mnist.x_test, logits=kind == "keras")
    accuracy = float(np.mean(everything.argmax(axis=1) == mnist.y_test))
    assert info.test_accuracy == pytest.approx(accuracy, abs=1e-4) and accuracy > 0.6  # far above chance


def test_the_apps_path_imports_into_the_store_with_its_origin(tutorial_files, mnist):
    paths, _, _ = tutorial_files["h5"]
    reports = []
    info = import_model(paths, "from-the-app", data=mnist, set_default=True,
                        on_progress=lambda fraction, what: reports.append((fraction, what)))
    assert store.default_model_name() == "from-the-app"
    fractions = [fraction for fraction, _ in reports]
    assert fractions[0] == 0 and fractions[-1] == 1 and fractions == sorted(fractions)
    assert sum("Reading the MNIST test images" in what for _, what in reports) == len(mnist.x_test) // 500
    assert info.metadata["params"] == 542230 and "final_model.h5" in info.metadata["command"]
    assert info.metadata["imported"]["at"] and info.metadata["imported"]["format"] == "h5"


@pytest.mark.parametrize("kind", ["h5", "keras"])
def test_an_imported_model_is_evaluated_and_looked_inside_like_a_trained_one(kind, tutorial_files, mnist,
                                                                           isolated_artifacts):
    """The CNN tutorial's model, and the (28, 28)-input one ending in logits: the Mistakes
    page's evaluation, every layer's activations and integrated gradients work on them,
    and are right (known properties), as for a model trained here."""
    from mnist_core.explain import activations, saliency
    from mnist_core.models.evaluation import evaluate_saved_model
    from mnist_core.reading.inference import predict_probabilities

    info = import_model(tutorial_files[kind][0], f"inside-{kind}", data=mnist)
    evaluation = evaluate_saved_model(info.name, mnist)
    assert evaluation.accuracy == pytest.approx(info.test_accuracy, abs=1e-6)
    model = store.load_model(info.name)
    image = mnist.x_test[0]
    layers = activations.layer_activations(model, image)
    expected = predict_probabilities(model, image[None])[0]
    np.testing.assert_allclose(layers[-1].values, expected, atol=1e-5)  # the last layer is the answer
    assert layers[-1].layer_type == "Softmax" if kind == "keras" else layers[-1].layer_type == "Dense"
    assert any(layer.kind == activations.MAPS for layer in layers) == (kind == "h5")
    target = int(expected.argmax())
    attributions = saliency.integrated_gradients(model, image, target)
    assert attributions.gap <= 0.05  # they add up to the change in probability they explain
    if kind == "h5":
        heat = saliency.grad_cam(model, image, target)
        assert heat.shape == (28, 28) and heat.max() > 0
    else:
        with pytest.raises(saliency.NeedsConvolutions):
            saliency.grad_cam(model, image, target)


def _store_files(root) -> list[str]:
    folder = root / "models"
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


@pytest.fixture(scope="module")
def bad_files(tmp_path_factory, tutorial_files):
    """Files each import must refuse, with a word its message must contain."""
    import keras

    folder = tmp_path_factory.mktemp("bad")
    layers = keras.layers
    lam = keras.Sequential([keras.Input((28, 28, 1)), layers.Flatten(), layers.Lambda(lambda t: t * 2),
                            layers.Dense(10, activation="softmax")])
    lam.save(folder / "lambda.h5")
    five = keras.Sequential([keras.Input((28, 28, 1)), layers.Flatten(), layers.Dense(5, activation="softmax")])
    five.save(folder / "five.keras")
    colour = keras.Sequential([keras.Input((32, 32, 3)), layers.Flatten(), layers.Dense(10, activation="softmax")])
    colour.save(folder / "cifar.h5")
    noise = np.random.default_rng(0).bytes(50_000)
    (folder / "random.h5").write_bytes(noise)
    (folder / "random.keras").write_bytes(noise)
    other = keras.Sequential([keras.Input((784,)), layers.Dense(32), layers.Dense(10, activation="softmax")])
    other.save_weights(folder / "other.weights.h5")
    truncated = folder / "truncated.keras"
    truncated.write_bytes(tutorial_files["keras"][0][0].read_bytes()[:3000])
    json_path = tutorial_files["json+h5"][0][0]
    return {
        "lambda": ([folder / "lambda.h5"], "Lambda layer"),
        "five classes": ([folder / "five.keras"], "10 outputs"),
        "32x32x3 input": ([folder / "cifar.h5"], "(32, 32, 3)"),
        "random .h5": ([folder / "random.h5"], "not an HDF5 file"),
        "random .keras": ([folder / "random.keras"], "not a Keras model archive"),
        "truncated .keras": ([truncated], "not a Keras model archive"),
        "json without weights": ([json_path], "give its weights"),
        "weights that do not fit": ([json_path, folder / "other.weights.h5"], "do not fit"),
    }


CASES = ["lambda", "five classes", "32x32x3 input", "random .h5", "random .keras", "truncated .keras",
         "json without weights", "weights that do not fit"]


@pytest.mark.parametrize("case", CASES)
def test_refusals_say_why_and_leave_the_store_unchanged(case, bad_files, mnist, isolated_artifacts):
    paths, words = bad_files[case]
    before = _store_files(isolated_artifacts)
    with pytest.raises(ImportRefused, match=None) as refused:
        import_model(paths, "refused", data=mnist)
    assert words in str(refused.value)
    assert _store_files(isolated_artifacts) == before

    result = run_cli("import", *map(str, paths), "--name", "refused", env={"MNIST_NPZ": str(mnist.source)})
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.startswith("error: ") and words in result.stderr
    assert _store_files(isolated_artifacts) == before


def test_a_name_already_taken_is_refused_before_anything_is_read(tutorial_files, mnist, isolated_artifacts):
    paths, _, _ = tutorial_files["keras"]
    import_model(paths, "taken", data=mnist)
    saved = (isolated_artifacts / "models" / "taken.keras").read_bytes()
    with pytest.raises(store.ModelExists, match="already exists"):
        import_model(tutorial_files["h5"][0], "taken", data=mnist)
    result = run_cli("import", *map(str, tutorial_files["h5"][0]), "--name", "taken",
                     env={"MNIST_NPZ": str(mnist.source)})
    assert result.returncode == 2 and "already exists" in result.stderr
    assert (isolated_artifacts / "models" / "taken.keras").read_bytes() == saved


def test_a_model_near_chance_is_imported_marked_failed(mnist, tmp_path, isolated_artifacts):
    import keras

    untrained = keras.Sequential([keras.Input((784,)), keras.layers.Dense(10, activation="softmax",
                                                                        kernel_initializer="zeros")])
    untrained.save(tmp_path / "untrained.h5")
    result = run_cli("import", str(tmp_path / "untrained.h5"), "--name", "guess", "--set-default",
                     env={"MNIST_NPZ": str(mnist.source)})
    assert result.returncode == 1 and "FAILED" in result.stderr
    assert store.get_model_info("guess").state == store.FAILED
    assert store.default_model_name() != "guess"


def test_export_writes_keras_and_legacy_h5_that_read_the_same(tutorial_files, mnist, tmp_path):
    import keras

    import_model(tutorial_files["keras"][0], "to-export", data=mnist)
    result = run_cli("export", "to-export", str(tmp_path / "out.keras"))
    assert result.returncode == 0, result.stderr
    written = export_model("to-export", tmp_path / "out.h5")
    assert [p.name for p in written] == ["out.h5", "out.h5.json"]
    expected = np.asarray(store.load_model("to-export")(mnist.x_test[:50, :, :, None] / 255.0))
    for path in (tmp_path / "out.keras", tmp_path / "out.h5"):
        again = keras.saving.load_model(path, compile=False)
        np.testing.assert_allclose(np.asarray(again(mnist.x_test[:50, :, :, None] / 255.0)), expected, atol=1e-6)
    # The app's download of the legacy .h5: the bytes of a file Keras reads back the same.
    (tmp_path / "downloaded.h5").write_bytes(legacy_h5_bytes("to-export"))
    again = keras.saving.load_model(tmp_path / "downloaded.h5", compile=False)
    np.testing.assert_allclose(np.asarray(again(mnist.x_test[:50, :, :, None] / 255.0)), expected, atol=1e-6)
    metadata = json.loads((tmp_path / "out.keras.json").read_text())
    assert metadata["name"] == "to-export" and metadata["imported"]["from"] == ["model.keras"]
    # The file imported took (28, 28) and ended in logits: the export says it takes (28, 28, 1) and ends in
    # probabilities, and it does, giving the softmax of what the original gave.
    assert "takes images of shape (28, 28, 1), where the file imported took (28, 28)" in result.stdout
    assert "ends in probabilities, where the file imported ended in logits" in result.stdout
    _, original, _ = tutorial_files["keras"]
    softmax = np.asarray(keras.ops.softmax(original(mnist.x_test[:50] / 255.0)))
    np.testing.assert_allclose(expected, softmax, atol=1e-5)
    import_model(tutorial_files["h5"][0], "as-it-was", data=mnist)  # (28, 28, 1) in, probabilities out
    assert adapter_note(store.get_model_info("as-it-was").metadata) is None
    assert "exported as MNIST Studio reads" not in run_cli("export", "as-it-was", str(tmp_path / "b.keras")).stdout
    bad = run_cli("export", "to-export", str(tmp_path / "out.onnx"))
    assert bad.returncode == 2 and "error: export to a .keras or .h5 file" in bad.stderr


def _models_page(monkeypatch, mnist_path):
    from streamlit.testing.v1 import AppTest

    from tests.conftest import REPO_ROOT

    monkeypatch.setenv("MNIST_NPZ", str(mnist_path))
    app = AppTest.from_file(str(REPO_ROOT / "app.py"), default_timeout=180).run()
    app.switch_page("pages/models.py").run()
    assert not app.exception
    return app


def _upload(app, files, name: str, round_number: int):
    app.get("file_uploader")[0].set_value([(path.name, path.read_bytes(), "application/octet-stream")
                                           for path in files])
    app.text_input(key=f"models_import_name-{round_number}").set_value(name)
    app.button(key="models_import").click().run()
    assert not app.exception, app.exception
    return app


def test_the_models_page_imports_an_upload_and_refuses_a_bad_one(tutorial_files, bad_files, mnist_path,
                                                                  monkeypatch, isolated_artifacts):
    from ui.models import NEXT_MODEL_KEY

    app = _models_page(monkeypatch, mnist_path)
    assert any("No saved models yet" in info.value for info in app.info)

    app = _upload(app, bad_files["random .h5"][0], "nope", 0)
    assert any("Not imported" in error.value and "not an HDF5 file" in error.value for error in app.error)
    assert _store_files(isolated_artifacts) == []

    app = _upload(app, tutorial_files["json+h5"][0], "uploaded", 0)
    assert any("Imported model.json, model.h5 as uploaded" in s.value for s in app.success)
    info = store.get_model_info("uploaded")
    assert info.state == store.OK and info.metadata["imported"]["format"] == "json+h5"
    assert app.selectbox(key="models_chosen").value == "uploaded"
    # The sidebar's picker chooses it on its next run (AppTest runs no sidebar after switch_page).
    assert app.session_state[NEXT_MODEL_KEY] == "uploaded"
    assert any("Imported from model.json, model.h5" in caption.value for caption in app.caption)
    (row,) = app.dataframe[0].value.to_dict("records")
    assert row["run"] == "(imported)" and row["added"].startswith(info.metadata["created"][:10])
    note = adapter_note(info.metadata)  # this tutorial's MLP takes 784 values: the download says it takes images
    assert note and "where the file imported took (784,)" in note
    assert note in [caption.value for caption in app.caption]
    downloads = {button.proto.label for button in app.get("download_button")}
    assert downloads == {"Download the model (.keras)", "Download as legacy .h5", "Download its metadata (.json)"}


def test_an_upload_near_chance_is_imported_with_a_warning_not_a_success(mnist_path, monkeypatch, tmp_path,
                                                                         isolated_artifacts):
    import keras

    untrained = keras.Sequential([keras.Input((784,)), keras.layers.Dense(10, activation="softmax",
                                                                        kernel_initializer="zeros")])
    untrained.save(tmp_path / "untrained.h5")
    app = _upload(_models_page(monkeypatch, mnist_path), [tmp_path / "untrained.h5"], "guess", 0)
    assert not app.success
    (warning,) = [w.value for w in app.warning if w.value.startswith("Imported")]
    assert warning.startswith("Imported untrained.h5 as guess, but it is FAILED: it reads")
    assert "test accuracy" not in warning  # its accuracy is said once, in the reason, not twice in two ways
    assert store.get_model_info("guess").state == store.FAILED and store.default_model_name() != "guess"
