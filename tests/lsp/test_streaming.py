"""Streaming into a document the user is editing, with clients that behave differently."""

from __future__ import annotations

import asyncio

import pytest
from lsprotocol import types

from tests.support.lsp_session import (
    command,
    lsp_session,
    model_options,
    run,
    wait_for_edits,
)
from tests.support.model_server import ScriptedModelServer, text_reply

URI = "file:///tmp/agentls-test/s.py"
HEAD = "# 数据 😀 header\nimport os\n\n\n"
FUNC = 'def greet(name):\n    return "héllo 😀 世界 " + name\n'
TAIL = "\n\ndef other():\n    return 2\n"
SOURCE = HEAD + FUNC + TAIL
NEW_FUNC = (
    'def greet(name):\n    """Greet 😀 in 世界."""\n'
    + "".join(f"    part{i} = 'ü{i}'\n" for i in range(12))
    + '    return "héllo 😀 世界 " + name.title()\n'
)
REPLY = "```python\n" + NEW_FUNC + "```\n"


def args() -> dict[str, object]:
    at = {"line": 5, "character": 6}  # inside greet's body
    return {"instruction": "document it", "uri": URI, "range": {"start": at, "end": at}}


@pytest.mark.parametrize(
    "editor_options",
    [
        {},
        {"stale": "skip", "change_delay": 0.05, "version_step": 3},  # Neovim 0.7
        {"stale": "strict", "change_delay": 0.2},  # eglot 1.9
    ],
    ids=["vscode-like", "neovim-like", "eglot-like"],
)
async def test_unicode_text_streams_in_exactly(
    model: ScriptedModelServer, editor_options: dict[str, object]
) -> None:
    model.enqueue(text_reply(REPLY, tokens_per_second=400))
    async with lsp_session(model_options(model.base_url), **editor_options) as (client, editor):
        editor.open(URI, SOURCE)
        result = await run(client, args())
        assert result["status"] == "done", result
        assert editor.text(URI) == HEAD + NEW_FUNC + TAIL
        applied = [e for e in editor.log if e.outcome == "applied"]
        assert len(applied) >= 3


@pytest.mark.parametrize(
    "editor_options",
    [
        {},
        {"stale": "skip", "change_delay": 0.05, "version_step": 3},
        {"stale": "strict", "change_delay": 0.2},
    ],
    ids=["vscode-like", "neovim-like", "eglot-like"],
)
async def test_typing_elsewhere_while_streaming(
    model: ScriptedModelServer, editor_options: dict[str, object]
) -> None:
    model.enqueue(text_reply(REPLY, tokens_per_second=150))
    async with lsp_session(model_options(model.base_url), **editor_options) as (client, editor):
        editor.open(URI, SOURCE)
        running = asyncio.ensure_future(run(client, args()))
        await wait_for_edits(editor, 1)
        editor.type(URI, 0, 0, "# typed at the top 🙂\n")  # above: moves the region down
        await wait_for_edits(editor, 3)
        last = editor.text(URI).count("\n")
        editor.type(URI, last, 0, "# typed at the end\n")  # below the region
        result = await running
        assert result["status"] == "done", result
        assert editor.text(URI) == (
            "# typed at the top 🙂\n" + HEAD + NEW_FUNC + TAIL + "# typed at the end\n"
        )


async def test_typing_inside_the_region_stops_without_overwriting(
    model: ScriptedModelServer,
) -> None:
    model.enqueue(text_reply(REPLY, tokens_per_second=100))
    async with lsp_session(model_options(model.base_url)) as (client, editor):
        editor.open(URI, SOURCE)
        running = asyncio.ensure_future(run(client, args()))
        await wait_for_edits(editor, 2)
        at = editor.position_of(URI, "def greet(name):", after=True)
        editor.type(URI, at.line, at.character, "  # MINE")
        result = await running
        assert result["status"] == "cancelled"
        assert "stay, with your edit" in result["summary"], result["summary"]
        assert result["editedFiles"] == [URI]
        text = editor.text(URI)
        assert "def greet(name):  # MINE\n" in text
        assert text.startswith(HEAD) and text.endswith(TAIL)
        assert len([e for e in editor.log if e.outcome == "applied"]) <= 4
        # Undo gives the original back and keeps what the user typed.
        answer = await command(client, "agentls.undo", {"taskId": result["taskId"]})
        assert answer["status"] == "undone", answer
        await asyncio.sleep(0.05)
        mine = SOURCE.replace("def greet(name):\n", "def greet(name):  # MINE\n", 1)
        assert editor.text(URI) == mine


