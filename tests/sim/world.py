"""One seed of the edit simulation: a focused rewrite in a simulated editor while a
simulated user types, cancels and undoes at random moments.

The server side is the real code: ``DocumentStore``, ``LspEditor`` (versioned
``workspace/applyEdit``, waiting for didChange), ``Rewrite`` with its
``RegionWriter``, ``TaskRegistry`` (cancel) and the task's undo. The editor, the
wire, the model and the user are simulated (``editors.py``), all timed by the
seeded virtual clock (``clock.py``). ``run_seed`` returns what went wrong, if
anything, with a log to replay it by.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field

from agentls.agent.rewrite import Rewrite, RewriteRequest
from agentls.agent.tasks import TaskRegistry, TaskResult
from agentls.config import Settings
from agentls.edits.documents import DocumentStore, EditorError
from agentls.edits.region import RegionConflict
from agentls.lsp.editor import LspEditor
from agentls.model.base import Message, ModelError, ModelEvent, StreamEnd, TextDelta
from tests.sim import clock
from tests.sim.editors import SimEditor

URI = "file:///ws/calc.py"
BODIES = [
    "    return a - b\n",
    "    total = a\n    total -= b\n    return total\n",
    "    if a < b:\n        return b - a\n    return a - b\n",
]
PIECES = ["x", "é", "😀", "𝔘", " ", "\n", "\r\n", "# typed\n", "y = 1\n", "if x:\n    pass\n", "中"]


def _source(rng: clock.random.Random) -> tuple[str, tuple[int, int], str]:
    """A small file, the region (the middle function) and the model's new function."""
    body = rng.choice(BODIES)
    head = "import math\n\n\ndef first(a):\n    return a\n\n\n"
    region = f"def diff(a, b):\n{body}"
    tail = "\n\ndef last(c):\n    return c * 2\n"
    if rng.random() < 0.15:  # indented with tabs (the reply has 4 spaces)
        region = region.replace("    ", "\t")
    eol = rng.choices(["\n", "\r\n", "\r"], weights=[6, 3, 1])[0]
    if eol != "\n":
        head, region, tail = (part.replace("\n", eol) for part in (head, region, tail))
    new_lines = [
        "def diff(a: float, b: float) -> float:",
        '    """The difference a - b."""',
        *(["    # ✓ checked 😀"] if rng.random() < 0.5 else []),
        "    result = a - b",
        "    return result",
    ]
    reply = "Here it is:\n\n```python\n" + "\n".join(new_lines) + "\n```\n"
    return head + region + tail, (len(head), len(head) + len(region)), reply


@dataclass
class SimModel:
    """A model that streams ``reply`` in random chunks with random pauses (and, rarely,
    breaks off or runs out of tokens)."""

    loop: clock.SimLoop
    reply: str
    calls: int = 0

    async def stream(self, messages: Sequence[Message]) -> AsyncIterator[ModelEvent]:
        rng = self.loop.rng
        self.calls += 1
        await asyncio.sleep(rng.uniform(0.0, 1.5))  # silent: the user types meanwhile
        text, at = self.reply, 0
        fail_at = rng.randrange(len(text)) if rng.random() < 0.06 else None
        cut = rng.random() < 0.06
        while at < len(text):
            size = rng.randint(1, 40)
            if fail_at is not None and at + size > fail_at:
                raise ModelError("The model's stream was cut off midway.", "cut")
            yield TextDelta(text[at : at + size])
            at += size
            await asyncio.sleep(rng.choice((0.0, 0.0, rng.uniform(0.0, 0.2))))
        yield StreamEnd("length" if cut else "stop")


@dataclass
class Outcome:
    seed: int
    kind: str
    problems: list[str] = field(default_factory=list)
    log: list[str] = field(default_factory=list)
    result: TaskResult | None = None
    undo: str | None = None
    client_bug: bool = False

    def explain(self) -> str:
        lines = [f"seed {self.seed} editor {self.kind}: {'; '.join(self.problems)}"]
        if self.result is not None:
            lines.append(f"result: {self.result.status}: {self.result.summary}")
        if self.undo is not None:
            lines.append(f"undo: {self.undo}")
        return "\n".join([*lines, *self.log[-60:]])


class SimRewrite(Rewrite):
    """The real rewrite; tells the editor which text it took for the region's original."""

    sim: SimEditor

    async def _prepare(self) -> None:
        await super()._prepare()
        snapshot = self.editor.store.snapshot(URI)
        self.sim.adopt_region(snapshot.version, self.writer.start, self.writer.end)


