"""``python -m paragon_nb.cli``: the same as the ``paragon-nb`` console script."""

import sys

from paragon_nb.cli import main

if __name__ == "__main__":
    sys.exit(main())
