import json

import numpy as np
import pytest
from PIL import Image, ImageDraw

import numnet
from numnet import Sequential
from numnet.cli import main
from numnet.explain import Explanation, explain, gender_example, parameter_names, parse_param
from numnet.layers import (Activation, BatchNorm1d, Conv2D, Dense, Dropout, Flatten, LeakyReLU, ReLU, Sigmoid,
                           Softmax, Tanh)
from numnet.losses import MSE, BinaryCrossEntropy, CrossEntropy
from numnet.runs import build_mlp


def gender_network(dtype=np.float64):
    model = Sequential([Dense(2, 2, dtype=dtype), Sigmoid(), Dense(2, 1, dtype=dtype), Sigmoid()])
    for dense in (model.layers[0], model.layers[2]):
        dense.weight[...] = 1
        dense.bias[...] = 0
    return model


def test_the_texts_walk_for_alice():
    # h1 = σ(−2·1 − 1·1 + 0) = σ(−3) = 0.0474, ŷ = σ(2·0.0474) = 0.524, L = (1 − ŷ)²,
    # ∂L/∂ŷ = −2(1 − 0.524) = −0.952 (the texts round as they go; unrounded −0.95261),
    # ∂ŷ/∂h1 = w5·σ'(0.0948) = 0.249, ∂h1/∂w1 = x1·σ'(−3) = −0.0904, ∂L/∂w1 = 0.0215, w1 ← 1 − 0.1·0.0215 = 0.99785
    result = gender_example()
    assert isinstance(result, Explanation) and result.symbol == "w1"
    h1, y_hat, loss = (step.value for step in result.forward)
    assert h1 == pytest.approx(0.0474, abs=5e-5) and y_hat == pytest.approx(0.524, abs=5e-4)
    assert loss == pytest.approx((1 - y_hat) ** 2, rel=1e-12)
    dL_dy, dy_dh1, dh1_dw1, product = (step.value for step in result.chain)
    assert dL_dy == pytest.approx(-0.952, abs=1e-12)  # shown as the texts compute it, from ŷ = 0.524
    assert dy_dh1 == pytest.approx(0.249, abs=5e-4)
    assert dh1_dw1 == pytest.approx(-0.0904, abs=5e-5)
    assert product == pytest.approx(0.0215, abs=5e-5)
    assert result.product == pytest.approx(result.backward, rel=1e-12)
    assert result.finite_difference == pytest.approx(result.backward, rel=1e-6)
    assert result.updated == pytest.approx(1 - 0.1 * result.backward, rel=1e-12)
    text = str(result)
    for shown in ["σ(−3) = 0.0474", "σ(1·0.0474 + 1·0.0474 + 0) = σ(0.0948) = 0.524", "∂L/∂ŷ   = −2(y − ŷ)", "= −0.952",
                  "σ'(0.0948) = 0.249", "(−2) · σ'(−3) = −0.0904", "∂L/∂w1  = (−0.952) · 0.249 · (−0.0904) = 0.0215",
                  "w1 ← w1 − η·∂L/∂w1 = 1 − 0.1·0.0215 = 0.997853", "unrounded these are 0.09485 and −0.95261"]:
        assert shown in text, shown


def test_the_texts_names_of_every_parameter():
    model, x, y = gender_network(), [-2.0, -1.0], [1.0]
    names = {"0.weight[0, 1]": "w2", "0.weight[1, 0]": "w3", "0.weight[1, 1]": "w4", "2.weight[0, 0]": "w5",
             "2.weight[0, 1]": "w6", "0.bias[0]": "b1", "0.bias[1]": "b2", "2.bias[0]": "b3"}
    for param, symbol in names.items():
        assert explain(model, x, y, loss=MSE(), param=param).symbol == symbol
    w5 = explain(model, x, y, loss=MSE(), param="2.weight[0, 0]")
    assert [step.symbol for step in w5.chain] == ["∂L/∂ŷ", "∂ŷ/∂w5", "∂L/∂w5"]
    assert w5.chain[1].formula == "h1 · σ'(z_o1)"
    assert explain(model, x, y, loss=MSE(), param="0.weight[0, 0]", notation="layers").symbol == "W⁽⁰⁾[0, 0]"


