"""Autoregressive sampling: new words from a character-level model, one character at a time.

Each word starts as the boundary token "."; at every step the model reads the word so far, its scores
for the last position give the next character's probabilities, one character is drawn from them and
appended, until the model draws the boundary token (the end of the word):

    p = softmax(z / τ),   z = the model's scores at the last position,  τ = temperature

The end cannot be drawn first: the first character is drawn from p without the boundary token,
renormalised, so that every word has at least one character.

τ < 1 sharpens the distribution (safer, more common words), τ > 1 flattens it (stranger words).
"""

import numpy as np

from . import validation
from .functional import softmax
from .text import BOUNDARY, Vocabulary


def model_vocabulary(model):
    """The Vocabulary a character-level model was trained with, from its metadata (saved by numnet train)."""
    symbols = model.metadata.get("vocabulary")
    if not isinstance(symbols, str) or not symbols.startswith(BOUNDARY):
        raise ValueError(
            "this model has no character vocabulary in its metadata: sampling needs a model trained by "
            "`numnet train --dataset names` (or metadata['vocabulary'] set to '.' followed by its characters)"
        )
    return Vocabulary(symbols[1:])


#: the longest word ``sample`` writes, boundary token included
MAX_LEN = 1024


def sample(model, count=20, *, temperature=1.0, rng=None, vocabulary=None, max_len=None):
    """``count`` new words drawn from a character-level model.

    All ``count`` words grow together, as one batch; each step runs the model over the words so far
    (batch (count, t)) and reads its scores at position t.

    Args:
        model: a Sequential mapping token indices (N, T) to scores (N, T, len(vocabulary)), such as
            the LSTM and transformer of ``numnet train --dataset names``.
        count: how many words.
        temperature: τ above (default 1: the model's own probabilities).
        rng: a seed or numpy.random.Generator (None: fresh entropy).
        vocabulary: default: the model's own (metadata["vocabulary"]).
        max_len: the longest input the model reads, the boundary token included, so words have at most
            max_len − 1 characters; a word that reaches it ends there (default: metadata["max_len"]).

    Returns:
        A list of ``count`` strings.
    """
    count = validation.positive_int("count", count, owner="sample")
    temperature = validation.number("temperature", temperature, 0, low_inclusive=False, owner="sample")
    vocabulary = model_vocabulary(model) if vocabulary is None else vocabulary
    max_len = model.metadata.get("max_len") if max_len is None else max_len
    # bounded: a model file's metadata may claim any length, and each character costs a forward pass
    max_len = validation.number("max_len", max_len, 2, MAX_LEN, integer=True, owner="sample")
    generator = np.random.default_rng(rng)
    words = np.full((count, 1), vocabulary.boundary, dtype=np.int64)
    ended = np.zeros(count, dtype=bool)
    while not ended.all() and words.shape[1] < max_len:
        scores = model.predict(words, batch_size=count)
        if scores.ndim != 3 or scores.shape[2] != len(vocabulary):
            raise ValueError(
                f"sample needs a model that gives scores of shape (N, T, {len(vocabulary)}) for token indices (N, T); "
                f"this one gives {scores.shape}"
            )
        probabilities = softmax(scores[:, -1].astype(np.float64) / temperature)
        if words.shape[1] == 1:
            probabilities[:, vocabulary.boundary] = 0  # a word has at least one character (_draw renormalises)
        drawn = _draw(probabilities, generator)
        drawn[ended] = vocabulary.boundary  # a word that has ended stays ended
        ended |= drawn == vocabulary.boundary
        words = np.concatenate([words, drawn[:, None]], axis=1)
    return [vocabulary.decode(row[1:][: _length(row[1:], vocabulary.boundary)]) for row in words]


def _draw(probabilities, generator):
    """One index per row of ``probabilities`` (N, V), row n drawn from the distribution probabilities[n]
    (renormalised to sum to 1): the first index whose cumulative probability exceeds u · total, u uniform in [0, 1)."""
    cumulative = np.cumsum(probabilities, axis=1)
    u = generator.random((len(probabilities), 1)) * cumulative[:, -1:]
    return np.minimum((cumulative <= u).sum(axis=1), probabilities.shape[1] - 1)


def _length(row, boundary):
    """The number of characters before the first boundary token in ``row`` (all of them if there is none)."""
    ends = np.flatnonzero(row == boundary)
    return int(ends[0]) if ends.size else len(row)


def share_new(words, known):
    """The fraction of ``words`` that are not in ``known`` (e.g. sampled names not in the training list)."""
    if not words:
        raise ValueError("share_new needs at least one word. Received: []")
    known = set(known)
    return sum(word not in known for word in words) / len(words)
