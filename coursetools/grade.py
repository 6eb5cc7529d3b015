"""Grade the class: ``make grade`` runs ``python -m coursetools.grade``.

Every submission in ``submitted/<student>/<assignment>/`` is autograded,
feedback is generated, and ``grades.csv`` is written at the course root (a row
per student per assignment).  Works on a fresh clone: assignments missing
from the gradebook are added from ``source/`` (without touching
``release/``), students are added as they are graded.

How it stays fast and safe:

* Submissions are graded concurrently by long-lived worker processes
  (:mod:`coursetools.grade_worker`, one per core by default, each grading
  ``--per-worker`` submissions at once in the sandbox, since notebooks spend
  much of their time waiting), each paying nbgrader's start-up once.  A
  worker grades a submission in a private temp course folder with a
  throw-away snapshot of the gradebook; this process
  alone copies the scores, autograded notebooks and feedback into the real
  gradebook, ``autograded/`` and ``feedback/``, one submission at a time,
  and only when grading succeeded, so no grade already recorded is lost.
* Each kernel runs in the sandbox of :mod:`coursetools.sandbox`; a
  submission that outlives ``--timeout`` seconds has its worker killed
  together with every process it started, and the worker is replaced.
* A submission that cannot be graded (timeout, dead kernel, unreadable or
  missing notebook, unknown assignment...) gets a row with score 0 marked
  ``NEEDS ATTENTION`` and the reason; the command then exits 1 and lists them.
"""
from __future__ import annotations

import argparse
import csv
import io
import json
import os
import queue
import re
import select
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook
from nbgrader.apps import NbGraderAPI
from sqlalchemy.exc import SAWarning, SQLAlchemyError

from . import COURSE_ROOT, put_environment_scripts_on_path
from . import sandbox as sb
from .grade_worker import GRADER_MARK, copy_files
from .integrity import MARK as INTEGRITY_MARK
from .release import course_config

DEFAULT_TIMEOUT = 600
"""Wall-clock seconds one submission may take, all its notebooks together."""
MAX_COPIED_FILE = 16 * 2**20
"""Files a submission wrote that are larger than this are not copied to autograded/."""
ATTENTION = "NEEDS ATTENTION"
CSV_FIELDS = ["assignment", "student", "score", "max_score", "status", "reason"]


class GradeError(Exception):
    """Grading cannot start; the message is one line for the TA."""


@dataclass
class Job:
    """One submission: ``submitted/<student>/<assignment>``."""

    assignment: str
    student: str
    path: Path
    problem: str = ""
    notes: list[str] = field(default_factory=list)
    retries: int = 0


@dataclass
class Outcome:
    """What grading one submission gave."""

    job: Job
    graded: bool
    reason: str = ""
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    folder: Path | None = None

    @property
    def attention(self) -> bool:
        return not self.graded or bool(self.job.notes) or bool(self.reason)

    def why(self) -> str:
        return "; ".join(([self.reason] if self.reason else []) + self.job.notes)


# --- finding the work --------------------------------------------------------

def source_assignments(root: Path) -> dict[str, list[str]]:
    """Assignments in ``source/`` and their notebook names."""
    found = {}
    source = root / "source"
    if source.is_dir():
        for folder in sorted(source.iterdir()):
            notebooks = sorted(p.stem for p in folder.glob("*.ipynb")) if folder.is_dir() else []
            if notebooks and not folder.name.startswith("."):
                found[folder.name] = notebooks
    return found


