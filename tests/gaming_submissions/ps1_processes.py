"""Gaming submissions for ps1_processes (red team): each must earn no more than ``at_most``.

Points: A 3, B 3, C 4, D 4 (total 14).  A submission that fakes or breaks one
part earns the total minus that part's points; a blank one that only tampers
with the kernel earns 0.  A careless submission (class 4) that breaks one
stated requirement earns the test cells that check only work it did right
(e.g. a correct produce() beside a broken consume()), and nothing of the
cells that cover the broken requirement.
"""

import codecs

# --------------------------------------------------------------------------- class 1 helpers

_ROT13 = ('str.maketrans("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ", '
          '"nopqrstuvwxyzabcdefghijklmNOPQRSTUVWXYZABCDEFGHIJKLM")')

# An AST transformer that wraps every later cell in ``try: ... except BaseException: pass``;
# the student hides it behind exec of a hex string.
_AST_GUARD = '''
import ast as _ast
class _Guard(_ast.NodeTransformer):
    def visit_Module(self, node):
        handler = _ast.ExceptHandler(type=_ast.Name("BaseException", _ast.Load()), name=None, body=[_ast.Pass()])
        node.body = [_ast.Try(body=node.body or [_ast.Pass()], handlers=[handler], orelse=[], finalbody=[])]
        return _ast.fix_missing_locations(node)
exit._ip.ast_transformers.append(_Guard())
'''

# The same transformer written at run time, rot13-encoded, into a module the cell then imports
# (no forbidden name appears in the notebook, not even inside a %%writefile cell).
_AST_GUARD_MODULE = "import sys\n" + _AST_GUARD.replace("exit._ip", "sys.displayhook.shell")

# A tracer that lives only while a test cell runs: the student's function turns it on (for the
# calling cell's frames too) and it turns itself off when the cell's code returns, so the
# interpreter looks untouched between cells.  It jumps over every assert of the cell.
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

_BLANK_FORK = '''
def fork_children(exit_codes):
    raise NotImplementedError()
'''

