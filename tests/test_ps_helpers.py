"""Unit tests of the problem sets' helper modules (coursetools/ps_common.py, whose copies ps1, ps2, ps3 and ps5
ship, source/ps1_processes/ps1_workers.py, source/ps2_ipc/ps2_helpers.py, source/ps3_threads/ps3_helpers.py,
source/ps4_gil/ps4_helpers.py, source/ps5_pool/ps5_helpers.py and ps5_jobs.py).

The notebooks' tests rely on these helpers to make concurrency bugs show
every time; here they are checked against known-good and known-bad code.
"""
from __future__ import annotations

import multiprocessing
import os
import random
import signal
import sys
import threading
import time
from pathlib import Path

import pytest

from coursetools import ps_common

SOURCE = Path(__file__).resolve().parent.parent / "source"
sys.path.insert(0, str(SOURCE / "ps1_processes"))
sys.path.insert(0, str(SOURCE / "ps2_ipc"))
sys.path.insert(0, str(SOURCE / "ps3_threads"))
sys.path.insert(0, str(SOURCE / "ps4_gil"))
sys.path.insert(0, str(SOURCE / "ps5_pool"))
import ps1_workers  # noqa: E402
import ps2_helpers  # noqa: E402
import ps3_helpers  # noqa: E402
import ps4_helpers  # noqa: E402
import ps5_helpers  # noqa: E402
import ps5_jobs  # noqa: E402
from gil_runs import RUN_KEYS  # noqa: E402

from coursetools.gil.analysis import median_table, speedup_table, verdicts  # noqa: E402
from coursetools.gil.measurement import worker_counts  # noqa: E402
from coursetools.gil.workloads import WORKLOADS  # noqa: E402

# --------------------------------------------------------------------------- ps_common

def test_meet_is_true_when_the_parties_come_at_once(tmp_path):
    answers = {}
    parties = [threading.Thread(target=lambda n=n: answers.setdefault(n, ps_common.meet(tmp_path, f"p{n}", 3, 20)))
               for n in range(3)]
    for party in parties:
        party.start()
    for party in parties:
        party.join(30)
    assert answers == {0: True, 1: True, 2: True}


def test_meet_after_one_gives_up_nobody_waits(tmp_path):
    assert ps_common.meet(tmp_path, "first", 2, timeout=0.2) is False
    started = time.monotonic()
    assert ps_common.meet(tmp_path, "second", 2, timeout=30) is False
    assert ps_common.meet(tmp_path, "first", 2, timeout=30) is False
    assert time.monotonic() - started < 1, "a broken meeting must not make anyone wait"


def test_meeting_folder_is_new_and_empty():
    first, second = ps_common.meeting_folder(), ps_common.meeting_folder()
    assert first != second and not os.listdir(first) and not os.listdir(second)


# --------------------------------------------------------------------------- ps1_workers

def test_square_together_meets_in_a_pool(tmp_path):
    with multiprocessing.Pool(2) as pool:
        results = pool.map(ps1_workers.square_together, [(str(tmp_path), x) for x in range(4)], chunksize=1)
    pool.join()
    assert [square for square, _, _ in results] == [0, 1, 4, 9]
    assert all(met for *_, met in results) and os.getpid() not in {pid for _, pid, _ in results}


def test_square_together_alone_times_out_once(tmp_path):
    started = time.monotonic()
    assert ps1_workers.square_together((str(tmp_path), 3), timeout=0.2) == (9, os.getpid(), False)
    assert ps1_workers.square_together((str(tmp_path), 4), timeout=30) == (16, os.getpid(), False)
    assert time.monotonic() - started < 2


# --------------------------------------------------------------------------- ps2_helpers

def test_fresh_import_sees_a_rewritten_module(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(tmp_path))
    module = tmp_path / "ps_helper_probe_mod.py"
    module.write_text("ANSWER = 1\n")
    assert ps2_helpers.fresh_import("ps_helper_probe_mod").ANSWER == 1
    module.write_text("ANSWER = 2\n")  # same size, same second: the cached .pyc must not win
    assert ps2_helpers.fresh_import("ps_helper_probe_mod").ANSWER == 2
    sys.modules.pop("ps_helper_probe_mod", None)


