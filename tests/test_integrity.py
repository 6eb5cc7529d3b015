"""The grading integrity checks of coursetools.grading.integrity: the static scan, the runtime guard, strict scoring.

The static scan is tested on snippets (fast, no kernel).  The runtime checks
are tested with the scan switched off, each attack in a real kernel, so that
either defence is shown to stop the attack by itself.  The red-team suite
(``test_gaming.py``) grades whole gaming submissions through the real paths.
"""
from __future__ import annotations

import os
import sys
import textwrap
from pathlib import Path
from unittest import mock

import nbformat
import pytest
from traitlets.config import Config

from coursetools.grading.integrity.guard import ERROR_NAME, GuardedExecute, unshipped_code
from coursetools.grading.integrity.scan import Instructor, scan, scan_source
from coursetools.startmethod import start_method_env

# --- notebooks in nbgrader's shape -------------------------------------------------------------

SETUP = "import os\nimport sys\nimport threading\nimport helper_module\nLIMIT = 3\n"
TEST = '''"""the student's double() doubles, and sorted() is the real one"""
assert double(2) == 4, "double(2) should be 4"
assert sorted([3, 1]) == [1, 3]
assert len("abc") == 3
'''
FAILING_TEST = '''"""this test fails for every submission: the grader must report it"""
assert double(2) == 5, "no submission can pass this"
'''
SOLUTION = "def double(x):\n    return 2 * x\n"


def cell(kind: str, source: str, **nbgrader) -> nbformat.NotebookNode:
    new = nbformat.v4.new_code_cell(source)
    if kind:
        new.metadata["nbgrader"] = dict(dict(grade_id=kind, grade=False, solution=False, locked=False,
                                             schema_version=3), **nbgrader)
    return new


