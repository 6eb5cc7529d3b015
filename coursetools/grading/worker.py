"""A long-lived grading worker: autogrades submissions with nbgrader's Python API.

``python -m coursetools.grading`` starts one worker per core
(``python -m coursetools.grading.worker``).  A worker imports nbgrader once
and then reads a :class:`~coursetools.grading.protocol.WorkerSetup` and
:class:`~coursetools.grading.protocol.Task` after task on stdin; it grades up
to one task per thread at once (each thread with its own sandbox user, so
every process can be traced back to its submission).  For every task it
builds a private course folder (the assignment's ``source/``, a copy of the
one submission, a snapshot of the gradebook), runs nbgrader's Autograde and
GenerateFeedback there, and sends an
:class:`~coursetools.grading.protocol.Answer`.  The parent alone copies the
results into the real gradebook, ``autograded/`` and ``feedback/``.

Every kernel is started through :class:`SandboxKernelManager` (the sandbox of
:mod:`coursetools.grading.sandbox`), and :class:`GradingExecute` replaces nbgrader's
``Execute``: a cell that ignores the interrupt sent at its timeout gets its
kernel killed after ``interrupt_grace`` seconds (nbgrader would wait for a
timeout on every later cell), every process the notebook started is killed
as soon as the notebook is done, and what stopped a notebook is recorded as a
:class:`~coursetools.grading.protocol.Failure`.
"""
from __future__ import annotations

import copy
import dataclasses
import logging
import os
import queue
import shutil
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from queue import Empty
from typing import Any, TextIO

from jupyter_core.utils import ensure_async
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbgrader.apps import NbGraderAPI
from nbgrader.converters import Autograde
from nbgrader.preprocessors import Execute
from nbgrader.preprocessors.execute import UnresponsiveKernelError
from traitlets import Enum, Float
from traitlets.config import Config

from .. import startmethod
from ..course import Course
from ..nbgrader_errors import error_line, result_error_line
from . import protocol
from . import sandbox as sb
from .files import copy_files, sanitize
from .integrity.guard import GuardedExecute
from .overrides import (
    CellTimeoutHook,
    LaunchOptionsKernelManager,
    keep_nbgrader_execution_set,
    require_tested_versions,
    run_autograde,
    run_feedback,
)
from .protocol import Failure, FailureKind


@dataclass
class TaskContext:
    """What the kernel manager needs to know about the submission being graded."""

    sandbox: sb.Sandbox
    uid: int | None
    token: str
    folder: Path
    hide: list[str]
    expose: list[str]
    tmpfs: bool
    alone: bool = True
    """The worker grades only this submission now (so every descendant of it is this one's)."""
    kernels: int = 0
    log: TextIO | None = None
    notes: list[str] = field(default_factory=list)
    failure: Failure | None = None
    """Why the submission could not be graded, as the first thing that stopped it saw it."""
    timeouts: int = 0
    integrity: list[str] = field(default_factory=list)

    @property
    def home(self) -> Path:
        return self.folder / "home"

    @property
    def kernel_dir(self) -> Path:
        return self.folder / "kernel"

    def own(self, path: Path, mode: int = 0o700) -> None:
        """Give ``path`` (a folder, recursively) to the sandbox user."""
        if self.uid is None:
            return
        for dirpath, _dirnames, filenames in os.walk(path):
            os.chown(dirpath, self.uid, self.uid)
            os.chmod(dirpath, mode)
            for name in filenames:
                os.lchown(os.path.join(dirpath, name), self.uid, self.uid)

    def prepare_cwd(self, cwd: str | None) -> None:
        """The kernel's folder becomes the sandbox user's; its parents traversable."""
        if cwd is None or self.uid is None:
            return
        path = Path(cwd).resolve()
        self.own(path)
        for parent in path.parents:
            if parent == self.folder or self.folder not in parent.parents:
                break
            os.chmod(parent, 0o711)

    def after_kernel(self, cwd: str | None) -> None:
        """Kill what the notebook left running; remove links planted in its folder."""
        survivors = sb.sweep(uid=self.uid, token=self.token, root_pid=os.getpid() if self.alone else None,
                             reap=self.alone)
        if survivors:
            self.notes.append(f"{len(survivors)} process(es) could not be killed")
        if cwd:
            sanitize(Path(cwd))


_LOCAL = threading.local()


