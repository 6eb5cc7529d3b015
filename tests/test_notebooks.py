"""Every lesson and every problem-set source runs under every start method.

nbval (strict, run by pytest on course/*.ipynb) compares the lessons' outputs
under the platform's default start method; these tests execute each notebook
again under fork, spawn and forkserver, as students on Linux, macOS, Windows
and Python 3.14 get them, and check that nothing is left running afterwards.
"""
from __future__ import annotations

import multiprocessing
import shutil

import pytest

from coursetools import START_METHODS
from coursetools.notebooks import execute

from conftest import LESSONS, SOURCE_NOTEBOOKS, short_id

NOTEBOOKS = LESSONS + SOURCE_NOTEBOOKS
AVAILABLE = [m for m in START_METHODS if m in multiprocessing.get_all_start_methods()]


@pytest.mark.parametrize("method", AVAILABLE)
@pytest.mark.parametrize("path", NOTEBOOKS, ids=short_id)
def test_notebook_runs_cleanly(path, method, tmp_path):
    """The notebook runs top to bottom without an error and leaves no process behind.

    A problem-set source runs in a copy of its folder: its solution cells write
    the student's modules (%%writefile) beside the notebook.
    """
    if path in SOURCE_NOTEBOOKS:
        folder = shutil.copytree(path.parent, tmp_path / path.parent.name,
                                 ignore=shutil.ignore_patterns("__pycache__", "ps*_student_*.py"))
        path = folder / path.name
    run = execute(path, method, allow_errors=True)
    errors = run.errors()
    assert not errors, f"{path.name} under {method}: " + "; ".join(errors)
    assert not run.leftover, (
        f"{path.name} under {method} left processes running: "
        + "; ".join(run.leftover))


def test_every_lesson_is_found():
    """The lessons are numbered 01, 02, ... without gaps."""
    numbers = [int(p.name[:2]) for p in LESSONS]
    assert numbers == list(range(1, len(numbers) + 1)), f"lesson numbers {numbers}"
