import io
import struct
import tracemalloc
import zlib

import numpy as np
import pytest
from PIL import Image, ImageDraw

from numnet.datasets import load_digits_sample
from numnet.images import decode_digit, decode_image, load_digit, load_image, prepare_digit


def drawn_seven(size=(300, 400), ink=20, paper=235):
    image = Image.new("L", size, paper)
    ImageDraw.Draw(image).line([(60, 80), (240, 80), (130, 340)], fill=ink, width=28)
    return image


def centre_of_mass(digit):
    total = digit.sum()
    rows, cols = np.indices(digit.shape)
    return (rows * digit).sum() / total, (cols * digit).sum() / total


def test_mnist_layout_from_a_drawing(tmp_path):
    drawn_seven().save(tmp_path / "seven.png")
    digit = load_digit(tmp_path / "seven.png")
    assert digit.shape == (28, 28) and digit.dtype == np.float32
    assert digit.min() == 0 and 0.9 < digit.max() <= 1
    rows, cols = np.flatnonzero(digit.any(axis=1)), np.flatnonzero(digit.any(axis=0))
    assert rows[-1] - rows[0] + 1 <= 20 and cols[-1] - cols[0] + 1 <= 20  # fitted into 20×20
    assert max(rows[-1] - rows[0], cols[-1] - cols[0]) + 1 >= 19  # and filling it
    np.testing.assert_allclose(centre_of_mass(digit), (13.5, 13.5), atol=0.75)


def test_polarity_and_size_do_not_matter(tmp_path):
    dark_on_light = prepare_digit(np.asarray(drawn_seven(), dtype=np.float32) / 255)
    light_on_dark = prepare_digit(np.asarray(drawn_seven(ink=240, paper=15), dtype=np.float32) / 255)
    small = prepare_digit(np.asarray(drawn_seven().resize((60, 80)), dtype=np.float32) / 255)
    np.testing.assert_allclose(light_on_dark, dark_on_light, atol=0.05)
    assert np.corrcoef(small.ravel(), dark_on_light.ravel())[0, 1] > 0.9


def test_a_real_mnist_digit_survives_a_scan_round_trip(tmp_path):
    # blow an MNIST digit up 12×, print it dark on light with a wide margin, and read it back
    _, (x_test, _) = load_digits_sample()
    original = x_test[0]
    paper = 255 - np.kron(np.pad(original, 10), np.ones((12, 12), dtype=np.uint8))
    Image.fromarray(paper).convert("RGB").save(tmp_path / "scan.jpg", quality=90)
    digit = load_digit(tmp_path / "scan.jpg")
    assert np.corrcoef(digit.ravel(), original.ravel())[0, 1] > 0.85


def test_transparent_png_is_ink_on_white(tmp_path):
    image = Image.new("RGBA", (100, 100), (0, 0, 0, 0))
    ImageDraw.Draw(image).line([(50, 10), (50, 90)], fill=(0, 0, 0, 255), width=10)
    image.save(tmp_path / "one.png")
    digit = load_digit(tmp_path / "one.png")
    assert digit.max() > 0.9 and digit[:, :8].sum() == 0


def test_errors(tmp_path):
    Image.new("L", (50, 50), 200).save(tmp_path / "blank.png")
    with pytest.raises(ValueError, match="blank.png: no digit found"):
        load_digit(tmp_path / "blank.png")
    (tmp_path / "text.png").write_text("not an image")
    with pytest.raises(ValueError, match="text.png: cannot read the image"):
        load_digit(tmp_path / "text.png")
    with pytest.raises(ValueError, match="no such image file"):
        load_digit(tmp_path / "missing.png")
    with pytest.raises(ValueError, match=r"expected a 2-D grayscale image, got an array of shape \(3, 3, 3\)"):
        prepare_digit(np.zeros((3, 3, 3)))


def test_bytes_in_memory_give_the_same_digit_as_the_file(tmp_path):
    drawn_seven().save(tmp_path / "seven.png")
    data = (tmp_path / "seven.png").read_bytes()
    np.testing.assert_array_equal(decode_digit(data), load_digit(tmp_path / "seven.png"))
    np.testing.assert_array_equal(decode_image(data), load_image(tmp_path / "seven.png"))