async def test_undo_restores_and_code_actions_offer_it(model: ScriptedModelServer) -> None:
    model.enqueue(text_reply(REPLY))
    async with lsp_session(model_options(model.base_url)) as (client, editor):
        editor.open(URI, SOURCE)
        result = await run(client, args())
        assert result["status"] == "done"
        editor.type(URI, 0, 0, "# later edit elsewhere\n")
        await asyncio.sleep(0.05)
        at = editor.position_of(URI, "part3")
        actions = await client.text_document_code_action_async(
            types.CodeActionParams(
                text_document=types.TextDocumentIdentifier(uri=URI),
                range=types.Range(start=at, end=at),
                context=types.CodeActionContext(diagnostics=[]),
            )
        )
        titles = {a.title: a for a in actions or [] if isinstance(a, types.CodeAction)}
        assert "Undo agent edit" in titles and "Accept agent edit" in titles
        undo = titles["Undo agent edit"].command
        assert undo is not None and list(undo.arguments or []) == [{"taskId": result["taskId"]}]
        edits_before = len(editor.log)
        answer = await command(client, "agentls.undo", undo.arguments[0])
        assert answer["status"] == "undone", answer
        assert editor.text(URI) == "# later edit elsewhere\n" + SOURCE
        assert len(editor.log) == edits_before + 1, "undo is one edit"
        again = await command(client, "agentls.undo", undo.arguments[0])
        assert again["status"] == "refused"


async def test_undo_refuses_after_the_user_changed_the_region(model: ScriptedModelServer) -> None:
    model.enqueue(text_reply(REPLY))
    async with lsp_session(model_options(model.base_url)) as (client, editor):
        editor.open(URI, SOURCE)
        result = await run(client, args())
        at = editor.position_of(URI, "part3")
        editor.type(URI, at.line, at.character, "USER_")
        await asyncio.sleep(0.05)
        answer = await command(client, "agentls.undo", {"taskId": result["taskId"]})
        assert answer["status"] == "refused"
        assert "edited since" in answer["message"]
        assert "USER_part3" in editor.text(URI)


async def test_progress_is_reported_and_cancellable(model: ScriptedModelServer) -> None:
    slow = "```python\n" + "".join(f"x{i} = {i}\n" for i in range(300)) + "```\n"
    model.enqueue(text_reply(slow, tokens_per_second=200))
    async with lsp_session(model_options(model.base_url)) as (client, editor):
        editor.open(URI, SOURCE)
        running = asyncio.ensure_future(run(client, args()))
        await wait_for_edits(editor, 2)
        [token] = [  # the task's progress (the workspace index may show its own)
            t
            for t, reports in client.progress_reports.items()
            if "indexing" not in getattr(reports[0], "title", "")
        ]
        begin = client.progress_reports[token][0]
        assert isinstance(begin, types.WorkDoneProgressBegin) and begin.cancellable
        client.protocol.notify(
            types.WINDOW_WORK_DONE_PROGRESS_CANCEL, types.WorkDoneProgressCancelParams(token=token)
        )
        result = await running
        assert result["status"] == "cancelled"
        assert editor.text(URI) == SOURCE
        kinds = [type(v).__name__ for v in client.progress_reports[token]]
        assert kinds[0] == "WorkDoneProgressBegin" and kinds[-1] == "WorkDoneProgressEnd"
        assert "WorkDoneProgressReport" in kinds


async def test_works_without_progress_or_document_changes_support(
    model: ScriptedModelServer,
) -> None:
    model.enqueue(text_reply(REPLY, tokens_per_second=400))
    bare = types.ClientCapabilities()  # a minimal client: no progress, no documentChanges
    async with lsp_session(model_options(model.base_url), capabilities=bare) as (client, editor):
        editor.open(URI, SOURCE)
        result = await run(client, args())
        assert result["status"] == "done", result
        assert editor.text(URI) == HEAD + NEW_FUNC + TAIL
        assert client.progress_reports == {}
        assert all(e.version is not None for e in editor.log), "edits are always versioned"


async def test_a_client_blocked_on_the_command_gets_an_early_answer(
    model: ScriptedModelServer,
) -> None:
    """eglot sends didChange from an idle timer, never while its command request is open."""
    model.enqueue(text_reply(REPLY, tokens_per_second=400))
    async with lsp_session(model_options(model.base_url)) as (client, editor):
        editor.open(URI, SOURCE)
        editor.hold = True
        result = await run(client, args())
        assert result["status"] == "running", result
        assert len([e for e in editor.log if e.outcome == "applied"]) == 1
        editor.release()  # the command returned: the editor goes idle and reports
        for _ in range(200):
            if any("Rewrote" in m.message for m in client.messages):
                break
            await asyncio.sleep(0.025)
        assert any("Rewrote the function" in m.message for m in client.messages)
        assert editor.text(URI) == HEAD + NEW_FUNC + TAIL
        status = await command(client, "agentls.status")
        assert status["running"] == [] and status["recent"][-1]["status"] == "done"


async def test_undo_answers_early_to_a_blocked_client(model: ScriptedModelServer) -> None:
    model.enqueue(text_reply(REPLY))
    async with lsp_session(model_options(model.base_url)) as (client, editor):
        editor.open(URI, SOURCE)
        result = await run(client, args())
        assert result["status"] == "done"
        editor.hold = True
        answer = await command(client, "agentls.undo", {"taskId": result["taskId"]})
        assert answer["status"] == "pending", answer
        editor.release()
        for _ in range(200):
            if any("Undone" in m.message for m in client.messages):
                break
            await asyncio.sleep(0.025)
        assert any(f"undo of {result['taskId']}: Undone." in m.message for m in client.messages)
        assert editor.text(URI) == SOURCE
