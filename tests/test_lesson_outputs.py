"""Every lesson's committed outputs are what it prints today (nbval, strict mode).

Each lesson runs in its own nbval session (a pytest subprocess), so lessons can
be checked in parallel while the cells of one lesson share one kernel.  The
sanitize file replaces PIDs, durations and addresses before comparing; cells
tagged ``nbval-ignore-output`` are measurements and are only executed.
The outputs are compared only on the Python they come from (``REFERENCE_PYTHON``).
"""
from __future__ import annotations

import subprocess
import sys

import pytest

from conftest import LESSONS, ON_REFERENCE_PYTHON, REFERENCE_PYTHON, short_id
from coursetools import COURSE_ROOT

SANITIZE = COURSE_ROOT / "course" / "sanitize.cfg"

# pyproject.toml adds the same options, so by hand: .venv/bin/python -m pytest course/01_processes.ipynb
NBVAL = ["-m", "pytest", "-p", "no:xdist", "-p", "no:cacheprovider", "-q",
         "--nbval", "--nbval-current-env", "--nbval-sanitize-with", str(SANITIZE)]


@pytest.mark.slow
@pytest.mark.skipif(not ON_REFERENCE_PYTHON, reason="the committed outputs are CPython %d.%d's, this is %d.%d"
                    % (*REFERENCE_PYTHON, *sys.version_info[:2]))
@pytest.mark.parametrize("lesson", LESSONS, ids=short_id)
def test_lesson_outputs_match(lesson):
    """nbval re-runs the lesson and finds every output as committed."""
    done = subprocess.run([sys.executable, *NBVAL, str(lesson)], cwd=COURSE_ROOT,
                          capture_output=True, text=True, timeout=600)
    report = done.stdout[-4000:]
    assert done.returncode == 0, f"nbval found differences in {short_id(lesson)}:\n{report}"
    assert " passed" in report, f"nbval ran no cell of {short_id(lesson)}:\n{report}"


def test_ignored_outputs_are_a_small_minority():
    """Only measurements may skip comparison: at most a quarter of a lesson's code cells."""
    import nbformat
    for lesson in LESSONS:
        cells = [c for c in nbformat.read(lesson, as_version=4).cells if c.cell_type == "code"]
        ignored = [c for c in cells if "nbval-ignore-output" in c.metadata.get("tags", [])]
        assert len(ignored) * 4 <= len(cells), (
            f"{short_id(lesson)}: {len(ignored)} of {len(cells)} code cells ignore their output")
