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

    # ---- added with the requirement table (tests/requirements/ps3_threads.md)
    # A new counter that starts at 1.
    "counter_starts_at_one": {
        "cells": {"counter": """
class Counter:
    def __init__(self):
        self.value = 1
        self._lock = threading.Lock()

    def increment(self):
        with self._lock:
            self.value += 1
"""},
        "loses": {"test_counter_visible": 2, "test_counter_hidden": 3},
    },
    # Adds two instead of one.
    "counter_adds_two": {
        "cells": {"counter": """
class Counter:
    def __init__(self):
        self.value = 0
        self._lock = threading.Lock()

    def increment(self):
        with self._lock:
            self.value += 2
"""},
        "loses": {"test_counter_visible": 2, "test_counter_hidden": 3},
    },
    # One lock for the whole program instead of one per counter, made outside __init__.
    "counter_global_lock": {
        "cells": {"counter": """
_counter_lock = threading.Lock()


class Counter:
    def __init__(self):
        self.value = 0

    def increment(self):
        with _counter_lock:
            self.value += 1
"""},
        "loses": {"test_counter_visible": 2, "test_counter_hidden": 3},
    },
    # The count kept in a private attribute; `value` is only written, never read.
    "counter_private_count": {
        "cells": {"counter": """
class Counter:
    def __init__(self):
        self._count = 0
        self.value = 0
        self._lock = threading.Lock()

    def increment(self):
        with self._lock:
            self._count += 1
            self.value = self._count
"""},
        "loses": {"test_counter_visible": 2, "test_counter_hidden": 3},
    },
    # None instead of "anonymous" when no block runs.
    "context_default_none": {
        "cells": {"user_context": """
class UserContext:
    def __init__(self):
        self._local = threading.local()

    def current(self):
        users = getattr(self._local, "users", None)
        return users[-1] if users else None

    @contextlib.contextmanager
    def acting_as(self, name):
        if not hasattr(self._local, "users"):
            self._local.users = []
        self._local.users.append(name)
        try:
            yield
        finally:
            self._local.users.pop()
"""},
        "loses": {"test_context_nesting": 1, "test_context_threads": 2, "test_context_hidden": 2},
    },
    # The outermost block's name instead of the innermost.
    "context_outermost": {
        "cells": {"user_context": """
class UserContext:
    def __init__(self):
        self._local = threading.local()

    def current(self):
        users = getattr(self._local, "users", None)
        return users[0] if users else "anonymous"

    @contextlib.contextmanager
    def acting_as(self, name):
        if not hasattr(self._local, "users"):
            self._local.users = []
        self._local.users.append(name)
        try:
            yield
        finally:
            self._local.users.pop()
"""},
        "loses": {"test_context_nesting": 1, "test_context_hidden": 2},
    },
    # Restores the previous user but swallows the block's exception.
    "context_swallows_errors": {
        "cells": {"user_context": """
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
        try:
            yield
        except Exception:
            pass
        finally:
            self._local.users.pop()
"""},
        "loses": {"test_context_nesting": 1},
    },
    # Leaving a block removes the first entry with that name, not the innermost.
    "context_remove_by_name": {
        "cells": {"user_context": """
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
        try:
            yield
        finally:
            self._local.users.remove(name)
"""},
        "loses": {"test_context_nesting": 1},
    },
    # A thread with no block of its own sees the main thread's user.
    "context_inherits_main": {
        "cells": {"user_context": """
class UserContext:
    def __init__(self):
        self._stacks = {}

    def _stack(self):
        return self._stacks.setdefault(threading.get_ident(), [])

    def current(self):
        stack = self._stack() or self._stacks.get(threading.main_thread().ident, [])
        return stack[-1] if stack else "anonymous"

    @contextlib.contextmanager
    def acting_as(self, name):
        self._stack().append(name)
        try:
            yield
        finally:
            self._stack().pop()
"""},
        "loses": {"test_context_hidden": 2},
    },
    # Debits the source but never credits the target.
    "transfer_forgets_target": {
        "cells": {"transfer": TRANSFER_CHECKS + """
    first, second = sorted((source, target), key=lambda account: account.number)
    with first.lock, second.lock:
        if source.balance < amount:
            raise ValueError("insufficient funds")
        source.balance -= amount
"""},
        "loses": {"test_transfer_visible": 3, "test_transfer_hidden": 3},
    },
    # Each balance under its own lock, one after the other: no deadlock, no lost
    # update, but another thread can see the money in neither account.
    "transfer_one_lock_at_a_time": {
        "cells": {"transfer": TRANSFER_CHECKS + """
    with source.lock:
        if source.balance < amount:
            raise ValueError("insufficient funds")
        source.balance -= amount
    with target.lock:
        target.balance += amount
"""},
        "loses": {"test_transfer_hidden": 3},
    },
    # Debits first and raises when the balance went negative, without putting the money back.
    "transfer_debits_before_checking": {
        "cells": {"transfer": TRANSFER_CHECKS + """
    first, second = sorted((source, target), key=lambda account: account.number)
    with first.lock, second.lock:
        source.balance -= amount
        if source.balance < 0:
            raise ValueError("insufficient funds")
        target.balance += amount
"""},
        "loses": {"test_transfer_visible": 3, "test_transfer_hidden": 3},
    },
    # Never refuses an amount that is not positive.
    "transfer_allows_nonpositive": {
        "cells": {"transfer": """
def transfer(source, target, amount):
    if source is target:
        raise ValueError("same account")
    first, second = sorted((source, target), key=lambda account: account.number)
    with first.lock, second.lock:
        if source.balance < amount:
            raise ValueError("insufficient funds")
        source.balance -= amount
        target.balance += amount
"""},
        "loses": {"test_transfer_hidden": 3},
    },
    # Worker k takes items k, k + workers, ...; the results come back worker by worker.
    "thread_map_chunk_order": {
        "cells": {"thread_map": """
def thread_map(func, items, workers=4):
    items = list(items)
    chunks = [[] for _ in range(workers)]
    errors = {}

    def work(k):
        for index in range(k, len(items), workers):
            try:
                chunks[k].append(func(items[index]))
            except Exception as error:
                errors[index] = error

    threads = [threading.Thread(target=work, args=(k,)) for k in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[min(errors)]
    return [result for chunk in chunks for result in chunk]
"""},
        "loses": {"test_thread_map_visible": 2, "test_thread_map_hidden": 2},
    },
    # `workers` threads, but each is joined before the next starts.
    "thread_map_one_at_a_time": {
        "cells": {"thread_map": """
def thread_map(func, items, workers=4):
    items = list(items)
    tasks = queue.Queue()
    for task in enumerate(items):
        tasks.put(task)
    for _ in range(workers):
        tasks.put(None)
    results, errors = [None] * len(items), {}

    def work():
        while (task := tasks.get()) is not None:
            index, item = task
            try:
                results[index] = func(item)
            except Exception as error:
                errors[index] = error

    for _ in range(workers):
        thread = threading.Thread(target=work)
        thread.start()
        thread.join()
    if errors:
        raise errors[min(errors)]
    return results
"""},
        "loses": {"test_thread_map_visible": 2, "test_thread_map_hidden": 2},
    },
    # Re-raises the error that happened first in time, not the first in item order.
    "thread_map_first_error_in_time": {
        "cells": {"thread_map": """
def thread_map(func, items, workers=4):
    items = list(items)
    tasks = queue.Queue()
    for task in enumerate(items):
        tasks.put(task)
    for _ in range(workers):
        tasks.put(None)
    results, errors = [None] * len(items), []

    def work():
        while (task := tasks.get()) is not None:
            index, item = task
            try:
                results[index] = func(item)
            except Exception as error:
                errors.append(error)

    threads = [threading.Thread(target=work) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return results
"""},
        "loses": {"test_thread_map_hidden": 2},
    },
    # Raises the first error (in item order) as soon as it is known, while other calls still run.
    "thread_map_raises_before_joining": {
        "cells": {"thread_map": """
def thread_map(func, items, workers=4):
    items = list(items)
    tasks, done = queue.Queue(), [queue.Queue() for _ in items]
    for task in enumerate(items):
        tasks.put(task)
    for _ in range(workers):
        tasks.put(None)

    def work():
        while (task := tasks.get()) is not None:
            index, item = task
            try:
                done[index].put((func(item), None))
            except Exception as error:
                done[index].put((None, error))

    threads = [threading.Thread(target=work, daemon=True) for _ in range(workers)]
    for thread in threads:
        thread.start()
    results = []
    for slot in done:
        value, error = slot.get()
        if error is not None:
            raise error
        results.append(value)
    for thread in threads:
        thread.join()
    return results
"""},
        "loses": {"test_thread_map_hidden": 2},
    },
    # Notes the error, then lets the worker thread die with it (a traceback on stderr).
    "thread_map_thread_dies": {
        "cells": {"thread_map": """
def thread_map(func, items, workers=4):
    items = list(items)
    tasks = queue.Queue()
    for task in enumerate(items):
        tasks.put(task)
    for _ in range(workers):
        tasks.put(None)
    results, errors = [None] * len(items), {}

    def work():
        while (task := tasks.get()) is not None:
            index, item = task
            try:
                results[index] = func(item)
            except Exception as error:
                errors[index] = error
                raise

    threads = [threading.Thread(target=work) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[min(errors)]
    return results
"""},
        "loses": {"test_thread_map_hidden": 2},
    },
    # Every task is queued twice (a copy-paste slip): right results, but func runs twice per item.
    "thread_map_queues_items_twice": {
        "cells": {"thread_map": """
def thread_map(func, items, workers=4):
    items = list(items)
    tasks = queue.Queue()
    for task in enumerate(items):
        tasks.put(task)
    for task in enumerate(items):
        tasks.put(task)
    for _ in range(workers):
        tasks.put(None)
    results, errors = [None] * len(items), {}

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
"""},
        "loses": {"test_thread_map_visible": 2, "test_thread_map_hidden": 2},
    },
    # One sentinel in all, not one per thread: the first thread to take it stops, the others wait
    # for a task that never comes, and thread_map waits for them (a deadlock, in every test cell).
    "thread_map_one_sentinel": {
        "cells": {"thread_map": """
def thread_map(func, items, workers=4):
    items = list(items)
    tasks = queue.Queue()
    for task in enumerate(items):
        tasks.put(task)
    tasks.put(None)
    results, errors = [None] * len(items), {}

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
"""},
        "loses": {"test_thread_map_visible": 2, "test_thread_map_hidden": 2},
    },
}
