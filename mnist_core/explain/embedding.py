"""The image among the digits the model knows: a 2-D map of the model's penultimate
features (what its last layer sees) and the training digits nearest to the image.

``build_map`` passes a seeded sample of test images (the map) and of training images
(the neighbours) through the model up to its last Dense layer, fits scikit-learn's
PCA on the test features, and keeps the training features for scikit-learn's
NearestNeighbors. ``saved_map`` computes that once per model and keeps it on disk
beside the model (``NAME.embedding.npz``), keyed by the model file's and the data's
checksums, and in memory: a retrained or replaced model gets a new map, an
unchanged one is loaded in well under a second. ``place`` puts one image on the map.

The map can also be laid out by scikit-learn's t-SNE, which keeps neighbours
together better than PCA but takes seconds for 5,000 digits: it is computed
only when asked for (``saved_map(..., tsne=True)``) and then kept in the same file.
t-SNE has no formula for a new point, so an image is placed at the mean position
of the map digits nearest to it in feature space.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path

import numpy as np

from mnist_core import paths
from mnist_core.data import Mnist, file_sha256, sample_indices
from mnist_core.explain.probes import as_input, cached, classifier_layer
from mnist_core.fileio import atomic_path

SUFFIX = ".embedding.npz"
MAP_IMAGES = 5000
NEIGHBOUR_IMAGES = 5000
BATCH = 500
BY_PCA, BY_TSNE = "pca", "tsne"  # the two ways to lay out the map
TSNE_INPUT_DIMS = 50  # PCA to 50 dimensions first, as t-SNE's authors advise: faster, and less noise
# scikit-learn's defaults (1,000 iterations, angle 0.5) take 14 s for 5,000 digits on 2 idle cores (60 s when
# another job shares them); these take 5 s (20-25 s shared) and give the same clusters: each digit's 10
# nearest dots carry its label as often (99.6%), only a little less tightly packed.
TSNE_ITERATIONS = 500  # 250 of them early exaggeration (the clusters form), 250 to settle
TSNE_ANGLE = 0.8  # Barnes-Hut's speed/accuracy trade-off: coarser sums of the far-away points' pull
TSNE_PLACE_NEIGHBOURS = 10  # a new image goes to the mean t-SNE position of this many nearest map digits


def _feature_function(model):
    import keras
    import tensorflow as tf

    probe = keras.Model(inputs=model.inputs, outputs=classifier_layer(model).input)
    return tf.function(lambda x: probe(x, training=False), reduce_retracing=True)


def penultimate_features(model, images) -> np.ndarray:
    """What the model's last (classifying) layer receives, for each image: (N, D)."""
    function = cached(model, "penultimate", lambda: _feature_function(model))
    batch = as_input(images)
    return np.concatenate([np.asarray(function(batch[i:i + BATCH])) for i in range(0, len(batch), BATCH)])


@dataclass(frozen=True)
class FeatureMap:
    """Test digits on a 2-D map of one model's features, and training digits to find neighbours among."""

    coordinates: np.ndarray  # (N, 2) the map's test images, projected by PCA
    test_indices: np.ndarray  # (N,) their indices in the test set
    test_labels: np.ndarray  # (N,)
    test_readings: np.ndarray  # (N,) the digit the model reads in each
    test_features: np.ndarray  # (N, D) their features (to place a new image on the t-SNE map)
    mean: np.ndarray  # (D,) PCA's mean and components: projecting a new image is (f - mean) @ components.T
    components: np.ndarray  # (2, D)
    explained: np.ndarray  # (2,) the share of the features' variance each axis holds
    train_features: np.ndarray  # (M, D)
    train_indices: np.ndarray  # (M,) their indices in the training set
    train_labels: np.ndarray  # (M,)
    tsne: np.ndarray | None = None  # (N, 2) the test images laid out by t-SNE, once asked for
    from_disk: bool = False

    @cached_property
    def _neighbours(self):
        from sklearn.neighbors import NearestNeighbors

        return NearestNeighbors().fit(self.train_features)

    @cached_property
    def _map_neighbours(self):
        from sklearn.neighbors import NearestNeighbors

        return NearestNeighbors().fit(self.test_features)

    def project(self, features: np.ndarray) -> np.ndarray:
        """Features (N, D) -> map coordinates (N, 2), as PCA.transform does."""
        return (np.asarray(features) - self.mean) @ self.components.T

    def coordinates_for(self, projection: str) -> np.ndarray:
        """The map's test images laid out by ``projection`` (BY_PCA or BY_TSNE): (N, 2)."""
        if projection != BY_TSNE:
            return self.coordinates
        if self.tsne is None:
            raise ValueError("this map has no t-SNE layout: ask saved_map for it (tsne=True)")
        return self.tsne

    def place_on_tsne(self, features: np.ndarray, count: int = TSNE_PLACE_NEIGHBOURS) -> np.ndarray:
        """One image's features (D,) -> its t-SNE position (2,): the mean position of
        the ``count`` map digits nearest to it in feature space."""
        _, rows = self._map_neighbours.kneighbors(np.asarray(features).reshape(1, -1), n_neighbors=count)
        return self.coordinates_for(BY_TSNE)[rows[0]].mean(axis=0)

    def nearest(self, features: np.ndarray, count: int = 8) -> tuple[np.ndarray, np.ndarray]:
        """The training-set indices and feature distances of the ``count`` training
        images nearest to one image's features (D,), nearest first."""
        distances, rows = self._neighbours.kneighbors(np.asarray(features).reshape(1, -1), n_neighbors=count)
        return self.train_indices[rows[0]], distances[0]


