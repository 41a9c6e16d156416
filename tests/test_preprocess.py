"""The drawing pipeline: MNIST-style fit and centre, strokes, pixels, polarity, bad input."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from bench.pendigits import pad_value, render_like_canvas
from mnist_core.reading.preprocess import (
    DEFAULT_BRUSH_WIDTH,
    ImageError,
    NothingToRead,
    decode_image,
    dot_size,
    estimate_stroke_width,
    ink_map,
    preprocess,
    preprocess_file_bytes,
    preprocess_strokes,
    strokes_from_points,
)


def centre_of_mass(image: np.ndarray) -> tuple[float, float]:
    weights = image.astype(np.float64)
    rows, cols = np.indices(image.shape)
    return (rows * weights).sum() / weights.sum(), (cols * weights).sum() / weights.sum()


def ink_box(image: np.ndarray, threshold: int = 0) -> tuple[int, int]:
    rows, cols = np.nonzero(image > threshold)
    return rows.max() - rows.min() + 1, cols.max() - cols.min() + 1


def two_stroke_seven(offset=(0.0, 0.0), scale=1.0) -> list[np.ndarray]:
    """A '7' drawn as two strokes (a top bar and a diagonal), in canvas pixels."""
    bar = np.array([[60, 60], [100, 58], [150, 62], [190, 60]], dtype=float)
    stem = np.array([[190, 60], [170, 120], [150, 170], [135, 230]], dtype=float)
    return [s * scale + np.asarray(offset) for s in (bar, stem)]


def zero(centre=(140.0, 140.0), radius=(60.0, 85.0)) -> list[np.ndarray]:
    angles = np.linspace(0, 2 * np.pi, 60)
    return [np.stack([centre[0] + radius[0] * np.cos(angles), centre[1] + radius[1] * np.sin(angles)], 1)]


SHAPES = {"seven": two_stroke_seven(), "zero": zero(), "one": [np.array([[140.0, 40.0], [142.0, 240.0]])]}


@pytest.mark.parametrize("shape", sorted(SHAPES))
@pytest.mark.parametrize("pipeline", ["strokes", "pixels"])
def test_centre_of_mass_lands_on_14_14(shape, pipeline):
    strokes = SHAPES[shape]
    image = preprocess_strokes(strokes) if pipeline == "strokes" else preprocess(render_like_canvas(strokes, 280, 18))
    assert image.shape == (28, 28) and image.dtype == np.uint8
    row, col = centre_of_mass(image)
    assert abs(row - 14) <= 0.5 and abs(col - 14) <= 0.5
    assert image.max() == 255


@pytest.mark.parametrize("shape", sorted(SHAPES))
@pytest.mark.parametrize("pipeline", ["strokes", "pixels"])
def test_longer_side_is_fitted_to_20_pixels(shape, pipeline):
    strokes = SHAPES[shape]
    image = preprocess_strokes(strokes) if pipeline == "strokes" else preprocess(render_like_canvas(strokes, 280, 18))
    # Placed at a sub-pixel offset, the 20-pixel box straddles 21 pixel cells,
    # the end cells partly covered: their coverage adds up to one cell.
    assert max(ink_box(image)) in (20, 21)
    profile = max((image.max(axis=axis) / 255.0 for axis in (0, 1)), key=lambda p: (p > 0).sum())
    assert profile.sum() == pytest.approx(20, abs=0.75)


def test_aspect_ratio_is_kept():
    tall = preprocess_strokes(zero(radius=(30.0, 90.0)))
    height, width = ink_box(tall)
    assert height in (20, 21) and 7 <= width <= 9


@pytest.mark.parametrize("pipeline", ["strokes", "pixels"])
def test_corner_and_middle_give_the_same_image(pipeline):
    small = 0.35  # the seven spans 46 x 60 canvas pixels
    middle = two_stroke_seven(offset=(80, 80), scale=small)
    corner = two_stroke_seven(offset=(-12, -10), scale=small)  # 9 px from the top-left edges
    if pipeline == "strokes":
        a, b = preprocess_strokes(middle), preprocess_strokes(corner)
    else:
        a, b = preprocess(render_like_canvas(middle, 280, 12)), preprocess(render_like_canvas(corner, 280, 12))
    difference = np.abs(a.astype(int) - b.astype(int))
    # Up to an edge pixel's anti-aliasing (the straight segments the pad draws resample
    # a little differently near the canvas's edge than in the middle).
    assert difference.mean() < 1 and difference.max() <= 40


def test_size_and_brush_do_not_change_the_stroke_reading():
    big = preprocess_strokes(two_stroke_seven(scale=1.0))
    small = preprocess_strokes(two_stroke_seven(offset=(50, 50), scale=0.3))
    assert np.abs(big.astype(int) - small.astype(int)).mean() < 3


def test_small_digit_with_thick_brush_is_not_a_blob():
    """A small '0' drawn with a thick brush fills its own hole on the canvas; re-drawn
    from its strokes it is still a ring with MNIST's stroke width, not a disc."""
    strokes = zero(centre=(140, 140), radius=(16, 24))
    canvas = render_like_canvas(strokes, 280, 36)
    assert canvas[140, 140] == 255  # on the canvas the hole is gone
    from_strokes = preprocess_strokes(strokes)
    assert from_strokes[14, 14] < 60, "the hole of the zero should stay dark"
    assert estimate_stroke_width(from_strokes >= 128) < 3.5
    assert estimate_stroke_width(preprocess(canvas) >= 128) > 5  # pixels alone cannot undo it


