import hashlib
import re
from importlib import resources

from numnet.datasets import load_names, read_names
from numnet.datasets.names import NAMES_FILE


def test_the_shipped_file_is_the_one_the_readme_describes():
    data = (resources.files("numnet.datasets") / "data" / NAMES_FILE).read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    readme = (resources.files("numnet.datasets") / "data" / "README.md").read_text()
    assert digest == "7f43b5be2f790dce55f01d1d9a77692661d1da89c6828154fe2c87af7f3d091a"
    assert f"{NAMES_FILE} {digest}" in readme
    assert "public domain" in readme and "US Census Bureau" in readme and "names-0.3.0.tar.gz" in readme


def test_names_are_distinct_lower_case_letters_in_order():
    names = read_names()
    assert len(names) == 5163
    assert names == sorted(set(names))
    assert all(re.fullmatch("[a-z]+", name) for name in names)
    assert {"mary", "james", "patricia", "john"} <= set(names)  # the first of each list
    assert max(map(len, names)) == 11 and min(map(len, names)) == 2


def test_split_is_fixed_disjoint_and_complete():
    train, validation, test = load_names()
    assert (len(train), len(validation), len(test)) == (4131, 516, 516)
    assert all(isinstance(name, str) for name in train + validation + test)
    assert not set(train) & set(validation) and not set(train) & set(test) and not set(validation) & set(test)
    assert sorted(train + validation + test) == read_names()
    # shuffled, not cut from the alphabetical list: every split spans the alphabet
    assert {name[0] for name in test} >= set("abcdjmrst")
    # the same split on every call
    assert load_names() == (train, validation, test)
    assert train[:3] == ["consuela", "carmella", "luna"] and test[:3] == ["vergie", "arleen", "clemente"]
