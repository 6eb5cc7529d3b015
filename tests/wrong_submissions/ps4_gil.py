"""Plausible wrong submissions for ps4_gil: each must lose exactly these points."""


def _changed(text: str, old: str, new: str) -> str:
    """text with old replaced by new; old must be there (a stale entry fails loudly)."""
    assert old in text, f"{old!r} is not in the solution any more"
    return text.replace(old, new)


# The instructor's solution cells, without the solution markers: most entries
# below are one of them with one line changed.
CLASSIFY = '''def classify(runs: list[dict], cores: int) -> str:
    """'cpu', 'io' or 'c': which kind of work these measurements show."""
    def median_of(mode, count, key):
        return statistics.median(r[key] for r in runs if r["mode"] == mode and r["workers"] == count)

    counts = sorted({r["workers"] for r in runs if r["mode"] == "threads" and r["workers"] > 1})
    serial_wall = median_of("serial", 1, "wall_s")
    if statistics.median(median_of("threads", count, "cpu_percent") for count in counts) < 50:
        return "io"  # threads finish without keeping a core busy: they wait
    best_threads = max(serial_wall / median_of("threads", count, "wall_s") for count in counts)
    return "c" if best_threads >= 1.4 else "cpu"
'''
CHOOSE_MODE = '''def choose_mode(runs: list[dict], workload: str, min_gain: float = 1.2) -> str:
    """'threads', 'processes' or 'serial', from the measured speedups."""
    table = speedups(runs, workload)
    best = {
        mode: max((value for (m, _), value in table.items() if m == mode), default=0.0)
        for mode in ("threads", "processes")
    }
    choice = "threads" if best["threads"] >= best["processes"] else "processes"
    return choice if best[choice] >= min_gain else "serial"
'''
PRIMES_MODULE = '''%%writefile ps4_student_primes.py
"""Worker module of problem set 4: CPU-bound work for child processes."""


def count_primes(start: int, stop: int) -> int:
    """How many primes p there are with start <= p < stop (0 for an empty range)."""
    count = 0
    for number in range(max(start, 2), stop):
        if number % 2 == 0:
            count += number == 2
            continue
        divisor = 3
        while divisor * divisor <= number:
            if number % divisor == 0:
                break
            divisor += 2
        else:
            count += 1
    return count
'''
MAP_IN_PROCESSES = '''def map_in_processes(func, arg_tuples: list[tuple]) -> list[tuple[int, object]]:
    """[(pid, func(*args)) for args in arg_tuples], each call in its own child process, all at once."""
    pipes = [multiprocessing.Pipe(duplex=False) for _ in arg_tuples]
    processes = [
        multiprocessing.Process(target=ps4_workers.call_and_send, args=(sender, func, tuple(args)))
        for (_, sender), args in zip(pipes, arg_tuples)
    ]
    for process in processes:
        process.start()
    for _, sender in pipes:
        sender.close()  # the children hold their copies; ours would hide a child's death
    results = [receiver.recv() for receiver, _ in pipes]
    for process in processes:
        process.join()
    for receiver, _ in pipes:
        receiver.close()
    return results
'''

