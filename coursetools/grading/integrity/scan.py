"""The static half of the grading integrity checks: scan what the student wrote before it runs.

:func:`scan` reads every cell the student controls (and the modules they write
with ``%%writefile``) for what no solution of this course needs and what
reaches the machinery grading runs on (see :mod:`coursetools.grading.integrity`).
"""
from __future__ import annotations

import ast
import builtins as _builtins
import re
import sys
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nbgrader.utils import is_grade, is_locked, is_solution

FORBIDDEN_MODULES = frozenset({
    "builtins", "IPython", "ipykernel", "ipywidgets", "jupyter_client", "jupyter_core", "zmq", "traitlets",
    "comm", "tornado", "nbgrader", "nbformat", "nbclient", "nbconvert", "coursetools", "importlib", "imp",
    "inspect", "gc", "ctypes", "cffi", "types", "marshal", "pickle", "cPickle", "dill", "cloudpickle",
    "copyreg", "shelve", "base64", "binascii", "codecs", "zlib", "bz2", "lzma", "zipimport", "pkgutil",
    "runpy", "code", "codeop", "dis", "ast", "symtable", "pdb", "bdb", "trace", "tracemalloc", "site",
    "sitecustomize", "usercustomize", "unittest", "operator", "readline", "rlcompleter", "pty", "gdb",
    "debugpy", "pydevd", "sysconfig", "faulthandler", "py_compile", "compileall", "modulefinder", "pyclbr",
    "annotationlib",  # rebuilds functions from code objects, which the runtime guard lets it do
})
FORBIDDEN_NAMES = frozenset({
    "get_ipython", "__builtins__", "__import__", "exec", "eval", "compile", "globals", "locals", "vars",
    "setattr", "delattr", "breakpoint", "__loader__", "__spec__", "In", "Out", "_ih", "_oh", "_dh", "_i",
    "_ii", "_iii", "__IPYTHON__", "exit", "quit",
})
FORBIDDEN_ATTRIBUTES = frozenset({
    "__dict__", "__subclasses__", "__globals__", "__code__", "__closure__", "__builtins__", "__mro__",
    "__bases__", "__base__", "__getattribute__", "__setattr__", "__delattr__", "__reduce__", "__reduce_ex__",
    "__import__", "__loader__", "__spec__", "__self__", "__func__", "__wrapped__", "__defaults__",
    "__kwdefaults__", "__module__", "__traceback__", "__set_name__", "__init_subclass__", "__class_getitem__",
    "cell_contents", "f_globals", "f_locals", "f_back", "f_builtins", "f_code", "f_trace", "f_lineno", "tb_frame", "tb_next",
    "gi_frame", "cr_frame", "ag_frame", "gi_code", "cr_code", "co_code", "co_consts", "co_names",
    "settrace", "setprofile", "settrace_all_threads", "setprofile_all_threads", "_getframe", "_current_frames",
    "addaudithook", "environ", "environb", "getenv", "getenvb", "putenv", "unsetenv", "attrgetter",
    "methodcaller", "user_ns", "user_global_ns", "input_transformers_cleanup", "input_transformers_post",
    "ast_transformers", "set_custom_exc", "showtraceback", "meta_path", "path_hooks",
})
SYS_ALLOWED = frozenset({
    "setswitchinterval", "getswitchinterval", "executable", "platform", "version_info", "version", "exit",
    "stdout", "stderr", "stdin", "argv", "maxsize", "getrecursionlimit", "byteorder", "implementation",
    "float_info", "hexversion", "getsizeof", "exc_info", "exception", "_is_gil_enabled", "getdefaultencoding",
    "getfilesystemencoding", "api_version", "int_info", "hash_info", "thread_info", "cpu_count",
})
PRIVATE_MODULE_ATTRIBUTES_ALLOWED = frozenset({"_exit", "_is_gil_enabled"})
SUSPICIOUS_STRINGS = (
    "get_ipython", "__builtins__", "__import__", "__dict__", "__globals__", "__subclasses__", "__code__",
    "settrace", "setprofile", "f_globals", "f_back", "_getframe", "NBGRADER", "nbgrader", "ipykernel",
    "IPython", "input_transformers", "ast_transformers", "custom_exc", "showtraceback", "run_cell",
    "displayhook", "excepthook", "sys.modules", "/proc/", "/dev/mem", "sitecustomize", "usercustomize",
    ".pth", "PYTHONSTARTUP", "PYTHONPATH", "PYTHONHOME", "PYTHONINSPECT", "PYTHONWARNINGS",
    "ipython_config", "jupyter_client", "autograde",
)
VALUE_TYPES = frozenset({"str", "int", "float", "complex", "bool", "bytes", "tuple", "list", "dict", "set",
                         "frozenset", "bytearray"})
