"""`make hub`: the course on a real local JupyterHub, used in headless Chromium by an instructor and students.

The hub runs as root with real Unix accounts (``coursetools/hub/``), in a state
folder of its own under ``build/`` (git-ignored; each account must reach it, so
not pytest's private temp folder).  After the test the hub is stopped, its
accounts are gone and no process of theirs, of the hub or of its proxy runs.
Screenshots: ``build/ui/hub-*.png``.
"""
from __future__ import annotations

import os
import pwd
import secrets
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import browser
import pytest

from coursetools import COURSE_ROOT
from coursetools.course import Course
from coursetools.hub import accounts as acc
from coursetools.hub.cli import environment_closed_to_others, hub_processes
from coursetools.hub.layout import HubLayout

PROXY = COURSE_ROOT / "build" / "hub-proxy" / "node_modules" / ".bin" / "configurable-http-proxy"
HUB_ENV = COURSE_ROOT / "build" / "hub-env"
USER_ENV = HUB_ENV if (HUB_ENV / "bin" / "jupyterhub-singleuser").exists() else Path(sys.prefix)
"""The environment the users' servers run in: ``make hub-env`` builds one they can reach when this
one's Python lives where they cannot (a Python under /root)."""
START_SECONDS = 120
ASSIGNMENT = "ps1_processes"


def hub_missing() -> str | None:
    """Why the hub cannot run here, in one line, or None."""
    if sys.platform != "linux" or os.geteuid() != 0:
        return "the hub needs root on Linux (Unix accounts, servers started as each user)"
    if shutil.which("node") is None:
        return "no node on PATH (configurable-http-proxy needs Node.js; .ci/run installs it)"
    if not os.access(PROXY, os.X_OK):
        return f"no {PROXY.relative_to(COURSE_ROOT)}: run make hub-proxy (.ci/run does)"
    return environment_closed_to_others(USER_ENV) or browser.missing()


pytestmark = [pytest.mark.slow, pytest.mark.skipif(hub_missing() is not None, reason=str(hub_missing())),
              pytest.mark.xdist_group("hub")]


def free_ports(count: int) -> int:
    """The first of ``count`` consecutive free ports on 127.0.0.1."""
    for _ in range(50):
        first = browser.free_port()
        if first + count < 65535 and all(not_listening(first + n) for n in range(count)):
            return first
    raise RuntimeError("no consecutive free ports")


def not_listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def hub_command(layout: HubLayout, command: str, *args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "coursetools.hub", command, "--state", str(layout.state),
                           "--port", str(layout.port), "--proxy", str(PROXY), *args],
                          capture_output=True, text=True, timeout=kwargs.pop("timeout", 120), check=False, **kwargs)


class RunningHub:
    def __init__(self, layout: HubLayout, proc: subprocess.Popen, seconds: float) -> None:
        self.layout, self.proc, self.start_seconds = layout, proc, seconds
        self.url = f"http://127.0.0.1:{layout.port}"
        self.accounts = {a.name: a for a in acc.load(layout.accounts_file)}

    @property
    def students(self) -> list[str]:
        return [a.name for a in self.accounts.values() if a.role == "student"]


@pytest.fixture(scope="module")
def hub():
    layout = HubLayout(COURSE_ROOT / "build" / f"hub-test-{secrets.token_hex(4)}", free_ports(3))
    log = open(COURSE_ROOT / "build" / f"{layout.state.name}.log", "wb")  # noqa: SIM115 (open while the hub runs)
    started = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", "coursetools.hub", "start", "--state", str(layout.state),
                             "--port", str(layout.port), "--proxy", str(PROXY), "--user-env", str(USER_ENV)],
                            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        browser.wait_for_http(f"http://127.0.0.1:{layout.port}/hub/api", START_SECONDS, proc)
        yield RunningHub(layout, proc, time.monotonic() - started)
    finally:
        names = [a.name for a in acc.load(layout.accounts_file)]
        cleaned = hub_command(layout, "clean")
        browser.stop_process_group(proc)
        log.close()
        assert cleaned.returncode == 0, cleaned.stderr
        assert "leftover" not in cleaned.stdout, f"the hub did not stop everything itself: {cleaned.stdout}"
        assert not layout.state.exists()
        for name in names:
            with pytest.raises(KeyError):
                pwd.getpwnam(name)
        assert hub_processes(layout) == []


