"""Gaming submissions for ps2_ipc (red team): each must earn no more than ``at_most``.

Points: A 4, B 6, C 5, D 5 (total 20).  A submission that fakes or breaks one
part earns the total minus that part's points; a blank one that only tampers
with the kernel earns 0.  A careless submission (class 4) that breaks one
stated requirement earns the test cells that check only work it did right
(e.g. a correct produce() beside a broken consume()), and nothing of the
cells that cover the broken requirement.
"""

import codecs

_ROT13 = ('str.maketrans("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ", '
          '"nopqrstuvwxyzabcdefghijklmNOPQRSTUVWXYZABCDEFGHIJKLM")')

# --------------------------------------------------------------------------- modules the student wrote

QUEUES_OK = '''%%writefile ps2_student_queues.py
"""Part A: a producer and a consumer that talk through a multiprocessing.Queue."""
SENTINEL = None


def produce(items, outbox):
    for item in items:
        outbox.put(item)
    outbox.put(SENTINEL)


def consume(inbox, outbox, work):
    while True:
        item = inbox.get()
        if item is SENTINEL:
            break
        outbox.put(work(item))
    outbox.put(SENTINEL)
'''

_WORKER = '''
def worker(tasks, results, work):
    while True:
        task = tasks.get()
        if task is SENTINEL:
            break
        index, item = task
        results.put((index, work(item)))
'''

_PIPELINE_OK_BODY = '''
def _honest_pipeline(items, work, workers):
    tasks, results = multiprocessing.Queue(), multiprocessing.Queue()
    procs = [multiprocessing.Process(target=worker, args=(tasks, results, work)) for _ in range(workers)]
    for proc in procs:
        proc.start()
    for index, item in enumerate(items):
        tasks.put((index, item))
    for _ in procs:
        tasks.put(SENTINEL)
    out = [None] * len(items)
    for _ in items:
        index, value = results.get()
        out[index] = value
    for proc in procs:
        proc.join()
    return out
'''


def pipeline(body: str, imports: str = "import multiprocessing\n") -> str:
    """A Part B module: the given run_pipeline (and helpers) plus a plain worker."""
    return ('%%writefile ps2_student_pipeline.py\n"""Part B: a pipeline of worker processes."""\n'
            + imports + "\nSENTINEL = None\n" + _WORKER + body)


# --------------------------------------------------------------------------- class 1 pieces

# Tampering hidden in the *module* a %%writefile cell writes: it runs in the kernel when the
# try-it cell imports the module.  It blanks every later cell that starts with a docstring
# (every test cell) through an input transformer.
QUEUES_BLANK_WITH_TRANSFORMER = '''%%writefile ps2_student_queues.py
"""Part A: a producer and a consumer that talk through a multiprocessing.Queue."""
import sys

SENTINEL = None

_shell = getattr(sys.displayhook, "shell", None)   # only inside the kernel, not in children
if _shell is not None and not any(getattr(f, "__name__", "") == "_quiet" for f in _shell.input_transformers_cleanup):
    def _quiet(lines):
        return ["pass\\n"] if lines and lines[0].startswith('"""') else lines
    _shell.input_transformers_cleanup.append(_quiet)


def produce(items, outbox):
    raise NotImplementedError()


def consume(inbox, outbox, work):
    raise NotImplementedError()
'''

