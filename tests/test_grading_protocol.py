"""The grading worker's protocol, nbgrader's error lines and the version guard of the overrides (no kernel)."""
from __future__ import annotations

import pytest

from coursetools.grading import overrides, protocol
from coursetools.grading.sandbox import Limits
from coursetools.nbgrader_errors import error_line, result_error_line

MESSAGES = [
    protocol.WorkerSetup("/course", True, "/usr/bin/unshare", Limits(memory_bytes=2**30), ["/course/source"],
                         ["/usr"], True, False, [61000, None]),
    protocol.Task(7, "ps1_processes", "alice", "/s", "/src", "/t.db", "/w/s0/t7", "token"),
    protocol.Ready(),
    protocol.Answer(7, True, integrity=["ps1_processes: the kernel was changed"], timeouts=2, notes=["n"],
                    seconds=1.5),
    protocol.Answer(8, False, protocol.Failure(protocol.FailureKind.KERNEL_DID_NOT_START, "sandbox: no uid")),
]


@pytest.mark.parametrize("message", MESSAGES, ids=lambda m: type(m).__name__)
def test_every_message_survives_its_line(message):
    line = protocol.encode(message)
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    assert protocol.decode(line) == message


@pytest.mark.parametrize("kind, detail, reason", [
    ("KERNEL_DID_NOT_START", "", "the kernel did not start: no output"),
    ("KERNEL_DIED", "", "kernel died (the submission exited, crashed or killed its kernel)"),
    ("OUTPUT_FLOOD", "", "output flood: the kernel's output did not stop in time"),
    ("CELL_IGNORED_INTERRUPT", "cell 3 (x) ignored the interrupt", "timeout: cell 3 (x) ignored the interrupt"),
    ("NBGRADER_FAILED", "ValueError: bad", "nbgrader could not grade it: ValueError: bad"),
])
def test_each_failure_says_why_in_one_line(kind, detail, reason):
    assert protocol.Failure(protocol.FailureKind[kind], detail).reason() == reason


def test_error_line_prefers_the_exception_over_nbgrader_summaries():
    log = ("[INFO] Converting\n[ERROR] There was an error processing assignment: ps1\n"
           "Traceback (most recent call last):\n  File \"x.py\", line 1\nnbgrader.api.MissingEntry: no such notebook\n"
           "[ERROR] Please see the the above traceback for details on the specific errors on the above failures.\n")
    assert error_line(log) == "nbgrader.api.MissingEntry: no such notebook"
    assert result_error_line({"log": "[ERROR] the database is locked", "error": ""}) == "[ERROR] the database is locked"
    assert result_error_line({}) == "unknown nbgrader error"


def test_an_untested_version_is_refused_in_one_line(monkeypatch):
    overrides.require_tested_versions()
    monkeypatch.setitem(overrides.TESTED, "nbclient", ">=99")
    with pytest.raises(overrides.UnsupportedVersion, match=r"nbclient \S+ \(tested: >=99\).*overrides\.py"):
        overrides.require_tested_versions()
