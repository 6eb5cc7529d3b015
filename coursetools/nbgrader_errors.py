"""The one line that says why an nbgrader step failed.

nbgrader reports a failure as a log and a traceback (the ``log`` and
``error`` of an :class:`nbgrader.apps.NbGraderAPI` result, or the stderr of
an ``nbgrader`` command).  Every tool of the course shows the TA the same
line from them: the last exception line, else the last line that mentions an
error, else the last line; nbgrader's generic summaries never count.
"""
from __future__ import annotations

import re
from collections.abc import Mapping

GENERIC = ("Please see the", "There was an error processing", "Removing failed")
"""Lines nbgrader adds after every failure: they never say what went wrong."""
EXCEPTION_LINE = re.compile(r"[\w.]*(Error|Exception|Exit)\b.*")
UNKNOWN = "unknown nbgrader error"


def error_line(text: str) -> str:
    """The most telling line of nbgrader's output ``text``."""
    lines = [line.strip() for line in text.splitlines() if line.strip() and not any(g in line for g in GENERIC)]
    for line in reversed(lines):
        if EXCEPTION_LINE.match(line):
            return line
    for line in reversed(lines):
        if "rror" in line:
            return line
    return lines[-1] if lines else UNKNOWN


def result_error_line(result: Mapping[str, object]) -> str:
    """:func:`error_line` of an NbGraderAPI result (its log, then its traceback)."""
    return error_line(f"{result.get('log') or ''}\n{result.get('error') or ''}")