def test_thick_strokes_in_a_picture_are_thinned():
    """Pixels only: a thick brush on a small digit is thinned back towards MNIST's width."""
    canvas = render_like_canvas(zero(centre=(140, 140), radius=(40, 60)), 280, 40)
    plain = preprocess(canvas, normalise_width=False)
    thinned = preprocess(canvas)
    assert estimate_stroke_width(plain >= 128) > 4.8
    assert estimate_stroke_width(thinned >= 128) < 3.8
    assert thinned[14, 14] == 0


def test_thin_pen_on_a_large_photo_is_thickened():
    canvas = render_like_canvas(two_stroke_seven(scale=3.0, offset=(-100, -100)), 800, 2)
    image = preprocess(canvas)
    assert 2.0 <= estimate_stroke_width(image >= 128) <= 4.5


def test_polarity_is_detected():
    white_on_black = render_like_canvas(zero(), 280, 18)
    black_on_white = 255 - white_on_black
    np.testing.assert_array_equal(preprocess(white_on_black), preprocess(black_on_white))


def photo_of(clean: np.ndarray, grain: float) -> np.ndarray:
    """A clean drawing (float, white ink at 1 on 0) as a photo: dark ink on grey paper
    lit from one side, with grain of standard deviation ``grain``; uint8."""
    cols = np.indices(clean.shape)[1]
    paper = 0.65 + 0.2 * cols / clean.shape[1] + np.random.default_rng(0).normal(0, grain, clean.shape)
    return (np.clip(paper * (1 - 0.8 * clean), 0, 1) * 255).astype(np.uint8)


def test_photo_with_a_grey_uneven_background_reads_like_a_clean_drawing():
    clean = render_like_canvas(two_stroke_seven(), 280, 10).astype(np.float64) / 255
    from_photo = preprocess(photo_of(clean, grain=0.02))
    from_clean = preprocess((clean * 255).astype(np.uint8))
    assert np.abs(from_photo.astype(int) - from_clean.astype(int)).mean() < 12


@pytest.mark.parametrize("blank", [np.zeros((280, 280), np.uint8), np.full((50, 80), 255, np.uint8),
                                   np.full((28, 28), 128, np.uint8)])
def test_blank_pictures_have_nothing_to_read(blank):
    with pytest.raises(NothingToRead):
        preprocess(blank)


def test_a_dot_is_nothing_to_read():
    dot = render_like_canvas([np.array([[140.0, 140.0], [141.0, 141.0]])], 280, 18)
    with pytest.raises(NothingToRead, match="dot"):
        preprocess(dot)
    with pytest.raises(NothingToRead, match="dot"):
        preprocess_strokes([np.array([[140.0, 140.0], [141.0, 140.5]])], min_extent=9)


def test_the_dot_size_grows_with_the_brush_but_never_below_six_pixels():
    assert dot_size(DEFAULT_BRUSH_WIDTH) == DEFAULT_BRUSH_WIDTH / 2
    assert dot_size(40) == 20 and dot_size(6) == 6.0
    # A short tick drawn with the thickest brush is a dot; a real "1" is not.
    with pytest.raises(NothingToRead, match="dot"):
        preprocess_strokes([np.array([[100.0, 100.0], [100.0, 118.0]])], min_extent=dot_size(40))
    preprocess_strokes([np.array([[100.0, 60.0], [100.0, 220.0]])], min_extent=dot_size(40))


def test_empty_canvas_has_nothing_to_read():
    with pytest.raises(NothingToRead, match="empty"):
        preprocess_strokes([])
    assert strokes_from_points([]) == []
    assert strokes_from_points(None) == []


