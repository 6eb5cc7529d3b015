"""coursetools.gil.lab (`make gil-lab`): the whole experiment, tiny, into a temporary folder."""
from __future__ import annotations

import json

import psutil
import pytest
from gil_runs import RUN_KEYS

from coursetools.gil import interpreter, lab
from coursetools.gil.analysis import median_table
from coursetools.gil.measurement import worker_counts


def test_lab_on_one_core_measures_but_skips(monkeypatch: pytest.MonkeyPatch, tmp_path, capsys,
                                           no_child_left_running: None) -> None:
    monkeypatch.setattr(interpreter, "cpu_count", lambda: 1)
    status = lab.main(["--quick", "--seconds", "0.03", "--workloads", "cpu", "--out", str(tmp_path)])
    output = capsys.readouterr().out
    assert status == 0
    assert "Only 1 core" in output and "[skip]" in output and "[ok" not in output and "MISS" not in output
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["cpu_count"] == 1 and isinstance(results["gil_enabled"], bool) and isinstance(results["python"], str)
    assert len(results["background_per_core_percent"]) == psutil.cpu_count()
    assert {(r["mode"], r["workers"]) for r in results["runs"]} == {
        ("serial", 1), ("threads", 1), ("threads", 2), ("processes", 1), ("processes", 2)
    }
    for run in results["runs"]:
        for key, kind in RUN_KEYS.items():
            assert isinstance(run[key], kind), key
    assert output.count("] cpu ") == len(results["runs"])  # one progress line per run
    for name in ("timeline_cpu.png", "speedup.png", "total_cpu.png"):
        assert (tmp_path / name).read_bytes().startswith(b"\x89PNG"), name


def test_lab_repeats_every_run(tmp_path, capsys) -> None:
    lab.main(["--repeats", "2", "--seconds", "0.02", "--workloads", "io", "--out", str(tmp_path)])
    results = json.loads((tmp_path / "results.json").read_text())
    counts = [r["workers"] for r in results["runs"] if r["mode"] == "threads"]
    assert sorted(set(counts)) == worker_counts(interpreter.cpu_count())
    groups = median_table(results["runs"])
    assert all(row["runs"] == 2 for row in groups.values())
    summary = capsys.readouterr().out
    assert "wall (median)" in summary and "speedup" in summary


@pytest.mark.parametrize("gil_enabled", [True, False])
def test_lab_labels_its_results_and_predicts_for_the_build(monkeypatch: pytest.MonkeyPatch, tmp_path, capsys,
                                                          gil_enabled: bool, no_child_left_running: None) -> None:
    """On a (faked) free-threaded build with the GIL off, CPU-bound threads are predicted to scale."""
    monkeypatch.setattr(interpreter, "cpu_count", lambda: 2)
    monkeypatch.setattr(interpreter, "free_threaded_build", lambda: not gil_enabled)
    monkeypatch.setattr(interpreter, "gil_enabled", lambda: gil_enabled)
    lab.main(["--quick", "--seconds", "0.03", "--workloads", "cpu", "--out", str(tmp_path)])
    output = capsys.readouterr().out
    results = json.loads((tmp_path / "results.json").read_text())
    build = "free-threaded, GIL disabled" if not gil_enabled else "GIL enabled"
    assert results["build"].endswith(build) and results["gil_enabled"] is gil_enabled
    assert all(run["build"] == results["build"] for run in results["runs"])
    assert output.splitlines()[0].startswith(results["build"])
    threads_claim = ("without the GIL, CPU-bound threads scale" if not gil_enabled
                     else "with the GIL, CPU-bound threads take turns")
    assert output.count(threads_claim) == 2  # predicted, then checked
