"""A tiny nbgrader course ("fx", 4 points) and the submissions that attack the grader.

The assignment has two solution cells: ``double`` (tested by a visible 1-point
and a hidden 2-point cell) and ``squares``, which uses a *spawn*
``ProcessPoolExecutor`` and the shipped worker module ``fx_workers.py``
(1 point), so every kernel also proves that child processes work in the
sandbox.  A hostile submission is the solution with the ``double`` cell (or
another part) replaced; :data:`HOSTILE` says what each does and the score it
must get.  Hostile code runs before ``def double`` so that a submission which
is stopped never defines it.
"""
from __future__ import annotations

import copy
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from coursetools import COURSE_ROOT
from coursetools.course import Course

ASSIGNMENT = "fx"
FULL_MARKS = 4.0
SLEEP_MARKS = ("7301", "7302", "7303")
"""Arguments of the `sleep` processes hostile submissions leave behind (looked for afterwards)."""

WORKER_MODULE = '''"""Worker functions of the fixture assignment (run in child processes)."""


def square(x: int) -> int:
    """x squared."""
    return x * x
'''

DOUBLE = '''def double(x):
    """Return twice x."""
    ### BEGIN SOLUTION
    return 2 * x
    ### END SOLUTION
'''

SQUARES = '''def squares(n):
    """[0, 1, 4, ...]: fx_workers.square over range(n) in a spawn process pool."""
    ### BEGIN SOLUTION
    import concurrent.futures
    import multiprocessing
    with concurrent.futures.ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool:
        return list(pool.map(fx_workers.square, range(n)))
    ### END SOLUTION
'''


def _cell(kind: str, source: str, grade_id: str, *, solution=False, grade=False, points=0, locked=False):
    meta = {"grade": grade, "grade_id": grade_id, "locked": locked, "schema_version": 3,
            "solution": solution, "task": False}
    if grade:
        meta["points"] = points
    make = new_code_cell if kind == "code" else new_markdown_cell
    return make(source, metadata={"nbgrader": meta})


def source_notebook() -> nbformat.NotebookNode:
    cells = [
        _cell("markdown", "# Fixture\n\nTwo small functions, 4 points.", "intro", locked=True),
        _cell("code", "import fx_workers", "setup", locked=True),
        _cell("code", DOUBLE, "double", solution=True),
        _cell("code", 'assert double(2) == 4, "double(2) should be 4"', "test_double", grade=True, points=1,
              locked=True),
        _cell("code", "### BEGIN HIDDEN TESTS\nassert double(-3) == -6\nassert double(0.5) == 1.0\n"
              "### END HIDDEN TESTS", "test_double_hidden", grade=True, points=2, locked=True),
        _cell("code", SQUARES, "squares", solution=True),
        _cell("code", 'assert squares(4) == [0, 1, 4, 9], "squares(4) should be [0, 1, 4, 9]"', "test_squares",
              grade=True, points=1, locked=True),
    ]
    return new_notebook(cells=cells, metadata={
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
        "language_info": {"name": "python"}})


def make_course(dest: Path, cell_timeout: int = 5, interrupt_grace: float = 3) -> Path:
    """A course folder with the fixture assignment generated, and no gradebook (as a fresh clone)."""
    dest.mkdir(parents=True)
    config = (COURSE_ROOT / "nbgrader_config.py").read_text()
    config += (f"\n# Grading tests: short per-cell timeout for the submissions that hang.\n"
               f"c.Execute.timeout = {cell_timeout}\nc.GradingExecute.interrupt_grace = {interrupt_grace}\n")
    (dest / "nbgrader_config.py").write_text(config)
    folder = dest / "source" / ASSIGNMENT
    folder.mkdir(parents=True)
    nbformat.write(source_notebook(), folder / f"{ASSIGNMENT}.ipynb")
    (folder / "fx_workers.py").write_text(WORKER_MODULE)
    course = Course(dest)
    course.generate(ASSIGNMENT)
    course.gradebook_file.unlink()
    return dest


def solution() -> nbformat.NotebookNode:
    return source_notebook()


