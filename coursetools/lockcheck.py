"""Which Pythons and platforms the lock (``requirements.txt``) supports, and the check that proves it.

``python -m coursetools.lockcheck --interpreter`` says whether the running Python is one the lock
supports (the Makefile asks each candidate Python before it makes ``.venv``); it needs only the
standard library, so that any Python 3 can be asked and refused in one line.

``python -m coursetools.lockcheck --uv PATH`` (``make check-lock``) asks the package index, for
every pair of a supported Python and platform, whether the lock installs there from wheels only
(a dry run: nothing is installed).  It prints a table when every pair passes, and otherwise names
each package without a wheel and the pair, and exits 1.  It needs ``packaging`` and the network.
"""
from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import sysconfig
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from coursetools import COURSE_ROOT

LOCK = COURSE_ROOT / "requirements.txt"
# The oldest macOS the lock is checked for (uv's default would move with uv's version).
MACOS_MINIMUM = "13.0"
EXIT_UNSUPPORTED = 3  # --interpreter: this Python is refused (the reason is printed)


@dataclass(frozen=True)
class PythonTarget:
    """A CPython the lock is checked for: ``version`` as uv's ``--python-version`` spells it."""

    version: str
    free_threaded: bool = False

    @property
    def release(self) -> tuple[int, int, int]:
        major, minor, patch = (self.version.split(".") + ["0"])[:3]
        return int(major), int(minor), int(patch)

    @property
    def label(self) -> str:
        return self.version + ("t" if self.free_threaded else "")


@dataclass(frozen=True)
class Platform:
    """An operating system and processor the lock is checked for."""

    label: str
    uv_triple: str  # uv's --python-platform
    pip_platforms: tuple[str, ...]  # pip's --platform values (the free-threaded check)
    sys_platform: str
    platform_machine: str
    os_name: str
    platform_system: str


# 3.11.0 is the oldest patch release supported, 3.11.4 the last one before soupsieve 4.1's
# Python >= 3.11.5, where the lock switches soupsieve (tests check that every python_full_version
# split in the lock falls between two of these).  A minor release without a patch number is its .0.
PYTHONS: tuple[PythonTarget, ...] = (
    PythonTarget("3.11.0"),
    PythonTarget("3.11.4"),
    PythonTarget("3.11.5"),
    PythonTarget("3.12"),
    PythonTarget("3.13"),
    PythonTarget("3.14"),
    PythonTarget("3.14", free_threaded=True),
    PythonTarget("3.15"),
)


# Pairs (Python label, platform label) for which upstream ships no wheel of any version that
# fits: README.md ("Supported Pythons?") names them.  check-lock fails when these change.
KNOWN_GAPS: dict[tuple[str, str], frozenset[str]] = {
    # numpy ships no free-threaded macOS x86_64 wheels since 2.4 (and no marker tells a
    # free-threaded build, so an older numpy there would be older for 3.14 too).
    ("3.14t", "macOS x86_64"): frozenset({"numpy"}),
}


def _manylinux(machine: str) -> tuple[str, ...]:
    """pip's --platform values for glibc >= 2.28 (pip does not expand manylinux_2_28 itself)."""
    return tuple(f"manylinux_2_{minor}_{machine}" for minor in range(28, 16, -1)) + (f"manylinux2014_{machine}",)


_MACOS_TAG = MACOS_MINIMUM.replace(".", "_")
PLATFORMS: tuple[Platform, ...] = (
    Platform("Linux x86_64", "x86_64-manylinux_2_28", _manylinux("x86_64"), "linux", "x86_64", "posix", "Linux"),
    Platform("Linux aarch64", "aarch64-manylinux_2_28", _manylinux("aarch64"), "linux", "aarch64", "posix", "Linux"),
    Platform("macOS arm64", "aarch64-apple-darwin", (f"macosx_{_MACOS_TAG}_arm64",), "darwin", "arm64", "posix",
             "Darwin"),
    Platform("macOS x86_64", "x86_64-apple-darwin", (f"macosx_{_MACOS_TAG}_x86_64",), "darwin", "x86_64", "posix",
             "Darwin"),
    Platform("Windows amd64", "x86_64-pc-windows-msvc", ("win_amd64",), "win32", "AMD64", "nt", "Windows"),
)