SUBMISSIONS = {
    # The answer of the visible example, whatever the measurements.  Part C
    # builds on speedups, so its advice goes wrong too.
    "hard_coded_speedups": {
        "cells": {"speedups": '''
def speedups(runs, workload):
    return {("serial", 1): 1.0, ("threads", 2): 2.0}
'''},
        "loses": {"test_speedups_hidden": 2, "test_choose_mode_visible": 1, "test_choose_mode_hidden": 1},
    },
    # Looks at the speedup only: waiting threads speed up too, so I/O-bound
    # work is taken for C code that releases the GIL.
    "classify_by_speedup_only": {
        "cells": {"classify": '''
def classify(runs, cores):
    table = speedups(runs, runs[0]["workload"])
    best_threads = max(value for (mode, _), value in table.items() if mode == "threads")
    return "c" if best_threads >= 1.4 else "cpu"
'''},
        "loses": {"test_classify_visible": 1, "test_classify_hidden": 2},
    },
    # "Processes are always faster": ignores the measurements.
    "always_processes": {
        "cells": {"choose_mode": '''
def choose_mode(runs, workload, min_gain=1.2):
    return "processes"
'''},
        "loses": {"test_choose_mode_visible": 1, "test_choose_mode_hidden": 1},
    },
    # Trial division that forgets 0 and 1 are not primes.
    "zero_and_one_are_primes": {
        "cells": {"ps4_student_primes": '''%%writefile ps4_student_primes.py
"""Worker module of problem set 4: CPU-bound work for child processes."""


def count_primes(start: int, stop: int) -> int:
    """How many primes p there are with start <= p < stop (0 for an empty range)."""
    return sum(1 for n in range(start, stop) if all(n % d for d in range(2, int(n ** 0.5) + 1)))
'''},
        "loses": {"test_count_primes_visible": 1, "test_count_primes_hidden": 2},
    },
    # Sequential, in the kernel: right results, no child process at all.
    "sequential_in_kernel": {
        "cells": {"map_in_processes": '''
def map_in_processes(func, arg_tuples):
    return [(os.getpid(), func(*args)) for args in arg_tuples]
'''},
        "loses": {"test_map_in_processes_visible": 2, "test_map_in_processes_hidden": 2},
    },
    # A child per call, but each one is waited for before the next starts:
    # right PIDs and results, never two at the same time (the rendezvous fails).
    "one_process_at_a_time": {
        "cells": {"map_in_processes": '''
def map_in_processes(func, arg_tuples):
    results = []
    for args in arg_tuples:
        receiver, sender = multiprocessing.Pipe(duplex=False)
        process = multiprocessing.Process(target=ps4_workers.call_and_send, args=(sender, func, tuple(args)))
        process.start()
        sender.close()
        results.append(receiver.recv())
        process.join()
    return results
'''},
        "loses": {"test_map_in_processes_hidden": 2},
    },
    # ---- Part A ----------------------------------------------------------
    # Forgets that runs mix workloads: every run counts, whatever its workload.
    "all_workloads_mixed": {
        "cells": {"speedups": '''
def speedups(runs, workload):
    walls = {}
    for run in runs:
        walls.setdefault((run["mode"], run["workers"]), []).append(run["wall_s"])
    if ("serial", 1) not in walls:
        raise ValueError("no serial run")
    baseline = statistics.median(walls[("serial", 1)])
    return {key: baseline / statistics.median(values) for key, values in walls.items()}
'''},
        "loses": {"test_speedups_visible": 1, "test_speedups_hidden": 2},
    },
    # Leaves out the serial pair: "serial against itself" seemed pointless.
    "no_serial_entry": {
        "cells": {"speedups": '''
def speedups(runs, workload):
    walls = {}
    for run in runs:
        if run["workload"] == workload:
            walls.setdefault((run["mode"], run["workers"]), []).append(run["wall_s"])
    if ("serial", 1) not in walls:
        raise ValueError("no serial run")
    baseline = statistics.median(walls.pop(("serial", 1)))
    return {key: baseline / statistics.median(values) for key, values in walls.items()}
'''},
        "loses": {"test_speedups_visible": 1, "test_speedups_hidden": 2},
    },
    # Means instead of medians: an outlier moves the result, and Part C's
    # advice with it (a repeat slowed by a burst of load).
    "mean_instead_of_median": {
        "cells": {"speedups": '''
def speedups(runs, workload):
    walls = {}
    for run in runs:
        if run["workload"] == workload:
            walls.setdefault((run["mode"], run["workers"]), []).append(run["wall_s"])
    if ("serial", 1) not in walls:
        raise ValueError("no serial run")
    baseline = statistics.mean(walls[("serial", 1)])
    return {key: baseline / statistics.mean(values) for key, values in walls.items()}
'''},
        "loses": {"test_speedups_visible": 1, "test_speedups_hidden": 2, "test_choose_mode_hidden": 1},
    },
    # The middle element of the sorted repeats: right for 3 repeats, not for 4.
    "upper_middle_for_even_repeats": {
        "cells": {"speedups": '''
def speedups(runs, workload):
    def middle(values):
        return sorted(values)[len(values) // 2]
    walls = {}
    for run in runs:
        if run["workload"] == workload:
            walls.setdefault((run["mode"], run["workers"]), []).append(run["wall_s"])
    if ("serial", 1) not in walls:
        raise ValueError("no serial run")
    baseline = middle(walls[("serial", 1)])
    return {key: baseline / middle(values) for key, values in walls.items()}
'''},
        "loses": {"test_speedups_hidden": 2},
    },
    # No serial run: an empty table instead of ValueError.
    "no_serial_no_error": {
        "cells": {"speedups": '''
def speedups(runs, workload):
    walls = {}
    for run in runs:
        if run["workload"] == workload:
            walls.setdefault((run["mode"], run["workers"]), []).append(run["wall_s"])
    if ("serial", 1) not in walls:
        return {}
    baseline = statistics.median(walls[("serial", 1)])
    return {key: baseline / statistics.median(values) for key, values in walls.items()}
'''},
        "loses": {"test_speedups_hidden": 2},
    },
    # ---- Part B ----------------------------------------------------------
    # A speedup threshold so low that CPU-bound threads (about 1x) count as C code.
    "cpu_taken_for_c": {
        "cells": {"classify": _changed(CLASSIFY, "best_threads >= 1.4", "best_threads >= 0.5")},
        "loses": {"test_classify_visible": 1, "test_classify_hidden": 2},
    },
    # Never answers "c": work that keeps a core busy is "cpu".
    "never_c": {
        "cells": {"classify": _changed(CLASSIFY, '"c" if best_threads >= 1.4 else "cpu"', '"cpu"')},
        "loses": {"test_classify_visible": 1, "test_classify_hidden": 2},
    },
    # Thinks every machine has 2 cores: a speedup above 2.5 cannot be threads.
    "thinks_two_cores": {
        "cells": {"classify": _changed(CLASSIFY, "best_threads >= 1.4", "1.4 <= best_threads <= 2.5")},
        "loses": {"test_classify_hidden": 2},
    },
    # Means of the repeats: one slow serial repeat makes CPU-bound threads look fast.
    "classify_with_means": {
        "cells": {"classify": _changed(CLASSIFY, "return statistics.median(r[key]", "return statistics.mean(r[key]")},
        "loses": {"test_classify_hidden": 2},
    },
    # ---- Part C ----------------------------------------------------------
    # Looks at the largest worker count only, not at the best one.
    "largest_count_only": {
        "cells": {"choose_mode": '''
def choose_mode(runs, workload, min_gain=1.2):
    table = speedups(runs, workload)
    best = {}
    for mode in ("threads", "processes"):
        counts = [count for m, count in table if m == mode]
        best[mode] = table[(mode, max(counts))] if counts else 0.0
    choice = "threads" if best["threads"] >= best["processes"] else "processes"
    return choice if best[choice] >= min_gain else "serial"
'''},
        "loses": {"test_choose_mode_hidden": 1},
    },
    # A tie goes to processes.
    "processes_on_tie": {
        "cells": {"choose_mode": _changed(CHOOSE_MODE, 'best["threads"] >= best["processes"]', 'best["threads"] > best["processes"]')},
        "loses": {"test_choose_mode_hidden": 1},
    },
    # Always some parallel mode, however small the gain.
    "never_serial": {
        "cells": {"choose_mode": _changed(CHOOSE_MODE, 'return choice if best[choice] >= min_gain else "serial"', "return choice")},
        "loses": {"test_choose_mode_hidden": 1},
    },
    # The default 1.2 instead of the min_gain it was given.
    "hard_coded_min_gain": {
        "cells": {"choose_mode": _changed(CHOOSE_MODE, "best[choice] >= min_gain", "best[choice] >= 1.2")},
        "loses": {"test_choose_mode_hidden": 1},
    },
    # "At least min_gain" read as "more than min_gain".
    "serial_at_min_gain": {
        "cells": {"choose_mode": _changed(CHOOSE_MODE, "best[choice] >= min_gain", "best[choice] > min_gain")},
        "loses": {"test_choose_mode_hidden": 1},
    },
    # The lesson's answers looked up by the workload's name, not measured.
    "advice_from_the_name": {
        "cells": {"choose_mode": '''
def choose_mode(runs, workload, min_gain=1.2):
    return {"cpu": "processes", "io": "threads", "c": "threads"}.get(workload, "serial")
'''},
        "loses": {"test_choose_mode_visible": 1, "test_choose_mode_hidden": 1},
    },
    # ---- Part D ----------------------------------------------------------
    # Counts [start, stop] instead of [start, stop).
    "stop_included": {
        "cells": {"ps4_student_primes": _changed(PRIMES_MODULE, "range(max(start, 2), stop)", "range(max(start, 2), stop + 1)")},
        "loses": {"test_count_primes_hidden": 2},
    },
    # A reversed range is counted as if it were the right way round.
    "reversed_range_counted": {
        "cells": {"ps4_student_primes": _changed(PRIMES_MODULE,
            "range(max(start, 2), stop)", "range(max(min(start, stop), 2), max(start, stop))")},
        "loses": {"test_count_primes_hidden": 2},
    },
    # The function is right, but defined in the notebook: no module for the children.
    "defined_in_the_notebook": {
        "cells": {"ps4_student_primes": PRIMES_MODULE.split("\n", 1)[1]},
        "loses": {"test_count_primes_visible": 1, "test_count_primes_hidden": 2},
    },
    # ---- Part E ----------------------------------------------------------
    # Children compute, but the PID reported is the kernel's own.
    "kernel_pid_reported": {
        "cells": {"map_in_processes": _changed(MAP_IN_PROCESSES,
            "results = [receiver.recv() for receiver, _ in pipes]",
            "results = [(os.getpid(), receiver.recv()[1]) for receiver, _ in pipes]")},
        "loses": {"test_map_in_processes_visible": 2, "test_map_in_processes_hidden": 2},
    },
    # Results in the order they arrive, not in the order of arg_tuples.
    "completion_order": {
        "cells": {"map_in_processes": _changed(MAP_IN_PROCESSES,
            "results = [receiver.recv() for receiver, _ in pipes]",
            "waiting = [receiver for receiver, _ in pipes]\n"
            "    results = []\n"
            "    while waiting:\n"
            "        for ready in multiprocessing.connection.wait(waiting):\n"
            "            results.append(ready.recv())\n"
            "            waiting.remove(ready)")},
        "loses": {"test_map_in_processes_visible": 2, "test_map_in_processes_hidden": 2},
    },
    # Joins before reading: fine for small results, stuck on results bigger
    # than a pipe buffer (the test kills the children after 8 s).
    "join_before_read": {
        "cells": {"map_in_processes": _changed(MAP_IN_PROCESSES,
            "    results = [receiver.recv() for receiver, _ in pipes]\n    for process in processes:\n        process.join()\n",
            "    for process in processes:\n        process.join()\n    results = [receiver.recv() for receiver, _ in pipes]\n")},
        "loses": {"test_map_in_processes_hidden": 2},
    },
    # Reads every result but never joins: the children are left behind.
    "no_join": {
        "cells": {"map_in_processes": _changed(MAP_IN_PROCESSES,
            "    for process in processes:\n        process.join()\n", "")},
        "loses": {"test_map_in_processes_hidden": 2},
    },
}
