"""Looking inside a model, checked for being right on real trained models: the shipped
CNN and an MLP trained here for a moment, on real MNIST test digits."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from mnist_core.explain import activations, attack, embedding, saliency
from mnist_core.models import store
from mnist_core.models.architectures import REGISTRY, get_architecture
from mnist_core.reading.inference import UNSURE_BELOW, predict_probabilities
from tests.conftest import SHIPPED_ARTIFACTS, run_cli

IMAGES = 200


@pytest.fixture(scope="module")
def cnn():
    models = SHIPPED_ARTIFACTS / "models"
    return store.load_model(store.default_model_name(models), models)


@pytest.fixture(scope="module")
def mlp(mnist):
    from mnist_core.training.config import TrainConfig
    from mnist_core.training.fit import train

    result = train(TrainConfig(arch="mlp", subset=10000, epochs=3, seed=3), mnist)
    assert result.test_accuracy > 0.9
    return result.model


def correctly_read(model, mnist, count: int = IMAGES) -> tuple[np.ndarray, np.ndarray]:
    """The first ``count`` test images (of a seeded sample) that ``model`` reads right, and their labels."""
    order = np.random.default_rng(0).permutation(len(mnist.x_test))[:3 * count]
    read = predict_probabilities(model, mnist.x_test[order]).argmax(axis=1)
    right = order[read == mnist.y_test[order]][:count]
    return mnist.x_test[right], mnist.y_test[right]


@pytest.fixture(params=["cnn", "mlp"])
def model(request):
    return request.getfixturevalue(request.param)


# --- Activations -------------------------------------------------------------------


def test_activations_have_the_layers_shapes_and_end_in_the_models_reading(model, mnist):
    image = mnist.x_test[0]
    layers = activations.layer_activations(model, image)
    chain = [layer for layer in model.layers if type(layer).__name__ != "InputLayer"]
    assert [a.name for a in layers] == [layer.name for layer in chain]
    for activation, layer in zip(layers, chain, strict=True):
        assert activation.shape == tuple(layer.output.shape[1:])
    np.testing.assert_allclose(layers[-1].values, predict_probabilities(model, image)[0], atol=1e-5)
    assert layers[-1].values.argmax() == mnist.y_test[0]


def test_the_first_filters_are_the_kernels_of_the_first_convolution(cnn, mlp):
    name, filters = activations.first_layer_filters(cnn)
    layer = cnn.get_layer(name)
    kernel = np.asarray(layer.kernel)
    assert filters.shape == (kernel.shape[3], kernel.shape[0], kernel.shape[1])
    np.testing.assert_allclose(filters[5], kernel[:, :, 0, 5])
    np.testing.assert_allclose(activations.filter_for_map(cnn, name, 5), kernel[:, :, 0, 5])
    assert activations.first_layer_filters(mlp) is None
    strengths = dict(activations.filter_strengths(cnn))
    assert strengths[name].shape == (kernel.shape[3],)
    for layer_name, counts, edges in activations.weight_histograms(mlp):
        assert counts.sum() == np.asarray(mlp.get_layer(layer_name).kernel).size and len(edges) == len(counts) + 1


# --- Saliency ------------------------------------------------------------------------


def test_integrated_gradients_add_up_to_the_change_in_probability(model, mnist):
    images, labels = correctly_read(model, mnist, 40)
    gaps = [saliency.integrated_gradients(model, image, label).gap for image, label in zip(images, labels, strict=True)]
    assert max(gaps) <= 0.05, f"completeness gaps up to {max(gaps):.3f}"


def test_integrated_gradients_change_is_the_models_own(cnn, mnist):
    image, label = mnist.x_test[1], int(mnist.y_test[1])
    result = saliency.integrated_gradients(cnn, image, label)
    blank = predict_probabilities(cnn, np.zeros((28, 28), np.uint8))[0, label]
    assert result.change == pytest.approx(predict_probabilities(cnn, image)[0, label] - blank, abs=1e-5)
    assert np.all(result.values[image == 0] == 0)  # a blank pixel did not move from the blank baseline


def test_most_of_grad_cam_falls_on_the_digit(cnn, mnist):
    # Not integrated gradients: from a blank image it credits only inked pixels, so all
    # of it is on the digit by construction (that is what share_for is for).
    images, labels = correctly_read(cnn, mnist)
    shares = [saliency.inside_box_share(saliency.grad_cam(cnn, image, label), image)
              for image, label in zip(images, labels, strict=True)]
    mostly_inside = np.mean(np.asarray(shares) > 0.5)
    assert mostly_inside >= 0.9, f"Grad-CAM: {mostly_inside:.0%} of images have most mass on the digit"


def test_integrated_gradients_argue_for_the_digit_read_and_against_one_ruled_out(model, mnist):
    """Completeness makes positive minus negative mass the change from a blank image: for
    the digit read (probability far above the blank image's) most of it is for; for a
    digit the model rules out (probability below the blank image's) most is against."""
    blank = predict_probabilities(model, np.zeros((28, 28), np.uint8))[0]
    images, labels = correctly_read(model, mnist, 20)
    probabilities = predict_probabilities(model, images)
    ruled_out_checked = 0
    for image, label, p in zip(images, labels, probabilities, strict=True):
        assert p[label] > blank[label] + 0.1
        assert saliency.share_for(saliency.integrated_gradients(model, image, label).values) > 0.5
        ruled_out = int(np.argmax(blank - p))  # the digit whose probability fell most from the blank image's
        if blank[ruled_out] - p[ruled_out] > 0.1:
            assert saliency.share_for(saliency.integrated_gradients(model, image, ruled_out).values) < 0.5
            ruled_out_checked += 1
    assert ruled_out_checked >= len(images) // 2  # the blank image reads as something, which most images rule out
    assert saliency.share_for(np.zeros((28, 28))) == 0.5


def _delete(image: np.ndarray, flat_indices: np.ndarray) -> np.ndarray:
    copy = image.copy().reshape(-1)
    copy[flat_indices] = 0
    return copy.reshape(28, 28)


def test_deleting_the_most_salient_pixels_hurts_more_than_deleting_random_ink(model, mnist):
    images, labels = correctly_read(model, mnist)
    rng = np.random.default_rng(1)
    methods = {"integrated gradients": lambda image, label: saliency.integrated_gradients(model, image, label).values}
    if saliency.conv_layers(model):
        methods["Grad-CAM"] = lambda image, label: saliency.grad_cam(model, image, label)
    for method, explain in methods.items():
        salient, random = [], []
        for image, label in zip(images, labels, strict=True):
            ink = np.flatnonzero(image.reshape(-1) > 25)
            count = max(1, len(ink) // 10)
            top = np.argsort(explain(image, label).reshape(-1))[::-1][:count]
            salient.append(_delete(image, top))
            random.append(_delete(image, rng.choice(ink, size=count, replace=False)))
        rows = np.arange(len(labels))
        salient_p = predict_probabilities(model, np.stack(salient))[rows, labels]
        random_p = predict_probabilities(model, np.stack(random))[rows, labels]
        assert salient_p.mean() < random_p.mean(), f"{method}: {salient_p.mean():.3f} vs {random_p.mean():.3f}"


def test_grad_cam_cells_are_placed_where_their_receptive_fields_are(cnn):
    # studio_cnn: two valid 3x3 convolutions, a 2x2 pool, then two more: the last
    # maps' cells are centred on input pixels 6.5, 8.5, ..., 20.5.
    last = saliency.conv_layers(cnn)[-1]
    assert saliency.map_positions(cnn, last) == (6.5, 2.0)
    assert saliency.map_positions(cnn, saliency.conv_layers(cnn)[0]) == (1.0, 1.0)


def test_grad_cam_says_it_needs_convolutions(mlp, mnist):
    with pytest.raises(saliency.NeedsConvolutions, match="needs a convolution layer"):
        saliency.grad_cam(mlp, mnist.x_test[0], 7)


def test_occlusion_is_zero_where_no_patch_touches_ink(cnn, mnist):
    image = np.zeros((28, 28), np.uint8)
    image[10:18, 12:16] = 255  # a bar in the middle
    heat = saliency.occlusion(cnn, image, 1, patch=6, stride=2)
    assert np.all(heat[:4, :] == 0) and np.all(heat[:, :4] == 0)  # patches there cover background only
    assert np.abs(heat[10:18, 12:16]).max() > 0


# --- Changing its mind ---------------------------------------------------------------


@pytest.mark.parametrize("norm", ["linf", "l2"])
def test_a_reported_change_of_mind_is_real_and_within_budget(cnn, mnist, norm):
    images, labels = correctly_read(cnn, mnist, 8)
    successes = 0
    for image, label in zip(images, labels, strict=True):
        target = (int(label) + 3) % 10
        result = attack.smallest_change(cnn, image, target, norm=norm)
        if not result.succeeded:
            continue
        successes += 1
        assert 0.0 <= result.image.min() and result.image.max() <= 1.0
        assert result.size <= result.budget + 1e-5
        read = np.asarray(cnn(result.image.reshape(1, 28, 28, 1), training=False))[0]
        assert read.argmax() == target == result.reading
        assert read[target] >= UNSURE_BELOW  # sure of it, as the Draw page needs to say it reads the target
    assert successes >= 6  # a CNN without adversarial training gives in within these budgets


# --- The feature map -------------------------------------------------------------------


def test_the_feature_map_groups_digits_and_finds_neighbours_of_the_same_digit(cnn, mnist):
    feature_map = embedding.build_map(cnn, mnist, map_images=1000, neighbour_images=2000)
    assert feature_map.coordinates.shape == (1000, 2)
    read = predict_probabilities(cnn, mnist.x_test[feature_map.test_indices]).argmax(axis=1)
    np.testing.assert_array_equal(feature_map.test_readings, read)  # what the map's hover says it reads
    features = embedding.penultimate_features(cnn, mnist.x_test[feature_map.test_indices[:50]])
    np.testing.assert_allclose(feature_map.project(features), feature_map.coordinates[:50], atol=1e-3)
    same = []
    for index in range(100):
        where, neighbours, distances = embedding.place(feature_map, cnn, mnist.x_test[index], neighbours=5)
        assert np.all(np.diff(distances) >= 0)
        same.append(np.mean(mnist.y_train[neighbours] == mnist.y_test[index]))
    assert np.mean(same) >= 0.95


def test_the_feature_map_is_kept_beside_the_model_until_the_model_changes(mlp, mnist, isolated_artifacts):
    store.save_model(mlp, "seen", {"arch": "mlp", "test_accuracy": 0.95})
    first = embedding.saved_map("seen", mlp, mnist)
    assert not first.from_disk and embedding.cache_path("seen").exists()
    assert embedding.saved_map("seen", mlp, mnist) is first  # kept in memory
    embedding._MEMORY.clear()  # as in a new process
    again = embedding.saved_map("seen", mlp, mnist)
    assert again.from_disk
    np.testing.assert_array_equal(again.coordinates, first.coordinates)
    other = get_architecture("mlp").build()
    store.save_model(other, "seen", {"arch": "mlp", "test_accuracy": 0.95}, overwrite=True)
    assert not embedding.saved_map("seen", other, mnist).from_disk  # a new model file: a new map
    store.rename_model("seen", "renamed")
    assert embedding.cache_path("renamed").exists() and not embedding.cache_path("seen").exists()
    store.delete_model("renamed")
    assert not embedding.cache_path("renamed").exists()


@pytest.fixture(scope="module")
def shipped_copy(tmp_path_factory):
    """A scratch models folder holding a copy of the shipped default model: (folder, name)."""
    models = SHIPPED_ARTIFACTS / "models"
    name = store.default_model_name(models)
    folder = tmp_path_factory.mktemp("models")
    shutil.copy(models / f"{name}.keras", folder / f"{name}.keras")
    return folder, name


@pytest.fixture(scope="module")
def tsne_map(cnn, mnist, shipped_copy):
    """The shipped model's map of 5,000 test digits, with its t-SNE layout, saved beside the copy."""
    folder, name = shipped_copy
    feature_map = embedding.saved_map(name, cnn, mnist, models_root=folder)
    assert feature_map.tsne is None  # computed only when asked for
    return embedding.saved_map(name, cnn, mnist, models_root=folder, tsne=True)


def test_the_tsne_layout_is_kept_beside_the_model_and_reloaded_equal(tsne_map, cnn, mnist, shipped_copy):
    folder, name = shipped_copy
    assert tsne_map.tsne.shape == (embedding.MAP_IMAGES, 2)
    with np.load(embedding.cache_path(name, folder)) as stored:
        assert "tsne" in stored.files
    embedding._MEMORY.clear()  # as in a new process
    again = embedding.saved_map(name, cnn, mnist, models_root=folder, tsne=True)
    assert again.from_disk
    np.testing.assert_array_equal(again.tsne, tsne_map.tsne)
    np.testing.assert_array_equal(again.coordinates, tsne_map.coordinates)


def test_a_saved_map_without_the_tsne_layout_still_loads(tsne_map, cnn, mnist, shipped_copy, tmp_path):
    folder, name = shipped_copy
    older = tmp_path / "models"
    older.mkdir()
    shutil.copy(folder / f"{name}.keras", older / f"{name}.keras")
    with np.load(embedding.cache_path(name, folder)) as stored:  # the file as saved before t-SNE was asked for
        np.savez(embedding.cache_path(name, older), **{key: stored[key] for key in stored.files if key != "tsne"})
    loaded = embedding.saved_map(name, cnn, mnist, models_root=older)
    assert loaded.from_disk
    assert loaded.tsne is None
    np.testing.assert_array_equal(loaded.coordinates, tsne_map.coordinates)


def test_a_digit_placed_on_the_tsne_map_lands_among_dots_of_its_own_digit(tsne_map, cnn, mnist):
    order = np.random.default_rng(0).permutation(len(mnist.x_test))
    order = order[~np.isin(order, tsne_map.test_indices)][:200]  # digits that are not dots of the map themselves
    read = predict_probabilities(cnn, mnist.x_test[order]).argmax(axis=1)
    right = order[read == mnist.y_test[order]][:100]
    images, labels = mnist.x_test[right], mnist.y_test[right]
    shares = []
    for image, label in zip(images, labels, strict=True):
        where, _, _ = embedding.place(tsne_map, cnn, image, projection=embedding.BY_TSNE)
        nearest_dots = np.argsort(np.linalg.norm(tsne_map.tsne - where, axis=1))[:10]
        shares.append(np.mean(tsne_map.test_labels[nearest_dots] == label))
    assert np.mean(np.asarray(shares) > 0.5) >= 0.95, f"shares of same-digit dots: {sorted(shares)[:10]}"


# --- Every architecture, and the CLI -------------------------------------------------


@pytest.mark.parametrize("arch", list(REGISTRY))
def test_every_architecture_can_be_looked_inside(arch, mnist):
    model = get_architecture(arch).build()
    image = mnist.x_test[0]
    layers = activations.layer_activations(model, image)
    np.testing.assert_allclose(layers[-1].values, predict_probabilities(model, image)[0], atol=1e-5)
    assert saliency.integrated_gradients(model, image, 7).values.shape == (28, 28)
    assert saliency.occlusion(model, image, 7).shape == (28, 28)
    if saliency.conv_layers(model):
        assert saliency.grad_cam(model, image, 7).shape == (28, 28)
    else:
        with pytest.raises(saliency.NeedsConvolutions):
            saliency.grad_cam(model, image, 7)
    assert embedding.penultimate_features(model, image).shape[0] == 1


def test_cli_explain_prints_the_reading_and_where_it_looked(cnn, mnist, tmp_path):
    from PIL import Image

    picture = tmp_path / "seven.png"
    Image.fromarray(255 - mnist.x_test[0]).resize((200, 200)).save(picture)  # dark ink on white, bigger
    out = tmp_path / "explained"
    result = run_cli("explain", str(picture), "--out", str(out), env={"MNIST_STUDIO_ARTIFACTS": str(SHIPPED_ARTIFACTS)})
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["label"] == 7 and report["top3"][0] == {"digit": 7, "probability": report["top3"][0]["probability"]}
    assert [entry["digit"] for entry in report["top3"]][0] == 7 and len(report["top3"]) == 3
    for method in ("grad_cam", "integrated_gradients", "occlusion"):
        assert (out / f"saliency-{method}.png").is_file()
    for method in ("grad_cam", "occlusion"):
        assert 0.5 < report["saliency"][method]["inside_bbox"] <= 1.0
    assert 0.5 < report["saliency"]["integrated_gradients"]["share_for"] <= 1.0  # a clear 7, read as 7
    assert report["saliency"]["integrated_gradients"]["completeness_gap"] <= 0.05
    assert any(entry.get("png") for entry in report["activations"])
    refused = run_cli("explain", str(tmp_path / "missing.png"), env={"MNIST_STUDIO_ARTIFACTS": str(SHIPPED_ARTIFACTS)})
    assert refused.returncode == 2 and "cannot read" in refused.stderr and "Traceback" not in refused.stderr
