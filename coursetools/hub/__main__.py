"""``python -m coursetools.hub``: see :mod:`coursetools.hub.cli`."""
import sys

from .cli import main

sys.exit(main())