"""Builtin types a test compares results with: a subclass can override == to agree with anything."""
ALLOWED_LINE_MAGICS = frozenset({"matplotlib", "time", "timeit"})
ALLOWED_CELL_MAGICS = frozenset({"writefile", "time", "timeit"})
CODE_MAGICS = frozenset({"time", "timeit"})
"""Magics whose argument is Python code that runs: scanned like a cell."""


@dataclass(frozen=True)
class Finding:
    """One reason a submission is not graded as it stands."""

    cell: int
    """The cell's number, counted from 1."""
    line: int
    what: str

    def __str__(self) -> str:
        return f"cell {self.cell}, line {self.line}: {self.what}"


def is_student_cell(cell: Any) -> bool:
    """A code cell whose source the student controls (nbgrader restores the others at autograde)."""
    if cell.get("cell_type") != "code":
        return False
    if is_solution(cell):
        return True
    return not (is_locked(cell) or is_grade(cell))


_AST_LOCK = threading.RLock()
"""`make grade` grades several submissions in threads of one process, and CPython 3.11's ``ast``
module is not thread-safe ("SystemError: AST constructor recursion depth mismatch"): every parse
of this module holds this lock."""


def parse(source: str) -> ast.Module:
    """``ast.parse`` under :data:`_AST_LOCK`."""
    with _AST_LOCK:
        return ast.parse(source)


def to_python(source: str) -> str:
    """A cell's source as IPython runs it (magics become ``get_ipython().run_*_magic`` calls)."""
    from IPython.core.inputtransformer2 import TransformerManager

    with _AST_LOCK:
        return TransformerManager().transform_cell(source)


def top_level_bindings(tree: ast.AST) -> Iterator[tuple[str, ast.AST, str | None]]:
    """(name, node, module) for every name a module-level statement binds; ``module`` for imports."""
    def targets(node: ast.AST) -> Iterator[ast.Name]:
        for sub in ast.walk(node):
            if isinstance(sub, ast.Name) and isinstance(sub.ctx, (ast.Store, ast.Del)):
                yield sub

    def statements(body: list[ast.stmt]) -> Iterator[ast.stmt]:
        for stmt in body:
            yield stmt
            if isinstance(stmt, (ast.If, ast.For, ast.While, ast.With, ast.Try, ast.AsyncFor, ast.AsyncWith)):
                for field in ("body", "orelse", "finalbody"):
                    yield from statements(getattr(stmt, field, []) or [])
                for handler in getattr(stmt, "handlers", []) or []:
                    if handler.name:
                        yield ast.Assign(targets=[ast.Name(handler.name, ast.Store())], value=ast.Constant(None),
                                         lineno=handler.lineno)
                    yield from statements(handler.body)
            elif sys.version_info >= (3, 10) and isinstance(stmt, ast.Match):
                for case in stmt.cases:
                    yield from statements(case.body)

    for stmt in statements(getattr(tree, "body", [])):
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            yield stmt.name, stmt, None
        elif isinstance(stmt, ast.Import):
            for alias in stmt.names:
                yield (alias.asname or alias.name.split(".")[0]), stmt, (alias.name if alias.asname else
                                                                         alias.name.split(".")[0])
        elif isinstance(stmt, ast.ImportFrom):
            for alias in stmt.names:
                yield (alias.asname or alias.name), stmt, f"{stmt.module}.{alias.name}"
        elif isinstance(stmt, (ast.Assign, ast.AnnAssign, ast.AugAssign, ast.Delete, ast.For, ast.AsyncFor)):
            nodes = stmt.targets if isinstance(stmt, (ast.Assign, ast.Delete)) else [stmt.target]
            for node in nodes:
                for name in targets(node):
                    yield name.id, stmt, None
        elif isinstance(stmt, (ast.With, ast.AsyncWith)):
            for item in stmt.items:
                if item.optional_vars is not None:
                    for name in targets(item.optional_vars):
                        yield name.id, stmt, None
        if isinstance(stmt, (ast.Expr, ast.Assign, ast.If, ast.While)):
            for sub in ast.walk(stmt):
                if isinstance(sub, ast.NamedExpr):
                    yield sub.target.id, stmt, None


