"""`make outputs` executes lessons only on a quiet machine (coursetools/quiet.py, notebooks.refresh_outputs)."""
from __future__ import annotations

import os
import subprocess
import sys

import nbformat
import pytest

from coursetools import COURSE_ROOT, notebooks, quiet


def test_check_refuses_a_high_load_average_with_the_figures():
    machine = quiet.check(load=lambda: 40.0, busy=lambda seconds: 3.0)
    assert not machine.quiet
    assert len(machine.reasons) == 1 and "1-minute load average is 40.0" in machine.reasons[0]
    assert "busy (" in machine.summary()


def test_check_refuses_busy_cores_in_the_sample():
    machine = quiet.check(load=lambda: 0.0, busy=lambda seconds: 90.0, sample_seconds=0.25)
    assert not machine.quiet
    assert machine.reasons == ["the cores were 90 % busy during a 0.25 s sample (limit 25 %)"]


def test_check_passes_a_quiet_machine_and_one_without_load_average():
    assert quiet.check(load=lambda: 0.0, busy=lambda seconds: 1.0).quiet
    machine = quiet.check(load=lambda: None, busy=lambda seconds: 1.0)
    assert machine.quiet and machine.load_per_core is None
    assert machine.summary().endswith(": quiet")


def test_check_limits_are_per_core():
    cores = quiet.check(load=lambda: 0.0, busy=lambda s: 0.0).cores
    assert quiet.check(load=lambda: 0.4 * cores, busy=lambda s: 0.0).quiet
    assert not quiet.check(load=lambda: 0.6 * cores, busy=lambda s: 0.0).quiet


def test_busy_percent_samples_the_machine():
    assert 0.0 <= quiet.busy_percent(0.1) <= 100.0


def faked(load: float, busy: float):
    """quiet.check with the probes replaced: the refusal path without a busy machine."""
    def check(**limits):
        return quiet.check(load=lambda: load, busy=lambda seconds: busy, **limits)
    return check


def lesson_copy(tmp_path):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print('ran', 6 * 7)")])
    path = tmp_path / "01_tiny.ipynb"
    nbformat.write(nb, path)
    return path


def test_refresh_refuses_on_a_busy_machine_and_leaves_the_lesson_alone(tmp_path, capsys, monkeypatch):
    path = lesson_copy(tmp_path)
    before = path.read_bytes()
    monkeypatch.setattr(notebooks, "execute", lambda *a, **k: pytest.fail("executed on a busy machine"))
    status = notebooks.refresh_outputs([path, path], 0.5, 25.0, busy_ok=False, check=faked(load=99.0, busy=5.0))
    printed = capsys.readouterr().out
    assert status == notebooks.REFUSED
    assert "refused: the machine is busy" in printed and "1-minute load average is 99.0" in printed
    assert path.read_bytes() == before


@pytest.mark.slow
def test_refresh_executes_on_a_quiet_machine_and_with_busy_ok(tmp_path, capsys):
    path = lesson_copy(tmp_path)
    assert notebooks.refresh_outputs([path], 0.5, 25.0, busy_ok=False, check=faked(load=0.0, busy=0.0)) == 0
    outputs = nbformat.read(path, as_version=4).cells[0].outputs
    assert outputs and outputs[0]["text"] == "ran 42\n"
    path.write_text(path.read_text().replace("6 * 7", "6 * 8"))
    assert notebooks.refresh_outputs([path], 0.5, 25.0, busy_ok=True, check=faked(load=99.0, busy=99.0)) == 0
    assert nbformat.read(path, as_version=4).cells[0].outputs[0]["text"] == "ran 48\n"
    assert "executing anyway (--busy-ok)" in capsys.readouterr().out


@pytest.mark.slow
def test_refresh_does_not_save_a_lesson_that_raised(tmp_path):
    path = lesson_copy(tmp_path)
    path.write_text(path.read_text().replace("print('ran', 6 * 7)", "1 / 0"))
    before = path.read_bytes()
    assert notebooks.refresh_outputs([path], 0.5, 25.0, busy_ok=True, check=faked(load=0.0, busy=0.0)) == 1
    assert path.read_bytes() == before


def test_command_line_refuses_with_the_reason(tmp_path):
    """The command itself, with limits no machine meets: refuses, names the reason, exit status 3."""
    path = lesson_copy(tmp_path)
    before = path.read_bytes()
    done = subprocess.run([sys.executable, "-m", "coursetools.notebooks", "outputs", "--max-busy", "-1",
                           str(path)], cwd=COURSE_ROOT, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(COURSE_ROOT)})
    assert done.returncode == notebooks.REFUSED, done.stdout + done.stderr
    assert "refused: the machine is busy" in done.stdout and "limit -1 %" in done.stdout
    assert path.read_bytes() == before
