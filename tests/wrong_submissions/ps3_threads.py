"""Plausible wrong submissions for ps3_threads: each must lose exactly these points."""

TRANSFER_CHECKS = '''
def transfer(source, target, amount):
    if source is target:
        raise ValueError("same account")
    if amount <= 0:
        raise ValueError("amount must be positive")
'''

SUBMISSIONS = {
    # The read-modify-write without a lock.
    "counter_without_lock": {
        "cells": {"counter": '''
class Counter:
    def __init__(self):
        self.value = 0

    def increment(self):
        self.value += 1
'''},
        "loses": {"test_counter_visible": 2, "test_counter_hidden": 3},
    },
    # A lock, but taken after the read: two threads can still read the same value.
    "counter_lock_around_write_only": {
        "cells": {"counter": '''
class Counter:
    def __init__(self):
        self.value = 0
        self._lock = threading.Lock()

    def increment(self):
        current = self.value
        with self._lock:
            self.value = current + 1
'''},
        "loses": {"test_counter_visible": 2, "test_counter_hidden": 3},
    },
    # A new lock on every call guards nothing.
    "counter_new_lock_each_call": {
        "cells": {"counter": '''
class Counter:
    def __init__(self):
        self.value = 0

    def increment(self):
        with threading.Lock():
            self.value += 1
'''},
        "loses": {"test_counter_visible": 2, "test_counter_hidden": 3},
    },
    # The thread-local replaced by a module global: every thread sees the last user set.
    "context_global": {
        "cells": {"user_context": '''
_users = []


class UserContext:
    def __init__(self):
        pass

    def current(self):
        return _users[-1] if _users else "anonymous"

    @contextlib.contextmanager
    def acting_as(self, name):
        _users.append(name)
        try:
            yield
        finally:
            _users.pop()
'''},
        "loses": {"test_context_threads": 2, "test_context_hidden": 2},
    },
    # A plain attribute on the object: shared by all threads too.
    "context_instance_attribute": {
        "cells": {"user_context": '''
class UserContext:
    def __init__(self):
        self.users = []

    def current(self):
        return self.users[-1] if self.users else "anonymous"

    @contextlib.contextmanager
    def acting_as(self, name):
        self.users.append(name)
        try:
            yield
        finally:
            self.users.pop()
'''},
        "loses": {"test_context_threads": 2, "test_context_hidden": 2},
    },
    # One threading.local for the whole module: per thread, but shared by every UserContext.
    "context_shared_local": {
        "cells": {"user_context": '''
_local = threading.local()


class UserContext:
    def __init__(self):
        pass

    def current(self):
        users = getattr(_local, "users", None)
        return users[-1] if users else "anonymous"

    @contextlib.contextmanager
    def acting_as(self, name):
        if not hasattr(_local, "users"):
            _local.users = []
        _local.users.append(name)
        try:
            yield
        finally:
            _local.users.pop()
'''},
        "loses": {"test_context_hidden": 2},
    },
    # Leaving a block forgets the outer user instead of restoring it.
    "context_no_restore": {
        "cells": {"user_context": '''
class UserContext:
    def __init__(self):
        self._local = threading.local()

    def current(self):
        return getattr(self._local, "user", "anonymous")

    @contextlib.contextmanager
    def acting_as(self, name):
        self._local.user = name
        try:
            yield
        finally:
            self._local.user = "anonymous"
'''},
        "loses": {"test_context_nesting": 1},
    },
    # Restores the previous user, but not when the block raised.
    "context_no_finally": {
        "cells": {"user_context": '''
class UserContext:
    def __init__(self):
        self._local = threading.local()

    def current(self):
        users = getattr(self._local, "users", None)
        return users[-1] if users else "anonymous"

    @contextlib.contextmanager
    def acting_as(self, name):
        if not hasattr(self._local, "users"):
            self._local.users = []
        self._local.users.append(name)
        yield
        self._local.users.pop()
'''},
        "loses": {"test_context_nesting": 1},
    },
    # Locks taken in argument order: opposite transfers deadlock.
    "transfer_argument_order": {
        "cells": {"transfer": TRANSFER_CHECKS + '''
    with source.lock, target.lock:
        if source.balance < amount:
            raise ValueError("insufficient funds")
        source.balance -= amount
        target.balance += amount
'''},
        "loses": {"test_transfer_visible": 3, "test_transfer_hidden": 3},
    },
    # No locks at all: concurrent transfers lose updates.
    "transfer_no_locks": {
        "cells": {"transfer": TRANSFER_CHECKS + '''
    if source.balance < amount:
        raise ValueError("insufficient funds")
    source.balance -= amount
    target.balance += amount
'''},
        "loses": {"test_transfer_visible": 3, "test_transfer_hidden": 3},
    },
    # The funds are checked before the locks are taken: two transfers can both pass the check.
    "transfer_checks_before_locking": {
        "cells": {"transfer": TRANSFER_CHECKS + '''
    if source.balance < amount:
        raise ValueError("insufficient funds")
    first, second = sorted((source, target), key=lambda account: account.number)
    with first.lock, second.lock:
        source.balance -= amount
        target.balance += amount
'''},
        "loses": {"test_transfer_hidden": 3},
    },
    # Ordered locks, but no same-account check: the thread waits for a lock it holds.
    "transfer_to_itself_deadlocks": {
        "cells": {"transfer": '''
def transfer(source, target, amount):
    if amount <= 0:
        raise ValueError("amount must be positive")
    first, second = sorted((source, target), key=lambda account: account.number)
    with first.lock, second.lock:
        if source.balance < amount:
            raise ValueError("insufficient funds")
        source.balance -= amount
        target.balance += amount
'''},
        "loses": {"test_transfer_hidden": 3},
    },
    # No threads: the right values, computed in the calling thread.
    "thread_map_sequential": {
        "cells": {"thread_map": '''
def thread_map(func, items, workers=4):
    return [func(item) for item in items]
'''},
        "loses": {"test_thread_map_visible": 2, "test_thread_map_hidden": 2},
    },
    # One thread per item, however many workers were asked for.
    "thread_map_thread_per_item": {
        "cells": {"thread_map": '''
def thread_map(func, items, workers=4):
    items = list(items)
    results, errors = [None] * len(items), {}

    def run(index, item):
        try:
            results[index] = func(item)
        except Exception as error:
            errors[index] = error

    threads = [threading.Thread(target=run, args=pair) for pair in enumerate(items)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[min(errors)]
    return results
'''},
        "loses": {"test_thread_map_visible": 2, "test_thread_map_hidden": 2},
    },
    # Workers that never stop: the results are all there, the threads stay behind.
    "thread_map_leaves_threads": {
        "cells": {"thread_map": '''
def thread_map(func, items, workers=4):
    items = list(items)
    tasks, done = queue.Queue(), queue.Queue()

    def work():
        while True:
            index, item = tasks.get()
            try:
                done.put((index, func(item), None))
            except Exception as error:
                done.put((index, None, error))

    for _ in range(workers):
        threading.Thread(target=work, daemon=True).start()
    for task in enumerate(items):
        tasks.put(task)
    results, errors = [None] * len(items), {}
    for _ in items:
        index, value, error = done.get()
        results[index] = value
        if error is not None:
            errors[index] = error
    if errors:
        raise errors[min(errors)]
    return results
'''},
        "loses": {"test_thread_map_visible": 2, "test_thread_map_hidden": 2},
    },
    # Errors are swallowed: the failed items come back as None.
    "thread_map_swallows_errors": {
        "cells": {"thread_map": '''
def thread_map(func, items, workers=4):
    items = list(items)
    tasks = queue.Queue()
    for task in enumerate(items):
        tasks.put(task)
    for _ in range(workers):
        tasks.put(None)
    results = [None] * len(items)

    def work():
        while (task := tasks.get()) is not None:
            index, item = task
            try:
                results[index] = func(item)
            except Exception:
                pass

    threads = [threading.Thread(target=work) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results
'''},
        "loses": {"test_thread_map_hidden": 2},
    },
}
