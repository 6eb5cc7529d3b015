"""Plausible wrong submissions for ps2_ipc: each must lose exactly these points."""

QUEUES_HEAD = '''%%writefile ps2_student_queues.py
SENTINEL = None


def produce(items, outbox):
    for item in items:
        outbox.put(item)
    outbox.put(SENTINEL)

'''

PIPELINE_WORKER = '''%%writefile ps2_student_pipeline.py
import multiprocessing

SENTINEL = None


def worker(tasks, results, work):
    while True:
        task = tasks.get()
        if task is SENTINEL:
            break
        index, item = task
        try:
            value = work(item)
        except Exception as error:
            value = error
        results.put((index, value))

'''

# The worker of the first version of this problem set: an exception in work() ends the worker.
WORKER_WITHOUT_ERRORS = "\n" + PIPELINE_WORKER[PIPELINE_WORKER.index("def worker"):].replace(
    "        try:\n            value = work(item)\n        except Exception as error:\n            value = error\n"
    "        results.put((index, value))\n", "        results.put((index, work(item)))\n")

PIPES_ASK = '''

def ask(conn, request, timeout=5.0):
    conn.send(request)
    if not conn.poll(timeout):
        raise TimeoutError(request)
    return conn.recv()
'''

PIPES_SERVE = '''%%writefile ps2_student_pipes.py


def serve(conn):
    totals = {}
    while True:
        request = conn.recv()
        if request is None:
            break
        if isinstance(request, tuple) and len(request) == 3 and request[0] == "add":
            _, name, amount = request
            totals[name] = totals.get(name, 0) + amount
            conn.send(("ok", totals[name]))
        elif isinstance(request, tuple) and len(request) == 2 and request[0] == "total":
            conn.send(("ok", totals.get(request[1], 0)))
        else:
            conn.send(("error", "unknown request"))
    conn.close()
'''

QUEUES_CONSUME = """

def consume(inbox, outbox, work):
    while True:
        item = inbox.get()
        if item is SENTINEL:
            break
        outbox.put(work(item))
    outbox.put(SENTINEL)
"""

QUEUES_PRODUCE_HEAD = """%%writefile ps2_student_queues.py
SENTINEL = None

"""

PIPELINE_RUN = """
def run_pipeline(items, work, workers=3):
    tasks, results = multiprocessing.Queue(), multiprocessing.Queue()
    processes = [multiprocessing.Process(target=worker, args=(tasks, results, work)) for _ in range(workers)]
    for process in processes:
        process.start()
    for index, item in enumerate(items):
        tasks.put((index, item))
    for _ in processes:
        tasks.put(SENTINEL)
    answers = [None] * len(items)
    for _ in items:
        index, value = results.get()
        answers[index] = value
    for process in processes:
        process.join()
    for value in answers:
        if isinstance(value, Exception):
            raise value
    return answers
"""

RAISE = """    for value in answers:
        if isinstance(value, Exception):
            raise value
"""

PIPELINE_HEAD = """%%writefile ps2_student_pipeline.py
import multiprocessing

SENTINEL = None

"""



