"""Every lesson and every problem-set source runs under every start method.

Each notebook runs once per start method in a `make test` run.  On the
reference Python (``REFERENCE_PYTHON``, whose outputs the lessons commit),
under the platform's default, lessons run in nbval (test_lesson_outputs.py,
which also compares their outputs) and problem-set solutions in `make grade`
(test_grading_pipeline.py, which also scores them); under the other start
methods (as students on Linux, macOS, Windows and Python 3.14 get them) they
run here.  On any other Python nbval does not run, so every start method runs
here.  A run must raise no error and leave no process behind; a problem
set's solution runs with the grading integrity checks, which must find
nothing, and its test cells must not write to stderr (nbgrader scores that 0):
so it earns full marks under every start method.
"""
from __future__ import annotations

import multiprocessing
import re
import shutil

import pytest

from conftest import LESSONS, ON_REFERENCE_PYTHON, SOURCE_NOTEBOOKS, short_id
from coursetools import available_start_methods
from coursetools.course import Course
from coursetools.notebooks import execute

NOTEBOOKS = LESSONS + SOURCE_NOTEBOOKS
DEFAULT = multiprocessing.get_start_method()
METHODS_RUN_HERE = [m for m in available_start_methods() if m != DEFAULT or not ON_REFERENCE_PYTHON]
BENIGN_STDERR = re.compile(Course().config.IgnorePattern.pattern)


def stderr_of_test_cells(notebook) -> list[str]:
    """``grade id: text`` for each autograded test cell that wrote to stderr (beyond the benign patterns)."""
    found = []
    for cell in notebook.cells:
        info = cell.get("metadata", {}).get("nbgrader", {})
        if not info.get("grade") or info.get("solution"):
            continue
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream" and out.get("name") == "stderr" \
                    and not BENIGN_STDERR.search(out.get("text", "")):
                found.append(f"{info['grade_id']}: {out['text'].strip()[:200]}")
    return found


@pytest.mark.slow
@pytest.mark.parametrize("method", METHODS_RUN_HERE)
@pytest.mark.parametrize("path", NOTEBOOKS, ids=short_id)
def test_notebook_runs_cleanly(path, method, tmp_path):
    """The notebook runs top to bottom without an error and leaves no process behind.

    A problem-set source runs in a copy of its folder: its solution cells write
    the student's modules (%%writefile) beside the notebook.
    """
    source = path in SOURCE_NOTEBOOKS
    if source:
        folder = shutil.copytree(path.parent, tmp_path / path.parent.name,
                                 ignore=Course().copytree_ignore())
        path = folder / path.name
    run = execute(path, method, allow_errors=True, guarded=source)
    errors = run.errors() + (stderr_of_test_cells(run.notebook) + run.integrity if source else [])
    assert not errors, f"{path.name} under {method}: " + "; ".join(errors)
    assert not run.leftover, (
        f"{path.name} under {method} left processes running: "
        + "; ".join(run.leftover))


def test_every_lesson_is_found():
    """The lessons are numbered 01, 02, ... without gaps."""
    numbers = [int(p.name[:2]) for p in LESSONS]
    assert numbers == list(range(1, len(numbers) + 1)), f"lesson numbers {numbers}"
