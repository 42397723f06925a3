import numpy as np
import pytest

from numnet.layers import Dense, Embedding
from numnet.model import Sequential
from numnet.sampling import _draw, model_vocabulary, sample, share_new
from numnet.text import Vocabulary


def bigram_as_model(probabilities, characters="ab", max_len=8):
    """A model whose scores at each position are log P(next | current): an Embedding with the log-probabilities as rows."""
    layer = Embedding(len(probabilities), len(probabilities), dtype=np.float64)
    with np.errstate(divide="ignore"):
        layer.params["weight"][...] = np.maximum(np.log(probabilities), -1e9)  # a huge negative score for probability 0
    model = Sequential([layer])
    model.metadata = {"vocabulary": "." + characters, "max_len": max_len}
    return model


def test_draw_follows_the_probabilities():
    probabilities = np.array([[0.2, 0.5, 0.3], [0.0, 0.0, 1.0]])
    drawn = _draw(np.repeat(probabilities, [20000, 100], axis=0), np.random.default_rng(0))
    # 20,000 draws: each frequency within 4 standard deviations, √(p(1 − p)/20000) ≤ 0.0036
    np.testing.assert_allclose(np.bincount(drawn[:20000], minlength=3) / 20000, probabilities[0], atol=0.015)
    assert (drawn[20000:] == 2).all()  # probability 1: always drawn
    halves = _draw(np.repeat([[0.0, 0.25, 0.25]], 20000, axis=0), np.random.default_rng(1))  # not normalised: 1/2 each
    np.testing.assert_allclose(np.bincount(halves, minlength=3) / 20000, [0, 0.5, 0.5], atol=0.015)


def test_sampled_words_follow_the_model():
    # from ".": "a" or "b" with 1/2 each; after "a": "b" surely; after "b": the end surely. Words: "ab" or "b".
    probabilities = np.array([[0.0, 0.5, 0.5], [0.0, 0.0, 1.0], [1.0, 0.0, 0.0]])
    words = sample(bigram_as_model(probabilities), 400, rng=0)
    assert set(words) == {"ab", "b"}
    assert 0.4 < words.count("ab") / 400 < 0.6
    assert sample(bigram_as_model(probabilities), 400, rng=0) == words  # seeded: the same words again


def test_every_word_has_a_character():
    # from ".": the end with 0.9, "a" with 0.1; after "a": the end. The end cannot come first: every word is "a".
    probabilities = np.array([[0.9, 0.1, 0.0], [1.0, 0.0, 0.0], [1.0, 0.0, 0.0]])
    assert sample(bigram_as_model(probabilities), 50, rng=0) == ["a"] * 50


def test_temperature_sharpens_and_flattens():
    probabilities = np.array([[0.0, 0.8, 0.2], [1.0, 0.0, 0.0], [1.0, 0.0, 0.0]])  # one letter, "a" (0.8) or "b" (0.2)
    model = bigram_as_model(probabilities)
    cold = sample(model, 2000, temperature=0.25, rng=0)  # p ∝ (0.8⁴, 0.2⁴): "b" with 1/257
    hot = sample(model, 2000, temperature=4.0, rng=0)  # p ∝ (0.8^¼, 0.2^¼): "b" with 0.415
    assert cold.count("b") / 2000 < 0.02
    assert 0.37 < hot.count("b") / 2000 < 0.46


def test_words_that_never_end_stop_at_max_len():
    probabilities = np.array([[0.0, 1.0, 0.0], [0.0, 1.0, 0.0], [0.0, 1.0, 0.0]])  # "a" forever
    assert sample(bigram_as_model(probabilities, max_len=6), 3, rng=0) == ["aaaaa"] * 3
    assert sample(bigram_as_model(probabilities), 2, rng=0, max_len=3) == ["aa"] * 2


def test_a_model_file_cannot_claim_an_endless_word():
    probabilities = np.array([[0.0, 1.0, 0.0], [0.0, 1.0, 0.0], [0.0, 1.0, 0.0]])  # never the boundary
    with pytest.raises(ValueError, match=r"sample: max_len must be an integer in the range \[2, 1024\]. Received: max_len=10"):
        sample(bigram_as_model(probabilities, max_len=10**40), 1, rng=0)


def test_vocabulary_comes_from_the_metadata():
    model = bigram_as_model(np.full((4, 4), 0.25), characters="xyz")
    assert model_vocabulary(model) == Vocabulary("xyz")
    assert set("".join(sample(model, 50, rng=0))) <= set("xyz")


def test_errors():
    model = bigram_as_model(np.full((3, 3), 1 / 3))
    with pytest.raises(ValueError, match=r"sample: temperature must be a number in the range \(0, inf\)\. Received: temperature=0"):
        sample(model, 3, temperature=0)
    with pytest.raises(ValueError, match=r"sample: count must be a positive integer\. Received: count=0"):
        sample(model, 0)
    model.metadata = {}
    with pytest.raises(ValueError, match="this model has no character vocabulary in its metadata"):
        sample(model, 3)
    digits = Sequential([Dense(4, 10, rng=0)])
    with pytest.raises(ValueError, match=r"sampling needs a model trained by `numnet train --dataset names`"):
        sample(digits, 3)
    five_scores = Sequential([Embedding(3, 5, rng=0)])
    five_scores.metadata = {"vocabulary": ".ab", "max_len": 8}
    with pytest.raises(ValueError, match=r"sample needs a model that gives scores of shape \(N, T, 3\) for token indices \(N, T\); "
                                         r"this one gives \(3, 1, 5\)"):
        sample(five_scores, 3)


def test_share_new():
    assert share_new(["ann", "bob", "zed", "ann"], ["ann", "bob"]) == 0.25
    with pytest.raises(ValueError, match=r"share_new needs at least one word\. Received: \[\]"):
        share_new([], ["ann"])
