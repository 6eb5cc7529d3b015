"""The course model: an nbgrader course folder seen through nbgrader's own ``CourseDirectory``.

The repository root is an nbgrader course directory.  :class:`Course` reads
its ``nbgrader_config.py`` and answers, from nbgrader's ``CourseDirectory``
and ``NbGraderAPI``, everything the tools and the tests ask of a course: where
each folder is (``format_path`` with the folder names the config sets), the
gradebook's URL and file, the assignments and their notebooks, the
submissions, the one ignore list, and the nbgrader steps the course runs
(generate, submit, read scores).  It works as well on a temporary copy of the
course, or on the private course a grading worker builds.
"""
from __future__ import annotations

import copy
import fnmatch
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook
from nbgrader.apps import NbGraderAPI
from nbgrader.coursedir import CourseDirectory
from traitlets.config import Config
from traitlets.config.loader import PyFileConfigLoader

from . import COURSE_ROOT, put_environment_scripts_on_path
from .nbgrader_errors import result_error_line
from .ps_common_copies import write_copy

CONFIG_FILE = "nbgrader_config.py"
SQLITE = "sqlite:///"


class NbgraderError(RuntimeError):
    """An nbgrader step failed; the message is one line a TA can act on (``detail``: nbgrader's own line)."""

    def __init__(self, what: str, detail: str = "") -> None:
        super().__init__(f"{what}: {detail}" if detail else what)
        self.detail = detail


@dataclass(frozen=True)
class CellScore:
    """The autograded score of one graded cell."""

    notebook: str
    grade_id: str
    score: float
    max_score: float
    manual: bool


def read_config(root: Path) -> Config:
    """``root/nbgrader_config.py`` (if any) with the course root set to ``root``."""
    root = Path(root).resolve()
    config = Config()
    if (root / CONFIG_FILE).is_file():
        config = PyFileConfigLoader(CONFIG_FILE, path=str(root)).load_config()
    config.CourseDirectory.root = str(root)
    return config


def notebooks_in(folder: Path) -> dict[str, nbformat.NotebookNode]:
    """The notebooks of a folder by name (without .ipynb)."""
    return {p.stem: nbformat.read(p, as_version=4) for p in sorted(Path(folder).glob("*.ipynb"))}


def ignored_by(patterns: list[str], name: str) -> bool:
    """Whether an ignore list (nbgrader's ``CourseDirectory.ignore``) leaves out a file or folder of this name."""
    return any(fnmatch.fnmatch(name, pattern) for pattern in patterns)


