import io

import numpy as np
import pytest
from PIL import Image, ImageDraw

from numnet.datasets import load_digits_sample
from numnet.layers import Conv2D, Dense, Flatten, MaxPool2D, ReLU
from numnet.model import Sequential
from numnet.runs import build_cnn, predict_images
from numnet import load as load_model
from numnet.serve.lookinside import DigitModel, view, weight_sources


def png_bytes(array):
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, "PNG")
    return buffer.getvalue()


@pytest.fixture(scope="module")
def digit_model(model_path):
    return DigitModel(load_model(model_path), source="small")


def test_an_image_gives_what_numnet_predict_gives(digit_model, model_path, tmp_path):
    _, (x_test, _) = load_digits_sample()
    model = load_model(model_path)
    for i in range(5):
        (tmp_path / f"{i}.png").write_bytes(png_bytes(x_test[i]))
        expected = predict_images(model, [tmp_path / f"{i}.png"])[0]
        result = digit_model.predict_image((tmp_path / f"{i}.png").read_bytes())
        assert result["prediction"] == expected["prediction"]
        assert result["top"][0]["class"] == expected["top"][0]["class"]
        assert result["top"][0]["probability"] == pytest.approx(expected["top"][0]["probability"], abs=1e-6)
        assert sum(result["probabilities"]) == pytest.approx(1, abs=1e-3)


def test_every_layer_output_is_the_model_s_own(digit_model):
    _, (x_test, _) = load_digits_sample()
    result = digit_model.predict_image(png_bytes(x_test[0]))
    model = digit_model.model
    x = np.asarray(result["input"], dtype=np.float32)[None]
    assert [layer["kind"] for layer in result["layers"]] == ["Flatten", "Dense", "ReLU", "Dropout", "Dense"]
    for index, layer in enumerate(result["layers"]):
        x = model.layers[index].forward(x, training=False)
        assert layer["shape"] == list(x.shape[1:])
        np.testing.assert_allclose(layer["output"], x[0], atol=2e-4)  # the input went through JSON at 4 decimals
    assert "layers" not in digit_model.predict_image(png_bytes(x_test[0]), trace=False)


def test_pixels_are_prepared_like_an_image(digit_model):
    image = Image.new("L", (120, 160), 255)
    ImageDraw.Draw(image).line([(20, 30), (100, 30), (50, 140)], fill=0, width=14)
    pixels = np.asarray(image, dtype=np.float32) / 255
    from_pixels = digit_model.predict_pixels(pixels)
    from_png = digit_model.predict_image(png_bytes(np.asarray(image)))
    assert from_pixels["input"] == from_png["input"]
    assert from_pixels["probabilities"] == from_png["probabilities"]


def test_description(digit_model):
    described = digit_model.describe()
    assert described["class_names"] == [str(d) for d in range(10)]
    assert described["dataset"] == "digits-sample" and 0.5 < described["test_accuracy"] <= 1
    assert [layer["view"] for layer in described["layers"]] == ["vector"] * 5
    assert [layer["weights_of"] for layer in described["layers"]] == [None, 1, 1, 1, 4]
    assert described["layers"][1]["parameters"] == 784 * 64 + 64


def test_unit_weights_of_a_first_dense_layer_are_a_picture(digit_model):
    weights = digit_model.unit_weights(2, 5)  # the ReLU after the first Dense: unit 5 is that Dense's unit 5
    dense = digit_model.model.layers[1]
    assert weights["picture"] == "image" and weights["shape"] == [28, 28] and weights["weights_of"] == 1
    np.testing.assert_allclose(weights["weights"], dense.weight[5].reshape(28, 28), atol=5e-5)
    assert weights["bias"] == pytest.approx(float(dense.bias[5]), abs=1e-6)
    later = digit_model.unit_weights(4, 3)
    assert later["picture"] == "vector" and later["shape"] == [64]


def test_unit_weights_errors(digit_model):
    with pytest.raises(LookupError, match="no layer 9: the model has layers 0 to 4"):
        digit_model.unit_weights(9, 0)
    with pytest.raises(LookupError, match="no unit 64 in layer 1: it has units 0 to 63"):
        digit_model.unit_weights(1, 64)
    with pytest.raises(LookupError, match=r"layer 0 \(Flatten\) has no weights of its own per unit"):
        digit_model.unit_weights(0, 0)


def test_a_cnn_shows_feature_maps_and_filters():
    model = build_cnn(channels=(4, 8), dense=16, seed=0)
    digit_model = DigitModel(model)
    described = digit_model.describe()
    assert [layer["view"] for layer in described["layers"][:6]] == ["maps"] * 6
    assert [layer["weights_of"] for layer in described["layers"][:7]] == [0, 0, 0, 3, 3, 3, None]
    _, (x_test, _) = load_digits_sample()
    result = digit_model.predict_image(png_bytes(x_test[1]))
    assert result["layers"][2]["shape"] == [4, 14, 14] and np.asarray(result["layers"][2]["output"]).shape == (4, 14, 14)
    filters = digit_model.unit_weights(5, 7)  # a pooled map of the second convolution: its filter 7
    assert filters["picture"] == "tiles" and filters["shape"] == [4, 3, 3] and filters["weights_of"] == 3


def test_class_names_come_from_the_metadata():
    model = Sequential([Flatten(), Dense(784, 10, rng=0)], input_shape=(28, 28))
    model.metadata = {"class_names": ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]}
    result = DigitModel(model).predict(np.full((28, 28), 0.5, dtype=np.float32))
    assert result["classes"][9] == "Ankle boot" and result["prediction"] in result["classes"]


def test_helpers():
    assert (view((64,)), view((28, 28)), view((16, 14, 14))) == ("vector", "image", "maps")
    model = Sequential([Conv2D(1, 2, 3, padding=1, rng=0), ReLU(), MaxPool2D(2), Flatten(), Dense(2 * 14 * 14, 10, rng=0)])
    assert weight_sources(model) == [0, 0, 0, None, 4]


def test_a_model_that_does_not_take_digits_is_refused():
    with pytest.raises(ValueError, match="gives 3 outputs per image; expected 10 class scores"):
        DigitModel(Sequential([Flatten(), Dense(784, 3, rng=0)], input_shape=(28, 28)))


def test_unreadable_images_are_value_errors(digit_model):
    with pytest.raises(ValueError, match="the uploaded image: cannot read the image"):
        digit_model.predict_image(b"GIF89a not really")
    with pytest.raises(ValueError, match="no digit found"):
        digit_model.predict_image(png_bytes(np.zeros((40, 40), dtype=np.uint8)))


def test_the_page_s_pgm_reads_like_a_png(digit_model):
    # the page sends its pad as a binary PGM (P5): the same gray levels as a PNG of it, uncompressed
    image = Image.new("L", (280, 280), 0)
    ImageDraw.Draw(image).line([(70, 60), (210, 60), (130, 220)], fill=255, width=20)
    pgm = b"P5\n280 280\n255\n" + image.tobytes()
    assert digit_model.predict_image(pgm) == digit_model.predict_image(png_bytes(np.asarray(image)))
