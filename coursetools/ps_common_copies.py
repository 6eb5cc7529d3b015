"""Copies of :mod:`coursetools.ps_common` in the problem-set folders that use it.

A problem-set folder must be self-contained: nbgrader copies ``source/<set>/``
to the students, and their kernel sees only that folder.  So the one
implementation of what several sets share lives in ``coursetools/ps_common.py``
and travels as a byte-identical copy ``source/<set>/ps_common.py``, which
:func:`write_copy` writes before nbgrader generates ``release/<set>`` (``make
release``); nbgrader then ships it like any helper module, and the grading
integrity checks protect it like one.
"""
from __future__ import annotations

from pathlib import Path

from . import COURSE_ROOT

CANONICAL = Path(__file__).with_name("ps_common.py")
SETS_USING = ("ps1_processes", "ps2_ipc", "ps3_threads", "ps5_pool")
"""The problem sets whose helper modules import ``ps_common``."""


def copy_path(assignment: str, root: Path = COURSE_ROOT, folder: str = "source") -> Path:
    """Where ``assignment``'s copy is: ``root/<folder>/<assignment>/ps_common.py``."""
    return Path(root) / folder / assignment / CANONICAL.name


def write_copy(assignment: str, root: Path = COURSE_ROOT) -> None:
    """Make ``source/<assignment>/ps_common.py`` the canonical module again (if the set uses it)."""
    if assignment not in SETS_USING:
        return
    target = copy_path(assignment, root)
    content = CANONICAL.read_bytes()
    if not target.is_file() or target.read_bytes() != content:
        target.write_bytes(content)
