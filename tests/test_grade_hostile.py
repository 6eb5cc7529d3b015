"""Broken and hostile submissions, graded through `make grade`'s module (coursetools.grading).

A tiny fixture course (tests/grading_fixtures/course.py, one notebook worth 4
points, a 5 s per-cell timeout) gets a class of honest students and of
submissions that hang, exit, kill, flood, snoop or cheat.  The whole class is
graded in one `python -m coursetools.grading` run in the sandbox (when this
machine allows it: Linux, root, util-linux `unshare`) and a smaller class in
one run without it (`--no-sandbox`, the fallback path).  For each run:
grading ends within a bound, every student has a row in grades.csv, honest
students get full marks, each hostile submission gets exactly the score it
earned (never more), no process survives, and the gradebook is intact.
"""
from __future__ import annotations

import csv
import os
import shutil
import socket
import sqlite3
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest
from grading_fixtures.course import (
    ASSIGNMENT,
    FULL_MARKS,
    SLEEP_MARKS,
    Hostile,
    add_submission,
    blank,
    hostile_class,
    make_course,
    remove_submission,
)

from conftest import one_grader, run_make_grade
from coursetools.course import Course
from coursetools.grading import sandbox as sb

pytestmark = [pytest.mark.slow, one_grader]

HONEST = ("honest1", "honest2")
RUN_BOUND = 240
"""Seconds a whole hostile class may take on two loaded cores (it takes about a minute)."""
OPTIONS = ["--timeout", "30", "--memory", "2G", "--max-processes", "64", "--max-file-size", "32M"]
FALLBACK_CLASS = ("loop", "sigint", "queue_get", "pool_open", "os_exit", "kill_parent", "new_session",
                  "double_fork", "memory_hog", "huge_file", "symlinks", "hang_many", "unreadable")


@dataclass
class Run:
    """One `python -m coursetools.grading` run and what it left."""

    root: Path
    code: int
    out: str
    err: str
    seconds: float
    rows: dict[str, dict]
    expected: dict[str, tuple[float, bool]]
    leftover: list[str]
    work: Path


def leftovers(*places: Path) -> list[str]:
    """Processes a submission may have left: anything working in or naming this run's folders, and
    (unless tests run in parallel) any process of a sandbox user or carrying a grading marker."""
    # Every `make grade` run of the test suite holds the grading lock (conftest.exclusive_grading), and
    # this check runs inside it: any sandbox user or grading marker alive now is this run's.
    alone = True
    places_ = [str(p) for p in places]
    found = []
    for proc in psutil.process_iter(["pid", "cmdline", "uids", "status", "cwd"]):
        try:
            if proc.info["status"] == psutil.STATUS_ZOMBIE or proc.pid == os.getpid():
                continue
            cmd = " ".join(proc.info["cmdline"] or [])
            cwd = proc.info["cwd"] or ""
            uid = proc.info["uids"].real if proc.info["uids"] else -1
            ours = any(p in cmd or cwd.startswith(p) for p in places_)
            if alone:
                ours = ours or sb.UID_BASE <= uid < sb.UID_BASE + 1000 or sb.TOKEN_VAR in proc.environ() \
                    or any(cmd == f"sleep {m}" for m in SLEEP_MARKS)
            if ours:
                found.append(f"pid {proc.pid} uid {uid}: {cmd[:120]}")
        except (psutil.Error, OSError):
            continue
    return found


def read_rows(root: Path) -> dict[str, dict]:
    with open(root / "grades.csv", newline="") as f:
        return {row["student_id"]: row for row in csv.DictReader(f) if row["assignment"] == ASSIGNMENT}