def unsupported_reason(release: Sequence[int], implementation: str, free_threaded: bool,
                       platform_label: str | None = None) -> str | None:
    """Why the lock does not support this Python (on this platform, when given), or None.

    Supported: CPython from the oldest checked release to the newest checked minor version (any
    patch), free-threaded only in the minor versions checked free-threaded, except the pairs
    of ``KNOWN_GAPS``."""
    version = ".".join(str(number) for number in release[:3]) + ("t" if free_threaded else "")
    oldest = min(target.release for target in PYTHONS)
    newest_minor = max(target.release[:2] for target in PYTHONS)
    free_threaded_minors = sorted({target.release[:2] for target in PYTHONS if target.free_threaded})
    if implementation != "cpython":
        return f"{implementation} {version} is not CPython"
    if tuple(release[:3]) < oldest:
        return f"CPython {version} is older than {'.'.join(map(str, oldest))}"
    if tuple(release[:2]) > newest_minor:
        return f"CPython {version} is newer than {newest_minor[0]}.{newest_minor[1]}"
    if free_threaded and tuple(release[:2]) not in free_threaded_minors:
        spelled = ", ".join(f"{major}.{minor}t" for major, minor in free_threaded_minors)
        return f"CPython {version} is free-threaded, and of those only {spelled} is supported"
    for target in PYTHONS:
        gap = KNOWN_GAPS.get((target.label, platform_label or ""))
        if gap and target.release[:2] == tuple(release[:2]) and target.free_threaded == free_threaded:
            return f"CPython {version} on {platform_label} has no wheel of {', '.join(sorted(gap))}"
    return None


def running_platform() -> str | None:
    """The label in ``PLATFORMS`` of the machine this runs on, or None when it is none of them."""
    import platform

    machine = platform.machine().lower()
    return next((candidate.label for candidate in PLATFORMS if candidate.sys_platform == sys.platform
                 and candidate.platform_machine.lower() == machine), None)


def supported_summary() -> str:
    """The supported Pythons in one phrase, for messages."""
    oldest = min(target.release for target in PYTHONS)
    newest_minor = max(target.release[:2] for target in PYTHONS)
    threaded = ", ".join(target.label for target in PYTHONS if target.free_threaded)
    return f"CPython {oldest[0]}.{oldest[1]} to {newest_minor[0]}.{newest_minor[1]} (or free-threaded {threaded})"


def check_interpreter() -> int:
    """--interpreter: print which Python this is and exit 0, or why it is refused."""
    gil_disabled = bool(sysconfig.get_config_var("Py_GIL_DISABLED"))
    reason = unsupported_reason(sys.version_info[:3], sys.implementation.name, gil_disabled, running_platform())
    if reason:
        print(f"{sys.executable}: {reason}; the lock supports {supported_summary()}: install one "
              f"(python.org, your package manager or pyenv), or pass PYTHON=/path/to/it")
        return EXIT_UNSUPPORTED
    print(f"Python: {sys.executable} (CPython {'.'.join(map(str, sys.version_info[:3]))}"
          f"{', free-threaded' if gil_disabled else ''}, which the lock supports)")
    return 0


# ---- make check-lock -------------------------------------------------------------------------

@dataclass(frozen=True)
class Pin:
    """One line of the lock: ``name==version``, for the environments its marker selects."""

    name: str
    version: str
    marker: str  # "" when every environment installs it
    line: str


def requirement_lines(text: str) -> list[str]:
    """The requirements of a requirements file, without comments and blank lines."""
    return [line.split("#")[0].strip() for line in text.splitlines() if line.split("#")[0].strip()]


def lock_pins(text: str) -> list[Pin]:
    """The pins of a lock file."""
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    pins = []
    for line in requirement_lines(text):
        requirement = Requirement(line)
        (spec,) = requirement.specifier
        pins.append(Pin(canonicalize_name(requirement.name), spec.version,
                        str(requirement.marker) if requirement.marker else "", line))
    return pins


def marker_environment(python: PythonTarget, platform: Platform) -> dict[str, str]:
    """The PEP 508 marker values of ``python`` on ``platform``."""
    full_version = ".".join(map(str, python.release))
    return {
        "implementation_name": "cpython", "implementation_version": full_version,
        "platform_python_implementation": "CPython", "python_full_version": full_version,
        "python_version": "%d.%d" % python.release[:2], "sys_platform": platform.sys_platform,
        "platform_machine": platform.platform_machine, "os_name": platform.os_name,
        "platform_system": platform.platform_system, "platform_release": "", "platform_version": "",
    }