def three_layer(loss_name, rng):
    """A 5-4-3-k float64 MLP whose activations and output suit the loss."""
    r = np.random.default_rng(rng)
    head = {
        "mse": [Dense(3, 2, rng=r, dtype=np.float64), Sigmoid()],
        "cross_entropy": [Dense(3, 4, rng=r, dtype=np.float64)],
        "bce": [Dense(3, 2, rng=r, dtype=np.float64), Sigmoid()],
        "bce_logits": [Dense(3, 1, rng=r, dtype=np.float64)],
        "mse_softmax": [Dense(3, 3, rng=r, dtype=np.float64), Softmax()],
    }[loss_name]
    hidden = [Dense(5, 4, rng=r, dtype=np.float64), Tanh(), Dropout(0.3, rng=0), Dense(4, 3, rng=r, dtype=np.float64),
              LeakyReLU(0.1)]
    model = Sequential(hidden + head)
    for layer in model.layers:  # biases away from zero, so that bias paths are exercised
        if isinstance(layer, Dense):
            layer.bias[...] = r.normal(size=layer.bias.shape) * 0.3
    return model


LOSSES = {
    "mse": (MSE(), lambda r: r.random((1, 2))),
    "cross_entropy": (CrossEntropy(), lambda r: np.array([2])),
    "bce": (BinaryCrossEntropy(), lambda r: r.integers(0, 2, (1, 2)).astype(float)),
    "bce_logits": (BinaryCrossEntropy(from_logits=True), lambda r: np.array([[1.0]])),
    "mse_softmax": (MSE(), lambda r: np.eye(3)[[1]]),
}


