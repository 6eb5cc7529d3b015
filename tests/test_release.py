"""The committed student versions are exactly what nbgrader generates from source/, and every copy of
the shared module coursetools/ps_common.py is that module."""
from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import pytest

from conftest import ASSIGNMENTS
from coursetools import COURSE_ROOT
from coursetools.course import Course
from coursetools.ps_common_copies import CANONICAL, SETS_USING, copy_path


def normalised(path: Path) -> str:
    """A notebook as canonical JSON, so formatting differences do not count."""
    return json.dumps(nbformat.read(path, as_version=4), sort_keys=True, indent=1)


def files_below(folder: Path) -> set[str]:
    return {
        str(p.relative_to(folder)) for p in folder.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and ".ipynb_checkpoints" not in p.parts
    }


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_release_is_what_nbgrader_generates(assignment, course_copy):
    """Regenerating release/<assignment> in a temp copy gives the committed files."""
    Course(course_copy).generate(assignment)
    fresh = Course(course_copy).folder("release", assignment)
    committed = Course().folder("release", assignment)
    assert committed.is_dir(), f"release/{assignment} is missing: run `make release` and commit it"
    assert files_below(committed) == files_below(fresh), (
        f"release/{assignment} has other files than nbgrader makes: run `make release`")
    for name in sorted(files_below(fresh)):
        if name.endswith(".ipynb"):
            same = normalised(committed / name) == normalised(fresh / name)
        else:
            same = (committed / name).read_bytes() == (fresh / name).read_bytes()
        assert same, f"release/{assignment}/{name} differs from what nbgrader generates: run `make release`"


def test_every_release_has_a_source():
    """No stale student version is left after a problem set is renamed or removed."""
    released = sorted(p.name for p in Course().folder("release").iterdir() if p.is_dir())
    assert released == ASSIGNMENTS, f"release/ has {released}, source/ has {ASSIGNMENTS}"


@pytest.mark.parametrize("assignment", SETS_USING)
def test_every_copy_of_ps_common_is_the_canonical_module(assignment):
    """source/<set>/ps_common.py (what nbgrader ships and grades with) and release/<set>/ps_common.py."""
    for folder in ("source", "release"):
        copy = copy_path(assignment, COURSE_ROOT, folder)
        assert copy.is_file() and copy.read_bytes() == CANONICAL.read_bytes(), (
            f"{folder}/{assignment}/{CANONICAL.name} is not coursetools/{CANONICAL.name}: run `make release`")


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_ps_common_is_copied_where_it_is_imported(assignment):
    folder = COURSE_ROOT / "source" / assignment
    importers = [p.name for p in folder.glob("*.py") if p.name != CANONICAL.name
                 and re.search(r"^(from|import) ps_common\b", p.read_text(), re.MULTILINE)]
    assert bool(importers) == (assignment in SETS_USING), (
        f"{assignment}: modules importing ps_common: {importers}; ps_common_copies.SETS_USING: {SETS_USING}")
    if assignment not in SETS_USING:
        assert not copy_path(assignment).exists(), f"source/{assignment}/{CANONICAL.name} is a stale copy"
