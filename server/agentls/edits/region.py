"""Write a region of a document, step by step, without ever overwriting the user.

``RegionWriter.write(target)`` makes the region hold ``target`` with a minimal
versioned edit, then waits for the editor to report the new version before it
returns: the next edit is always computed against text the editor really has.
If the user typed inside the region meanwhile, it stops (``RegionConflict``) and
leaves their text alone; typing elsewhere only moves the region, and typing at its
very edges stays outside it. What is the task's own is read from the changes the
editor reported since the edit was sent (``positions.follow``): its lines added at
the region's edges are taken in, nobody else's.
"""

from __future__ import annotations

import asyncio
from difflib import SequenceMatcher

from agentls.edits.diff import minimal_changes
from agentls.edits.documents import EditorError, Snapshot
from agentls.edits.editor import Editor
from agentls.edits.merge import Merged, landed, merge3
from agentls.edits.positions import Followed, Span, follow
from agentls.edits.text import TextChange, apply_changes, line_break, split_lines

MAX_ATTEMPTS = 8
FOLLOW_LIMIT = 512  # reported changes an unconfirmed edit is looked for among


class RegionConflict(Exception):
    """The user changed the text inside the region; the writer stopped."""


class RegionWriter:
    def __init__(self, editor: Editor, span: Span, label: str) -> None:
        """Write into ``span`` (of any recent text of its document: it is mapped to the
        current one first)."""
        self.editor = editor
        self.uri = span.uri
        self.label = label
        self.anchor = editor.store.anchor(span)
        self.anchor.touched = False  # what is there now is the original
        snapshot = editor.store.snapshot(self.uri)
        self.original = snapshot.text[self.anchor.start : self.anchor.end]
        self.current = self.original
        self.edits_sent = 0
        self.pending: str | None = None  # the target of an edit the editor never confirmed
        # The last edit sent, not yet all seen among the reported changes: the text it was
        # made on, the region there, and its changes.
        self.sent: tuple[Snapshot, int, int, list[TextChange]] | None = None
        self.verdict: bool | None = True  # did the last edit land (None: cannot tell)

    @property
    def start(self) -> int:
        return self.anchor.start

    @property
    def end(self) -> int:
        return self.anchor.end

    def _follow(self) -> Followed | None:
        """Put the region where the changes reported since the last edit was sent say:
        our changes inside (even at its edges), anyone else's at its edges outside.
        None when there is no such edit, or no history to tell by."""
        if self.sent is None or self.anchor.lost:
            return None
        before, start, end, changes = self.sent
        reported = self.editor.store.changes_since(self.uri, before.seq)
        if reported is None or len(reported) > FOLLOW_LIMIT:
            self.sent = None  # too long ago to tell by (each step copies the text)
            return None
        followed = follow(before.text, start, end, changes, reported)
        self.anchor.start, self.anchor.end = followed.start, followed.end
        self.anchor.touched = followed.touched
        if followed.found == followed.sent:
            self.sent = None  # all of it is in: the anchor's own rule suffices from now on
        return followed

    def check(self) -> None:
        """Raise ``RegionConflict`` if the region no longer holds what we wrote."""
        self._follow()  # an edit of ours reported late is ours
        if not self.anchor.touched:
            return
        self.content()  # a lost anchor says so
        snapshot = self.editor.store.snapshot(self.uri)
        if snapshot.text[self.anchor.start : self.anchor.end] != self.current:
            raise RegionConflict("the text inside the region was changed in the editor")
        self.anchor.touched = False

    async def write(self, target: str) -> None:
        """Make the region hold ``target``; a cancel waits for the edit in flight."""
        for _ in range(MAX_ATTEMPTS):
            self.check()
            if self.current == target:
                return
            step = asyncio.ensure_future(self._step(target))
            try:
                done = await asyncio.shield(step)
            except asyncio.CancelledError:
                # The edit may already be on its way: learn its fate, then re-raise.
                await asyncio.wait([step])
                if not step.cancelled():
                    step.exception()  # what it did is in current/pending
                raise
            if done:
                return
        raise EditorError(f"the editor did not take the edit after {MAX_ATTEMPTS} attempts")

    async def _step(self, target: str) -> bool:
        self.check()  # the user may have typed since ``write`` looked (a task starts later)
        store = self.editor.store
        before = store.snapshot(self.uri)
        start, end = self.anchor.start, self.anchor.end
        changes = minimal_changes(self.current, target, offset=start)
        expected = apply_changes(before.text, changes)
        self.edits_sent += 1
        self.pending = target
        self.sent = (before, start, end, changes)
        self.verdict = None
        self.anchor.ours = list(changes)  # taken in as they come back
        try:
            await self.editor.apply(before, changes, self.label)  # EditorError: pending stays
        finally:
            self.anchor.ours = []  # what is still out there is for ``follow`` to find
        self.pending = None
        if self.anchor.lost:
            self.content()  # raises: the document was closed or reopened meanwhile
        after = store.snapshot(self.uri)
        if after.text == expected:  # nobody else typed: the region is exactly ours
            self.anchor.reset(start, start + len(target))
            self.current, self.sent, self.verdict = target, None, True
            return True
        followed = self._follow()
        content = after.text[self.anchor.start : self.anchor.end]
        # Whether our edit is in: told by the changes the editor reported, else by the texts.
        verdict = followed.landed if followed else landed(self.current, target, content)
        self.verdict = verdict
        if content == target:  # applied, and the user typed outside the region
            self.current = target
            self.anchor.touched = False
            return True
        if content == self.current and not verdict:  # not applied (stale, refused): again
            self.anchor.touched = False
            self.verdict = False
            return False
        # The user typed inside the region too.
        if verdict:
            self.current = target
        elif verdict is None:
            self.pending = target  # maybe: undo considers both
        raise RegionConflict("the text inside the region was changed in the editor")

    def content(self) -> str:
        """The region's text now."""
        if self.anchor.lost:
            raise RegionConflict(
                "the document was closed (or reopened) since: its text can no longer be "
                "matched to this task's, so nothing was changed"
            )
        self._follow()
        snapshot = self.editor.store.snapshot(self.uri)
        return snapshot.text[self.anchor.start : self.anchor.end]

    def adopt(self, content: str) -> None:
        """Take the region's text now (with the user's edits) as the base to write on."""
        self.current, self.pending = content, None
        self.anchor.touched = False

    def release(self) -> None:
        self.editor.store.release(self.uri, self.anchor)

    def line(self) -> int:
        """The 1-based line the region starts on now."""
        snapshot = self.editor.store.snapshot(self.uri)
        return snapshot.index.line_of(self.anchor.start) + 1

    async def revert(self) -> Merged:
        """Put the original text back, keeping what the user typed in the region since
        (lines typed inside rewritten lines are kept after them: ``moved``, 1-based in
        the region). Raises ``RegionConflict`` naming the lines it cannot restore
        without losing the user's edit; then nothing is changed."""
        # What this task wrote: its last confirmed text, or the edit it never learned the
        # fate of. Fixed for every attempt: the user's edits are never part of it. The
        # original as a base merges to the text as it is, whatever is there: it tells
        # nothing when the other text may be in the document.
        written = [self.current] if self.pending is None else [self.current, self.pending]
        if len(written) > 1 and self.original in written:
            written.remove(self.original)
        saved = self.current, self.pending
        for _ in range(MAX_ATTEMPTS):
            content = self.content()
            bases = sorted(written, key=lambda b: -_likeness(b, content))
            tries = [merge3(base, self.original, content) for base in bases]
            merged = next((m for m in tries if m.clean), None)
            if merged is None:
                self.current, self.pending = saved  # nothing done: still this task's text
                first = self.line()
                where = ", ".join(
                    f"{first + a - 1}" if a == b else f"{first + a - 1}-{first + b - 1}"
                    for a, b in tries[0].conflicts
                )
                raise RegionConflict(
                    f"line {where} holds text this task wrote that was edited since; "
                    "restoring the original there would lose that edit, so nothing was "
                    "undone (undo your edit there first, or revert by hand)"
                )
            self.adopt(content)
            if merged.text == content:
                return merged
            try:
                await self.write(merged.text)
            except RegionConflict:
                if self.anchor.lost:
                    raise
                if self.verdict:
                    self.adopt(self.content())
                    return merged  # it landed; the user typed after it
                # Not in (the user typed first), or part of it may be (they typed where it
                # was going): merge again from what this task wrote, which restores what
                # is still its text or refuses, naming the lines.
                continue
            return merged
        self.current, self.pending = saved
        raise RegionConflict("the region kept changing while it was being restored")


def _likeness(a: str, b: str) -> float:
    """How close two texts are, by lines (the base nearest the text now is the one
    the user's few keystrokes were made on)."""
    return SequenceMatcher(None, split_lines(a), split_lines(b), autojunk=False).ratio()


def streaming_text(original: str, done: str) -> str:
    """What the region shows while new text streams in: the finished new lines,
    then the part of the original they have not yet replaced (a region without a final
    line break never gets one: a selection inside a line stays inside it)."""
    if not done:
        return original
    old_lines = split_lines(original)
    new_lines = split_lines(done)
    matcher = SequenceMatcher(None, old_lines, new_lines, autojunk=False)
    blocks = [b for b in matcher.get_matching_blocks() if b.size]
    if blocks:
        last = blocks[-1]
        consumed = last.a + last.size + (len(new_lines) - (last.b + last.size))
    else:
        consumed = len(new_lines)
    rest = "".join(old_lines[min(consumed, len(old_lines)) :])
    if not rest and not original.endswith(("\n", "\r")):
        # A region that ends inside a line (a selection): the text after it stays on
        # that line; the line break of the last finished line would split it.
        return done[: len(done) - len(line_break(done[-2:]))] if done[-1] in "\r\n" else done
    return done + rest
