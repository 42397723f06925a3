import math

import numpy as np
import pytest

from numnet.optimizers import SGD
from numnet.schedules import CosineAnnealingLR, ExponentialLR, ReduceLROnPlateau, StepLR


def lrs(schedule, optimizer, epochs, metrics=None):
    values = [optimizer.lr]
    for epoch in range(epochs):
        schedule.step(*([metrics[epoch]] if metrics is not None else []))
        values.append(optimizer.lr)
    return values


def test_hand_worked_values():
    opt = SGD(1.0)
    assert lrs(StepLR(opt, step_size=2, gamma=0.5), opt, 5) == [1.0, 1.0, 0.5, 0.5, 0.25, 0.25]
    opt = SGD(0.1)
    np.testing.assert_allclose(lrs(CosineAnnealingLR(opt, T_max=4), opt, 4), [0.1, 0.1 * (1 + math.cos(math.pi / 4)) / 2, 0.05, 0.1 * (1 - math.cos(math.pi / 4)) / 2, 0.0], atol=1e-15)
    # warm-up over 2 epochs: 1/3 and 2/3 of lr, then the full lr, then a cosine over the 2 remaining epochs
    opt = SGD(0.3)
    np.testing.assert_allclose(lrs(CosineAnnealingLR(opt, T_max=4, warmup_epochs=2), opt, 4), [0.1, 0.2, 0.3, 0.15, 0.0], atol=1e-15)


def test_state_dict_round_trip():
    opt = SGD(1.0)
    schedule = ExponentialLR(opt, 0.9)
    for _ in range(3):
        schedule.step()
    other_opt = SGD(1.0)
    other = ExponentialLR(other_opt, 0.9)
    other.load_state_dict(schedule.state_dict())
    assert other_opt.lr == pytest.approx(0.9**3, rel=1e-12)  # three steps of ×0.9 from 1.0
    assert other.step() == schedule.step() == pytest.approx(0.9**4, rel=1e-12)
    assert other_opt.lr == opt.lr


def test_bad_arguments():
    with pytest.raises(ValueError, match="StepLR: step_size must be a positive integer. Received: step_size=0"):
        StepLR(SGD(0.1), 0)
    with pytest.raises(ValueError, match="mode must be one of 'min', 'max'. Received: mode='up'"):
        ReduceLROnPlateau(SGD(0.1), mode="up")
    with pytest.raises(ValueError, match=r"warmup_epochs must be an integer in the range \[0, 9\]. Received: warmup_epochs=10"):
        CosineAnnealingLR(SGD(0.1), T_max=10, warmup_epochs=10)


CASES = [
    (lambda o: StepLR(o, 7, 0.5), lambda t, o: t.optim.lr_scheduler.StepLR(o, 7, 0.5)),
    (lambda o: ExponentialLR(o, 0.93), lambda t, o: t.optim.lr_scheduler.ExponentialLR(o, 0.93)),
    (lambda o: CosineAnnealingLR(o, 20, eta_min=0.001), lambda t, o: t.optim.lr_scheduler.CosineAnnealingLR(o, 20, eta_min=0.001)),
]


@pytest.mark.parametrize("make, make_torch", CASES)
def test_matches_torch_schedulers(make, make_torch):
    torch = pytest.importorskip("torch")
    opt = SGD(0.1)
    ours = lrs(make(opt), opt, 50)
    parameter = torch.nn.Parameter(torch.zeros(1))
    torch_opt = torch.optim.SGD([parameter], lr=0.1)
    scheduler = make_torch(torch, torch_opt)
    theirs = [torch_opt.param_groups[0]["lr"]]
    for _ in range(50):
        torch_opt.step()
        scheduler.step()
        theirs.append(torch_opt.param_groups[0]["lr"])
    np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-15)


@pytest.mark.parametrize("kwargs", [
    dict(mode="min", factor=0.5, patience=2),
    dict(mode="max", factor=0.2, patience=1, threshold=0.01, threshold_mode="abs", cooldown=2, min_lr=0.001),
])
def test_plateau_matches_torch(kwargs):
    torch = pytest.importorskip("torch")
    metrics = list(np.random.default_rng(0).normal(size=40).cumsum() * 0.1 + 1)
    opt = SGD(0.1)
    ours = lrs(ReduceLROnPlateau(opt, **kwargs), opt, 40, metrics)
    parameter = torch.nn.Parameter(torch.zeros(1))
    torch_opt = torch.optim.SGD([parameter], lr=0.1)
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(torch_opt, **kwargs)
    theirs = [0.1]
    for value in metrics:
        torch_opt.step()
        scheduler.step(value)
        theirs.append(torch_opt.param_groups[0]["lr"])
    assert min(ours) < 0.1  # the sequence does trigger reductions
    np.testing.assert_allclose(ours, theirs, rtol=1e-12)
