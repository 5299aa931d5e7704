"""Simulated editors that behave as the real ones on this machine do (CLIENTS.md).

Each keeps its own buffer, with every character tagged by who put it there:
``o`` the original text outside the task's region, ``R`` the region's original text,
``u`` the user, ``a`` the agent. Edits from the server are checked as they land:
an agent edit must never remove an ``o`` character (text outside the region) nor a
``u`` character (the user's typing), except a run of the user's text that the same
edit writes again (undo keeps the user's lines, placed after the restored code).

- ``nvim``: Neovim 0.7 (runtime/lua/vim/lsp.lua, lsp/util.lua). Versions are change
  counters (didOpen 0, then jumps). An edit naming an older version than the
  buffer's is skipped but answered ``applied=true``; an edit naming version 0 is
  applied unchecked. didChange is debounced 150 ms, the timer restarted by each
  change and shortened by the time since the last didChange (so a first keystroke
  after a pause goes out at once, and an edit of several ranges then goes out as
  several didChange); flushed before the client sends a request.
- ``eglot``: eglot 1.9. Refuses an edit whose version is not the buffer's with an
  error; didChange from an idle timer 0.5 s after the last change.
- ``vscode``: refuses stale edits (applied=false); didChange at once.
- ``pytest-lsp``: the tests' fake editor: strict, didChange before the answer.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from lsprotocol import types

from agentls.config import Settings
from agentls.edits.documents import DocumentStore, EditorError
from agentls.edits.text import TextChange
from agentls.lsp.convert import offset
from tests.sim.clock import SimLoop

KINDS = ("nvim", "eglot", "vscode", "pytest-lsp")
_LINE_END = re.compile(r"\r\n|\r|\n")


@dataclass(frozen=True)
class Behaviour:
    first_version: int
    strict: bool  # refuses an edit that names another version than the buffer's
    refusal_is_error: bool  # eglot: a JSON-RPC error; VS Code: applied=false
    debounce: float  # seconds from a change to its didChange (0: at once)
    idle: bool  # the timer restarts with every change (eglot's idle timer)
    report_before_answer: bool


BEHAVIOURS = {
    "nvim": Behaviour(0, False, False, 0.15, True, False),
    "eglot": Behaviour(1, True, True, 0.5, True, False),
    "vscode": Behaviour(1, True, False, 0.0, False, True),
    "pytest-lsp": Behaviour(1, True, False, 0.0, False, True),
}


def _offset(text: str, line: int, character: int) -> int:
    """UTF-16 LSP position -> code point offset, written apart from the server's."""
    starts = [0] + [m.end() for m in _LINE_END.finditer(text)]
    if line >= len(starts):
        return len(text)
    start = starts[line]
    end = starts[line + 1] if line + 1 < len(starts) else len(text)
    body = text[start:end].rstrip("\r\n")
    units = 0
    for i, ch in enumerate(body):
        if units >= character:
            return start + i
        units += 2 if ord(ch) > 0xFFFF else 1
    return start + len(body)


def _position(text: str, at: int) -> types.Position:
    starts = [0] + [m.end() for m in _LINE_END.finditer(text)]
    line = max(i for i, s in enumerate(starts) if s <= at)
    units = sum(2 if ord(ch) > 0xFFFF else 1 for ch in text[starts[line] : at])
    return types.Position(line=line, character=units)


