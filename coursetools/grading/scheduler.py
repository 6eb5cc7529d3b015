"""The scheduler: worker processes fed with submissions, killed and replaced when they must die.

Submissions are graded concurrently by long-lived worker processes
(:mod:`coursetools.grading.worker`), each paying nbgrader's start-up once.
Each kernel runs in the sandbox of :mod:`coursetools.grading.sandbox`; a
submission that outlives ``--timeout`` seconds has its worker killed together
with every process it started, and the worker is replaced.  Every success is
merged into the course by :func:`coursetools.grading.gradebook.merge`, one at
a time, in the main thread.
"""
from __future__ import annotations

import dataclasses
import os
import queue
import select
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from nbgrader.api import Gradebook

from ..course import Course
from . import protocol
from . import sandbox as sb
from .export import grades_csv
from .gradebook import merge, prepare_gradebook, snapshot
from .submission import ATTENTION, GradingOutcome, Job


def classify(answer: protocol.Answer) -> tuple[bool, str, list[str]]:
    """(graded, reason, notes) from a worker's answer."""
    notes = list(answer.notes)
    if answer.graded:
        if answer.timeouts:
            notes.append(f"{answer.timeouts} cell(s) hit the per-cell timeout and were interrupted")
        if answer.integrity:  # graded (its test cells score 0), and the TA must look at it
            return True, "integrity check: " + "; ".join(dict.fromkeys(answer.integrity)), notes
        return True, "", notes
    failure = answer.failure or protocol.Failure(protocol.FailureKind.NBGRADER_FAILED, "no reason given")
    return False, failure.reason(), notes


class SubmissionQueue:
    """The jobs still to grade, shared by the feeders (a job may come back to the queue)."""

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
class SentSubmission:
    """A submission sent to a worker and not answered yet."""

    job: Job
    token: str
    folder: Path
    started: float


