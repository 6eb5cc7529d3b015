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
        results.put((index, work(item)))

'''

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
        "loses": {"test_pipeline_visible": 3, "test_pipeline_hidden": 3},
    },
    # Joins the workers before reading their results: deadlocks once results are big.
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
    return answers
'''},
        "loses": {"test_pipeline_hidden": 3},
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
        "loses": {"test_pipeline_visible": 3, "test_pipeline_hidden": 3},
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
    return answers
'''},
        "loses": {"test_pipeline_visible": 3, "test_pipeline_hidden": 3},
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
}
