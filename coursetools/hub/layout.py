"""The hub's state folder: what ``make hub`` lays out before JupyterHub starts.

::

    <state>/hub.json            what jupyterhub_config.py reads: ports, accounts, paths
    <state>/accounts.json       account names, roles and passwords (root only)
    <state>/exchange/           the shared nbgrader exchange (everyone reads and writes, as nbgrader documents)
    <state>/etc/instructor/     Jupyter config of the instructor's server (JUPYTER_CONFIG_PATH)
    <state>/etc/student/        Jupyter config of every student's server
    <state>/home/<account>/     each account's home; the instructor's holds the course (``course/``)
    <state>/jupyterhub.sqlite, jupyterhub_cookie_secret, jupyterhub.pid, jupyterhub.log
"""
from __future__ import annotations

import json
import os
import pwd
import shutil
from dataclasses import dataclass
from pathlib import Path

from .. import COURSE_ROOT
from ..course import CONFIG_FILE, Course
from ..exchange import ensure_exchange
from . import accounts as acc

DEFAULT_STATE = COURSE_ROOT / "build" / "hub"
NBGRADER_LAB_PLUGINS_FOR_INSTRUCTORS = ["@jupyter/nbgrader:formgrader", "@jupyter/nbgrader:create-assignment",
                                        "@jupyter/nbgrader:course-list"]
"""nbgrader's JupyterLab plugins a student's server leaves out (its server extension too)."""


@dataclass(frozen=True)
class HubLayout:
    state: Path
    port: int = 8000

    @property
    def api_port(self) -> int:
        """The proxy's REST API (loopback only)."""
        return self.port + 1

    @property
    def hub_port(self) -> int:
        """The hub's own server, behind the proxy."""
        return self.port + 2

    @property
    def ports(self) -> dict[str, int]:
        return {"the hub (HUB_PORT)": self.port, "the proxy's API (HUB_PORT + 1)": self.api_port,
                "the hub's internal server (HUB_PORT + 2)": self.hub_port}

    def path(self, *parts: str) -> Path:
        return self.state.joinpath(*parts)

    @property
    def settings_file(self) -> Path:
        return self.path("hub.json")

    @property
    def accounts_file(self) -> Path:
        return self.path("accounts.json")

    @property
    def pid_file(self) -> Path:
        return self.path("jupyterhub.pid")

    @property
    def exchange(self) -> Path:
        return self.path("exchange")

    def home(self, name: str) -> Path:
        return self.path("home", name)

    def course(self) -> Path:
        """The instructor's course folder (a copy of this repository's course)."""
        return self.home(acc.INSTRUCTOR) / "course"

    def config_dir(self, role: str) -> Path:
        return self.path("etc", role)

    def settings(self) -> dict:
        return json.loads(self.settings_file.read_text())


def write_role_configs(layout: HubLayout, course_id: str) -> None:
    """Each role's Jupyter config: the shared exchange and nbgrader's JupyterHub auth plugin for all; the
    course folder for the instructor; no Formgrader or Create Assignment for students."""
    shared = (f"c.Exchange.root = {str(layout.exchange)!r}\n"
              "c.Exchange.path_includes_course = True\n"
              "from nbgrader.auth import JupyterHubAuthPlugin\n"
              "c.Authenticator.plugin_class = JupyterHubAuthPlugin\n"
              f"c.CourseDirectory.course_id = {course_id!r}\n")
    instructor = layout.config_dir("instructor")
    instructor.mkdir(parents=True, exist_ok=True)
    (instructor / "nbgrader_config.py").write_text(
        "# The instructor's course, then what every server of this hub shares.\n"
        f"load_subconfig({str(layout.course() / CONFIG_FILE)!r})\n" + shared)
    student = layout.config_dir("student")
    (student / "labconfig").mkdir(parents=True, exist_ok=True)
    (student / "nbgrader_config.py").write_text(
        "# A student has no course folder of their own: nbgrader works in their home.\n"
        "import os\n"
        "c.CourseDirectory.root = os.path.expanduser('~')\n" + shared)
    (student / "labconfig" / "page_config.json").write_text(json.dumps(
        {"disabledExtensions": {plugin: True for plugin in NBGRADER_LAB_PLUGINS_FOR_INSTRUCTORS}}, indent=1))
    (student / "jupyter_server_config.json").write_text(json.dumps(
        {"ServerApp": {"jpserver_extensions": {"nbgrader.server_extensions.formgrader": False}}}, indent=1))
    for folder in (layout.path("etc"), instructor, student, student / "labconfig"):
        os.chmod(folder, 0o755)
        for path in folder.iterdir():
            if path.is_file():
                os.chmod(path, 0o644)


def give(path: Path, name: str) -> None:
    """``chown -R name:name path``."""
    entry = pwd.getpwnam(name)
    for item in [path, *path.rglob("*")]:
        os.lchown(item, entry.pw_uid, entry.pw_gid)


def lay_out(layout: HubLayout, students: int, proxy: Path, user_env: Path,
            course_root: Path = COURSE_ROOT) -> list[acc.Account]:
    """Create the accounts and the state folder (see the module docstring); returns the accounts.
    ``user_env``: the environment every user's server runs in."""
    layout.state.mkdir(parents=True, exist_ok=True)
    os.chmod(layout.state, 0o755)  # every account reaches the exchange, the config and its home through it
    layout.path("home").mkdir(exist_ok=True)
    os.chmod(layout.path("home"), 0o755)
    kept = {a.name: a for a in acc.load(layout.accounts_file) if acc.ours(a.name) and layout.home(a.name).is_dir()}
    wanted = [(acc.INSTRUCTOR, "instructor")] + [(name, "student") for name in acc.student_names(students)]
    # A hub started again keeps its accounts, their work and the gradebook: only what is missing is made.
    accounts = [kept.get(name) or acc.create(name, role, layout.home(name)) for name, role in wanted]
    acc.save(accounts, layout.accounts_file)

    if layout.course().is_dir():
        course = Course(layout.course())
    else:
        course = Course(course_root).copy_to(layout.course())
        for assignment in course.assignments():
            course.generate(assignment)  # the student versions, and the assignments in the gradebook
        give(layout.course(), acc.INSTRUCTOR)
    ensure_exchange(layout.exchange)
    write_role_configs(layout, course.config.CourseDirectory.course_id)
    layout.settings_file.write_text(json.dumps({
        "port": layout.port, "api_port": layout.api_port, "hub_port": layout.hub_port,
        "instructor": acc.INSTRUCTOR, "students": acc.student_names(students),
        "course_id": course.config.CourseDirectory.course_id,
        "venv_bin": str(user_env / "bin"), "proxy": str(proxy),
        "config_dirs": {role: str(layout.config_dir(role)) for role in ("instructor", "student")},
    }, indent=1))
    return accounts


def remove_state(layout: HubLayout) -> None:
    """The accounts the hub made (by name and mark) and the state folder."""
    names = {a.name for a in acc.load(layout.accounts_file)} | {acc.INSTRUCTOR}
    names |= {entry.pw_name for entry in pwd.getpwall() if entry.pw_name.startswith(acc.STUDENT_PREFIX)}
    for name in sorted(names):
        acc.remove(name)
    shutil.rmtree(layout.state, ignore_errors=True)
