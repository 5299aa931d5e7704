"""The focused rewrite on the core alone: scripted model, in-memory editor."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest

from agentls.agent.rewrite import Rewrite, RewriteRequest
from agentls.agent.tasks import TaskRegistry, TaskResult
from agentls.config import EditSettings, Settings
from agentls.context import scope
from agentls.context.trees import DocumentTrees
from agentls.edits.editor import MemoryEditor
from agentls.edits.region import RegionConflict
from agentls.edits.text import TextChange
from tests.support.scripted_model import ScriptedModel, ScriptedReply

URI = "file:///w/calc.py"
SOURCE = "import math\n\n\ndef area(r):\n    return 3.14 * r * r\n\n\nX = 1\n"
OLD_FUNCTION = "def area(r):\n    return 3.14 * r * r\n"
NEW_FUNCTION = 'def area(r):\n    """Area."""\n    return math.pi * r * r\n'
FENCED = "Sure:\n```python\n" + NEW_FUNCTION + "```\n"


async def rewrite(
    model: ScriptedModel,
    settings: Settings | None = None,
    editor: MemoryEditor | None = None,
    start: int | None = None,
) -> tuple[TaskResult, MemoryEditor, Rewrite]:
    editor = editor or MemoryEditor()
    if editor.store.get(URI) is None:
        editor.store.open(URI, 0, SOURCE, "python")
    tasks = TaskRegistry()
    task = tasks.new("use math.pi", URI)
    at = SOURCE.index("return") if start is None else start
    job = Rewrite(
        task,
        RewriteRequest("use math.pi", editor.store.snapshot(URI).span(at, at)),
        model=model,
        editor=editor,
        settings=settings or Settings(),
        report=lambda _: None,
    )
    tasks.start(task, lambda _: job.run())
    assert task.runner is not None
    return await task.runner, editor, job


async def test_the_function_is_rewritten_line_by_line() -> None:
    model = ScriptedModel([ScriptedReply(FENCED, chunk=3, delay=0.001)])
    result, editor, _job = await rewrite(model)
    assert result.status == "done", result
    assert editor.store.snapshot(URI).text == SOURCE.replace(OLD_FUNCTION, NEW_FUNCTION)
    assert len(editor.applied) >= 2, "finished lines stream in before the reply ends"
    assert result.usage.output_tokens > 0 and result.usage.input_tokens > 0
    prompt = model.calls[0][1].content
    assert "use math.pi" in prompt and "<<<REGION" in prompt and "import math" in prompt


async def test_usage_from_the_server_wins_over_counting() -> None:
    model = ScriptedModel([ScriptedReply(FENCED, usage=(123, 45))])
    result, _, _ = await rewrite(model)
    assert (result.usage.input_tokens, result.usage.output_tokens) == (123, 45)


async def test_a_stream_cut_midway_restores_the_original() -> None:
    model = ScriptedModel([ScriptedReply(FENCED, chunk=4, delay=0.002, fail_after=14)])
    result, editor, _ = await rewrite(model)
    assert result.status == "failed"
    assert "cut off" in result.summary and "left as it was" in result.summary
    assert len(editor.applied) >= 2, "some lines had streamed in before the cut"
    assert editor.store.snapshot(URI).text == SOURCE


async def test_keep_setting_keeps_whole_lines_and_undo_reverts_them() -> None:
    settings = replace(Settings(), edits=EditSettings(on_cancel="keep"))
    model = ScriptedModel([ScriptedReply(FENCED, chunk=4, delay=0.002, fail_after=14)])
    result, editor, job = await rewrite(model, settings)
    text = editor.store.snapshot(URI).text
    assert result.status == "failed" and "kept" in result.summary
    assert text != SOURCE and 'def area(r):\n    """Area."""\n' in text
    assert job.task.undo is not None
    await job.task.undo()
    assert editor.store.snapshot(URI).text == SOURCE


async def test_cancel_stops_the_stream_and_restores_the_original() -> None:
    model = ScriptedModel([ScriptedReply(FENCED, chunk=2, delay=0.01)])
    editor = MemoryEditor()
    editor.store.open(URI, 0, SOURCE, "python")
    tasks = TaskRegistry()
    task = tasks.new("x", URI)
    at = SOURCE.index("return")
    job = Rewrite(
        task,
        RewriteRequest("x", editor.store.snapshot(URI).span(at, at)),
        model=model,
        editor=editor,
        settings=Settings(),
        report=lambda _: None,
    )
    tasks.start(task, lambda _: job.run())
    while len(editor.applied) < 2:
        await asyncio.sleep(0.005)
    tasks.cancel(task.id)
    assert task.runner is not None
    result = await task.runner
    assert result.status == "cancelled"
    sent = model.deltas_sent
    await asyncio.sleep(0.05)
    assert model.deltas_sent == sent, "the model stream was closed"
    assert editor.store.snapshot(URI).text == SOURCE


async def test_undo_restores_and_refuses_after_the_user_changed_the_text() -> None:
    result, editor, job = await rewrite(ScriptedModel([ScriptedReply(FENCED)]))
    assert result.status == "done" and job.task.undo is not None
    # The user edits inside the rewritten function: undo must refuse.
    text = editor.store.snapshot(URI).text
    at = text.index("math.pi") + 2  # inside the characters the agent wrote
    editor.store.change(URI, 99, [TextChange(at, at, "USER")])
    try:
        await job.task.undo()
    except RegionConflict as error:
        assert "edited since" in str(error)
    else:
        raise AssertionError("undo did not refuse")
    assert "maUSERth.pi" in editor.store.snapshot(URI).text


async def test_undo_after_typing_elsewhere_still_works() -> None:
    _result, editor, job = await rewrite(ScriptedModel([ScriptedReply(FENCED)]))
    editor.store.change(URI, 99, [TextChange(0, 0, "# top\n")])
    assert job.task.undo is not None
    assert await job.task.undo() == "Undone."
    assert editor.store.snapshot(URI).text == "# top\n" + SOURCE


async def test_a_reply_without_code_changes_nothing() -> None:
    result, editor, _ = await rewrite(ScriptedModel([ScriptedReply("Sure!\n```\n```\n")]))
    assert result.status == "failed" and "no code" in result.summary
    assert editor.store.snapshot(URI).text == SOURCE


async def test_instruction_comment_is_dropped_and_indentation_restored() -> None:
    source = "class A:\n    # agent: add a docstring\n    def f(self):\n        return 1\n"
    editor = MemoryEditor()
    editor.store.open(URI, 0, source, "python")
    # The model echoes the comment and dedents the method to column 0.
    reply = '```python\n# agent: add a docstring\ndef f(self):\n    """One."""\n    return 1\n```'
    at = source.index("# agent")
    result, editor, _ = await rewrite(
        ScriptedModel([ScriptedReply(reply)]), editor=editor, start=at
    )
    assert result.status == "done"
    assert editor.store.snapshot(URI).text == (
        'class A:\n    def f(self):\n        """One."""\n        return 1\n'
    )


async def test_a_rewrite_uses_the_documents_current_tree(monkeypatch: pytest.MonkeyPatch) -> None:
    """With the document's trees, a task's start parses nothing whole: the tree was
    kept current from the changes (here: one edit before the task)."""
    editor = MemoryEditor()
    trees = DocumentTrees(idle_reparse=None)
    editor.store.listeners.append(trees)
    editor.store.open(URI, 0, SOURCE, "python")
    editor.store.change(URI, 1, [TextChange(0, 0, "# 数据 🚀\n")])
    snapshot = editor.store.snapshot(URI)

    def no_whole_parse(*args: object, **kwargs: object) -> None:
        raise AssertionError("parsed the whole file at the task's start")

    monkeypatch.setattr(scope, "parse_text", no_whole_parse)
    tasks = TaskRegistry()
    task = tasks.new("use math.pi", URI)
    at = snapshot.text.index("return")
    job = Rewrite(
        task,
        RewriteRequest("use math.pi", editor.store.snapshot(URI).span(at, at)),
        model=ScriptedModel([ScriptedReply(FENCED)]),
        editor=editor,
        settings=Settings(),
        report=lambda _: None,
        trees=trees,
    )
    tasks.start(task, lambda _: job.run())
    assert task.runner is not None
    result = await task.runner
    assert result.status == "done", result
    assert editor.store.snapshot(URI).text == snapshot.text.replace(OLD_FUNCTION, NEW_FUNCTION)
    assert trees.reparses == 1  # the one incremental reparse, for the edit before the task
