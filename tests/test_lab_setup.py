"""`make lab` on one machine: a course-local exchange the whole nbgrader loop goes through, and the
JupyterLab settings the environment ships (no news popup, no kernel picker, the course kernel)."""
from __future__ import annotations

import json
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from conftest import COURSE
from coursetools import COURSE_ROOT
from coursetools.course import CONFIG_FILE, Course
from coursetools.exchange import EVERYONE_READ_WRITE, exchange_root
from coursetools.exchange import main as make_exchange

ASSIGNMENT = "ps3_threads"
VENV = Path(sys.prefix)
LAB_SCHEMAS = VENV / "share" / "jupyter" / "lab" / "schemas"


def test_the_exchange_is_inside_the_course_and_git_ignored():
    root = exchange_root(COURSE_ROOT)
    assert root.parent == COURSE_ROOT
    if not (COURSE_ROOT / ".git").exists() or shutil.which("git") is None:
        pytest.skip("not a git checkout, or no git here (the other Pythons' chroot has none)")
    ignored = subprocess.run(["git", "check-ignore", "-q", str(root / "x")], cwd=COURSE_ROOT, check=False)
    assert ignored.returncode == 0, f"{root} is not git-ignored"


def test_make_exchange_creates_it_with_the_documented_permissions(tmp_path, capsys):
    (tmp_path / CONFIG_FILE).write_text((COURSE_ROOT / CONFIG_FILE).read_text())
    assert make_exchange(["--course-root", str(tmp_path)]) == 0
    root = exchange_root(tmp_path)
    assert root.is_dir() and stat.S_IMODE(root.stat().st_mode) & EVERYONE_READ_WRITE == EVERYONE_READ_WRITE
    assert str(root) in capsys.readouterr().out
    (root / "kept").write_text("x")
    assert make_exchange(["--course-root", str(tmp_path)]) == 0
    assert (root / "kept").read_text() == "x"


def nbgrader(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    """An nbgrader command as the one user of this machine would type it in ``cwd``."""
    done = subprocess.run([str(Path(sys.executable).with_name("nbgrader")), *args], cwd=cwd, capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == 0, f"nbgrader {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
    return done


@pytest.mark.slow  # eight nbgrader commands
def test_release_fetch_submit_collect_through_the_course_exchange(tmp_path):
    """The nbgrader loop without a kernel: the instructor releases, a student (another folder, the same
    course config) fetches and submits, the instructor collects; all through the configured exchange."""
    course = COURSE.copy_to(tmp_path / "course")
    course.generate(ASSIGNMENT)
    assert make_exchange(["--course-root", str(course.root)]) == 0
    nbgrader(course.root, "release_assignment", ASSIGNMENT)
    exchange = exchange_root(course.root)
    assert (exchange / course.config.CourseDirectory.course_id / "outbound" / ASSIGNMENT).is_dir()

    student = tmp_path / "student"
    student.mkdir()
    # What the course's environment gives every user: its nbgrader config (here the copy's), and a cache.
    (student / CONFIG_FILE).write_text(f"load_subconfig(r'{course.root / CONFIG_FILE}')\n"
                                       f"c.CourseDirectory.root = r'{student}'\n"
                                       f"c.Exchange.cache = r'{tmp_path / 'cache'}'\n")
    listed = nbgrader(student, "list")
    assert ASSIGNMENT in listed.stdout + listed.stderr
    nbgrader(student, "fetch_assignment", ASSIGNMENT)
    assert (student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").is_file()
    nbgrader(student, "submit", ASSIGNMENT)

    nbgrader(course.root, "collect", ASSIGNMENT)
    submitted = [(s, a) for s, a, _ in Course(course.root).submissions()]
    assert len(submitted) == 1 and submitted[0][1] == ASSIGNMENT
    assert (course.folder("submitted", ASSIGNMENT, submitted[0][0]) / f"{ASSIGNMENT}.ipynb").is_file()


def installed(name: str) -> Path:
    """Where ``make`` puts a file of lab/ in the environment (see the Makefile's LAB_SETTINGS)."""
    return {"overrides.json": VENV / "share" / "jupyter" / "lab" / "settings" / "overrides.json",
            "jupyter_server_config.json": VENV / "etc" / "jupyter" / "jupyter_server_config.d" / "course.json",
            }[name]


@pytest.mark.parametrize("name", ["overrides.json", "jupyter_server_config.json"])
def test_the_environment_has_the_course_lab_settings(name):
    shipped = COURSE_ROOT / "lab" / name
    assert installed(name).is_file(), f"{installed(name)} missing: run make env"
    assert json.loads(installed(name).read_text()) == json.loads(shipped.read_text()), "run make env"


def test_every_override_is_a_setting_jupyterlab_knows_with_a_valid_value():
    """A misspelt plugin or key would be ignored silently, and the popup would come back."""
    overrides = json.loads((COURSE_ROOT / "lab" / "overrides.json").read_text())
    for plugin, settings in overrides.items():
        package, name = plugin.split(":")
        schema = json.loads((LAB_SCHEMAS / package / f"{name}.json").read_text())
        for key, value in settings.items():
            assert key in schema["properties"], f"{plugin} has no setting {key!r}"
            jsonschema.validate(value, {**schema["properties"][key], "definitions": schema.get("definitions", {})})
    assert overrides["@jupyterlab/apputils-extension:notification"]["fetchNews"] == "false"


def test_the_default_kernel_is_the_course_kernel():
    config = json.loads((COURSE_ROOT / "lab" / "jupyter_server_config.json").read_text())
    name = config["MappingKernelManager"]["default_kernel_name"]
    spec = json.loads((VENV / "share" / "jupyter" / "kernels" / name / "kernel.json").read_text())
    assert spec["display_name"] == "Python 3 (course)"
    assert Path(spec["argv"][0]).resolve() == Path(sys.executable).resolve(), "the kernel is not this environment's"
