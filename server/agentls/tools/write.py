"""The agent's writing tools: edit_file, write_file, delete_file, through an ``EditSink``.

The sink is where changes land: the editor (``workspace/applyEdit``, in the LSP
layer) or the disk (``DiskSink``, for ``agentls exec``). The tools resolve and
confine the path (never a secret, an ignored file or ``.git/``), match the text to
replace in layers (``matching.py``) and say exactly what happened.

``edit_file`` matches ``old_string`` against the text the model was shown: the file
with its secret lines hidden (``policy.secrets.redact``), never the real text, and
refuses an edit whose text touches a hidden line. Its answer so depends on nothing
but what the model already saw: it cannot be used to guess a hidden secret (a right
guess and a wrong one get the same answer), and a hidden line is never changed.
"""

from __future__ import annotations

import asyncio
import bisect
import difflib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from agentls.context.regular import Skipped, read_regular
from agentls.policy.secrets import Redacted, redact
from agentls.tools.box import Tool, spec
from agentls.tools.matching import FUZZY_SECONDS, Match, NoMatch, find_edit
from agentls.tools.workspace import MAX_READ_BYTES, Resolved, ToolDenied, Workspace

MATCH_SECONDS = FUZZY_SECONDS + 8.0  # one match (secret check included), at most
MATCH_TRIES = 3  # matched again at most this often when the text changes meanwhile


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

    def _text_now(self, relative: str) -> str | None:
        """The file's text on the disk for the diff (None: gone). A command may have left
        a link (to /dev/zero, to a file outside the workspace) or a fifo in its place:
        read as a regular file only, within the cap (``context/regular.py``)."""
        try:
            data, _ = read_regular(self.root, relative, MAX_READ_BYTES)
        except Skipped as skipped:
            return f"(agentls: now {skipped.reason}; not shown)\n"
        except OSError:
            return None
        return data.decode("utf-8", errors="replace")

    def diff(self) -> str:
        out: list[str] = []
        for relative in sorted(self.originals):
            before = self.originals[relative]
            after = self._text_now(relative)
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


def _shown_and_found(
    text: str, relative: str, old: str, new: str, replace_all: bool
) -> tuple[Redacted, list[Match] | NoMatch]:
    shown = redact(text, relative)
    return shown, find_edit(shown.text, old, new, replace_all)


async def _match_off_loop(
    relative: str, text: str, old: str, new: str, replace_all: bool
) -> tuple[Redacted, list[Match] | NoMatch]:
    """``_shown_and_found`` in a worker thread, so that the event loop keeps serving
    keystrokes, cancels and other tasks meanwhile. Its work is bounded (``matching``'s
    fuzzy layer compares a capped number of windows before its own deadline); past
    ``MATCH_SECONDS`` the tool answers an error and the thread's result is dropped."""
    try:
        return await asyncio.wait_for(
            asyncio.to_thread(_shown_and_found, text, relative, old, new, replace_all),
            MATCH_SECONDS,
        )
    except TimeoutError:
        raise ToolDenied(
            f"{relative}: old_string could not be matched within {MATCH_SECONDS:g} s; "
            "quote the text exactly as read_file shows it"
        ) from None


def _line_starts(text: str) -> list[int]:
    starts = [0]
    at = text.find("\n")
    while at != -1:
        starts.append(at + 1)
        at = text.find("\n", at + 1)
    return starts


def _on_real_text(relative: str, text: str, shown: Redacted, found: list[Match]) -> list[Match]:
    """Matches in the shown (redacted) text, moved to the real one; ``ToolDenied`` when
    one touches a hidden line. Hidden lines are the only ones that differ, so a match
    outside them has the same lines, at the same line numbers, in both texts."""
    hidden = shown.lines
    shown_starts, real_starts = _line_starts(shown.text), _line_starts(text)

    def line_of(offset: int) -> int:
        return max(0, bisect.bisect_right(shown_starts, offset) - 1)

    out: list[Match] = []
    for match in found:
        first, last = line_of(match.start), line_of(max(match.start, match.end - 1))
        touched = sorted(n + 1 for n in hidden if first <= n <= last)
        if touched:
            raise ToolDenied(
                f"{relative}: the text to replace takes in line {touched[0]}, hidden as a "
                "secret; agentls never edits a hidden line (nor tells what it holds): change "
                "the lines around it, or ask the user to change it"
            )
        end_line = line_of(match.end)
        start = real_starts[first] + match.start - shown_starts[first]
        end = real_starts[end_line] + match.end - shown_starts[end_line]
        out.append(Match(start, end, match.new_text, match.how))
    return out


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
        # Off the event loop: the secret check and the fuzzy layer of a long near-miss
        # quote take seconds over a big file. Matched again if the text changed meanwhile
        # (the user typing in the buffer): the edit applies to the text as it is now.
        text = self.ws.read_text(resolved)
        for _ in range(MATCH_TRIES):
            shown, found = await _match_off_loop(
                resolved.relative, text, old_string, new_string, replace_all
            )
            now = self.ws.read_text(resolved)
            if now == text:
                break
            text = now
        else:
            raise ToolDenied(
                f"{resolved.relative}: the text kept changing while old_string was matched "
                f"({MATCH_TRIES} tries); read it again and retry"
            )
        if isinstance(found, NoMatch):
            raise ToolDenied(f"{resolved.relative}: {found.message}")
        if shown.hits:
            found = _on_real_text(resolved.relative, text, shown, found)
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
                kind="write",
            ),
            Tool(
                spec(
                    "write_file",
                    "Create a file, or replace its whole text.",
                    {"path": path, "content": {"type": "string"}},
                    ["path", "content"],
                ),
                lambda a: self.write_file(a["path"], a["content"]),
                kind="write",
            ),
            Tool(
                spec("delete_file", "Delete a file.", {"path": path}, ["path"]),
                lambda a: self.delete_file(a["path"]),
                kind="write",
            ),
        ]
