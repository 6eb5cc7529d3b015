"""One submission to grade, and what grading it gave."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

ATTENTION = "NEEDS ATTENTION"
"""The status of a submission the TA must look at (in the run's output and in grades.csv)."""


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
class GradingOutcome:
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