def own_private_attributes(tree: ast.AST) -> set[str]:
    """``_name`` attributes the code itself assigns (``self._lock = ...``) or defines in a class body."""
    own = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store) and node.attr.startswith("_"):
            own.add(node.attr)
        elif isinstance(node, ast.ClassDef):
            for stmt in node.body:
                if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    own.add(stmt.name)
                for name, _, _ in top_level_bindings(ast.Module(body=[stmt], type_ignores=[])):
                    own.add(name)
    return own


def names_read(tree: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}


@dataclass
class Instructor:
    """What the instructor's cells of a notebook define and use."""

    protected: dict[str, str | None]
    """Names the instructor's cells bind with import/def/class (or any binding in a setup cell),
    with the module an import binds them to."""
    builtins_used: frozenset[str]
    """Builtin names the instructor's cells read: a notebook variable must not shadow them."""
    bindings: list[list[str]]
    """Per cell of the notebook: the protected names it binds (empty for student cells)."""

    @classmethod
    def of(cls, nb: Any) -> Instructor:
        with _AST_LOCK:
            return cls._of(nb)

    @classmethod
    def _of(cls, nb: Any) -> Instructor:
        protected: dict[str, str | None] = {}
        used: set[str] = set()
        bindings: list[list[str]] = []
        builtin_names = set(dir(_builtins))
        for cell in nb.cells:
            names: list[str] = []
            if cell.cell_type == "code" and not is_student_cell(cell):
                try:
                    tree = parse(to_python(cell.source))
                except SyntaxError:
                    tree = ast.Module(body=[], type_ignores=[])
                used |= names_read(tree) & builtin_names
                setup = not is_grade(cell)
                for name, node, module in top_level_bindings(tree):
                    if module is not None or isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) \
                            or (setup and isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign))):
                        protected.setdefault(name, module)
                        names.append(name)
            bindings.append(sorted(set(names)))
        return cls(protected, frozenset(used), bindings)


