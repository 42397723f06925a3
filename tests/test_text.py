import numpy as np
import pytest

from numnet.text import BOUNDARY, IGNORE, Vocabulary, encode_words


def test_default_vocabulary_is_the_boundary_then_a_to_z():
    vocabulary = Vocabulary()
    assert len(vocabulary) == 27 and vocabulary.symbols == ".abcdefghijklmnopqrstuvwxyz"
    assert vocabulary.boundary == 0 and vocabulary.symbols[vocabulary.boundary] == BOUNDARY
    assert vocabulary.encode("emma") == [5, 13, 13, 1]
    assert vocabulary.decode([5, 13, 13, 1]) == "emma" and vocabulary.decode(np.array([0, 26])) == ".z"
    assert vocabulary.encode("") == [] and vocabulary.decode([]) == ""
    assert Vocabulary("ab") == Vocabulary("ab") != Vocabulary("ba")


def test_vocabulary_errors():
    with pytest.raises(ValueError, match=r"the word 'Zoë' holds 'Zë', which the vocabulary 'abcdefghijklmnopqrstuvwxyz' does not"):
        Vocabulary().encode("Zoë")
    with pytest.raises(ValueError, match=r"the word 'a.b' holds '\.'"):
        Vocabulary().encode("a.b")
    with pytest.raises(ValueError, match=r"decode expects a 1-D sequence of indices in \[0, 26\]\. Received: \[27\]"):
        Vocabulary().decode([27])
    with pytest.raises(ValueError, match="characters must be distinct, at least one, without the boundary token '.'. Received: characters='aa'"):
        Vocabulary("aa")
    with pytest.raises(ValueError, match="Received: characters='a.'"):
        Vocabulary("a.")
    with pytest.raises(TypeError, match="characters must be a string such as 'abc'. Received: list"):
        Vocabulary(["a"])


def test_encode_words_makes_shifted_pairs_padded_to_one_length():
    inputs, targets = encode_words(["ab", "b"], Vocabulary("ab"))
    # "ab": reads . a b, predicts a b .;  "b": reads . b (then padding), predicts b . (then nothing)
    np.testing.assert_array_equal(inputs, [[0, 1, 2], [0, 2, 0]])
    np.testing.assert_array_equal(targets, [[1, 2, 0], [2, 0, IGNORE]])
    assert inputs.dtype == targets.dtype == np.int64
    inputs, targets = encode_words(["ab"], Vocabulary("ab"), length=5)
    np.testing.assert_array_equal(inputs, [[0, 1, 2, 0, 0]])
    np.testing.assert_array_equal(targets, [[1, 2, 0, IGNORE, IGNORE]])
    # every target is the next input: the pairs are the word shifted by one
    inputs, targets = encode_words(["emma", "olivia", "ava"], Vocabulary())
    real = targets != IGNORE
    np.testing.assert_array_equal(inputs[:, 1:][real[:, :-1]], targets[:, :-1][real[:, :-1]])
    assert real.sum() == 4 + 6 + 3 + 3  # one prediction per character, plus each word's end


def test_encode_words_errors():
    with pytest.raises(ValueError, match=r"length must be an integer greater than the longest word \(3 characters\)\. Received: length=3"):
        encode_words(["abc"], Vocabulary(), length=3)
    with pytest.raises(TypeError, match="encode_words expects a list of strings"):
        encode_words("emma", Vocabulary())
    with pytest.raises(ValueError, match=r"encode_words expects at least one word\. Received: \[\]"):
        encode_words([], Vocabulary())
