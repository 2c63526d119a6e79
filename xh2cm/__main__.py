"""``python -m xh2cm``: see :mod:`xh2cm.cli`."""

import sys

from xh2cm.cli import main

if __name__ == "__main__":
    sys.exit(main())
