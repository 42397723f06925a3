"""``numnet serve``: a local web app to look inside a digit model, train small networks live, and browse runs.

The app needs the ``serve`` extra (Starlette and uvicorn). This package's own ``__init__`` imports
neither, so that the command can say how to install them when they are missing.
"""

import importlib.util

#: the packages the app runs on, pinned as in pyproject.toml's ``serve`` extra
REQUIREMENTS = ("starlette==1.10.0", "uvicorn==0.54.0")
INSTALL_COMMAND = "pip install " + " ".join(REQUIREMENTS)


def missing_requirements():
    """The names of the required packages that are not installed (an empty list when all are)."""
    return [requirement.split("==")[0] for requirement in REQUIREMENTS if importlib.util.find_spec(requirement.split("==")[0]) is None]