class Listener:
    """A loopback TCP server that records every connection (none may come from a submission)."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.connections: list[bytes] = []
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(2)
                try:
                    self.connections.append(conn.recv(100))
                except OSError:
                    self.connections.append(b"")

    def close(self) -> None:
        self.sock.close()


def build_and_grade(base: Path, class_: dict[str, Hostile], extra: list[str], sandboxed: bool) -> Run:
    root = make_course(base / "course")
    expected: dict[str, tuple[float, bool]] = {}
    for student in HONEST:
        add_submission(root, student)
        expected[student] = (FULL_MARKS, True)
    add_submission(root, "blank", notebook=blank(root))
    expected["blank"] = (0.0, True)
    for student, hostile in class_.items():
        add_submission(root, student, hostile)
        expected[student] = (hostile.score, hostile.graded) if sandboxed or not hostile.fallback \
            else hostile.fallback
    work = base / "work"  # the private grading folders, so that leftovers can be traced to this run
    work.mkdir()
    started = time.monotonic()
    done = run_make_grade(root, *OPTIONS, "--workdir", str(work), *extra, timeout=RUN_BOUND + 60)
    seconds = time.monotonic() - started
    time.sleep(0.5)  # let the kernel reap what was just killed
    return Run(root, done.returncode, done.stdout, done.stderr, seconds, read_rows(root), expected,
               leftovers(root, work), work)


@pytest.fixture(scope="module")
def listener():
    server = Listener()
    yield server
    server.close()


@pytest.fixture(scope="module")
def sandbox_run(listener, grading_lock):
    mode = sb.detect()
    if not mode.namespaces:
        pytest.skip(f"no sandbox on this machine ({mode.why_not}); the fallback run is tested instead")
    # Outside /tmp, which the sandbox replaces wholesale: here the course's own private paths must be hidden.
    base = Path(tempfile.mkdtemp(prefix="hostile-", dir="/var/tmp"))
    try:
        hostile = hostile_class(base / "course", listener.port)
        with grading_lock():
            graded = build_and_grade(base, hostile, [], sandboxed=True)
        yield graded
    finally:
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="module")
def fallback_run(tmp_path_factory, listener, grading_lock):
    base = tmp_path_factory.mktemp("fallback")
    hostile = hostile_class(base / "course", listener.port)
    class_ = {name: hostile[name] for name in FALLBACK_CLASS}
    assert not any(h.sandbox_only for h in class_.values())
    with grading_lock():
        return build_and_grade(base, class_, ["--no-sandbox"], sandboxed=False)


@pytest.fixture(params=["sandbox", "fallback"])
def run(request) -> Run:
    return request.getfixturevalue(f"{request.param}_run")


def test_grading_ends_within_the_bound(run):
    assert run.seconds < RUN_BOUND, f"grading took {run.seconds:.0f} s\n{run.out}"
    assert "graded" in run.out.splitlines()[-1] or "need attention" in run.out, run.out + run.err
    assert run.code == 1, "some submissions need attention, so the exit status must be 1"


def test_every_student_has_a_row(run):
    assert set(run.rows) == set(run.expected), run.out


def test_honest_students_get_full_marks(run):
    for student in HONEST:
        assert run.rows[student]["status"] == "graded", run.rows[student]
        assert float(run.rows[student]["score"]) == FULL_MARKS
        cells = Course(run.root).scores(ASSIGNMENT, student)
        assert all(c.score == c.max_score for c in cells), cells
    assert float(run.rows["blank"]["score"]) == 0


def test_each_submission_gets_exactly_what_it_earned(run):
    wrong = {}
    for student, (score, graded) in run.expected.items():
        row = run.rows[student]
        got = (float(row["score"]), not row["status"].startswith("NEEDS"))
        if got != (score, graded):
            wrong[student] = f"expected {(score, graded)}, got {got}: {row['reason']}"
    assert not wrong, f"{wrong}\n{run.out}"


def test_nobody_gains_points(run):
    gained = {s: r["score"] for s, r in run.rows.items() if float(r["score"]) > run.expected[s][0]}
    assert not gained


def test_ungraded_submissions_are_listed_with_a_reason(run):
    tail = run.out.split("need attention:")[-1]
    for student, (_, graded) in run.expected.items():
        row = run.rows[student]
        if not graded:
            assert row["status"] == "NEEDS ATTENTION" and row["reason"], row
            assert f"{ASSIGNMENT}/{student}:" in tail, f"{student} is not in the attention list:\n{run.out}"
    assert "timeout" in run.rows["sigint"]["reason"]
    assert "timeout" in run.rows["hang_many"]["reason"]
    assert "kernel died" in run.rows["os_exit"]["reason"]
    assert "unreadable" in run.rows["unreadable"]["reason"]


def test_no_process_survives(run):
    assert run.leftover == [], run.leftover
    assert not list(run.work.iterdir()), "the private grading folders were not removed"


def test_gradebook_is_intact(run):
    with sqlite3.connect(Course(run.root).gradebook_file) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    for student, (score, graded) in run.expected.items():
        if graded:
            cells = Course(run.root).scores(ASSIGNMENT, student)
            assert sum(c.score for c in cells) == score, student


def test_grader_files_hold_no_planted_links_or_huge_files(run):
    autograded = run.root / "autograded"
    assert not [p for p in autograded.rglob("*") if p.is_symlink()]
    assert (autograded / "symlinks" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").is_file()
    assert not (autograded / "huge_file" / ASSIGNMENT / "huge.bin").exists()
    assert (run.root / "feedback" / "honest1" / ASSIGNMENT / f"{ASSIGNMENT}.html").is_file()


def test_the_sandbox_blocks_network_and_private_files(sandbox_run, listener):
    assert listener.connections == [], "a submission reached a server on the grader's loopback"
    assert float(sandbox_run.rows["network"]["score"]) == 1
    assert float(sandbox_run.rows["snoop"]["score"]) == 1, "a submission read the solution or another student's work"
    assert sandbox_run.out.startswith("sandbox: ")


def test_the_fallback_is_announced(fallback_run):
    first = fallback_run.out.splitlines()[0]
    assert first.startswith("sandbox unavailable (--no-sandbox): falling back to resource limits"), first


@pytest.mark.parametrize("patch, why", [
    ("platform", "needs Linux"),
    ("user", "needs root"),
    ("unshare", "util-linux"),
])
def test_detection_falls_back_where_the_sandbox_is_unavailable(monkeypatch, patch, why):
    if patch == "platform":
        monkeypatch.setattr(sb.sys, "platform", "darwin")
    else:
        monkeypatch.setattr(sb.os, "geteuid", lambda: 1000 if patch == "user" else 0)
        monkeypatch.setattr(sb.sys, "platform", "linux")
    if patch == "unshare":
        monkeypatch.setattr(sb.shutil, "which", lambda name: None)
    mode = sb.detect()
    assert why in mode.why_not
    assert not mode.namespaces and not mode.unprivileged
    assert "falling back to resource limits" in mode.describe()


def test_a_failed_regrade_keeps_the_recorded_grade(fallback_run, listener, grading_lock):
    """honest1 resubmits something that cannot be graded: the grade already recorded stays."""
    root = fallback_run.root
    remove_submission(root, "honest1")
    add_submission(root, "honest1", hostile_class(root, listener.port)["sigint"])
    with grading_lock():
        done = run_make_grade(root, "--student", "honest1", "--no-sandbox", *OPTIONS, timeout=RUN_BOUND + 60)
        left = leftovers(root)
    assert done.returncode == 1
    row = read_rows(root)["honest1"]
    assert row["status"] == "NEEDS ATTENTION" and "previous grade 4 kept" in row["reason"], row
    assert sum(c.score for c in Course(root).scores(ASSIGNMENT, "honest1")) == FULL_MARKS
    assert left == []
