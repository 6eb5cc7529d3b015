"""Copies of plain files that never follow a link: what grading moves between the course and its
private folders, where a submission may have planted links, fifos or huge files."""
from __future__ import annotations

import os
import shutil
import stat
from collections.abc import Callable
from pathlib import Path


def copy_files(src: Path, dest: Path, ignored: Callable[[str], bool], max_bytes: int | None = None) -> list[str]:
    """Copy the plain files of ``src`` into ``dest``, but those ``ignored`` by name (the course's ignore list);
    return what was skipped for being a link, special or too large."""
    skipped = []
    for dirpath, dirnames, filenames in os.walk(src, followlinks=False):
        dirnames[:] = [d for d in dirnames if not ignored(d) and not os.path.islink(os.path.join(dirpath, d))]
        rel = Path(dirpath).relative_to(src)
        (dest / rel).mkdir(parents=True, exist_ok=True)
        for name in filenames:
            if ignored(name):
                continue
            path = Path(dirpath) / name
            st = os.lstat(path)
            if not stat.S_ISREG(st.st_mode):
                skipped.append(str(rel / name))
                continue
            if max_bytes is not None and st.st_size > max_bytes:
                skipped.append(f"{rel / name} ({st.st_size} bytes)")
                continue
            shutil.copyfile(path, dest / rel / name, follow_symlinks=False)
            os.chmod(dest / rel / name, stat.S_IMODE(st.st_mode) & 0o755 | 0o400)
    return skipped


def sanitize(folder: Path) -> None:
    """Leave only plain files and folders (no symlinks, fifos, hard links) in ``folder``."""
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=False):
        for name in dirnames + filenames:
            path = os.path.join(dirpath, name)
            st = os.lstat(path)
            if stat.S_ISDIR(st.st_mode):
                os.chmod(path, 0o700)
                continue
            if not stat.S_ISREG(st.st_mode) or st.st_nlink > 1:
                os.unlink(path)