def build_map(model, data: Mnist, map_images: int = MAP_IMAGES, neighbour_images: int = NEIGHBOUR_IMAGES,
              seed: int = 0) -> FeatureMap:
    """The feature map of ``model`` for a seeded sample of ``data``'s test and training images."""
    from sklearn.decomposition import PCA

    test_indices = np.sort(sample_indices(len(data.x_test), map_images, seed))
    train_indices = np.sort(sample_indices(len(data.x_train), neighbour_images, seed + 1))
    test_features = penultimate_features(model, data.x_test[test_indices])
    pca = PCA(n_components=2, random_state=seed).fit(test_features)
    # The last layer on these features is the model's reading (its softmax keeps the order).
    readings = np.asarray(classifier_layer(model)(test_features)).argmax(axis=1)
    return FeatureMap(
        coordinates=pca.transform(test_features).astype(np.float32),
        test_indices=test_indices, test_labels=np.asarray(data.y_test)[test_indices],
        test_readings=readings.astype(np.uint8), test_features=test_features.astype(np.float32),
        mean=pca.mean_.astype(np.float32), components=pca.components_.astype(np.float32),
        explained=pca.explained_variance_ratio_.astype(np.float32),
        train_features=penultimate_features(model, data.x_train[train_indices]).astype(np.float32),
        train_indices=train_indices, train_labels=np.asarray(data.y_train)[train_indices],
    )


def tsne_coordinates(features: np.ndarray, seed: int = 0) -> np.ndarray:
    """Features (N, D) laid out in 2-D by scikit-learn's t-SNE (after PCA to at most
    ``TSNE_INPUT_DIMS`` dimensions): (N, 2) float32, seeded by ``seed``."""
    from sklearn.decomposition import PCA
    from sklearn.manifold import TSNE

    features = np.asarray(features, dtype=np.float32)
    reduced = PCA(n_components=min(TSNE_INPUT_DIMS, *features.shape), random_state=seed).fit_transform(features)
    tsne = TSNE(n_components=2, init="pca", random_state=seed, max_iter=TSNE_ITERATIONS, angle=TSNE_ANGLE)
    return tsne.fit_transform(reduced).astype(np.float32)


def place(feature_map: FeatureMap, model, image, neighbours: int = 8,
          projection: str = BY_PCA) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Where ``image`` falls on the map laid out by ``projection`` (2,), and its nearest
    training images: (coordinates, training-set indices, distances)."""
    features = penultimate_features(model, image)[0]
    indices, distances = feature_map.nearest(features, neighbours)
    where = feature_map.place_on_tsne(features) if projection == BY_TSNE else feature_map.project(features[None])[0]
    return where, indices, distances


# --- On disk, beside the model -------------------------------------------------------

_FIELDS = ("coordinates", "test_indices", "test_labels", "test_readings", "test_features", "mean", "components",
           "explained", "train_features", "train_indices", "train_labels")
_LATER_FIELDS = ("tsne",)  # added to the file when first asked for; a file without them still loads


def cache_path(name: str, models_root: Path | None = None) -> Path:
    return (models_root or paths.models_dir()) / f"{name}{SUFFIX}"


# The maps in use, in front of their files: (model file, its version, data) -> map.
_MEMORY: dict[tuple[str, int, int, str], FeatureMap] = {}


def saved_map(name: str, model, data: Mnist, models_root: Path | None = None, tsne: bool = False) -> FeatureMap:
    """Model ``name``'s feature map: from memory or from its file beside the model
    when that was made from this model file and this data, else built
    (``build_map``) and saved. With ``tsne``, its t-SNE layout too: computed
    (``tsne_coordinates``) and added to the file the first time it is asked for."""
    model_path = (models_root or paths.models_dir()) / f"{name}.keras"
    data_key = f"{data.test_checksum}:{data.sha256}"
    stat = model_path.stat()
    memory_key = (str(model_path), stat.st_mtime_ns, stat.st_size, data_key)
    path = cache_path(name, models_root)
    feature_map = _MEMORY.get(memory_key)
    if feature_map is None:
        model_sha = file_sha256(model_path)
        feature_map = _read(path, model_sha, data_key)
        if feature_map is None:
            feature_map = build_map(model, data)
            _write(path, feature_map, model_sha, data_key)
    if tsne and feature_map.tsne is None:
        feature_map = replace(feature_map, tsne=tsne_coordinates(feature_map.test_features))
        _write(path, feature_map, file_sha256(model_path), data_key)
    if memory_key not in _MEMORY and len(_MEMORY) >= 4:  # a few models' maps are plenty
        _MEMORY.clear()
    _MEMORY[memory_key] = feature_map
    return feature_map


def _write(path: Path, feature_map: FeatureMap, model_sha: str, data_key: str) -> None:
    later = {field: getattr(feature_map, field) for field in _LATER_FIELDS if getattr(feature_map, field) is not None}
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as handle:
            np.savez(handle, model_sha256=np.array(model_sha), data_key=np.array(data_key),
                     **{field: getattr(feature_map, field) for field in _FIELDS}, **later)


def _read(path: Path, model_sha: str, data_key: str) -> FeatureMap | None:
    try:
        with np.load(path, allow_pickle=False) as stored:
            if str(stored["model_sha256"]) != model_sha or str(stored["data_key"]) != data_key:
                return None
            later = {field: stored[field] for field in _LATER_FIELDS if field in stored.files}
            return FeatureMap(**{field: stored[field] for field in _FIELDS}, **later, from_disk=True)
    except (FileNotFoundError, KeyError, ValueError, OSError, TypeError):
        return None  # none, another model's or data's, or from before a field was added: build anew