def test_fresh_import_names_the_missing_module():
    with pytest.raises(ModuleNotFoundError, match="run the cell"):
        ps2_helpers.fresh_import("no_such_module_ps_helpers")


def test_together_in_the_creating_process_does_not_wait():
    work = ps2_helpers.Together(3, timeout=30)
    started = time.monotonic()
    assert work("x") == ("x", os.getpid(), False)
    assert time.monotonic() - started < 5


def test_together_meets_in_parallel_processes():
    work = ps2_helpers.Together(2, payload=10)
    results = multiprocessing.Queue()
    children = [multiprocessing.Process(target=_put_work, args=(work, item, results)) for item in "ab"]
    for child in children:
        child.start()
    got = sorted(results.get(timeout=30) for _ in children)
    for child in children:
        child.join(30)
    assert [item for item, *_ in got] == ["a", "b"]
    assert all(together for _, _, together, _ in got)
    assert all(payload == b"p" * 10 for *_, payload in got)
    assert len({pid for _, pid, _, _ in got}) == 2


def _put_work(work, item, results):
    results.put(work(item))


def test_child_call_reports_an_exception_instead_of_printing_it(capfd):
    child = ps2_helpers.ChildCall("ps2_helpers", "square", "not a number")
    try:
        assert child.finished(30)
        assert "TypeError" in (child.failure() or "")
        with pytest.raises(AssertionError, match="TypeError"):
            child.assert_returned()
    finally:
        child.stop()
    assert "Traceback" not in capfd.readouterr().err


def test_collect_fails_fast_without_a_sentinel():
    outbox = multiprocessing.Queue()
    child = ps2_helpers.ChildCall("ps2_helpers", "polite_worker", multiprocessing.Queue(), outbox,
                                  multiprocessing.Event())
    child.process.kill()
    child.process.join()
    started = time.monotonic()
    with pytest.raises(AssertionError, match="without putting SENTINEL"):
        ps2_helpers.collect(outbox, child)
    assert time.monotonic() - started < 10
    child.stop()


def test_call_with_timeout_returns_raises_and_remembers_a_hang():
    assert ps2_helpers.call_with_timeout(sum, [1, 2, 3]) == 6
    with pytest.raises(ZeroDivisionError):
        ps2_helpers.call_with_timeout(lambda: 1 / 0)
    release = threading.Event()

    def hangs():
        release.wait(60)

    with pytest.raises(AssertionError, match="did not return within"):
        ps2_helpers.call_with_timeout(hangs, timeout=0.2)
    started = time.monotonic()
    with pytest.raises(AssertionError, match="earlier call"):
        ps2_helpers.call_with_timeout(hangs, timeout=30)
    assert time.monotonic() - started < 1
    release.set()


def test_new_children_sees_running_children_only():
    before = ps2_helpers.running_children()
    child = multiprocessing.Process(target=time.sleep, args=(60,), daemon=True)
    child.start()
    try:
        assert [p.pid for p in ps2_helpers.new_children(before)] == [child.pid]
        ps2_helpers.kill_new_children(before)
        child.join(10)
        assert not ps2_helpers.new_children(before)
    finally:
        if child.is_alive():
            child.kill()
        child.join()


def test_witness_work_raises_work_failed_with_a_receipt_for_its_items():
    import pickle
    with ps2_helpers.Witness(1) as witness:
        work = witness.work(fails_on=["bad"])

        def call_both():
            good = work("fine")
            try:
                work("bad")
            except ps2_helpers.WorkFailed as error:
                return good, pickle.loads(pickle.dumps(error))
            return good, None

        good, failed = witness.run(call_both, timeout=20)
    assert good[0] == "fine" and good[1] in witness.calls
    assert type(failed) is ps2_helpers.WorkFailed and failed.item == "'bad'"
    assert witness.calls[failed.receipt] == (os.getpid(), "'bad'")


