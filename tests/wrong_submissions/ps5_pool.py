"""Plausible wrong submissions for ps5_pool: each must lose exactly these points.

Each is the instructor's module (the solution cell of source/ps5_pool/ps5_pool.ipynb, as a student
would write it) with one mistake made by replacing a piece of it; a replacement that no longer
applies fails at import, so the table cannot silently drift from the solution.

Points: test_order_visible 2, test_parallel_hidden 2, test_timeout_visible 1, test_timeout_hidden 2,
test_crash_visible 1, test_crash_hidden 2, test_tree_visible 1, test_tree_hidden 2,
test_logs_visible 1, test_logs_hidden 2, test_interrupt_visible 2, test_interrupt_hidden 2.
"""
from __future__ import annotations

import re

from coursetools.course import Course

CELL = "ps5_student_pool"


def _solution_module() -> str:
    notebook = Course().notebooks("source", "ps5_pool")["ps5_pool"]
    source = next(c.source for c in notebook.cells if c.metadata.get("nbgrader", {}).get("grade_id") == CELL)
    return re.sub(r"^\s*### (BEGIN|END) SOLUTION\n", "", source, flags=re.MULTILINE)


SOLUTION = _solution_module()


def _with(*edits: tuple[str, str]) -> str:
    """The solution with each ``(old, new)`` replacement made once (``old`` must be there)."""
    source = SOLUTION
    for old, new in edits:
        assert source.count(old) == 1, f"the wrong submission no longer applies: {old!r}"
        source = source.replace(old, new)
    return source


def _spec(loses: dict[str, float], *edits: tuple[str, str]) -> dict:
    return {"cells": {CELL: _with(*edits)}, "loses": loses}


START_JOBS = '''            while waiting and len(running) < workers and not stop:'''
PART_F = {"test_interrupt_visible": 2, "test_interrupt_hidden": 2}

SUBMISSIONS = {
    # ---- A: order, parallelism, each job once
    "batches_of_workers": _spec(
        {"test_order_visible": 2},
        (START_JOBS, '''            while waiting and not running and not stop:
                batch = waiting[:workers]
                del waiting[:workers]
                for index in batch:
                    func, arg = jobs[index]
                    mine, theirs = multiprocessing.Pipe(duplex=False)
                    process = multiprocessing.Process(target=child_main, args=(func, arg, theirs), daemon=True)
                    process.start()
                    theirs.close()
                    running[index] = (process, mine, time.monotonic() + timeout)
            while False:''')),
    "no_worker_limit": _spec(
        {"test_parallel_hidden": 2},
        (START_JOBS, '''            while waiting and not stop:''')),
    "failures_reported_last": _spec(
        {"test_timeout_visible": 1, "test_timeout_hidden": 2, "test_crash_visible": 1, "test_crash_hidden": 2,
         "test_tree_visible": 1, "test_tree_hidden": 2},
        ('''    return [(status, value, lines) for (status, value), lines in zip(outcome, logs)]''',
         '''    report = [(status, value, lines) for (status, value), lines in zip(outcome, logs)]
    return [r for r in report if r[0] in ("ok", "cancelled")] + [r for r in report if r[0] not in ("ok", "cancelled")]''')),
    "retries_crashed_jobs": _spec(
        {"test_crash_visible": 1, "test_crash_hidden": 2},
        ('''                if status is None:
                    status = outcome[index] if outcome[index][0] in ("ok", "error") else ("crashed", process.exitcode)''',
         '''                if status is None:
                    status = outcome[index] if outcome[index][0] in ("ok", "error") else ("crashed", process.exitcode)
                    if status[0] == "crashed" and index not in retried:
                        retried.add(index)
                        waiting.insert(0, index)
                        del running[index]
                        continue'''),
        ('''    stop = []
''', '''    stop = []
    retried = set()
''')),
    # ---- B: timeouts
    "timeout_for_the_whole_run": _spec(
        {"test_timeout_hidden": 2},
        ('''                running[index] = (process, mine, time.monotonic() + timeout)''',
         '''                running[index] = (process, mine, run_started + timeout)'''),
        ('''    stop = []
''', '''    stop = []
    run_started = time.monotonic()
''')),
    "no_default_timeout": _spec(
        {"test_timeout_hidden": 2},
        ('''def run_jobs(jobs, workers=2, timeout=10.0):''', '''def run_jobs(jobs, workers=2, timeout=None):'''),
        ('''                running[index] = (process, mine, time.monotonic() + timeout)''',
         '''                running[index] = (process, mine, time.monotonic() + (timeout if timeout else 1e9))''')),
    "waits_for_hung_jobs": _spec(  # a hang: a job that never ends keeps run_jobs waiting
        {"test_timeout_visible": 1, "test_timeout_hidden": 2, "test_tree_visible": 1, "test_tree_hidden": 2},
        ('''                if process.exitcode is None and time.monotonic() < deadline:''',
         '''                if process.exitcode is None:''')),
    # ---- C: crashes and errors
    "crash_reported_as_ok": _spec(
        {"test_crash_visible": 1, "test_crash_hidden": 2},
        ('''else ("crashed", process.exitcode)''', '''else ("ok", None)''')),
    "gives_up_after_a_crash": _spec(
        {"test_crash_visible": 1, "test_crash_hidden": 2},
        ('''                outcome[index] = status
                del running[index]''', '''                outcome[index] = status
                del running[index]
                if status[0] == "crashed":
                    stop.append("a crash")''')),
    "exceptions_not_caught_in_child": _spec(
        {"test_crash_hidden": 2, "test_logs_hidden": 2},
        ('''    try:
        value = func(arg)
    except Exception as error:
        conn.send(("error", f"{type(error).__name__}: {error}"))
    else:
        conn.send(("ok", value))''', '''    value = func(arg)
    conn.send(("ok", value))''')),
    # ---- D: process trees
    "kills_the_job_not_its_tree": _spec(  # a leak: the helpers of a killed job live on
        {"test_tree_visible": 1, "test_tree_hidden": 2, **PART_F},
        ('''    os.setsid()  # the job and whatever it starts form one process group, killed together
''', '')),
    # ---- E: logs
    "handler_on_the_root_logger": _spec(
        {"test_logs_visible": 1, "test_logs_hidden": 2},
        ('''    logger = logging.getLogger(JOB_LOGGER)''', '''    logger = logging.getLogger()''')),
    "reads_only_after_the_job_ended": _spec(  # a deadlock: the child waits for room in a full pipe
        {"test_logs_hidden": 2},
        ('''                _read(conn, logs[index], outcome, index)
                if process.exitcode is None and time.monotonic() < deadline:''',
         '''                if process.exitcode is None and time.monotonic() < deadline:''')),
    # ---- F: signals
    "signals_not_handled": _spec(
        PART_F,
        ('''    if threading.current_thread() is threading.main_thread():  # signals reach the main thread only''',
         '''    if False:''')),
    "sigint_only": _spec(
        {"test_interrupt_hidden": 2},
        ('''        for signum in (signal.SIGINT, signal.SIGTERM):''', '''        for signum in (signal.SIGINT,):''')),
    "handlers_not_put_back": _spec(
        PART_F,
        ('''        for signum, handler in previous.items():
            signal.signal(signum, handler)''', '''        pass''')),
}
