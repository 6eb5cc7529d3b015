"""Build submissions from the instructor's solution or the blank release, and grade them.

A gaming entry may carry ``files`` (relative path: text), other files the
student put in the assignment folder.

Shared by the grading-pipeline tests (plausible wrong submissions,
``tests/wrong_submissions/``) and the red-team suite (gaming submissions,
``tests/gaming_submissions/``).  Run as a script to grade one set's gaming
submissions with plain nbgrader and print what each earned:

    .venv/bin/python tests/submissions.py ps1_processes [name ...] [--nbgrader-option ...]

(``--GuardedExecute.static_scan=False`` tries the runtime checks alone; ``--holes`` grades the
set's ``KNOWN_HOLES``, attacks that still score, instead.)  With
``--wrong`` it grades the set's plausible wrong submissions instead and prints,
for each, whether it lost exactly the points it declares; the last line says
how long grading took.
"""
from __future__ import annotations

import copy
import importlib.util
import sys
import tempfile
import time
from pathlib import Path

import nbformat

from coursetools.course import Course

HERE = Path(__file__).resolve().parent
WRONG_DIR = HERE / "wrong_submissions"
GAMING_DIR = HERE / "gaming_submissions"


def load_table(folder: Path, assignment: str, name: str) -> dict[str, dict]:
    """The dict ``name`` of ``folder/<assignment>.py`` (empty if there is no such file)."""
    path = folder / f"{assignment}.py"
    if not path.exists():
        return {}
    spec = importlib.util.spec_from_file_location(f"{folder.name}_{assignment}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return getattr(module, name)


def wrong_submissions(assignment: str) -> dict[str, dict]:
    """``SUBMISSIONS`` of tests/wrong_submissions/<assignment>.py."""
    return load_table(WRONG_DIR, assignment, "SUBMISSIONS")


def gaming_submissions(assignment: str) -> dict[str, dict]:
    """``GAMING`` of tests/gaming_submissions/<assignment>.py."""
    return load_table(GAMING_DIR, assignment, "GAMING")


def build(base: dict[str, nbformat.NotebookNode], cells: dict[str, str] | None = None,
          insert_after: dict[str, str | list[str]] | None = None) -> dict[str, nbformat.NotebookNode]:
    """``base`` with solution cells' sources replaced and new code cells a student added.

    ``cells`` maps a solution cell's grade id to its new source; ``insert_after``
    maps a grade id to the source (or sources) of new cells placed right after it.
    """
    changed = copy.deepcopy(base)
    pending = dict(cells or {})
    inserts = dict(insert_after or {})
    for nb in changed.values():
        out = []
        for cell in nb.cells:
            out.append(cell)
            info = cell.metadata.get("nbgrader", {})
            grade_id = info.get("grade_id")
            if grade_id in pending:
                assert info.get("solution"), f"{grade_id} is not a solution cell"
                cell.source = pending.pop(grade_id)
            if grade_id in inserts:
                sources = inserts.pop(grade_id)
                for source in [sources] if isinstance(sources, str) else sources:
                    out.append(nbformat.v4.new_code_cell(source))
        nb.cells = out
    assert not pending, f"no solution cells with grade ids {sorted(pending)}"
    assert not inserts, f"no cells with grade ids {sorted(inserts)}"
    return changed


def typed_solution(root: Path, assignment: str) -> dict[str, nbformat.NotebookNode]:
    """The student version with the instructor's answer in every solution cell: what a student who
    solved everything submits (unlike ``source/``, it has the release's checksums and no hidden tests)."""
    course = Course(root)
    answers = {cell.metadata.nbgrader["grade_id"]: cell.source
               for nb in course.notebooks("source", assignment).values() for cell in nb.cells
               if cell.metadata.get("nbgrader", {}).get("solution")}
    return build(course.notebooks("release", assignment), answers)


def gaming_class(root: Path, assignment: str, table: dict[str, dict]) -> dict[str, dict[str, nbformat.NotebookNode]]:
    """The notebooks of every gaming submission in ``table``, by student name ``game-<name>``."""
    course = Course(root)
    bases = {"solution": course.notebooks("source", assignment), "blank": course.notebooks("release", assignment)}
    return {f"game-{name}": build(bases[spec.get("base", "solution")], spec.get("cells"), spec.get("insert_after"))
            for name, spec in table.items()}


def gaming_files(table: dict[str, dict]) -> dict[str, dict[str, str]]:
    """The other files (relative path: text) that gaming submissions put beside their notebooks."""
    return {f"game-{name}": spec["files"] for name, spec in table.items() if spec.get("files")}


def wrong_class(root: Path, assignment: str, table: dict[str, dict]) -> dict[str, dict[str, nbformat.NotebookNode]]:
    """The notebooks of every wrong submission in ``table``, by student name ``wrong-<name>``."""
    solution = Course(root).notebooks("source", assignment)
    return {f"wrong-{name}": build(solution, spec["cells"]) for name, spec in table.items()}


def gaming_verdict(spec: dict, cells: list) -> str:
    """What a gaming submission earned, against the most it may earn."""
    earned = sum(c.score for c in cells)
    verdict = "OK (no more than earned)" if earned <= spec["at_most"] else "GAMED (scored more than earned)"
    return f"{earned:g} of {sum(c.max_score for c in cells):g}, at most {spec['at_most']:g}: {verdict}"


def wrong_verdict(spec: dict, cells: list) -> str:
    """Whether a wrong submission lost exactly the points it declares, cell by cell."""
    expected = {c.grade_id: c.max_score - spec["loses"].get(c.grade_id, 0) for c in cells}
    off = {c.grade_id: (c.score, expected[c.grade_id]) for c in cells if c.score != expected[c.grade_id]}
    earned = sum(c.score for c in cells)
    return f"{earned:g} of {sum(c.max_score for c in cells):g}: " + (
        "OK (lost exactly its points)" if not off else f"WRONG (got, expected) {off}")


def main(argv: list[str]) -> int:
    sys.path.insert(0, str(HERE.parent))
    from coursetools.bench.baseline import grade_class_with_plain_nbgrader

    wrong = "--wrong" in argv
    holes = "--holes" in argv  # the gaming table's KNOWN_HOLES: attacks that still score
    options = [a for a in argv if a.startswith("--") and a not in ("--wrong", "--holes")]
    argv = [a for a in argv if not a.startswith("--")]
    if not argv or "--help" in options:
        print(__doc__)
        return 0 if argv or "--help" in options else 2
    assignment, names = argv[0], argv[1:]
    table = wrong_submissions(assignment) if wrong else \
        load_table(GAMING_DIR, assignment, "KNOWN_HOLES") if holes else gaming_submissions(assignment)
    if names:
        table = {n: table[n] for n in names}
    make_class, prefix, verdict = (wrong_class, "wrong", wrong_verdict) if wrong else \
        (gaming_class, "game", gaming_verdict)
    with tempfile.TemporaryDirectory() as tmp:
        course = Course().copy_to(Path(tmp) / "course")
        course.generate(assignment)
        started = time.monotonic()
        scores = grade_class_with_plain_nbgrader(course, assignment, make_class(course.root, assignment, table),
                                                 options=options, files=None if wrong else gaming_files(table))
        seconds = time.monotonic() - started
        for name, spec in table.items():
            cells = [c for c in scores[f"{prefix}-{name}"] if not c.manual]
            print(f"{name}: {verdict(spec, cells)}")
            print("    " + ", ".join(f"{c.grade_id}={c.score:g}" for c in cells))
    print(f"graded {len(table)} submissions in {seconds:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
