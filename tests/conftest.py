"""Shared test helpers: where the notebooks are, and a throw-away course copy."""
from __future__ import annotations

import sys
import threading
from pathlib import Path

import pytest

from coursetools import COURSE_ROOT
from coursetools.autograde import copy_course
from coursetools.release import assignments

# Lesson worker modules are imported by plain name, as the notebooks beside them do.
sys.path.insert(0, str(COURSE_ROOT / "course"))

LESSONS = sorted((COURSE_ROOT / "course").glob("[0-9][0-9]_*.ipynb"))
ASSIGNMENTS = assignments(COURSE_ROOT)
SOURCE_NOTEBOOKS = sorted((COURSE_ROOT / "source").glob("*/*.ipynb"))


def short_id(path: Path) -> str:
    return str(path.relative_to(COURSE_ROOT))


@pytest.fixture
def course_copy(tmp_path: Path) -> Path:
    """A temporary copy of the course (config and source/) to generate and grade in."""
    return copy_course(tmp_path / "course")



@pytest.fixture
def no_thread_left_behind():
    """The test ends with exactly the threads it started with."""
    before = set(threading.enumerate())
    yield
    left = [t.name for t in threading.enumerate() if t not in before]
    assert not left, f"threads left running: {left}"
