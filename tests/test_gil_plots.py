"""coursetools.gil.plots: every figure has titles and labelled axes."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
from gil_runs import fake_results, fake_run  # noqa: E402

from coursetools.gil import plots  # noqa: E402


def fake_timeline_run(mode: str, workers: int) -> dict:
    run = fake_run("cpu", mode, workers, 0.3)
    run["build"] = "CPython 3.14.0 free-threaded, GIL disabled"
    run["samples"] = [[0.1, [100.0, 5.0]], [0.2, [50.0, 50.0]], [0.3, [100.0, 100.0]]]
    return run


def labelled(axes) -> bool:
    return all(ax.get_title() and ax.get_xlabel() for ax in axes)


def test_plots_have_titles_and_labels() -> None:
    runs = [fake_timeline_run("serial", 1), fake_timeline_run("threads", 2), fake_timeline_run("processes", 2)]
    figures = [
        plots.plot_timelines(runs),
        plots.plot_speedup(fake_results(2, 1.9, 1.0, 1.9, 1.8)["runs"], cores=2),
        plots.plot_total_cpu(fake_results(2, 1.9, 1.0, 1.9, 1.8)["runs"], cores=2),
    ]
    try:
        assert len(figures[0].axes) == 3 and len(figures[1].axes) == 3
        for figure in figures:
            assert labelled(figure.axes)
            assert figure.axes[0].get_ylabel()
        assert "%" in figures[0].axes[0].get_ylabel() and "(s)" in figures[0].axes[0].get_xlabel()
        assert figures[0].axes[1].get_title().startswith("2 threads")
        assert figures[0].get_suptitle().endswith("\nCPython 3.14.0 free-threaded, GIL disabled")
    finally:
        for figure in figures:
            plt.close(figure)


def test_speedup_plot_says_which_clock() -> None:
    runs = fake_results(2, 1.9, 1.0, 1.9, 1.8)["runs"]
    figures = [plots.plot_speedup(runs, cores=2), plots.plot_speedup(runs, cores=2, clock="work_s")]
    try:
        assert "wall time" in figures[0].axes[0].get_ylabel()
        assert "start-up left out" in figures[1].axes[0].get_ylabel()
    finally:
        for figure in figures:
            plt.close(figure)
