"""The workspace as the agent's tools see it: confined paths, no secrets, buffers first.

Every path a tool is given (relative, absolute, ``..``, a ``file://`` URI, through a
symlink) is resolved and must land inside a workspace folder; version control
internals (``.git``, bare repositories, worktrees: ``policy/protected.py``),
secret files and ignored files are refused with a message the model can act on.
Files open in the editor are read from their buffers (the unsaved text is the truth).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from agentls.context.files import WorkspaceFiles, local_path
from agentls.context.regular import Skipped, read_regular
from agentls.policy.protected import version_control_internals

MAX_READ_BYTES = 4 << 20  # a file bigger than this is not read whole


class ToolDenied(Exception):
    """A tool may not touch this path; ``str(error)`` is the message for the model."""


@dataclass(frozen=True)
class Resolved:
    path: Path  # absolute, symlinks resolved
    relative: str  # to the workspace root, with "/"


class Workspace:
    def __init__(
        self,
        files: WorkspaceFiles,
        buffers: Callable[[str], str | None] | None = None,
    ) -> None:
        """``buffers``: the text of an open document by workspace-relative path (None:
        not open)."""
        self.files = files
        self.root = files.root
        self.buffers = buffers or (lambda _: None)
        # What the model last saw of each file (a hash of the text read_file returned):
        # a whole-file write over a file changed since then is refused.
        self.seen: dict[str, int] = {}
        self.not_utf8: set[str] = set()  # files read with U+FFFD for bytes not UTF-8

    def resolve(self, raw: str, *, writing: bool = False) -> Resolved:
        """The path a tool means, confined to the workspace; raises ``ToolDenied``."""
        text = raw.strip()
        if not text:
            raise ToolDenied("an empty path")
        local = local_path(text)
        if local is None:
            raise ToolDenied(f"{raw}: not a file path or file:// URI")
        text = local
        candidate = Path(text) if os.path.isabs(text) else self.root / text
        # Resolve symlinks (of the file and of every folder above it) before judging.
        real = Path(os.path.realpath(candidate))
        try:
            relative = real.relative_to(self.root).as_posix()
        except ValueError:
            raise ToolDenied(
                f"{raw}: outside the workspace ({self.root}); only its files can be used"
            ) from None
        if relative == ".":
            relative = ""
        internals = version_control_internals(self.root, relative, writing=writing)
        if internals:
            what = ".git/ internals" if "git" in internals else "version control internals"
            if writing:
                raise ToolDenied(f"{raw}: {what} are read-only ({internals})")
            raise ToolDenied(
                f"{raw}: {what} are not for tools ({internals}); use the files themselves"
            )
        if relative and self.files.secrets.is_secret(relative, is_dir=real.is_dir()):
            raise ToolDenied(
                f"{raw}: a secret file (keys, credentials, .env); agentls never reads, lists or "
                "searches it, and the model never sees it"
            )
        if relative and not self._allowed(relative, real.is_dir()):
            raise ToolDenied(
                f"{raw}: ignored by .gitignore or .agentlsignore (or a folder such as "
                "node_modules); agentls does not read it"
            )
        if writing and relative:
            self._refuse_to_write_over_bytes(relative)
        return Resolved(real, relative)

    def _refuse_to_write_over_bytes(self, relative: str) -> None:
        """A binary file or one not in UTF-8 on the disk (not open in the editor) is not
        edited: its text would be written back as UTF-8, changing its other bytes."""
        try:
            if self.buffers(relative) is not None:
                return
        except ToolDenied:
            return
        try:
            data, _ = read_regular(self.root, relative, MAX_READ_BYTES)
        except OSError:
            return  # not there, not a regular file, too big: read_text says so if it matters
        if b"\0" in data[:8192]:
            raise ToolDenied(f"{relative}: a binary file; agentls does not write over it")
        try:
            data.decode("utf-8")
        except UnicodeDecodeError as error:
            raise ToolDenied(
                f"{relative}: not UTF-8 text (byte {error.start}); agentls does not edit it, "
                "since writing it back as UTF-8 would change its other bytes"
            ) from None

    def _allowed(self, relative: str, is_dir: bool) -> bool:
        if is_dir:
            parts = relative.split("/")
            return not any(
                self.files.secrets.is_secret("/".join(parts[: i + 1]), is_dir=True)
                or self.files._skipped_dir("/".join(parts[: i + 1]), parts[i])
                for i in range(len(parts))
            )
        return self.files.allowed(relative)

    def note_seen(self, resolved: Resolved, text: str) -> None:
        self.seen[resolved.relative] = hash(text)

    def changed_since_seen(self, resolved: Resolved, text: str) -> bool:
        seen = self.seen.get(resolved.relative)
        return seen is not None and seen != hash(text)

    def read_text(self, resolved: Resolved) -> str:
        """The file's text: the editor's buffer if open, else the disk (UTF-8)."""
        buffer = self.buffers(resolved.relative)
        if buffer is not None:
            return buffer
        # A regular file only, reached through no link (``resolve`` judged the real
        # path: a link swapped in since then is not followed), never over the cap.
        try:
            data, info = read_regular(self.root, resolved.relative, MAX_READ_BYTES)
        except Skipped as skipped:
            if skipped.size is not None:
                raise ToolDenied(
                    f"{resolved.relative}: {skipped.size / 1e6:.1f} MB is too big to read "
                    "whole; use search to find the part you need"
                ) from None
            raise ToolDenied(f"{resolved.relative or '.'}: {skipped.reason}; not read") from None
        except OSError:
            raise ToolDenied(f"{resolved.relative or '.'}: no such file") from None
        size = info.st_size
        if b"\0" in data[:8192]:
            raise ToolDenied(f"{resolved.relative}: a binary file ({size} bytes)")
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            self.not_utf8.add(resolved.relative)
            return data.decode("utf-8", errors="replace")  # U+FFFD where bytes were not UTF-8
        self.not_utf8.discard(resolved.relative)
        return text
