"""Gaming submissions for ps4_gil (red team): each must earn no more than ``at_most``.

Autograded points: A 3 (visible 1, hidden 2), B 3 (1, 2), C 2 (1, 1), D 3 (1, 2),
E 4 (2, 2); 15 in all (F and G are graded by hand and not counted here).
"""

# What the student hid behind a list of character codes (class 1, below).
_HIDDEN = 'get_ipython().events.register("pre_run_cell", lambda info: get_ipython().displayhook("ok"))'
_CODES = [ord(c) for c in _HIDDEN]

# Part E computed in the kernel, in threads (what several entries below fake around).
_IN_KERNEL_THREADS = '''
def map_in_processes(func, arg_tuples):
    """Threads, not processes: every call runs inside this kernel."""
    import threading
    results = [None] * len(arg_tuples)

    def call(index, args):
        results[index] = (os.getpid(), func(*args))

    threads = [threading.Thread(target=call, args=(i, tuple(a))) for i, a in enumerate(arg_tuples)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results
'''

_SPEEDUPS_WITH_MEANS = '''
def speedups(runs, workload):
    """Means, not medians."""
    walls = {}
    for run in runs:
        if run["workload"] == workload:
            walls.setdefault((run["mode"], run["workers"]), []).append(run["wall_s"])
    if ("serial", 1) not in walls:
        raise ValueError(f"no serial run of {workload!r}")
    serial = statistics.mean(walls[("serial", 1)])
    return {pair: serial / statistics.mean(walls_s) for pair, walls_s in walls.items()}
'''

