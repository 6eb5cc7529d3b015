"""What the scheduler and a grading worker say to each other: one JSON object per line.

The scheduler writes to the worker's stdin; the worker answers on the file
descriptor that was its stdout (its own fd 1 and 2 go to a log, so that
nothing a kernel prints can corrupt the answers).
"""
from __future__ import annotations

import json
from typing import Any


def encode(message: dict[str, Any]) -> bytes:
    """One message as the line that carries it."""
    return (json.dumps(message) + "\n").encode()


def decode(line: bytes | str) -> dict[str, Any]:
    """The message a line carries."""
    return json.loads(line)