class User:
    """Types at random moments: before, inside and after the region."""

    def __init__(self, editor: SimEditor) -> None:
        self.editor = editor
        self.rng = editor.loop.rng

    def act(self) -> None:
        editor, rng = self.editor, self.rng
        text = editor.text
        region = [i for i, t in enumerate(editor.tags) if t in "Ra"]
        lo, hi = (region[0], region[-1] + 1) if region else (0, len(text))
        where = rng.choice(("before", "inside", "after", "anywhere"))
        bounds = {
            "before": (0, lo),
            "inside": (lo, hi),
            "after": (hi, len(text)),
            "anywhere": (0, len(text)),
        }[where]
        at = rng.randint(*bounds)
        if text[at - 1 : at + 1] == "\r\n":
            at -= 1  # never between \r and \n
        if rng.random() < 0.25 and at < len(text):
            end = min(len(text), at + rng.randint(1, 6))
            if text[end - 1 : end + 1] == "\r\n":
                end += 1
            editor.type(at, end, "")
        else:
            editor.type(at, at, rng.choice(PIECES))


async def _scenario(loop: clock.SimLoop, kind: str, outcome: Outcome) -> None:
    rng = loop.rng
    source, region, reply = _source(rng)
    store = DocumentStore()
    editor = SimEditor.open(kind, loop, store, URI, source, region)
    outcome.log = editor.log
    user = User(editor)
    settings = Settings()
    lsp_editor = LspEditor(editor, store)  # type: ignore[arg-type]
    registry = TaskRegistry()
    task = registry.new("add type hints", URI)
    model = SimModel(loop, reply)
    # The user's moments, relative to the command.
    moments = sorted(rng.uniform(0.0, 3.0) for _ in range(rng.randint(0, 6)))
    for at in moments:
        loop.call_later(at, user.act)
    if rng.random() < 0.15:
        loop.call_later(rng.uniform(0.0, 3.0), registry.cancel, task.id)

    # The command: pending didChange flushed first (Neovim does), the range taken
    # from the client's buffer, delivered in order after the changes.
    editor.flush()
    arrived = loop.create_future()
    sent_range = _region_now(editor)  # in the buffer as the client sends the command
    editor.send(lambda: arrived.set_result(None))
    await arrived
    named = store.snapshot(URI)  # the text the command names, stamped on arrival
    stamped = named.span(*sent_range)
    await asyncio.sleep(rng.uniform(0.0, 0.5))  # settings, the SDK's import: awaits
    rewrite = SimRewrite(
        task,
        RewriteRequest("add type hints", stamped, named),
        model=model,  # type: ignore[arg-type]
        editor=lsp_editor,
        settings=settings,
        report=lambda _: None,
    )
    rewrite.sim = editor
    registry.start(task, lambda _: rewrite.run())
    assert task.runner is not None
    outcome.result = result = await task.runner
    if task.undo is not None and rng.random() < 0.5:
        await asyncio.sleep(rng.uniform(0.0, 1.0))
        for _ in range(rng.randint(0, 2)):
            loop.call_later(rng.uniform(0.0, 0.3), user.act)
        try:
            outcome.undo = await task.undo()
        except (RegionConflict, EditorError) as error:
            outcome.undo = f"refused: {error}"
    await asyncio.sleep(max(moments, default=0.0) + 0.1)
    editor.flush()
    await asyncio.sleep(1.0)
    _check(editor, store, rewrite, result, outcome)


def _region_now(editor: SimEditor) -> tuple[int, int]:
    """The region in the client's buffer now (the original region's characters)."""
    marks = [i for i, t in enumerate(editor.tags) if t == "R"]
    if not marks:
        return 0, 0
    return marks[0], marks[-1] + 1


def _check(
    editor: SimEditor, store: DocumentStore, rewrite: Rewrite, result: TaskResult, out: Outcome
) -> None:
    problems = out.problems
    if editor.unchecked_stale_edit:
        out.client_bug = True  # the editor garbled it, not the server: counted apart
        return
    problems.extend(editor.violations)
    if editor.text != store.snapshot(URI).text:
        problems.append("the server's text differs from the editor's")
    block = [i for i, t in enumerate(editor.tags) if t in "Ra"]
    if block and "o" in editor.tags[block[0] : block[-1]]:
        problems.append("the agent's text is not in one piece with the region")
    if not hasattr(rewrite, "writer"):
        return
    writer = rewrite.writer
    agent = "".join(c for c, t in zip(editor.chars, editor.tags, strict=True) if t in "Ra")
    undone = out.undo is not None and not out.undo.startswith("refused")
    if editor.user_in_region:
        pass  # the user typed in the region: the checks of each edit apply
    elif undone or (result.status != "done" and not result.edited_files):
        if agent != writer.original:
            problems.append(f"the region should hold the original: {agent!r}")
    elif result.status == "done" and agent != writer.current:
        problems.append(f"the region should hold the new text: {agent!r}")
    if editor.user_in_region:
        return
    if agent != writer.original and not undone and writer.current != writer.original:
        if result.edited_files != [URI]:
            problems.append("the document was changed but editedFiles is empty")
        if rewrite.task.undo is None:
            problems.append("the document was changed and nothing can undo it")


def run_seed(seed: int, kind: str) -> Outcome:
    outcome = Outcome(seed, kind)
    try:
        clock.run(seed, lambda loop: _scenario(loop, kind, outcome))
    except (clock.Deadlock, clock.Livelock) as error:
        outcome.problems.append(f"{type(error).__name__.lower()}: {error}")
    return outcome