def find_jobs(root: Path, assignments: list[str] | None, students: list[str] | None) -> list[Job]:
    """Every submission to grade, with the ones that cannot be graded already marked."""
    known = source_assignments(root)
    submitted = root / "submitted"
    jobs = []
    if submitted.is_dir():
        for student_dir in sorted(p for p in submitted.iterdir() if p.is_dir() and not p.name.startswith(".")):
            if students and student_dir.name not in students:
                continue
            for folder in sorted(p for p in student_dir.iterdir() if p.is_dir() and not p.name.startswith(".")):
                if assignments and folder.name not in assignments:
                    continue
                jobs.append(check(Job(folder.name, student_dir.name, folder), known))
    if not jobs:
        what = " ".join(filter(None, [f"for {', '.join(assignments)}" if assignments else "",
                                      f"by {', '.join(students)}" if students else ""]))
        raise GradeError(f"no submissions {what + ' ' if what else ''}in {submitted} (expected "
                         "submitted/<student>/<assignment>/<notebook>.ipynb)")
    return jobs


def check(job: Job, known: dict[str, list[str]]) -> Job:
    """Mark a submission that cannot be graded (and notebooks it lacks)."""
    if job.assignment not in known:
        job.problem = f"unknown assignment: no folder source/{job.assignment}"
        return job
    missing, unreadable = [], []
    for name in known[job.assignment]:
        path = job.path / f"{name}.ipynb"
        if not path.is_file() or path.is_symlink():
            missing.append(f"{name}.ipynb")
            continue
        try:
            nbformat.read(path, as_version=4)
        except Exception as error:  # any parse or schema error
            text = str(error).strip().splitlines()
            unreadable.append(f"{name}.ipynb ({type(error).__name__}: {text[0] if text else ''})")
    if unreadable:
        job.problem = "notebook unreadable: " + ", ".join(unreadable)
    elif len(missing) == len(known[job.assignment]):
        job.problem = "missing notebook: " + ", ".join(missing)
    elif missing:
        job.notes.append("missing notebook (scored 0): " + ", ".join(missing))
    return job


# --- the gradebook -------------------------------------------------------------

def db_url(root: Path) -> str:
    return f"sqlite:///{root / 'gradebook.db'}"


def prepare_gradebook(root: Path, names: list[str], workspace: Path) -> dict[str, str]:
    """Add missing assignments to the gradebook from ``source/``; return errors by assignment.

    ``nbgrader generate_assignment`` records the notebooks and graded cells;
    its student version is written into ``workspace``, never ``release/``.
    """
    errors = {}
    with Gradebook(db_url(root)) as gb:
        present = {a.name: {n.name for n in a.notebooks} for a in gb.assignments}
    known = source_assignments(root)
    for name in names:
        if present.get(name) == set(known[name]):
            continue
        config = course_config(root)
        config.CourseDirectory.release_directory = str(workspace / "release")
        result = NbGraderAPI(config=config).generate_assignment(name, force=True, create=True)
        if not result["success"]:
            errors[name] = "could not add the assignment to the gradebook: " + last_error(result)
    return errors


GENERIC = ("Please see the", "There was an error processing", "Removing failed")


def last_error(result: dict) -> str:
    """The most telling error line of an nbgrader result: an exception, else a log error."""
    text = (result.get("log") or "") + "\n" + (result.get("error") or "")
    lines = [line.strip() for line in text.splitlines() if line.strip() and not any(g in line for g in GENERIC)]
    for line in reversed(lines):
        if re.match(r"[\w.]*(Error|Exception|Exit)\b.*", line):
            return line
    for line in reversed(lines):
        if "rror" in line:
            return line
    return lines[-1] if lines else "unknown nbgrader error"


def snapshot(root: Path, dest: Path) -> None:
    """A consistent copy of the gradebook (SQLite's backup API)."""
    source = sqlite3.connect(root / "gradebook.db")
    target = sqlite3.connect(dest)
    with target:
        source.backup(target)
    source.close()
    target.close()
    os.chmod(dest, 0o600)


