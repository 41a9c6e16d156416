"""MNIST loading, validation, splitting and the model-input conversion."""

from __future__ import annotations

import os

import numpy as np
import pytest

from mnist_core import data as data_module
from mnist_core.data import DataError, load_mnist, split_train_val, take_subset, to_model_input
from tests.conftest import make_pattern_digits


def _write_npz(path, **overrides):
    x_train, y_train = make_pattern_digits(50, seed=3)
    x_test, y_test = make_pattern_digits(20, seed=4)
    arrays = {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test}
    arrays.update(overrides)
    arrays = {key: value for key, value in arrays.items() if value is not None}
    np.savez(path, **arrays)
    return path


def test_loads_explicit_path(tmp_path):
    path = _write_npz(tmp_path / "m.npz")
    loaded = load_mnist(path)
    assert loaded.x_train.shape == (50, 28, 28) and loaded.x_train.dtype == np.uint8
    assert loaded.x_test.shape == (20, 28, 28)
    assert loaded.source == str(path.resolve())
    assert loaded.sha256 == data_module.file_sha256(path)


def test_env_variable_is_used_when_no_path_given(tmp_path, monkeypatch):
    path = _write_npz(tmp_path / "env.npz")
    monkeypatch.setenv("MNIST_NPZ", str(path))
    assert load_mnist().source == str(path.resolve())


def test_explicit_path_wins_over_env(tmp_path, monkeypatch):
    monkeypatch.setenv("MNIST_NPZ", str(tmp_path / "does-not-exist.npz"))
    path = _write_npz(tmp_path / "explicit.npz")
    assert load_mnist(path).source == str(path.resolve())


def test_missing_file_says_how_to_fix(tmp_path):
    with pytest.raises(DataError) as info:
        load_mnist(tmp_path / "nope.npz")
    message = str(info.value)
    assert "not found" in message and "MNIST_NPZ" in message and "--data" in message


def test_not_an_npz(tmp_path):
    path = tmp_path / "bad.npz"
    path.write_bytes(b"this is not a zip file")
    with pytest.raises(DataError, match="not a readable .npz"):
        load_mnist(path)


def _assert_not_mnist_and_no_pickle_advice(path, what):
    with pytest.raises(DataError) as info:
        load_mnist(path)
    message = str(info.value)
    assert f"{path.resolve()} is not a readable .npz file: not an MNIST .npz ({what})" in message
    assert "--data" in message and "MNIST_NPZ" in message  # how to fix it
    assert "allow_pickle" not in message and "pickle.load" not in message


@pytest.mark.parametrize("content", [b"this is not a zip file", b"x_train,y_train\n0,1\n", b""])
def test_a_text_file_is_not_an_npz_and_pickles_are_not_suggested(tmp_path, content):
    path = tmp_path / "bad.npz"
    path.write_bytes(content)
    _assert_not_mnist_and_no_pickle_advice(path, "not a NumPy file at all")


def test_a_pickle_is_never_loaded(tmp_path):
    import pickle

    x, y = make_pattern_digits(10)
    path = tmp_path / "pickled.npz"
    path.write_bytes(pickle.dumps({"x_train": x, "y_train": y, "x_test": x, "y_test": y}))
    _assert_not_mnist_and_no_pickle_advice(path, "not a NumPy file at all")


def test_an_npz_of_python_objects_is_refused_without_unpickling(tmp_path):
    path = _write_npz(tmp_path / "objects.npz", x_train=np.array([{"digit": 7}] * 50, dtype=object))
    _assert_not_mnist_and_no_pickle_advice(path, "pickled Python objects, not arrays of numbers")


@pytest.mark.parametrize("array", [np.array([{"digit": 7}], dtype=object), np.zeros((3, 28, 28), np.uint8)])
def test_a_single_npy_array_is_not_an_npz(tmp_path, array):
    path = tmp_path / "one.npy"
    np.save(path, array, allow_pickle=True)
    _assert_not_mnist_and_no_pickle_advice(path, "a single .npy array")


def test_a_damaged_npz_says_so(tmp_path):
    path = tmp_path / "damaged.npz"
    path.write_bytes(b"PK\x03\x04 and then nothing a zip needs")
    with pytest.raises(DataError, match="not a readable .npz file"):
        load_mnist(path)


def test_directory_instead_of_file(tmp_path):
    with pytest.raises(DataError, match="not a file"):
        load_mnist(tmp_path)


