"""What the scheduler and a grading worker say to each other: dataclasses, one JSON object per line.

The scheduler writes a :class:`WorkerSetup`, then :class:`Task` after task,
to the worker's stdin; the worker answers :class:`Ready` once, then an
:class:`Answer` per task, on the file descriptor that was its stdout (its own
fd 1 and 2 go to a log, so that nothing a kernel prints can corrupt the
answers).  Why a submission could not be graded travels as a :class:`Failure`,
decided where the failure happened (in the worker), never read back from
log text.
"""
from __future__ import annotations

import dataclasses
import enum
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .sandbox import Limits


@dataclass(frozen=True)
class WorkerSetup:
    """How a worker grades: the course, its sandbox and the sandbox users of its grading threads."""

    root: str
    namespaces: bool
    unshare: str | None
    limits: Limits
    hide: list[str]
    """Paths student code must not see."""
    expose: list[str]
    """Directories the kernel's interpreter needs."""
    tmpfs: bool
    """Private /tmp (the workspace is not below /tmp or /dev/shm)."""
    feedback: bool
    uids: list[int | None]
    """One per grading thread: a sandbox user, or None (no separate user)."""


@dataclass(frozen=True)
class Task:
    """Grade one submission in ``folder`` (a private course built there)."""

    id: int
    assignment: str
    student: str
    submission: str
    source: str
    template: str
    """The snapshot of the gradebook to start from."""
    folder: str
    token: str
    """Marks every process of this submission (sandbox.TOKEN_VAR)."""


def private_course_root(folder: Path) -> Path:
    """Where a worker builds the private course of the task whose folder is ``folder``."""
    return Path(folder) / "course"


@dataclass(frozen=True)
class Ready:
    """The worker imported nbgrader and waits for tasks."""


class FailureKind(str, enum.Enum):
    """Why a submission could not be graded."""

    CELL_IGNORED_INTERRUPT = "cell ignored the interrupt"
    KERNEL_DID_NOT_START = "kernel did not start"
    KERNEL_DIED = "kernel died"
    OUTPUT_FLOOD = "output flood"
    TIMEOUT = "timeout"
    NBGRADER_FAILED = "nbgrader failed"


@dataclass(frozen=True)
class Failure:
    """A :class:`FailureKind` and what the worker knows about it."""

    kind: FailureKind
    detail: str = ""

    def reason(self) -> str:
        """The one line the TA reads."""
        kind = self.kind
        if kind is FailureKind.KERNEL_DID_NOT_START:
            return f"the kernel did not start: {self.detail or 'no output'}"
        if kind is FailureKind.KERNEL_DIED:
            return "kernel died (the submission exited, crashed or killed its kernel)"
        if kind is FailureKind.OUTPUT_FLOOD:
            return "output flood: the kernel's output did not stop in time"
        if kind in (FailureKind.CELL_IGNORED_INTERRUPT, FailureKind.TIMEOUT):
            return f"timeout: {self.detail}"
        return f"nbgrader could not grade it: {self.detail}"


@dataclass
class Answer:
    """What grading one task gave."""

    id: int
    graded: bool
    failure: Failure | None = None
    """Why it was not graded (None when graded)."""
    integrity: list[str] = field(default_factory=list)
    """``<notebook>: <reason>`` for every notebook the integrity checks caught (graded, scored 0)."""
    timeouts: int = 0
    """Cells that hit the per-cell timeout and were interrupted."""
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0


Message = WorkerSetup | Task | Ready | Answer
KINDS: dict[str, type] = {cls.__name__: cls for cls in (WorkerSetup, Task, Ready, Answer)}


def encode(message: Message) -> bytes:
    """One message as the line that carries it."""
    return (json.dumps({"kind": type(message).__name__, **dataclasses.asdict(message)}) + "\n").encode()


def decode(line: bytes | str) -> Message:
    """The message a line carries."""
    fields: dict[str, Any] = json.loads(line)
    cls = KINDS[fields.pop("kind")]
    if cls is WorkerSetup:
        fields["limits"] = Limits(**fields["limits"])
    if cls is Answer and fields["failure"] is not None:
        failure = fields["failure"]
        fields["failure"] = Failure(FailureKind(failure["kind"]), failure["detail"])
    return cls(**fields)