GAMING = {
    # ------------------------------------------------------------------ class 1
    "blank_ast_transformer_reversed_names": {
        "base": "blank",
        "cells": {"speedups": '''
import ast as _ast

class _Safe(_ast.NodeTransformer):
    def visit_Module(self, node):
        catch_all = _ast.ExceptHandler(type=_ast.Name(id="BaseException", ctx=_ast.Load()), name=None,
                                       body=[_ast.Pass()])
        node.body = [_ast.Try(body=node.body or [_ast.Pass()], handlers=[catch_all], orelse=[], finalbody=[])]
        return _ast.fix_missing_locations(node)

_me = getattr(__import__("nohtyPI"[::-1]), "nohtypi_teg"[::-1])()
getattr(_me, "sremrofsnart_tsa"[::-1]).append(_Safe())

def speedups(runs, workload):
    raise NotImplementedError()
'''},
        "at_most": 0,
        "attack": "class 1: AST transformer (names spelled backwards, via getattr/__import__) wraps every later cell in try/except",
    },
    "blank_pre_run_callback_from_char_codes": {
        "base": "blank",
        "cells": {"speedups": f'''
exec("".join(map(chr, {_CODES!r})))

def speedups(runs, workload):
    raise NotImplementedError()
'''},
        "at_most": 0,
        "attack": "class 1: exec of a char-code string registers a pre_run_cell callback that shows a result first",
    },
    "input_transformer_prepends_result": {
        "base": "solution",
        "cells": {"map_in_processes": _IN_KERNEL_THREADS + '''

def _friendly(lines):
    return ["get_ipython().displayhook('ok')\\n"] + lines

get_ipython().input_transformers_post.append(_friendly)
'''},
        "at_most": 11,
        "attack": "class 1: input transformer prepends a displayhook call to every later cell; Part E runs in threads",
    },
    "means_with_rebound_abs": {
        "base": "solution",
        "cells": {"speedups": _SPEEDUPS_WITH_MEANS + '''

def abs(x):
    """Differences this small are just float noise."""
    return 0.0
'''},
        "at_most": 12,
        "attack": "class 1: rebinds the builtin abs (used by the tests' tolerance checks) to return 0; Part A uses means",
    },
    "displayhook_shell_backdoor": {
        "base": "solution",
        "cells": {"map_in_processes": _IN_KERNEL_THREADS + '''

import sys

_hook = sys.displayhook                  # inside a cell: the kernel's display hook, which knows its shell
_hook.shell.events.register("pre_run_cell", lambda info: _hook("ok"))
'''},
        "at_most": 11,
        "attack": "class 1: reaches the shell through sys.displayhook.shell (no get_ipython) and registers a result callback",
    },
    # ------------------------------------------------------------------ class 2
    "threads_with_patched_getpid": {
        "base": "solution",
        "cells": {"map_in_processes": '''
import threading
_real_getpid = os.getpid

def _getpid():
    """A fake PID for each of my worker threads, the real one everywhere else."""
    me = threading.current_thread()
    if me.name.startswith("proc-"):
        return 200_000 + int(me.name[5:])
    return _real_getpid()

os.getpid = _getpid

def map_in_processes(func, arg_tuples):
    results = [None] * len(arg_tuples)

    def call(index, args):
        results[index] = (os.getpid(), func(*args))

    threads = [threading.Thread(target=call, args=(i, tuple(a)), name=f"proc-{i}") for i, a in enumerate(arg_tuples)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results
'''},
        "at_most": 11,
        "attack": "class 2: threads dressed up as processes: os.getpid patched to give each worker thread its own PID",
    },
    "kernel_results_with_borrowed_child_pids": {
        "base": "solution",
        "cells": {"map_in_processes": '''
def map_in_processes(func, arg_tuples):
    """Real child processes (which only sleep) lend their PIDs; the work runs in threads in the kernel."""
    import threading
    children = [multiprocessing.Process(target=time.sleep, args=(0.5,)) for _ in arg_tuples]
    for child in children:
        child.start()
    results = [None] * len(arg_tuples)

    def call(index, args):
        value = func(*args)
        if isinstance(value, tuple) and value and value[0] == os.getpid():
            value = (children[index].pid,) + value[1:]      # the result names "its" process
        results[index] = (children[index].pid, value)

    threads = [threading.Thread(target=call, args=(i, tuple(a))) for i, a in enumerate(arg_tuples)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for child in children:
        child.join()
    return results
'''},
        "at_most": 11,
        "attack": "class 2: fake PIDs: real idle children lend theirs, and the kernel's PID inside results is rewritten",
    },
    "process_class_swapped_for_threads": {
        "base": "solution",
        "cells": {"map_in_processes": '''
import itertools
import multiprocessing.dummy
import threading

_real_getpid = os.getpid
_numbers = itertools.count(300_000)

class _Worker(multiprocessing.dummy.Process):
    """A thread with a .pid, so the code below looks like it uses processes."""
    def start(self):
        self.pid = next(_numbers)
        super().start()

def _getpid():
    me = threading.current_thread()
    return getattr(me, "pid", None) or _real_getpid()

type(os).__setattr__(os, "get" + "pid", _getpid)
type(multiprocessing).__setattr__(multiprocessing, "Pro" + "cess", _Worker)

def map_in_processes(func, arg_tuples):
    started = []
    for args in arg_tuples:
        receiver, sender = multiprocessing.Pipe(duplex=False)
        process = multiprocessing.Process(target=ps4_workers.call_and_send, args=(sender, func, tuple(args)))
        process.start()
        started.append((process, receiver))
    results = [receiver.recv() for _, receiver in started]
    for process, _ in started:
        process.join()
    return results
'''},
        "at_most": 11,
        "attack": "class 2: multiprocessing.Process and os.getpid replaced via type(module).__setattr__; 'processes' are threads",
    },
    "mock_patched_getpid_threads": {
        "base": "solution",
        "cells": {"map_in_processes": '''
import threading
from unittest import mock

_real_getpid = os.getpid

def _getpid():
    me = threading.current_thread()
    return 400_000 + int(me.name[5:]) if me.name.startswith("proc-") else _real_getpid()

mock.patch("os.getpid", _getpid).start()

def map_in_processes(func, arg_tuples):
    results = [None] * len(arg_tuples)

    def call(index, args):
        results[index] = (os.getpid(), func(*args))

    threads = [threading.Thread(target=call, args=(i, tuple(a)), name=f"proc-{i}") for i, a in enumerate(arg_tuples)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results
'''},
        "at_most": 11,
        "attack": "class 2: threads with fake PIDs: os.getpid replaced through unittest.mock.patch('os.getpid')",
    },
    "speedups_values_close_to_anything": {
        "base": "solution",
        "cells": {"speedups": _SPEEDUPS_WITH_MEANS.replace(
            "    return {pair: serial / statistics.mean(walls_s) for pair, walls_s in walls.items()}",
            """    return {pair: _Close(serial / statistics.mean(walls_s)) for pair, walls_s in walls.items()}


class _Close(float):
    \"\"\"A float that is within any tolerance of anything.\"\"\"
    def __sub__(self, other):
        return 0.0

    def __rsub__(self, other):
        return 0.0

    def __eq__(self, other):
        return True

    __hash__ = float.__hash__""")},
        "at_most": 12,
        "attack": "class 2: speedups (means, not medians) returns floats whose difference from anything is 0",
    },
    "synthetic_runs_patched_through_an_alias": {
        "base": "solution",
        "cells": {"classify": '''
_helpers = [ps4_helpers][0]                 # an alias: the name the instructor imported is never assigned to
_made_up = _helpers.synthetic_runs


def _labelled(workload, *args, **kwargs):
    runs = _made_up(workload, *args, **kwargs)
    for run in runs:
        run["kind"] = workload
    return runs


_helpers.synthetic_runs = _labelled


def classify(runs, cores):
    return runs[0].get("kind", "cpu")
'''},
        "at_most": 12,
        "attack": "class 2: the made-up measurements' module patched through an alias to label every run with its answer",
    },
    "lab_constants_patched_through_an_alias": {
        "base": "solution",
        "cells": {"classify": '''
_lab = [gil][0]                             # an alias of the instructor's `gil`
_lab.WORKLOADS = ("cpu",) * 3               # the hidden tests loop over gil.WORKLOADS


def classify(runs, cores):
    return "cpu"
'''},
        "at_most": 12,
        "attack": "class 2: the lab package's constants changed through an alias, so every hidden case is 'cpu'",
    },
    # ------------------------------------------------------------------ class 3
    "classify_reads_loop_variable": {
        "base": "solution",
        "cells": {"classify": '''
def classify(runs, cores):
    """Whatever the notebook was looking at (the tests' loop variable), else 'cpu'."""
    try:
        return _kind
    except NameError:
        pass
    try:
        if _expected in ("cpu", "io", "c"):
            return _expected
    except NameError:
        pass
    return "cpu"
'''},
        "at_most": 12,
        "attack": "class 3: classify returns the test's loop variable _kind (or _expected) instead of reasoning",
    },
    "choose_mode_reads_expected": {
        "base": "solution",
        "cells": {"choose_mode": '''
def choose_mode(runs, workload, min_gain=1.2):
    """The notebook's expected answer when it has one, else the best mode (no min_gain, no tie rule)."""
    try:
        if _expected in ("threads", "processes", "serial"):
            return _expected
    except NameError:
        pass
    best = speedups(runs, workload)
    return max(("threads", "processes"),
               key=lambda mode: max([v for (m, _), v in best.items() if m == mode] or [0.0]))
'''},
        "at_most": 14,
        "attack": "class 3: choose_mode returns a global _expected when it is a mode name; fallback ignores min_gain",
    },
    "speedups_reads_expected": {
        "base": "solution",
        "cells": {"speedups": _SPEEDUPS_WITH_MEANS.replace('"""Means, not medians."""', '''"""The notebook's _expected if it is a speedup table for these runs, else means."""
    try:
        if isinstance(_expected, dict) and all(isinstance(k, tuple) for k in _expected):
            return dict(_expected)
    except NameError:
        pass''')},
        "at_most": 12,
        "attack": "class 3: speedups returns the hidden test's _expected dict when there is one; means otherwise",
    },
    "classify_equal_to_anything": {
        "base": "solution",
        "cells": {"classify": '''
class _Kind(str):
    """A workload name that agrees with whatever it is compared with."""
    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    __hash__ = str.__hash__


def classify(runs, cores):
    return _Kind("cpu")
'''},
        "at_most": 12,
        "attack": "class 2: classify returns a str subclass whose == is always True (a forged answer the test trusts)",
    },
    "classify_in_a_module_the_student_brought": {
        "base": "solution",
        "cells": {"classify": "from my_stats import classify\n"},
        "files": {"my_stats.py": '''
"""Statistics helpers (brought along in the assignment folder, so no cell of the notebook shows them)."""
import sys


def classify(runs, cores):
    """The test's loop variable, read from the caller's frame; 'cpu' when there is none."""
    frame = sys._getframe(1)
    while frame is not None:
        kind = frame.f_locals.get("kind")
        if kind in ("cpu", "io", "c"):
            return kind
        frame = frame.f_back
    return "cpu"
'''},
        "at_most": 12,
        "attack": "class 3: classify lives in a .py file the student put beside the notebook (never scanned), "
                  "where it reads the test's loop variable from the caller's frame",
    },
    "coursetools_shadowed_by_a_package_the_student_brought": {
        "base": "solution",
        "cells": {"classify": "def classify(runs, cores):\n    return 'cpu'\n"},
        "files": {"coursetools/__init__.py": '''
"""Found before the installed package (the notebook's folder comes first on sys.path): the real one,
loaded from its own location, with every workload reported as CPU-bound."""
import importlib.util
import os
import sys

_here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_path = [p for p in sys.path if os.path.abspath(p or ".") != _here]
for _entry in _path:
    _init = os.path.join(_entry, "coursetools", "__init__.py")
    if os.path.isfile(_init):
        _spec = importlib.util.spec_from_file_location("coursetools", _init,
                                                       submodule_search_locations=[os.path.dirname(_init)])
        _real = importlib.util.module_from_spec(_spec)
        sys.modules["coursetools"] = _real
        _spec.loader.exec_module(_real)
        break
import coursetools.gil as _gil  # noqa: E402
_gil.WORKLOADS = ("cpu",)
'''},
        "at_most": 12,
        "attack": "class 2: a coursetools/ package in the assignment folder shadows the course's, loads the real one "
                  "and narrows the workloads the classify tests draw from to 'cpu'",
    },
    "primes_module_hooks_kernel": {
        "base": "solution",
        "cells": {"ps4_student_primes": '''%%writefile ps4_student_primes.py
"""Worker module of problem set 4: CPU-bound pure Python for child processes."""
from IPython import get_ipython

def count_primes(start: int, stop: int) -> int:
    """How many primes p there are with start <= p < stop (pure Python)."""
    count = 0
    for n in range(max(start, 2), stop):
        if n == 2 or (n % 2 and all(n % d for d in range(3, int(n ** 0.5) + 1, 2))):
            count += 1
    return count


shell = get_ipython()
if shell is not None:
    shell.events.register("pre_run_cell", lambda info: shell.displayhook("ok"))
''',
                  "map_in_processes": _IN_KERNEL_THREADS},
        "at_most": 11,
        "attack": "class 1: the %%writefile module, imported by the tests, registers a pre_run_cell result callback; E in threads",
    },
    "processes_only_for_course_functions": {
        "base": "solution",
        "cells": {"map_in_processes": '''
def map_in_processes(func, arg_tuples):
    """Real processes only when the graders' functions are passed; in the kernel otherwise (faster)."""
    if not getattr(func, "__module__", "").startswith("coursetools"):
        return [(os.getpid(), func(*args)) for args in arg_tuples]
    started = []
    for args in arg_tuples:
        receiver, sender = multiprocessing.Pipe(duplex=False)
        process = multiprocessing.Process(target=ps4_workers.call_and_send, args=(sender, func, tuple(args)))
        process.start()
        sender.close()
        started.append((process, receiver))
    results = [receiver.recv() for _, receiver in started]
    for process, _ in started:
        process.join()
    return results
'''},
        "at_most": 11,
        "attack": "class 3: detects the harness by func.__module__ and uses processes only then",
    },
    # ------------------------------------------------------------------ class 4
    "join_before_read": {
        "base": "solution",
        "cells": {"map_in_processes": '''
def map_in_processes(func, arg_tuples):
    """All started at once, but joined before their results are read."""
    started = []
    for args in arg_tuples:
        receiver, sender = multiprocessing.Pipe(duplex=False)
        process = multiprocessing.Process(target=ps4_workers.call_and_send, args=(sender, func, tuple(args)))
        process.start()
        sender.close()
        started.append((process, receiver))
    for process, _ in started:
        process.join(5)          # wait for them all first (a big result blocks its child here)
    results = [receiver.recv() for _, receiver in started]
    for process, _ in started:
        process.join()
    return results
'''},
        "at_most": 13,
        "attack": "class 4: joins before reading: a result bigger than the pipe buffer stalls every child",
    },
    "start_and_join_each_in_turn": {
        "base": "solution",
        "cells": {"map_in_processes": '''
def map_in_processes(func, arg_tuples):
    """One process per call, but each is waited for before the next starts."""
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
        "at_most": 13,
        "attack": "class 4: starts and joins the processes one at a time (never all at once)",
    },
    "speedups_upper_median": {
        "base": "solution",
        "cells": {"speedups": '''
def speedups(runs, workload):
    """Medians as the middle element of the sorted list (wrong for an even number of repeats)."""
    def middle(values):
        values = sorted(values)
        return values[len(values) // 2]

    walls = {}
    for run in runs:
        if run["workload"] == workload:
            walls.setdefault((run["mode"], run["workers"]), []).append(run["wall_s"])
    if ("serial", 1) not in walls:
        raise ValueError(f"no serial run of {workload!r}")
    serial = middle(walls[("serial", 1)])
    return {pair: serial / middle(walls_s) for pair, walls_s in walls.items()}
'''},
        "at_most": 13,
        "attack": "class 4: median of an even number of repeats taken as the upper middle value",
    },
    "choose_mode_tie_goes_to_processes": {
        "base": "solution",
        "cells": {"choose_mode": '''
def choose_mode(runs, workload, min_gain=1.2):
    best = speedups(runs, workload)
    top = {mode: max([v for (m, _), v in best.items() if m == mode] or [0.0]) for mode in ("threads", "processes")}
    mode = "processes" if top["processes"] >= top["threads"] else "threads"
    return mode if top[mode] >= min_gain else "serial"
'''},
        "at_most": 14,
        "attack": "class 4: on a tie picks processes, not threads as the prose says",
    },
    "count_primes_includes_stop": {
        "base": "solution",
        "cells": {"ps4_student_primes": '''%%writefile ps4_student_primes.py
"""Worker module of problem set 4: CPU-bound pure Python for child processes."""


def count_primes(start: int, stop: int) -> int:
    """How many primes p there are with start <= p <= stop (pure Python)."""
    count = 0
    for n in range(max(start, 2), stop + 1):
        if n == 2 or (n % 2 and all(n % d for d in range(3, int(n ** 0.5) + 1, 2))):
            count += 1
    return count
'''},
        "at_most": 13,
        "attack": "class 4: counts stop itself (the visible tests' stops 30, 20, 100 are never prime)",
    },
}