def merge(gb: Gradebook, outcome: Outcome, root: Path) -> str:
    """Copy one graded submission into the real gradebook and folders; return its score text."""
    job, course = outcome.job, outcome.folder / "course"
    with warnings.catch_warnings(), Gradebook(f"sqlite:///{course / 'gradebook.db'}") as private:
        warnings.simplefilter("ignore", SAWarning)  # nbgrader's own, harmless
        mine = private.find_submission(job.assignment, job.student)
        gb.update_or_create_student(job.student)
        real = gb.update_or_create_submission(job.assignment, job.student)
        real.timestamp = mine.timestamp
        for notebook in mine.notebooks:
            target = gb.find_submission_notebook(notebook.name, job.assignment, job.student)
            target.late_submission_penalty = notebook.late_submission_penalty
            for grade in notebook.grades:
                into = gb.find_grade(grade.name, notebook.name, job.assignment, job.student)
                score = grade.auto_score
                if score is not None:  # never more than the real gradebook allows
                    score = min(max(float(score), 0.0), float(into.max_score))
                into.auto_score = score
                into.needs_manual_grade = bool(grade.needs_manual_grade or into.manual_score is not None)
            for comment in notebook.comments:
                gb.find_comment(comment.name, notebook.name, job.assignment, job.student).auto_comment = \
                    comment.auto_comment
        gb.db.commit()
    for kind in ("autograded", "feedback"):
        src = course / kind / job.student / job.assignment
        if not src.is_dir():
            continue
        dest = root / kind / job.student / job.assignment
        staging = dest.parent / f".{job.assignment}.grading-{uuid.uuid4().hex[:8]}"
        skipped = copy_files(src, staging, MAX_COPIED_FILE)
        if dest.exists():
            shutil.rmtree(dest)
        staging.rename(dest)
        if skipped and kind == "autograded":
            outcome.notes.append(f"not copied to autograded/: {', '.join(skipped[:3])}"
                                 + (" ..." if len(skipped) > 3 else ""))
    submission = gb.find_submission(job.assignment, job.student)
    return f"{submission.score:g}/{submission.max_score:g}"


# --- workers ---------------------------------------------------------------------

def classify(result: dict) -> tuple[bool, str, list[str]]:
    """(graded, reason, notes) from a worker's answer."""
    text = (result.get("log") or "") + "\n" + (result.get("error") or "")
    notes = list(result.get("notes") or [])
    timeouts = result.get("timeouts") or 0
    if result.get("ok"):
        if timeouts:
            notes.append(f"{timeouts} cell(s) hit the per-cell timeout and were interrupted")
        caught = re.findall(rf"{INTEGRITY_MARK} (.*)", text)
        if caught:  # graded (its test cells score 0), and the TA must look at it
            return True, "integrity check: " + "; ".join(dict.fromkeys(c.strip() for c in caught)), notes
        return True, "", notes
    match = re.search(rf"{GRADER_MARK} (cell .* ignored the interrupt.*)", text)
    if match:
        return False, "timeout: " + match.group(1).strip(), notes
    if "Kernel died before replying to kernel_info" in text:
        return False, f"the kernel did not start: {result.get('kernel_log') or 'no output'}", notes
    if "DeadKernelError" in text or "Kernel died" in text:
        return False, "kernel died (the submission exited, crashed or killed its kernel)", notes
    if "Timeout waiting for IOPub output" in text:
        return False, "output flood: the kernel's output did not stop in time", notes
    if "CellTimeoutError" in text or "TimeoutError" in text:
        return False, "timeout: " + last_error(result), notes
    return False, "nbgrader could not grade it: " + last_error(result), notes


class Board:
    """The jobs still to grade, shared by the slots (a job may come back to the queue)."""

    def __init__(self) -> None:
        self.jobs: queue.Queue = queue.Queue()
        self.lock = threading.Lock()
        self.remaining = 0
        self.ready = threading.Event()

    def load(self, jobs: list[Job]) -> None:
        with self.lock:
            self.remaining += len(jobs)
        for job in jobs:
            self.jobs.put(job)
        self.ready.set()

    def take(self) -> Job | None:
        try:
            return self.jobs.get_nowait()
        except queue.Empty:
            return None

    def finish(self) -> None:
        with self.lock:
            self.remaining -= 1

    @property
    def done(self) -> bool:
        return self.remaining <= 0


