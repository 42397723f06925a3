"""`python -m numnet` runs the numnet command."""

import sys

from .cli import main

sys.exit(main())