def test_decode_errors():
    with pytest.raises(ValueError, match=r"upload: cannot read the image \(not a PNG, JPEG"):
        decode_image(b"not an image", source="upload")
    buffer = io.BytesIO()
    drawn_seven().save(buffer, "PNG")
    with pytest.raises(ValueError, match="the image has 300×400 = 120,000 pixels, more than the 1,000 allowed; scale it down"):
        decode_digit(buffer.getvalue(), max_pixels=1000)


def zero_png(width, height, pixels=True):
    """A valid grayscale PNG of width×height black pixels, written without holding them: under a megabyte
    for 13,000×13,000 (169 million pixels), as the audit's file. With pixels=False, only a header that
    claims that size (what a refusal reads) and no image data."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    compressor = zlib.compressobj(1)
    row = bytes(width + 1)  # a filter byte, then the pixels
    data = b"".join(compressor.compress(row) for _ in range(height if pixels else 0)) + compressor.flush()
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", data) + chunk(b"IEND", b""))


@pytest.mark.parametrize("width, height, message", [
    (8000, 7000, r"the image has 8000×7000 = 56,000,000 pixels, more than the 50,000,000 allowed; scale it down"),
    # beyond Pillow's warning (Image.MAX_IMAGE_PIXELS) and beyond its error (twice that): the same refusal
    (13000, 13000, r"the image has 169,000,000 pixels, more than the 50,000,000 allowed; scale it down"),
    (20000, 20000, r"the image has 400,000,000 pixels, more than the 50,000,000 allowed; scale it down"),
])
def test_huge_pictures_are_refused_before_decoding(tmp_path, width, height, message):
    # the audit: a 226 kB PNG of 13,000×13,000 pixels was decoded by numnet predict, 2.6 GB at the peak
    path = tmp_path / "huge.png"
    path.write_bytes(zero_png(width, height, pixels=width < 20000))
    assert path.stat().st_size < 2 << 20
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match=f"{path}: {message}"):
            load_digit(path)
        with pytest.raises(ValueError, match=f"upload: {message}"):
            decode_digit(path.read_bytes(), source="upload")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 2 * path.stat().st_size + (1 << 20)  # the file's bytes, never its pixels


def test_the_pixel_limit_is_an_argument(tmp_path):
    drawn_seven().save(tmp_path / "seven.png")  # 300×400
    assert load_image(tmp_path / "seven.png", max_pixels=120_000).shape == (400, 300)
    with pytest.raises(ValueError, match=r"the image has 300×400 = 120,000 pixels, more than the 119,999 allowed"):
        load_image(tmp_path / "seven.png", max_pixels=119_999)
    (tmp_path / "big.png").write_bytes(zero_png(10000, 10000, pixels=False))
    with pytest.raises(ValueError, match=r"the image has 100,000,000 pixels, more than the 89,478,485 allowed"):
        load_image(tmp_path / "big.png", max_pixels=None)  # Pillow's own limit still holds


@pytest.mark.parametrize("size", [(1, 1), (1, 30), (30, 1)])
def test_tiny_pictures_get_a_clear_message(tmp_path, size):
    Image.new("L", size, 0).save(tmp_path / "tiny.png")
    width, height = size
    with pytest.raises(ValueError, match=f"tiny.png: the image is only {width}×{height} pixels; a digit needs at least 2×2"):
        load_digit(tmp_path / "tiny.png")
    with pytest.raises(ValueError, match=f"the image is only {width}×{height} pixels; a digit needs at least 2×2"):
        prepare_digit(np.zeros((height, width)))


def test_empty_and_broken_pictures_get_a_clear_message(tmp_path):
    with pytest.raises(ValueError, match=r"the image is only 0×0 pixels; a digit needs at least 2×2"):
        prepare_digit(np.zeros((0, 0)))
    (tmp_path / "zero.png").write_bytes(zero_png(0, 0))
    with pytest.raises(ValueError, match=r"zero.png: cannot read the image \(not a PNG, JPEG or other format Pillow reads\)"):
        load_digit(tmp_path / "zero.png")
    drawn_seven().save(tmp_path / "seven.png")
    data = (tmp_path / "seven.png").read_bytes()
    (tmp_path / "cut.png").write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match=r"cut.png: cannot read the image \(OSError: "):
        load_digit(tmp_path / "cut.png")
    (tmp_path / "empty.png").write_bytes(b"")
    with pytest.raises(ValueError, match=r"empty.png: cannot read the image"):
        load_digit(tmp_path / "empty.png")
    with pytest.raises(ValueError, match=r"not an image file \(a folder, device or pipe, not a regular file\)"):
        load_digit(tmp_path)