@dataclass
class Flight:
    """A submission sent to a worker and not answered yet."""

    job: Job
    token: str
    folder: Path
    started: float


class Slot(threading.Thread):
    """Feeds one worker process (up to ``len(uids)`` submissions at once); replaces it when it must die.

    A submission that outlives the timeout has its worker killed with every
    process started under it; the other submissions that worker was grading
    go back to the queue.  When a worker dies by itself, a submission it was
    grading alone is the culprit; submissions that shared it are graded again
    (once).
    """

    def __init__(self, index: int, uids: list[int | None], init: dict, board: Board, results: queue.Queue,
                 workspace: Path, timeout: float, template: Path, root: Path) -> None:
        super().__init__(name=f"grading-slot-{index}", daemon=True)
        self.index, self.uids, self.init = index, uids, dict(init, uids=uids)
        self.board, self.results = board, results
        self.workspace, self.timeout, self.template, self.root = workspace, timeout, template, root
        self.proc: subprocess.Popen | None = None
        self.buffer = b""
        self.count = 0
        self.inflight: dict[int, Flight] = {}
        self.abandoned = False

    def run(self) -> None:
        try:
            try:
                self.start_worker()
            except (OSError, RuntimeError):
                pass  # tried again, and reported, when the first submission is sent
            self.board.ready.wait()
            while not self.abandoned:
                self.fill()
                if self.inflight:
                    self.collect()
                elif self.board.done:
                    return
                else:
                    time.sleep(0.2)  # another slot may yet put a submission back
        finally:
            self.stop()

    def abandon(self) -> None:
        """Stop at once (the run was interrupted): kill the worker."""
        self.abandoned = True
        self.kill()

    # -- talking to the worker
    def start_worker(self) -> None:
        log = open(os.open(self.workspace / f"worker-{self.index}.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND,
                           0o600), "ab")
        self.proc = subprocess.Popen([sys.executable, "-m", "coursetools.grade_worker"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=log, cwd=self.workspace,
                                     start_new_session=True)
        log.close()
        self.buffer = b""
        self.send(self.init)
        answer = self.receive(120)
        if not isinstance(answer, dict) or not answer.get("ready"):
            self.kill()
            raise RuntimeError(f"grading worker did not start: {self.log_tail()}")

    def send(self, message: dict) -> None:
        assert self.proc is not None and self.proc.stdin is not None
        self.proc.stdin.write((json.dumps(message) + "\n").encode())
        self.proc.stdin.flush()

    def receive(self, timeout: float) -> dict | str:
        """The next answer, or "timeout" / "died"."""
        assert self.proc is not None and self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                return "timeout"
            ready, _, _ = select.select([fd], [], [], left)
            if ready:
                chunk = os.read(fd, 1 << 16)
                if not chunk:
                    return "died"
                self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        return json.loads(line)

    def log_tail(self) -> str:
        """The last line of the worker's log (its error, when it failed)."""
        try:
            lines = (self.workspace / f"worker-{self.index}.log").read_text(errors="replace").strip().splitlines()
        except OSError:
            return "no log"
        return lines[-1].strip() if lines else "no log"

    # -- scheduling
    def fill(self) -> None:
        while len(self.inflight) < len(self.uids) and not self.abandoned:
            job = self.board.take()
            if job is None:
                return
            self.count += 1
            flight = Flight(job, uuid.uuid4().hex, self.workspace / f"s{self.index}" / f"t{self.count}",
                            time.monotonic())
            task = {"id": self.count, "assignment": job.assignment, "student": job.student,
                    "submission": str(job.path), "source": str(self.root / "source" / job.assignment),
                    "template": str(self.template), "dir": str(flight.folder), "token": flight.token}
            try:
                if self.proc is None or self.proc.poll() is not None:
                    self.start_worker()
                self.send(task)
            except (OSError, RuntimeError) as error:
                self.finish(flight, Outcome(job, False, f"grading worker failed: {error}"))
                continue
            self.inflight[self.count] = flight

    def finish(self, flight: Flight, outcome: Outcome) -> None:
        outcome.seconds = time.monotonic() - flight.started
        outcome.folder = flight.folder
        self.results.put(outcome)
        self.board.finish()

    def retry(self, flight: Flight) -> None:
        shutil.rmtree(flight.folder, ignore_errors=True)
        flight.job.retries += 1
        self.board.jobs.put(flight.job)

    def collect(self) -> None:
        """Wait for the next answer, or for the oldest submission's deadline."""
        deadline = min(f.started for f in self.inflight.values()) + self.timeout
        answer = self.receive(max(0.0, deadline - time.monotonic()))
        if isinstance(answer, dict):
            flight = self.inflight.pop(answer.get("id"), None)
            if flight is not None:
                graded, reason, notes = classify(answer)
                self.finish(flight, Outcome(flight.job, graded, reason, notes))
            return
        flights = list(self.inflight.values())
        self.inflight.clear()
        code = None
        if answer == "died" and self.proc is not None:
            code = self.proc.wait()
        self.kill(flights)
        if answer == "timeout":
            now = time.monotonic()
            for flight in flights:
                if now - flight.started >= self.timeout:
                    self.finish(flight, Outcome(flight.job, False, f"timeout: not graded within {self.timeout:g} s "
                                                "(grading stopped, every process of the submission killed)"))
                else:
                    self.retry(flight)  # innocent: it shared the worker that had to be killed
            return
        if code is not None and code < 0:
            why = f"the grading worker was killed (signal {-code}): the submission probably killed its parent"
        else:
            why = f"the grading worker failed (exit status {code}): {self.log_tail()}"
        for flight in flights:
            if len(flights) == 1 or flight.job.retries >= 1:
                self.finish(flight, Outcome(flight.job, False, why))
            else:
                self.retry(flight)  # which of them did it is unknown: each is graded again

    def kill(self, flights: list[Flight] | None = None) -> None:
        """Kill the worker and everything a submission started under it."""
        proc = self.proc
        self.proc = None
        if proc is not None:
            below = sb.descendants(proc.pid)
            proc.kill()
            proc.wait()
            sb.kill_all(below, reap=False)  # other threads wait for their own workers
        for uid in self.uids:
            if uid is not None:
                sb.sweep(uid=uid, reap=False)
        for flight in flights or []:
            sb.sweep(token=flight.token, reap=False)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            try:
                self.proc.stdin.close()
                self.proc.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                self.kill()
        self.proc = None


# --- the run ---------------------------------------------------------------------

def workspace_base(sandbox: sb.Sandbox, requested: Path | None) -> Path:
    if requested:
        return requested
    if sandbox.namespaces and os.path.isdir("/var/tmp"):
        return Path("/var/tmp")  # not /tmp: the sandbox mounts its own /tmp
    return Path(tempfile.gettempdir())


def hidden_paths(root: Path, workspace: Path) -> list[str]:
    """What student code must not see: the course's private data and the exchange."""
    paths = [root / name for name in ("gradebook.db", "gradebook.db-journal", "gradebook.db-wal", "grades.csv",
                                      "submitted", "autograded", "feedback", "source", ".git")]
    exchange = course_config(root).get("Exchange", {}).get("root")
    for folder in ("/srv/nbgrader/exchange", exchange):
        if folder:
            paths.append(Path(folder))
    # Checked when each kernel starts: gradebook.db may not exist yet now.
    return [str(p) for p in paths if p != workspace and p not in workspace.parents]


def grade(root: Path, jobs: list[Job], *, workers: int, per_worker: int, timeout: float, sandbox: sb.Sandbox,
          workdir: Path | None = None, feedback: bool = True, out=sys.stdout) -> list[Outcome]:
    """Grade ``jobs``; merge every success into the course; return every outcome in order.

    ``workers`` processes each grade up to ``per_worker`` submissions at once
    (1 without the sandbox, where only a worker per submission lets every
    process be traced back to its submission).
    """
    base = workspace_base(sandbox, workdir)
    workspace = Path(tempfile.mkdtemp(prefix="coursegrade-", dir=base))
    os.chmod(workspace, 0o711)
    outcomes: list[Outcome] = []
    slots: list[Slot] = []
    finished = False
    uids: list[int | None] = []
    board = Board()
    results: queue.Queue = queue.Queue()
    try:
        runnable = [j for j in jobs if not j.problem]
        per_worker = per_worker if sandbox.unprivileged else 1
        count = max(1, min(workers, -(-len(runnable) // per_worker)))
        if runnable:  # workers import nbgrader while the gradebook is prepared
            uids = sb.pick_uids(count * per_worker) if sandbox.unprivileged else [None] * count * per_worker
            tmpfs = not any(Path(t) in workspace.parents or Path(t) == workspace for t in ("/tmp", "/dev/shm"))
            init = {"root": str(root), "namespaces": sandbox.namespaces, "unshare": sandbox.unshare,
                    "limits": vars(sandbox.limits), "hide": hidden_paths(root, workspace),
                    "expose": sb.expose_targets(), "tmpfs": tmpfs, "feedback": feedback}
            for index in range(count):
                slot = Slot(index, uids[index * per_worker:(index + 1) * per_worker], init, board, results,
                            workspace, timeout, workspace / "template.db", root)
                slots.append(slot)
                slot.start()
        problems = prepare_gradebook(root, sorted({j.assignment for j in runnable}), workspace) if runnable else {}
        for job in runnable:
            if job.assignment in problems:
                job.problem = problems[job.assignment]
        pending = [j for j in jobs if not j.problem]
        outcomes.extend(Outcome(j, False, j.problem) for j in jobs if j.problem)
        for outcome in outcomes:
            print(f"  {outcome.job.assignment}/{outcome.job.student}: {ATTENTION}: {outcome.reason}", file=out)
        if pending:
            snapshot(root, workspace / "template.db")
            print(f"grading {len(pending)} submission(s): {count} worker(s) x {per_worker} at a time",
                  file=out, flush=True)
        board.load(pending)
        width = len(str(len(pending)))
        with Gradebook(db_url(root)) as gb:
            for done in range(1, len(pending) + 1):
                outcome = results.get()
                job = outcome.job
                if outcome.graded:
                    try:
                        status = "graded " + merge(gb, outcome, root)
                    except Exception as error:  # a broken private result never stops the class
                        gb.db.rollback()
                        outcome.graded, outcome.reason = False, f"could not record the grade: {error}"
                if not outcome.graded:
                    status = f"{ATTENTION}: {outcome.reason}"
                elif outcome.attention:
                    status += f" ({ATTENTION}: {outcome.why()})"
                if outcome.notes:
                    status += f" [{'; '.join(outcome.notes)}]"
                print(f"[{done:>{width}}/{len(pending)}] {job.assignment}/{job.student}: {status} "
                      f"({outcome.seconds:.1f} s, {len(pending) - done} left)", file=out, flush=True)
                outcomes.append(outcome)
                if outcome.folder is not None:
                    shutil.rmtree(outcome.folder, ignore_errors=True)
        finished = True
        return sorted(outcomes, key=lambda o: (o.job.assignment, o.job.student))
    finally:
        board.ready.set()
        if not finished:
            for slot in slots:
                slot.abandon()
        for slot in slots:
            slot.join(timeout=30 if finished else 5)
            if slot.is_alive():
                slot.kill()
        sb.release_uids([u for u in uids if u is not None])
        shutil.rmtree(workspace, ignore_errors=True)


def submitted_pairs(root: Path) -> set[tuple[str, str]]:
    """(assignment, student) of every folder in ``submitted/``."""
    found = set()
    folder = root / "submitted"
    if folder.is_dir():
        for student in folder.iterdir():
            if student.is_dir() and not student.name.startswith("."):
                found.update((a.name, student.name) for a in student.iterdir()
                             if a.is_dir() and not a.name.startswith("."))
    return found


def export_csv(root: Path, outcomes: list[Outcome]) -> Path:
    """``grades.csv``: a row per student per assignment, from the gradebook, ``submitted/`` and this run.

    A submission that could not be graded has score 0, status NEEDS ATTENTION
    and the reason (its previous grade, if any, stays in the gradebook and is
    named); one in ``submitted/`` but never graded says so.
    """
    submitted = submitted_pairs(root)
    latest = {(o.job.assignment, o.job.student): o for o in outcomes}
    recorded: dict[tuple[str, str], dict] = {}
    maxima: dict[str, float] = {}
    students = {s for _, s in submitted} | {s for _, s in latest}
    if (root / "gradebook.db").exists():
        with warnings.catch_warnings(), Gradebook(db_url(root)) as gb:
            warnings.simplefilter("ignore", SAWarning)
            students |= {s.id for s in gb.students}
            for assignment in gb.assignments:
                maxima[assignment.name] = assignment.max_score
                for sub in assignment.submissions:
                    penalty = sub.late_submission_penalty or 0.0
                    recorded[(assignment.name, sub.student.id)] = {
                        "score": max(0.0, sub.score - penalty),
                        "status": "graded (needs manual grading)" if sub.needs_manual_grade else "graded",
                        "reason": f"late penalty {penalty:g}" if penalty else ""}
    assignments = set(maxima) | {a for a, _ in submitted} | {a for a, _ in latest}
    rows = []
    for assignment in sorted(assignments):
        for student in sorted(students):
            key = (assignment, student)
            row = {"assignment": assignment, "student": student, "score": 0.0,
                   "max_score": maxima.get(assignment, ""), "status": "not submitted", "reason": ""}
            row.update(recorded.get(key, {}))
            outcome = latest.get(key)
            if outcome is not None and not outcome.graded:
                kept = f"; previous grade {row['score']:g} kept in the gradebook" if key in recorded else ""
                row.update(score=0.0, status=ATTENTION, reason=outcome.reason + kept)
            elif outcome is not None and outcome.attention:
                row.update(status=ATTENTION, reason=outcome.why())
            elif key not in recorded and key in submitted:
                row.update(status=ATTENTION, reason="submitted but not graded yet")
            rows.append(row)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, CSV_FIELDS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        for name in ("score", "max_score"):
            if isinstance(row[name], float):
                row[name] = f"{row[name]:g}"
        writer.writerow(row)
    path = root / "grades.csv"
    tmp = path.with_name(".grades.csv.tmp")
    tmp.write_text(buffer.getvalue())
    tmp.replace(path)
    return path


def give_back(root: Path) -> None:
    """Run as root (for the sandbox), leave what grading wrote to the course folder's owner."""
    owner = root.stat()
    if os.geteuid() != 0 or owner.st_uid == 0:
        return
    paths = [root / "gradebook.db", root / "grades.csv"]
    for kind in ("autograded", "feedback"):
        if (root / kind).is_dir():
            paths.append(root / kind)
            paths.extend((root / kind).rglob("*"))
    for path in paths:
        if path.exists() and not path.is_symlink():
            os.chown(path, owner.st_uid, owner.st_gid)


def parse_size(text: str) -> int:
    units = {"": 1, "K": 2**10, "M": 2**20, "G": 2**30}
    match = re.fullmatch(r"(\d+)\s*([KMG]?)i?B?", text.strip(), re.IGNORECASE)
    if not match:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (e.g. 512M, 4G)")
    return int(match.group(1)) * units[match.group(2).upper()]


def cores() -> int:
    """Cores this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m coursetools.grade", description=__doc__.splitlines()[0])
    parser.add_argument("--course-root", type=Path, default=COURSE_ROOT,
                        help="course folder (default: this repository)")
    parser.add_argument("--assignment", action="append", help="grade only this assignment (repeatable)")
    parser.add_argument("--student", action="append", help="grade only this student (repeatable)")
    parser.add_argument("--workers", type=int, default=cores(),
                        help="worker processes, each importing nbgrader once (default: number of cores)")
    parser.add_argument("--per-worker", type=int, default=2,
                        help="submissions each worker grades at once, in the sandbox only (default 2: notebooks "
                             "spend much of their time waiting)")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT,
                        help=f"wall-clock seconds for one submission (default {DEFAULT_TIMEOUT})")
    parser.add_argument("--no-sandbox", action="store_true", help="only resource limits and process clean-up")
    parser.add_argument("--no-feedback", action="store_true", help="skip nbgrader generate_feedback")
    parser.add_argument("--memory", type=parse_size, default=sb.Limits.memory_bytes,
                        help="address-space limit of each student process (default 4G)")
    parser.add_argument("--max-processes", type=int, default=sb.Limits.processes,
                        help="processes + threads of one submission (sandbox only, default 256)")
    parser.add_argument("--max-file-size", type=parse_size, default=sb.Limits.file_bytes,
                        help="largest file student code may write (default 256M)")
    parser.add_argument("--workdir", type=Path, help="where private grading folders go (default /var/tmp or $TMPDIR)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    put_environment_scripts_on_path()
    root = args.course_root.resolve()
    started = time.monotonic()
    status = 0
    try:
        if not (root / "source").is_dir():
            raise GradeError(f"{root} is not a course folder: no source/")
        if args.workers < 1 or args.per_worker < 1 or args.timeout <= 0:
            raise GradeError("--workers, --per-worker and --timeout must be positive")
        wanted = args.assignment
        if wanted:
            known = source_assignments(root)
            for name in [a for a in wanted if a not in known]:
                print(f"error: unknown assignment {name!r}: no folder source/{name} with a notebook "
                      f"(known: {', '.join(known) or 'none'})", file=sys.stderr)
                status = 1
            wanted = [a for a in wanted if a in known]
            if not wanted:
                return status
        jobs = find_jobs(root, wanted, args.student)
    except GradeError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    limits = sb.Limits(memory_bytes=args.memory, cpu_seconds=int(args.timeout), processes=args.max_processes,
                       file_bytes=args.max_file_size)
    sandbox = sb.detect(args.no_sandbox, limits)
    print(sandbox.describe(), flush=True)
    sb.become_subreaper()
    try:
        outcomes = grade(root, jobs, workers=args.workers, per_worker=args.per_worker, timeout=args.timeout,
                         sandbox=sandbox, workdir=args.workdir, feedback=not args.no_feedback)
    except KeyboardInterrupt:
        print("interrupted: grades recorded so far are kept", file=sys.stderr)
        return 130
    except (sqlite3.DatabaseError, SQLAlchemyError) as error:
        print(f"error: cannot use {root / 'gradebook.db'}: {str(error).splitlines()[0]}", file=sys.stderr)
        return 1
    finally:
        sb.sweep(root_pid=os.getpid())
    path = export_csv(root, outcomes)
    give_back(root)
    attention = [o for o in outcomes if o.attention]
    graded = sum(o.graded for o in outcomes)
    slowest = max(outcomes, key=lambda o: o.seconds)
    print(f"graded {graded} of {len(outcomes)} submission(s) in {time.monotonic() - started:.1f} s "
          f"(slowest: {slowest.job.assignment}/{slowest.job.student}, {slowest.seconds:.1f} s); wrote {path}")
    if attention:
        print(f"{len(attention)} submission(s) need attention:")
        for outcome in attention:
            print(f"  {outcome.job.assignment}/{outcome.job.student}: {outcome.why()}")
        return 1
    return status


if __name__ == "__main__":
    sys.exit(main())