def test_the_pads_strokes_are_read_back_where_they_were_drawn():
    strokes = two_stroke_seven()
    parsed = strokes_from_points(pad_value(strokes))
    assert len(parsed) == 2
    for original, back in zip(strokes, parsed, strict=True):
        np.testing.assert_allclose(back, original, atol=0.05)  # rounded to 0.1 px by the pad
    assert [len(stroke) for stroke in strokes_from_points([[[5, 5]], [[1, 2], [3, 4]]])] == [1, 2]


@pytest.mark.parametrize("value", [
    "strokes", {"strokes": []}, [[1, 2, 3]], [[[1, 2, 3]]], [[]], [[["a", "b"]]], [[[1, float("nan")]]],
    [[[0, 0]]] * 201, [[[0, 0]] * 20_001],
])
def test_what_is_not_a_list_of_strokes_is_refused(value):
    assert strokes_from_points(value) is None


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.mark.parametrize("mode", ["L", "RGB", "RGBA", "P", "1", "I;16"])
def test_uploads_in_any_mode_read_the_same(mode):
    drawing = render_like_canvas(zero(), 280, 18)
    image = Image.fromarray(255 - drawing)  # dark ink on white, as on paper
    if mode == "I;16":
        image = Image.fromarray((255 - drawing).astype(np.uint16) * 257)
    else:
        image = image.convert(mode)
    result = preprocess_file_bytes(_png(image))
    expected = preprocess(255 - drawing)
    assert np.abs(result.astype(int) - expected.astype(int)).mean() < 10


def test_transparent_background_counts_as_background():
    drawing = render_like_canvas(two_stroke_seven(), 280, 18)
    rgba = np.zeros((280, 280, 4), np.uint8)
    rgba[..., :3] = 0  # black ink...
    rgba[..., 3] = drawing  # ...only where drawn; the rest is transparent
    result = preprocess_file_bytes(_png(Image.fromarray(rgba, "RGBA")))
    np.testing.assert_array_equal(result > 127, preprocess(drawing) > 127)


def test_jpeg_upload_is_read():
    drawing = render_like_canvas(two_stroke_seven(), 280, 18)
    buffer = io.BytesIO()
    Image.fromarray(255 - drawing).save(buffer, format="JPEG", quality=70)
    result = preprocess_file_bytes(buffer.getvalue())
    assert abs(centre_of_mass(result)[0] - 14) <= 0.5


@pytest.mark.parametrize(
    "data, message",
    [
        (b"", "empty"),
        (b"GIF89a but not really an image", "not an image|damaged"),
        (b"%PDF-1.4 a document", "not an image"),
        (_png(Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64), dtype=np.uint8)))[:2000],
         "damaged|truncated|not an image"),
    ],
)
def test_bad_uploads_are_refused_with_a_message(data, message):
    with pytest.raises(ImageError, match=message):
        decode_image(data)


def test_huge_images_and_decompression_bombs_are_refused():
    bomb = _png(Image.new("1", (6000, 6000)))  # 36 Mpixels in a few kilobytes
    assert len(bomb) < 100_000
    with pytest.raises(ImageError, match="limit|decompression"):
        decode_image(bomb)
    with pytest.raises(ImageError, match="MB"):
        decode_image(b"\x89PNG" + b"\0" * (21 * 1024 * 1024))


def test_mnist_digits_pass_through_almost_unchanged(mnist):
    """An MNIST test image is already what the pipeline makes: it should come back
    nearly the same, and the model should read it as well."""
    images = mnist.x_test[:300]
    again = np.stack([preprocess(image) for image in images])
    assert np.abs(again.astype(int) - images.astype(int)).mean() < 8
    rows = [centre_of_mass(image)[0] for image in again]
    assert abs(np.mean(rows) - 14) < 0.1


def test_a_clean_pictures_faint_edge_stays_ink(mnist):
    """On a clean background every grey pixel is ink: an MNIST digit's ink map keeps
    its anti-aliased edge (a fixed floor at a quarter of full ink kept 81% of the inked
    pixels), and none of its background turns into ink."""
    kept = []
    for image in mnist.x_test[:300]:
        level = ink_map(image)
        assert not (level[image == 0] > 0).any()
        kept.append((level[image > 0] > 0).mean())
    assert np.mean(kept) > 0.99 and np.min(kept) > 0.9