def blank(root: Path) -> nbformat.NotebookNode:
    return Course(root).notebooks("release", ASSIGNMENT)[ASSIGNMENT]


def with_double(code: str) -> Callable[[nbformat.NotebookNode], None]:
    """An edit that puts ``code`` before a correct ``double`` in the double cell."""
    def edit(nb: nbformat.NotebookNode) -> None:
        cell = _find(nb, "double")
        cell.source = code.rstrip() + "\n\n\ndef double(x):\n    return 2 * x\n"
    return edit


def _find(nb: nbformat.NotebookNode, grade_id: str) -> nbformat.NotebookNode:
    return next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def _wrong_double_and(change: Callable[[nbformat.NotebookNode], None]) -> Callable:
    def edit(nb: nbformat.NotebookNode) -> None:
        _find(nb, "double").source = "def double(x):\n    return x + 2   # right for 2 only\n"
        change(nb)
    return edit


def _edit_hidden_test(nb: nbformat.NotebookNode) -> None:
    _find(nb, "test_double_hidden").source = "assert True"


def _delete_tests(nb: nbformat.NotebookNode) -> None:
    nb.cells = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id")
                not in ("test_double", "test_double_hidden")]


def _hang_many(nb: nbformat.NotebookNode) -> None:
    at = nb.cells.index(_find(nb, "double")) + 1
    nb.cells[at:at] = [new_code_cell("import time\ntime.sleep(1000)") for _ in range(10)]


@dataclass
class Hostile:
    """A submission, what it does, and what grading must give it."""

    what: str
    edit: Callable[[nbformat.NotebookNode], None] | None = None
    score: float = FULL_MARKS
    graded: bool = True
    files: dict[str, str] = field(default_factory=dict)
    raw_notebook: str | None = None
    no_notebook: bool = False
    sandbox_only: bool = False
    """Harmless only inside the sandbox (or defeated only by it)."""
    fallback: tuple[float, bool] | None = None
    """(score, graded) outside the sandbox, when they differ."""


