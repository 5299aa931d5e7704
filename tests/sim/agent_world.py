"""The full agent's edits of an open buffer, simulated: the real ``LspEditSink``
(merge onto the user's typing, versioned edits through ``LspEditor``, undo step by
step) while the simulated user types.

The agent reads the buffer as a tool does (``text_of``), waits (the model thinks, an
approval is asked), then writes its change of one line; a few such edits, then
maybe an undo. Checked: no agent edit removes what the user typed; the editor and
the server agree; an edit the sink reports done is in the text exactly once (unless
the user edited it); after an undo reported done, none of the agent's text is left.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from lsprotocol import types

from agentls.edits.documents import DocumentStore, EditorError
from agentls.lsp.edit_sink import LspEditSink
from agentls.lsp.editor import LspEditor
from agentls.tools.workspace import ToolDenied
from tests.sim import clock
from tests.sim.editors import SimEditor
from tests.sim.world import URI, Outcome, User, _source

MARK = "  # agent"


class Host:
    """What the sink and ``LspEditor`` need of the LSP server."""

    def __init__(self, editor: SimEditor, store: DocumentStore) -> None:
        self.store = store
        self.settings = editor.settings
        self.encoding = "utf-16"
        self.apply_edit = editor.apply_edit
        self.client_capabilities = types.ClientCapabilities()
        self.editor = LspEditor(self, store)  # type: ignore[arg-type]


async def _scenario(loop: clock.SimLoop, kind: str, outcome: Outcome) -> None:
    rng = loop.rng
    source, _region, _ = _source(rng)
    store = DocumentStore()
    editor = SimEditor.open(kind, loop, store, URI, source, (0, 0))
    editor.region_only = False  # the agent may edit any line
    outcome.log = editor.log
    user = User(editor)
    sink = LspEditSink(Host(editor, store), Path("/ws"), "agentls: sim")  # type: ignore[arg-type]
    for at in sorted(rng.uniform(0.0, 3.0) for _ in range(rng.randint(0, 8))):
        loop.call_later(at, user.act)
    done: list[str] = []
    unsure = False  # an edit or the undo whose fate the server could not tell
    for _ in range(rng.randint(1, 4)):
        await asyncio.sleep(rng.uniform(0.0, 0.6))  # the model's turn
        old = sink.text_of("calc.py")
        assert old is not None
        lines = [ln for ln in old.splitlines(keepends=True) if ln.strip() and MARK not in ln]
        if not lines:
            break
        line = rng.choice(lines)
        body = line.rstrip("\r\n")
        new = old.replace(line, body + MARK + line[len(body) :], 1)
        await asyncio.sleep(rng.choice((0.0, rng.uniform(0.0, 0.5))))  # an approval
        try:
            await sink.write("calc.py", old, new)
            done.append(body + MARK)
        except ToolDenied as denied:
            editor.log.append(f"{loop.now:.3f} tool refused: {denied}")
            unsure = unsure or "may or may not" in str(denied)
    undone = False
    if sink.changes and rng.random() < 0.6:
        await asyncio.sleep(rng.uniform(0.0, 0.5))
        for _ in range(rng.randint(0, 2)):
            loop.call_later(rng.uniform(0.0, 0.3), user.act)
        try:
            outcome.undo = await sink.undo()
            undone = True
        except EditorError as error:
            outcome.undo = f"refused: {error}"
            unsure = unsure or "may be in it" in str(error)
    await asyncio.sleep(3.5)
    editor.flush()
    await asyncio.sleep(1.0)
    _check(editor, store, done, undone and not unsure, outcome, unsure)


def _check(
    editor: SimEditor,
    store: DocumentStore,
    done: list[str],
    undone: bool,
    out: Outcome,
    unsure: bool,
) -> None:
    if editor.unchecked_stale_edit:
        out.client_bug = True
        return
    problems = out.problems
    problems.extend(editor.violations)
    text = editor.text
    if text != store.snapshot(URI).text:
        problems.append("the server's text differs from the editor's")
    if editor.user_touched_agent or unsure:
        return  # what the user did to the agent's text, or what nobody could tell
    if undone and MARK in text:
        problems.append("undo said done, but agent text is left")
    if not undone and text.count(MARK) != len(done):
        problems.append(f"{len(done)} edits reported done, {text.count(MARK)} in the text")


def run_seed(seed: int, kind: str) -> Outcome:
    outcome = Outcome(seed, kind)
    try:
        clock.run(seed, lambda loop: _scenario(loop, kind, outcome))
    except (clock.Deadlock, clock.Livelock) as error:
        outcome.problems.append(f"{type(error).__name__.lower()}: {error}")
    return outcome
