"""Drive JupyterLab in the system's headless Chromium with Playwright: the browser tests' helpers.

:func:`missing` says in one line why the browser tests cannot run here (they
skip with that reason); :func:`chromium` launches the browser with the flags
that keep it off the network; :class:`LabServer` runs a JupyterLab of the
course environment on 127.0.0.1 in a folder, as a student would; the page
helpers click what a student clicks and wait for what a student waits for.
Every step leaves a screenshot in ``build/ui/`` (git-ignored).
"""
from __future__ import annotations

import contextlib
import importlib.util
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Self

import psutil

from coursetools import COURSE_ROOT

CHROMIUM = Path("/usr/bin/chromium")
"""Debian's Chromium (``apt-get install chromium``; ``.ci/run`` installs it)."""
CHROMIUM_ARGS = [
    "--no-sandbox",  # Chromium's own sandbox cannot start as root
    "--disable-gpu",
    "--disable-background-networking",  # no update, sync or safe-browsing requests: the network is closed
    "--disable-component-update",
    "--no-first-run",
]
SCREENSHOTS = COURSE_ROOT / "build" / "ui"
STARTUP_SECONDS = 90
"""How long a JupyterLab server may take to answer (a loaded two-core machine)."""


def missing() -> str | None:
    """Why the browser tests cannot run here, in one line, or None."""
    if importlib.util.find_spec("playwright") is None:
        return "Playwright is not installed (it is in requirements.txt: run make env)"
    if not os.access(CHROMIUM, os.X_OK):
        return f"no Chromium at {CHROMIUM} (apt-get install chromium; .ci/run does)"
    return None


@contextlib.contextmanager
def chromium() -> Iterator:
    """A headless Chromium (Playwright's ``Browser``), closed on exit."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_http(url: str, seconds: float, proc: subprocess.Popen | None = None) -> None:
    """Until ``url`` answers (any HTTP status), or fail after ``seconds`` or when ``proc`` ends."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            urllib.request.urlopen(url, timeout=5).close()
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            pass
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{proc.args[:3]} exited with status {proc.returncode} before {url} answered")
        if time.monotonic() > deadline:
            raise TimeoutError(f"{url} did not answer within {seconds:g} s")
        time.sleep(0.25)


def stop_process_group(proc: subprocess.Popen, grace: float = 10) -> None:
    """SIGTERM to the session ``proc`` leads, then SIGKILL to whatever of it is left after ``grace`` s."""
    members = [proc.pid]
    with contextlib.suppress(psutil.Error):
        members += [child.pid for child in psutil.Process(proc.pid).children(recursive=True)]
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        pass
    for pid in members:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
    proc.wait(grace)


class LabServer:
    """``jupyter lab`` of this environment serving ``folder`` on 127.0.0.1, with a fresh home (no user
    settings: what it shows comes from the environment ``make`` built) and a random token."""

    def __init__(self, folder: Path, home: Path) -> None:
        self.folder, self.home = Path(folder), Path(home)
        self.port = free_port()
        self.token = secrets.token_hex(16)
        self.proc: subprocess.Popen | None = None
        self.log = self.home / "jupyter-lab.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def lab_url(self, path: str = "") -> str:
        """The JupyterLab page that opens ``path`` (relative to the folder), logged in by the token."""
        return f"{self.url}/lab/tree/{path}?reset&token={self.token}"  # reset: only this notebook open

    def __enter__(self) -> Self:
        self.home.mkdir(parents=True, exist_ok=True)
        env = {key: value for key, value in os.environ.items() if not key.startswith("JUPYTER")}
        env.update(HOME=str(self.home), PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}")
        args = [sys.executable, "-m", "jupyterlab", "--no-browser", f"--port={self.port}", "--ServerApp.port_retries=0",
                "--ServerApp.ip=127.0.0.1", f"--IdentityProvider.token={self.token}",
                f"--ServerApp.root_dir={self.folder}"]
        if os.geteuid() == 0:
            args.append("--allow-root")
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(args, cwd=self.folder, env=env, stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=subprocess.STDOUT, start_new_session=True)
        try:
            wait_for_http(f"{self.url}/api/status?token={self.token}", STARTUP_SECONDS, self.proc)
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc) -> None:
        if self.proc is not None:
            stop_process_group(self.proc)
            self.proc = None


