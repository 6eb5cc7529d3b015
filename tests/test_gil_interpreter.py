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
