"""The committed student versions are exactly what nbgrader generates from source/."""
from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest

from coursetools.course import Course

from conftest import ASSIGNMENTS


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
