import io

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
    with pytest.raises(ValueError, match="the image has 300×400 pixels, more than the 1000 allowed"):
        decode_digit(buffer.getvalue(), max_pixels=1000)
