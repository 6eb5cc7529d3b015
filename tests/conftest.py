"""Shared test helpers: where the notebooks are, a throw-away course copy, nothing left running."""
from __future__ import annotations

import contextlib
import fcntl
import multiprocessing
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest
from xdist_groups import GRADING_GROUP, pytest_collection_modifyitems  # noqa: F401  (a hook)

from coursetools import COURSE_ROOT
from coursetools.course import Course
from coursetools.ps_common import running_children

# Lesson worker modules are imported by plain name, as the notebooks beside them do.
sys.path.insert(0, str(COURSE_ROOT / "course"))

LESSONS = sorted((COURSE_ROOT / "course").glob("[0-9][0-9]_*.ipynb"))
COURSE = Course(COURSE_ROOT)
ASSIGNMENTS = COURSE.assignments()
SOURCE_NOTEBOOKS = sorted(path for a in ASSIGNMENTS for path in COURSE.folder("source", a).glob("*.ipynb"))

REFERENCE_PYTHON = (3, 11)
"""The CPython whose outputs the lessons commit (the machine's python3.11): nbval compares them only
there (test_lesson_outputs.py); on any other Python, test_notebooks.py runs every start method instead."""
ON_REFERENCE_PYTHON = sys.version_info[:2] == REFERENCE_PYTHON


one_grader = pytest.mark.xdist_group(GRADING_GROUP)
"""Tests that run `make grade`: ``--dist loadgroup`` sends them all to one xdist worker, first, while the
other workers run everything else (they never wait for the grading lock).  Correctness never depends on
it: :func:`exclusive_grading` is what keeps grading runs apart."""


_HELD: list[int] = []


def shared_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder every xdist worker of this run sees (the run's own base folder without xdist)."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


@contextlib.contextmanager
def exclusive_grading(folder: Path):
    """Hold the machine-wide grading lock: one `make grade` at a time across xdist workers and across
    test runs on this machine (two checkouts tested at once), so a test may count every sandbox process
    alive as its own, and the grading runs do not starve each other."""
    if _HELD:
        yield
        return
    fd = os.open(folder / "coursetools-grading.lock", os.O_CREAT | os.O_RDWR, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        _HELD.append(fd)
        yield
    finally:
        _HELD.clear()
        os.close(fd)


@pytest.fixture(scope="session")
def grading_lock():
    """``with grading_lock():`` around a `make grade` run and what the test then inspects."""
    return lambda: exclusive_grading(Path(tempfile.gettempdir()))


def run_make_grade(root: Path, *args: str, timeout: float = 600, env: dict[str, str] | None = None,
                   ) -> subprocess.CompletedProcess:
    """``python -m coursetools.grading --course-root root *args`` (what `make grade` runs).  Callers hold
    the grading lock (fixture ``grading_lock``)."""
    assert _HELD, "run `make grade` inside `with grading_lock():`"
    return subprocess.run([sys.executable, "-m", "coursetools.grading", "--course-root", str(root), *args],
                          capture_output=True, text=True, timeout=timeout, env=env)


def short_id(path: Path) -> str:
    return str(path.relative_to(COURSE_ROOT))


@pytest.fixture
def course_copy(tmp_path: Path) -> Path:
    """A temporary copy of the course (config and source/) to generate and grade in."""
    return COURSE.copy_to(tmp_path / "course").root


@pytest.fixture
def no_thread_left_behind():
    """The test ends with exactly the threads it started with."""
    before = set(threading.enumerate())
    yield
    left = [t.name for t in threading.enumerate() if t not in before]
    assert not left, f"threads left running: {left}"


@pytest.fixture
def no_child_left_running():
    """The test ends with no process of its own running: every descendant it started has ended (within
    5 s) and every ``multiprocessing`` child it started was joined.  multiprocessing's own helpers
    (resource tracker, fork server) are not the test's (see ``ps_common.running_children``)."""
    before, unjoined_before = set(running_children()), set(multiprocessing.active_children())
    yield
    deadline = time.monotonic() + 5
    while (left := set(running_children()) - before) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not left, f"processes left running: {sorted(pid for pid, _ in left)}"
    assert not set(multiprocessing.active_children()) - unjoined_before, "a child process was not joined"