@dataclass
class SimEditor:
    """One document in one simulated editor, and the wire to the server."""

    kind: str
    loop: SimLoop
    store: DocumentStore
    uri: str
    chars: list[str]
    tags: list[str]
    settings: Settings = field(default_factory=Settings)
    encoding: str = "utf-16"
    version: int = 0
    seen_by_server: set[int] = field(default_factory=set)
    pending: list[types.TextDocumentContentChangePartial] = field(default_factory=list)
    flush_at: float | None = None
    last_flush: float | None = None
    wire_free_at: float = 0.0  # client -> server messages arrive in order
    log: list[str] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    ids: list[int] = field(default_factory=list)  # each character's identity
    next_id: int = 0
    history: dict[int, list[int]] = field(default_factory=dict)  # version -> ids then
    unchecked_stale_edit: bool = False  # Neovim applied a stale version-0 edit
    user_in_region: bool = False  # the user typed in or at the edge of the region
    user_touched_agent: bool = False  # the user typed in or next to the agent's text
    region_only: bool = True  # agent edits may change only the region (a rewrite)

    @classmethod
    def open(
        cls,
        kind: str,
        loop: SimLoop,
        store: DocumentStore,
        uri: str,
        text: str,
        region: tuple[int, int],
    ) -> SimEditor:
        tags = ["R" if region[0] <= i < region[1] else "o" for i in range(len(text))]
        editor = cls(kind, loop, store, uri, list(text), tags)
        editor.ids = list(range(len(text)))
        editor.next_id = len(text)
        editor.version = BEHAVIOURS[kind].first_version
        editor.seen_by_server.add(editor.version)
        editor.history[editor.version] = list(editor.ids)
        store.open(uri, editor.version, text, "python")
        return editor

    @property
    def behaviour(self) -> Behaviour:
        return BEHAVIOURS[self.kind]

    @property
    def text(self) -> str:
        return "".join(self.chars)

    # -- the buffer --------------------------------------------------------------------
    def _replace(self, start: int, end: int, new: str, tag: str, check: bool) -> None:
        text = self.text
        range_ = types.Range(start=_position(text, start), end=_position(text, end))
        if check:
            self._check_removal(start, end, new)
        self.chars[start:end] = list(new)
        self.tags[start:end] = [tag] * len(new)
        self.ids[start:end] = range(self.next_id, self.next_id + len(new))
        self.next_id += len(new)
        if check:
            self._transfer(start, start + len(new), end - start, new)
        step = self.loop.rng.choice((1, 1, 1, 2, 3)) if self.kind == "nvim" else 1
        self.version += step
        self.history[self.version] = list(self.ids)
        self.pending.append(types.TextDocumentContentChangePartial(range=range_, text=new))

    def _check_removal(self, start: int, end: int, new: str) -> None:
        removed = list(zip(self.chars[start:end], self.tags[start:end], strict=True))
        if self.region_only and any(tag == "o" for _, tag in removed):
            self.violation(
                f"an agent edit overwrote text outside the region: {self.text[start:end]!r} "
                f"-> {new!r} at {start}"
            )
        self._moved_user_runs = []
        run: list[str] = []
        for ch, tag in [*removed, ("", "")]:
            if tag == "u":
                run.append(ch)
            elif run:
                self._moved_user_runs.append("".join(run))
                run = []

    def _transfer(self, start: int, end: int, _removed: int, new: str) -> None:
        """A run of the user's text that an agent edit removed must be there after it,
        written again by the edit (it may reuse characters around it: minimal diffs do);
        those characters stay the user's."""
        for piece in self._moved_user_runs:
            lo = max(0, start - len(piece))
            window = "".join(self.chars[lo : end + len(piece)])
            found = window.find(piece)
            if found < 0:
                self.violation(f"an agent edit removed the user's text {piece!r}")
                continue
            for i in range(lo + found, lo + found + len(piece)):
                self.tags[i] = "u"

    def adopt_region(self, version: int, start: int, end: int) -> None:
        """The server took ``[start, end)`` of its text at ``version`` for the region's
        original: those characters (the user's included) are what the agent rewrites."""
        taken = set(self.history[version][start:end])
        for i, ident in enumerate(self.ids):
            if ident in taken and self.tags[i] in "ou":
                self.tags[i] = "R"
        for i, ident in enumerate(self.ids):
            if self.tags[i] == "R" and ident not in taken:
                self.tags[i] = "o"  # the server's region is narrower than the request

    def violation(self, message: str) -> None:
        self.log.append(f"{self.loop.now:.3f} VIOLATION {message}")
        self.violations.append(message)

    def type(self, start: int, end: int, new: str) -> None:
        """The user changes the buffer."""
        block = [i for i, t in enumerate(self.tags) if t in "Ra"]
        if block and block[0] <= end and start <= block[-1] + 1:
            self.user_in_region = True
        near = self.tags[max(0, start - 1) : end + 2]  # next to it counts
        if "a" in near:
            self.user_touched_agent = True
        self._replace(start, end, new, "u", check=False)
        self.log.append(f"{self.loop.now:.3f} user {start}-{end} {new!r} -> v{self.version}")
        self._schedule_flush()

    # -- didChange -----------------------------------------------------------------------
    def _schedule_flush(self) -> None:
        b = self.behaviour
        debounce = b.debounce
        if self.kind == "nvim" and self.last_flush is not None:
            # Neovim's next_debounce: the time since the last didChange counts.
            debounce = max(debounce - (self.loop.now - self.last_flush), 0.0)
        if debounce == 0:
            self.flush()
            return
        if self.flush_at is not None and not b.idle:
            return
        due = self.loop.now + debounce
        self.flush_at = due
        self.loop.call_at(due, self._flush_if_due, due)

    def _flush_if_due(self, due: float) -> None:
        if self.flush_at == due:
            self.flush()

    def flush(self) -> None:
        """Send the buffered changes as one didChange."""
        self.flush_at = None
        if not self.pending:
            return
        self.last_flush = self.loop.now
        changes, self.pending = self.pending, []
        version = self.version
        self.send(lambda: self._did_change(version, changes))

    def send(self, deliver: Callable[[], None]) -> None:
        """Client -> server, in order, after a random latency."""
        # Strictly later than the message before: timers due at the same time may run
        # in any order.
        at = max(self.wire_free_at + 1e-6, self.loop.now + self.loop.delay(0.0, 0.02))
        self.wire_free_at = at
        self.loop.call_at(at, deliver)

    def _did_change(
        self, version: int, changes: list[types.TextDocumentContentChangePartial]
    ) -> None:
        """The server's didChange handler (lsp/handlers.py), on the real store."""
        self.seen_by_server.add(version)
        for change in changes:
            snapshot = self.store.get(self.uri)
            if snapshot is None:
                return
            start = offset(snapshot, change.range.start, "utf-16")
            end = max(start, offset(snapshot, change.range.end, "utf-16"))
            self.store.change(self.uri, version, [TextChange(start, end, change.text)])

    # -- workspace/applyEdit ---------------------------------------------------------------
    async def apply_edit(
        self, params: types.ApplyWorkspaceEditParams
    ) -> types.ApplyWorkspaceEditResult | None:
        """The server's ``AgentServer.apply_edit``: the request crosses the wire, the
        editor handles it, the answer crosses back (after any didChange sent before)."""
        timeout = self.settings.edits.apply_timeout
        answer: asyncio.Future[types.ApplyWorkspaceEditResult | Exception] = (
            self.loop.create_future()
        )
        self.loop.call_later(self.loop.delay(0.0, 0.02), self._handle, params, answer)
        try:
            result = await asyncio.wait_for(answer, timeout)
        except TimeoutError:
            raise EditorError(f"the editor did not answer the edit in {timeout:g} s") from None
        if isinstance(result, Exception):
            raise result
        return result

    def _handle(
        self, params: types.ApplyWorkspaceEditParams, answer: asyncio.Future[object]
    ) -> None:
        outcome: types.ApplyWorkspaceEditResult | Exception
        outcome = types.ApplyWorkspaceEditResult(applied=True)
        for change in params.edit.document_changes or []:
            assert isinstance(change, types.TextDocumentEdit)
            version = change.text_document.version
            if version is not None and version not in self.seen_by_server:
                self.violation(f"an edit against version {version}, never sent to the server")
            if version is not None and version != self.version:
                b = self.behaviour
                if b.strict:
                    reason = (
                        f"Edits on {self.uri} require version {version}, you have {self.version}"
                    )
                    outcome = (
                        RuntimeError(reason)
                        if b.refusal_is_error
                        else types.ApplyWorkspaceEditResult(applied=False, failure_reason=reason)
                    )
                    self.log.append(f"{self.loop.now:.3f} refused edit v{version}")
                    continue
                if version > 0:  # Neovim: "newer than edits", skipped, applied=true
                    self.log.append(f"{self.loop.now:.3f} skipped edit v{version}")
                    continue
                # Neovim applies an edit naming version 0 unchecked, onto a buffer the
                # user changed: a client bug no server can prevent (CLIENTS.md).
                self.unchecked_stale_edit = True
            self._apply_text_edits(change.edits)  # type: ignore[arg-type]
        if self.behaviour.report_before_answer:
            self.flush()
        self.send(lambda: answer.done() or answer.set_result(outcome))
        if not self.behaviour.report_before_answer:
            self._schedule_flush()

    def _apply_text_edits(self, edits: list[types.TextEdit]) -> None:
        text = self.text
        spans = [
            (
                _offset(text, e.range.start.line, e.range.start.character),
                _offset(text, e.range.end.line, e.range.end.character),
                e.new_text,
            )
            for e in edits
        ]
        for start, end, new in sorted(spans, reverse=True):
            self.log.append(f"{self.loop.now:.3f} agent {start}-{end} {new!r}")
            self._replace(start, end, new, "a", check=True)
            if self.kind == "nvim":  # each changed range is a buffer event: when no
                self._schedule_flush()  # debounce is pending, each is its own didChange
