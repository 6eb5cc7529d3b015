"""The locked environment: requirements.txt satisfies requirements.in on every supported Python and
platform, is what is installed, and supports exactly the Pythons the Makefile accepts."""
from __future__ import annotations

import re
import sys
import sysconfig
from importlib import metadata

import pytest
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from coursetools import COURSE_ROOT, lockcheck

PAIRS = [(python, platform) for python in lockcheck.PYTHONS for platform in lockcheck.PLATFORMS]


def requirement_lines(name: str) -> list[str]:
    return lockcheck.requirement_lines((COURSE_ROOT / name).read_text())


def locked_pins() -> list[lockcheck.Pin]:
    for line in requirement_lines("requirements.txt"):
        (spec,) = Requirement(line).specifier  # exactly one specifier per line...
        assert spec.operator == "==", f"requirements.txt must pin with ==, found {line!r}"
    return lockcheck.lock_pins((COURSE_ROOT / "requirements.txt").read_text())


@pytest.mark.parametrize(("python", "platform"), PAIRS, ids=[f"{py.label}-{pl.label}" for py, pl in PAIRS])
def test_lock_pins_every_direct_dependency_within_its_range(python, platform):
    """On each supported pair, every package of requirements.in that applies there is pinned exactly
    once in requirements.txt, inside the range it asks for."""
    pins: dict[str, list[str]] = {}
    for pin in lockcheck.pins_for(locked_pins(), python, platform):
        pins.setdefault(pin.name, []).append(pin.version)
    pair = f"CPython {python.label} on {platform.label}"
    twice = {name: versions for name, versions in pins.items() if len(versions) > 1}
    assert not twice, f"requirements.txt pins these more than once for {pair}: {twice}"
    environment = lockcheck.marker_environment(python, platform)
    for line in requirement_lines("requirements.in"):
        wanted = Requirement(line)
        if wanted.marker and not wanted.marker.evaluate(environment):
            continue
        name = canonicalize_name(wanted.name)
        assert name in pins, f"{wanted.name} is in requirements.in but not locked for {pair}: run `make lock`"
        (version,) = pins[name]
        assert wanted.specifier.contains(version, prereleases=True), (
            f"{wanted.name}=={version} in requirements.txt does not satisfy {line!r}: run `make lock`")


def test_installed_environment_matches_the_lock():
    """What is installed is exactly what requirements.txt pins for this Python and platform (no
    stale environment)."""
    mismatched = []
    for pin in locked_pins():
        if pin.marker and not Marker(pin.marker).evaluate():
            continue
        try:
            installed = metadata.version(pin.name)
        except metadata.PackageNotFoundError:
            mismatched.append(f"{pin.name} not installed")
            continue
        if installed != pin.version:
            mismatched.append(f"{pin.name} {installed} installed, {pin.version} locked")
    assert not mismatched, "environment out of date (run `make env`): " + "; ".join(mismatched)


def test_python_version_is_supported():
    """The running Python is one the lock supports (what `make check-lock` proves, and the only
    kind the Makefile makes .venv with)."""
    free_threaded = bool(sysconfig.get_config_var("Py_GIL_DISABLED"))
    reason = lockcheck.unsupported_reason(sys.version_info[:3], sys.implementation.name, free_threaded,
                                          lockcheck.running_platform())
    assert reason is None, f"unsupported Python {sys.version.split()[0]}: {reason}"


@pytest.mark.parametrize(("release", "implementation", "free_threaded", "platform", "supported"), [
    ((3, 11, 0), "cpython", False, "Linux x86_64", True),
    ((3, 11, 2), "cpython", False, "Linux aarch64", True),  # Debian 12
    ((3, 11, 4), "cpython", False, "Windows amd64", True),
    ((3, 12, 9), "cpython", False, "macOS arm64", True),
    ((3, 13, 0), "cpython", False, "macOS x86_64", True),
    ((3, 14, 2), "cpython", False, "macOS x86_64", True),
    ((3, 14, 0), "cpython", True, "Linux x86_64", True),
    ((3, 15, 1), "cpython", False, None, True),
    ((3, 10, 13), "cpython", False, "Linux x86_64", False),
    ((3, 16, 0), "cpython", False, "Linux x86_64", False),
    ((3, 13, 0), "cpython", True, "Linux x86_64", False),
    ((3, 15, 0), "cpython", True, "Linux x86_64", False),
    ((3, 14, 0), "cpython", True, "macOS x86_64", False),  # KNOWN_GAPS: numpy
    ((3, 11, 9), "pypy", False, "Linux x86_64", False),
])
def test_supported_pythons_are_exactly_the_checked_ones(release, implementation, free_threaded, platform, supported):
    """CPython from 3.11.0 through any 3.15, and 3.14t, except where a known gap says otherwise."""
    reason = lockcheck.unsupported_reason(release, implementation, free_threaded, platform)
    assert (reason is None) is supported, reason