def current() -> TaskContext | None:
    """The submission this thread is grading (kernel managers are made in that thread)."""
    return getattr(_LOCAL, "task", None)


class SandboxKernelManager(LaunchOptionsKernelManager):
    """An AsyncKernelManager whose kernels start inside the grading sandbox."""

    def __init__(self, **kwargs: Any) -> None:
        task = current()
        if task is not None:
            task.kernels += 1
            if task.sandbox.namespaces:
                kwargs.setdefault("transport", "ipc")
                kwargs.setdefault("ip", str(task.kernel_dir / f"k{task.kernels}"))
        super().__init__(**kwargs)
        if task is not None:
            self.connection_file = str(task.kernel_dir / f"kernel-{task.kernels}.json")

    def write_connection_file(self, **kwargs: Any) -> None:
        super().write_connection_file(**kwargs)
        task = current()
        if task is not None and task.uid is not None and os.path.exists(self.connection_file):
            os.chown(self.connection_file, task.uid, task.uid)

    def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
        command = super().format_kernel_cmd(extra_arguments)
        task = current()
        if task is None:
            return command
        settings = task.sandbox.settings(uid=task.uid, hide=task.hide, expose=task.expose + [str(task.folder)],
                                         tmpfs=task.tmpfs, parent=None if task.sandbox.namespaces else os.getpid())
        return task.sandbox.prefix(settings) + command

    def launch_options(self, options: dict[str, Any]) -> dict[str, Any]:
        task = current()
        if task is None:
            return options
        tmpdir = "/tmp" if task.sandbox.namespaces and task.tmpfs else str(task.home / "tmp")
        extra = dict(self.kernel_spec.env or {}, NBGRADER_EXECUTION="autograde")  # os.environ is shared
        method = os.environ.get(startmethod.ENV_VAR)
        if method:  # a start method chosen from outside (the tests grade under each one)
            extra[startmethod.ENV_VAR] = method
            startmethod.write_startup(task.home / ".ipython")
            task.own(task.home)
        options = dict(options, env=sb.student_kernel_env(task.home, tmpdir, task.token, extra),
                       stdin=subprocess.DEVNULL, preexec_fn=sb.die_with_parent)  # the worker's end ends the sandbox
        if task.log is not None:
            options["stdout"] = options["stderr"] = task.log.fileno()
        task.prepare_cwd(options.get("cwd"))
        return options


class GradingExecute(CellTimeoutHook, GuardedExecute):
    """nbgrader's Execute with the integrity checks, sandboxed kernels, a kill for uninterruptible cells,
    clean-up, and the reason a notebook could not be graded."""

    shutdown_kernel = Enum(
        ["graceful", "immediate"], default_value="immediate",
        help="Kill the kernel when the notebook is done: its namespace or process sweep takes every child with "
             "it, and a graceful shutdown waits seconds for children that ignore SIGTERM (multiprocessing's "
             "resource tracker does).",
    ).tag(config=True)

    interrupt_grace = Float(
        10.0, help="Seconds a cell may take to stop after its timeout's interrupt before the kernel is killed."
    ).tag(config=True)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["kernel_manager_class"] = SandboxKernelManager
        super().__init__(*args, **kwargs)
        self._kernel_ready = False

    async def cell_timed_out(self, timeout: int, cell: Any, interrupted: bool) -> None:
        task = current()
        if not interrupted:
            record(task, Failure(FailureKind.TIMEOUT, f"cell {self.describe(cell)} did not finish in {timeout} s"))
            return
        if task is not None:
            task.timeouts += 1
        if self.kc is None:
            return
        try:
            await ensure_async(self.kc.shell_channel.get_msg(timeout=self.interrupt_grace))
        except Empty:
            what = (f"cell {self.describe(cell)} ignored the interrupt for {self.interrupt_grace:.0f} s "
                    f"after its {timeout} s timeout; kernel killed")
            record(task, Failure(FailureKind.CELL_IGNORED_INTERRUPT, what))
            self.log.error("%s", what)
            await ensure_async(self.km.shutdown_kernel(now=True))
            raise UnresponsiveKernelError(f"cell {self.describe(cell)} could not be interrupted") from None

    def describe(self, cell: Any) -> str:
        """``3 (grade_id)``: the cell's number, counted from 1, and its nbgrader id if it has one."""
        number = next((i + 1 for i, c in enumerate(self.nb.cells) if c is cell), 0)
        grade_id = (cell or {}).get("metadata", {}).get("nbgrader", {}).get("grade_id")
        return f"{number} ({grade_id})" if grade_id else str(number)

    async def async_start_new_kernel_client(self) -> Any:
        client = await super().async_start_new_kernel_client()
        self._kernel_ready = True
        return client

    def failure_of(self, error: Exception) -> Failure | None:
        """What ``error``, raised while the notebook ran, says about the submission (None: nothing known)."""
        if not self._kernel_ready:
            return Failure(FailureKind.KERNEL_DID_NOT_START)
        if isinstance(error, DeadKernelError):
            return Failure(FailureKind.KERNEL_DIED)
        if isinstance(error, CellTimeoutError):  # a cell's own timeout is recorded by cell_timed_out
            return Failure(FailureKind.OUTPUT_FLOOD)
        if isinstance(error, TimeoutError):
            return Failure(FailureKind.TIMEOUT, error_line(f"{type(error).__name__}: {error}"))
        return None

    def preprocess(self, nb: Any, resources: Any, km: Any = None) -> Any:
        path = (resources or {}).get("metadata", {}).get("path")
        task = current()
        self._kernel_ready = False
        try:
            nb, resources = super().preprocess(nb, resources, km=km)
        except Exception as error:
            record(task, self.failure_of(error))
            raise
        finally:
            if task is not None:
                task.after_kernel(path)
        if task is not None and self.caught:
            task.integrity.append(self.caught)
        return nb, resources