def visible_folders(folder: Path) -> list[Path]:
    """The folders in ``folder`` that are not hidden, sorted (none if it does not exist)."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))


class Course:
    """An nbgrader course folder (see the module docstring)."""

    def __init__(self, root: Path = COURSE_ROOT, config: Config | None = None) -> None:
        self.root = Path(root).resolve()
        self.config = copy.deepcopy(config) if config is not None else read_config(self.root)
        self.config.CourseDirectory.root = str(self.root)
        self.directory = CourseDirectory(config=self.config)

    def moved_to(self, root: Path) -> Course:
        """The same course (its config) at another root, with the gradebook that belongs there."""
        config = copy.deepcopy(self.config)
        config.CourseDirectory.pop("db_url", None)
        return Course(root, config)

    # --- where things are
    def folder(self, step: str, assignment: str = ".", student: str = ".") -> Path:
        """nbgrader's folder of ``step`` (source, release, submitted, autograded, feedback) for an assignment
        (and a student): ``format_path`` with the folder names the config sets."""
        name = getattr(self.directory, f"{step}_directory")
        return Path(os.path.normpath(self.directory.format_path(name, student, assignment)))

    def folder_name(self, step: str) -> str:
        """The configured name of ``step``'s folder (``source``...), for messages."""
        return getattr(self.directory, f"{step}_directory")

    @property
    def db_url(self) -> str:
        return self.directory.db_url

    @property
    def gradebook_file(self) -> Path:
        """The SQLite file of the gradebook (grading copies and hides it)."""
        if not self.db_url.startswith(SQLITE):
            raise NbgraderError(f"the gradebook is not an SQLite file: {self.db_url}")
        return Path(self.db_url[len(SQLITE):])

    # --- the one ignore list (nbgrader's CourseDirectory.ignore, set in nbgrader_config.py)
    @property
    def ignore(self) -> list[str]:
        return list(self.directory.ignore)

    def ignored(self, name: str) -> bool:
        """Whether nbgrader ignores a file or folder of this name."""
        return ignored_by(self.ignore, name)

    def copytree_ignore(self) -> Callable[[str, list[str]], set[str]]:
        """The ignore list as ``shutil.copytree``'s ``ignore``."""
        return shutil.ignore_patterns(*self.ignore)

    # --- assignments, notebooks, submissions
    def assignments(self) -> list[str]:
        """The assignments: folders of ``source/`` that hold a notebook."""
        return [f.name for f in visible_folders(self.folder("source")) if any(f.glob("*.ipynb"))]

    def notebook_names(self, assignment: str) -> list[str]:
        """The names (without .ipynb) of an assignment's notebooks in ``source/``."""
        return list(self.notebooks("source", assignment))

    def notebooks(self, step: str, assignment: str, student: str = ".") -> dict[str, nbformat.NotebookNode]:
        """An assignment's notebooks in ``step``'s folder, by name."""
        return notebooks_in(self.folder(step, assignment, student))

    def submissions(self) -> list[tuple[str, str, Path]]:
        """(student, assignment, folder) of every folder in ``submitted/``, sorted."""
        return [(student.name, folder.name, folder) for student in visible_folders(self.folder("submitted"))
                for folder in visible_folders(student)]

    # --- nbgrader steps
    def api(self, **directories: str) -> NbGraderAPI:
        """nbgrader's API for this course (``directories``: CourseDirectory folders to use instead)."""
        put_environment_scripts_on_path()
        config = copy.deepcopy(self.config)
        for name, value in directories.items():
            config.CourseDirectory[name] = value
        return NbGraderAPI(config=config)

    def generate(self, assignment: str, release_to: Path | None = None) -> None:
        """Generate the student version of ``assignment`` (and record it in the gradebook), into
        ``release/`` or ``release_to``."""
        if not self.folder("source", assignment).is_dir():
            raise NbgraderError(f"unknown assignment {assignment!r}: no folder "
                                f"{self.folder_name('source')}/{assignment}")
        write_copy(assignment, self.root)  # the set's copy of ps_common, refreshed first
        api = self.api(release_directory=str(release_to)) if release_to else self.api()
        result = api.generate_assignment(assignment, force=True, create=True)
        if not result["success"]:
            raise NbgraderError(f"generating {assignment} failed", result_error_line(result))

    def copy_to(self, dest: Path) -> Course:
        """A copy of what grading needs (the config and ``source/``) in ``dest``."""
        dest = Path(dest)
        dest.mkdir(parents=True, exist_ok=True)
        if (self.root / CONFIG_FILE).is_file():
            shutil.copy2(self.root / CONFIG_FILE, dest / CONFIG_FILE)
        source = self.folder("source")
        if source.is_dir():
            shutil.copytree(source, dest / source.relative_to(self.root), ignore=self.copytree_ignore())
        return Course(dest)

    def submit(self, assignment: str, student: str, notebooks: dict[str, nbformat.NotebookNode],
               files: dict[str, str] | None = None) -> Path:
        """Place a student's notebooks (and the release's other files) in ``submitted/``, with any other
        ``files`` (relative path: text) the student put in the assignment folder."""
        folder = self.folder("submitted", assignment, student)
        release = self.folder("release", assignment)
        if release.is_dir():
            shutil.copytree(release, folder, dirs_exist_ok=True)
        folder.mkdir(parents=True, exist_ok=True)
        for name, nb in notebooks.items():
            nbformat.write(nb, folder / f"{name}.ipynb")
        for name, text in (files or {}).items():
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            (folder / name).write_text(text)
        return folder

    def scores(self, assignment: str, student: str) -> list[CellScore]:
        """Every graded cell's score for one student's autograded submission."""
        found = []
        with Gradebook(self.db_url) as gb:
            submission = gb.find_submission(assignment, student)
            for nb in submission.notebooks:
                for grade in nb.grades:
                    manual = grade.auto_score is None
                    found.append(CellScore(nb.name, grade.name, grade.score, grade.max_score, manual))
        return found
