import numpy as np
import pytest

from numnet.layers import Dense
from numnet.optimizers import SGD, Adagrad, Adam, AdamW, RMSprop


class Parameters:
    """A stand-in layer holding one parameter and its gradient."""

    def __init__(self, value, dtype=np.float64):
        self.params = {"w": np.array(value, dtype=dtype)}
        self.grads = {"w": np.zeros_like(self.params["w"])}


def test_sgd_golden_steps():
    # w = 1, g = 0.5, lr = 0.1: w ← 1 − 0.05 = 0.95; with momentum 0.9 the second step uses
    # v = 0.9·0.5 + 0.5 = 0.95, so w ← 0.95 − 0.095 = 0.855.
    layer = Parameters([1.0])
    layer.grads["w"][...] = 0.5
    sgd = SGD(0.1)
    sgd.step([layer])
    np.testing.assert_allclose(layer.params["w"], [0.95], rtol=1e-15)
    layer = Parameters([1.0])
    layer.grads["w"][...] = 0.5
    sgd = SGD(0.1, momentum=0.9)
    sgd.step([layer])
    sgd.step([layer])
    np.testing.assert_allclose(layer.params["w"], [0.855], rtol=1e-14)


def test_adam_first_step_moves_by_lr():
    # after bias correction, m̂ = g and v̂ = g², so the first step is lr · g / (|g| + ε) ≈ lr · sign(g)
    layer = Parameters([1.0, -2.0])
    layer.grads["w"][...] = [3.0, -0.001]
    Adam(0.01).step([layer])
    np.testing.assert_allclose(layer.params["w"], [0.99, -1.99], rtol=1e-6)


def test_update_is_in_place_and_keeps_dtype():
    dense = Dense(3, 2, rng=0)
    weight = dense.weight
    dense.forward(np.ones((4, 3), dtype=np.float32))
    dense.backward(np.ones((4, 2), dtype=np.float32))
    for optimizer in (SGD(0.1, momentum=0.9), Adam()):
        optimizer.step([dense])
        assert dense.weight is weight and weight.dtype == np.float32
        assert all(v.dtype == np.float32 for slots in optimizer.state.values() for v in slots.values())
        assert set(optimizer.state) == {"0.weight", "0.bias"}


def test_state_dict_resumes_exactly():
    rng = np.random.default_rng(0)
    grads = rng.normal(size=(10, 3))
    straight, resumed = Parameters(np.zeros(3)), Parameters(np.zeros(3))
    optimizer = Adam(0.01, weight_decay=0.1)
    for g in grads:
        straight.grads["w"][...] = g
        optimizer.step([straight])
    first = Adam(0.01, weight_decay=0.1)
    for g in grads[:5]:
        resumed.grads["w"][...] = g
        first.step([resumed])
    second = Adam(0.01, weight_decay=0.1)
    second.load_state_dict(first.state_dict())
    for g in grads[5:]:
        resumed.grads["w"][...] = g
        second.step([resumed])
    np.testing.assert_array_equal(resumed.params["w"], straight.params["w"])


def test_bad_hyperparameters():
    with pytest.raises(ValueError, match=r"SGD: lr must be a number in the range \(0, inf\). Received: lr=0"):
        SGD(0)
    with pytest.raises(ValueError, match="momentum must be a number in the range"):
        SGD(0.1, momentum=1.5)
    with pytest.raises(ValueError, match="nesterov=True needs a momentum > 0"):
        SGD(0.1, nesterov=True)
    with pytest.raises(ValueError, match="betas must be a pair"):
        Adam(betas=0.9)
    with pytest.raises(ValueError, match="beta2 must be a number in the range"):
        Adam(betas=(0.9, 1.0))


def test_step_without_gradient_fails_clearly():
    layer = Parameters([1.0])
    layer.grads = {}
    with pytest.raises(RuntimeError, match="has no gradient of shape"):
        SGD(0.1).step([layer])


def test_adam_state_holds_the_running_means():
    # m ← β₁ m + (1 − β₁) g and v ← β₂ v + (1 − β₂) g², from 0: after g₁ = 2, g₂ = −1,
    # m = 0.9·(0.1·2) + 0.1·(−1) = 0.08 and v = 0.999·(0.001·4) + 0.001·1 = 0.004996
    layer = Parameters([0.0])
    adam = Adam(0.01)
    for g in (2.0, -1.0):
        layer.grads["w"][...] = g
        adam.step([layer])
    np.testing.assert_allclose(adam.state["0.w"]["m"], [0.08], rtol=1e-14)
    np.testing.assert_allclose(adam.state["0.w"]["v"], [0.004996], rtol=1e-14)


