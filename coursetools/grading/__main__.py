"""``python -m coursetools.grading``: grade the class (``make grade``)."""
import sys

from .cli import main

sys.exit(main())