SUBMISSIONS = {
    # The textbook reader: loops forever and expects the parent to terminate() it.
    "consumer_needs_terminate": {
        "cells": {"ps2_student_queues": QUEUES_HEAD + '''
def consume(inbox, outbox, work):
    while True:
        outbox.put(work(inbox.get()))
'''},
        "loses": {"test_consume": 1, "test_queues_hidden": 2},
    },
    # Takes an empty queue for the end of the stream.
    "consumer_polls_empty": {
        "cells": {"ps2_student_queues": QUEUES_HEAD + '''
def consume(inbox, outbox, work):
    while not inbox.empty():
        item = inbox.get()
        if item is SENTINEL:
            break
        outbox.put(work(item))
    outbox.put(SENTINEL)
'''},
        "loses": {"test_consume": 1, "test_queues_hidden": 2},
    },
    # Stops at the first falsy item (0, "", []) instead of at the sentinel.
    "consumer_stops_on_falsy": {
        "cells": {"ps2_student_queues": QUEUES_HEAD + '''
def consume(inbox, outbox, work):
    while item := inbox.get():
        outbox.put(work(item))
    outbox.put(SENTINEL)
'''},
        "loses": {"test_queues_hidden": 2},
    },
    # No processes at all: the right values, computed in the kernel.
    "pipeline_in_kernel": {
        "cells": {"ps2_student_pipeline": PIPELINE_WORKER + '''
def run_pipeline(items, work, workers=3):
    return [work(item) for item in items]
'''},
        "loses": {"test_pipeline_visible": 3, "test_pipeline_hidden": 2, "test_pipeline_errors": 1},
    },
    # Joins the workers before reading their results: deadlocks once results are big (and a
    # run_pipeline that hung once is not called again, so the error test fails too).
    "pipeline_joins_before_draining": {
        "cells": {"ps2_student_pipeline": PIPELINE_WORKER + '''
def run_pipeline(items, work, workers=3):
    tasks, results = multiprocessing.Queue(), multiprocessing.Queue()
    processes = [multiprocessing.Process(target=worker, args=(tasks, results, work)) for _ in range(workers)]
    for process in processes:
        process.start()
    for index, item in enumerate(items):
        tasks.put((index, item))
    for _ in processes:
        tasks.put(SENTINEL)
    for process in processes:
        process.join()
    answers = [None] * len(items)
    for _ in items:
        index, value = results.get()
        answers[index] = value
    for value in answers:
        if isinstance(value, Exception):
            raise value
    return answers
'''},
        "loses": {"test_pipeline_hidden": 2, "test_pipeline_errors": 1},
    },
    # Workers that never stop: all results are read, but the workers are left running.
    "pipeline_leaves_workers_running": {
        "cells": {"ps2_student_pipeline": '''%%writefile ps2_student_pipeline.py
import multiprocessing

SENTINEL = None


def worker(tasks, results, work):
    while True:
        index, item = tasks.get()
        results.put((index, work(item)))


def run_pipeline(items, work, workers=3):
    tasks, results = multiprocessing.Queue(), multiprocessing.Queue()
    for _ in range(workers):
        multiprocessing.Process(target=worker, args=(tasks, results, work), daemon=True).start()
    for index, item in enumerate(items):
        tasks.put((index, item))
    answers = [None] * len(items)
    for _ in items:
        index, value = results.get()
        answers[index] = value
    return answers
'''},
        "loses": {"test_pipeline_visible": 3, "test_pipeline_hidden": 2, "test_pipeline_errors": 1},
    },
    # One sentinel for all workers: the others wait forever, and so does join().
    "pipeline_single_sentinel": {
        "cells": {"ps2_student_pipeline": PIPELINE_WORKER + '''
def run_pipeline(items, work, workers=3):
    tasks, results = multiprocessing.Queue(), multiprocessing.Queue()
    processes = [multiprocessing.Process(target=worker, args=(tasks, results, work)) for _ in range(workers)]
    for process in processes:
        process.start()
    for index, item in enumerate(items):
        tasks.put((index, item))
    tasks.put(SENTINEL)
    answers = [None] * len(items)
    for _ in items:
        index, value = results.get()
        answers[index] = value
    for process in processes:
        process.join()
    for value in answers:
        if isinstance(value, Exception):
            raise value
    return answers
'''},
        "loses": {"test_pipeline_visible": 3, "test_pipeline_hidden": 2, "test_pipeline_errors": 1},
    },
    # Each answer is made up from the request alone: no state kept in the server.
    "serve_without_totals": {
        "cells": {"ps2_student_pipes": '''%%writefile ps2_student_pipes.py


def serve(conn):
    while True:
        request = conn.recv()
        if request is None:
            break
        if request[0] == "add":
            conn.send(("ok", request[2]))
        elif request[0] == "total":
            conn.send(("ok", 0))
        else:
            conn.send(("error", "unknown request"))
    conn.close()
''' + PIPES_ASK},
        "loses": {"test_serve_visible": 2, "test_pipes_hidden": 2},
    },
    # Stops serving at the first request it does not understand.
    "serve_quits_on_bad_request": {
        "cells": {"ps2_student_pipes": '''%%writefile ps2_student_pipes.py


def serve(conn):
    totals = {}
    while True:
        request = conn.recv()
        if isinstance(request, tuple) and len(request) == 3 and request[0] == "add":
            _, name, amount = request
            totals[name] = totals.get(name, 0) + amount
            conn.send(("ok", totals[name]))
        elif isinstance(request, tuple) and len(request) == 2 and request[0] == "total":
            conn.send(("ok", totals.get(request[1], 0)))
        else:
            break
    conn.close()
''' + PIPES_ASK},
        "loses": {"test_pipes_hidden": 2},
    },
    # recv() without poll(timeout): waits forever for a server that never answers.
    "ask_without_timeout": {
        "cells": {"ps2_student_pipes": PIPES_SERVE + '''

def ask(conn, request, timeout=5.0):
    conn.send(request)
    return conn.recv()
'''},
        "loses": {"test_pipes_hidden": 2},
    },
    # terminate() first: the polite workers die holding items they never handled.
    "shutdown_terminates_first": {
        "cells": {"shutdown": '''
def shutdown(workers, inbox, grace=2.0):
    for worker in workers:
        worker.terminate()
    for worker in workers:
        worker.join(grace)
        if worker.is_alive():
            worker.kill()
            worker.join()
    return {worker.name: worker.exitcode for worker in workers}
'''},
        "loses": {"test_shutdown_visible": 2, "test_shutdown_hidden": 3},
    },
    # Sentinels and join() without a timeout: hangs on a worker that never reads.
    "shutdown_without_timeouts": {
        "cells": {"shutdown": '''
def shutdown(workers, inbox, grace=2.0):
    for _ in workers:
        inbox.put(SENTINEL)
    for worker in workers:
        worker.join()
    return {worker.name: worker.exitcode for worker in workers}
'''},
        "loses": {"test_shutdown_visible": 2, "test_shutdown_hidden": 3},
    },
    # Sentinels, then terminate(), but no kill(): a worker that ignores SIGTERM survives.
    "shutdown_never_kills": {
        "cells": {"shutdown": '''
def shutdown(workers, inbox, grace=2.0):
    for _ in workers:
        inbox.put(SENTINEL)
    for worker in workers:
        worker.join(grace)
    for worker in workers:
        if worker.is_alive():
            worker.terminate()
            worker.join(grace)
    return {worker.name: worker.exitcode for worker in workers}
'''},
        "loses": {"test_shutdown_hidden": 3},
    },
    # A single sentinel: only one polite worker stops by itself, the next is terminated.
    "shutdown_one_sentinel": {
        "cells": {"shutdown": '''
def shutdown(workers, inbox, grace=2.0):
    inbox.put(SENTINEL)
    for worker in workers:
        worker.join(grace)
    for worker in workers:
        if worker.is_alive():
            worker.terminate()
            worker.join(grace)
        if worker.is_alive():
            worker.kill()
            worker.join()
    return {worker.name: worker.exitcode for worker in workers}
'''},
        "loses": {"test_shutdown_visible": 2, "test_shutdown_hidden": 3},
    },
    # ---- Part A
    # Forgets the sentinel: whoever reads the queue never learns that the stream is over.
    "producer_forgets_sentinel": {
        "cells": {"ps2_student_queues": QUEUES_PRODUCE_HEAD + """
def produce(items, outbox):
    for item in items:
        outbox.put(item)
""" + QUEUES_CONSUME},
        "loses": {"test_produce": 1, "test_queues_hidden": 2},
    },
    # Puts the sentinel twice: a reader finds a stray one after the stream.
    "producer_two_sentinels": {
        "cells": {"ps2_student_queues": QUEUES_PRODUCE_HEAD + """
def produce(items, outbox):
    for item in items:
        outbox.put(item)
    outbox.put(SENTINEL)
    outbox.put(SENTINEL)
""" + QUEUES_CONSUME},
        "loses": {"test_produce": 1},
    },
    # Drops duplicates and the order by going through a set.
    "producer_through_a_set": {
        "cells": {"ps2_student_queues": QUEUES_PRODUCE_HEAD + """
def produce(items, outbox):
    for item in set(items):
        outbox.put(item)
    outbox.put(SENTINEL)
""" + QUEUES_CONSUME},
        "loses": {"test_produce": 1, "test_queues_hidden": 2},
    },
    # Gives up when nothing arrives for a while: a slow producer loses the rest of its stream.
    "consumer_gives_up_after_timeout": {
        "cells": {"ps2_student_queues": QUEUES_HEAD + """
import queue


def consume(inbox, outbox, work):
    while True:
        try:
            item = inbox.get(timeout=5)
        except queue.Empty:
            break
        if item is SENTINEL:
            break
        outbox.put(work(item))
    outbox.put(SENTINEL)
"""},
        "loses": {"test_consume": 1, "test_queues_hidden": 2},
    },
    # Passes the items on without working on them.
    "consumer_skips_work": {
        "cells": {"ps2_student_queues": QUEUES_HEAD + """
def consume(inbox, outbox, work):
    while True:
        item = inbox.get()
        if item is SENTINEL:
            break
        outbox.put(item)
    outbox.put(SENTINEL)
"""},
        "loses": {"test_consume": 1, "test_queues_hidden": 2},
    },
    # Stops at the sentinel but keeps it: the next stage never learns that the stream is over.
    "consumer_keeps_sentinel": {
        "cells": {"ps2_student_queues": QUEUES_HEAD + """
def consume(inbox, outbox, work):
    while True:
        item = inbox.get()
        if item is SENTINEL:
            break
        outbox.put(work(item))
"""},
        "loses": {"test_consume": 1, "test_queues_hidden": 2},
    },
    # ---- Part B
    # The worker puts the item itself, not work(item).
    "worker_skips_work": {
        "cells": {"ps2_student_pipeline": PIPELINE_HEAD + """
def worker(tasks, results, work):
    while True:
        task = tasks.get()
        if task is SENTINEL:
            break
        results.put(task)

""" + PIPELINE_RUN},
        "loses": {"test_pipeline_visible": 3, "test_pipeline_hidden": 2, "test_pipeline_errors": 1},
    },
    # Keeps the results in the order they arrive, not in the order of the items (and so raises
    # the exception that arrived first).
    "pipeline_arrival_order": {
        "cells": {"ps2_student_pipeline": PIPELINE_WORKER + """
def run_pipeline(items, work, workers=3):
    tasks, results = multiprocessing.Queue(), multiprocessing.Queue()
    processes = [multiprocessing.Process(target=worker, args=(tasks, results, work)) for _ in range(workers)]
    for process in processes:
        process.start()
    for index, item in enumerate(items):
        tasks.put((index, item))
    for _ in processes:
        tasks.put(SENTINEL)
    answers = [results.get()[1] for _ in items]
    for process in processes:
        process.join()
    for value in answers:
        if isinstance(value, Exception):
            raise value
    return answers
"""},
        "loses": {"test_pipeline_visible": 3, "test_pipeline_hidden": 2, "test_pipeline_errors": 1},
    },
    # Starts each worker only after the previous one ended: one worker does all the work (and
    # with big results it deadlocks, so the error test refuses to call it again).
    "pipeline_one_worker_at_a_time": {
        "cells": {"ps2_student_pipeline": PIPELINE_WORKER + """
def run_pipeline(items, work, workers=3):
    tasks, results = multiprocessing.Queue(), multiprocessing.Queue()
    for index, item in enumerate(items):
        tasks.put((index, item))
    for _ in range(workers):
        tasks.put(SENTINEL)
    for _ in range(workers):
        process = multiprocessing.Process(target=worker, args=(tasks, results, work))
        process.start()
        process.join()
    answers = [None] * len(items)
    for _ in items:
        index, value = results.get()
        answers[index] = value
    for value in answers:
        if isinstance(value, Exception):
            raise value
    return answers
"""},
        "loses": {"test_pipeline_visible": 3, "test_pipeline_hidden": 2, "test_pipeline_errors": 1},
    },
    # Reads every result but never joins: the workers end on their own, and nobody waits for them.
    "pipeline_never_joins": {
        "cells": {"ps2_student_pipeline": PIPELINE_WORKER + PIPELINE_RUN.replace(
            "    for process in processes:\n        process.join()\n", "")},
        "loses": {"test_pipeline_visible": 3, "test_pipeline_hidden": 2, "test_pipeline_errors": 1},
    },
    # The first reference: an exception in work() kills its worker, its result never comes, and
    # run_pipeline waits forever for it.
    "pipeline_work_error_hangs": {
        "cells": {"ps2_student_pipeline": PIPELINE_HEAD + WORKER_WITHOUT_ERRORS + PIPELINE_RUN},
        "loses": {"test_pipeline_errors": 1},
    },
    # Catches the exception in the worker but hands it back as a result instead of raising it.
    "pipeline_error_returned_as_result": {
        "cells": {"ps2_student_pipeline": PIPELINE_WORKER + PIPELINE_RUN.replace(RAISE, "")},
        "loses": {"test_pipeline_errors": 1},
    },
    # Raises at the first exception that arrives, leaving the other workers unjoined.
    "pipeline_raises_before_joining": {
        "cells": {"ps2_student_pipeline": PIPELINE_WORKER + PIPELINE_RUN.replace(RAISE, "").replace(
            "        answers[index] = value\n",
            "        if isinstance(value, Exception):\n            raise value\n        answers[index] = value\n")},
        "loses": {"test_pipeline_errors": 1},
    },
    # Raises the first exception that arrived, not the one of the first failed item.
    "pipeline_raises_first_to_arrive": {
        "cells": {"ps2_student_pipeline": PIPELINE_WORKER + PIPELINE_RUN.replace(RAISE, "").replace(
            "    answers = [None] * len(items)\n", "    answers, arrived = [None] * len(items), []\n").replace(
            "        answers[index] = value\n",
            "        answers[index] = value\n        if isinstance(value, Exception):\n            arrived.append(value)\n").replace(
            "    return answers\n", "    if arrived:\n        raise arrived[0]\n    return answers\n")},
        "loses": {"test_pipeline_errors": 1},
    },
    # Two workers when none is asked for, not three.
    "pipeline_default_two_workers": {
        "cells": {"ps2_student_pipeline": PIPELINE_WORKER + PIPELINE_RUN.replace("workers=3", "workers=2")},
        "loses": {"test_pipeline_hidden": 2},
    },
    # ---- Part C
    # A name nothing was added to has no total (None) instead of 0.
    "serve_unknown_total_none": {
        "cells": {"ps2_student_pipes": PIPES_SERVE.replace("totals.get(request[1], 0)", "totals.get(request[1])")
                  + PIPES_ASK},
        "loses": {"test_serve_visible": 2},
    },
    # Takes None for one more bad request and goes on serving.
    "serve_ignores_none": {
        "cells": {"ps2_student_pipes": PIPES_SERVE.replace(
            "        if request is None:\n            break\n", "") + PIPES_ASK},
        "loses": {"test_serve_visible": 2, "test_pipes_hidden": 2},
    },
    # poll() without a timeout: an answer that is not there yet counts as none.
    "ask_does_not_wait": {
        "cells": {"ps2_student_pipes": PIPES_SERVE + """

def ask(conn, request, timeout=5.0):
    conn.send(request)
    if not conn.poll():
        raise TimeoutError(request)
    return conn.recv()
"""},
        "loses": {"test_ask_visible": 1, "test_pipes_hidden": 2},
    },
    # Waits 5 s whatever timeout it is given.
    "ask_ignores_its_timeout": {
        "cells": {"ps2_student_pipes": PIPES_SERVE + """

def ask(conn, request, timeout=5.0):
    conn.send(request)
    if not conn.poll(5.0):
        raise TimeoutError(request)
    return conn.recv()
"""},
        "loses": {"test_pipes_hidden": 2},
    },
    # A default timeout of 1 s instead of 5 s.
    "ask_short_default_timeout": {
        "cells": {"ps2_student_pipes": PIPES_SERVE + PIPES_ASK.replace("timeout=5.0", "timeout=1.0")},
        "loses": {"test_pipes_hidden": 2},
    },
    # ---- Part D
    # No grace at all: terminates whoever has not stopped the moment the sentinels are in.
    "shutdown_without_grace": {
        "cells": {"shutdown": """
def shutdown(workers, inbox, grace=2.0):
    for _ in workers:
        inbox.put(SENTINEL)
    for worker in workers:
        if worker.is_alive():
            worker.terminate()
    for worker in workers:
        worker.join(grace)
        if worker.is_alive():
            worker.kill()
            worker.join()
    return {worker.name: worker.exitcode for worker in workers}
"""},
        "loses": {"test_shutdown_visible": 2, "test_shutdown_hidden": 3},
    },
    # After terminate() it gives a quarter of a second, not `grace`: a worker that tidies up is killed.
    "shutdown_hurries_after_terminate": {
        "cells": {"shutdown": """
def shutdown(workers, inbox, grace=2.0):
    for _ in workers:
        inbox.put(SENTINEL)
    for worker in workers:
        worker.join(grace)
    for worker in workers:
        if worker.is_alive():
            worker.terminate()
    time.sleep(0.25)
    for worker in workers:
        if worker.is_alive():
            worker.kill()
        worker.join()
    return {worker.name: worker.exitcode for worker in workers}
"""},
        "loses": {"test_shutdown_hidden": 3},
    },
    # Waits the default 2 s per step, whatever grace it is given.
    "shutdown_ignores_grace": {
        "cells": {"shutdown": """
def shutdown(workers, inbox, grace=2.0):
    for _ in workers:
        inbox.put(SENTINEL)
    for step in (None, "terminate", "kill"):
        for worker in workers:
            if step and worker.is_alive():
                getattr(worker, step)()
        deadline = time.monotonic() + 2.0
        for worker in workers:
            worker.join(None if step == "kill" else max(0.0, deadline - time.monotonic()))
    return {worker.name: worker.exitcode for worker in workers}
"""},
        "loses": {"test_shutdown_hidden": 3},
    },
    # kill() without join(): the killed worker is a zombie and its exit code unknown.
    "shutdown_kill_without_join": {
        "cells": {"shutdown": """
def shutdown(workers, inbox, grace=2.0):
    for _ in workers:
        inbox.put(SENTINEL)
    for worker in workers:
        worker.join(grace)
    for worker in workers:
        if worker.is_alive():
            worker.terminate()
            worker.join(grace)
    for worker in workers:
        if worker.is_alive():
            worker.kill()
    return {worker.name: worker.exitcode for worker in workers}
"""},
        "loses": {"test_shutdown_hidden": 3},
    },
}