def test_adam_matches_the_textbook_rule_while_a_silent_weight_decays_into_subnormals():
    # float32: the first weight gets one gradient, then zeros, so its m = 0.1·0.9ᵗ⁻¹ decays below the smallest
    # normal float32 (~1.2e-38) after ~810 steps, where Adam sets it to 0; the second gets a gradient every step.
    steps, lr = 1000, 0.01
    grads = np.zeros((steps, 2))
    grads[0, 0] = 1.0
    grads[:, 1] = np.random.default_rng(0).normal(size=steps)
    layer = Parameters([0.0, 0.0])
    layer.params["w"] = layer.params["w"].astype(np.float32)
    adam = Adam(lr)
    w, m, v = np.zeros(2), np.zeros(2), np.zeros(2)
    tiny = np.finfo(np.float32).tiny
    for t, g in enumerate(grads, 1):
        layer.grads["w"] = g.astype(np.float32)
        adam.step([layer])
        m = 0.9 * m + 0.1 * g
        v = 0.999 * v + 0.001 * g**2
        w -= lr * (m / (1 - 0.9**t)) / (np.sqrt(v / (1 - 0.999**t)) + 1e-8)
        if t % adam.flush_every == 0:  # flushed: no subnormal m or v survives a flushing step
            assert not (0 < abs(adam.state["0.w"]["m"][0]) < tiny)
    assert 0 < m[0] < tiny and adam.state["0.w"]["m"][0] == 0  # the textbook m is subnormal; Adam's was set to 0
    assert adam.state["0.w"]["m"][1] != 0
    np.testing.assert_allclose(layer.params["w"], w, rtol=1e-4)


@pytest.mark.parametrize("make", [lambda: Adam(0.01), lambda: AdamW(0.01, weight_decay=0.1)])
def test_adam_resumed_across_flushes_is_exact(make):
    # the flush depends on the step count, which the state carries: a run resumed from a state_dict taken
    # between two flushes ends on the same weights, bit for bit, as the run that never stopped
    grads = np.zeros((60, 4), np.float32)
    grads[26, :2] = [1e-38, 1e-19]  # at step 27 only: the first weight's m and the second's v are subnormal at once
    grads[:, 2:] = np.random.default_rng(3).normal(size=(60, 2)).astype(np.float32)
    tiny = np.finfo(np.float32).tiny

    def run(optimizer, layer, rows):
        for g in rows:
            layer.grads["w"] = g.copy()
            optimizer.step([layer])

    whole, whole_layer = make(), Parameters(np.zeros(4), np.float32)
    run(whole, whole_layer, grads)
    first, first_layer = make(), Parameters(np.zeros(4), np.float32)
    run(first, first_layer, grads[:29])
    assert 0 < first.state["0.w"]["m"][0] < tiny and 0 < first.state["0.w"]["v"][1] < tiny  # between two flushes
    resumed, resumed_layer = make(), Parameters(first_layer.params["w"].copy(), np.float32)
    resumed.load_state_dict(first.state_dict())
    run(resumed, resumed_layer, grads[29:])
    np.testing.assert_array_equal(resumed_layer.params["w"], whole_layer.params["w"])
    for slot in ("m", "v"):
        np.testing.assert_array_equal(resumed.state["0.w"][slot], whole.state["0.w"][slot])


def test_adam_flushes_subnormal_v_too():
    layer = Parameters(np.zeros(1), np.float32)
    adam = Adam()
    adam.iterations = adam.flush_every - 1  # the next step flushes
    adam.state["0.w"] = {"m": np.array([1e-39], np.float32), "v": np.array([1e-39], np.float32)}
    layer.grads["w"] = np.zeros(1, np.float32)
    adam.step([layer])
    assert adam.state["0.w"]["m"][0] == 0 and adam.state["0.w"]["v"][0] == 0


def test_adam_leaves_subnormal_m_between_flushes():
    # m is flushed on every flush_every-th step only: in between, a subnormal m is kept as computed
    layer = Parameters([0.0])
    layer.params["w"] = layer.params["w"].astype(np.float32)
    adam = Adam()
    adam.iterations = 8 * adam.flush_every  # the next step is not a flushing one
    adam.state["0.w"] = {"m": np.array([1e-38], np.float32), "v": np.array([1.0], np.float32)}
    layer.grads["w"] = np.zeros(1, np.float32)
    adam.step([layer])
    assert adam.state["0.w"]["m"][0] == np.float32(np.float32(1e-38) * np.float32(0.9))  # subnormal, kept
    assert 0 < adam.state["0.w"]["m"][0] < np.finfo(np.float32).tiny