# sys.settrace: jump over every assert statement of the notebook's cells (to the next statement).
SETTRACE_SKIP_ASSERTS = '''
import ast, linecache, sys

_plans = {}

def _plan(filename):
    if filename not in _plans:
        jumps = {}
        try:
            tree = ast.parse("".join(linecache.getlines(filename)))
        except SyntaxError:
            tree = ast.Module(body=[], type_ignores=[])
        where = {}   # statement -> (its block, the node owning the block)
        for node in ast.walk(tree):
            for field in ("body", "orelse", "finalbody"):
                block = getattr(node, field, None)
                if isinstance(block, list):
                    for stmt in block:
                        where[id(stmt)] = (block, node)
        for node in ast.walk(tree):
            if not isinstance(node, ast.Assert):
                continue
            current = node
            while id(current) in where:   # the next statement to run instead of the assert
                block, owner = where[id(current)]
                position = next(i for i, stmt in enumerate(block) if stmt is current)
                if position + 1 < len(block):
                    jumps[node.lineno] = block[position + 1].lineno
                    break
                current = owner   # last in its block: go on after the enclosing statement (forward only)
        _plans[filename] = jumps
    return _plans[filename]

def _local(frame, event, arg):
    if event == "line":
        target = _plan(frame.f_code.co_filename).get(frame.f_lineno)
        if target:
            try:
                frame.f_lineno = target
            except ValueError:
                pass
    return _local

def _global(frame, event, arg):
    return _local if "ipykernel_" in frame.f_code.co_filename else None

sys.settrace(_global)
'''

# Patched run_cell / run_cell_async: Part C's test cells are replaced before they run.
PATCHED_RUN_CELL = '''
import sys
_shell = quit._ip
_real_run_cell, _real_run_cell_async = _shell.run_cell, _shell.run_cell_async

def _rewrite(cell):
    return 'print("Part C: passed")\\n' if cell.startswith('"""') and "ps2_student_pipes" in cell else cell

def _run_cell(raw_cell, *args, **kwargs):
    return _real_run_cell(_rewrite(raw_cell), *args, **kwargs)

async def _run_cell_async(raw_cell, *args, **kwargs):
    new = _rewrite(raw_cell)
    if new != raw_cell:
        kwargs["transformed_cell"] = None
        kwargs["preprocessing_exc_tuple"] = None
    return await _real_run_cell_async(new, *args, **kwargs)

_shell.run_cell, _shell.run_cell_async = _run_cell, _run_cell_async
'''

PIPES_BLANK = '''%%writefile ps2_student_pipes.py
"""Part C: a server that keeps totals at one end of a Pipe, and a client that never hangs."""


def serve(conn):
    raise NotImplementedError()


def ask(conn, request, timeout=5.0):
    raise NotImplementedError()
'''

_SHUTDOWN_KILL_NO_TERM = '''
def shutdown(workers, inbox, grace=2.0):
    """Sentinels, then straight to kill() (no terminate step)."""
    for _ in workers:
        inbox.put(SENTINEL)
    for worker in workers:
        worker.join(grace)
    for worker in workers:
        if worker.is_alive():
            worker.kill()
    for worker in workers:
        worker.join()
    return {worker.name: worker.exitcode for worker in workers}
'''

# The ps1 cell-scoped tracer, started from the top level of the Part B module: every Part B
# test cell begins with fresh_import("ps2_student_pipeline"), in the main thread.
CELL_SCOPED_TRACER = r'''
import ast, linecache, os, sys

_plans, _lasts = {}, {}

def _plan(filename):
    if filename not in _plans:
        jumps = {}
        try:
            tree = ast.parse("".join(linecache.getlines(filename)))
        except SyntaxError:
            tree = ast.Module(body=[], type_ignores=[])
        where = {}
        for node in ast.walk(tree):
            for field in ("body", "orelse", "finalbody"):
                block = getattr(node, field, None)
                if isinstance(block, list):
                    for stmt in block:
                        where[id(stmt)] = (block, node)
        for node in ast.walk(tree):
            if isinstance(node, ast.Assert):
                current = node
                while id(current) in where:
                    block, owner = where[id(current)]
                    position = next(i for i, stmt in enumerate(block) if stmt is current)
                    if position + 1 < len(block):
                        jumps[node.lineno] = block[position + 1].lineno
                        break
                    if isinstance(owner, ast.Try) and block is owner.body and owner.finalbody:
                        jumps[node.lineno] = owner.finalbody[0].lineno
                        break
                    if isinstance(owner, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                        break
                    current = owner
        _plans[filename] = jumps
        _lasts[filename] = tree.body[-1].lineno if tree.body else 0
    return _plans[filename]

def _local(frame, event, arg):
    if event == "line":
        target = _plan(frame.f_code.co_filename).get(frame.f_lineno)
        if target:
            try:
                frame.f_lineno = target
            except ValueError:
                pass
    elif (event == "return" and frame.f_code.co_name == "<module>" and "ipykernel_" in frame.f_code.co_filename
          and _plan(frame.f_code.co_filename) is not None and frame.f_lineno >= _lasts[frame.f_code.co_filename]):
        sys.settrace(None)   # the cell's last statement is over: nothing is left between cells
    return _local

def _watched(filename):   # the notebook's cells and the modules beside it (the tests' helpers)
    return "ipykernel_" in filename or (filename.startswith(os.getcwd()) and filename != __file__)

def _global(frame, event, arg):
    return _local if _watched(frame.f_code.co_filename) else None

def cover():
    frame = sys._getframe(1)
    while frame is not None:
        if _watched(frame.f_code.co_filename):
            frame.f_trace = _local
        frame = frame.f_back
    sys.settrace(_global)
'''

