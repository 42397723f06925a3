"""Characters as token indices: a character-level model's vocabulary, and words encoded for next-character prediction.

A word such as "emma" becomes a training pair, the model reading each character and predicting the next:

    inputs   .  e  m  m  a          ("." the boundary token: the start of the word)
    targets  e  m  m  a  .          ("." again: the end of the word)

so a word of L characters gives L + 1 predictions, the last being "the word ends here". A batch of words
is padded to one length T: the inputs with the boundary token (a causal model never looks ahead, so what
follows a word cannot change its predictions) and the targets with IGNORE, which the loss skips.
"""

import string

import numpy as np

BOUNDARY = "."
LETTERS = string.ascii_lowercase
#: the target index that marks padding: CrossEntropy(ignore_index=IGNORE) leaves those positions out
IGNORE = -100


class Vocabulary:
    """The symbols of a character-level model, each with an index: the boundary token first (index 0), then the characters.

    Args:
        characters: the characters words may hold, each once (default: the 26 letters a–z).

    Example:
        >>> vocabulary = Vocabulary()
        >>> len(vocabulary), vocabulary.encode("emma"), vocabulary.decode([5, 13, 13, 1])
        (27, [5, 13, 13, 1], 'emma')
    """

    def __init__(self, characters=LETTERS):
        if not isinstance(characters, str):
            raise TypeError(f"Vocabulary: characters must be a string such as 'abc'. Received: {type(characters).__name__}")
        if not characters or BOUNDARY in characters or len(set(characters)) != len(characters):
            raise ValueError(
                f"Vocabulary: characters must be distinct, at least one, without the boundary token {BOUNDARY!r}. "
                f"Received: characters={characters!r}"
            )
        self.symbols = BOUNDARY + characters
        self._index = {symbol: index for index, symbol in enumerate(self.symbols)}

    @property
    def boundary(self):
        """The index of the boundary token (0)."""
        return 0

    def __len__(self):
        return len(self.symbols)

    def encode(self, word):
        """A word -> the indices of its characters (no boundary tokens added)."""
        unknown = sorted({c for c in word if c not in self._index or c == BOUNDARY})
        if unknown:
            raise ValueError(f"the word {word!r} holds {''.join(unknown)!r}, which the vocabulary {self.symbols[1:]!r} does not")
        return [self._index[c] for c in word]

    def decode(self, indices):
        """Indices -> the word they spell (the boundary token, if present, spelled ".")."""
        indices = np.asarray(indices)
        if indices.ndim == 1 and indices.size == 0:
            return ""
        if indices.ndim != 1 or indices.dtype.kind not in "iu" or (indices.size and (indices.min() < 0 or indices.max() >= len(self))):
            raise ValueError(f"decode expects a 1-D sequence of indices in [0, {len(self) - 1}]. Received: {indices.tolist()!r}")
        return "".join(self.symbols[i] for i in indices)

    def __eq__(self, other):
        return isinstance(other, Vocabulary) and other.symbols == self.symbols

    def __repr__(self):
        return f"Vocabulary({self.symbols[1:]!r})"


def encode_words(words, vocabulary, length=None):
    """Words -> (inputs, targets) for next-character prediction, padded to one length T.

    inputs[n] = [boundary, c₁, …, c_L, boundary, …]   targets[n] = [c₁, …, c_L, boundary, IGNORE, …]

    Args:
        words: a list of strings, each of characters in the vocabulary.
        vocabulary: a Vocabulary.
        length: T; default the longest word's length + 1. A word longer than T − 1 is an error.

    Returns:
        inputs (N, T) and targets (N, T), int64.
    """
    if isinstance(words, str) or not all(isinstance(word, str) for word in words):
        raise TypeError(f"encode_words expects a list of strings. Received: {words!r:.80}")
    if not words:
        raise ValueError("encode_words expects at least one word. Received: []")
    encoded = [vocabulary.encode(word) for word in words]
    longest = max(map(len, encoded))
    if length is None:
        length = longest + 1
    elif not isinstance(length, (int, np.integer)) or length <= longest:
        raise ValueError(
            f"length must be an integer greater than the longest word ({longest} characters). Received: length={length!r}"
        )
    inputs = np.full((len(words), length), vocabulary.boundary, dtype=np.int64)
    targets = np.full((len(words), length), IGNORE, dtype=np.int64)
    for n, indices in enumerate(encoded):
        inputs[n, 1 : len(indices) + 1] = indices
        targets[n, : len(indices)] = indices
        targets[n, len(indices)] = vocabulary.boundary
    return inputs, targets
