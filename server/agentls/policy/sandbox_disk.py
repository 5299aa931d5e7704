"""The disk a command may fill: a watch on the workspace's file system while it runs.

RLIMIT_FSIZE (``sandbox.maxFileMb``) caps each file a command writes, not how many:
file after file, a command could fill the user's disk. While a command runs, the
free space of the file system that holds the workspace is read every
``POLL_SECONDS``; once it fell by more than ``sandbox.maxWriteMb`` since the start,
or below ``KEEP_FREE_MB``, the command is stopped (its whole process tree killed)
and the output says why. Its own ``/tmp`` and home folder are size-capped tmpfs
folders (``sandbox.tmpMb``), not the disk.

What it cannot do: it counts every writer of that file system, so the user's own
build running at the same time counts too (the default is large); a command writes
for up to a poll's time past the limit (at disk speed); what it wrote stays (undo
restores what the checkpoint kept).
"""

from __future__ import annotations

import asyncio
import os

POLL_SECONDS = 0.1
KEEP_FREE_MB = 256  # a command is stopped before the disk's last this many MiB


def _free(path: str) -> int | None:
    try:
        info = os.statvfs(path)
    except OSError:
        return None
    return info.f_bavail * info.f_frsize


class DiskWatch:
    """``await watch.exceeded()`` returns (with the reason) once a command running in
    ``root`` used more than ``max_write_mb`` of the disk; never otherwise."""

    def __init__(self, root: str, max_write_mb: int) -> None:
        self.root = root
        self.max_bytes = max_write_mb << 20
        self.start = _free(root)

    async def exceeded(self) -> str:
        if self.start is None:
            await asyncio.Event().wait()  # free space unknown here: never
        assert self.start is not None
        while True:
            await asyncio.sleep(POLL_SECONDS)
            now = _free(self.root)
            if now is None:
                continue
            if self.start - now > self.max_bytes:
                return (
                    f"stopped: the command wrote more than {self.max_bytes >> 20} MiB to "
                    "the disk (setting sandbox.maxWriteMb)"
                )
            if now < KEEP_FREE_MB << 20:
                return f"stopped: the disk has less than {KEEP_FREE_MB} MiB left"
