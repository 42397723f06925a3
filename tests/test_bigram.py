import math

import numpy as np
import pytest

from numnet.bigram import Bigram
from numnet.datasets import load_names
from numnet.text import Vocabulary


def test_hand_worked_counts_probabilities_and_loss():
    # words "ab" and "b" over the vocabulary . a b: the pairs are (.a) (ab) (b.) and (.b) (b.)
    bigram = Bigram(Vocabulary("ab")).fit(["ab", "b"])
    np.testing.assert_array_equal(bigram.counts, [[0, 1, 1], [0, 0, 1], [2, 0, 0]])
    # add-one: each row's counts + 1, over the row's total + 3
    np.testing.assert_allclose(bigram.probabilities, [[1 / 5, 2 / 5, 2 / 5], [1 / 4, 1 / 4, 2 / 4], [3 / 5, 1 / 5, 1 / 5]], rtol=1e-15)
    # −(1/5)(log P(a|.) + log P(b|a) + log P(.|b) + log P(b|.) + log P(.|b))
    expected = -(math.log(0.4) + math.log(0.5) + math.log(0.6) + math.log(0.4) + math.log(0.6)) / 5
    assert bigram.loss(["ab", "b"]) == pytest.approx(expected, rel=1e-12)


def test_without_smoothing_an_unseen_pair_has_infinite_loss():
    bigram = Bigram(Vocabulary("ab"), smoothing=0).fit(["ab", "b"])
    np.testing.assert_allclose(bigram.probabilities[2], [1, 0, 0])
    assert bigram.loss(["ab"]) == pytest.approx(-(math.log(0.5) + math.log(1.0) + math.log(1.0)) / 3)
    assert bigram.loss(["ba"]) == math.inf


def test_the_names_baseline():
    # the figure docs/sequences.md quotes: the bigram's test loss on load_names()'s split
    train, validation, test = load_names()
    bigram = Bigram().fit(train)
    assert bigram.loss(test) == pytest.approx(2.3463, abs=5e-5)
    assert bigram.loss(validation) == pytest.approx(2.3411, abs=5e-5)
    assert np.allclose(bigram.probabilities.sum(axis=1), 1)


def test_sampling():
    train, _, _ = load_names()
    bigram = Bigram().fit(train)
    words = bigram.sample(50, rng=0)
    assert len(words) == 50 and all(set(word) <= set("abcdefghijklmnopqrstuvwxyz") for word in words)
    assert bigram.sample(50, rng=0) == words and bigram.sample(50, rng=1) != words
    assert max(map(len, bigram.sample(50, rng=0, max_len=3))) <= 3
    # a temperature near 0 always picks the likeliest next character: every word is the same
    cold = bigram.sample(5, rng=0, temperature=1e-3)
    assert len(set(cold)) == 1 and cold[0]


def test_errors():
    with pytest.raises(RuntimeError, match=r"Bigram: call fit\(words\) before loss or sample"):
        Bigram().loss(["emma"])
    with pytest.raises(ValueError, match=r"Bigram: smoothing must be a number in the range \[0, inf\)\. Received: smoothing=-1"):
        Bigram(smoothing=-1)
    with pytest.raises(TypeError, match="Bigram: vocabulary must be a numnet.text.Vocabulary"):
        Bigram(vocabulary="abc")
    with pytest.raises(ValueError, match=r"Bigram: the character 'b' is never followed by anything in these words"):
        Bigram(Vocabulary("abc"), smoothing=0).fit(["a"])
    bigram = Bigram().fit(["emma"])
    with pytest.raises(ValueError, match=r"Bigram.sample: temperature must be a number in the range \(0, inf\)\. Received: temperature=0"):
        bigram.sample(3, temperature=0)
    with pytest.raises(ValueError, match=r"Bigram.sample: count must be a positive integer\. Received: count=0"):
        bigram.sample(0)
