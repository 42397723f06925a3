"""First names shipped inside the package: the US Census Bureau's 1990 lists, for character-level models.

5,163 distinct first names, lower-cased, letters a–z only. Public domain (US Census Bureau, 1990,
via the ``names`` package of PyPI, version 0.3.0); see data/README.md beside this module.
"""

import gzip
from importlib import resources

import numpy as np

NAMES_FILE = "first-names.txt.gz"
SPLIT_SEED = 0
VALIDATION_FRACTION = 0.1
TEST_FRACTION = 0.1


def read_names():
    """Every name of the embedded list, in alphabetical order (a list of 5,163 lower-case strings)."""
    with resources.as_file(resources.files(__package__) / "data" / NAMES_FILE) as path:
        with gzip.open(path, "rt", encoding="ascii") as file:
            return file.read().split()


def load_names():
    """The embedded first names, shuffled with a fixed seed and split 80/10/10.

    Returns:
        train, validation, test: three lists of lower-case names (4,131, 516 and 516), with no name
        in two of them. The split is the same on every call and every machine.

    Example:
        >>> train, validation, test = load_names()
        >>> len(train), len(validation), len(test)
        (4131, 516, 516)
    """
    names = read_names()
    order = np.random.default_rng(SPLIT_SEED).permutation(len(names))
    shuffled = [names[i] for i in order]
    n_validation = round(VALIDATION_FRACTION * len(names))
    n_test = round(TEST_FRACTION * len(names))
    n_train = len(names) - n_validation - n_test
    return shuffled[:n_train], shuffled[n_train : n_train + n_validation], shuffled[n_train + n_validation :]