GAMING = {
    # ------------------------------------------------------------------ class 1: the kernel is the student's
    # A pre_run_cell callback shows a result before every cell runs;
    # nbgrader scores a test cell by the first result it finds.
    "blank_with_result_callback": {
        "base": "blank",
        "cells": {"fork_children": '''
ip = get_ipython()
ip.events.register("pre_run_cell", lambda info: ip.displayhook("passed"))
def fork_children(exit_codes):
    raise NotImplementedError()
'''},
        "at_most": 0,
        "attack": "class 1: pre_run_cell callback emits an execute_result before each test's error",
    },
    # The shell reached through the `exit` autocall object (no get_ipython in the source):
    # a custom exception handler that shows nothing, so no test cell has an error output.
    "blank_custom_exc_via_exit": {
        "base": "blank",
        "cells": {"fork_children": '''
exit._ip.set_custom_exc((Exception,), lambda shell, etype, value, tb, tb_offset=None: [])
def fork_children(exit_codes):
    raise NotImplementedError()
'''},
        "at_most": 0,
        "attack": "class 1: set_custom_exc handler (shell found via exit._ip) swallows every exception",
    },
    # Part D unsolved; the traceback display is switched off through sys.displayhook.shell.
    "no_traceback_display_part_d": {
        "base": "solution",
        "cells": {"run_command": '''
sys.displayhook.shell.showtraceback = lambda *args, **kwargs: None
def run_command(args, input_text=None, timeout=5.0):
    raise NotImplementedError()
'''},
        "at_most": 10,
        "attack": "class 1: shell.showtraceback replaced (via sys.displayhook.shell), Part D errors never shown",
    },
    # AST transformer wrapping every cell in try/except, installed by exec of a hex string.
    "blank_ast_try_wrapper_hex_exec": {
        "base": "blank",
        "cells": {"fork_children": "exec(bytes.fromhex(%r).decode())\n" % _AST_GUARD.encode().hex() + _BLANK_FORK},
        "at_most": 0,
        "attack": "class 1: exec(hex) installs an AST transformer that wraps later cells in try/except",
    },
    "blank_rot13_module_written_at_run_time": {
        "base": "blank",
        "cells": {"fork_children": (
            "notes = %r\n" % codecs.encode(_AST_GUARD_MODULE, "rot13")
            + "Path('ps1_notes.py').write_text(notes.translate(%s))\n" % _ROT13
            + "import ps1_notes\n" + _BLANK_FORK)},
        "at_most": 0,
        "attack": "class 1: rot13 text written to a .py at run time and imported: installs the try/except AST transformer",
    },
    "cell_scoped_tracer_part_a": {
        "base": "solution",
        "cells": {"fork_children": (
            "notes = %r\n" % codecs.encode(CELL_SCOPED_TRACER, "rot13")
            + "Path('ps1_cover.py').write_text(notes.translate(%s))\n" % _ROT13
            + "import ps1_cover\n\n"
            + "def fork_children(exit_codes):\n"
            + "    ps1_cover.cover()   # asserts of the calling cell are skipped, until the cell ends\n"
            + "    return {}\n")},
        "at_most": 11,
        "attack": "class 1: settrace turned on by the student's function, off when the test cell returns (clean between cells)",
    },
    # ------------------------------------------------------------------ class 2: forged evidence
    "fake_fork_pids": {
        "base": "solution",
        "cells": {"fork_children": '''
def fork_children(exit_codes):
    """Pretend to fork: invent child PIDs (never used by a real process) for each code."""
    first = 4_100_000 + os.getpid() % 50_000
    return {first + number: code for number, code in enumerate(exit_codes)}
'''},
        "at_most": 11,
        "attack": "class 2: invented child PIDs, no os.fork at all",
    },
    "forged_marker_files": {
        "base": "solution",
        "cells": {"run_behaviours": '''
def run_behaviours(behaviours, marker_dir):
    """Write the marker files behave would write, with invented PIDs, and read the codes from the table."""
    results = []
    for number, behaviour in enumerate(behaviours):
        pid = 4_150_000 + os.getpid() % 20_000 + number
        Path(marker_dir, str(pid)).write_text(behaviour)
        results.append((pid, ps1_workers.EXPECTED_EXIT_CODES[behaviour]))
    return results
'''},
        "at_most": 11,
        "attack": "class 2: forged marker files with fake PIDs, exit codes copied from EXPECTED_EXIT_CODES",
    },
    # Threads dressed up as processes: a ThreadPool, with os.getpid swapped (via object.__setattr__,
    # not a plain assignment) for a per-thread fake PID while the map runs, and restored after.
    "threadpool_with_fake_getpid": {
        "base": "solution",
        "cells": {"parallel_map": '''
import threading
from multiprocessing.pool import ThreadPool

def parallel_map(func, items, processes=2):
    """Threads instead of processes; each thread gets a PID of its own while the map runs."""
    real_getpid, fake_pids = os.getpid, {}
    def fake_getpid():
        return fake_pids.setdefault(threading.get_ident(), 4_180_000 + len(fake_pids))
    object.__setattr__(os, "getpid", fake_getpid)
    try:
        with ThreadPool(processes) as pool:
            return pool.map(func, items)
    finally:
        object.__setattr__(os, "getpid", real_getpid)
'''},
        "at_most": 10,
        "attack": "class 2: ThreadPool threads report distinct fake PIDs via a temporarily patched os.getpid",
    },
    # ------------------------------------------------------------------ class 3: the harness tells
    # A real Pool only when the work is the test's rendezvous job; anything else runs in this kernel.
    "pool_only_when_watched": {
        "base": "solution",
        "cells": {"parallel_map": '''
import functools

def parallel_map(func, items, processes=2):
    """Use a pool only when the graders' square_together is watching; map in the kernel otherwise."""
    watched = func is ps1_workers.square_together or (
        isinstance(func, functools.partial) and func.func is ps1_workers.square_together)
    if not watched:
        return [func(item) for item in items]
    with multiprocessing.Pool(processes) as pool:
        results = pool.map(func, items)
        pool.close()
        pool.join()
    return results
'''},
        # Every function a test passes runs in a real pool (the order test's ps1_workers.negate is
        # not recognised and loses its point); what it does with functions no test passes cannot be
        # graded, so the points of the tests it really passes are earned.
        "at_most": 13,
        "attack": "class 3: detects the test's work function; parallel only while the harness watches",
    },
    # ------------------------------------------------------------------ class 4: stated, not checked
    "join_each_before_next_start": {
        "base": "solution",
        "cells": {"run_behaviours": '''
def run_behaviours(behaviours, marker_dir):
    """Start, join, next: one child at a time (the prose asks to start all before joining any)."""
    results = []
    for behaviour in behaviours:
        process = multiprocessing.Process(target=ps1_workers.behave, args=(behaviour, marker_dir))
        process.start()
        process.join()
        results.append((process.pid, process.exitcode))
    return results
'''},
        "at_most": 12,
        "attack": "class 4: joins each process before starting the next",
    },
    "runs_through_a_shell": {
        "base": "solution",
        "cells": {"run_command": '''
import shlex

def run_command(args, input_text=None, timeout=5.0):
    """Quote the arguments and hand the line to /bin/sh (the prose says: never a shell)."""
    line = " ".join(shlex.quote(arg) for arg in args)
    try:
        done = subprocess.run(line, shell=True, input=input_text, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return CommandResult(None, "", "", True)
    if done.returncode == 127:
        return CommandResult(None, "", done.stderr or f"no such program: {args[0]}", False)
    return CommandResult(done.returncode, done.stdout, done.stderr, False)
'''},
        "at_most": 12,
        "attack": "class 4: shell=True with quoted args; a program that itself exits 127 counts as missing",
    },
    "timeout_without_kill": {
        "base": "solution",
        "cells": {"run_command": '''
def run_command(args, input_text=None, timeout=5.0):
    """Reports a timeout but leaves the program running."""
    try:
        process = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True)
    except FileNotFoundError as error:
        return CommandResult(None, "", str(error), False)
    try:
        out, err = process.communicate(input_text, timeout=timeout)
    except subprocess.TimeoutExpired:
        return CommandResult(None, "", "", True)
    return CommandResult(process.returncode, out, err, False)
'''},
        "at_most": 13,
        "attack": "class 4: on timeout returns timed_out=True without killing the program",
    },
}