def record(task: TaskContext | None, failure: Failure | None) -> None:
    """Keep the first failure of the submission: what stopped it first is why it was not graded."""
    if task is not None and task.failure is None:
        task.failure = failure


def autograde_preprocessors(config: Config) -> list:
    """Autograde's preprocessors with Execute (or the course's GuardedExecute) replaced by GradingExecute."""
    configured = config.Autograde.get("autograde_preprocessors")
    default = Autograde.class_traits()["autograde_preprocessors"].default()
    replaced = (Execute, GuardedExecute, "nbgrader.preprocessors.Execute",
                "coursetools.grading.integrity.guard.GuardedExecute")
    return [GradingExecute if p in replaced else p for p in (configured or default)]


class Worker:
    """Grades the tasks sent by the parent (see the module docstring)."""

    def __init__(self, setup: protocol.WorkerSetup) -> None:
        self.course = Course(setup.root)
        self.uids = setup.uids
        self.sandbox = sb.Sandbox(namespaces=setup.namespaces, unprivileged=self.uids[0] is not None,
                                  limits=setup.limits, unshare=setup.unshare)
        self.hide = setup.hide
        self.expose = setup.expose
        self.tmpfs = setup.tmpfs
        self.feedback = setup.feedback

    def config_for(self, private: Course) -> Config:
        """The private course's config, grading with :class:`GradingExecute`."""
        config = copy.deepcopy(private.config)
        config.Autograde.autograde_preprocessors = autograde_preprocessors(self.course.config)
        config.Autograde.create_student = True
        return config

    def build(self, task: protocol.Task, folder: Path) -> tuple[Course, list[str]]:
        """The private course of one task, and the submission's files left out of it."""
        folder.mkdir(mode=0o711, parents=True)
        os.chmod(folder, 0o711)
        private = self.course.moved_to(protocol.private_course_root(folder))
        private.root.mkdir(mode=0o711)
        os.chmod(private.root, 0o711)
        source = private.folder("source", task.assignment)
        submission = private.folder("submitted", task.assignment, task.student)
        for step in (source, submission):
            step.parent.mkdir(mode=0o700, parents=True)
        copy_files(Path(task.source), source, self.course.ignored)
        skipped = copy_files(Path(task.submission), submission, self.course.ignored, self.sandbox.limits.file_bytes)
        shutil.copyfile(task.template, private.gradebook_file)
        os.chmod(private.gradebook_file, 0o600)
        for name in ("home", "kernel"):
            (folder / name).mkdir(mode=0o700)
        (folder / "home" / "tmp").mkdir(mode=0o700)
        return private, skipped

    def grade(self, task: protocol.Task, uid: int | None, logger: logging.Logger) -> protocol.Answer:
        """Autograde (and generate feedback for) one submission in its private folder."""
        started = time.monotonic()
        folder = Path(task.folder)
        answer = protocol.Answer(task.id, graded=False)
        folder.parent.mkdir(mode=0o711, exist_ok=True)
        os.chmod(folder.parent, 0o711)
        kernel_log = folder.parent / f"{folder.name}.kernel.log"
        with open(kernel_log, "w") as log:
            try:
                private, skipped = self.build(task, folder)
                context = TaskContext(self.sandbox, uid, task.token, folder, self.hide, self.expose,
                                      self.tmpfs, alone=len(self.uids) == 1, log=log)
                context.own(folder / "home")
                context.own(folder / "kernel")
                _LOCAL.task = context
                api = NbGraderAPI(config=self.config_for(private), log=logger)
                graded = run_autograde(api, task.assignment, task.student)
                _LOCAL.task = None
                context.after_kernel(None)
                answer.graded = bool(graded["success"])
                answer.timeouts = context.timeouts
                answer.integrity = context.integrity
                answer.notes = context.notes
                if not answer.graded:
                    answer.failure = context.failure or Failure(FailureKind.NBGRADER_FAILED,
                                                                result_error_line(graded))
                if skipped:
                    answer.notes.append("left out of the submission (links, special or too large files): "
                                        + ", ".join(skipped[:3]) + (" ..." if len(skipped) > 3 else ""))
                if answer.graded and self.feedback:
                    feedback = run_feedback(api, task.assignment, task.student)
                    if not feedback["success"]:
                        answer.notes.append("feedback not generated: " + result_error_line(feedback))
            except Exception:
                answer.graded = False
                answer.failure = Failure(FailureKind.NBGRADER_FAILED, error_line(traceback.format_exc()))
            finally:
                _LOCAL.task = None
        if answer.failure is not None and answer.failure.kind is FailureKind.KERNEL_DID_NOT_START:
            answer.failure = dataclasses.replace(answer.failure, detail=tail(kernel_log))
        answer.seconds = time.monotonic() - started
        return answer

    def serve(self, tasks: queue.Queue, answer: Callable[[protocol.Answer], None], index: int) -> None:
        """One grading thread: its own sandbox user and logger, one submission at a time."""
        uid = self.uids[index]
        logger = logging.getLogger(f"coursetools.grading.worker.{index}")
        logger.setLevel(logging.INFO)
        logger.propagate = False
        while True:
            task = tasks.get()
            if task is None:
                return
            try:
                answer(self.grade(task, uid, logger))
            except Exception:
                answer(protocol.Answer(task.id, graded=False, failure=Failure(
                    FailureKind.NBGRADER_FAILED, error_line(traceback.format_exc()))))


