"""A process-count limit that holds for root too: a pids cgroup per command.

RLIMIT_NPROC (``prlimit --nproc``, set as well) is not applied by the kernel to
root (uid 0 is exempt, in any user namespace it creates), so a server running
as root (CI, containers) had no bound on a fork bomb but the timeout. Where the
server may create a child of its own pids cgroup (cgroup v1's ``pids``
hierarchy, or cgroup v2 with ``pids`` in the parent's ``subtree_control``: root
usually may, a user only in a delegated subtree), each command gets one, with
``pids.max`` = ``sandbox.maxProcesses``; every process and thread the command
starts counts, and a ``fork`` past it fails with EAGAIN. The cgroup is emptied
and removed when the command ends.

The command enters it before bubblewrap starts: ``enter_argv`` puts a tiny
``/bin/sh`` in front that writes its own pid into ``cgroup.procs`` and then
``exec``s bubblewrap (a failure to enter stops the command: exit 125; whether a
process can enter one is tried once per parent folder before the first command).
"""

from __future__ import annotations

import functools
import itertools
import logging
import os
import signal
import subprocess
import time
from pathlib import Path

log = logging.getLogger(__name__)

CGROUP_ROOT = Path("/sys/fs/cgroup")
_ENTER = 'echo $$ > "$0" || { echo "agentls: could not enter the pids cgroup $0" >&2; exit 125; }; exec "$@"'  # noqa: E501
_COUNTER = itertools.count(1)
ENTER_FAILED = 125


def _own_paths() -> list[Path]:
    """Folders in which this process's pids cgroup lives (v1 first, then v2)."""
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return []
    found: list[Path] = []
    for line in lines:
        _, controllers, path = [*line.split(":", 2), "", ""][:3]
        relative = path.lstrip("/")
        if "pids" in controllers.split(","):
            found.append(CGROUP_ROOT / "pids" / relative)
        elif controllers == "" and (CGROUP_ROOT / "cgroup.controllers").is_file():
            found.append(CGROUP_ROOT / relative)  # the v2 hierarchy mounted at the top
    return found


class PidsCgroup:
    """One command's pids cgroup (``create`` makes it, ``remove`` ends it)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    @classmethod
    def create(cls, limit: int) -> PidsCgroup | None:
        """A new pids cgroup with ``pids.max`` = ``limit``; None where none can be made."""
        for parent in _own_paths():
            if not _usable(parent):
                continue
            folder = parent / f"agentls-{os.getpid()}-{next(_COUNTER)}"
            try:
                folder.mkdir()
            except OSError:
                continue
            try:
                (folder / "pids.max").write_text(f"{limit}\n")
                return cls(folder)
            except OSError as error:
                log.debug("no pids limit in %s: %s", folder, error)
                _rmdir(folder)
        return None

    def enter_argv(self, argv: list[str]) -> list[str]:
        """``argv`` started inside this cgroup."""
        return ["/bin/sh", "-c", _ENTER, str(self.folder / "cgroup.procs"), *argv]

    def pids(self) -> list[int]:
        try:
            text = (self.folder / "cgroup.procs").read_text()
        except OSError:
            return []
        return [int(p) for p in text.split()]

    def remove(self) -> None:
        """Kill what is left in it, then remove it (within about two seconds)."""
        deadline = time.monotonic() + 2.0
        while True:
            for pid in self.pids():
                try:
                    os.kill(pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
            if _rmdir(self.folder) or time.monotonic() > deadline:
                return
            time.sleep(0.02)


@functools.cache
def _usable(parent: Path) -> bool:
    """Whether a process can enter a child cgroup of ``parent`` (tried once: cgroup v2
    refuses processes in a folder that delegates controllers, say)."""
    folder = parent / f"agentls-{os.getpid()}-probe"
    try:
        folder.mkdir()
    except OSError:
        return False
    try:
        if not (folder / "pids.max").exists():
            return False
        probe = PidsCgroup(folder).enter_argv(["true"])
        done = subprocess.run(probe, capture_output=True, timeout=10, check=False)
        return done.returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False
    finally:
        PidsCgroup(folder).remove()


def _rmdir(folder: Path) -> bool:
    try:
        folder.rmdir()
    except FileNotFoundError:
        return True
    except OSError:
        return False
    return True
