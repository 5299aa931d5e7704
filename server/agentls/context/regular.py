"""Reading a file the repository chose, without being led out of it or stalled by it.

A cloned repository (or a command in full-auto) decides what its paths are: a
``.gitignore`` may be a symlink to ``/dev/zero`` (read forever), a fifo (a read that
never returns), a link to a file outside the workspace (its text would reach the
model), or simply huge. Every read of such a path by the context engine and the tools
goes through ``read_regular``: each folder below the root is opened without following
a link (``O_NOFOLLOW``, one ``openat`` per part, so no link swapped in meanwhile is
followed either), the file itself is looked at first (``lstat``) and opened only if it
is a regular file (``O_NOFOLLOW | O_NONBLOCK``, checked again with ``fstat``), and
at most ``limit`` bytes are read.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)
_DIRECTORY = getattr(os, "O_DIRECTORY", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_NOCTTY = getattr(os, "O_NOCTTY", 0)
_CHUNK = 1 << 16


class Skipped(OSError):
    """Not read, on purpose: ``reason`` says why (a link, a fifo, a device, too big)."""

    def __init__(self, relative: str, reason: str, size: int | None = None) -> None:
        super().__init__(f"{relative}: {reason}; not read")
        self.relative = relative
        self.reason = reason
        self.size = size  # set when it is over the cap


def _kind(mode: int) -> str | None:
    """What a file that is not regular is, in words; None for a regular file."""
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if stat.S_ISFIFO(mode):
        return "a fifo"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISDIR(mode):
        return "a folder"
    return "not a regular file"


def _open_folder(root: Path | str, parts: list[str], relative: str) -> int:
    """A descriptor of ``root/parts...``, no part of it followed as a link."""
    fd = os.open(root, os.O_RDONLY | _DIRECTORY | _CLOEXEC)
    try:
        for at, part in enumerate(parts):
            if part in ("", ".", ".."):
                raise Skipped(relative, "not a plain path below the workspace")
            try:
                inner = os.open(part, os.O_RDONLY | _DIRECTORY | _NOFOLLOW | _CLOEXEC, dir_fd=fd)
            except OSError as error:
                if os.path.islink(os.path.join(root, *parts[: at + 1])):
                    raise Skipped(relative, "under a symbolic link") from error
                raise
            os.close(fd)
            fd = inner
    except BaseException:
        os.close(fd)
        raise
    return fd


def read_regular(
    root: Path | str, relative: str, limit: int, *, cut: bool = False
) -> tuple[bytes, os.stat_result]:
    """The bytes of ``root/relative`` (a "/"-separated path) and its ``fstat``, if it is a
    regular file reached through real folders, of at most ``limit`` bytes.

    Raises ``Skipped`` for a link (anywhere below ``root``), a fifo, a device, a socket
    or a file over ``limit`` (nothing is read of it then; ``cut``: its first ``limit``
    bytes are answered instead), and ``OSError`` for a path that does not exist or
    cannot be opened."""
    parts = relative.strip("/").split("/")
    folder = _open_folder(root, parts[:-1], relative)
    try:
        info = os.stat(parts[-1], dir_fd=folder, follow_symlinks=False)
        kind = _kind(info.st_mode)
        if kind is not None:
            raise Skipped(relative, kind)
        if info.st_size > limit and not cut:
            raise Skipped(
                relative, f"{info.st_size} bytes, over the {limit}-byte cap", info.st_size
            )
        flags = os.O_RDONLY | _NOFOLLOW | _NONBLOCK | _CLOEXEC | _NOCTTY
        try:
            fd = os.open(parts[-1], flags, dir_fd=folder)
        except OSError as error:  # ELOOP: swapped for a link since the lstat
            raise Skipped(relative, "changed into a symbolic link") from error
    finally:
        os.close(folder)
    try:
        info = os.fstat(fd)
        kind = _kind(info.st_mode)
        if kind is not None:
            raise Skipped(relative, kind)
        chunks: list[bytes] = []
        got = 0
        while got <= limit:
            chunk = os.read(fd, min(_CHUNK, limit + 1 - got))
            if not chunk:
                break
            chunks.append(chunk)
            got += len(chunk)
        data = b"".join(chunks)
        if got > limit:
            if not cut:
                raise Skipped(relative, f"over the {limit}-byte cap", got)
            data = data[:limit]
        return data, info
    finally:
        os.close(fd)


def read_regular_text(root: Path | str, relative: str, limit: int, *, cut: bool = False) -> str:
    """``read_regular`` decoded as UTF-8 (U+FFFD for bytes that are not)."""
    data = read_regular(root, relative, limit, cut=cut)[0]
    return data.decode("utf-8", errors="replace")
