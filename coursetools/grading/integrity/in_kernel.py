"""The in-kernel half of the grading integrity check (see :mod:`coursetools.grading.integrity`).

The grader sends this file's source into the student's kernel before the first
cell runs, as a private module registered in ``sys.modules`` under a name that
is random per run.  :func:`fingerprint` records who the interpreter's and
IPython's hooks are (identities of functions, classes, hook lists, the
``builtins`` namespace, every function of the modules the kernel runs on, the
names the instructor's cells bind); :func:`compare_with_baseline` compares the current state
with that baseline and answers with a line signed by a per-run key that only
the grader and this module know.  Nothing here is imported by the grader
itself: ``KEY`` and ``PROTECTED_BUILTINS`` are filled in when it is sent.
"""
import builtins
import hashlib
import hmac
import sys
import threading

KEY = b""
PROTECTED_BUILTINS: frozenset = frozenset()

# Modules whose functions and classes no course solution changes: the kernel,
# IPython, their transport, and the standard library the problem sets use.
WATCHED_PREFIXES = (
    "IPython", "ipykernel", "jupyter_client", "jupyter_core", "zmq", "traitlets", "comm", "tornado",
    "asyncio", "builtins", "sys", "os", "posix", "time", "threading", "_thread", "multiprocessing",
    "concurrent", "subprocess", "signal", "queue", "psutil", "tempfile", "pathlib", "io", "json", "uuid",
    "secrets", "random", "hashlib", "hmac", "functools", "itertools", "collections", "contextlib",
    "traceback", "warnings", "logging", "select", "selectors", "socket", "atexit", "weakref", "copy",
    "statistics", "math", "shutil", "importlib", "inspect", "types", "abc", "codecs", "pickle", "coursetools",
)
# Packages whose UPPERCASE constants the tests read, besides the helper modules shipped with the notebook.
COURSE_PACKAGES = ("coursetools",)
# Attributes that change in honest runs (caches, counters, the last result).
VOLATILE_ATTRIBUTES = frozenset({
    "last_execution_result", "last_execution_succeeded", "execution_count", "_last_traceback",
    "_actual_context", "_reply_content", "_main_thread", "_shutdown_locks", "_dangling",
    "_last_input_line", "_post_execute", "_showtraceback", "_forking", "_parent_header",
    "last_type", "last_value", "last_traceback", "last_exc",
})
# Modules whose event callbacks matplotlib registers when pyplot is imported (draw and show figures).
PLOTTING_MODULES = ("matplotlib_inline.backend_inline", "matplotlib.pyplot")
# Importers that libraries add to sys.meta_path when they are imported.
KNOWN_IMPORTERS = ("six", "_distutils_hack", "setuptools", "pkg_resources", "matplotlib", "mpl_toolkits",
                   "importlib", "_frozen_importlib", "_frozen_importlib_external", "zipimport")

# Audit events (PEP 578) no honest cell causes.  An audit hook cannot be removed once added, so a
# tracer that a test cell's call installs and takes away before the cell ends is still seen.
AUDITED_EVENTS = frozenset({
    "sys.settrace", "sys.setprofile", "code.__new__", "function.__new__", "gc.get_referrers",
    "gc.get_referents", "gc.get_objects", "sys.addaudithook", "sys._current_frames", "sys._current_exceptions",
})
AUDITED_ATTRIBUTES = frozenset({"__code__", "__class__"})  # libraries set __defaults__ and __bases__
_EVENTS: list = []


# Modules that build functions from existing code objects as part of the language: from 3.14,
# annotationlib evaluates every class's annotations (a NamedTuple, a dataclass, ...) that way.
FUNCTION_BUILDERS = frozenset({"annotationlib"})
_getframe = sys._getframe


def _audit(event: str, args: tuple) -> None:
    if event == "function.__new__":
        try:
            builder = _getframe(1).f_globals.get("__name__")
        except ValueError:  # no Python frame called
            builder = None
        if builder in FUNCTION_BUILDERS:
            return
    if event in AUDITED_EVENTS or event.startswith("ctypes."):
        if len(_EVENTS) < 50:
            _EVENTS.append(event)
    elif event in ("object.__setattr__", "object.__delattr__") and len(args) > 1 and args[1] in AUDITED_ATTRIBUTES:
        if len(_EVENTS) < 50:
            _EVENTS.append(f"{event} {args[1]}")


