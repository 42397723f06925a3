import json

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

import numnet
from numnet.datasets import load_names
from numnet.names_runs import SAMPLES, NamesConfig, build_lstm, build_transformer, saved_names_config, train_names, with_defaults
from numnet.sampling import sample

RUN_FILES = ["model.safetensors", "history.csv", "config.json", "curves.png", "samples.txt"]


def test_the_two_models():
    lstm = build_lstm(27)
    assert [type(layer).__name__ for layer in lstm.layers] == ["Embedding", "LSTM", "Dense"]
    assert lstm.count_params() == 27 * 32 + 4 * 128 * (32 + 128 + 2) + 128 * 27 + 27
    transformer = build_transformer(27)
    kinds = [type(layer).__name__ for layer in transformer.layers]
    assert kinds == ["Embedding", "PositionalEmbedding", *["Residual"] * 4, "LayerNorm", "Dense"]
    x = np.random.default_rng(0).integers(0, 27, (3, 16))
    assert lstm.predict(x).shape == transformer.predict(x).shape == (3, 16, 27)
    # causal: the scores at position t do not change when later characters do
    changed = x.copy()
    changed[:, 5:] = (changed[:, 5:] + 1) % 27
    for model in (lstm, transformer):
        np.testing.assert_array_equal(model.predict(x)[:, :5], model.predict(changed)[:, :5])


def test_defaults_per_model_and_errors():
    assert (with_defaults(NamesConfig()).epochs, with_defaults(NamesConfig()).lr) == (12, 3e-3)
    assert (with_defaults(NamesConfig(model="transformer", lr=0.01)).lr) == 0.01
    with pytest.raises(ValueError, match="unknown model 'mlp' for --dataset names; expected one of lstm, transformer"):
        with_defaults(NamesConfig(model="mlp"))
    with pytest.raises(ValueError, match=r"max_len must exceed the longest name \(11 letters\)\. Received: max_len=11"):
        train_names(NamesConfig(max_len=11))


@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("names") / "run"
    config = NamesConfig(model="transformer", dim=16, blocks=1, heads=2, epochs=2, batch_size=128, out=str(folder), verbose=0)
    with threadpool_limits(1):  # small matrices: one BLAS thread is fastest (docs/sequences.md)
        return train_names(config)


def test_a_small_run_writes_its_folder(small_run):
    folder = small_run.folder
    assert [path.name for path in small_run.files] == RUN_FILES and all(path.is_file() for path in small_run.files)
    lines = (folder / "history.csv").read_text().splitlines()
    assert lines[0] == "epoch,loss,val_loss" and len(lines) == 3
    samples = (folder / "samples.txt").read_text().splitlines()
    assert samples == small_run.samples and len(samples) == SAMPLES
    assert all(set(name) <= set("abcdefghijklmnopqrstuvwxyz") and len(name) <= 15 for name in samples)
    train, _, _ = load_names()
    assert small_run.share_new == pytest.approx(sum(name not in set(train) for name in samples) / SAMPLES)
    # the bigram's figure is the one tests/test_bigram.py pins; two epochs of a tiny model are far from it
    assert small_run.bigram_test_loss == pytest.approx(2.3463, abs=5e-5)
    assert 2.3 < small_run.test_loss < 3.3
    saved = json.loads((folder / "config.json").read_text())
    assert saved["test_loss"] == small_run.test_loss and saved["bigram_test_loss"] == small_run.bigram_test_loss
    assert saved["vocabulary"] == ".abcdefghijklmnopqrstuvwxyz" and saved["max_len"] == 16
    assert saved["config"]["model"] == "transformer" and saved["config"]["lr"] == 1e-3


def test_the_saved_model_samples_as_the_trained_one(small_run):
    model = numnet.load(small_run.folder / "model.safetensors")
    assert model.metadata["dataset"] == "names" and model.metadata["test_loss"] == small_run.test_loss
    assert sample(model, 30, rng=7) == sample(small_run.model, 30, rng=7)
    assert sample(model, SAMPLES, rng=0) == small_run.samples  # the run's samples are seed 0's


def test_saved_config_and_resume(small_run, tmp_path):
    config = saved_names_config(small_run.folder)
    assert config == NamesConfig(model="transformer", dim=16, blocks=1, heads=2, epochs=2, lr=1e-3, batch_size=128,
                                 out=str(small_run.folder), verbose=0)
    again = train_names(config, resume=True)  # finished: nothing more to train, the same model
    assert again.history == small_run.history and again.test_loss == pytest.approx(small_run.test_loss, rel=1e-6)
    (tmp_path / "config.json").write_text(json.dumps({"config": {"dataset": "mnist"}}))
    assert saved_names_config(tmp_path) is None and saved_names_config(tmp_path / "none") is None
    (tmp_path / "config.json").write_text(json.dumps({"config": {"dataset": "names", "layers": 3}}))
    with pytest.raises(ValueError, match="config.json: not a names run configuration"):
        saved_names_config(tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize("model", ["lstm", "transformer"])
def test_the_default_models_beat_the_bigram(model, tmp_path):
    # docs/sequences.md: lstm 1.8566, transformer 1.9557 nats/character against the bigram's 2.3463
    with threadpool_limits(1):
        result = train_names(NamesConfig(model=model, out=str(tmp_path), verbose=0))
    assert result.bigram_test_loss - result.test_loss >= 0.3
    assert result.share_new > 0.5  # most sampled names are new