class _Scanner(ast.NodeVisitor):
    def __init__(self, cell: int, offset: int, instructor: Instructor, new_modules: set[str],
                 shipped: set[str]) -> None:
        self.cell, self.offset, self.instructor = cell, offset, instructor
        self.new_modules, self.shipped = new_modules, shipped
        self.findings: list[Finding] = []
        self.tree: ast.AST | None = None
        self.own_private: set[str] = set()
        self.module_names: dict[str, str] = {}
        for name, module in instructor.protected.items():
            if module is not None:
                self.module_names[name] = module

    def constant_values(self, node: ast.AST | None) -> list[str] | None:
        """The strings ``node`` can be: a literal, or a name only ever bound to literals in this cell
        (``for step in ("terminate", "kill")``); None when it can be anything."""
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return [node.value]
        if not isinstance(node, ast.Name) or self.tree is None:
            return None
        values: list[str] = []
        for sub in ast.walk(self.tree):
            bound = None
            if isinstance(sub, (ast.For, ast.AsyncFor, ast.comprehension)) and isinstance(sub.target, ast.Name) \
                    and sub.target.id == node.id:
                bound = sub.iter.elts if isinstance(sub.iter, (ast.Tuple, ast.List, ast.Set)) else [sub.iter]
            elif isinstance(sub, ast.Assign) and any(isinstance(t, ast.Name) and t.id == node.id for t in sub.targets):
                bound = [sub.value]
            elif isinstance(sub, (ast.arg,)) and sub.arg == node.id:
                return None
            elif isinstance(sub, ast.Name) and sub.id == node.id and isinstance(sub.ctx, ast.Store) \
                    and not any(sub is getattr(p, "target", None) for p in ast.walk(self.tree)
                                if isinstance(p, (ast.For, ast.AsyncFor, ast.comprehension))) \
                    and not any(isinstance(p, ast.Assign) and sub in p.targets for p in ast.walk(self.tree)):
                return None
            for value in bound or []:
                if isinstance(value, ast.Constant) and (isinstance(value.value, str) or value.value is None):
                    if isinstance(value.value, str):
                        values.append(value.value)
                else:
                    return None
        return values

    def flag(self, node: ast.AST, what: str) -> None:
        self.findings.append(Finding(self.cell, getattr(node, "lineno", 1) + self.offset, what))

    # imports
    def check_module(self, node: ast.AST, module: str) -> None:
        top = module.split(".")[0]
        if top in FORBIDDEN_MODULES or (top.startswith("_") and top != "__future__"):
            self.flag(node, f"imports {module}, which grading does not allow")

        if module in ("sys.monitoring", "os.environ"):
            self.flag(node, f"imports {module}")

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self.check_module(node, alias.name)
            self.module_names[alias.asname or alias.name.split(".")[0]] = alias.name if alias.asname else \
                alias.name.split(".")[0]
        self.generic_visit(node)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        module = node.module or ""
        if node.level:
            self.flag(node, "relative import")
        self.check_module(node, module)
        for alias in node.names:
            if alias.name == "*":
                self.flag(node, f"from {module} import *")
                continue
            if module == "sys" and alias.name not in SYS_ALLOWED:
                self.flag(node, f"imports sys.{alias.name}")
            if alias.name in FORBIDDEN_ATTRIBUTES or alias.name in FORBIDDEN_NAMES:
                self.flag(node, f"imports {module}.{alias.name}")
            self.module_names[alias.asname or alias.name] = f"{module}.{alias.name}"
        self.generic_visit(node)

    # names and attributes
    def visit_Name(self, node: ast.Name) -> None:
        if node.id in FORBIDDEN_NAMES:
            self.flag(node, f"uses {node.id}")
        elif re.fullmatch(r"_i\d+|_\d+", node.id):
            self.flag(node, f"uses IPython's history ({node.id})")

    def root(self, node: ast.AST) -> ast.AST:
        while isinstance(node, (ast.Attribute, ast.Subscript, ast.Call)):
            node = node.value if not isinstance(node, ast.Call) else node.func
        return node

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if node.attr in FORBIDDEN_ATTRIBUTES:
            self.flag(node, f"uses the attribute .{node.attr}")
        elif node.attr.startswith("_") and not node.attr.startswith("__") and node.attr not in self.own_private \
                and node.attr not in PRIVATE_MODULE_ATTRIBUTES_ALLOWED:
            self.flag(node, f"uses the private attribute .{node.attr} of something it did not make")
        base = node.value
        if isinstance(base, ast.Name) and base.id in self.module_names:
            module = self.module_names[base.id]
            if module == "sys" and node.attr not in SYS_ALLOWED:
                self.flag(node, f"uses sys.{node.attr}")
            if node.attr.startswith("_") and node.attr not in PRIVATE_MODULE_ATTRIBUTES_ALLOWED:
                self.flag(node, f"uses the private {base.id}.{node.attr}")
        if isinstance(node.ctx, (ast.Store, ast.Del)):
            self.check_store(node)
        self.generic_visit(node)

    def visit_Subscript(self, node: ast.Subscript) -> None:
        if isinstance(node.ctx, (ast.Store, ast.Del)):
            self.check_store(node)
        self.generic_visit(node)

    def check_store(self, node: ast.AST) -> None:
        root = self.root(node)
        if isinstance(root, ast.Name) and (root.id in self.module_names or root.id in self.instructor.protected):
            self.flag(node, f"changes {root.id}, which the course's code or the instructor's cells own")
        if isinstance(node, ast.Attribute) and node.attr.startswith("__") and node.attr.endswith("__"):
            self.flag(node, f"assigns .{node.attr}")

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        if isinstance(func, ast.Name) and func.id in ("getattr", "hasattr"):
            name = node.args[1] if len(node.args) > 1 else None
            values = self.constant_values(name)
            if values is None:
                self.flag(node, f"{func.id} with a computed name")
            for value in values or []:
                if value in FORBIDDEN_ATTRIBUTES or value.startswith("_"):
                    self.flag(node, f"{func.id}(..., {value!r})")
        if isinstance(func, ast.Name) and func.id == "open" and node.args:
            target = node.args[0]
            if isinstance(target, ast.Constant) and isinstance(target.value, str) and \
                    Path(target.value).name in self.shipped:
                self.flag(node, f"opens the course's own file {target.value}")
        self.generic_visit(node)

    def visit_Constant(self, node: ast.Constant) -> None:
        if isinstance(node.value, (str, bytes)):
            text = node.value if isinstance(node.value, str) else node.value.decode("latin-1")
            hit = next((s for s in SUSPICIOUS_STRINGS if s in text), None)
            if hit:
                self.flag(node, f"a string mentions {hit!r}")

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        for base in node.bases:
            if isinstance(base, ast.Name) and base.id in VALUE_TYPES:
                self.flag(node, f"defines {node.name}, a subclass of the builtin {base.id} (a value that could "
                                "compare equal to anything)")
        self.generic_visit(node)

    def visit_Global(self, node: ast.Global) -> None:
        for name in node.names:
            if name in self.instructor.protected or name in self.instructor.builtins_used:
                self.flag(node, f"declares global {name}, which the instructor's cells own")

    visit_Nonlocal = visit_Global