_MISSING = object()
_id = id
_isinstance = isinstance
_type = type
_callable = callable
_vars = vars
_sorted = sorted
_list = list
_repr = repr


def _shell():
    from IPython import get_ipython

    return get_ipython()


def _watched(name: str) -> bool:
    return name.split(".", 1)[0] in WATCHED_PREFIXES or name in _HELPERS


def _constants_watched(name: str) -> bool:
    """Modules whose constants are hashed (a constant can change in place, with its identity kept)."""
    return name in _HELPERS or name.split(".", 1)[0] in COURSE_PACKAGES


_HELPERS: set = set()


# What each watched module held at the last check: (the module's id, its names, the ids of its values,
# [(a class it defines, that class's member ids)], the entries taken from it).  A module whose names,
# values and classes are all the same objects as then has the same entries: they are reused, so a
# check costs a comparison of id tuples for the modules no cell touched.
_SEEN: dict = {}
# Every object an entry was taken from, kept alive: an object that is freed can have its address (and
# so its id) reused by a replacement, which would then look like the original.
_KEPT: dict = {}
_tuple = tuple
_map = map


def _member_ids(cls) -> tuple:
    return _tuple(_map(_id, _vars(cls).values()))


def _module_state(name: str, module, state: dict) -> None:
    try:
        namespace = _vars(module)
    except TypeError:
        return
    names = _tuple(namespace)
    ids = _tuple(_map(_id, namespace.values()))
    seen = _SEEN.get(name)
    if seen is not None and not _constants_watched(name) and seen[0] == _id(module) and seen[1] == names \
            and seen[2] == ids and all(_member_ids(cls) == members for cls, members in seen[3]):
        state.update(seen[4])
        return
    entries: dict = {}
    classes = []
    for attr, value in _list(namespace.items()):
        if attr in VOLATILE_ATTRIBUTES or (attr.startswith("__") and attr.endswith("__") and attr != "__import__"):
            continue
        _KEPT[_id(value)] = value
        if _isinstance(value, _type(sys)):
            entries[f"s:{name}.{attr}"] = _id(value)  # a submodule: appears when it is first imported
        elif _callable(value):
            owner = getattr(value, "__module__", None)
            lazy = _isinstance(owner, str) and owner != name and owner.split(".")[0] == name.split(".")[0]
            # "l:": a name the package re-exports from a submodule, possibly on first use (PEP 562)
            entries[f"{'l' if lazy else 'm'}:{name}.{attr}"] = _id(value)
            if _isinstance(value, _type) and getattr(value, "__module__", None) == name:
                try:
                    members = _list(_vars(value).items())
                except TypeError:
                    continue
                classes.append((value, _member_ids(value)))
                for member, function in members:
                    if _callable(function) or _isinstance(function, (staticmethod, classmethod, property)):
                        entries[f"c:{name}.{attr}.{member}"] = _id(function)
                        _KEPT[_id(function)] = function
        elif _constants_watched(name) and attr.isupper():
            entries[f"v:{name}.{attr}"] = hashlib.sha256(_repr(value).encode()).hexdigest()
    _SEEN[name] = (_id(module), names, ids, classes, entries)
    _KEPT[_id(module)] = module
    state.update(entries)


def _object_state(label: str, obj, state: dict) -> None:
    """Instance attributes of a kernel object that are code (an override of a method shows here)."""
    try:
        items = _list(_vars(obj).items())
    except TypeError:
        return
    for attr, value in items:
        if attr not in VOLATILE_ATTRIBUTES and _callable(value):
            state[f"o:{label}.{attr}"] = _id(value)
    state[f"t:{label}"] = _id(_type(obj))


def _callbacks(shell) -> dict:
    found = {}
    for event, callbacks in shell.events.callbacks.items():
        ids = []
        for callback in callbacks:
            code = getattr(callback, "__code__", None)
            files = [getattr(sys.modules.get(name), "__file__", None) for name in PLOTTING_MODULES]
            if code is not None and code.co_filename in files:
                continue  # matplotlib's: draw and flush figures after each cell
            ids.append(_id(callback))
        found[event] = ids
    return found


