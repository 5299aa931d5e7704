"""Protected paths (``policy/protected.py``) as the command sandbox keeps them.

Before a command: every protected path of the workspace that exists (``.vscode/``,
``.envrc``, ``.gitignore``, ``.github/``, ``agentls.json``, ... and the user's
``agent.protectedPaths``), and what a protected symbolic link points to inside the
workspace, is mounted read-only (``sandbox_view.py``): a command cannot change,
delete, rename or replace it (the kernel answers "Read-only file system" or
"Device or resource busy").

A protected path that does not exist yet cannot be mounted without creating it on
the host. So after the command, each protected path that was not there before (a
new ``.vscode/settings.json``, an ``.envrc``, a ``.gitignore`` made by ``cargo
init``) is turned off: renamed with the ``.agentls-disabled`` suffix, and the
command's output says so. A protected path counts as new unless it was mounted
there, under the same parent folder (a host program that saves a protected file by
writing a new one and renaming it, an editor, is not taken for the command; a
command that renamed the parent folder away and made a new one is), or it is a
mounted path carried along when a command renamed a folder above it, or a symbolic
link that was there (same inode and change time: a new file may reuse a removed
link's inode). Only the outermost new path is renamed (``.vscode``, not the file in it).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

from agentls.policy.sandbox_git import DISABLED
from agentls.policy.sandbox_scan import Protected
from agentls.policy.sandbox_scan import identity as _identity

log = logging.getLogger(__name__)


def _link_identity(path: Path) -> tuple[int, int, int]:
    """A symbolic link's inode and change time: a link removed and a file made in its
    place may get the same inode number, never the same change time."""
    try:
        info = os.stat(path, follow_symlinks=False)
    except OSError:
        return (0, 0, 0)
    return (info.st_dev, info.st_ino, info.st_ctime_ns)


@dataclass(frozen=True)
class Before:
    """What was protected before a command: the mounted paths (with their parent
    folder and inode: a mounted path can be neither removed nor replaced, only carried
    along when a command renames a folder above it), and the symbolic links (not
    mounted: a command may remove them)."""

    mounted: dict[str, tuple[int, int]]  # path -> (device, inode) of its folder
    inodes: frozenset[tuple[int, int]]  # of the mounted paths
    links: frozenset[tuple[int, int, int]]

    @classmethod
    def of(cls, protected: Protected) -> Before:
        mounted = [p for p in protected.protected if not p.is_symlink()]
        return cls(
            {str(p): _identity(p.parent) for p in mounted},
            frozenset(_identity(p) for p in mounted),
            frozenset(_link_identity(p) for p in protected.protected if p.is_symlink()),
        )

    def is_new(self, path: Path) -> bool:
        if self.mounted.get(str(path)) == _identity(path.parent):
            return False  # mounted there: a change is the host's, not the command's
        if not path.is_symlink() and _identity(path) in self.inodes:
            return False  # a mounted path, carried along with a folder renamed above it
        return not (path.is_symlink() and _link_identity(path) in self.links)


def turn_off_new(before: Before, now: Protected) -> list[str]:
    """Rename the protected paths the command made; a note for each."""
    new = [p for p in now.protected if before.is_new(p)]
    notes: list[str] = []
    done: list[Path] = []
    for path in sorted(new):
        if any(path.is_relative_to(d) for d in done):
            continue
        target = _free(path)
        try:
            _rename(path, target)
        except OSError as error:
            log.warning("could not turn off %s: %s", path, error)
            notes.append(f"{path}: a protected path this command made could not be renamed")
            continue
        done.append(path)
        notes.append(
            f"{path}: a protected path (editors or tools run or trust it) this command made "
            f"was renamed to {target.name}: commands cannot write protected paths; write it "
            "with write_file (the user is asked) if it is needed"
        )
    return notes


def _rename(path: Path, target: Path) -> None:
    try:
        path.rename(target)
    except PermissionError:  # a folder the command made read-only: ours to undo
        os.chmod(path.parent, os.stat(path.parent).st_mode | 0o700)
        path.rename(target)


def _free(path: Path) -> Path:
    target = path.with_name(path.name + DISABLED)
    n = 1
    while target.exists() or target.is_symlink():
        n += 1
        target = path.with_name(f"{path.name}{DISABLED}-{n}")
    return target