def test_every_python_split_of_the_lock_is_checked_on_both_sides():
    """Where the lock's pins change with the Python version, `make check-lock` checks a version on
    each side (a patch-level split, such as soupsieve's at 3.11.5, with one of the same minor below)."""
    checked = sorted({python.release for python in lockcheck.PYTHONS})
    text = (COURSE_ROOT / "requirements.txt").read_text()
    splits = {tuple(int(n) for n in (found + ".0.0").split(".")[:3])
              for found in re.findall(r"python(?:_full)?_version\s*[<>=!]=?\s*'([\d.]+)'", text)}
    assert splits, "the lock has no Python split: keep this test honest by checking the regex"
    for split in sorted(splits):
        below = [release for release in checked if release < split]
        assert below and any(release >= split for release in checked), f"no checked Python on each side of {split}"
        if split[2]:
            assert below[-1][:2] == split[:2], f"no checked {split[0]}.{split[1]} below {split}"


def test_check_lock_names_the_package_uv_or_pip_cannot_install():
    """`make check-lock` finds the missing package in uv's and pip's own messages."""
    uv = ("error: No solution found when resolving dependencies\n  cause: Because numpy==2.4.6 has no usable "
          "wheels and you require numpy==2.4.6, we can conclude that your requirements are unsatisfiable.")
    uv_python = ("cause: Because the requested Python version (>=3.11) does not satisfy Python>=3.11.5 and "
                 "soupsieve==4.1.3 depends on Python>=3.11.5, we can conclude that soupsieve==4.1.3 cannot be used."
                 "\n         And because only soupsieve<=4.1.3 is available and you require soupsieve==4.1.3, we "
                 "can conclude that your requirements are unsatisfiable.")
    pip = ("ERROR: Could not find a version that satisfies the requirement Argon2_CFFI-bindings==26.2.0 "
           "(from versions: 25.1.0)\nERROR: No matching distribution found for argon2-cffi-bindings==26.2.0")
    assert lockcheck.missing_package(uv) == "numpy"
    assert lockcheck.missing_package(uv_python) == "soupsieve"
    assert lockcheck.missing_package(pip) == "argon2-cffi-bindings"
    assert lockcheck.missing_package("error: Failed to fetch: https://pypi.org/simple/numpy/") is None


def test_makefile_names_the_supported_pythons():
    """The Makefile's hint, printed when no Python can ask lockcheck, names the same range."""
    makefile = (COURSE_ROOT / "Makefile").read_text()
    assert "install " + lockcheck.supported_summary().split(" (")[0] + " " in makefile


def test_jupyterlab_has_the_nbgrader_extensions():
    """`make lab` shows Assignment List, Validate, Formgrader and Create Assignment."""
    import subprocess
    from pathlib import Path

    jupyter = str(Path(sys.executable).parent / "jupyter")
    lab = subprocess.run([jupyter, "labextension", "list"], capture_output=True, text=True, timeout=120)
    listing = lab.stdout + lab.stderr
    assert "@jupyter/nbgrader" in listing and "enabled" in listing.split("@jupyter/nbgrader")[1].splitlines()[0], (
        "the nbgrader JupyterLab extension is not enabled")
    server = subprocess.run([jupyter, "server", "extension", "list"], capture_output=True, text=True, timeout=120)
    listing = server.stdout + server.stderr
    for name in ("formgrader", "assignment_list", "validate_assignment", "course_list"):
        line = next((entry for entry in listing.splitlines() if f"nbgrader.server_extensions.{name} " in entry + " "), "")
        assert "enabled" in line, f"server extension nbgrader.server_extensions.{name} is not enabled"