def tail(path: Path, lines: int = 3, width: int = 300) -> str:
    """The last lines of a (possibly huge) log file."""
    try:
        with open(path, "rb") as f:
            f.seek(max(0, os.fstat(f.fileno()).st_size - 4096))
            text = f.read().decode(errors="replace")
    except OSError:
        return ""
    return " | ".join(line.strip()[:width] for line in text.strip().splitlines()[-lines:])



def main() -> int:
    """Serve tasks from stdin until it closes (see the module docstring)."""
    answers = os.fdopen(os.dup(1), "wb", buffering=0)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.umask(0o077)
    sb.die_with_parent()
    require_tested_versions()
    keep_nbgrader_execution_set()
    setup = protocol.decode(sys.stdin.readline())
    assert isinstance(setup, protocol.WorkerSetup), setup
    worker = Worker(setup)
    if len(worker.uids) == 1:
        sb.become_subreaper()  # orphans of the one submission come back here to be killed
    lock = threading.Lock()

    def answer(message: protocol.Message) -> None:
        with lock:
            answers.write(protocol.encode(message))

    tasks: queue.Queue = queue.Queue()
    threads = [threading.Thread(target=worker.serve, args=(tasks, answer, i), daemon=True)
               for i in range(len(worker.uids))]
    for thread in threads:
        thread.start()
    answer(protocol.Ready())
    for line in sys.stdin:
        if line.strip():
            tasks.put(protocol.decode(line))
    for _ in threads:
        tasks.put(None)
    for thread in threads:
        thread.join()
    return 0


if __name__ == "__main__":
    sys.exit(main())