@pytest.mark.parametrize(
    "overrides, expected",
    [
        ({"y_test": None}, "lacks the arrays y_test"),
        ({"x_train": np.zeros((50, 32, 32), np.uint8)}, "x_train has shape"),
        ({"x_train": np.zeros((50, 28, 28), np.float32)}, "dtype float32"),
        ({"y_train": np.zeros(49, np.uint8)}, "y_train has shape"),
        ({"y_train": np.full(50, 10, np.uint8)}, "labels 10..10"),
        ({"y_test": np.zeros(20, np.float32)}, "expected integers"),
    ],
)
def test_wrong_contents_are_named(tmp_path, overrides, expected):
    path = _write_npz(tmp_path / "wrong.npz", **overrides)
    with pytest.raises(DataError, match=expected):
        load_mnist(path)


def test_a_changed_file_is_read_again(tmp_path):
    path = _write_npz(tmp_path / "m.npz")
    assert not (load_mnist(path).x_test == 7).all()
    _write_npz(path, x_test=np.full((20, 28, 28), 7, np.uint8))
    os.utime(path, ns=(1, 1))  # make sure the mtime differs even on coarse clocks
    assert (load_mnist(path).x_test == 7).all()


def test_failed_download_says_how_to_fix(monkeypatch):
    import keras

    def offline():
        raise OSError("network is unreachable")

    monkeypatch.delenv("MNIST_NPZ", raising=False)
    monkeypatch.setattr(keras.datasets.mnist, "load_data", offline)
    with pytest.raises(DataError) as info:
        load_mnist()
    assert "network is unreachable" in str(info.value) and "MNIST_NPZ" in str(info.value)


def test_keras_download_is_the_fallback(monkeypatch):
    import keras

    x, y = make_pattern_digits(30)
    monkeypatch.delenv("MNIST_NPZ", raising=False)
    monkeypatch.setattr(keras.datasets.mnist, "load_data", lambda: ((x, y), (x[:10], y[:10])))
    loaded = load_mnist()
    assert loaded.source == "keras.datasets.mnist" and len(loaded.x_test) == 10


def test_split_is_seeded_stratified_and_disjoint():
    x, y = make_pattern_digits(1000, seed=5)
    ids = np.arange(1000)
    x_tr, y_tr, x_val, y_val = split_train_val(ids, y, val_fraction=0.1, seed=3)
    assert len(x_val) == 100 and len(x_tr) == 900
    assert set(x_tr).isdisjoint(x_val) and set(x_tr) | set(x_val) == set(ids)
    assert np.array_equal(np.bincount(y_val, minlength=10), np.full(10, 10))
    again = split_train_val(ids, y, val_fraction=0.1, seed=3)
    assert np.array_equal(again[2], x_val)
    other = split_train_val(ids, y, val_fraction=0.1, seed=4)
    assert not np.array_equal(other[2], x_val)


def test_split_without_validation():
    x, y = make_pattern_digits(40)
    x_tr, y_tr, x_val, y_val = split_train_val(x, y, val_fraction=0)
    assert len(x_tr) == 40 and len(x_val) == 0


def test_subset_is_stratified():
    x, y = make_pattern_digits(1000, seed=6)
    xs, ys = take_subset(x, y, 200, seed=1)
    assert len(xs) == 200 and np.array_equal(np.bincount(ys, minlength=10), np.full(10, 20))
    assert take_subset(x, y, None)[0] is x


def test_model_input_conversion_numpy_and_tensor_agree():
    import tensorflow as tf

    images, _ = make_pattern_digits(4)
    as_numpy = to_model_input(images)
    assert as_numpy.shape == (4, 28, 28, 1) and as_numpy.dtype == np.float32
    assert as_numpy.min() >= 0 and as_numpy.max() == 1.0
    as_tensor = to_model_input(tf.constant(images))
    np.testing.assert_allclose(as_tensor.numpy(), as_numpy)
    assert to_model_input(images[0]).shape == (1, 28, 28, 1)


def test_real_mnist_matches_its_documented_checks(mnist):
    assert mnist.x_train.shape == (60000, 28, 28) and mnist.x_test.shape == (10000, 28, 28)
    assert list(np.bincount(mnist.y_test)) == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    assert list(mnist.y_train[:20]) == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4, 3, 5, 3, 6, 1, 7, 2, 8, 6, 9]
