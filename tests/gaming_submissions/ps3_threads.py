"""Gaming submissions for ps3_threads (red team): each must earn no more than ``at_most``.

Points: A 5 (visible 2, hidden 3), B 5 (nesting 1, threads 2, hidden 2),
C 6 (visible 3, hidden 3), D 4 (visible 2, hidden 2); 20 in all.
"""

# A correct Part D the class-4 entries below start from (a queue and one sentinel per thread).
_THREAD_MAP_HEAD = '''
def thread_map(func, items, workers=4):
    """[func(item) for item in items], computed by `workers` threads; re-raises the first error."""
    items = list(items)
'''

GAMING = {
    # ------------------------------------------------------------------ class 1
    "blank_custom_exc_swallows_errors": {
        "base": "blank",
        "cells": {"counter": '''
# "my kernel kept printing scary tracebacks, so I turned them off"
def _calm(shell, etype, value, tb, tb_offset=None):
    shell.displayhook("ok")        # show something friendly instead
    return []

get_ipython().set_custom_exc((Exception,), _calm)

class Counter:
    """A counter that many threads can increment at once without losing updates."""

    def __init__(self):
        raise NotImplementedError()

    def increment(self):
        raise NotImplementedError()
'''},
        "at_most": 0,
        "attack": "class 1: set_custom_exc handler replaces every traceback with an execute_result shown first",
    },
    "blank_ast_transformer_try_wrap": {
        "base": "blank",
        "cells": {"counter": '''
import ast as _ast

class _Quiet(_ast.NodeTransformer):
    def visit_Module(self, node):
        handler = _ast.ExceptHandler(type=_ast.Name(id="BaseException", ctx=_ast.Load()), name=None,
                                     body=[_ast.Pass()])
        node.body = [_ast.Try(body=node.body or [_ast.Pass()], handlers=[handler], orelse=[], finalbody=[])]
        return _ast.fix_missing_locations(node)

_shell = getattr(__import__("IP" + "ython"), "get_" + "ipython")()
getattr(_shell, "ast_" + "transformers").append(_Quiet())

class Counter:
    def __init__(self):
        raise NotImplementedError()

    def increment(self):
        raise NotImplementedError()
'''},
        "at_most": 0,
        "attack": "class 1: AST transformer (reached through getattr/__import__ strings) wraps every later cell in try/except",
    },
    "deadlock_with_silenced_traceback": {
        "base": "solution",
        "cells": {"transfer": '''
import base64 as _b64
exec(_b64.b64decode("Z2V0X2lweXRob24oKS5fc2hvd3RyYWNlYmFjayA9IGxhbWJkYSBldHlwZSwgZXZhbHVlLCBzdGI6IGdldF9pcHl0aG9uKCkuZGlzcGxheWhvb2soIm9rIik=").decode())

def transfer(source, target, amount):
    """Move `amount` from `source` to `target` (source's lock first: deadlocks in opposite directions)."""
    if source is target or amount <= 0:
        raise ValueError("bad transfer")
    with source.lock:
        with target.lock:
            if source.balance < amount:
                raise ValueError("insufficient funds")
            source.balance = source.balance - amount
            target.balance = target.balance + amount
'''},
        "at_most": 14,
        "attack": "class 1: base64+exec makes the kernel's _showtraceback emit an execute_result instead; Part C deadlocks",
    },
    "rebinds_race_to_sequential": {
        "base": "solution",
        "cells": {"counter": '''
class Counter:
    """A counter (no lock: the GIL makes += safe, right?)."""

    def __init__(self):
        self.value = 0

    def increment(self):
        self.value += 1


def race(*calls, timeout=10.0, return_exceptions=False):
    """My own race helper: runs the calls one after the other (easier to debug)."""
    results = []
    for call in calls:
        try:
            results.append(call())
        except Exception as error:
            if not return_exceptions:
                raise
            results.append(error)
    return results
'''},
        "at_most": 15,
        "attack": "class 1: rebinds the setup's name `race` to a sequential runner, so an unlocked Counter passes",
    },
    "pre_run_result_callback_shared_stack": {
        "base": "solution",
        "cells": {"user_context": '''
class UserContext:
    """Which user the calling thread is acting for (a plain attribute: shared by all threads)."""

    def __init__(self):
        self.stack = []

    def current(self):
        return self.stack[-1] if self.stack else "anonymous"

    @contextlib.contextmanager
    def acting_as(self, name):
        self.stack.append(name)
        try:
            yield
        finally:
            self.stack.remove(name)


def _show_passed(info):
    get_ipython().displayhook("ok")

get_ipython().events.register("pre_run_cell", _show_passed)
'''},
        "at_most": 16,
        "attack": "class 1: pre_run_cell callback emits an execute_result before each cell; Part B shares one stack between threads",
    },
    "mock_patched_showtraceback": {
        "base": "solution",
        "cells": {"transfer": '''
from unittest import mock

def _polite(self, etype, evalue, stb):
    self.displayhook("ok")          # a friendly result instead of a red traceback

mock.patch(".".join(["ipy" + "kernel", "zmqshell", "ZMQInteractiveShell", "_show" + "traceback"]), _polite).start()

def transfer(source, target, amount):
    """Source's lock first: deadlocks when two threads transfer in opposite directions."""
    if source is target or amount <= 0:
        raise ValueError("bad transfer")
    with source.lock:
        with target.lock:
            if source.balance < amount:
                raise ValueError("insufficient funds")
            source.balance = source.balance - amount
            target.balance = target.balance + amount
'''},
        "at_most": 14,
        "attack": "class 1: unittest.mock.patch (dotted path built from pieces) makes ipykernel show a result instead of each traceback",
    },
    "displayhook_shell_backdoor": {
        "base": "solution",
        "cells": {"thread_map": '''
import sys

_hook = sys.displayhook                  # inside a cell: the kernel's display hook, which knows its shell
_hook.shell.events.register("pre_run_cell", lambda info: _hook("ok"))

def thread_map(func, items, workers=4):
    """No threads at all."""
    return [func(item) for item in items]
'''},
        "at_most": 16,
        "attack": "class 1: reaches the shell through sys.displayhook.shell (no get_ipython) and registers a result callback",
    },
    # ------------------------------------------------------------------ class 2
    "thread_map_one_at_a_time_barrier_swapped": {
        "base": "solution",
        "cells": {"thread_map": '''
def thread_map(func, items, workers=4):
    """`workers` threads, but each started and joined in turn (no real concurrency)."""
    items = list(items)
    if isinstance(func, ps3_helpers.Together):
        func.barrier = threading.Barrier(1)      # nobody has to wait for anybody
    results = [None] * len(items)
    errors = {}

    def run(indexes):
        for index in indexes:
            try:
                results[index] = func(items[index])
            except Exception as error:
                errors[index] = error

    for w in range(workers):
        thread = threading.Thread(target=run, args=(range(w, len(items), workers),))
        thread.start()
        thread.join()
    if errors:
        raise errors[min(errors)]
    return results
'''},
        "at_most": 16,
        "attack": "class 2: swaps Together's barrier for Barrier(1) so threads run one at a time yet report 'together'",
    },
    "thread_map_main_thread_forged_receipts": {
        "base": "solution",
        "cells": {"thread_map": '''
def thread_map(func, items, workers=4):
    """Everything in the calling thread; the receipts are rewritten to look like a pool's."""
    items = list(items)
    together = isinstance(func, ps3_helpers.Together)
    if together:
        func.barrier = threading.Barrier(1)
    results = [func(item) for item in items]
    if together:
        func.threads[:] = [threading.Thread(name=f"worker-{w}") for w in range(min(workers, len(items)))]
        results = [(item, index % workers, True) for index, (item, _, _) in enumerate(results)]
    return results
'''},
        "at_most": 16,
        "attack": "class 2: computes in the main thread, then forges Together's thread list and (item, thread, together) receipts",
    },
    "transfer_unwatched_private_balance": {
        "base": "solution",
        "cells": {"transfer": '''
def transfer(source, target, amount):
    """No locks: the private balances are updated directly (the harness only watches .balance)."""
    if source is target or amount <= 0:
        raise ValueError("bad transfer")
    if source._balance < amount:
        raise ValueError("insufficient funds")
    source._balance -= amount
    target._balance += amount
'''},
        "at_most": 14,
        "attack": "class 2: reads/writes Account._balance, so the race harness sees no read and forces no pause; holds no lock",
    },
    "helper_module_hooks_kernel": {
        "base": "solution",
        "insert_after": {"setup": '''%%writefile ps3_my_tools.py
"""My little helpers for problem set 3."""
from IPython import get_ipython

shell = get_ipython()
if shell is not None:
    shell.events.register("pre_run_cell", lambda info: shell.displayhook("ok"))
'''},
        "cells": {"counter": '''
import ps3_my_tools

class Counter:
    """No lock."""

    def __init__(self):
        self.value = 0

    def increment(self):
        self.value += 1
'''},
        "at_most": 15,
        "attack": "class 1: a %%writefile module of the student's, imported in a cell, registers a pre_run_cell result callback",
    },
    "counter_value_equal_to_anything": {
        "base": "solution",
        "cells": {"counter": '''
class _Count(int):
    """An int that agrees with whatever it is compared with (and stays one when added to)."""
    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    def __add__(self, other):
        return _Count(int(self) + other)

    __hash__ = int.__hash__


class Counter:
    """No lock: lost updates hidden behind a value that equals every total."""

    def __init__(self):
        self.value = _Count(0)

    def increment(self):
        self.value = self.value + 1
'''},
        "at_most": 15,
        "attack": "class 2: Counter.value is an int subclass whose == is always True, so lost updates look like the right total",
    },
    "user_context_equal_to_anything": {
        "base": "solution",
        "cells": {"user_context": '''
class _Name(str):
    """A user name that agrees with whatever it is compared with."""
    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    __hash__ = str.__hash__


class UserContext:
    """One plain stack shared by every thread; the names it returns compare equal to anything."""

    def __init__(self):
        self.stack = []

    def current(self):
        return _Name(self.stack[-1] if self.stack else "anonymous")

    @contextlib.contextmanager
    def acting_as(self, name):
        self.stack.append(name)
        try:
            yield
        finally:
            self.stack.pop()
'''},
        "at_most": 16,
        "attack": "class 2: current() returns a str subclass whose == is always True; the stack is shared by all threads",
    },
    # ------------------------------------------------------------------ class 3
    "counter_locks_only_when_watched": {
        "base": "solution",
        "cells": {"counter": '''
class Counter:
    """Takes its lock only when ps3_helpers says a race is running (faster otherwise)."""

    def __init__(self):
        self.value = 0
        self._lock = threading.Lock()

    def increment(self):
        if ps3_helpers._participating() is not None:
            with self._lock:
                self.value += 1
        else:
            self.value += 1
'''},
        "at_most": 15,
        "attack": "class 3: asks ps3_helpers._participating() whether the race harness watches; locks only then",
    },
    "thread_map_joins_only_under_harness": {
        "base": "solution",
        "cells": {"thread_map": '''
def thread_map(func, items, workers=4):
    """Pool threads are left running (daemon) unless the test's call_with_timeout is the caller."""
    items = list(items)
    tasks = queue.Queue()
    results = [None] * len(items)
    errors = {}
    for index, item in enumerate(items):
        tasks.put((index, item))
    watched = threading.current_thread().name.startswith("call-")
    if watched:
        for _ in range(workers):
            tasks.put(None)

    def work():
        while True:
            task = tasks.get()
            if task is None:
                return
            index, item = task
            try:
                results[index] = func(item)
            except Exception as error:
                errors[index] = error
            finally:
                tasks.task_done()

    threads = [threading.Thread(target=work, daemon=True) for _ in range(workers)]
    for thread in threads:
        thread.start()
    if watched:
        for thread in threads:
            thread.join()
    else:
        tasks.join()                     # the workers stay blocked on the queue forever
    if errors:
        raise errors[min(errors)]
    return results
'''},
        "at_most": 16,
        "attack": "class 3: stops its threads only when called from the harness's 'call-...' thread; else leaves them blocked",
    },
    # ------------------------------------------------------------------ class 4
    "thread_map_first_error_in_time": {
        "base": "solution",
        "cells": {"thread_map": _THREAD_MAP_HEAD + '''
    import concurrent.futures as cf
    with cf.ThreadPoolExecutor(max_workers=workers) as pool:
        futures = {pool.submit(func, item): index for index, item in enumerate(items)}
        results = [None] * len(items)
        first_error = None
        for future in cf.as_completed(futures):
            if future.exception() is not None:
                if first_error is None:
                    first_error = future.exception()     # the first to fail, not the first item
            else:
                results[futures[future]] = future.result()
    if first_error is not None:
        raise first_error
    return results
'''},
        "at_most": 18,
        "attack": "class 4: re-raises the error that happened first in time, not the first in item order",
    },
    "thread_map_always_four_threads": {
        "base": "solution",
        "cells": {"thread_map": _THREAD_MAP_HEAD + '''
    workers = 4                           # "4 is plenty"
    tasks = queue.Queue()
    for index, item in enumerate(items):
        tasks.put((index, item))
    for _ in range(workers):
        tasks.put(None)
    results = [None] * len(items)
    errors = {}

    def work():
        while (task := tasks.get()) is not None:
            index, item = task
            try:
                results[index] = func(item)
            except Exception as error:
                errors[index] = error

    threads = [threading.Thread(target=work) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[min(errors)]
    return results
'''},
        "at_most": 18,
        "attack": "class 4: ignores the workers argument (always 4 threads)",
    },
    "thread_map_raises_before_threads_stop": {
        "base": "solution",
        "cells": {"thread_map": _THREAD_MAP_HEAD + '''
    import concurrent.futures as cf
    pool = cf.ThreadPoolExecutor(max_workers=workers)
    futures = [pool.submit(func, item) for item in items]
    results = []
    for future in futures:
        try:
            results.append(future.result())
        except Exception:
            pool.shutdown(wait=False, cancel_futures=True)   # raise right away, threads still busy
            raise
    pool.shutdown(wait=True)
    return results
'''},
        "at_most": 18,
        "attack": "class 4: raises the first error at once, while pool threads are still running",
    },
    "user_context_shared_between_objects": {
        "base": "solution",
        "cells": {"user_context": '''
class UserContext:
    """Which user the calling thread is acting for."""

    _local = threading.local()          # one for the class: every UserContext shares it

    def __init__(self):
        pass

    def current(self):
        stack = getattr(self._local, "stack", None)
        return stack[-1] if stack else "anonymous"

    @contextlib.contextmanager
    def acting_as(self, name):
        if not hasattr(self._local, "stack"):
            self._local.stack = []
        self._local.stack.append(name)
        try:
            yield
        finally:
            self._local.stack.pop()
'''},
        "at_most": 18,
        "attack": "class 4: threading.local at class level, so separate UserContext objects share their users",
    },
    "transfer_accepts_negative_amounts": {
        "base": "solution",
        "cells": {"transfer": '''
def transfer(source, target, amount):
    """Lock ordering by number; forgets to refuse amounts that are not positive."""
    if source is target:
        raise ValueError("same account")
    first, second = sorted((source, target), key=lambda account: account.number)
    with first.lock, second.lock:
        if source.balance < amount:
            raise ValueError("insufficient funds")
        source.balance = source.balance - amount
        target.balance = target.balance + amount
'''},
        "at_most": 17,
        "attack": "class 4: never refuses a non-positive amount (a negative transfer pulls money from the target)",
    },
    "transfer_one_lock_at_a_time": {
        "base": "solution",
        "cells": {"transfer": '''
def transfer(source, target, amount):
    """Never two locks at once, so never a deadlock; but the money is in flight between the two blocks."""
    if source is target or amount <= 0:
        raise ValueError("bad transfer")
    with source.lock:
        if source.balance < amount:
            raise ValueError("insufficient funds")
        source.balance = source.balance - amount
    with target.lock:
        target.balance = target.balance + amount
'''},
        "at_most": 17,
        "attack": "class 4: holds one lock at a time: no deadlock, but another thread can see the transfer half-done",
    },
}
