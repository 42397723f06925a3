"""JSON from files numnet did not write itself: bounded size and depth, finite numbers only.

``json.loads`` recurses once per nested list or object (100,000 brackets raise RecursionError), accepts
NaN and Infinity, which JSON does not define, and turns a 5,000-digit number into an int only to fail
on printing it. ``loads`` refuses all three with a ValueError saying what is wrong, and the nesting
depth is measured on the text before anything is parsed.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

import numpy as np

#: the deepest nesting of lists and objects accepted by default
MAX_DEPTH = 64
#: the longest text accepted by default, in characters
MAX_CHARS = 16 * 2**20
#: the most digits an integer may have: every integer up to 10¹⁵ − 1 is exact in a float64 too
MAX_DIGITS = 15

_ESCAPED_BACKSLASH_OR_QUOTE = re.compile(r'\\[\\"]')
_STRING = re.compile(r'"[^"]*"')
_NOT_A_BRACKET = re.compile(r"[^\[\]{}]+")


def nesting_depth(text: str) -> int:
    """The deepest nesting of [ ] and { } in JSON text, brackets inside strings not counted.

    Linear in the length of the text: escaped quotes and backslashes are removed first, so that every
    string is a plain "..." run, then the strings, then everything but the brackets.
    """
    brackets = _NOT_A_BRACKET.sub("", _STRING.sub("", _ESCAPED_BACKSLASH_OR_QUOTE.sub("", text)))
    codes = np.frombuffer(brackets.encode("ascii"), dtype=np.uint8)
    steps = np.where((codes == ord("[")) | (codes == ord("{")), 1, -1).astype(np.int32)
    return int(np.cumsum(steps).max(initial=0))


def _integer(text: str) -> int:
    if len(text.lstrip("-")) > MAX_DIGITS:
        raise ValueError(f"the integer {text[:20]}... has {len(text.lstrip('-'))} digits, more than the {MAX_DIGITS} allowed")
    return int(text)


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"the number {text[:20]} is too large for a float64")
    return value


def _constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number; only finite numbers are allowed")


def loads(text: Any, max_depth: int = MAX_DEPTH, max_chars: int = MAX_CHARS) -> Any:
    """Parse JSON ``text`` as json.loads does, but raise ValueError, saying why, for text longer than
    ``max_chars``, nesting deeper than ``max_depth``, NaN, Infinity, numbers beyond float64 and
    integers of more than MAX_DIGITS digits."""
    if not isinstance(text, str):
        raise ValueError(f"expected JSON text, got {type(text).__name__}")
    if len(text) > max_chars:
        raise ValueError(f"the JSON text has {len(text):,} characters, more than the {max_chars:,} allowed")
    depth = nesting_depth(text)
    if depth > max_depth:
        raise ValueError(f"the JSON nests {depth} levels deep, more than the {max_depth} allowed")
    try:
        return json.loads(text, parse_int=_integer, parse_float=_finite_float, parse_constant=_constant)
    except json.JSONDecodeError as error:
        raise ValueError(f"not valid JSON ({error})") from None