def screenshot(page, name: str) -> Path:
    """``build/ui/<name>.png`` of what the page shows now."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path))
    return path


# --- what a student does in JupyterLab
CURRENT = ".jp-NotebookPanel:not(.lm-mod-hidden)"
"""The notebook on screen (others stay open in hidden tabs)."""


def open_notebook(page, server: LabServer, path: str, timeout_ms: float = 60_000) -> None:
    """Open ``path`` in JupyterLab and wait until its kernel is idle."""
    page.goto(server.lab_url(path))
    page.locator(f"{CURRENT} .jp-Notebook .jp-Cell").first.wait_for(timeout=timeout_ms)
    wait_kernel_idle(page, timeout_ms)


def wait_kernel_idle(page, timeout_ms: float) -> None:
    """Until the notebook has a kernel (its name in the toolbar) and the toolbar says it is idle."""
    toolbar = f"{CURRENT} .jp-NotebookPanel-toolbar"
    page.wait_for_function(
        """(toolbar) => {
            const name = document.querySelector(toolbar + ' .jp-KernelName');
            const state = document.querySelector(toolbar + ' .jp-Notebook-ExecutionIndicator');
            return name && !/No Kernel|Connecting|Starting/.test(name.textContent)
                && state && state.dataset.status === 'idle';
        }""", arg=toolbar, timeout=timeout_ms)


def menu(page, title: str, command: str) -> None:
    """Click ``title`` in JupyterLab's menu bar, then the item that runs ``command``."""
    page.locator(f"#jp-menu-panel .lm-MenuBar-itemLabel:text-is('{title}')").click()
    page.locator(f".lm-Menu li[data-command='{command}']").first.click()


PROMPT_DONE = re.compile(r"^\[\d+\]:$")


def prompts(page) -> list[str]:
    """Every code cell's prompt (``[3]:``, ``[*]:``, ``[ ]:``), rendered on screen or not."""
    return [text.strip() for text in
            page.locator(f"{CURRENT} .jp-Notebook .jp-CodeCell .jp-InputArea-prompt").all_text_contents()]


def executed_prompts(page) -> list[str]:
    """The prompts of the code cells that ran to the end (an execution count, no ``*``)."""
    return [text for text in prompts(page) if PROMPT_DONE.match(text)]


def run_all_cells(page, timeout_s: float) -> None:
    """Run → Run All Cells, then wait until every code cell shows an execution count and the kernel is idle."""
    menu(page, "Run", "runmenu:run-all")
    deadline = time.monotonic() + timeout_s
    while True:
        texts = prompts(page)
        if texts and len(executed_prompts(page)) == len(texts):
            break
        if time.monotonic() > deadline:
            pending = [text for text in texts if not PROMPT_DONE.match(text)]
            raise TimeoutError(f"{len(pending)} of {len(texts)} cells not run after {timeout_s:g} s: {pending[:5]}")
        time.sleep(0.5)
    wait_kernel_idle(page, 30_000)


def kernel_name(page) -> str:
    """The kernel's display name in the notebook's toolbar."""
    return page.locator(f"{CURRENT} .jp-NotebookPanel-toolbar .jp-KernelName").first.text_content().strip()


def error_outputs(page) -> list[str]:
    """The text of every stderr or error output on the page."""
    return page.locator(f"{CURRENT} .jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']"
                        ).all_text_contents()


def dialogs_and_popups(page) -> list[str]:
    """What a student would have to dismiss: open dialogs and notification toasts, by their text."""
    found = page.locator(".jp-Dialog").all_inner_texts()
    found += page.locator(".Toastify__toast").all_inner_texts()
    return [text.strip()[:200] for text in found]


def validate(page, timeout_ms: float) -> tuple[bool, list[str]]:
    """Press nbgrader's Validate button; (passed, the source of every cell the dialog lists as failed).
    The dialog is closed again."""
    page.locator(f"{CURRENT} .jp-NotebookPanel-toolbar .validate-button").click()
    dialog = page.locator(".nbgrader-SuccessDialog, .nbgrader-ErrorDialog")
    dialog.wait_for(timeout=timeout_ms)
    passed = page.locator(".nbgrader-SuccessDialog .validation-success").count() == 1
    # nbgrader's dialog: for each failed cell a "The following cell failed:" line, its source, its error.
    sources = page.evaluate("""() => [...document.querySelectorAll('.nbgrader-ErrorDialog .validation-failed > div')]
        .filter(div => div.innerText.trim() === 'The following cell failed:')
        .map(div => div.nextElementSibling.innerText)""")
    return passed, sources


def close_dialog(page) -> None:
    page.locator(".jp-Dialog button.jp-Dialog-button").last.click()
    page.locator(".jp-Dialog").wait_for(state="detached", timeout=10_000)


def copy_tree(source: Path, dest: Path) -> Path:
    """A copy of ``source`` without caches and checkpoints."""
    return Path(shutil.copytree(source, dest, ignore=shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints")))