def hostile_class(root: Path, port: int) -> dict[str, Hostile]:
    """Every hostile submission, by student id.  ``port``: a loopback server that must stay unreached."""
    root = str(root)
    return {
        "loop": Hostile("an infinite loop", with_double("while True:\n    pass"), score=1),
        "sigint": Hostile("a loop that ignores SIGINT", with_double(
            "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    pass"),
            score=0, graded=False),
        "queue_get": Hostile("a blocking Queue.get()", with_double(
            "import multiprocessing\nmultiprocessing.Queue().get()"), score=1),
        "pool_open": Hostile("a Pool never closed", with_double(
            "import multiprocessing\npool = multiprocessing.Pool(2)\npool.map(abs, [1, -2])")),
        "os_exit": Hostile("os._exit in a cell", with_double("import os\nos._exit(0)"), score=0, graded=False),
        "sys_exit": Hostile("sys.exit in a cell", with_double("import sys\nsys.exit(3)"), score=1),
        # In the sandbox the kernel is PID 1 of its namespace: its parent is out of reach (ppid 0,
        # kill(0) hits only its own group, and init ignores SIGKILL sent from inside).  Outside, the
        # kernel's parent is the grading worker, which dies: that submission is not graded.
        "kill_parent": Hostile("kills its parent process", with_double(
            "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)"), fallback=(0, False)),
        "new_session": Hostile("a child in a new session that sleeps", with_double(
            "import subprocess\nsubprocess.Popen(['sleep', '7301'], start_new_session=True)")),
        "double_fork": Hostile("a double fork (grandchild in a new session)", with_double(
            "import os\npid = os.fork()\nif pid == 0:\n    if os.fork() == 0:\n        os.setsid()\n"
            "        os.execvp('sleep', ['sleep', '7302'])\n    os._exit(0)\nos.waitpid(pid, 0)")),
        "flood": Hostile("a process flood (fork until refused, children sleep)", with_double(
            "import os, time\nchildren = []\ntry:\n    while len(children) < 5000:\n        pid = os.fork()\n"
            "        if pid == 0:\n            time.sleep(7303)\n            os._exit(0)\n"
            "        children.append(pid)\nexcept OSError:\n    pass"), score=3, sandbox_only=True),
        "memory_hog": Hostile("a memory hog", with_double("hog = [bytearray(2**26) for _ in range(10**6)]"), score=1),
        "output_flood": Hostile("a million lines of output", with_double(
            "import sys\nsys.stdout.write('spam\\n' * 10**6)")),
        "huge_file": Hostile("writes a huge file", with_double(
            "chunk = b'0' * 2**20\nwith open('huge.bin', 'wb') as f:\n    while True:\n        f.write(chunk)"),
            score=1),
        "edited_test": Hostile("a hidden test cell edited to assert True", _wrong_double_and(_edit_hidden_test),
                               score=2),
        "deleted_test": Hostile("both double test cells deleted", _wrong_double_and(_delete_tests), score=1),
        "vandal_module": Hostile("a vandalised worker module", files={
            "fx_workers.py": "import os\nos.environ.clear()\n\ndef square(x):\n    return -1\n"}),
        "snoop": Hostile("reads the source, the gradebook and other students' submissions", with_double(
            "import glob\nfound = ''\nfor pattern in [\n"
            f"        {root + '/source/*/*.ipynb'!r}, {root + '/submitted/*/*/*.ipynb'!r},\n"
            f"        {root + '/gradebook.db'!r}, '../../../source/*/*.ipynb', '../../../gradebook.db',\n"
            "        '../../*/*/*.ipynb', '/var/tmp/coursegrade-*/s*/t*/course/*/*/*/*.ipynb',\n"
            "        '/tmp/coursegrade-*/s*/t*/course/*/*/*/*.ipynb']:\n"
            "    for path in glob.glob(pattern):\n        try:\n"
            "            found += open(path, errors='replace').read()\n        except OSError:\n            pass\n"
            "if 'return 2 * x' not in found:\n    raise RuntimeError('nothing to copy')"),
            score=1, sandbox_only=True),
        "network": Hostile("opens a network connection", with_double(
            f"import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=3).sendall(b'LEAK')"),
            score=1, sandbox_only=True),
        # Would kill every process of the grader's user outside the sandbox (never run there); inside,
        # there is no other process to signal (ESRCH), so the cell fails before defining double.
        "kill_all": Hostile("kill(-1, SIGKILL): every process it may signal", with_double(
            "import os, signal\nos.kill(-1, signal.SIGKILL)"), score=1, sandbox_only=True),
        "symlinks": Hostile("plants symlinks where the grader writes", with_double(
            "import os\nos.symlink('/etc/passwd', 'planted')\nos.remove('fx.ipynb')\n"
            "os.symlink('../../../gradebook.db', 'fx.ipynb')")),
        "hang_many": Hostile("ten added cells that each hang until the cell timeout", _hang_many,
                             score=0, graded=False),
        "unreadable": Hostile("a notebook that is not JSON", raw_notebook='{"cells": [ this is not json',
                              score=0, graded=False),
        "missing": Hostile("no notebook in the submission", no_notebook=True, score=0, graded=False),
    }


def add_submission(root: Path, student: str, hostile: Hostile | None = None,
                   notebook: nbformat.NotebookNode | None = None) -> Path:
    """Place one submission in ``root/submitted`` (the solution unless told otherwise)."""
    nb = copy.deepcopy(notebook if notebook is not None else solution())
    if hostile is not None and hostile.edit is not None:
        hostile.edit(nb)
    folder = Course(root).submit(ASSIGNMENT, student, {} if hostile and (hostile.no_notebook or hostile.raw_notebook)
                    else {ASSIGNMENT: nb})
    if hostile is not None:
        if hostile.no_notebook:
            (folder / f"{ASSIGNMENT}.ipynb").unlink()
        if hostile.raw_notebook is not None:
            (folder / f"{ASSIGNMENT}.ipynb").write_text(hostile.raw_notebook)
        for name, text in hostile.files.items():
            (folder / name).write_text(text)
    return folder


def remove_submission(root: Path, student: str) -> None:
    shutil.rmtree(Course(root).folder("submitted", ASSIGNMENT, student))