class WorkerFeeder(threading.Thread):
    """Feeds one worker process (up to ``len(uids)`` submissions at once); replaces it when it must die.

    A submission that outlives the timeout has its worker killed with every
    process started under it; the other submissions that worker was grading
    go back to the queue.  When a worker dies by itself, a submission it was
    grading alone is the culprit; submissions that shared it are graded again
    (once).
    """

    def __init__(self, index: int, setup: protocol.WorkerSetup, submissions: SubmissionQueue,
                 results: queue.Queue, workspace: Path, timeout: float, template: Path, course: Course) -> None:
        super().__init__(name=f"grading-feeder-{index}", daemon=True)
        self.index, self.setup, self.uids = index, setup, setup.uids
        self.submissions, self.results = submissions, results
        self.workspace, self.timeout, self.template, self.course = workspace, timeout, template, course
        self.proc: subprocess.Popen | None = None
        self.buffer = b""
        self.count = 0
        self.awaiting: dict[int, SentSubmission] = {}
        self.abandoned = False

    def run(self) -> None:
        try:
            try:
                self.start_worker()
            except (OSError, RuntimeError):
                pass  # tried again, and reported, when the first submission is sent
            self.submissions.ready.wait()
            while not self.abandoned:
                self.fill()
                if self.awaiting:
                    self.collect()
                elif self.submissions.done:
                    return
                else:
                    time.sleep(0.2)  # another feeder may yet put a submission back
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
        self.proc = subprocess.Popen([sys.executable, "-m", "coursetools.grading.worker"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=log, cwd=self.workspace,
                                     start_new_session=True)
        log.close()
        self.buffer = b""
        self.send(self.setup)
        answer = self.receive(120)
        if not isinstance(answer, protocol.Ready):
            self.kill()
            raise RuntimeError(f"grading worker did not start: {self.log_tail()}")

    def send(self, message: protocol.Message) -> None:
        assert self.proc is not None and self.proc.stdin is not None
        self.proc.stdin.write(protocol.encode(message))
        self.proc.stdin.flush()

    def receive(self, timeout: float) -> protocol.Message | Literal["timeout", "died"]:
        """The next message, or "timeout" / "died"."""
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
        return protocol.decode(line)

    def log_tail(self) -> str:
        """The last line of the worker's log (its error, when it failed)."""
        try:
            lines = (self.workspace / f"worker-{self.index}.log").read_text(errors="replace").strip().splitlines()
        except OSError:
            return "no log"
        return lines[-1].strip() if lines else "no log"

    # -- scheduling
    def fill(self) -> None:
        while len(self.awaiting) < len(self.uids) and not self.abandoned:
            job = self.submissions.take()
            if job is None:
                return
            self.count += 1
            sent = SentSubmission(job, uuid.uuid4().hex, self.workspace / f"s{self.index}" / f"t{self.count}",
                                  time.monotonic())
            task = protocol.Task(self.count, job.assignment, job.student, submission=str(job.path),
                                 source=str(self.course.folder("source", job.assignment)), template=str(self.template),
                                 folder=str(sent.folder), token=sent.token)
            try:
                if self.proc is None or self.proc.poll() is not None:
                    self.start_worker()
                self.send(task)
            except (OSError, RuntimeError) as error:
                self.finish(sent, GradingOutcome(job, False, f"grading worker failed: {error}"))
                continue
            self.awaiting[self.count] = sent

    def finish(self, sent: SentSubmission, outcome: GradingOutcome) -> None:
        outcome.seconds = time.monotonic() - sent.started
        outcome.folder = sent.folder
        self.results.put(outcome)
        self.submissions.finish()

    def retry(self, sent: SentSubmission) -> None:
        shutil.rmtree(sent.folder, ignore_errors=True)
        sent.job.retries += 1
        self.submissions.jobs.put(sent.job)

    def collect(self) -> None:
        """Wait for the next answer, or for the oldest submission's deadline."""
        deadline = min(f.started for f in self.awaiting.values()) + self.timeout
        answer = self.receive(max(0.0, deadline - time.monotonic()))
        if isinstance(answer, protocol.Answer):
            sent = self.awaiting.pop(answer.id, None)
            if sent is not None:
                graded, reason, notes = classify(answer)
                self.finish(sent, GradingOutcome(sent.job, graded, reason, notes))
            return
        unanswered = list(self.awaiting.values())
        self.awaiting.clear()
        code = None
        if answer == "died" and self.proc is not None:
            code = self.proc.wait()
        self.kill(unanswered)
        if answer == "timeout":
            now = time.monotonic()
            for sent in unanswered:
                if now - sent.started >= self.timeout:
                    self.finish(sent, GradingOutcome(sent.job, False, f"timeout: not graded within {self.timeout:g} s "
                                                "(grading stopped, every process of the submission killed)"))
                else:
                    self.retry(sent)  # innocent: it shared the worker that had to be killed
            return
        if code is not None and code < 0:
            why = f"the grading worker was killed (signal {-code}): the submission probably killed its parent"
        else:
            why = f"the grading worker failed (exit status {code}): {self.log_tail()}"
        for sent in unanswered:
            if len(unanswered) == 1 or sent.job.retries >= 1:
                self.finish(sent, GradingOutcome(sent.job, False, why))
            else:
                self.retry(sent)  # which of them did it is unknown: each is graded again

    def kill(self, unanswered: list[SentSubmission] | None = None) -> None:
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
        for sent in unanswered or []:
            sb.sweep(token=sent.token, reap=False)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            try:
                self.proc.stdin.close()
                self.proc.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                self.kill()
        self.proc = None


def workspace_base(sandbox: sb.Sandbox, requested: Path | None) -> Path:
    if requested:
        return requested
    if sandbox.namespaces and os.path.isdir("/var/tmp"):
        return Path("/var/tmp")  # not /tmp: the sandbox mounts its own /tmp
    return Path(tempfile.gettempdir())


def hidden_paths(course: Course, workspace: Path) -> list[str]:
    """What student code must not see: the course's private data and the exchange."""
    gradebook = course.gradebook_file
    paths = [gradebook, gradebook.with_name(gradebook.name + "-journal"), gradebook.with_name(gradebook.name + "-wal"),
             grades_csv(course), course.root / ".git"]
    paths += [course.folder(step) for step in ("submitted", "autograded", "feedback", "source")]
    exchange = course.config.get("Exchange", {}).get("root")
    for folder in ("/srv/nbgrader/exchange", exchange):
        if folder:
            paths.append(Path(folder))
    # Checked when each kernel starts: gradebook.db may not exist yet now.
    return [str(p) for p in paths if p != workspace and p not in workspace.parents]


def grade(course: Course, jobs: list[Job], *, workers: int, per_worker: int, timeout: float, sandbox: sb.Sandbox,
          workdir: Path | None = None, feedback: bool = True, out=sys.stdout) -> list[GradingOutcome]:
    """Grade ``jobs``; merge every success into the course; return every outcome in order.

    ``workers`` processes each grade up to ``per_worker`` submissions at once
    (1 without the sandbox, where only a worker per submission lets every
    process be traced back to its submission).
    """
    base = workspace_base(sandbox, workdir)
    workspace = Path(tempfile.mkdtemp(prefix="coursegrade-", dir=base))
    os.chmod(workspace, 0o711)
    outcomes: list[GradingOutcome] = []
    feeders: list[WorkerFeeder] = []
    finished = False
    uids: list[int | None] = []
    submissions = SubmissionQueue()
    results: queue.Queue = queue.Queue()
    try:
        runnable = [j for j in jobs if not j.problem]
        per_worker = per_worker if sandbox.unprivileged else 1
        count = max(1, min(workers, -(-len(runnable) // per_worker)))
        if runnable:  # workers import nbgrader while the gradebook is prepared
            uids = sb.pick_uids(count * per_worker) if sandbox.unprivileged else [None] * count * per_worker
            tmpfs = not any(Path(t) in workspace.parents or Path(t) == workspace for t in ("/tmp", "/dev/shm"))
            setup = protocol.WorkerSetup(root=str(course.root), namespaces=sandbox.namespaces, unshare=sandbox.unshare,
                                         limits=sandbox.limits, hide=hidden_paths(course, workspace),
                                         expose=sb.expose_targets(), tmpfs=tmpfs, feedback=feedback, uids=[])
            for index in range(count):
                own_uids = uids[index * per_worker:(index + 1) * per_worker]
                feeder = WorkerFeeder(index, dataclasses.replace(setup, uids=own_uids), submissions, results,
                                      workspace, timeout, workspace / "template.db", course)
                feeders.append(feeder)
                feeder.start()
        problems = prepare_gradebook(course, sorted({j.assignment for j in runnable}), workspace) if runnable else {}
        for job in runnable:
            if job.assignment in problems:
                job.problem = problems[job.assignment]
        pending = [j for j in jobs if not j.problem]
        outcomes.extend(GradingOutcome(j, False, j.problem) for j in jobs if j.problem)
        for outcome in outcomes:
            print(f"  {outcome.job.assignment}/{outcome.job.student}: {ATTENTION}: {outcome.reason}", file=out)
        if pending:
            snapshot(course, workspace / "template.db")
            print(f"grading {len(pending)} submission(s): {count} worker(s) x {per_worker} at a time",
                  file=out, flush=True)
        submissions.load(pending)
        width = len(str(len(pending)))
        with Gradebook(course.db_url) as gb:
            for done in range(1, len(pending) + 1):
                outcome = results.get()
                job = outcome.job
                if outcome.graded:
                    try:
                        status = "graded " + merge(gb, outcome, course)
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
        submissions.ready.set()
        if not finished:
            for feeder in feeders:
                feeder.abandon()
        for feeder in feeders:
            feeder.join(timeout=30 if finished else 5)
            if feeder.is_alive():
                feeder.kill()
        sb.release_uids([u for u in uids if u is not None])
        shutil.rmtree(workspace, ignore_errors=True)