def pins_for(pins: Iterable[Pin], python: PythonTarget, platform: Platform) -> list[Pin]:
    """The pins that ``python`` on ``platform`` installs (their markers hold there)."""
    from packaging.markers import Marker

    environment = marker_environment(python, platform)
    return [pin for pin in pins if not pin.marker or Marker(pin.marker).evaluate(environment)]


def _tool_environment() -> dict[str, str]:
    """This process's environment without pip's and uv's settings: the index decides, not a
    machine's local mirrors, caps or find-links folders."""
    environment = {key: value for key, value in os.environ.items() if not key.startswith(("PIP_", "UV_"))}
    environment.update(PIP_CONFIG_FILE=os.devnull, UV_NO_CONFIG="1", MACOSX_DEPLOYMENT_TARGET=MACOS_MINIMUM)
    return environment


def uv_install_command(uv: str, requirements: Path, target: Path, python: PythonTarget, platform: Platform,
                       *, no_deps: bool) -> list[str]:
    """A dry-run install of ``requirements`` for the pair, from wheels only."""
    return [uv, "pip", "install", "--dry-run", "--only-binary", ":all:", "--target", str(target),
            "--python-version", python.version, "--python-platform", platform.uv_triple,
            *(["--no-deps"] if no_deps else []), "-r", str(requirements)]


def pip_install_command(requirements: Path, target: Path, python: PythonTarget, platform: Platform) -> list[str]:
    """A dry-run install of ``requirements`` (no dependencies) for the pair, from wheels only, by pip.

    uv takes the ABI from a real interpreter (a free-threaded target needs a free-threaded
    Python on this machine); pip is told it with --abi."""
    major, minor = python.release[:2]
    abi = f"cp{major}{minor}{'t' if python.free_threaded else ''}"
    platforms = [option for tag in platform.pip_platforms for option in ("--platform", tag)]
    return [sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--no-deps",
            "--only-binary", ":all:", "--quiet", "--target", str(target), "--python-version", f"{major}.{minor}",
            "--implementation", "cp", "--abi", abi, *platforms, "-r", str(requirements)]


_UV_MISSING = re.compile(r"you require ([A-Za-z0-9._-]+)==")
_PIP_MISSING = re.compile(r"satisfies the requirement ([A-Za-z0-9._-]+)==")


def missing_package(output: str) -> str | None:
    """The package a failed uv or pip dry run could not install, from its message, or None."""
    from packaging.utils import canonicalize_name

    found = _UV_MISSING.search(output) or _PIP_MISSING.search(output)
    return canonicalize_name(found.group(1)) if found else None


@dataclass(frozen=True)
class PairResult:
    """What the check found for one (Python, platform) pair."""

    python: PythonTarget
    platform: Platform
    missing: tuple[Pin, ...] = ()
    error: str = ""  # a failure that is not a missing wheel (a conflict, no network ...)

    @property
    def known_gap(self) -> frozenset[str]:
        return KNOWN_GAPS.get((self.python.label, self.platform.label), frozenset())

    @property
    def ok(self) -> bool:
        """No error, and exactly the known gap (a gap that closed is a README to update)."""
        return not self.error and {pin.name for pin in self.missing} == self.known_gap


