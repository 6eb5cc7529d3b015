"""Plausible wrong submissions for ps4_gil: each must lose exactly these points."""

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
"""Worker module of problem set 4: CPU-bound pure Python for child processes."""


def count_primes(start: int, stop: int) -> int:
    """How many primes p there are with start <= p < stop (pure Python)."""
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
}