def test_paper_texture_is_not_ink():
    """A photo's paper grain sets the ink floor: nothing away from the strokes is left."""
    from scipy import ndimage

    clean = render_like_canvas(two_stroke_seven(), 280, 10).astype(np.float64) / 255
    near_strokes = ndimage.binary_dilation(clean > 0, iterations=3)
    assert not (ink_map(photo_of(clean, grain=0.04))[~near_strokes] > 0).any()


# --- Too small, too big, over the limits ---------------------------------------------


@pytest.mark.parametrize("width, height", [(1, 1), (300, 1), (1, 300), (7, 40)])
def test_too_small_pictures_are_refused_with_their_size(width, height):
    message = f"the picture is {width}x{height} pixels: too small to read (at least 8x8)"
    with pytest.raises(ImageError) as info:
        decode_image(_png(Image.new("L", (width, height), 255)))
    assert str(info.value) == message
    with pytest.raises(ImageError) as info:
        preprocess(np.full((height, width), 255, np.uint8))
    assert str(info.value) == message


def test_the_smallest_picture_allowed_is_read():
    one = np.zeros((8, 8), np.uint8)
    one[1:7, 3:5] = 255
    image = preprocess_file_bytes(_png(Image.fromarray(one)))
    assert image.shape == (28, 28) and image.max() == 255


@pytest.mark.parametrize("shape", [(28, 28, 3), (784,), (2, 28, 28)])
def test_arrays_that_are_not_2d_are_refused_with_their_shape(shape):
    with pytest.raises(ImageError) as info:
        preprocess(np.zeros(shape, np.uint8))
    assert str(info.value) == f"expected a 2-D grayscale image, got an array of shape {shape}"


def test_cli_predict_says_a_tiny_picture_is_too_small(tmp_path):
    import json

    from tests.conftest import SHIPPED_ARTIFACTS, run_cli

    tiny = tmp_path / "tiny.png"
    Image.new("L", (300, 1), 255).save(tiny)
    result = run_cli("predict", str(tiny), env={"MNIST_STUDIO_ARTIFACTS": str(SHIPPED_ARTIFACTS)})
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert json.loads(result.stdout) == {
        "file": str(tiny), "error": "the picture is 300x1 pixels: too small to read (at least 8x8)"}


def _png_header(width: int, height: int) -> bytes:
    """A PNG that declares width x height pixels and holds no pixel data: decode_image
    must refuse it from its header alone."""
    import struct
    import zlib

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # 1 bit per pixel, grayscale
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b"")


def test_over_the_pixel_limit_the_message_says_the_real_limit():
    with pytest.raises(ImageError) as info:
        decode_image(_png_header(10_000, 10_000))  # over Pillow's own warning limit, ~89 Mpx
    assert str(info.value) == "the image is 10000x10000 pixels; the limit is 25,000,000 pixels"
    with pytest.raises(ImageError) as info:
        decode_image(_png_header(20_000, 20_000))  # over Pillow's refusal limit, ~179 Mpx
    message = str(info.value)
    assert message.startswith("the image has more than ") and message.endswith("the limit is 25,000,000 pixels")
    assert "bomb" not in message


def test_the_file_size_limit_is_said_in_the_units_it_is_set_in():
    from mnist_core.reading import preprocess as preprocess_module

    assert preprocess_module.MAX_UPLOAD_BYTES == preprocess_module.MAX_UPLOAD_MB * 1024 * 1024 == 20 * 2**20
    with pytest.raises(ImageError) as info:
        decode_image(b"\x89PNG" + b"\0" * (20 * 1024 * 1024))  # 4 bytes over
    assert str(info.value) == "the file is 20.1 MB; the limit is 20 MB"


def test_streamlit_lets_through_what_the_app_accepts_and_no_more(monkeypatch):
    """The server's cap is the larger of the two limits (a model to import), so neither
    uploader is cut short by it; each uploader refuses more than its own limit."""
    import tomllib
    from streamlit.testing.v1 import AppTest

    from mnist_core.models.importing import MAX_IMPORT_MB
    from mnist_core.reading.preprocess import MAX_UPLOAD_MB
    from tests.conftest import REPO_ROOT, SHIPPED_ARTIFACTS

    config = tomllib.loads((REPO_ROOT / ".streamlit" / "config.toml").read_text())
    assert config["server"]["maxUploadSize"] == max(MAX_UPLOAD_MB, MAX_IMPORT_MB)
    monkeypatch.setenv("MNIST_STUDIO_ARTIFACTS", str(SHIPPED_ARTIFACTS))
    app = AppTest.from_file(str(REPO_ROOT / "app.py"), default_timeout=90).run()
    app.button_group(key="draw_source").set_value("Upload a picture").run()
    assert [uploader.proto.max_upload_size_mb for uploader in app.get("file_uploader")] == [MAX_UPLOAD_MB]
    app.switch_page("pages/models.py").run()
    assert [uploader.proto.max_upload_size_mb for uploader in app.get("file_uploader")] == [MAX_IMPORT_MB]