def _run(command: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run(command, capture_output=True, text=True, env=_tool_environment(), timeout=900)


def check_pair(uv: str, pins: Sequence[Pin], python: PythonTarget, platform: Platform, workdir: Path) -> PairResult:
    """Whether the pair installs the lock from wheels; when not, every package without a wheel.

    A GIL build is one uv resolution of the whole lock (its dependencies included).  uv stops at
    the first package it cannot install, so after a failure each such package is dropped and
    the rest asked again without dependencies, until the rest installs.  A free-threaded build
    has the same markers, and so the same resolution, as its GIL build: only its wheels are asked
    for, by pip."""
    wanted = pins_for(pins, python, platform)
    requirements, target = workdir / "requirements.txt", workdir / "target"
    requirements.write_text("".join(pin.line + "\n" for pin in wanted))
    if not python.free_threaded:
        resolved = _run(uv_install_command(uv, requirements, target, python, platform, no_deps=False))
        if resolved.returncode == 0:
            return PairResult(python, platform)
    missing: list[Pin] = []
    remaining = list(wanted)
    while True:
        requirements.write_text("".join(pin.line + "\n" for pin in remaining))
        command = (pip_install_command(requirements, target, python, platform) if python.free_threaded
                   else uv_install_command(uv, requirements, target, python, platform, no_deps=True))
        attempt = _run(command)
        if attempt.returncode == 0:
            break
        name = missing_package(attempt.stdout + attempt.stderr)
        if name is None or not any(pin.name == name for pin in remaining):
            error = (attempt.stderr or attempt.stdout).strip().splitlines()
            return PairResult(python, platform, tuple(missing), " / ".join(error[-3:]))
        missing += [pin for pin in remaining if pin.name == name]
        remaining = [pin for pin in remaining if pin.name != name]
    if not missing and not python.free_threaded:
        error = (resolved.stderr or resolved.stdout).strip().splitlines()
        return PairResult(python, platform, (), " / ".join(error[-3:]))
    return PairResult(python, platform, tuple(missing))


def _mark(result: PairResult | None) -> str:
    if result is None:
        return "not checked"
    if result.error:
        return "error"
    if result.missing or result.known_gap:
        names = ", ".join(sorted({pin.name for pin in result.missing}))
        return ("known gap, no wheel: " if result.ok else "no wheel: ") + (names or "(none now)")
    return "ok"


def table(results: Sequence[PairResult]) -> str:
    """A Markdown table: one row per Python, one column per platform."""
    cell = {(result.python, result.platform): result for result in results}
    lines = ["| Python | " + " | ".join(platform.label for platform in PLATFORMS) + " |",
             "|---" * (len(PLATFORMS) + 1) + "|"]
    for python in PYTHONS:
        marks = [_mark(cell.get((python, platform))) for platform in PLATFORMS]
        lines.append(f"| {python.label} | " + " | ".join(marks) + " |")
    return "\n".join(lines)


def check_lock(uv: str, lock: Path = LOCK) -> int:
    """Check every pair; print the failures, then the table.  Exit status 1 on any failure."""
    from concurrent.futures import ThreadPoolExecutor

    pins = lock_pins(lock.read_text())
    pairs = [(python, platform) for python in PYTHONS for platform in PLATFORMS]

    def check(pair: tuple[PythonTarget, Platform]) -> PairResult:
        with tempfile.TemporaryDirectory(prefix="check-lock-") as workdir:
            return check_pair(uv, pins, *pair, Path(workdir))

    # Waiting on the index is most of the time (pip downloads whole wheels): a few pairs at once.
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(check, pairs))
    for result in results:
        pair = f"CPython {result.python.label} on {result.platform.label}"
        for pin in result.missing:
            known = " (known, README.md names it)" if pin.name in result.known_gap else ""
            print(f"check-lock: {pin.name}=={pin.version} has no installable wheel for {pair}{known}")
        closed = set() if result.error else result.known_gap - {pin.name for pin in result.missing}
        for name in sorted(closed):
            print(f"check-lock: {name} now installs on {pair}: remove it from KNOWN_GAPS "
                  f"(coursetools/lockcheck.py) and README.md")
        if result.error:
            print(f"check-lock: {pair} does not resolve: {result.error}")
    failed = [result for result in results if not result.ok]
    print(table(results))
    if failed:
        print(f"check-lock: {len(failed)} of {len(results)} pairs fail (see above)")
        return 1
    gaps = sum(1 for result in results if result.known_gap)
    print(f"check-lock: {lock.name} installs from wheels on {len(results) - gaps} of {len(results)} pairs"
          f"{f', and {gaps} known gap(s) are as README.md says' if gaps else ''}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m coursetools.lockcheck", description=__doc__.split("\n\n")[0])
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--interpreter", action="store_true", help="is the running Python one the lock supports?")
    mode.add_argument("--uv", metavar="PATH", help="check the lock for every pair with this uv")
    arguments = parser.parse_args(argv)
    return check_interpreter() if arguments.interpreter else check_lock(arguments.uv)


if __name__ == "__main__":
    sys.exit(main())