@pytest.mark.parametrize("kind, code", [("stuck", -signal.SIGTERM), ("stubborn", -signal.SIGKILL)])
def test_unwilling_workers_need_their_signal(kind, code):
    with ps2_helpers.running_workers(["polite", kind]) as (workers, inbox, outbox):
        polite, other = workers
        inbox.put("item")
        inbox.put(ps2_helpers.SENTINEL)
        polite.join(30)
        assert polite.exitcode == 0 and outbox.get(timeout=10) == "item"
        other.terminate()
        other.join(1)
        if code == -signal.SIGKILL:
            assert other.is_alive(), "a stubborn worker must survive SIGTERM"
            other.kill()
            other.join(10)
        assert other.exitcode == code


def test_servers_answer_and_stop():
    here, there = multiprocessing.Pipe()
    child = ps2_helpers.ChildCall("ps2_helpers", "echo_server", there)
    there.close()
    try:
        assert ps2_helpers.exchange(here, child, "hi") == ("echo", "hi", child.wait_started())
        here.send(None)
        child.assert_returned()
    finally:
        child.stop()
        here.close()


# --------------------------------------------------------------------------- ps3_helpers

class LockedCounter:
    def __init__(self):
        self.value = 0
        self._lock = threading.Lock()

    def increment(self):
        with self._lock:
            self.value += 1


class UnlockedCounter:
    def __init__(self):
        self.value = 0

    def increment(self):
        self.value += 1


class ClassLockCounter:
    lock = threading.RLock()
    value = 0

    def increment(self):
        with self.lock:
            self.value += 1


@pytest.mark.parametrize("threads", [2, 3])
def test_race_leaves_a_locked_counter_exact(threads):
    counter = ps3_helpers.traced(LockedCounter)()
    started = time.monotonic()
    ps3_helpers.race(*[lambda: [counter.increment() for _ in range(5)]] * threads)
    assert counter.value == 5 * threads
    assert ps3_helpers.accesses(counter) == {"reads": 5 * threads, "writes": 5 * threads}
    assert time.monotonic() - started < ps3_helpers.FALLBACK, "a correct counter should never wait for the fallback"


def test_race_wraps_class_level_locks():
    counter = ps3_helpers.traced(ClassLockCounter)()
    ps3_helpers.race(*[lambda: [counter.increment() for _ in range(3)]] * 2)
    assert counter.value == 6


@pytest.mark.parametrize("attempt", range(5))
def test_race_makes_an_unlocked_counter_lose_updates_every_time(attempt):
    counter = ps3_helpers.traced(UnlockedCounter)()
    ps3_helpers.race(*[lambda: [counter.increment() for _ in range(3)]] * 2)
    assert counter.value == 3


def ordered_transfer(source, target, amount):
    first, second = sorted((source, target), key=lambda account: account.number)
    with first.lock, second.lock:
        if source.balance < amount:
            raise ValueError("insufficient funds")
        source.balance -= amount
        target.balance += amount


def naive_transfer(source, target, amount):
    with source.lock, target.lock:
        source.balance -= amount
        target.balance += amount


def test_race_ordered_transfers_in_a_circle_finish():
    a, b, c = (ps3_helpers.Account(n, 100) for n in (1, 2, 3))
    ps3_helpers.race(lambda: ordered_transfer(a, b, 10), lambda: ordered_transfer(b, c, 20),
                     lambda: ordered_transfer(c, a, 30))
    assert (a.balance, b.balance, c.balance) == (120, 90, 90)


def test_race_reports_the_deadlock_of_argument_order_locking():
    a, b = ps3_helpers.Account(1, 100), ps3_helpers.Account(2, 100)
    with pytest.raises(AssertionError, match="deadlock"):
        ps3_helpers.race(lambda: naive_transfer(a, b, 1), lambda: naive_transfer(b, a, 1), timeout=2)


