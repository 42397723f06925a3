"""The bigram model: the next character predicted from the current one alone, by counting.

The baseline every character-level model must beat. Counting is all the training there is:

    C[a, b] = how often b follows a in the training words (with the boundary token "." at both ends)
    P(b | a) = (C[a, b] + α) / Σ_b' (C[a, b'] + α)          (α = 1: add-one, Laplace smoothing)

and its loss on words is the mean negative log-likelihood per predicted character, in nats:

    L = −(1/M) Σ log P(cₜ₊₁ | cₜ)       over the M = Σ (len(word) + 1) predictions, ends of words included.
"""

import numpy as np

from . import validation
from .functional import softmax
from .text import IGNORE, Vocabulary, encode_words


class Bigram:
    """Next-character probabilities from counts of character pairs, with add-α smoothing.

    Args:
        vocabulary: a numnet.text.Vocabulary (default: "." and a–z).
        smoothing: α, added to every count so that no pair has probability 0 (default 1, add-one).

    Example:
        >>> bigram = Bigram().fit(["emma", "olivia", "ava"])
        >>> round(bigram.loss(["emma"]), 4)        # nats per character
        2.5486
    """

    def __init__(self, vocabulary=None, smoothing=1.0):
        self.vocabulary = Vocabulary() if vocabulary is None else validation.instance(
            "vocabulary", vocabulary, Vocabulary, "a numnet.text.Vocabulary", owner="Bigram")
        self.smoothing = validation.number("smoothing", smoothing, 0, owner="Bigram")
        size = len(self.vocabulary)
        #: C (V, V): C[a, b] counts b following a in the training words
        self.counts = np.zeros((size, size), dtype=np.int64)
        #: P (V, V): P[a, b] = P(b | a); each row sums to 1 (None before fit)
        self.probabilities = None

    def fit(self, words):
        """Count the character pairs of ``words`` (replacing earlier counts) and normalise them into P."""
        inputs, targets = _pairs(words, self.vocabulary)
        counts = np.zeros_like(self.counts)
        np.add.at(counts, (inputs, targets), 1)  # C[a, b] += 1 for every pair; a pair may repeat
        smoothed = counts + self.smoothing
        rows = smoothed.sum(axis=1, keepdims=True)
        if np.any(rows == 0):
            first = self.vocabulary.symbols[int(np.flatnonzero(rows[:, 0] == 0)[0])]
            raise ValueError(
                f"Bigram: the character {first!r} is never followed by anything in these words, and smoothing=0 leaves "
                "its probabilities undefined; use smoothing > 0"
            )
        self.counts = counts
        self.probabilities = smoothed / rows
        return self

    def _fitted(self):
        if self.probabilities is None:
            raise RuntimeError("Bigram: call fit(words) before loss or sample")
        return self.probabilities

    def loss(self, words):
        """Mean negative log-likelihood per predicted character of ``words``, in nats."""
        probabilities = self._fitted()
        inputs, targets = _pairs(words, self.vocabulary)
        with np.errstate(divide="ignore"):  # smoothing=0 gives an unseen pair probability 0: the loss is inf
            return float(-np.mean(np.log(probabilities[inputs, targets])))

    def sample(self, count, rng=None, temperature=1.0, max_len=None):
        """``count`` new words, each drawn character by character from P(· | previous) until the boundary.

        ``temperature`` T: draw from P^(1/T), renormalised (T < 1 sharper, T > 1 flatter). ``max_len``
        cuts words that run on (default: none)."""
        probabilities = self._fitted()
        count = validation.positive_int("count", count, owner="Bigram.sample")
        temperature = validation.number("temperature", temperature, 0, low_inclusive=False, owner="Bigram.sample")
        generator = np.random.default_rng(rng)
        with np.errstate(divide="ignore"):
            log_p = np.log(probabilities) / temperature
        table = softmax(log_p)  # P^(1/T), each row renormalised
        words = []
        for _ in range(count):
            indices, current = [], self.vocabulary.boundary
            while max_len is None or len(indices) < max_len:
                current = int(generator.choice(len(table), p=table[current]))
                if current == self.vocabulary.boundary:
                    break
                indices.append(current)
            words.append(self.vocabulary.decode(indices))
        return words

    def __repr__(self):
        return f"Bigram(smoothing={self.smoothing:g})"


def _pairs(words, vocabulary):
    """Every (current, next) pair of indices in ``words``, as two flat arrays (the padding left out)."""
    inputs, targets = encode_words(words, vocabulary)
    real = targets != IGNORE
    return inputs[real], targets[real]