def test_load_state_dict_rejects_state_of_other_optimizers():
    layer = Parameters([1.0, 2.0])
    layer.grads["w"][...] = 0.5
    sgd = SGD(0.1, momentum=0.9)
    sgd.step([layer])
    adam = Adam()
    with pytest.raises(ValueError, match=r"Adam.load_state_dict: parameter 0.w has state 'velocity', but Adam keeps only "
                                         r"'m', 'v'"):
        adam.load_state_dict(sgd.state_dict())
    assert adam.state == {} and adam.iterations == 0  # a rejected state leaves the optimizer as it was


@pytest.mark.parametrize("optimizer, slot", [
    (SGD(0.1, momentum=0.9), "velocity"), (RMSprop(), "square_avg"), (Adagrad(), "sum"), (Adam(), "m"),
])
def test_state_of_another_shape_fails_clearly_before_anything_changes(optimizer, slot):
    first, second = Parameters([1.0, 2.0]), Parameters([1.0, 2.0])
    for layer in (first, second):
        layer.grads["w"][...] = 0.5
    optimizer.step([first, second])
    before = first.params["w"].copy()
    bigger = Parameters([1.0, 2.0, 3.0])
    with pytest.raises(RuntimeError, match=rf"state '{slot}' for parameter 1.w has shape \(2,\) float64, but the parameter has shape \(3,\) float64"):
        optimizer.step([first, bigger])
    np.testing.assert_array_equal(first.params["w"], before)  # the layer before the bad state was not updated
    assert optimizer.iterations == 1
    narrower = Parameters([1.0, 2.0])
    narrower.params["w"] = narrower.params["w"].astype(np.float32)
    narrower.grads["w"] = narrower.grads["w"].astype(np.float32)
    with pytest.raises(RuntimeError, match=rf"state '{slot}' for parameter 1.w has shape \(2,\) float64, but the parameter has shape \(2,\) float32"):
        optimizer.step([first, narrower])
    np.testing.assert_array_equal(first.params["w"], before)


TORCH_CASES = [
    (lambda: SGD(0.05), lambda torch, p: torch.optim.SGD(p, lr=0.05)),
    (lambda: SGD(0.05, momentum=0.9), lambda torch, p: torch.optim.SGD(p, lr=0.05, momentum=0.9)),
    (lambda: SGD(0.05, momentum=0.9, nesterov=True, weight_decay=0.01),
     lambda torch, p: torch.optim.SGD(p, lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01)),
    (lambda: Adam(0.01), lambda torch, p: torch.optim.Adam(p, lr=0.01)),
    (lambda: Adam(0.01, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.05),
     lambda torch, p: torch.optim.Adam(p, lr=0.01, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.05)),
    (lambda: AdamW(0.01), lambda torch, p: torch.optim.AdamW(p, lr=0.01)),
    (lambda: AdamW(0.01, betas=(0.85, 0.995), weight_decay=0.1),
     lambda torch, p: torch.optim.AdamW(p, lr=0.01, betas=(0.85, 0.995), weight_decay=0.1)),
    (lambda: RMSprop(0.01), lambda torch, p: torch.optim.RMSprop(p, lr=0.01)),
    (lambda: RMSprop(0.005, alpha=0.9, eps=1e-6, weight_decay=0.01, momentum=0.8, centered=True),
     lambda torch, p: torch.optim.RMSprop(p, lr=0.005, alpha=0.9, eps=1e-6, weight_decay=0.01, momentum=0.8, centered=True)),
    (lambda: RMSprop(0.01, momentum=0.5), lambda torch, p: torch.optim.RMSprop(p, lr=0.01, momentum=0.5)),
    (lambda: Adagrad(0.1), lambda torch, p: torch.optim.Adagrad(p, lr=0.1)),
    (lambda: Adagrad(0.1, lr_decay=0.01, weight_decay=0.02, initial_accumulator_value=0.5, eps=1e-8),
     lambda torch, p: torch.optim.Adagrad(p, lr=0.1, lr_decay=0.01, weight_decay=0.02, initial_accumulator_value=0.5, eps=1e-8)),
]


@pytest.mark.parametrize("make, make_torch", TORCH_CASES)
def test_trajectory_matches_torch(make, make_torch):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    start = rng.normal(size=(4, 3))
    grads = rng.normal(size=(50, 4, 3))
    ours = Parameters(start)
    theirs = torch.nn.Parameter(torch.from_numpy(start.copy()))
    optimizer, torch_optimizer = make(), make_torch(torch, [theirs])
    for g in grads:
        ours.grads["w"][...] = g
        optimizer.step([ours])
        theirs.grad = torch.from_numpy(g.copy())
        torch_optimizer.step()
        np.testing.assert_allclose(ours.params["w"], theirs.detach().numpy(), rtol=1e-10, atol=1e-12)


class Holding:
    """A stand-in layer holding the given parameter and gradient arrays themselves."""

    def __init__(self, params, grads):
        self.params, self.grads = params, grads