def test_race_returns_exceptions_when_asked():
    source, x, y = (ps3_helpers.Account(n, b) for n, b in ((1, 100), (2, 0), (3, 0)))
    outcomes = ps3_helpers.race(lambda: ordered_transfer(source, x, 70), lambda: ordered_transfer(source, y, 70),
                                return_exceptions=True)
    assert sorted(type(o).__name__ for o in outcomes) == ["NoneType", "ValueError"]
    with pytest.raises(ValueError):
        ps3_helpers.race(lambda: ordered_transfer(source, x, 70))


def test_an_untraced_lock_only_costs_one_fallback(monkeypatch):
    monkeypatch.setattr(ps3_helpers, "FALLBACK", 0.3)
    hidden = threading.Lock()

    class GlobalLockCounter:
        def __init__(self):
            self.value = 0

        def increment(self):
            with hidden:
                self.value += 1

    counter = ps3_helpers.traced(GlobalLockCounter)()
    started = time.monotonic()
    ps3_helpers.race(*[lambda: [counter.increment() for _ in range(5)]] * 2)
    assert counter.value == 10
    assert time.monotonic() - started < 3


def test_traced_lock_outside_a_race_is_a_lock():
    lock = ps3_helpers.TracedLock()
    assert lock.acquire() and lock.locked()
    assert not lock.acquire(False)
    lock.release()
    assert not lock.locked()
    with lock:
        assert lock.locked()
    reentrant = ps3_helpers.TracedLock(threading.RLock())
    with reentrant, reentrant:
        assert reentrant.locked()
    assert not reentrant.locked()