def fingerprint() -> dict:
    """Identities of everything a submission must not replace or hook."""
    shell = _shell()
    state: dict = {}
    state["sys.trace"] = _id(sys.gettrace())
    state["sys.profile"] = _id(sys.getprofile())
    state["threading.trace"] = _id(getattr(threading, "_trace_hook", None))
    state["threading.profile"] = _id(getattr(threading, "_profile_hook", None))
    monitoring = getattr(sys, "monitoring", None)
    if monitoring is not None:
        for tool in range(6):
            state[f"sys.monitoring.{tool}"] = _repr(monitoring.get_tool(tool))
    for name in ("stdout", "stderr", "stdin", "__stdout__", "__stderr__", "displayhook", "excepthook",
                 "breakpointhook", "unraisablehook", "modules", "meta_path", "path_hooks", "path"):
        state[f"sys.{name}"] = _id(getattr(sys, name, None))
    for label, obj in (("stdout", sys.stdout), ("stderr", sys.stderr)):
        _object_state(label, obj, state)
    for key, value in _list(_vars(builtins).items()):
        if key != "_":
            state[f"b:{key}"] = _id(value)
    for name, module in _list(sys.modules.items()):
        if _watched(name) and module is not None:
            _module_state(name, module, state)
    if shell is not None:
        manager = shell.input_transformer_manager
        for label, hooks in (
            ("input_transformers_cleanup", shell.input_transformers_cleanup),
            ("input_transformers_post", shell.input_transformers_post),
            ("ast_transformers", shell.ast_transformers),
            ("manager.cleanup_transforms", getattr(manager, "cleanup_transforms", [])),
            ("manager.line_transforms", getattr(manager, "line_transforms", [])),
            ("manager.token_transformers", getattr(manager, "token_transformers", [])),
        ):
            state[f"ip.{label}"] = _repr([_id(h) for h in hooks])
        state["ip.custom_exceptions"] = _repr(shell.custom_exceptions)
        state["ip.CustomTB"] = _id(getattr(shell, "CustomTB", None))
        for label in ("InteractiveTB", "SyntaxTB", "displayhook", "display_pub", "display_formatter",
                      "input_transformer_manager", "compile", "kernel", "events", "history_manager"):
            state[f"ip.{label}"] = _id(getattr(shell, label, None))
        objects = [("shell", shell), ("InteractiveTB", shell.InteractiveTB), ("SyntaxTB", shell.SyntaxTB),
                   ("displayhook", shell.displayhook), ("display_pub", shell.display_pub),
                   ("compile", shell.compile), ("events", shell.events),
                   ("transformer_manager", manager)]
        kernel = getattr(shell, "kernel", None)
        if kernel is not None:
            objects += [("kernel", kernel), ("session", kernel.session)]
            for name, handler in _list(getattr(kernel, "shell_handlers", {}).items()):
                state[f"ip.kernel.handler.{name}"] = _id(handler)
        for label, obj in objects:
            _object_state(label, obj, state)
        found = _callbacks(shell)
        for event, ids in found.items():
            state[f"ip.events.{event}"] = _repr(ids)
        state["ip.user_ns"] = _id(shell.user_ns)
    return state


_BASE: dict = {}
_BLESSED: dict = {}
_BASE_META_PATH: list = []
_BASE_USER_NS: set = set()


_BASE_MODULES: set = set()


def _note_modules() -> None:
    for name, module in _list(sys.modules.items()):
        if module is not None and _watched(name):
            _BASE_MODULES.add(name)


def start(helpers: list, folder: str = "", allowed_modules: list = ()) -> str:
    """Take the baseline, before any cell of the notebook runs."""
    _HELPERS.update(helpers)
    _BASE.update(fingerprint())
    _note_modules()
    sys.addaudithook(_audit)
    _BASE_META_PATH.extend(sys.meta_path)
    shell = _shell()
    if shell is not None:
        _BASE_USER_NS.update(shell.user_ns)
    _FOLDER.append(folder)
    _ALLOWED_MODULES.update(allowed_modules)
    return _sign("started", "")


