"""A focused rewrite: the model rewrites one region and the text streams in line by line.

Read top to bottom: find the region -> build the prompt -> stream the reply, writing
every finished line into the region -> write the exact final text. A failure or a
cancel restores the original (or keeps finished lines, by setting); typing inside
the region stops the task without touching the user's text.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import PurePosixPath

from agentls.agent.extract import CodeExtractor, indent_unit, reindent
from agentls.agent.prompts import file_window, template
from agentls.agent.tasks import Status, Task, TaskResult
from agentls.config import Settings
from agentls.context.languages import language_for
from agentls.context.scope import Target, resolve_target
from agentls.context.trees import DocumentTrees
from agentls.edits.documents import EditorError, Snapshot
from agentls.edits.editor import Editor
from agentls.edits.positions import Span, StalePosition
from agentls.edits.region import RegionConflict, RegionWriter, streaming_text
from agentls.edits.text import LineIndex, line_break, split_lines
from agentls.model.base import Message, Model, ModelError, StreamEnd, TextDelta, UsageReport
from agentls.model.tokens import count_tokens

log = logging.getLogger(__name__)


class EditedFirst(Exception):
    """The user edited the region after asking, before the agent wrote anything."""


@dataclass(frozen=True)
class RewriteRequest:
    instruction: str
    span: Span  # where the request points, in the text it came with; empty: the scope
    snapshot: Snapshot | None = None  # that text (None: the document as it is now)

    @property
    def uri(self) -> str:
        return self.span.uri


# Gives the code of other files that the region uses (rendered snippets), within a budget.
RelatedCode = Callable[[Snapshot, int, int], str]


def build_messages(
    text: str,
    uri: str,
    language: str,
    target: Target,
    instruction: str,
    budget: int,
    related: str = "",
) -> list[Message]:
    region = text[target.start : target.end].rstrip("\r\n")
    first = LineIndex(text).line_of(target.start) + 1
    last = first + len(split_lines(region)) - 1 if region else first
    user = template("rewrite_user.md").substitute(
        path=PurePosixPath(uri).name,
        language=language,
        context=file_window(text, target.start, target.end, budget - count_tokens(related)),
        related=(
            "Code from other files of the workspace that it uses:\n" + related + "\n"
            if related
            else ""
        ),
        what=target.what,
        first_line=first,
        last_line=last,
        region=region,
        instruction=instruction,
    )
    return [Message("system", template("rewrite_system.md").template), Message("user", user)]


class Rewrite:
    def __init__(
        self,
        task: Task,
        request: RewriteRequest,
        *,
        model: Model,
        editor: Editor,
        settings: Settings,
        report: Callable[[str], None],
        trees: DocumentTrees | None = None,
        related: RelatedCode | None = None,
    ) -> None:
        self.task = task
        self.request = request
        self.model = model
        self.editor = editor
        self.settings = settings
        self.report = report
        self.trees = trees  # the documents' current syntax trees (None: parse here)
        self.related = related  # the context engine's pick from other files (None: none)
        self.extractor = CodeExtractor()
        self.usage_reported = False
        self.reverted = False  # the original was put back after a failure or cancel
        self.unrestored: str | None = None  # why the original could not be put back

    def _plan(self, snapshot: Snapshot, origin: Span) -> tuple[Target, list[Message]]:
        """Find the region and build the prompt (runs in a worker thread) on ``snapshot``:
        the target's offsets belong to that text only. The tree is the document's
        current one, brought up to date incrementally: no whole parse."""
        lang = language_for(self.request.uri, snapshot.language_id)
        parsed = self.trees.get(snapshot) if self.trees is not None and lang else None
        text = snapshot.text
        start, end = origin.offsets(snapshot)
        target = resolve_target(text, lang, start, end, parsed)
        budget = self.settings.context.max_tokens
        related = ""
        if self.related is not None:
            try:
                related = self.related(snapshot, target.start, budget // 3)
            except Exception:  # the rewrite goes on with the file alone
                log.exception("context selection failed")
        messages = build_messages(
            text,
            self.request.uri,
            lang.name if lang else "text",
            target,
            self.request.instruction,
            budget,
            related,
        )
        return target, messages

    async def _prepare(self) -> None:
        """Everything before the model call, off the event loop: the prompt of a big file
        must not stall the editor's other requests. The plan is made on the text the
        request names (what the user saw when asking) and its region mapped through
        whatever the user typed since; typing inside the region itself stops the task
        (``EditedFirst``): the prompt would not show it, and the reply would overwrite it."""
        store = self.editor.store
        origin = self.request.span
        snapshot = self.request.snapshot
        if snapshot is None or snapshot.seq != origin.seq:
            snapshot = store.snapshot(origin.uri)
            origin = store.rebase(origin)
        self.target, self.messages = await asyncio.to_thread(self._plan, snapshot, origin)
        region = store.rebase(snapshot.span(self.target.start, self.target.end))
        if region.touched:
            raise EditedFirst(self.target.what)
        text = store.snapshot(origin.uri).text
        self.writer = RegionWriter(self.editor, region, f"agentls: {self.request.instruction[:60]}")
        original = self.writer.original
        # New lines end as the region's lines do (else as the file's): LF, CRLF or CR.
        self.eol = line_break(original if ("\n" in original or "\r" in original) else text)
        start = self.writer.start
        at_line_start = start == 0 or text[start - 1] in "\r\n"
        first = next((ln for ln in original.splitlines() if ln.strip()), "")
        self.indent = first[: len(first) - len(first.lstrip())] if at_line_start else None
        # One level of the region's indentation (else the file's): a tab, or some spaces.
        self.unit = indent_unit(split_lines(original)) or indent_unit(text.splitlines())

    async def run(self) -> TaskResult:
        try:
            await self._prepare()
        except (EditorError, StalePosition) as error:
            return TaskResult(self.task.id, "failed", str(error), usage=self.task.usage)
        except EditedFirst as edited:
            return TaskResult(
                self.task.id,
                "cancelled",
                f"Stopped: the {edited} was edited after you asked, before the agent wrote "
                "anything; nothing was changed. Ask again to rewrite it as it is now.",
                usage=self.task.usage,
            )
        self.task.forget = self.writer.release
        try:
            return await self._run()
        finally:
            if self.task.undo is None:  # nothing left to undo: stop tracking the region
                self.writer.release()

    async def _run(self) -> TaskResult:
        task, writer = self.task, self.writer
        try:
            await self._stream()
        except ModelError as error:
            return await self._give_up("failed", error.message)
        except RegionConflict:
            return self._stopped_by_user()
        except EditorError as error:
            return await self._give_up("failed", f"The editor did not take the edit: {error}")
        except asyncio.CancelledError:
            if not task.cancel_handled():  # the server is going away
                await asyncio.shield(self._settle())
                raise
            await self._settle_through_cancels()
            if not self.wrote:
                return self._result("cancelled", "Cancelled. The document was left as it was.")
            return self._result("cancelled", "Cancelled. " + self._kept(), edited=True)
        task.undo, task.anchor = self.undo, writer.anchor
        if writer.current == writer.original:
            return self._result("done", f"No change was needed to the {self.where}.")
        return self._result("done", f"Rewrote the {self.where}.", edited=True)

    @property
    def where(self) -> str:
        """The region, by kind and the line it starts on now."""
        return f"{self.target.what} at line {self.line}"

    @property
    def line(self) -> int:
        return self.writer.line()

    @property
    def wrote(self) -> bool:
        """Whether any text of this task may be in the document."""
        if self.reverted:
            return False
        return self.writer.current != self.writer.original or self.writer.pending is not None

    def _stopped_by_user(self) -> TaskResult:
        if not self.wrote:
            return self._result(
                "cancelled",
                f"Stopped: the {self.where} was edited before the agent wrote anything; "
                "nothing was changed.",
            )
        self.task.undo, self.task.anchor = self.undo, self.writer.anchor
        return self._result(
            "cancelled",
            f"Stopped: the {self.where} was edited while the agent was writing. The lines it "
            "had written stay, with your edit; agentls.undo puts the original back and keeps "
            "what you typed.",
            edited=True,
        )

    async def _stream(self) -> None:
        changed = asyncio.Event()
        pump = asyncio.ensure_future(self._pump(changed))
        pump.add_done_callback(lambda _: changed.set())
        try:
            while True:
                await changed.wait()
                changed.clear()
                if pump.done():
                    pump.result()
                    break
                await self.writer.write(streaming_text(self.writer.original, self._compose()))
                self.task.step = f"writing: {len(self.extractor.lines)} lines"
                self.report(self.task.step)
            lines = self.extractor.finish()
            if not any(line.strip() for line in lines):
                raise ModelError("The model's reply held no code; nothing was changed.", "empty")
            await self.writer.write(self._compose(final=True))
        finally:
            if not pump.done():
                pump.cancel()
                await asyncio.wait([pump])
            elif not pump.cancelled():
                pump.exception()  # retrieved: the writer's error is the one reported

    async def _pump(self, changed: asyncio.Event) -> None:
        usage = self.task.usage
        self.task.step = "waiting for the model"
        self.report(self.task.step)
        async for event in self.model.stream(self.messages):
            if isinstance(event, TextDelta):
                if not self.usage_reported:
                    usage.output_tokens += count_tokens(event.text)
                if self.extractor.feed(event.text):
                    changed.set()
            elif isinstance(event, UsageReport):
                self.usage_reported = True
                usage.input_tokens = event.input_tokens
                usage.output_tokens = event.output_tokens
            elif isinstance(event, StreamEnd) and event.finish_reason == "length":
                limit = self.settings.model.max_output_tokens
                raise ModelError(
                    f"The model's reply was cut at model.maxOutputTokens ({limit}) before the "
                    "code was complete. Raise model.maxOutputTokens or rewrite a smaller region.",
                    "length",
                )
        if not self.usage_reported:
            usage.input_tokens = sum(count_tokens(m.content) for m in self.messages)

    def _compose(self, final: bool = False) -> str:
        lines = list(self.extractor.lines)
        if self.target.comment_line is not None:
            comment = self.target.comment_line.strip()
            lines = [ln for ln in lines if ln.strip() != comment]
        if self.indent is not None:
            lines = reindent(lines, self.indent, self.unit)
        if not lines:
            return ""
        text = self.eol.join(lines)
        if not final or self.writer.original.endswith(("\n", "\r")):
            text += self.eol
        return text

    async def _settle_through_cancels(self) -> None:
        """``_settle`` to its end: a second Cancel while the restore is in flight asks
        for what is being done already (stopping the restore halfway would leave the
        region cut, and the anchor it needs released)."""
        settle = asyncio.ensure_future(self._settle())
        while True:
            try:
                await asyncio.shield(settle)
                return
            except asyncio.CancelledError:
                if settle.done() or not self.task.cancel_handled():
                    raise  # the restore itself was cancelled: the server is going away

    def _kept(self) -> str:
        """What a stop that could not (or was not to) restore the original leaves."""
        if self.unrestored is None:
            return "The lines written so far were kept; agentls.undo reverts them."
        return (
            "The lines written so far were kept: they could not be restored "
            f"({self.unrestored}); agentls.undo tries again."
        )

    async def _settle(self) -> None:
        """After a cancel or failure: restore the original (keeping what the user typed),
        or keep the finished lines, by setting; what stays can be undone."""
        if self.settings.edits.on_cancel == "keep" or not self.wrote:
            self.task.undo, self.task.anchor = self.undo, self.writer.anchor
            return
        try:
            await self.writer.revert()
            self.reverted = True
        except (RegionConflict, EditorError) as error:
            log.info("could not restore the region: %s", error)
            self.unrestored = str(error)
            self.task.undo, self.task.anchor = self.undo, self.writer.anchor

    async def _give_up(self, status: Status, reason: str) -> TaskResult:
        await self._settle_through_cancels()
        if not self.wrote:
            return self._result(status, reason + " The document was left as it was.")
        if self.writer.pending is not None:
            reason += (
                " The editor did not confirm the last edit, so the region may hold part "
                "of the new text; agentls.undo restores it once the editor reports it."
            )
        else:
            reason += " " + self._kept()
        return self._result(status, reason, edited=True)

    def _result(self, status: Status, summary: str, edited: bool = False) -> TaskResult:
        edited_files = [self.request.uri] if edited else []
        return TaskResult(self.task.id, status, summary, edited_files, self.task.usage)

    async def undo(self) -> str:
        """Put the original text back, keeping what the user typed since; refuses,
        naming the lines, where that would lose the user's edit."""
        try:
            merged = await self.writer.revert()
        except RegionConflict as error:
            raise RegionConflict(f"Not undone: {error}.") from None
        self.task.undo = self.task.anchor = None
        self.writer.release()
        if merged.moved:
            first = self.writer.line()
            lines = ", ".join(str(first + n - 1) for n in merged.moved)
            return (
                f"Undone. The lines you typed among the agent's lines were kept after the "
                f"restored code (line {lines})."
            )
        if merged.text != self.writer.original:
            return "Undone; what you typed in the region since was kept."
        return "Undone."