def test_thread_together_numbers_threads_and_meets():
    work = ps3_helpers.Together(3, timeout=20)
    out = []
    threads = [threading.Thread(target=lambda i=i: out.append(work(i))) for i in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(number for _, number, _ in out) == [0, 1, 2]
    assert all(met for *_, met in out) and len(work.threads) == 3


def test_fail_on_and_call_with_timeout():
    doubled = ps3_helpers.fail_on(3, KeyError)
    assert doubled(2) == 4
    with pytest.raises(KeyError):
        doubled(3)
    with pytest.raises(AssertionError, match="did not return"):
        ps3_helpers.call_with_timeout(threading.Event().wait, timeout=0.2)


# --------------------------------------------------------------------------- ps4_helpers

@pytest.mark.parametrize("cores", [2, 3, 8])
def test_synthetic_runs_look_like_a_quiet_machine(cores: int) -> None:
    rng = random.Random(cores)
    runs = [run for workload in WORKLOADS for run in ps4_helpers.synthetic_runs(workload, cores, rng, outliers=True)]
    assert all(isinstance(run[key], kind) for run in runs for key, kind in RUN_KEYS.items())
    assert all(len(run["per_core_percent"]) == cores for run in runs)
    groups = median_table(runs)
    assert all(row["runs"] == 3 for row in groups.values())
    assert {workers for _, mode, workers in groups if mode == "threads"} == set(worker_counts(cores))
    assert all(v.holds for v in verdicts({"runs": runs}, cores))  # medians see through the outliers
    speedups = speedup_table(runs)
    assert speedups[("io", "threads", 2 * cores)] > cores  # waiting scales past the core count
    assert groups[("io", "threads", 2 * cores)]["cpu_percent"] < 20


def test_synthetic_runs_are_reproducible_and_checked() -> None:
    assert ps4_helpers.synthetic_runs("c", 2, random.Random(5)) == ps4_helpers.synthetic_runs("c", 2, random.Random(5))
    with pytest.raises(ValueError):
        ps4_helpers.synthetic_runs("gpu", 2, random.Random(5))


# --- problem set 4: the student's own run, saved and read back when graded ----------------------

def _fake_experiment(calls: list):
    def run_experiment(runs, *, repeats, seconds):
        calls.append(repeats)
        return {"python": "CPython", "cpu_count": 2, "runs": [
            dict(workload=w, mode=m, workers=n, wall_s=1.0, cpu_percent=100.0, per_core_percent=[50.0, 50.0],
                 samples=[], repeat=r) for r in range(repeats) for w, m, n in runs]}
    return run_experiment


def test_my_measurements_saves_the_run_and_grading_reads_it_back(tmp_path, monkeypatch):
    calls: list = []
    monkeypatch.setattr(ps4_helpers, "run_experiment", _fake_experiment(calls))
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    path = tmp_path / "my_measurements.json"
    measured = ps4_helpers.my_measurements(8, str(path))
    assert calls == [3] and path.exists()
    assert ps4_helpers.workers_in(measured) == 8
    for mode in ("autograde", "validate"):
        monkeypatch.setenv("NBGRADER_EXECUTION", mode)
        assert ps4_helpers.my_measurements(2, str(path)) == measured  # the student's 8 workers, not the grader's 2
    assert calls == [3], "grading measured again although a run was saved"


@pytest.mark.parametrize("saved", [None, "not json", '{"runs": []}', '{"runs": [{"workload": "cpu"}]}',
                                   '[1, 2]'])
def test_grading_without_a_valid_saved_run_measures_one_short_repeat(tmp_path, monkeypatch, saved):
    calls: list = []
    monkeypatch.setattr(ps4_helpers, "run_experiment", _fake_experiment(calls))
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    path = tmp_path / "my_measurements.json"
    if saved is not None:
        path.write_text(saved)
    results = ps4_helpers.my_measurements(2, str(path))
    assert calls == [1] and ps4_helpers.workers_in(results) == 2
    assert path.read_text() == saved if saved is not None else not path.exists()  # grading writes nothing


def test_workers_in_wants_one_worker_count():
    runs = [{"mode": "serial", "workers": 1}, {"mode": "threads", "workers": 2}, {"mode": "processes", "workers": 4}]
    with pytest.raises(ValueError):
        ps4_helpers.workers_in({"runs": runs})


# --------------------------------------------------------------------------- ps5_helpers and ps5_jobs

POOLS = {
    "returns": "def run_jobs(jobs, workers=2, timeout=10.0):\n    return [('ok', len(jobs), [])]\n",
    "raises": "def run_jobs(jobs, workers=2, timeout=10.0):\n    raise ValueError('nope')\n",
    "hangs": "import time\n\ndef run_jobs(jobs, workers=2, timeout=10.0):\n    time.sleep(600)\n",
    "leaves_a_child": ("import subprocess, sys\n\ndef run_jobs(jobs, workers=2, timeout=10.0):\n"
                       "    subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)'])\n    return []\n"),
    "dies_on_sigterm": "import time\n\ndef run_jobs(jobs, workers=2, timeout=10.0):\n    time.sleep(600)\n",
}


@pytest.fixture
def pool_module(tmp_path, monkeypatch):
    """Write ``POOLS[kind]`` as a module on sys.path; return its name."""
    monkeypatch.syspath_prepend(str(tmp_path))

    def write(kind: str) -> str:
        name = f"ps5_probe_pool_{kind}"
        (tmp_path / f"{name}.py").write_text(POOLS[kind])
        return name
    return write


def test_pool_run_returns_what_run_jobs_returned(pool_module, no_child_left_running):
    with ps5_helpers.PoolRun([1, 2, 3], module=pool_module("returns")) as run:
        assert run.result() == [("ok", 3, [])]
        assert run.handlers_restored is True
        assert run.left_running(grace=0) == []


def test_pool_run_reports_an_exception(pool_module, no_child_left_running):
    with ps5_helpers.PoolRun([], module=pool_module("raises")) as run:
        with pytest.raises(AssertionError, match="ValueError: nope"):
            run.result()


def test_pool_run_gives_up_on_a_hang_and_kills_it(pool_module, no_child_left_running):
    with ps5_helpers.PoolRun([], module=pool_module("hangs")) as run:
        started = time.monotonic()
        with pytest.raises(AssertionError, match="did not return within 1 s"):
            run.result(limit=1)
        assert time.monotonic() - started < 1 + ps5_helpers.STARTUP


def test_pool_run_sees_what_was_left_running_and_kills_it(pool_module, no_child_left_running):
    with ps5_helpers.PoolRun([], module=pool_module("leaves_a_child")) as run:
        assert run.result() == []
        left = run.left_running(grace=0.5)
        pids = [info["process"].pid for info in run.job_processes()]
    assert len(left) == 1 and len(pids) == 1
    assert not ps5_helpers.psutil.pid_exists(pids[0]) or \
        ps5_helpers.psutil.Process(pids[0]).status() == ps5_helpers.psutil.STATUS_ZOMBIE


def test_pool_run_sees_the_driver_die_of_sigterm(pool_module, no_child_left_running):
    with ps5_helpers.PoolRun([], module=pool_module("dies_on_sigterm")) as run:
        time.sleep(0.5)
        assert not run.ended()
        run.send_signal(signal.SIGTERM)
        with pytest.raises(AssertionError, match="died by signal SIGTERM"):
            run.result()


def test_outcomes_accepts_plain_triples_and_refuses_look_alikes():
    good = [("ok", 1, ["a"]), ("timeout", None, [])]
    assert ps5_helpers.outcomes(good, 2) == good

    class Anything(str):
        def __eq__(self, other):
            return True
        __hash__ = str.__hash__

    for bad in ([("ok", 1, ["a"])], [("ok", 1)] * 2, [(Anything("ok"), 1, [])] * 2, [("fine", 1, [])] * 2,
                [("ok", 1, "a")] * 2, (("ok", 1, []),) * 2):
        with pytest.raises(AssertionError):
            ps5_helpers.outcomes(bad, 2)


def test_traces_name_each_job_and_process(tmp_path):
    for name in ("started-abc-11", "finished-abc-11", "started-def-12", "hanging-def-12", "seen-11", "meeting"):
        (tmp_path / name).write_text("n" + name[-2:] if name.startswith("started") else "")
    assert ps5_helpers.traces(str(tmp_path)) == {
        "abc": {"started": [11], "finished": [11], "hanging": [], "nonce": "n11"},
        "def": {"started": [12], "finished": [], "hanging": [12], "nonce": "n12"}}


def test_scripted_job_does_what_its_order_says(tmp_path):
    folder = str(tmp_path)
    (tmp_path / f"seen-{os.getpid()}").touch()  # as the watcher would mark this process
    value = ps5_jobs.scripted(ps5_jobs.Order("t1", folder, payload=3))
    assert value == ps5_jobs.answer("t1", ps5_helpers.traces(folder)["t1"]["nonce"]) + "ppp"
    with pytest.raises(ValueError, match="job t2 refuses"):
        ps5_jobs.scripted(ps5_jobs.Order("t2", folder, do="raise"))
    with pytest.raises(RuntimeError, match="in vain"):
        ps5_jobs.scripted(ps5_jobs.Order("t3", folder, after=("nobody",), meet_within=0.2))
    found = ps5_helpers.traces(folder)
    assert found["t1"]["finished"] == [os.getpid()] and not found["t2"]["finished"]
    assert ps5_jobs.answer("t1", "n") != ps5_jobs.answer("t2", "n") != ps5_jobs.answer("t2", "m")


def test_scripted_hang_starts_helpers_that_carry_its_token(tmp_path):
    folder, token = str(tmp_path), "tok" + str(random.randrange(10**9))
    child = multiprocessing.Process(target=ps5_jobs.scripted,
                                    args=(ps5_jobs.Order(token, folder, do="hang", helpers=2),), daemon=True)
    child.start()
    (tmp_path / f"seen-{child.pid}").touch()  # as the watcher would mark it
    try:
        deadline = time.monotonic() + 30
        while not ps5_helpers.traces(folder).get(token, {}).get("hanging") and time.monotonic() < deadline:
            time.sleep(0.05)
        assert ps5_helpers.traces(folder)[token]["hanging"] == [child.pid]
    finally:
        child.kill()
        child.join(10)
        killed = ps5_helpers.stop_running_with(token)
    assert len(killed) == 2
    time.sleep(0.2)
    assert ps5_helpers.stop_running_with(token) == []
