"""coursetools.gil.interpreter: whether this Python has a GIL and how it was built."""
from __future__ import annotations

import sys
import sysconfig

import pytest

from coursetools.gil import interpreter


def test_gil_enabled_follows_sys_is_gil_enabled(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "_is_gil_enabled", lambda: False, raising=False)
    assert interpreter.gil_enabled() is False
    monkeypatch.setattr(sys, "_is_gil_enabled", lambda: True, raising=False)
    assert interpreter.gil_enabled() is True
    monkeypatch.delattr(sys, "_is_gil_enabled", raising=False)
    assert interpreter.gil_enabled() is True  # every build before 3.13


def test_free_threaded_build_reads_config_var(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sysconfig, "get_config_var", lambda name: 1 if name == "Py_GIL_DISABLED" else None)
    assert interpreter.free_threaded_build() is True
    assert interpreter.python_description().endswith(" free-threaded")
    monkeypatch.setattr(sysconfig, "get_config_var", lambda name: None)
    assert interpreter.free_threaded_build() is False


@pytest.mark.parametrize("free_threaded, enabled, label", [
    (False, True, "CPython 3.X.Y, GIL enabled"),
    (True, False, "CPython 3.X.Y free-threaded, GIL disabled"),
    (True, True, "CPython 3.X.Y free-threaded, GIL enabled"),  # PYTHON_GIL=1, or an extension that needs it
])
def test_build_label_names_the_build_and_the_gil(monkeypatch: pytest.MonkeyPatch, free_threaded: bool,
                                                 enabled: bool, label: str) -> None:
    monkeypatch.setattr(interpreter, "free_threaded_build", lambda: free_threaded)
    monkeypatch.setattr(interpreter, "gil_enabled", lambda: enabled)
    version = ".".join(str(part) for part in sys.version_info[:3])
    assert interpreter.build_label() == label.replace("3.X.Y", version)