def _seven_picture(side: int, pen: int) -> Image.Image:
    """A '7' in black on white, side x side pixels, drawn with a pen ``pen`` pixels wide."""
    from PIL import ImageDraw

    picture = Image.new("L", (side, side), 255)
    scale = side / 280
    ImageDraw.Draw(picture).line([(60 * scale, 60 * scale), (190 * scale, 60 * scale), (135 * scale, 230 * scale)],
                                 fill=0, width=pen, joint="curve")
    return picture


def test_a_picture_is_shrunk_to_the_working_size_as_it_is_decoded():
    wide = _png(Image.new("L", (3000, 1500), 255))
    assert decode_image(wide).shape == (512, 1024)
    assert decode_image(_png(Image.new("RGBA", (1500, 6000), (0, 0, 0, 0)))).shape == (1024, 256)
    assert decode_image(_png(Image.new("L", (1000, 700), 255))).shape == (700, 1000)  # small enough: as it is


def test_the_largest_picture_allowed_is_read_in_little_memory():
    """5000x5000 with a marker-thick stroke (thinned by the stroke-width step): 1.9 GB
    here before pictures were shrunk as they were decoded and that step was bounded;
    about 60 MB since. Its time (36 s then, 0.2 s now) is bench/picture_reading.py's."""
    import tracemalloc

    data = _png(_seven_picture(5000, 800))
    big = preprocess_file_bytes(data)
    tracemalloc.start()
    try:
        preprocess_file_bytes(data)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 200 * 2**20  # what numpy allocated (the decoded picture alone is 25 MB)
    # It reads like the same drawing on the canvas.
    small = preprocess_file_bytes(_png(_seven_picture(280, 45)))
    assert np.abs(big.astype(int) - small.astype(int)).mean() < 4


def test_a_thin_pen_line_survives_the_shrinking():
    """A 2-pixel line in a 5000-pixel picture is a faint 1-pixel line at the working
    size: area averaging keeps it, and the speck filter must not take it for specks."""
    image = preprocess_file_bytes(_png(_seven_picture(5000, 2)))
    assert image.max() == 255 and 2.0 <= estimate_stroke_width(image >= 128) <= 4.5
    canvas = preprocess_file_bytes(_png(_seven_picture(280, 18)))
    assert np.abs(image.astype(int) - canvas.astype(int)).mean() < 8


def test_stroke_width_work_is_bounded_whatever_the_picture_size():
    from mnist_core.reading.preprocess import STROKE_WORK_SIDE, normalise_stroke_width

    ink = 1.0 - np.asarray(_seven_picture(1000, 200), np.float32) / 255  # strokes 200 px wide
    thinned = normalise_stroke_width(ink, target_width=40.0)
    assert max(thinned.shape) <= STROKE_WORK_SIDE
    # Thinned by more than half, measured in the picture's own pixels.
    width = estimate_stroke_width(thinned > 0.5) * max(ink.shape) / max(thinned.shape)
    assert width < 0.5 * estimate_stroke_width(ink > 0.5)
    normal = 1.0 - np.asarray(_seven_picture(1000, 45), np.float32) / 255  # in MNIST's range: left alone
    assert normalise_stroke_width(normal, target_width=40.0) is normal


@pytest.mark.parametrize("dark_on_light", [False, True])
def test_big_pictures_of_mnist_digits_read_back_as_the_digits(mnist, dark_on_light):
    """MNIST test digits blown up to 2800x2800 (strokes about 280 px wide), as they are
    and fattened (so the stroke-width step thins them), read back close to the 28x28
    originals. Mean correlations: 0.940 and 0.883 when big pictures were read at full
    size, 0.940 and 0.878-0.882 now that they are shrunk first."""
    from scipy import ndimage

    digits = mnist.x_test[:10]
    for fatten, floor in ((False, 0.93), (True, 0.87)):
        correlations = []
        for digit in digits:
            source = ndimage.grey_dilation(digit, size=(3, 3)) if fatten else digit
            big = np.asarray(Image.fromarray(source).resize((2800, 2800), Image.BICUBIC))
            image = preprocess(255 - big if dark_on_light else big)
            correlations.append(np.corrcoef(image.ravel().astype(float), digit.ravel().astype(float))[0, 1])
        assert np.mean(correlations) >= floor, (fatten, correlations)
