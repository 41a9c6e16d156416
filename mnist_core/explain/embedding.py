"""The image among the digits the model knows: a 2-D map of the model's penultimate
features (what its last layer sees) and the training digits nearest to the image.

``build_map`` passes a seeded sample of test images (the map) and of training images
(the neighbours) through the model up to its last Dense layer, fits scikit-learn's
PCA on the test features, and keeps the training features for scikit-learn's
NearestNeighbors. ``saved_map`` computes that once per model and keeps it on disk
beside the model (``NAME.embedding.npz``), keyed by the model file's and the data's
checksums, and in memory: a retrained or replaced model gets a new map, an
unchanged one is loaded in well under a second. ``place`` puts one image on the map.
"""

from __future__ import annotations

from dataclasses import dataclass
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

    coordinates: np.ndarray  # (N, 2) the map's test images, projected
    test_indices: np.ndarray  # (N,) their indices in the test set
    test_labels: np.ndarray  # (N,)
    mean: np.ndarray  # (D,) PCA's mean and components: projecting a new image is (f - mean) @ components.T
    components: np.ndarray  # (2, D)
    explained: np.ndarray  # (2,) the share of the features' variance each axis holds
    train_features: np.ndarray  # (M, D)
    train_indices: np.ndarray  # (M,) their indices in the training set
    train_labels: np.ndarray  # (M,)
    from_disk: bool = False

    @cached_property
    def _neighbours(self):
        from sklearn.neighbors import NearestNeighbors

        return NearestNeighbors().fit(self.train_features)

    def project(self, features: np.ndarray) -> np.ndarray:
        """Features (N, D) -> map coordinates (N, 2), as PCA.transform does."""
        return (np.asarray(features) - self.mean) @ self.components.T

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
    return FeatureMap(
        coordinates=pca.transform(test_features).astype(np.float32),
        test_indices=test_indices, test_labels=np.asarray(data.y_test)[test_indices],
        mean=pca.mean_.astype(np.float32), components=pca.components_.astype(np.float32),
        explained=pca.explained_variance_ratio_.astype(np.float32),
        train_features=penultimate_features(model, data.x_train[train_indices]).astype(np.float32),
        train_indices=train_indices, train_labels=np.asarray(data.y_train)[train_indices],
    )


def place(feature_map: FeatureMap, model, image, neighbours: int = 8) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Where ``image`` falls on the map (2,), and its nearest training images:
    (coordinates, training-set indices, distances)."""
    features = penultimate_features(model, image)[0]
    indices, distances = feature_map.nearest(features, neighbours)
    return feature_map.project(features[None])[0], indices, distances


# --- On disk, beside the model -------------------------------------------------------

_FIELDS = ("coordinates", "test_indices", "test_labels", "mean", "components", "explained", "train_features",
           "train_indices", "train_labels")


def cache_path(name: str, models_root: Path | None = None) -> Path:
    return (models_root or paths.models_dir()) / f"{name}{SUFFIX}"


# The maps in use, in front of their files: (model file, its version, data) -> map.
_MEMORY: dict[tuple[str, int, int, str], FeatureMap] = {}


def saved_map(name: str, model, data: Mnist, models_root: Path | None = None) -> FeatureMap:
    """Model ``name``'s feature map: from memory or from its file beside the model
    when that was made from this model file and this data, else built
    (``build_map``) and saved."""
    model_path = (models_root or paths.models_dir()) / f"{name}.keras"
    data_key = f"{data.test_checksum}:{data.sha256}"
    stat = model_path.stat()
    memory_key = (str(model_path), stat.st_mtime_ns, stat.st_size, data_key)
    if memory_key in _MEMORY:
        return _MEMORY[memory_key]
    model_sha = file_sha256(model_path)
    path = cache_path(name, models_root)
    feature_map = _read(path, model_sha, data_key)
    if feature_map is None:
        feature_map = build_map(model, data)
        with atomic_path(path) as tmp:
            with open(tmp, "wb") as handle:
                np.savez(handle, model_sha256=np.array(model_sha), data_key=np.array(data_key),
                         **{field: getattr(feature_map, field) for field in _FIELDS})
    if len(_MEMORY) >= 4:  # a few models' maps are plenty
        _MEMORY.clear()
    _MEMORY[memory_key] = feature_map
    return feature_map


def _read(path: Path, model_sha: str, data_key: str) -> FeatureMap | None:
    try:
        with np.load(path, allow_pickle=False) as stored:
            if str(stored["model_sha256"]) != model_sha or str(stored["data_key"]) != data_key:
                return None
            return FeatureMap(**{field: stored[field] for field in _FIELDS}, from_disk=True)
    except (FileNotFoundError, KeyError, ValueError, OSError, TypeError):
        return None
