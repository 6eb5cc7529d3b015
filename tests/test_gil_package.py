"""coursetools.gil, the package: it re-exports exactly what the notebooks use as ``gil.X``."""
from __future__ import annotations

import re
import subprocess
import sys

import nbformat

from coursetools import COURSE_ROOT, gil


def names_the_notebooks_use() -> set[str]:
    """Every ``X`` of ``gil.X`` in a lesson or a problem-set source: its code, and what its text tells
    the student to call."""
    names = set()
    for path in [*COURSE_ROOT.glob("course/*.ipynb"), *COURSE_ROOT.glob("source/*/*.ipynb")]:
        for cell in nbformat.read(path, as_version=4).cells:
            names |= set(re.findall(r"(?<![\w.])gil\.(\w+)", cell.source))
    return names


def test_the_package_exports_exactly_the_names_the_notebooks_use() -> None:
    assert sorted(gil.__all__) == sorted(names_the_notebooks_use())
    assert all(hasattr(gil, name) for name in gil.__all__)


def test_importing_the_package_leaves_matplotlib_alone() -> None:
    """So ``python -m coursetools.gil.lab`` can pick the Agg backend before pyplot is imported."""
    probe = "import sys, coursetools.gil; print('matplotlib' in sys.modules)"
    shown = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert shown.strip() == "False"