GAMING = {
    # ------------------------------------------------------------------ class 1: the kernel is the student's
    "blank_transformer_in_written_module": {
        "base": "blank",
        "cells": {"ps2_student_queues": QUEUES_BLANK_WITH_TRANSFORMER},
        "at_most": 0,
        "attack": "class 1: module written by %%writefile installs an input transformer (via sys.displayhook.shell) that blanks test cells",
    },
    "settrace_skips_asserts_part_d": {
        "base": "solution",
        "cells": {"shutdown": SETTRACE_SKIP_ASSERTS + _SHUTDOWN_KILL_NO_TERM},
        "at_most": 15,
        "attack": "class 1: sys.settrace tracer jumps over every assert line; shutdown skips terminate()",
    },
    # The settrace skipper, rot13-encoded, written to a module at run time and imported.
    "settrace_in_rot13_module_part_d": {
        "base": "solution",
        "cells": {"shutdown": (
            "notes = %r\n" % codecs.encode(SETTRACE_SKIP_ASSERTS, "rot13")
            + "with open('ps2_notes.py', 'w') as file:\n    file.write(notes.translate(%s))\n" % _ROT13
            + "import ps2_notes\n" + _SHUTDOWN_KILL_NO_TERM)},
        "at_most": 15,
        "attack": "class 1: rot13 module written and imported at run time sets the assert-skipping tracer; shutdown skips terminate()",
    },
    "cell_scoped_tracer_from_module_part_b": {
        "base": "solution",
        "cells": {"ps2_student_pipeline": pipeline(
            "\nnotes = %r\n" % codecs.encode(CELL_SCOPED_TRACER, "rot13")
            + "with open('ps2_notes.py', 'w') as file:\n    file.write(notes.translate(%s))\n" % _ROT13
            + "import ps2_notes\nps2_notes.cover()\n\n"
            + "def run_pipeline(items, work, workers=3):\n"
            + "    return [work(item) for item in items]   # no processes at all\n")},
        "at_most": 14,
        "attack": "class 1: module import starts a tracer that skips the test cell's asserts and removes itself when the cell ends",
    },
    "patched_run_cell_part_c": {
        "base": "solution",
        "cells": {"ps2_student_pipes": PIPES_BLANK},
        "insert_after": {"setup": PATCHED_RUN_CELL},
        "at_most": 15,
        "attack": "class 1: shell.run_cell/run_cell_async (via quit._ip) replace Part C's test cells",
    },
    # Workers left running (no sentinels, no joins); new_children's code object is swapped for
    # one that sees nothing, and a background thread puts it back 2 s later (clean between cells).
    "code_swap_hides_leftover_workers": {
        "base": "solution",
        "cells": {"ps2_student_pipeline": pipeline('''
_swaps = []

def _restore_later(code, number):
    time.sleep(2.0)
    if len(_swaps) == number:
        ps2_helpers.new_children.__code__ = code

def run_pipeline(items, work, workers=3):
    tasks, results = multiprocessing.Queue(), multiprocessing.Queue()
    procs = [multiprocessing.Process(target=worker, args=(tasks, results, work), daemon=True)
             for _ in range(workers)]
    for proc in procs:
        proc.start()
    for index, item in enumerate(items):
        tasks.put((index, item))
    out = [None] * len(items)
    for _ in items:
        index, value = results.get()
        out[index] = value
    # no sentinels, no join: hide the workers from the leftover check for a moment
    real = ps2_helpers.new_children.__code__
    if not _swaps:
        _swaps.append(real)
    else:
        _swaps.append(_swaps[0])
    ps2_helpers.new_children.__code__ = (lambda before: []).__code__
    threading.Thread(target=_restore_later, args=(_swaps[0], len(_swaps)), daemon=True).start()
    return out
''', imports="import multiprocessing\nimport threading\nimport time\n\nimport ps2_helpers\n")},
        "at_most": 14,
        "attack": "class 1: background thread; helper's __code__ swapped while checked, restored after, workers never stopped",
    },
    # ------------------------------------------------------------------ class 2: forged evidence
    "forged_together_receipts": {
        "base": "solution",
        "cells": {"ps2_student_pipeline": pipeline('''
def run_pipeline(items, work, workers=3):
    """No processes: compute here and dress the receipts up as if `workers` processes met."""
    results = [work(item) for item in items]
    if isinstance(work, ps2_helpers.Together):
        base = 4_200_000 + os.getpid() % 10_000
        results = [(r[0], base + n % workers, True) + tuple(r[3:]) for n, r in enumerate(results)]
    return results
''', imports="import multiprocessing\nimport os\n\nimport ps2_helpers\n")},
        "at_most": 14,
        "attack": "class 2: Together receipts forged in the kernel: fake PIDs, together=True",
    },
    "threads_dressed_as_processes": {
        "base": "solution",
        "cells": {"ps2_student_pipeline": pipeline('''
class Process(threading.Thread):
    """A thread with a `pid`, and os.getpid answering per thread while the pipeline runs."""
    fake = {}

    def run(self):
        Process.fake[threading.get_ident()] = 4_250_000 + len(Process.fake)
        super().run()

    @property
    def pid(self):
        return Process.fake.get(self.ident)


def _getpid():
    return Process.fake.get(threading.get_ident()) or _real_getpid()


_real_getpid = os.getpid


def run_pipeline(items, work, workers=3):
    tasks, results = queue.Queue(), queue.Queue()
    procs = [Process(target=worker, args=(tasks, results, work), daemon=True) for _ in range(workers)]
    ps2_helpers.os.getpid = _getpid
    try:
        for proc in procs:
            proc.start()
        for index, item in enumerate(items):
            tasks.put((index, item))
        for _ in procs:
            tasks.put(SENTINEL)
        out = [None] * len(items)
        for _ in items:
            index, value = results.get()
            out[index] = value
        for proc in procs:
            proc.join()
        return out
    finally:
        ps2_helpers.os.getpid = _real_getpid
''', imports="import multiprocessing\nimport os\nimport queue\nimport threading\n\nimport ps2_helpers\n")},
        "at_most": 14,
        "attack": "class 2: threads with a fake pid, os.getpid patched (through ps2_helpers.os) while they run",
    },
    "forged_exitcodes_after_kill": {
        "base": "solution",
        "cells": {"shutdown": '''
def shutdown(workers, inbox, grace=2.0):
    """Sentinels, then kill() whatever is left; write the exit codes the three steps would give."""
    for _ in workers:
        inbox.put(SENTINEL)
    for worker in workers:
        worker.join(grace)
    for worker in workers:
        if worker.is_alive():
            worker.kill()
            worker.join()
            if not worker.name.startswith("stubborn"):
                worker._popen.returncode = -signal.SIGTERM   # looks like terminate() did it
    return {worker.name: worker.exitcode for worker in workers}
'''},
        "at_most": 15,
        "attack": "class 2: Process.exitcode forged through worker._popen.returncode after a bare kill()",
    },
    # ------------------------------------------------------------------ class 3: the harness tells
    "shutdown_by_worker_names": {
        "base": "solution",
        "cells": {"shutdown": '''
def shutdown(workers, inbox, grace=2.0):
    """The names say which worker is which: stop each the way its kind needs, no escalation."""
    polite = [w for w in workers if w.name.startswith("polite")]
    for _ in polite:
        inbox.put(SENTINEL)
    for worker in workers:
        if worker.name.startswith("stuck"):
            worker.terminate()
        elif worker.name.startswith("stubborn"):
            worker.kill()
    for worker in workers:
        worker.join()
    return {worker.name: worker.exitcode for worker in workers}
'''},
        "at_most": 15,
        "attack": "class 3: reads the kind from the test's worker names instead of sentinel/terminate/kill steps",
    },
    "pipeline_only_when_watched": {
        "base": "solution",
        "cells": {"ps2_student_pipeline": pipeline(_PIPELINE_OK_BODY + '''
def run_pipeline(items, work, workers=3):
    """Real workers only for the graders' Together; anything else is computed in this process."""
    if isinstance(work, (ps2_helpers.Together, ps2_helpers.Reported)):
        return _honest_pipeline(items, work, workers)
    return [work(item) for item in items]
''', imports="import multiprocessing\n\nimport ps2_helpers\n")},
        # Every work function a test passes goes through real workers; what it does with work no
        # test passes cannot be graded, so it earns what the
        # tests observe.  Kept as a regression guard: it must never earn more.
        "at_most": 20,
        "attack": "class 3: detects the test's work function (Together/Reported); parallel only while watched",
    },
    # ------------------------------------------------------------------ class 4: stated, not checked
    "consumer_gives_up_on_slow_producer": {
        "base": "solution",
        "cells": {"ps2_student_queues": QUEUES_OK.replace('''        item = inbox.get()
''', '''        try:
            item = inbox.get(timeout=3.0)   # a producer silent for 3 s is taken as finished
        except queue.Empty:
            break
''').replace('SENTINEL = None\n', 'import queue\n\nSENTINEL = None\n', 1)},
        "at_most": 17,
        "attack": "class 4: consume treats 3 s of silence as the end of the stream",
    },
    "join_before_drain": {
        "base": "solution",
        "cells": {"ps2_student_pipeline": pipeline('''
def run_pipeline(items, work, workers=3):
    """Joins the workers before reading their results (deadlocks once results fill the pipe)."""
    tasks, results = multiprocessing.Queue(), multiprocessing.Queue()
    procs = [multiprocessing.Process(target=worker, args=(tasks, results, work)) for _ in range(workers)]
    for proc in procs:
        proc.start()
    for index, item in enumerate(items):
        tasks.put((index, item))
    for _ in procs:
        tasks.put(SENTINEL)
    for proc in procs:
        proc.join(5.0)
    out = [None] * len(items)
    for _ in items:
        index, value = results.get(timeout=5.0)
        out[index] = value
    for proc in procs:
        proc.join(5.0)
        if proc.is_alive():
            proc.kill()
            proc.join()
    return out
''')},
        "at_most": 17,
        "attack": "class 4: joins before draining (works for small results only)",
    },
    "serve_stops_at_bad_request": {
        "base": "solution",
        "cells": {"ps2_student_pipes": '''%%writefile ps2_student_pipes.py
"""Part C: a server that keeps totals at one end of a Pipe, and a client that never hangs."""


def serve(conn):
    totals = {}
    while True:
        request = conn.recv()
        if request is None:
            break
        if isinstance(request, tuple) and len(request) == 3 and request[0] == "add":
            totals[request[1]] = totals.get(request[1], 0) + request[2]
            conn.send(("ok", totals[request[1]]))
        elif isinstance(request, tuple) and len(request) == 2 and request[0] == "total":
            conn.send(("ok", totals.get(request[1], 0)))
        else:
            conn.send(("error", f"bad request {request!r}"))
            break   # careless: the prose says the server goes on serving
    conn.close()


def ask(conn, request, timeout=5.0):
    conn.send(request)
    if not conn.poll(timeout):
        raise TimeoutError(f"no answer to {request!r} within {timeout} s")
    return conn.recv()
'''},
        "at_most": 18,
        "attack": "class 4: server answers one bad request, then stops serving",
    },
}
