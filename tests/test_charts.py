"""The figure builders whose clicks mean something: each click target must sit on the
thing it names."""

from __future__ import annotations

import base64
import io

import numpy as np
import pytest
from PIL import Image

from mnist_core.charts import ACCENT, feature_map_scatter, feature_maps_figure


def _grid_picture(figure) -> np.ndarray:
    """The grey grid image a feature-maps figure shows, as a (rows, columns) array."""
    source = figure.data[0].source
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(source.split(",", 1)[1]))))


def _maps_that_say_their_channel(height: int, width: int, count: int) -> np.ndarray:
    """Maps (H, W, C) where every pixel of map c holds c + 1: a distinct grey per map."""
    return np.broadcast_to(np.arange(1, count + 1, dtype=np.float32), (height, width, count)).copy()


def _channel_of_grey(grey: np.ndarray, count: int) -> np.ndarray:
    """Which map a grey of ``_maps_that_say_their_channel`` came from (dark: high channel)."""
    return np.rint((1 - grey / 255.0) * count).astype(int) - 1


@pytest.mark.parametrize(("height", "width", "count"), [(26, 26, 32), (12, 12, 32), (4, 4, 64), (10, 10, 3)])
def test_each_click_target_sits_on_the_map_it_names(height, width, count):
    figure = feature_maps_figure(_maps_that_say_their_channel(height, width, count), "conv2d")
    picture = _grid_picture(figure)
    targets = figure.data[1]
    channels = [int(row[0]) for row in targets.customdata]
    assert channels == list(range(count))
    for x, y, channel, text in zip(targets.x, targets.y, channels, targets.text, strict=True):
        # The target's centre pixel, and the whole tile around it, belong to that map.
        assert _channel_of_grey(picture[int(round(y)), int(round(x))], count) == channel
        tile = picture[int(y - (height - 1) / 2):int(y + (height - 1) / 2) + 1,
                       int(x - (width - 1) / 2):int(x + (width - 1) / 2) + 1]
        assert tile.shape == (height, width)
        assert np.all(_channel_of_grey(tile, count) == channel)
        assert text == f"conv2d, map {channel + 1}"


def test_a_click_anywhere_on_a_map_is_nearest_to_that_maps_target():
    height, width, count = 12, 12, 32
    figure = feature_maps_figure(_maps_that_say_their_channel(height, width, count), "pool")
    assert figure.layout.hoverdistance == -1  # the nearest target answers, wherever the click
    picture = _grid_picture(figure)
    centres = np.stack([figure.data[1].x, figure.data[1].y], axis=1)
    rows, columns = np.nonzero(picture < 255)  # every pixel of every map (the gaps are white)
    nearest = np.argmin(np.hypot(centres[:, 0][None] - columns[:, None], centres[:, 1][None] - rows[:, None]), axis=1)
    np.testing.assert_array_equal(nearest, _channel_of_grey(picture[rows, columns], count))


def test_the_chosen_map_alone_is_outlined_and_all_maps_share_one_scale():
    maps = np.zeros((8, 8, 4), np.float32)
    maps[:, :, 1] = 1.0
    maps[:, :, 2] = 4.0  # the strongest: the darkest; map 1 is a quarter as dark
    figure = feature_maps_figure(maps, "conv2d_3", chosen=2)
    outlined = [shape for shape in figure.layout.shapes if shape.line.color == ACCENT]
    assert len(outlined) == 1
    assert outlined[0].x0 < figure.data[1].x[2] < outlined[0].x1
    assert outlined[0].y0 < figure.data[1].y[2] < outlined[0].y1
    picture = _grid_picture(figure)
    greys = [int(picture[int(y), int(x)]) for x, y in zip(figure.data[1].x, figure.data[1].y, strict=True)]
    assert greys == [255, 191, 0, 255]


def test_each_dot_of_the_digit_map_carries_its_test_index_and_reading():
    coordinates = np.array([[0.0, 0.0], [1.0, 1.0], [2.0, 0.5]])
    figure = feature_map_scatter(coordinates, [7, 1, 7], (0.5, 0.5), ("x", "y"), test_indices=[40, 12, 99],
                                 readings=[7, 1, 2], chosen=99)
    sevens = figure.data[7]
    assert [list(row) for row in sevens.customdata] == [[40, 7], [99, 2]]
    assert list(sevens.x) == [0.0, 2.0]
    assert "a test 7 · #%{customdata[0]} (read as %{customdata[1]})" in sevens.hovertemplate
    ring, star = figure.data[-2], figure.data[-1]
    assert (ring.x[0], ring.y[0]) == (2.0, 0.5)  # the chosen test image is ringed
    assert star.name == "your drawing"


def test_the_fold_box_plot_puts_a_runs_name_under_its_architecture():
    from mnist_core.charts import cv_box_plot

    figure = cv_box_plot({"deeper_cnn · 20261207-123131": [0.99, 0.98], "baseline_cnn": [0.97, 0.985]})
    assert [trace.name for trace in figure.data] == ["deeper_cnn<br>20261207-123131", "baseline_cnn"]
    assert list(figure.data[0].y) == [99.0, 98.0] and "deeper_cnn · 20261207-123131" in figure.data[0].hovertemplate
