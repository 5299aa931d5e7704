"""The full agent over LSP (``agentls.run`` without a range): multi-step tasks against
the scripted model server, edits as workspace edits (open documents versioned, files
not open created/edited/deleted through the editor), undo of the whole task, the
approval policy, and the plan and ask modes."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from lsprotocol import types

from tests.support.fake_editor import FakeEditor
from tests.support.lsp_session import command, lsp_session, model_options, run
from tests.support.model_server import ScriptedModelServer, Step, text_reply, tool_call_reply
from tests.unit.context.workspace import SECRET, make_workspace

TEXT = (
    "import re\n\n\n"
    "def slugify(value: str) -> str:\n"
    '    return re.sub(r"[^a-z0-9]+", "-", value.lower()).strip("-")\n'
)


def options(model: ScriptedModelServer, approval: str = "auto-edit") -> dict[str, Any]:
    return {**model_options(model.base_url), "agent": {"approval": approval}}


def env_for(tmp_path: Path) -> dict[str, str]:
    return {"AGENTLS_CACHE_DIR": str(tmp_path / "cache")}


def tool_results(model: ScriptedModelServer, request: int) -> list[str]:
    return [m["content"] for m in model.requests[request]["messages"] if m["role"] == "tool"]


async def test_a_multi_file_task_edits_open_and_closed_files_and_undo_restores_all(
    model: ScriptedModelServer, tmp_path: Path
) -> None:
    root = make_workspace(tmp_path / "ws")
    text_uri = (root / "app/text.py").as_uri()
    service = (root / "app/service.py").read_text()
    model.enqueue(
        tool_call_reply([("read_file", {"path": "app/text.py"})]),
        tool_call_reply(
            [
                (
                    "edit_file",
                    {
                        "path": "app/text.py",
                        "old_string": "def slugify(value: str) -> str:",
                        "new_string": "def slugify(value: str, sep: str = '-') -> str:",
                    },
                ),
                (
                    "edit_file",
                    {
                        "path": "app/service.py",
                        "old_string": "text.slugify(name)",
                        "new_string": "text.slugify(name, sep='_')",
                    },
                ),
                ("write_file", {"path": "app/notes.md", "content": "# Notes\nsep added\n"}),
            ]
        ),
        tool_call_reply([("get_diagnostics", {})]),
        tool_call_reply([("finish", {"summary": "slugify takes a separator"})]),
    )
    async with lsp_session(options(model), root_uri=root.as_uri(), env=env_for(tmp_path)) as (
        client,
        editor,
    ):
        unsaved = TEXT + "\n# unsaved comment\n"
        editor.open(text_uri, unsaved)
        result = await run(client, {"instruction": "add a separator to slugify", "uri": text_uri})
        assert result["status"] == "done", result
        assert result["summary"] == "slugify takes a separator"
        assert result["usage"]["inputTokens"] > 0 and result["usage"]["outputTokens"] > 0
        # The model read the unsaved buffer, not the disk.
        assert "# unsaved comment" in tool_results(model, 1)[0]
        # The open document: a versioned edit; its unsaved text kept.
        assert "sep: str = '-'" in editor.text(text_uri) and "# unsaved comment" in editor.text(
            text_uri
        )
        versioned = [e for e in editor.log if e.uri == text_uri]
        assert versioned and all(e.version is not None for e in versioned)
        # The file not open: edited through the editor (unsaved there), disk untouched.
        service_uri = (root / "app/service.py").as_uri()
        assert service_uri in editor.opened_by_edit
        assert "text.slugify(name, sep='_')" in editor.text(service_uri)
        assert (root / "app/service.py").read_text() == service
        assert [e.version for e in editor.log if e.uri == service_uri] == [None]
        # The new file: CreateFile, then its text.
        notes_uri = (root / "app/notes.md").as_uri()
        assert [type(op).__name__ for op in editor.resource_log] == ["CreateFile"]
        assert editor.text(notes_uri) == "# Notes\nsep added\n"
        assert set(result["editedFiles"]) == {text_uri, service_uri, notes_uri}
        assert SECRET not in json.dumps(model.requests)

        status = await command(client, "agentls.status")
        assert status["recent"][-1]["taskId"] == result["taskId"]

        undone = await command(client, "agentls.undo", {"taskId": result["taskId"]})
        assert undone["status"] == "undone", undone
        assert editor.text(text_uri) == unsaved
        assert editor.text(service_uri) == service
        assert not (root / "app/notes.md").exists()
        assert type(editor.resource_log[-1]).__name__ == "DeleteFile"


async def test_undo_refuses_where_the_user_edited_the_agents_lines_and_keeps_the_rest(
    model: ScriptedModelServer, tmp_path: Path
) -> None:
    root = make_workspace(tmp_path / "ws")
    uri = (root / "app/text.py").as_uri()
    model.enqueue(
        tool_call_reply(
            [
                (
                    "edit_file",
                    {
                        "path": "app/text.py",
                        "old_string": "import re",
                        "new_string": "import re  # regex",
                    },
                )
            ]
        ),
        tool_call_reply([("finish", {"summary": "commented"})]),
    )
    async with lsp_session(options(model), root_uri=root.as_uri(), env=env_for(tmp_path)) as (
        client,
        editor,
    ):
        editor.open(uri, TEXT)
        result = await run(client, {"instruction": "comment the import", "uri": uri})
        assert result["status"] == "done"
        # The user edits the line the agent wrote: undo refuses, naming it.
        editor.type(uri, 0, len("import re  # re"), "!")
        undone = await command(client, "agentls.undo", {"taskId": result["taskId"]})
        assert undone["status"] == "refused", undone
        assert "app/text.py: line 1 was written by the task" in undone["message"]
        assert editor.text(uri) == "import re  # re!gex" + TEXT[len("import re") :]
        # The user takes that back and adds a line of their own above: undo takes the
        # agent's change out and keeps the user's line.
        editor.type(uri, 0, len("import re  # re"), "", end=(0, len("import re  # re!")))
        editor.type(uri, 0, 0, "# mine\n")
        undone = await command(client, "agentls.undo", {"taskId": result["taskId"]})
        assert undone["status"] == "undone", undone
        await asyncio.sleep(0.05)
        assert editor.text(uri) == "# mine\n" + TEXT


async def test_ask_approval_denied_changes_nothing_and_the_model_is_told(
    model: ScriptedModelServer, tmp_path: Path
) -> None:
    root = make_workspace(tmp_path / "ws")
    before = (root / "app/service.py").read_text()
    edit = (
        "edit_file",
        {"path": "app/service.py", "old_string": "User(name)", "new_string": "User(name.strip())"},
    )
    model.enqueue(
        tool_call_reply([edit]),
        tool_call_reply([edit]),
        tool_call_reply([("finish", {"summary": "the user said no"})]),
    )
    async with lsp_session(
        options(model, approval="ask"), root_uri=root.as_uri(), env=env_for(tmp_path)
    ) as (client, editor):
        editor.answers = ["Deny", "Allow once"]
        result = await run(client, {"instruction": "strip names"})
        assert result["status"] == "done"
        assert len(editor.asked) == 2 and "edit app/service.py" in editor.asked[0]
        assert "not changed: the user did not allow it" in tool_results(model, 1)[-1]
        # The second attempt was allowed once: it went through the editor.
        service_uri = (root / "app/service.py").as_uri()
        assert "User(name.strip())" in editor.text(service_uri)
        assert (root / "app/service.py").read_text() == before


async def test_plan_mode_acts_only_after_approval(
    model: ScriptedModelServer, tmp_path: Path
) -> None:
    root = make_workspace(tmp_path / "ws")
    (root / "AGENTS.md").write_text("Plans are numbered lists.\n")

    def plan_or_act(body: dict[str, Any]) -> Step:
        tools = {t["function"]["name"] for t in body["tools"]}
        if "edit_file" not in tools:  # planning: read-only tools
            return tool_call_reply([("finish", {"summary": "1. app/text.py: add sep"})])
        if len(body["messages"]) == 2:
            assert "1. app/text.py: add sep" in body["messages"][1]["content"]
            return tool_call_reply(
                [("write_file", {"path": "app/plan_done.txt", "content": "done\n"})]
            )
        return tool_call_reply([("finish", {"summary": "did the plan"})])

    async with lsp_session(options(model), root_uri=root.as_uri(), env=env_for(tmp_path)) as (
        client,
        editor,
    ):
        model.enqueue(plan_or_act)
        editor.answers = ["Reject"]
        rejected = await run(client, {"instruction": "add a separator", "mode": "plan"})
        assert (
            rejected["status"] == "cancelled" and "1. app/text.py: add sep" in rejected["summary"]
        )
        assert "1. app/text.py: add sep" in editor.asked[-1]
        assert not (root / "app/plan_done.txt").exists() and not editor.resource_log
        assert len(model.requests) == 1

        model.enqueue(plan_or_act, plan_or_act, plan_or_act)
        editor.answers = ["Approve plan"]
        approved = await run(client, {"instruction": "add a separator", "mode": "plan"})
        assert approved["status"] == "done" and approved["summary"] == "did the plan"
        assert (root / "app/plan_done.txt").exists()
        for body in model.requests:  # the project's instructions in every phase
            assert "Plans are numbered lists." in body["messages"][0]["content"]


async def test_ask_mode_answers_without_writing_tools(
    model: ScriptedModelServer, tmp_path: Path
) -> None:
    root = make_workspace(tmp_path / "ws")
    (root / "AGENTS.md").write_text("Answer with file and line.\n")
    model.enqueue(
        tool_call_reply([("find_symbol", {"name": "slugify"})]),
        tool_call_reply([("finish", {"summary": "slugify is in app/text.py, line 4"})]),
    )
    async with lsp_session(options(model), root_uri=root.as_uri(), env=env_for(tmp_path)) as (
        client,
        _,
    ):
        result = await run(client, {"instruction": "where is slugify?", "mode": "ask"})
        assert result["status"] == "done" and result["editedFiles"] == []
        tools = {t["function"]["name"] for t in model.requests[0]["tools"]}
        assert "edit_file" not in tools and "write_file" not in tools and "read_file" in tools
        shown = [m.message for m in client.messages]
        assert any("slugify is in app/text.py, line 4" in m for m in shown), shown
        assert "Answer with file and line." in model.requests[0]["messages"][0]["content"]


async def test_the_approval_mode_decides_which_kinds_of_tools_are_offered(
    model: ScriptedModelServer, tmp_path: Path
) -> None:
    """The same registry as the terminal's (tests/cli/test_exec_commands.py): read
    tools always, writing and command tools only where the policy offers them."""
    root = make_workspace(tmp_path / "ws")
    offered: dict[str, set[str]] = {}
    for approval in ("read-only", "auto-edit"):
        model.clear()
        model.enqueue(tool_call_reply([("finish", {"summary": "looked"})]))
        async with lsp_session(
            options(model, approval), root_uri=root.as_uri(), env=env_for(tmp_path)
        ) as (client, _):
            result = await run(client, {"instruction": "look"})
            assert result["status"] == "done", result
        offered[approval] = {t["function"]["name"] for t in model.requests[0]["tools"]}
    reads = {"read_file", "list_files", "search", "find_symbol", "get_diagnostics"}
    writes = {"edit_file", "write_file", "delete_file", "run_command"}
    assert reads <= offered["read-only"] and not writes & offered["read-only"]
    assert reads | writes <= offered["auto-edit"]


def _project(root: Path) -> Path:
    (root / "app").mkdir(parents=True)
    (root / "tests").mkdir()
    (root / "app/__init__.py").write_text("")
    (root / "app/text.py").write_text(TEXT)
    (root / "tests/__init__.py").write_text("")
    (root / "tests/test_text.py").write_text(
        "import unittest\n\nfrom app.text import slugify\n\n\n"
        "class SlugTest(unittest.TestCase):\n"
        "    def test_plain(self):\n"
        "        self.assertEqual(slugify('A b'), 'a-b')\n"
    )
    return root


async def test_read_edit_two_files_run_the_tests_fix_and_finish(
    model: ScriptedModelServer, tmp_path: Path
) -> None:
    """The whole loop through the editor: the edits stay unsaved in its buffers, and the
    sandboxed test command sees them; verify.commands runs before the task ends."""
    root = _project(tmp_path / "ws")
    text_uri, test_uri = (root / "app/text.py").as_uri(), (root / "tests/test_text.py").as_uri()
    check = "python3 -m unittest -q 2>&1"
    model.enqueue(
        tool_call_reply([("read_file", {"path": "app/text.py"})]),
        tool_call_reply(
            [
                (
                    "edit_file",
                    {
                        "path": "app/text.py",
                        "old_string": "def slugify(value: str) -> str:",
                        "new_string": 'def slugify(value: str, sep: str = "-") -> str:',
                    },
                ),
                (
                    "edit_file",
                    {
                        "path": "tests/test_text.py",
                        "old_string": "        self.assertEqual(slugify('A b'), 'a-b')\n",
                        "new_string": "        self.assertEqual(slugify('A b'), 'a-b')\n\n"
                        "    def test_sep(self):\n"
                        "        self.assertEqual(slugify('A b', sep='_'), 'a_b')\n",
                    },
                ),
            ]
        ),
        tool_call_reply([("run_command", {"command": check})]),
        tool_call_reply(
            [
                (
                    "edit_file",
                    {
                        "path": "app/text.py",
                        "old_string": '"-", value.lower()).strip("-")',
                        "new_string": "sep, value.lower()).strip(sep)",
                    },
                )
            ]
        ),
        tool_call_reply([("run_command", {"command": check})]),
        tool_call_reply([("finish", {"summary": "slugify takes sep; tests pass"})]),
    )
    settings = {**options(model, "full-auto"), "verify": {"commands": [check]}}
    async with lsp_session(settings, root_uri=root.as_uri(), env=env_for(tmp_path)) as (
        client,
        editor,
    ):
        editor.open(text_uri, TEXT)
        result = await run(client, {"instruction": "let slugify take a separator", "uri": text_uri})
        assert result["status"] == "done", result
        first_run, second_run = tool_results(model, 3)[-1], tool_results(model, 5)[-1]
        # The first run saw both unsaved edits: the new test exists and fails.
        assert "test_sep" in first_run and "FAILED" in first_run, first_run
        assert "[exit code 1" in first_run and "unsaved text of" in first_run
        assert "[exit code 0" in second_run and "OK" in second_run, second_run
        assert "strip(sep)" in editor.text(text_uri) and "test_sep" in editor.text(test_uri)
        # Nothing was saved to disk: the editor holds the changes, as after any edit.
        assert (root / "app/text.py").read_text() == TEXT
        assert "test_sep" not in (root / "tests/test_text.py").read_text()
        assert len(model.requests) == 6  # verification passed: no extra turn


async def test_a_failing_verification_goes_back_to_the_model_over_lsp(
    model: ScriptedModelServer, tmp_path: Path
) -> None:
    root = _project(tmp_path / "ws")
    broken = (
        "edit_file",
        {"path": "app/text.py", "old_string": '.strip("-")', "new_string": '.strip("-") + "!"'},
    )
    model.enqueue(
        tool_call_reply([broken]),
        tool_call_reply([("finish", {"summary": "done"})]),
        tool_call_reply([("finish", {"summary": "could not fix it"})]),
    )
    settings = {
        **options(model, "full-auto"),
        "agent": {"approval": "full-auto", "maxSteps": 3},
        "verify": {"commands": ["python3 -m unittest -q"]},
    }
    async with lsp_session(settings, root_uri=root.as_uri(), env=env_for(tmp_path)) as (client, _):
        result = await run(client, {"instruction": "break it"})
        # The model finished again without changing anything: its word ends the task,
        # and the problems stay in the summary.
        assert result["status"] == "done", result
        summary = result["summary"]
        assert summary.startswith("could not fix it") and "AssertionError" in summary
        assert "Verification still reports problems" in summary
        assert len(model.requests) == 3
        fed_back = tool_results(model, 2)[-1]
        assert "Verification failed" in fed_back and "python3 -m unittest -q" in fed_back
        assert "AssertionError" in fed_back


async def test_cancel_mid_command_kills_it_and_reverts_the_edits(
    model: ScriptedModelServer, tmp_path: Path
) -> None:
    root = _project(tmp_path / "ws")
    marker = tmp_path / "ws" / "started"
    model.enqueue(
        tool_call_reply(
            [
                (
                    "edit_file",
                    {
                        "path": "app/text.py",
                        "old_string": "import re",
                        "new_string": "import re  # x",
                    },
                )
            ]
        ),
        tool_call_reply([("run_command", {"command": "touch started; sleep 60; touch finished"})]),
    )
    uri = (root / "app/text.py").as_uri()
    async with lsp_session(
        options(model, "full-auto"), root_uri=root.as_uri(), env=env_for(tmp_path)
    ) as (client, editor):
        editor.open(uri, TEXT)
        running = asyncio.ensure_future(run(client, {"instruction": "edit, then wait", "uri": uri}))
        for _ in range(1000):
            if marker.exists():
                break
            await asyncio.sleep(0.01)
        assert marker.exists(), "the command never started"
        status = await command(client, "agentls.status")
        assert status["running"] and status["running"][0]["step"].endswith("edit_file")
        cancelled = await command(client, "agentls.cancel", {})
        assert cancelled["cancelled"] == [status["running"][0]["taskId"]]
        result = await asyncio.wait_for(running, 10)
        assert result["status"] == "cancelled" and "reverted" in result["summary"], result
        assert editor.text(uri) == TEXT  # edits.onCancel = revert
        await asyncio.sleep(0.3)
        assert not (root / "finished").exists()  # the command was killed, not left running


async def test_a_failed_edit_shows_the_closest_lines_and_the_next_turn_fixes_it(
    model: ScriptedModelServer, tmp_path: Path
) -> None:
    root = _project(tmp_path / "ws")
    wrong = {"path": "app/text.py", "old_string": "def slugify(text):", "new_string": "x"}
    right = {
        "path": "app/text.py",
        "old_string": "def slugify(value: str) -> str:",
        "new_string": "def slugify(value: str) -> str:  # fixed",
    }
    model.enqueue(
        tool_call_reply([("edit_file", wrong)]),
        tool_call_reply([("edit_file", right)]),
        tool_call_reply([("finish", {"summary": "edited"})]),
    )
    async with lsp_session(options(model), root_uri=root.as_uri(), env=env_for(tmp_path)) as (
        client,
        editor,
    ):
        result = await run(client, {"instruction": "mark slugify"})
        assert result["status"] == "done"
        failure = tool_results(model, 1)[-1]
        assert failure.startswith("error: app/text.py") and "def slugify(value: str)" in failure
        uri = (root / "app/text.py").as_uri()
        assert "# fixed" in editor.text(uri) and "x\n" not in editor.text(uri)


async def test_explorers_and_compaction_through_the_settings(
    model: ScriptedModelServer, tmp_path: Path
) -> None:
    """model.contextWindow and agent.subagentMaxSteps reach the loop: a small window
    compacts old turns, and an explorer stops at its own step budget."""
    root = _project(tmp_path / "ws")
    (root / "app/big.py").write_text(
        "".join(f"def f{i}(x):\n    return x + {i}\n\n" for i in range(150))
    )
    agent_steps = 0

    def route(body: dict[str, Any]) -> Step:
        nonlocal agent_steps
        system = body["messages"][0]["content"]
        if system.startswith("You compact the history"):
            return text_reply("## Goal\nlook\n## Learned\nbig.py has 150 functions")
        if "read-only explorer" in system:  # it never finishes: its budget stops it
            return tool_call_reply([("list_files", {})])
        agent_steps += 1
        if agent_steps == 1:
            return tool_call_reply([("spawn_subagent", {"task": "map the app"})])
        if agent_steps <= 4:
            return tool_call_reply([("read_file", {"path": "app/big.py"})])
        return tool_call_reply([("finish", {"summary": "looked"})])

    model.enqueue(*[route] * 20)
    settings = {
        **model_options(model.base_url, contextWindow=3000),
        "agent": {"approval": "auto-edit", "subagentMaxSteps": 2, "compactAt": 0.5},
    }
    async with lsp_session(settings, root_uri=root.as_uri(), env=env_for(tmp_path)) as (client, _):
        result = await run(client, {"instruction": "look around"})
        assert result["status"] == "done", result
    bodies = model.requests
    explorer = [b for b in bodies if "read-only explorer" in b["messages"][0]["content"]]
    assert len(explorer) == 2  # agent.subagentMaxSteps
    first_results = [
        m["content"] for m in bodies[len(explorer) + 1]["messages"] if m["role"] == "tool"
    ]
    assert "the explorer stopped without an answer" in first_results[0]
    summaries = [b for b in bodies if b["messages"][0]["content"].startswith("You compact")]
    assert summaries, "a 3000-token window should have compacted the three reads"
    last = bodies[-1]["messages"]
    assert any(m["content"].startswith("Summary of the earlier turns") for m in last)


class SilentEditor(FakeEditor):
    """An editor that answers workspace/applyEdit only long after the server's
    edits.applyTimeout (never applying anything)."""

    def __post_init__(self) -> None:
        async def apply_edit(params: types.ApplyWorkspaceEditParams) -> None:
            await asyncio.sleep(1.5)

        self.client.feature(types.WORKSPACE_APPLY_EDIT)(apply_edit)


async def test_an_editor_that_never_answers_an_edit_does_not_hang_the_task(
    model: ScriptedModelServer, tmp_path: Path
) -> None:
    root = _project(tmp_path / "ws")
    model.enqueue(
        tool_call_reply([("write_file", {"path": "app/new.py", "content": "x = 1\n"})]),
        tool_call_reply([("finish", {"summary": "the editor did not answer"})]),
    )
    settings = {**options(model), "edits": {"applyTimeout": 0.5}}
    async with lsp_session(
        settings, root_uri=root.as_uri(), env=env_for(tmp_path), editor_class=SilentEditor
    ) as (client, _):
        result = await asyncio.wait_for(run(client, {"instruction": "write"}), 30)
        await asyncio.sleep(1.5)  # the late answer comes and is ignored
        assert result["status"] == "done" and result["editedFiles"] == []
        said = tool_results(model, 1)[-1]
        assert "app/new.py" in said and "did not answer the edit in 0.5 s" in said, said


async def test_get_diagnostics_shows_no_secret_file_and_nothing_outside_the_workspace(
    model: ScriptedModelServer, tmp_path: Path
) -> None:
    """A linter's message on .env (or on a file outside the workspace) may quote a key:
    get_diagnostics leaves those files out; the workspace's own files stay in."""
    root = make_workspace(tmp_path / "ws")
    outside = tmp_path / "other" / "deploy.py"
    outside.parent.mkdir()
    outside.write_text("TOKEN = 'outside-token-123'\n")
    model.enqueue(
        tool_call_reply([("get_diagnostics", {})]),
        tool_call_reply([("finish", {"summary": "looked"})]),
    )
    spot = types.Range(start=types.Position(0, 0), end=types.Position(0, 1))
    texts = {p.as_uri(): p.read_text() for p in (root / ".env", outside, root / "app/text.py")}
    shown = {
        (root / ".env").as_uri(): f"API_KEY={SECRET} looks unused",
        outside.as_uri(): "TOKEN = 'outside-token-123' is never read",
        (root / "app/text.py").as_uri(): "import re is unused",
    }
    async with lsp_session(options(model), root_uri=root.as_uri(), env=env_for(tmp_path)) as (
        client,
        editor,
    ):
        for uri, message in shown.items():
            editor.open(uri, texts[uri])
            await client.text_document_code_action_async(
                types.CodeActionParams(
                    text_document=types.TextDocumentIdentifier(uri=uri),
                    range=spot,
                    context=types.CodeActionContext(
                        diagnostics=[types.Diagnostic(range=spot, message=message)]
                    ),
                )
            )
        result = await run(client, {"instruction": "what is wrong?", "mode": "ask"})
        assert result["status"] == "done", result
        [answer] = tool_results(model, 1)
        assert "import re is unused" in answer
        assert SECRET not in answer and "outside-token-123" not in answer
        assert SECRET not in json.dumps(model.requests)
