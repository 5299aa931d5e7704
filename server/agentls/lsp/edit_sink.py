"""The agent's file changes as ``workspace/applyEdit``: the editor's undo and dirty state
work for every file a task touches, open or not.

- An open document gets a versioned ``TextDocumentEdit`` of the minimal changes,
  through ``LspEditor`` (which waits for the editor's ``didChange``); its text before
  the edit must still be what the tool computed against, else the user changed it
  meanwhile and the edit is refused.
- A file not open gets a ``TextDocumentEdit`` without a version (the editor loads it
  into a buffer, unsaved), created first with ``CreateFile`` when it is new, or a
  ``DeleteFile``. Until the editor opens that document for us, the text we sent is
  what the tools read (``text_of``), not the disk. A client that announces no
  resource operations gets new and deleted files on disk instead.
- Every file's text before the task and after it is kept: ``undo`` reverts them all
  in one workspace edit, refusing when any of them changed since (a file the task
  deleted is written back to the disk, where it was).
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING

from lsprotocol import types

from agentls.context.files import local_path
from agentls.edits.diff import minimal_changes
from agentls.edits.documents import EditorError, Snapshot
from agentls.edits.landed import trace
from agentls.edits.merge import landed, merge3
from agentls.edits.placed import Placed, placed_at
from agentls.edits.text import TextChange
from agentls.lsp.convert import text_edits
from agentls.lsp.editor import REFUSAL_GRACE, settled
from agentls.lsp.file_change import FileChange, changes_to, undo_target
from agentls.lsp.opened_race import opened_meanwhile
from agentls.tools.command_checkpoint import CommandCheckpoint, undo_message
from agentls.tools.workspace import ToolDenied

if TYPE_CHECKING:
    from agentls.lsp.server import AgentServer

log = logging.getLogger(__name__)

DELETED = None  # an overlay entry: the file was deleted by the task
UNDO_REPORT_GRACE = 0.5  # seconds for the didChange of a partly applied undo
MAX_ATTEMPTS = 4  # edits of an open buffer the editor refused (stale) before giving up


class _TryAgain(Exception):
    """The undo edit was refused or skipped: compute again if the user typed meanwhile
    (``seqs``: each open document's change number the undo was computed on)."""

    def __init__(self, message: str, seqs: dict[str, int], unsure: set[str] | None = None) -> None:
        super().__init__(message)
        self.seqs = seqs
        self.unsure = unsure or set()


class LspEditSink:
    def __init__(self, server: AgentServer, root: Path, label: str) -> None:
        self.server = server
        self.root = root
        self.label = label
        self.changes: dict[str, FileChange] = {}  # by workspace-relative path
        self.overlay: dict[str, str | None] = {}  # text sent to unopened files
        # the undo by position of an open file: (its change number, the changes)
        self.undo_pieces: dict[str, tuple[int, list[TextChange]]] = {}
        self.commands: CommandCheckpoint | None = None  # what commands changed on the disk
        self.restored = 0  # files an undo has put back so far

    # -- where a file's text is ---------------------------------------------------------
    def open_uri(self, relative: str) -> str | None:
        """The uri under which the editor has ``relative`` open, if it has."""
        target = os.path.realpath(self.root / relative)
        for uri in self.server.store.uris():
            path = local_path(uri)
            if path is not None and os.path.realpath(path) == target:
                return uri
        return None

    def uri_of(self, relative: str) -> str:
        return self.open_uri(relative) or (self.root / relative).as_uri()

    def text_of(self, relative: str) -> str | None:
        """The editor's text of ``relative`` when it holds one (for ``Workspace``):
        the open buffer, or what this task sent to an unopened file."""
        uri = self.open_uri(relative)
        if uri is not None:
            snapshot = self.server.store.snapshot(uri)
            sent = self.overlay.get(relative, DELETED)
            if sent is None or snapshot.text == sent:
                self.overlay.pop(relative, None)  # the editor's buffer is the truth now
                return snapshot.text
            # Opened by our edit: its didOpen holds the disk's text, and the editor may
            # report the edit itself a moment later (Neovim's debounce). Until a change
            # comes after the didOpen, what we sent is the text.
            opened = self.server.store.opened(uri)
            if opened is not None and snapshot.seq == opened.seq:
                return sent
            self.overlay.pop(relative, None)
            return snapshot.text
        if relative in self.overlay:
            text = self.overlay[relative]
            if text is DELETED:
                raise ToolDenied(f"{relative}: no such file (this task deleted it)")
            return text
        return None

    def current(self, relative: str) -> str | None:
        """The file's text now, wherever it is (None: no such file)."""
        try:
            text = self.text_of(relative)
        except ToolDenied:
            return None
        if text is not None:
            return text
        path = self.root / relative
        try:
            return path.read_text(encoding="utf-8") if path.is_file() else None
        except (OSError, UnicodeDecodeError):
            return None

    def _supports(self, kind: types.ResourceOperationKind) -> bool:
        workspace = self.server.client_capabilities.workspace
        edit = workspace.workspace_edit if workspace else None
        return bool(edit and edit.resource_operations and kind in edit.resource_operations)

    # -- EditSink -------------------------------------------------------------------------
    async def write(self, relative: str, old: str | None, new: str) -> None:
        uri = self.open_uri(relative)
        if uri is None:
            await self._edit_closed(relative, old, new)
            step = None
            if old is not None:  # the user may have opened it meanwhile
                try:
                    step = await opened_meanwhile(self, relative, self.uri_of(relative), old, new)
                except ToolDenied as unsure:  # changed by the task, but not safely undone
                    self._record(relative, old, new)
                    self.changes[relative].unsure = str(unsure)
                    self.overlay.pop(relative, None)
                    raise
            before, after = step or (old, new)
            if step is not None:  # opened meanwhile: the buffer is the truth now
                self.overlay.pop(relative, None)
            self._record(relative, before, after)
            self.changes[relative].steps.append((before or "", after))
            self.changes[relative].placed.append(None)
            return
        change = self.changes.get(relative)
        first = change is None
        if change is None:
            text = self.server.store.snapshot(uri).text
            change = self.changes[relative] = FileChange(text, text)
        try:
            await self._edit_open(relative, uri, old, new)
        finally:
            if change.steps:
                change.after = change.steps[-1][1]
                change.edited_at = time.monotonic()
            elif first:
                del self.changes[relative]  # nothing of the task's there

    async def delete(self, relative: str, old: str) -> None:
        uri = self.uri_of(relative)
        path = self.root / relative
        try:
            on_disk: str | None = path.read_text(encoding="utf-8") if path.is_file() else None
        except (OSError, UnicodeDecodeError):
            on_disk = None
        if self._supports(types.ResourceOperationKind.Delete):
            op = types.DeleteFile(
                uri=uri, options=types.DeleteFileOptions(ignore_if_not_exists=True)
            )
            try:
                await self._apply(types.WorkspaceEdit(document_changes=[op]))
            except ToolDenied as denied:
                raise ToolDenied(f"{relative}: not deleted: {denied}") from None
        else:
            (self.root / relative).unlink()
        self.overlay[relative] = DELETED
        self._record(relative, old, None)
        change = self.changes[relative]
        if not change.deleted_on_disk:
            change.deleted_on_disk, change.disk_before = True, on_disk

    def _record(self, relative: str, old: str | None, new: str | None) -> None:
        change = self.changes.get(relative)
        if change is None:
            change = self.changes[relative] = FileChange(old, new)
        change.after = new
        change.edited_at = time.monotonic()

    async def _edit_open(self, relative: str, uri: str, old: str | None, new: str) -> None:
        """Make the buffer hold ``new``; what the user typed since the tool read ``old``
        stays (the tool's change is merged onto it, or refused where they overlap)."""
        for _ in range(MAX_ATTEMPTS):
            snapshot = self.server.store.snapshot(uri)
            target = self._merged(relative, old, new, snapshot.text)
            changes = minimal_changes(snapshot.text, target)
            if not changes:
                return
            sent = asyncio.ensure_future(self.server.editor.apply(snapshot, changes, self.label))
            try:
                await asyncio.shield(sent)
            except asyncio.CancelledError:  # the task is cancelled: learn the edit's fate
                await asyncio.wait([sent])  # (bounded by edits.applyTimeout)
                if not sent.cancelled():
                    sent.exception()
                verdict, placed = self._landed(snapshot, changes, target)
                if verdict is not False:
                    self._step(relative, snapshot.text, target, placed)  # in there, or maybe
                raise
            except EditorError as error:  # refused, closed meanwhile, or never reported
                verdict, placed = self._landed(snapshot, changes, target)
                if verdict:
                    self._step(relative, snapshot.text, target, placed)
                    return  # it landed after all
                raise ToolDenied(f"{relative}: not changed: {error}") from None
            after = self.server.store.get(uri)
            if after is None:
                raise ToolDenied(f"{relative}: closed in the editor meanwhile; not changed")
            verdict, placed = self._landed(snapshot, changes, target)
            if verdict:
                self._step(relative, snapshot.text, target, placed)
                return
            if verdict is None:  # maybe in there: undo takes it out if it is
                self._step(relative, snapshot.text, target, None)
                raise ToolDenied(
                    f"{relative}: the user typed where the edit was going while it was "
                    "sent, so it may or may not be in the file; read the file again"
                )
        raise ToolDenied(f"{relative}: the editor did not take the edit; read it again")

    def _landed(
        self, sent: Snapshot, changes: list[TextChange], target: str
    ) -> tuple[bool | None, Placed | None]:
        """Whether the edit ``changes`` of ``sent`` (making ``target``) is in the buffer:
        found among the changes the editor reported since (then also where it is), or
        else by the texts."""
        store = self.server.store
        reported = store.changes_since(sent.uri, sent.seq)
        now = store.get(sent.uri)
        if reported is None or now is None:  # no history to tell by
            return (None if now is None else landed(sent.text, target, now.text)), None
        verdict, where = trace(sent.text, changes, reported)
        if verdict is None and now.text == target:  # reported in another shape: it is there
            return True, None
        if not verdict:
            return verdict, None
        olds = [sent.text[c.start : c.end] for c in changes]
        return True, placed_at(sent.uri, now.seq, where, olds, [c.new_text for c in changes])

    async def put_right(self, relative: str, uri: str, now: str, target: str) -> None:
        """Make the open buffer ``target`` where it holds ``now`` (keeping what the user
        types meanwhile): a repair, not a step of the task's own (see opened_race.py)."""
        created = relative not in self.changes
        change = self.changes.setdefault(relative, FileChange(now, now))
        count = len(change.steps)
        try:
            await self._edit_open(relative, uri, now, target)
        finally:
            del change.steps[count:], change.placed[count:]
            if created:
                del self.changes[relative]

    def _merged(self, relative: str, old: str | None, new: str, now: str) -> str:
        """``new`` (made on ``old``) on top of the buffer ``now``."""
        if old is None or now == old:
            return new
        merged = merge3(old, new, now)
        if merged.conflicts:
            lines = ", ".join(f"{a}-{b}" if a != b else str(a) for a, b in merged.conflicts)
            raise ToolDenied(
                f"{relative}: the user changed line {lines} in the editor meanwhile, where "
                "this edit goes; nothing was written. Read it again and redo the change"
            )
        return merged.text

    def _step(self, relative: str, before: str, after: str, placed: Placed | None) -> None:
        """One change the task made to an open buffer. The file's text before the task is
        the text right before its first change (what the user typed while that edit was
        being made, or sent again, belongs to the user)."""
        change = self.changes[relative]
        if not change.steps:
            change.before = before
        change.steps.append((before, after))
        change.placed.append(placed)

    async def _edit_closed(self, relative: str, old: str | None, new: str) -> None:
        uri = (self.root / relative).as_uri()
        if old is None and not self._supports(types.ResourceOperationKind.Create):
            path = self.root / relative  # no CreateFile in this client: on disk
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(new, encoding="utf-8")
            return
        base = old or ""
        document = types.OptionalVersionedTextDocumentIdentifier(uri=uri, version=None)
        snapshot = Snapshot(uri, 0, base, -1)
        edits: list[types.TextEdit | types.AnnotatedTextEdit | types.SnippetTextEdit]
        edits = list(text_edits(snapshot, minimal_changes(base, new), self.server.encoding))
        if not base:  # to the end of an empty file's one line: Neovim then drops the
            # empty last line its buffer holds (else a new file gets a blank line more)
            end = types.Position(line=1, character=0)
            edits = [types.TextEdit(range=types.Range(start=end, end=end), new_text=new)]
            edits[0].range.start = types.Position(line=0, character=0)
        ops: list[types.TextDocumentEdit | types.CreateFile | types.RenameFile | types.DeleteFile]
        ops = []
        if old is None:  # no options: Neovim 0.7 creates nothing on disk with ignoreIfExists
            ops.append(types.CreateFile(uri=uri))
        ops.append(types.TextDocumentEdit(text_document=document, edits=edits))
        try:
            await self._apply(types.WorkspaceEdit(document_changes=ops))
        except ToolDenied as denied:
            if old is None and (self.root / relative).exists():
                # The editor created the file, then refused its text: the task's undo
                # must remove that file too.
                left = self.current(relative) or ""
                self._record(relative, None, left)
                self.overlay[relative] = left
                raise ToolDenied(
                    f"{relative}: {denied} (the file was created, empty: its text was not written)"
                ) from None
            raise ToolDenied(f"{relative}: not changed: {denied}") from None
        self.overlay[relative] = new

    async def _apply(self, edit: types.WorkspaceEdit) -> None:
        params = types.ApplyWorkspaceEditParams(edit=edit, label=self.label)
        try:
            result = await self.server.apply_edit(params)
        except Exception as error:
            raise ToolDenied(f"the editor refused the edit: {error}") from None
        if result is not None and not result.applied:
            reason = result.failure_reason or "applied=false"
            raise ToolDenied(f"the editor refused the edit: {reason}")

    def _is_back(self, relative: str, change: FileChange) -> bool:
        if change.before is None:  # created: back when gone from the editor and the disk
            return self.open_uri(relative) is None and not (self.root / relative).exists()
        try:  # none of the task's changes left in it
            return self._undo_target(relative, change) == self.current(relative)
        except EditorError:
            return False

    async def _after_refused_undo(self, refusal: str, waits: list[tuple[str, int]]) -> str:
        """The editor refused the undo edit, maybe after applying part of it (an editor
        without transactional edits): the files it did put back are done, so that
        another undo reverts the rest. What to tell the user."""
        for uri, seq in waits:  # an open document's part may still be reported
            try:
                await self.server.store.wait_for_change(uri, seq, UNDO_REPORT_GRACE)
            except EditorError:
                pass
        reverted = [r for r, c in self.changes.items() if self._is_back(r, c)]
        self.restored += len(reverted)
        for relative in reverted:
            change = self.changes.pop(relative)
            if change.before is None:
                self.overlay[relative] = DELETED
            else:
                self.overlay.pop(relative, None)
        if not reverted:
            return f"{refusal}; nothing was undone"
        rest = ", ".join(sorted(self.changes)) or "nothing"
        return (
            f"{refusal}; the editor restored {', '.join(sorted(reverted))} only "
            f"(undo again for the rest: {rest})"
        )

    # -- undo -----------------------------------------------------------------------------
    @property
    def has_changes(self) -> bool:
        return bool(self.changes) or bool(self.commands is not None and self.commands.changes)

    def edited_uris(self) -> list[str]:
        on_disk = self.commands.changes if self.commands is not None else {}
        return [self.uri_of(r) for r in sorted({*self.changes, *on_disk})]

    async def _reported(self) -> None:
        """Wait until the editor has reported the edits it applied to documents our
        edits opened (Neovim sends that didChange after answering applyEdit)."""
        timeout = self.server.settings.edits.apply_timeout
        for relative, sent in list(self.overlay.items()):
            uri = self.open_uri(relative)
            snapshot = self.server.store.get(uri) if uri else None
            if uri is None or snapshot is None or sent is None or snapshot.text == sent:
                continue
            try:
                await self.server.store.wait_for_change(uri, snapshot.seq, timeout)
            except EditorError:
                pass  # not reported: the check below says the file moved on

    async def undo(self) -> str:
        """Put back what the task's commands changed on the disk, then every file its
        tools changed, in one workspace edit (``undo_message`` says what was done)."""
        disk = await asyncio.to_thread(self.commands.undo) if self.commands else None
        return await undo_message(self._undo_edits if self.changes else None, disk)

    async def _undo_edits(self) -> str:
        """Put back every file as it was before the task, in one workspace edit; an edit
        refused or skipped because the user typed meanwhile is computed again on the
        text the editor then reports, and sent again."""
        self.restored = 0
        message = ""
        unsure: set[str] = set()  # files an earlier attempt may have changed after all
        for _ in range(MAX_ATTEMPTS):
            try:
                return await self._undo_once()
            except _TryAgain as again:
                message = str(again)
                unsure |= again.unsure
                if not await self._typed_meanwhile(again.seqs):
                    break  # refused for another reason (the user said no): do not insist
            except EditorError as error:
                message = str(error)
                break
        if unsure:
            message = message.replace("; nothing was undone", "")
            message += (
                f" (an undo edit of {', '.join(sorted(unsure))} was sent while you typed "
                "there and may be in it: check it)"
            )
        raise EditorError(message)

    async def _typed_meanwhile(self, seqs: dict[str, int]) -> bool:
        """Whether an open document still to undo changed since the undo was computed
        (the user typed: that is why the editor refused or skipped it), waiting briefly
        for the report. Documents the undo did put back do not count."""
        left = {self.open_uri(r) for r in self.changes}
        seqs = {uri: seq for uri, seq in seqs.items() if uri in left}
        for uri, seq in seqs.items():
            snapshot = self.server.store.get(uri)
            if snapshot is not None and snapshot.seq != seq:
                return True
        for uri, seq in seqs.items():
            try:
                await self.server.store.wait_for_change(uri, seq, REFUSAL_GRACE)
                return True
            except EditorError:
                continue
        return False

    async def _undo_once(self) -> str:
        await self._reported()
        targets = {r: self._undo_target(r, c) for r, c in sorted(self.changes.items())}
        ops: list[types.TextDocumentEdit | types.CreateFile | types.RenameFile | types.DeleteFile]
        ops = []
        on_disk: list[tuple[str, str | None]] = []  # what this client cannot do by edit
        waits: list[tuple[str, int]] = []
        checks: list[tuple[str, Snapshot, list[TextChange], str]] = []  # open documents
        for relative, change in sorted(self.changes.items()):
            if change.before == change.after:
                continue
            uri = self.uri_of(relative)
            open_snapshot = self.server.store.get(uri)
            if change.before is None:  # created: delete it
                if self._supports(types.ResourceOperationKind.Delete):
                    gone = types.DeleteFileOptions(ignore_if_not_exists=True)
                    ops.append(types.DeleteFile(uri=uri, options=gone))
                else:
                    on_disk.append((relative, None))
                continue
            if change.after is None:  # deleted (from the disk too): back on the disk
                on_disk.append((relative, change.before))
                continue
            now = self.current(relative) or ""
            if open_snapshot is not None and now != open_snapshot.text:
                # never offsets of one text sent against another: wait for the report
                raise EditorError(
                    f"{relative}: the editor has not reported this task's edit of it yet; "
                    "nothing was undone (undo again in a moment)"
                )
            target = targets[relative]
            assert target is not None  # None only for files the task created
            version = open_snapshot.version if open_snapshot is not None else None
            base = open_snapshot or Snapshot(uri, 0, now, -1)
            undoing = self._undoing(relative, open_snapshot, now, target)
            edits: list[types.TextEdit | types.AnnotatedTextEdit | types.SnippetTextEdit]
            edits = list(text_edits(base, undoing, self.server.encoding))
            document = types.OptionalVersionedTextDocumentIdentifier(uri=uri, version=version)
            ops.append(types.TextDocumentEdit(text_document=document, edits=edits))
            if open_snapshot is not None:
                waits.append((uri, open_snapshot.seq))
                checks.append((relative, open_snapshot, undoing, target))
            else:
                self.overlay[relative] = target
            if change.deleted_on_disk:  # deleted, then written again: the editor's
                # CreateFile left it empty; the disk gets its own text back
                disk = change.disk_before if change.disk_before is not None else change.before
                on_disk.append((relative, disk))
        if ops:
            try:
                await self._apply(types.WorkspaceEdit(document_changes=ops))
            except ToolDenied as denied:
                message = await self._after_refused_undo(str(denied), waits)
                raise _TryAgain(message, dict(waits)) from None
        for relative, text in on_disk:
            path = self.root / relative
            if text is None:
                path.unlink(missing_ok=True)
            else:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(text, encoding="utf-8")
                self.overlay.pop(relative, None)
        for relative, change in self.changes.items():
            if change.before is None:
                self.overlay[relative] = DELETED
        timeout = self.server.settings.edits.apply_timeout
        for uri, seq in waits:
            reported = await self.server.store.wait_for_change(uri, seq, timeout)
            target = next(t for _, sent, _, t in checks if sent.uri == uri)
            await settled(self.server.store, reported, target)
        missed, unsure = [], []  # an editor skips a stale edit yet answers applied (Neovim)
        for relative, sent, undoing, target in checks:
            verdict = self._landed(sent, undoing, target)[0]
            if verdict is None:
                unsure.append(relative)
            elif not verdict:
                missed.append(relative)
        count = len(self.changes) - len(missed) - len(unsure)
        self.restored += count
        kept = {r: self.changes[r] for r in [*missed, *unsure]}
        self.changes.clear()
        self.changes.update(kept)  # undo again: what is already back stays back
        if missed or unsure:
            said = []
            if missed:
                said.append(f"the editor did not apply the undo of {', '.join(missed)}")
            if unsure:
                said.append(
                    f"{', '.join(unsure)} changed where the undo went while it was sent "
                    "(check it: the undo may be in it)"
                )
            raise _TryAgain(
                f"{'; '.join(said)}; {self.restored} other file(s) restored; undo again for "
                "the rest",
                dict(waits),
                set(unsure),
            )
        count = self.restored
        return f"restored {count} file{'s' if count != 1 else ''}"

    def _undoing(
        self, relative: str, snapshot: Snapshot | None, now: str, target: str
    ) -> list[TextChange]:
        """The undo's changes of ``now``: exactly the pieces put back when the undo was
        computed by position on this very text, else a diff of the texts."""
        seq, pieces = self.undo_pieces.pop(relative, (None, []))
        if snapshot is not None and seq == snapshot.seq and snapshot.text == now:
            return changes_to(now, target, pieces)
        return changes_to(now, target, None)

    def _undo_target(self, relative: str, change: FileChange) -> str | None:
        """The file's text with the task's changes taken out and the user's kept.
        Raises ``EditorError`` naming the lines where both changed the same text."""
        uri = self.open_uri(relative)
        target, pieces = undo_target(
            self.server.store, relative, uri, change, self.current(relative)
        )
        if pieces is not None and uri is not None:
            self.undo_pieces[relative] = (self.server.store.snapshot(uri).seq, pieces)
        return target