@pytest.mark.parametrize("loss_name", list(LOSSES))
def test_chain_product_backward_and_finite_difference_agree_in_every_layer(loss_name):
    rng = np.random.default_rng(0)
    model = three_layer(loss_name, 1)
    loss, target = LOSSES[loss_name]
    x, y = rng.normal(size=5), target(rng)
    for index, layer in enumerate(model.layers):
        for key, value in layer.params.items():
            for entry in {(0,) * value.ndim, tuple(s - 1 for s in value.shape), tuple(s // 2 for s in value.shape)}:
                param = f"{index}.{key}[{', '.join(map(str, entry))}]"
                result = explain(model, x, y, loss=loss, param=param)
                # the product and the backward pass are the same arithmetic in another order: ~1e-16;
                # the central difference carries ε² ≈ 1e-12 truncation and ~1e-10 rounding error
                assert result.product == pytest.approx(result.backward, rel=1e-9, abs=1e-14), param
                assert result.finite_difference == pytest.approx(result.backward, rel=1e-6, abs=1e-9), param
                if abs(result.backward) > 1e-6:
                    assert result.agreement < 1e-6, param


def test_a_generic_activation_and_a_float32_model():
    rng = np.random.default_rng(2)
    cube = Activation(lambda x: x ** 3 / 3 + x, lambda x: x ** 2 + 1)
    model = Sequential([Dense(3, 4, rng=rng), cube, Dense(4, 2, rng=rng)])  # float32: explained in float64
    result = explain(model, rng.normal(size=3), [1], loss=CrossEntropy(), param="0.weight[2, 1]")
    assert result.finite_difference == pytest.approx(result.backward, rel=1e-6)
    assert result.product == pytest.approx(result.backward, rel=1e-9)
    assert "<lambda>'" in str(result)
    assert model.layers[0].weight.dtype == np.float32  # the model itself is untouched


def test_sum_over_paths_is_written_in_vector_form():
    model = three_layer("cross_entropy", 3)
    result = explain(model, np.linspace(-1, 1, 5), [1], loss=CrossEntropy(), param="0.weight[1, 2]")
    symbols = [step.symbol.strip() for step in result.chain]
    assert symbols[:2] == ["δ⁽⁵⁾", "δ⁽³⁾"]
    assert result.chain[1].formula == "W⁽⁵⁾ᵀδ⁽⁵⁾ ⊙ LeakyReLU'(z⁽³⁾)"
    assert result.paths["count"] == 3 and len(result.paths["largest"]) == 3
    assert sum(term["term"] for term in result.paths["largest"]) + result.paths["rest"] == pytest.approx(result.paths["sum"])
    # the sum over paths is ∂L/∂a⁽⁰⁾[1], which the backward pass also gives (Tanh's input gradient)
    t = model.trace(np.linspace(-1, 1, 5), [1], loss=CrossEntropy())
    assert result.paths["sum"] == pytest.approx(t[1].grad_output[0, 1], rel=1e-12)


@pytest.mark.parametrize("param", ["1.weight[3, 17]", "4.weight[100, 200]", "7.weight[7, 127]", "1.bias[0]", "4.bias[5]", "7.bias[9]"])
def test_a_784_256_128_10_model_stays_readable(param):
    model = build_mlp((256, 128))
    x = np.random.default_rng(4).random((28, 28)).astype(np.float32)
    result = explain(model, x, 7, loss=CrossEntropy(), param=param)
    lines = str(result).splitlines()
    assert len(lines) <= 40
    assert max(len(line) for line in lines) <= 120
    assert result.finite_difference == pytest.approx(result.backward, rel=1e-6, abs=1e-9)


def test_names_of_parameters_and_bad_names():
    model = three_layer("mse", 0)
    assert parameter_names(model)[:2] == ["0.weight[i, j] (i in 0..3, j in 0..4)", "0.bias[i] (i in 0..3)"]
    assert parse_param(model, "3.weight[2,1]") == (3, "weight", (2, 1))
    assert parse_param(model, " 5.bias[ 1 ] ") == (5, "bias", (1,))
    x, y = np.zeros(5), np.zeros((1, 2))
    valid = r"Valid: 0\.weight\[i, j\] \(i in 0\.\.3, j in 0\.\.4\); 0\.bias\[i\]"
    for bad, message in [
        ("weight[0, 0]", "must look like '<layer>.<key>\\[i, j\\]'"),
        ("1.weight[0, 0]", r"no parameter 1.weight \(in '1.weight\[0, 0\]'\): layer 1 is Tanh\(\), which has no parameters"),
        ("9.weight[0, 0]", r"no layer 9 \(in '9.weight\[0, 0\]'\): its layers are 0..6"),
        ("0.kernel[0, 0]", "no parameter 0.kernel .* whose parameters are weight, bias"),
        ("0.weight[0]", r"has shape \(4, 5\), so it takes 2 indices with i in 0..3, j in 0..4"),
        ("0.weight[4, 0]", r"has shape \(4, 5\)"),
        ("0.bias[0, 0]", r"has shape \(4,\), so it takes 1 indices"),
    ]:
        with pytest.raises(ValueError, match=message) as error:
            explain(model, x, y, loss=MSE(), param=bad)
        assert error.match(valid)
    with pytest.raises(TypeError, match="param must be a string"):
        explain(model, x, y, loss=MSE(), param=(0, 0))


def test_other_errors():
    model = three_layer("mse", 0)
    with pytest.raises(ValueError, match=r"one sample .* got x of shape \(2, 5\)"):
        explain(model, np.zeros((2, 5)), np.zeros((2, 2)), loss=MSE())
    with pytest.raises(TypeError, match="loss must be a numnet.losses loss"):
        explain(model, np.zeros(5), [0, 0], loss="mse")
    with pytest.raises(ValueError, match="lr must be a positive number"):
        explain(model, np.zeros(5), [0, 0], loss=MSE(), lr=0)
    with pytest.raises(ValueError, match=r"the formulas of a mean loss; MSE\(reduction='sum'\) reduces by 'sum'"):
        explain(model, np.zeros(5), [0, 0], loss=MSE(reduction="sum"))
    with pytest.raises(ValueError, match="notation='texts' names the units of a network of two Dense layers"):
        explain(model, np.zeros(5), [0, 0], loss=MSE(), notation="texts")
    conv = Sequential([Conv2D(1, 2, 3, rng=0), ReLU(), Flatten(), Dense(8, 3, rng=0)], input_shape=(1, 4, 4))
    with pytest.raises(ValueError, match=r"for the parameters of Dense layers; 0.weight\[1, 0, 2, 2\] belongs to layer 0, Conv2D"):
        explain(conv, np.zeros((1, 4, 4)), [1], loss=CrossEntropy(), param="0.weight[1, 0, 2, 2]")
    assert explain(conv, np.ones((1, 4, 4)), [1], loss=CrossEntropy(), param="3.weight[1, 2]").symbol == "W⁽³⁾[1, 2]"
    normed = Sequential([Dense(3, 4, rng=0), BatchNorm1d(4), ReLU(), Dense(4, 1, rng=0)])
    with pytest.raises(ValueError, match="layer 1, BatchNorm1d.* stands between 0.weight\\[0, 0\\] and the loss"):
        explain(normed, np.zeros(3), [1.0], loss=MSE())


def test_notes_say_why_a_gradient_is_zero():
    model = Sequential([Dense(2, 2, dtype=np.float64), ReLU(), Dense(2, 1, dtype=np.float64)])
    model.layers[0].weight[...] = [[1.0, 1.0], [-1.0, -1.0]]
    model.layers[2].weight[...] = 1.0
    off = explain(model, [1.0, 0.0], [0.0], loss=MSE(), param="0.weight[1, 0]")
    assert off.backward == 0 and "is off for this sample" in str(off)
    blank = explain(model, [1.0, 0.0], [0.0], loss=MSE(), param="0.weight[0, 1]")
    assert blank.backward == 0 and "x2 = 0 for this sample" in str(blank)


def test_to_dict_is_json():
    data = json.loads(json.dumps(gender_example().to_dict()))
    assert data["param"] == "0.weight[0, 0]" and data["symbol"] == "w1" and data["lr"] == 0.1
    assert data["chain"][0]["formula"] == "−2(y − ŷ)"
    assert data["backward"] == pytest.approx(0.0215, abs=5e-5) and data["updated"] == pytest.approx(0.99785, abs=5e-6)
    assert data["text"] == str(gender_example())


def test_numnet_explain_is_exported():
    assert numnet.explain is explain


# -- the command -----------------------------------------------------------------------------------


def test_cli_example_gender(capsys):
    assert main(["explain", "--example", "gender"]) == 0
    out = capsys.readouterr().out
    assert out == str(gender_example()) + "\n"
    for number in ["0.0474", "0.524", "−0.952", "0.249", "−0.0904", "0.0215", "0.997853"]:
        assert number in out


def test_cli_json(capsys):
    assert main(["explain", "--example", "gender", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["finite_difference"] == pytest.approx(data["backward"], rel=1e-6)


def test_cli_model_file_with_input_and_with_image(tmp_path, capsys):
    tabular = gender_network(np.float32)
    tabular.save(tmp_path / "gender.safetensors")
    assert main(["explain", str(tmp_path / "gender.safetensors"), "--input=-2,-1", "--label", "1"]) == 0
    out = capsys.readouterr().out
    assert "loss MSE()" in out and "∂L/∂w1  = (−0.953) · 0.249 · (−0.0904) = 0.0215" in out

    digits = Sequential([Flatten(), Dense(784, 16, rng=0), ReLU(), Dense(16, 10, rng=1)], input_shape=(28, 28))
    digits.save(tmp_path / "digits.safetensors")
    picture = Image.new("L", (60, 60), 255)
    ImageDraw.Draw(picture).line([(15, 10), (45, 10), (25, 50)], fill=0, width=6)
    picture.save(tmp_path / "seven.png")
    argv = ["explain", str(tmp_path / "digits.safetensors"), "--image", str(tmp_path / "seven.png"), "--label", "7"]
    assert main([*argv, "--param", "1.weight[3,300]", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["param"] == "1.weight[3, 300]" and data["loss_name"] == "CrossEntropy()"
    assert data["finite_difference"] == pytest.approx(data["backward"], rel=1e-6, abs=1e-9)
    assert main(argv) == 0
    assert "∂L/∂W⁽¹⁾[0, 0]" in capsys.readouterr().out  # the default parameter: the first Dense weight


def test_cli_errors(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["explain"])
    assert "explain needs a model file or --example gender" in capsys.readouterr().err
    gender_network(np.float32).save(tmp_path / "m.safetensors")
    assert main(["explain", str(tmp_path / "m.safetensors"), "--input", "1,2", "--label", "1", "--param", "5.weight[0,0]"]) == 1
    assert "Valid: 0.weight[i, j]" in capsys.readouterr().err
    assert main(["explain", str(tmp_path / "m.safetensors"), "--input", "1,x", "--label", "1"]) == 1
    assert "numbers separated by commas" in capsys.readouterr().err
    assert main(["explain", str(tmp_path / "m.safetensors"), "--input", "1,2"]) == 1
    assert "needs the target" in capsys.readouterr().err