def _dense_layers_with_gradients(dtypes, seed=0):
    rng = np.random.default_rng(seed)
    layers = [Dense(4, 3, rng=1, dtype=dtypes[0]), Dense(3, 2, rng=2, dtype=dtypes[1])]
    for layer in layers:
        for key, param in layer.params.items():
            layer.grads[key] = rng.normal(size=param.shape).astype(param.dtype)
    return layers


@pytest.mark.parametrize("make", [lambda: Adam(0.01, weight_decay=0.1), lambda: AdamW(0.01)])
def test_adam_over_a_network_equals_adam_per_parameter(make):
    # one optimizer over a whole network gives what one optimizer per parameter gives, for float32 and
    # float64 layers side by side (the work arrays are per parameter, never shared between them)
    together = _dense_layers_with_gradients([np.float32, np.float64])
    alone = _dense_layers_with_gradients([np.float32, np.float64])
    optimizer, single = make(), {}
    for _ in range(3):
        optimizer.step(together)
        for index, layer in enumerate(alone):
            for key, param in layer.params.items():
                single.setdefault((index, key), make()).step([Holding({key: param}, {key: layer.grads[key]})])
    for ours, reference in zip(together, alone):
        for key in ours.params:
            assert ours.params[key].dtype == reference.params[key].dtype
            np.testing.assert_array_equal(ours.params[key], reference.params[key])
    assert set(optimizer.state) == {"0.weight", "0.bias", "1.weight", "1.bias"}
    assert optimizer.state["1.weight"]["m"].dtype == np.float64


def test_adam_state_follows_load_state_dict_and_model_changes():
    layers = _dense_layers_with_gradients([np.float32, np.float32])
    adam = Adam(0.01)
    adam.step(layers)
    saved = adam.state_dict()
    adam.step(layers)
    after_two = {name: {k: v.copy() for k, v in slots.items()} for name, slots in adam.state.items()}
    adam.load_state_dict(saved)  # the next step must start from the loaded state, not from step 2's
    adam.step(layers)
    assert adam.iterations == 2
    for name, slots in after_two.items():
        for slot, value in slots.items():
            np.testing.assert_array_equal(adam.state[name][slot], value)
    before = adam.state["0.weight"]["m"].copy()
    adam.step(layers[:1])  # a different set of parameters keeps the state of those it still has
    np.testing.assert_allclose(adam.state["0.weight"]["m"], 0.9 * before + 0.1 * layers[0].grads["weight"], rtol=1e-6)


def test_a_step_with_a_missing_gradient_changes_no_parameter():
    layers = _dense_layers_with_gradients([np.float32, np.float32])
    del layers[1].grads["bias"]
    before = [layer.weight.copy() for layer in layers]
    for optimizer in (SGD(0.1), Adam()):
        with pytest.raises(RuntimeError, match="has no gradient of shape"):
            optimizer.step(layers)
        assert optimizer.iterations == 0
        for layer, weight in zip(layers, before):
            np.testing.assert_array_equal(layer.weight, weight)


def test_adamw_decays_the_weights_apart_from_the_gradient():
    # with g = 0, m = v = 0 and Adam's step is 0: only the decoupled decay acts, w ← w − lr·λ·w = 2·(1 − 0.1·0.5) = 1.9
    layer = Parameters([2.0])
    adamw = AdamW(0.1, weight_decay=0.5)
    adamw.step([layer])
    np.testing.assert_allclose(layer.params["w"], [1.9], rtol=1e-15)
    np.testing.assert_array_equal(adamw.state["0.w"]["m"], [0.0])  # the decay never enters the moments
    # Adam's L2 decay goes through the gradient instead: g = 0 + 0.5·2 = 1, so the first step is ≈ lr·sign(g)
    layer = Parameters([2.0])
    Adam(0.1, weight_decay=0.5).step([layer])
    np.testing.assert_allclose(layer.params["w"], [1.9], rtol=1e-6)


@pytest.mark.parametrize("make", [
    lambda: SGD(0.1, momentum=0.9, nesterov=True, weight_decay=0.1), lambda: Adam(weight_decay=0.1), lambda: AdamW(),
    lambda: RMSprop(momentum=0.5, centered=True, weight_decay=0.1), lambda: Adagrad(weight_decay=0.1),
])
def test_step_leaves_the_gradients_alone(make):
    layers = _dense_layers_with_gradients([np.float32, np.float64])
    before = [{key: grad.copy() for key, grad in layer.grads.items()} for layer in layers]
    optimizer = make()
    for _ in range(2):
        optimizer.step(layers)
    for layer, grads in zip(layers, before):
        for key, grad in grads.items():
            np.testing.assert_array_equal(layer.grads[key], grad)