def login(page, hub: RunningHub, name: str) -> None:
    """Log in at the hub's login page and wait for the user's JupyterLab."""
    page.goto(f"{hub.url}/hub/login")
    page.locator("#username_input").fill(name)
    page.locator("#password_input").fill(hub.accounts[name].password)
    page.locator("#login_submit").click()
    page.wait_for_url(f"**/user/{name}/lab**", timeout=START_SECONDS * 1000)
    page.locator("#jp-main-dock-panel").wait_for(timeout=60_000)


def test_a_second_hub_on_a_port_in_use_is_refused_in_one_line(hub):
    layout = HubLayout(hub.layout.state.with_name(hub.layout.state.name + "-second"), hub.layout.port)
    done = hub_command(layout, "start", "--user-env", str(USER_ENV), timeout=60)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and f"port {hub.layout.port}" in lines[0] and "in use" in lines[0], done.stderr
    assert not layout.state.exists()


def test_the_hub_came_up_in_under_a_minute(hub):
    assert hub.start_seconds < 60, f"make hub took {hub.start_seconds:.0f} s"


def formgrader(page, hub: RunningHub, assignment: str, action: str, shot: str) -> str:
    """Click ``action`` (the column: release, collect, generate-feedback, release-feedback) of the
    assignment's row in Formgrader's Manage Assignments; the log nbgrader shows, once it succeeded."""
    page.goto(f"{hub.url}/user/{acc.INSTRUCTOR}/formgrader/manage_assignments")
    row = page.locator("tr", has=page.locator(f"td.name a:text-is('{assignment}')"))
    row.locator(f"td.{action} a").click(timeout=60_000)
    page.locator("#success-modal, #error-modal").wait_for(timeout=180_000)
    browser.screenshot(page, shot)
    log = page.locator("#success-modal, #error-modal").inner_text()
    assert page.locator("#success-modal").count() == 1, f"Formgrader {action} of {assignment} failed: {log}"
    return log


def open_assignment_list(page) -> None:
    browser.menu(page, "Nbgrader", "nbgrader:open-assignment-list")
    page.locator("#released_assignments_list").wait_for(timeout=60_000)


def test_release_fetch_submit_collect_in_the_browser(hub):
    """The instructor releases from Formgrader; a student fetches and submits from Assignment List; the
    instructor collects from Formgrader: the submission is in the instructor's course."""
    student = hub.students[0]
    with browser.chromium() as chromium:
        teacher = chromium.new_context(viewport={"width": 1280, "height": 900}).new_page()
        login(teacher, hub, acc.INSTRUCTOR)
        browser.screenshot(teacher, "hub-instructor-lab")
        formgrader(teacher, hub, ASSIGNMENT, "release", "hub-formgrader-released")

        pupil = chromium.new_context(viewport={"width": 1280, "height": 900}).new_page()
        login(pupil, hub, student)
        open_assignment_list(pupil)
        released = pupil.locator("#released_assignments_list > .list_item").filter(has_text=ASSIGNMENT)
        released.locator(".item_status button").click(timeout=60_000)
        fetched = pupil.locator("#fetched_assignments_list > .list_item").filter(has_text=ASSIGNMENT)
        fetched.first.wait_for(timeout=60_000)
        browser.screenshot(pupil, "hub-student-fetched")
        fetched.first.locator(".item_status button:text('Submit')").click()
        pupil.locator("#submitted_assignments_list > .list_item").filter(has_text=ASSIGNMENT).first.wait_for(
            timeout=60_000)
        browser.screenshot(pupil, "hub-student-submitted")

        formgrader(teacher, hub, ASSIGNMENT, "collect", "hub-formgrader-collected")

    course = Course(hub.layout.course())
    assert (student, ASSIGNMENT) in {(s, a) for s, a, _ in course.submissions()}
    assert (course.folder("submitted", ASSIGNMENT, student) / f"{ASSIGNMENT}.ipynb").is_file()
