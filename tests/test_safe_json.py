import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from numnet import safe_json


def test_parses_what_json_parses():
    text = '{"a": [1, -2, 3.5, "x", true, null, {"b": []}], "s": "[{\\\\\\"]"}'
    assert safe_json.loads(text) == json.loads(text)


@pytest.mark.parametrize("text, depth", [
    ("1", 0), ("[]", 1), ("[[1], {}]", 2), ('{"a": {"b": [[]]}}', 4),
    ('["[[[[", "{{{"]', 1),  # brackets inside strings do not count
    ('["\\"[[", "\\\\", "]]"]', 1),  # nor after escaped quotes and backslashes
    ("[" * 1000 + "]" * 1000, 1000),
])
def test_nesting_depth(text, depth):
    assert safe_json.nesting_depth(text) == depth


@pytest.mark.parametrize("text, message", [
    ("[" * 100_000 + "]" * 100_000, r"the JSON nests 100000 levels deep, more than the 64 allowed"),
    ("[NaN]", r"NaN is not a JSON number; only finite numbers are allowed"),
    ('{"slope": Infinity}', r"Infinity is not a JSON number"),
    ("-Infinity", r"-Infinity is not a JSON number"),
    ("[1e999]", r"the number 1e999 is too large for a float64"),
    ("[" + "9" * 5000 + "]", r"the integer 9{20}\.\.\. has 5000 digits, more than the 15 allowed"),
    ("-" + "1" * 16, r"has 16 digits"),
    ("[1,", r"not valid JSON \(Expecting value"),
    ("", r"not valid JSON"),
])
def test_refusals(text, message):
    with pytest.raises(ValueError, match=message):
        safe_json.loads(text)


def test_limits_are_arguments():
    assert safe_json.loads("[[1]]", max_depth=2) == [[1]]
    with pytest.raises(ValueError, match="nests 3 levels deep, more than the 2 allowed"):
        safe_json.loads("[[[1]]]", max_depth=2)
    with pytest.raises(ValueError, match="the JSON text has 7 characters, more than the 6 allowed"):
        safe_json.loads("[1, 22]", max_chars=6)
    with pytest.raises(ValueError, match="expected JSON text, got bytes"):
        safe_json.loads(b"[]")
    assert safe_json.loads(str(10**15 - 1)) == 10**15 - 1


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet='[]{}",:\\0123456789.eE-+ aNIfinty', max_size=60))
def test_any_text_gives_a_value_or_a_value_error(text):
    try:
        value = safe_json.loads(text, max_depth=5)
    except ValueError:
        return
    assert value == json.loads(text)
    assert safe_json.nesting_depth(text) <= 5