def _magic_calls(tree: ast.AST) -> Iterator[tuple[ast.Call, str, list[ast.expr]]]:
    """``get_ipython().<kind>(args)`` calls: what IPython turns magics and shell escapes into."""
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and isinstance(node.func.value, ast.Call) and isinstance(node.func.value.func, ast.Name)
                and node.func.value.func.id == "get_ipython"):
            yield node, node.func.attr, node.args


def scan_source(source: str, cell: int, instructor: Instructor, shipped: set[str], offset: int = 0,
                new_modules: set[str] | None = None) -> list[Finding]:
    """Findings in one student cell's source (``offset``: lines before it in the cell)."""
    new_modules = set() if new_modules is None else new_modules
    try:
        python = to_python(source)
        tree = parse(python)
    except (SyntaxError, ValueError):
        return []  # it fails the same way at grading; nothing in it can run
    findings: list[Finding] = []
    allowed_calls: set[int] = set()
    for call, kind, args in _magic_calls(tree):
        literal = [a.value if isinstance(a, ast.Constant) else None for a in args]
        name = literal[0] if literal else None
        if kind == "run_line_magic" and name in ALLOWED_LINE_MAGICS and all(v is not None for v in literal):
            allowed_calls.add(id(call))
            if name in CODE_MAGICS and len(literal) > 1:
                findings += scan_source(re.sub(r"^(-\S+\s+)*", "", literal[1]), cell, instructor, shipped,
                                        offset + call.lineno - 1, new_modules)
        elif kind == "run_cell_magic" and name in ALLOWED_CELL_MAGICS and len(literal) == 3 \
                and all(v is not None for v in literal):
            allowed_calls.add(id(call))
            line, body = literal[1], literal[2]
            if name == "writefile":
                target = line.split()[-1] if line.split() else ""
                problem = _writefile_problem(target, shipped)
                if problem:
                    findings.append(Finding(cell, 1 + offset, problem))
                new_modules.add(target[:-3])
                findings += _scan_module(body, cell, instructor, shipped, offset + 1, new_modules)
            else:
                findings += scan_source(body, cell, instructor, shipped, offset + 1, new_modules)
        else:
            magic = kind in ("run_line_magic", "run_cell_magic") and name
            what = {"system": "a shell command (!)", "getoutput": "a shell command (!!)"}.get(
                kind, f"the magic %{name}" if magic else f"get_ipython().{kind}")
            findings.append(Finding(cell, call.lineno + offset, f"uses {what}, which grading does not allow"))
    scanner = _Scanner(cell, offset, instructor, new_modules, shipped)
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and id(node) in allowed_calls:
            node.func = ast.Name("_allowed_magic", ast.Load())
            node.args = []
    scanner.tree = tree
    scanner.own_private = own_private_attributes(tree)
    scanner.visit(tree)
    findings += scanner.findings
    for name, node, module in top_level_bindings(tree):
        owner = instructor.protected.get(name, "absent")
        if owner != "absent" and not (module is not None and module == owner):
            findings.append(Finding(cell, getattr(node, "lineno", 1) + offset,
                                    f"rebinds {name}, which the instructor's cells define"))
        elif name in instructor.builtins_used:
            findings.append(Finding(cell, getattr(node, "lineno", 1) + offset,
                                    f"rebinds the builtin {name}, which the tests use"))
    return findings