def notebook(student: str, extra_tests: tuple[str, ...] = ()) -> nbformat.NotebookNode:
    """setup (locked) - student's solution cell - a visible test (1 point) - more tests."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [cell("setup", SETUP, locked=True),
                cell("solution", student, solution=True),
                cell("test_double", TEST, grade=True, locked=True, points=1)]
    for i, source in enumerate(extra_tests):
        nb.cells.append(cell(f"test_extra_{i}", source, grade=True, locked=True, points=1))
    return nb


def graded(tmp_path: Path, nb: nbformat.NotebookNode, method: str | None = None, scan_first: bool = False):
    """Run ``nb`` through GuardedExecute in a folder with a shipped helper module; the preprocessor and nb."""
    folder = tmp_path / "submission"
    folder.mkdir(exist_ok=True)
    (folder / "helper_module.py").write_text("def helper():\n    return 42\n\nANSWERS = {'a': 1}\n")
    pp = GuardedExecute(static_scan=scan_first, timeout=60, kernel_name="python3")
    with mock.patch.dict(os.environ, start_method_env(method, tmp_path / "ipython"), clear=True):
        out, _ = pp.preprocess(nb, {"metadata": {"path": str(folder)}})
    return pp, out


def graded_outputs(nb) -> dict[str, list]:
    return {c.metadata["nbgrader"]["grade_id"]: c.outputs for c in nb.cells
            if c.metadata.get("nbgrader", {}).get("grade")}


# --- the static scan ------------------------------------------------------------------------

INSTRUCTOR = Instructor.of(notebook(SOLUTION))

HONEST = {
    "threads": "import threading\nlock = threading.Lock()\nt = threading.Thread(target=print, args=(1,))\n"
               "t.start(); t.join()",
    "processes": "import multiprocessing\nfrom concurrent.futures import ProcessPoolExecutor\n"
                 "ctx = multiprocessing.get_context('spawn')\nwith ctx.Pool(2) as pool:\n    pool.map(abs, [1])",
    "signal": "import signal\nsignal.signal(signal.SIGTERM, signal.SIG_DFL)\nos.kill(os.getpid(), 0)",
    "switch interval": "sys.setswitchinterval(0.001)\nprint(sys.getswitchinterval(), sys.executable)",
    "writefile": "%%writefile ps9_student_part.py\nimport os\n\ndef work(x):\n    return os.getpid()\n",
    "matplotlib": "%matplotlib inline\nimport matplotlib.pyplot as plt\nfig, ax = plt.subplots()\nax.plot([1, 2])",
    "timing magic": "%time double(3)",
    "getattr over literals": "for step in (None, 'terminate', 'kill'):\n    if step:\n        getattr(p, step)()",
    "own private attributes": "class Account:\n    def __init__(self):\n        self._lock = threading.Lock()\n"
                              "def transfer(a, b):\n    with a._lock, b._lock:\n        pass",
    "re-import of the same module": "import os\nfrom pathlib import Path",
    "local names that shadow builtins": "def f(len, sorted):\n    return len + sorted",
    "exit a child": "pid = os.fork()\nif pid == 0:\n    os._exit(3)\nos.waitpid(pid, 0)",
    "a try-it variable": "result = double(4)\nresult",
    "a class of its own with comparisons": "class Point:\n    def __eq__(self, other):\n        return True",
    "an exception class": "class TransferError(ValueError):\n    pass",
}

CAUGHT = {
    "get_ipython": ("get_ipython().events.register('pre_run_cell', print)", "get_ipython"),
    "IPython import": ("from IPython import get_ipython", "IPython"),
    "exec of hex": ("exec(bytes.fromhex('7072696e74283129').decode())", "exec"),
    "eval": ("eval('1+1')", "eval"),
    "dunder import": ("__import__('builtins').len = lambda x: 3", "__import__"),
    "builtins module": ("import builtins\nbuiltins.len = lambda x: 3", "builtins"),
    "computed getattr": ("getattr(os, input())", "computed name"),
    "getattr dunder": ("getattr(double, '__globals__')", "__globals__"),
    "frames": ("sys._getframe(1).f_globals['x'] = 1", "_getframe"),
    "globals dict": ("globals()['double'] = abs", "globals"),
    "function internals": ("double.__code__ = abs.__code__", "__code__"),
    "quit's shell": ("quit._ip.run_cell = print", "quit"),
    "settrace": ("sys.settrace(lambda *a: None)", "settrace"),
    "threading settrace": ("threading.settrace(print)", "settrace"),
    "stdout replaced": ("import io\nsys.stdout = io.StringIO()", "changes sys"),
    "os patched": ("os.getpid = lambda: 1", "changes os"),
    "object.__setattr__": ("object.__setattr__(os, 'getpid', abs)", "__setattr__"),
    "helper patched": ("helper_module.helper = lambda: 0", "changes helper_module"),
    "helper constant changed": ("helper_module.ANSWERS['a'] = 2", "changes helper_module"),
    "instructor name rebound": ("LIMIT = 100", "rebinds LIMIT"),
    "instructor import rebound": ("import threading as os", "rebinds os"),
    "builtin used by tests shadowed": ("def sorted(x):\n    return [1, 3]", "builtin sorted"),
    "global of an instructor name": ("def f():\n    global LIMIT\n    LIMIT = 9", "global LIMIT"),
    "environment": ("os.environ['NBGRADER_EXECUTION']", "environ"),
    "test detection string": ("x = 'NBGRADER_EXECUTION'", "NBGRADER"),
    "shell escape": ("!echo hi", "shell command"),
    "other magics": ("%load_ext autoreload", "%load_ext"),
    "capture magic": ("%%capture\nprint(1)", "%capture"),
    "code in %time": ("%time exec('1')", "exec"),
    "writefile over a helper": ("%%writefile helper_module.py\ndef helper():\n    return 0\n", "overwrites"),
    "writefile shadows stdlib": ("%%writefile threading.py\nx = 1\n", "standard library"),
    "writefile sitecustomize": ("%%writefile sitecustomize.py\nx = 1\n", "sitecustomize"),
    "written module with a hook": ("%%writefile ps9_student_x.py\nimport sys\nsys.settrace(None)\n", "settrace"),
    "ctypes": ("import ctypes", "ctypes"),
    "pickle loader": ("import pickle\npickle.loads(b'')", "pickle"),
    "private module": ("import _thread", "_thread"),
    "gc": ("import gc\ngc.get_objects()", "gc"),
    "inspect": ("import inspect\ninspect.currentframe()", "inspect"),
    "history": ("print(In[-1])", "In"),
    "private attribute of something else": ("exit_object._ip", "private attribute"),
    "sys.modules": ("sys.modules['os'] = None", "sys.modules"),
    "audit hook": ("sys.addaudithook(print)", "addaudithook"),
    "proc memory": ("open('/proc/self/mem', 'wb')", "/proc/"),
    "mock": ("from unittest import mock", "unittest"),
    "a str that equals anything": ("class Anything(str):\n    def __eq__(self, other):\n        return True",
                                   "subclass of the builtin str"),
    "operator attrgetter": ("import operator\noperator.attrgetter('x')", "operator"),
}


@pytest.mark.parametrize("name", sorted(HONEST))
def test_scan_accepts_honest_code(name):
    findings = scan_source(HONEST[name], 2, INSTRUCTOR, {"helper_module.py"})
    assert not findings, f"{name}: honest code flagged: {[str(f) for f in findings]}"


@pytest.mark.parametrize("name", sorted(CAUGHT))
def test_scan_flags_what_no_solution_needs(name):
    source, expected = CAUGHT[name]
    findings = scan_source(source, 2, INSTRUCTOR, {"helper_module.py"})
    assert findings, f"{name}: not flagged: {source!r}"
    assert any(expected in str(f) for f in findings), f"{name}: {[str(f) for f in findings]} lacks {expected!r}"


def test_scan_reads_only_student_cells():
    nb = notebook(SOLUTION)
    nb.cells[0].source += "import inspect\n"  # the instructor may use anything
    nb.cells.append(nbformat.v4.new_code_cell("import gc"))  # a cell the student added
    findings = scan(nb, ["helper_module.py"])
    assert [f.cell for f in findings] == [4], [str(f) for f in findings]


# --- the runtime checks (scan off) ---------------------------------------------------------------

@pytest.mark.slow
def test_honest_notebook_passes_the_runtime_checks(tmp_path):
    student = SOLUTION + textwrap.dedent('''
        import multiprocessing, signal, warnings, time
        sys.setswitchinterval(0.002)
        signal.signal(signal.SIGUSR1, signal.SIG_IGN)
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        counter = 0
        lock = threading.Lock()
        def bump():
            global counter
            with lock:
                counter += 1
        threads = [threading.Thread(target=bump) for _ in range(4)]
        for t in threads: t.start()
        for t in threads: t.join()
        import concurrent.futures, matplotlib.pyplot as plt
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            list(pool.map(abs, [-1, -2]))
        plt.plot([1, 2]); plt.close("all")
        ''')
    writefile = "%%writefile ps9_student_mod.py\ndef square(x):\n    return x * x\n"
    nb = notebook(student, extra_tests=(
        "import ps9_student_mod, multiprocessing\nwith multiprocessing.Pool(2) as p:\n"
        "    assert p.map(ps9_student_mod.square, [1, 2]) == [1, 4]\nprint('ok')",))
    nb.cells.insert(2, cell("writefile", writefile, solution=True))
    pp, out = graded(tmp_path, nb, method="spawn", scan_first=True)
    assert not pp._reasons, pp._reasons
    outputs = graded_outputs(out)
    assert all(o.output_type != "error" for outs in outputs.values() for o in outs), outputs


@pytest.mark.slow
def test_a_failing_test_is_still_reported(tmp_path):
    pp, out = graded(tmp_path, notebook(SOLUTION, extra_tests=(FAILING_TEST,)))
    assert not pp._reasons, pp._reasons
    errors = [o.ename for o in graded_outputs(out)["test_extra_0"] if o.output_type == "error"]
    assert errors == ["AssertionError"], errors


RUNTIME_ATTACKS = {
    "result before each cell": "ip = quit._ip\nip.events.register('pre_run_cell', lambda info: ip.displayhook('ok'))",
    "ast transformer": textwrap.dedent('''
        import ast
        class Wrap(ast.NodeTransformer):
            def visit_Module(self, node):
                handler = ast.ExceptHandler(type=ast.Name("BaseException", ast.Load()), name=None, body=[ast.Pass()])
                node.body = [ast.Try(body=node.body or [ast.Pass()], handlers=[handler], orelse=[], finalbody=[])]
                return ast.fix_missing_locations(node)
        quit._ip.ast_transformers.append(Wrap())'''),
    "input transformer": "quit._ip.input_transformers_post.append(lambda lines: ['pass\\n'])",
    "custom exception handler": "quit._ip.set_custom_exc((BaseException,), lambda *a, **k: None)",
    "traceback hidden": "quit._ip.showtraceback = lambda *a, **k: None",
    "run_cell patched on the class": textwrap.dedent('''
        cls = type(quit._ip)
        real = cls.run_cell_async
        async def run_cell_async(self, raw_cell, *a, **k):
            return await real(self, "pass" if "assert" in raw_cell else raw_cell, *a, **k)
        cls.run_cell_async = run_cell_async'''),
    "settrace": "sys.settrace(lambda frame, event, arg: None)",
    "builtin replaced": "import builtins\nbuiltins.divmod = lambda a, b: (0, 0)",
    "shadowed builtin the tests use": "def sorted(x):\n    return [1, 3]",
    "stdout replaced": "import io\nsys.stdout = io.StringIO()",
    "os patched": "os.cpu_count = lambda: 64",
    "helper module patched": "helper_module.helper = lambda: 0",
    "helper constant changed": "helper_module.ANSWERS['a'] = 2",
    "helper file rewritten on disk": "open('helper_module.py', 'a').write('\\n# changed\\n')",
    "instructor name rebound": "LIMIT = 100",
    "a background thread patches later": textwrap.dedent('''
        import builtins, time
        def later():
            time.sleep(0.3)
            builtins.divmod = lambda a, b: (0, 0)
        threading.Thread(target=later, daemon=True).start()
        time.sleep(1)'''),
    "messages dropped by the session": textwrap.dedent('''
        from jupyter_client.session import Session
        real_send = Session.send
        def send(self, stream, msg_or_type, *a, **k):
            if msg_or_type == "error" or (isinstance(msg_or_type, dict) and msg_or_type.get("msg_type") == "error"):
                return None
            return real_send(self, stream, msg_or_type, *a, **k)
        Session.send = send'''),
    "exception class replaced":
        "import builtins\nclass AssertionError(Exception): pass\nbuiltins.AssertionError = AssertionError",
    "a tracer only while the call runs": textwrap.dedent('''
        def double(x):
            sys.settrace(lambda *a: None)
            sys.settrace(None)
            return 2 * x'''),
    "a module written at run time": textwrap.dedent('''
        with open("sneaky_module.py", "w") as f:
            f.write("X = 1\\n")
        import importlib
        importlib.invalidate_caches()
        import sneaky_module'''),
    "a replacement at the original's address": textwrap.dedent('''
        target = id(helper_module.helper)
        helper_module.helper = None  # the original is freed: a new function may be given its address
        for attempt in range(10000):
            fake = lambda: 0
            if id(fake) == target:
                helper_module.helper = fake
                break'''),
    "a class patched with type.__setattr__": textwrap.dedent('''
        from jupyter_client.session import Session
        real_send = Session.send
        type.__setattr__(Session, "send", lambda self, *a, **k: real_send(self, *a, **k))'''),
    "import hook": "class Finder:\n    def find_spec(self, *a):\n        return None\nsys.meta_path.insert(0, Finder())",
}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(RUNTIME_ATTACKS))
def test_runtime_checks_catch_a_tampering_kernel(tmp_path, name):
    """With the static scan off, the runtime checks alone stop the attack: IntegrityError in every test cell."""
    nb = notebook(SOLUTION + RUNTIME_ATTACKS[name], extra_tests=(FAILING_TEST,))
    pp, out = graded(tmp_path, nb)
    assert pp._reasons, f"{name}: not caught at runtime"
    for grade_id, outputs in graded_outputs(out).items():
        assert [o.get("ename") for o in outputs] == [ERROR_NAME], f"{name}: {grade_id} scored: {outputs}"


@pytest.mark.slow
@pytest.mark.skipif(sys.version_info < (3, 12), reason="sys.monitoring is new in 3.12")
def test_runtime_checks_catch_sys_monitoring(tmp_path):
    attack = "sys.monitoring.use_tool_id(3, 'x')"
    pp, _ = graded(tmp_path, notebook(SOLUTION + "\n" + attack))
    assert pp._reasons


def test_strict_scoring_ignores_a_result_next_to_an_error():
    nb = notebook(SOLUTION)
    test = nb.cells[2]
    test.outputs = [nbformat.v4.new_output("execute_result", data={"text/plain": "'passed'"}, execution_count=1),
                    nbformat.v4.new_output("error", ename="AssertionError", evalue="", traceback=[])]
    pp = GuardedExecute()
    pp._reasons = []
    pp.verdict(nb, {})
    assert [o.output_type for o in test.outputs] == ["error"]


def test_the_guard_lets_annotationlib_build_functions_and_nothing_else():
    """From 3.14, annotationlib builds a function from a code object for every class with annotations
    (a NamedTuple in a locked cell, numpy's and matplotlib's imports): not tampering.  The same event from
    any other code is."""
    from coursetools.grading.integrity import in_kernel

    del in_kernel._EVENTS[:]
    exec("_audit('function.__new__', ())", {"__name__": "annotationlib", "_audit": in_kernel._audit})
    assert in_kernel._EVENTS == []
    exec("_audit('function.__new__', ())", {"__name__": "__main__", "_audit": in_kernel._audit})
    assert in_kernel._EVENTS == ["function.__new__"]
    del in_kernel._EVENTS[:]
    assert scan_source("import annotationlib\n", 2, INSTRUCTOR, set()), "annotationlib is not flagged"


@pytest.mark.slow
def test_an_instructor_cell_may_rebind_an_instructor_name(tmp_path):
    """Problem set 4's locked measure cell sets ``workers`` again (from the student's saved run): not
    tampering.  A student cell that rebinds it still is (RUNTIME_ATTACKS, "instructor name rebound")."""
    nb = notebook(SOLUTION)
    nb.cells.insert(2, cell("setup_again", "LIMIT = LIMIT + 1", locked=True))
    pp, out = graded(tmp_path, nb)
    assert not pp._reasons, pp._reasons
    assert not [o for o in graded_outputs(out)["test_double"] if o.output_type == "error"]


# --- code the student brought beside the notebook ---------------------------------------------------

WRITEFILE_BODY = "def square(x):\n    return x * x"


def test_unshipped_code_names_only_importable_files_the_course_does_not_ship(tmp_path):
    """Data and notes may sit beside the notebook; modules and packages the course does not ship may not,
    unless a ``%%writefile`` cell of the notebook writes exactly that file."""
    folder = tmp_path / "ps9"
    files = {"helper_module.py": "shipped", "notes.txt": "", "data.csv": "1,2", "my_measurements.json": "{}",
             "my_stats.py": "x = 1", "coursetools/__init__.py": "", "loose/mod.py": "",
             "ps9_written.py": WRITEFILE_BODY + "\n", "ps9_changed.py": "def square(x):\n    return 4\n",
             "fast.cpython-311-x86_64-linux-gnu.so": "", "__pycache__/my_stats.cpython-311.pyc": "",
             ".hidden.py": "", "not-a-module.py": "", "pictures/plot.png": ""}
    for name, text in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)
    nb = notebook(SOLUTION)
    nb.cells += [cell("", f"%%writefile {name}\n{WRITEFILE_BODY}") for name in ("ps9_written.py", "ps9_changed.py")]
    ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback"]
    assert unshipped_code(folder, ["helper_module.py"], ignore, nb) == [
        "coursetools", "fast.cpython-311-x86_64-linux-gnu.so", "loose", "my_stats.py", "ps9_changed.py"]


def graded_in_course(tmp_path: Path, nb: nbformat.NotebookNode, brought: dict[str, str], scan_first: bool):
    """Run ``nb`` through GuardedExecute as autograding does: the course's ``source/ps9/`` ships
    helper_module.py, and the graded folder also holds the files the student ``brought``."""
    source = tmp_path / "course" / "source" / "ps9"
    folder = tmp_path / "course" / "autograded" / "student" / "ps9"
    for where in (source, folder):
        where.mkdir(parents=True)
        (where / "helper_module.py").write_text("def helper():\n    return 42\n")
    for name, text in brought.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)
    config = Config({"CourseDirectory": {"root": str(tmp_path / "course")}})
    pp = GuardedExecute(config=config, static_scan=scan_first, timeout=60, kernel_name="python3")
    resources = {"metadata": {"path": str(folder)}, "nbgrader": {"assignment": "ps9", "notebook": "ps9"}}
    with mock.patch.dict(os.environ, start_method_env(None, tmp_path / "ipython"), clear=True):
        out, _ = pp.preprocess(nb, resources)
    return pp, out


@pytest.mark.slow
@pytest.mark.parametrize("scan_first", [True, False], ids=["scan", "runtime-only"])
def test_a_module_the_student_brought_is_caught(tmp_path, scan_first):
    """The graded folder holds what the student submitted as well as what the course ships: what the course
    ships is read from ``source/``, so a brought module is neither trusted nor importable unseen."""
    nb = notebook("from my_stats import double\n")
    pp, out = graded_in_course(tmp_path, nb, {"my_stats.py": "def double(x):\n    return 2 * x\n"}, scan_first)
    assert pp._reasons and "my_stats" in pp._reasons[0], pp._reasons
    assert [o.ename for o in graded_outputs(out)["test_double"]] == [ERROR_NAME]


@pytest.mark.slow
def test_data_the_student_brought_is_not_caught(tmp_path):
    pp, out = graded_in_course(tmp_path, notebook(SOLUTION), {"notes.txt": "my notes", "runs.json": "[]"}, True)
    assert not pp._reasons, pp._reasons
    assert not [o for o in graded_outputs(out)["test_double"] if o.output_type == "error"]
