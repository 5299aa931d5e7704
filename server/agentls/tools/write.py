"""The agent's writing tools: edit_file, write_file, delete_file, through an ``EditSink``.

The sink is where changes land: the editor (``workspace/applyEdit``, in the LSP
layer) or the disk (``DiskSink``, for ``agentls exec``). The tools resolve and
confine the path (never a secret, an ignored file or ``.git/``), match the text to
replace in layers (``matching.py``) and say exactly what happened.
"""

from __future__ import annotations

import difflib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from agentls.tools.box import Tool, spec
from agentls.tools.matching import NoMatch, find_edit
from agentls.tools.workspace import Resolved, ToolDenied, Workspace


class EditSink(Protocol):
    async def write(self, relative: str, old: str | None, new: str) -> None:
        """Make the file's text ``new`` (``old``: what it was; None: it is created)."""
        ...

    async def delete(self, relative: str, old: str) -> None: ...


@dataclass
class DiskSink:
    """Changes straight to the files; remembers each file's first text for a diff."""

    root: Path
    originals: dict[str, str | None] = field(default_factory=dict)

    def _path(self, relative: str) -> Path:
        """``root/relative`` if it still resolves there (no symlink put in its way
        since the tool checked the path), else ``ToolDenied``."""
        path = self.root / relative
        if os.path.realpath(path) != os.path.join(os.path.realpath(self.root), relative):
            raise ToolDenied(f"{relative}: changed into a link since it was checked; not written")
        return path

    async def write(self, relative: str, old: str | None, new: str) -> None:
        path = self._path(relative)
        self.originals.setdefault(relative, old)
        path.parent.mkdir(parents=True, exist_ok=True)
        before = int(path.stat().st_mtime) if path.exists() else None
        path.write_text(new, encoding="utf-8")
        if before is not None and int(path.stat().st_mtime) <= before:
            # Python's bytecode cache trusts size + mtime in whole seconds: a same-size
            # change within the second would run the stale compiled code.
            os.utime(path, (before + 1, before + 1))

    async def delete(self, relative: str, old: str) -> None:
        path = self._path(relative)
        self.originals.setdefault(relative, old)
        path.unlink()

    def diff(self) -> str:
        out: list[str] = []
        for relative in sorted(self.originals):
            before = self.originals[relative]
            path = self.root / relative
            after = path.read_text(encoding="utf-8") if path.exists() else None
            if before == after:
                continue
            out.extend(
                difflib.unified_diff(
                    (before or "").splitlines(keepends=True),
                    (after or "").splitlines(keepends=True),
                    "/dev/null" if before is None else f"a/{relative}",
                    "/dev/null" if after is None else f"b/{relative}",
                )
            )
        return "".join(out)


class WriteTools:
    def __init__(self, ws: Workspace, sink: EditSink) -> None:
        self.ws = ws
        self.sink = sink
        self.edited: list[str] = []

    def _note(self, relative: str) -> None:
        if relative not in self.edited:
            self.edited.append(relative)

    def _refuse_if_changed(self, resolved: Resolved, text: str) -> None:
        """A whole-file write or a delete must not undo what someone changed since the
        model read the file (an edit_file quotes the text it replaces: it is safe)."""
        if self.ws.changed_since_seen(resolved, text):
            raise ToolDenied(
                f"{resolved.relative}: changed since you read it (by the user or a tool); "
                "read it again, then change it (edit_file keeps the other changes)"
            )

    async def edit_file(
        self, path: str, old_string: str, new_string: str, replace_all: bool = False
    ) -> str:
        resolved = self.ws.resolve(path, writing=True)
        text = self.ws.read_text(resolved)
        found = find_edit(text, old_string, new_string, replace_all)
        if isinstance(found, NoMatch):
            raise ToolDenied(f"{resolved.relative}: {found.message}")
        new = text
        for match in sorted(found, key=lambda m: m.start, reverse=True):
            new = new[: match.start] + match.new_text + new[match.end :]
        if new == text:
            return f"{resolved.relative}: no change (the new text equals the old)"
        await self.sink.write(resolved.relative, text, new)
        self.ws.note_seen(resolved, new)  # the model knows what it wrote
        self._note(resolved.relative)
        first = text.count("\n", 0, min(m.start for m in found)) + 1
        how = found[0].how
        where = f"{len(found)} places" if len(found) > 1 else f"line {first}"
        note = "" if how == "exact" else f" (matched ignoring {how})"
        return f"{resolved.relative}: edited at {where}{note}"

    async def write_file(self, path: str, content: str) -> str:
        resolved = self.ws.resolve(path, writing=True)
        old: str | None = None
        if resolved.path.exists():
            if resolved.path.is_dir():
                raise ToolDenied(f"{resolved.relative}: a folder, not a file")
            old = self.ws.read_text(resolved)
            self._refuse_if_changed(resolved, old)
        await self.sink.write(resolved.relative, old, content)
        self.ws.note_seen(resolved, content)
        self._note(resolved.relative)
        lines = content.count("\n") + (0 if content.endswith("\n") or not content else 1)
        verb = "created" if old is None else "rewrote"
        return f"{resolved.relative}: {verb} ({lines} lines)"

    async def delete_file(self, path: str) -> str:
        resolved = self.ws.resolve(path, writing=True)
        if not resolved.path.is_file() and self.ws.buffers(resolved.relative) is None:
            raise ToolDenied(f"{resolved.relative}: no such file")
        old = self.ws.read_text(resolved)
        self._refuse_if_changed(resolved, old)
        await self.sink.delete(resolved.relative, old)
        self._note(resolved.relative)
        return f"{resolved.relative}: deleted"

    def tools(self) -> list[Tool]:
        path = {"type": "string", "description": "a path in the workspace"}
        return [
            Tool(
                spec(
                    "edit_file",
                    "Replace old_string (quoted from the file, enough lines to be unique) "
                    "with new_string.",
                    {
                        "path": path,
                        "old_string": {"type": "string"},
                        "new_string": {"type": "string"},
                        "replace_all": {"type": "boolean"},
                    },
                    ["path", "old_string", "new_string"],
                ),
                lambda a: self.edit_file(
                    a["path"], a["old_string"], a["new_string"], a.get("replace_all", False)
                ),
            ),
            Tool(
                spec(
                    "write_file",
                    "Create a file, or replace its whole text.",
                    {"path": path, "content": {"type": "string"}},
                    ["path", "content"],
                ),
                lambda a: self.write_file(a["path"], a["content"]),
            ),
            Tool(
                spec("delete_file", "Delete a file.", {"path": path}, ["path"]),
                lambda a: self.delete_file(a["path"]),
            ),
        ]