def _scan_module(body: str, cell: int, instructor: Instructor, shipped: set[str], offset: int,
                 new_modules: set[str]) -> list[Finding]:
    """A module the student writes runs in child processes and is imported by the kernel: the same rules,
    except that it has its own global names."""
    own = Instructor({}, instructor.builtins_used, [])
    return scan_source(body, cell, own, shipped, offset, new_modules)


def _writefile_problem(target: str, shipped: set[str]) -> str:
    name = Path(target).name
    if target != name or not re.fullmatch(r"[A-Za-z_]\w*\.py", name):
        return f"%%writefile {target}: write a module named like ps1_student_part.py in the notebook's folder"
    if name in shipped:
        return f"%%writefile {target} overwrites a file the course ships"
    stem = name[:-3]
    if stem in sys.stdlib_module_names or stem in ("sitecustomize", "usercustomize"):
        return f"%%writefile {target} shadows the standard library module {stem}"
    import importlib.util

    try:
        spec = importlib.util.find_spec(stem)
    except (ImportError, ValueError):
        spec = None
    if spec is not None and spec.origin and Path(spec.origin).parent.resolve() != Path.cwd().resolve():
        return f"%%writefile {target} shadows the installed module {stem}"
    return ""


def writefile_bodies(nb: Any) -> dict[str, set[str]]:
    """What the notebook's ``%%writefile NAME.py`` cells write, by file name."""
    bodies: dict[str, set[str]] = {}
    for cell in nb.cells:
        if cell.get("cell_type") == "code":
            first, _, body = cell.source.lstrip().partition("\n")
            if first.startswith("%%writefile") and first.split()[-1].endswith(".py"):
                bodies.setdefault(Path(first.split()[-1]).name, set()).add(body.rstrip("\n"))
    return bodies


def written_modules(nb: Any) -> set[str]:
    """Module names the notebook's cells write with ``%%writefile NAME.py``."""
    return {name[:-3] for name in writefile_bodies(nb)}


def scan(nb: Any, shipped: Iterable[str] = ()) -> list[Finding]:
    """Every finding in the cells the student controls."""
    with _AST_LOCK:
        return _scan(nb, shipped)


def _scan(nb: Any, shipped: Iterable[str]) -> list[Finding]:
    instructor = Instructor.of(nb)
    shipped = set(shipped)
    findings: list[Finding] = []
    new_modules = written_modules(nb)
    for number, cell in enumerate(nb.cells, start=1):
        if is_student_cell(cell):
            findings += scan_source(cell.source, number, instructor, shipped, new_modules=new_modules)
    return findings