_FOLDER: list = []
_ALLOWED_MODULES: set = set()


_INSIDE: dict = {}  # module id -> (its __file__, whether that file is in the notebook's folder)


def _foreign_modules() -> list:
    """Modules imported from the notebook's folder that neither the course ships nor a %%writefile cell
    wrote (code written to a file at run time, then imported)."""
    import os

    folder = _FOLDER[0] if _FOLDER else ""
    found = []
    if not folder:
        return found
    for name, module in _list(sys.modules.items()):
        path = getattr(module, "__file__", None)
        if not path or name in _ALLOWED_MODULES or name.split(".")[0] in _ALLOWED_MODULES:
            continue
        known = _INSIDE.get(_id(module))
        if known is None or known[0] != path:
            try:
                known = (path, os.path.realpath(path).startswith(folder + os.sep))
            except (TypeError, ValueError):
                continue
            _INSIDE[_id(module)] = known
            _KEPT[_id(module)] = module
        if known[1]:
            found.append(name)
    return found


def _problems(bless: list, helpers: list) -> list:
    problems = []
    _HELPERS.update(helpers)
    current = fingerprint()
    # Set operations on the items (C speed): only what differs from the baseline is looked at.
    for key, value in current.items() - _BASE.items():
        base = _BASE.get(key, _MISSING)
        if base is _MISSING:
            module = key[2:].rsplit(".", 2 if key.startswith("c:") else 1)[0] if key[:2] in ("m:", "c:", "v:", "l:") else ""
            if (module and module not in _BASE_MODULES) or key.startswith(("s:", "l:")):
                _BASE[key] = value  # a module imported since the last check: its first state is its baseline
            else:
                problems.append(f"added: {key}")
        elif base != value:
            problems.append(f"changed: {key}")
    missing = _BASE.keys() - current.keys()
    for key in missing:
        if not key.startswith(("m:", "c:", "v:", "s:", "l:")):
            problems.append(f"removed: {key}")
    for key in missing:
        if key.startswith(("m:", "c:", "v:", "s:", "l:")):
            module = key[2:].split(".")
            if ".".join(module[:-1]) in sys.modules or ".".join(module[:-2]) in sys.modules:
                problems.append(f"removed: {key}")
    for event in _EVENTS:
        problems.append(f"audit event {event}")
    for name in _foreign_modules():
        problems.append(f"imported {name}, a module no cell of the notebook wrote")
    for importer in _BASE_META_PATH:
        if importer not in sys.meta_path:
            problems.append("an import hook was removed")
    for importer in sys.meta_path:
        if importer not in _BASE_META_PATH:
            owner = getattr(_type(importer), "__module__", "") or ""
            if owner.split(".")[0] not in KNOWN_IMPORTERS:
                problems.append(f"an import hook was added: {owner}")
    shell = _shell()
    if shell is not None:
        namespace = shell.user_ns
        for name, identity in _list(_BLESSED.items()):
            # A name the instructor cell that just ran binds again is its to change (blessed below).
            if name not in bless and _id(namespace.get(name, _MISSING)) != identity:
                problems.append(f"the instructor's name {name!r} was rebound")
        for name in PROTECTED_BUILTINS:
            if name in namespace and name not in _BASE_USER_NS:
                problems.append(f"the builtin {name!r} is shadowed by a notebook variable")
        for name in bless:
            _BLESSED[name] = _id(namespace.get(name, _MISSING))
    _note_modules()
    return problems


def compare_with_baseline(nonce: str, bless: list, helpers: list) -> str:
    """Compare with the baseline; bless the names the instructor cell just run binds."""
    try:
        problems = _problems(bless, helpers)
    except Exception as error:  # a check that cannot run is a finding, not a crash
        problems = [f"the check could not run: {_type(error).__name__}: {error}"]
    return _sign(nonce, "|".join(_sorted(set(problems))[:20]))


def _sign(nonce: str, problems: str) -> str:
    verdict = "ok" if not problems else "tampered"
    mac = hmac.new(KEY, f"{nonce}\n{verdict}\n{problems}".encode(), hashlib.sha256).hexdigest()
    return f"{verdict}\n{mac}\n{problems}"
