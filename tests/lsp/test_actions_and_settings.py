"""Code actions (no model call) and settings from both channels, over stdio."""

from __future__ import annotations

import asyncio

import attrs
from lsprotocol import types
from pytest_lsp import client_capabilities

from tests.support.lsp_session import command, lsp_session, model_options, run
from tests.support.model_server import ScriptedModelServer, text_reply

TS_URI = "file:///tmp/agentls-test/app.ts"
TS = (
    "const x = 1;\n// agent: add an explicit return type\nexport function f(a: number) {\n"
    "  return a + x;\n}\n"
)


async def actions_at(
    client,
    uri: str,
    rng: types.Range,  # type: ignore[no-untyped-def]
    diagnostics: list[types.Diagnostic] | None = None,
) -> list[types.CodeAction]:
    result = await client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            range=rng,
            context=types.CodeActionContext(diagnostics=diagnostics or []),
        )
    )
    return [a for a in result or [] if isinstance(a, types.CodeAction)]


def at(line: int, character: int) -> types.Position:
    return types.Position(line=line, character=character)


def vscode_extension() -> types.ClientCapabilities:
    """VS Code's capabilities as the agentls extension sends them (it asks the user for
    the instruction of "Agent: edit selection…")."""
    caps = client_capabilities("visual-studio-code")
    return attrs.evolve(caps, experimental={"agentlsDiagnostics": True})


async def test_instruction_diagnostic_and_selection_actions() -> None:
    async with lsp_session(None, capabilities=vscode_extension()) as (client, editor):
        editor.open(TS_URI, TS, language_id="typescript")
        diagnostic = types.Diagnostic(
            range=types.Range(start=at(3, 13), end=at(3, 14)),
            message="Cannot find name 'x'.",
            source="ts",
        )
        actions = await actions_at(
            client, TS_URI, types.Range(start=at(1, 0), end=at(3, 5)), [diagnostic]
        )
        by_title = {a.title: a for a in actions}
        comment = by_title["Agent: add an explicit return type"]
        assert comment.kind == types.CodeActionKind.RefactorRewrite
        assert comment.command is not None and comment.command.command == "agentls.run"
        assert list(comment.command.arguments or []) == [
            {
                "instruction": "add an explicit return type",
                "uri": TS_URI,
                "range": {"start": {"line": 1, "character": 0}, "end": {"line": 1, "character": 0}},
                "mode": "edit",
            }
        ]
        fix = by_title["Fix with agent: Cannot find name 'x'."]
        assert fix.kind == types.CodeActionKind.QuickFix
        assert list(fix.diagnostics or []) == [diagnostic]
        assert fix.command is not None
        [fix_args] = fix.command.arguments or []
        assert "line 4" in fix_args["instruction"] and "(ts)" in fix_args["instruction"]
        assert fix_args["range"]["start"] == {"line": 3, "character": 13}
        assert "Agent: edit selection…" in by_title
        # An empty range on a plain line offers nothing.
        assert await actions_at(client, TS_URI, types.Range(start=at(0, 2), end=at(0, 2))) == []


async def test_code_actions_on_unknown_documents_and_wild_ranges_are_empty() -> None:
    async with lsp_session(None, capabilities=vscode_extension()) as (client, editor):
        assert (
            await actions_at(
                client, "file:///nowhere.py", types.Range(start=at(0, 0), end=at(0, 0))
            )
            == []
        )
        editor.open(TS_URI, TS, language_id="typescript")
        wild = await actions_at(client, TS_URI, types.Range(start=at(3, 900), end=at(9999, 3)))
        assert [a.title for a in wild] == ["Agent: edit selection…"]


async def test_bad_settings_fall_back_with_a_message() -> None:
    options = {"agentls": {"model": {"maxOutputTokens": "lots"}, "agent": {"approval": "yolo"}}}
    async with lsp_session(options) as (client, _):
        await asyncio.sleep(0.2)
        [message] = [m.message for m in client.messages if m.type == types.MessageType.Warning]
        assert "model.maxOutputTokens" in message and "agent.approval" in message
        status = await command(client, "agentls.status")  # the server still answers
        assert status["running"] == []


async def test_workspace_configuration_is_pulled_and_refreshed(model: ScriptedModelServer) -> None:
    uri = "file:///tmp/agentls-test/c.py"
    source = "def f():\n    return 1\n"
    reply = "```python\ndef f():\n    return 2\n```\n"
    # No initializationOptions: the model comes from workspace/configuration only.
    config = {"agentls": model_options(model.base_url)}
    async with lsp_session(None, configuration=config) as (client, editor):
        editor.open(uri, source)
        model.enqueue(text_reply(reply))
        point = {"line": 1, "character": 4}
        result = await run(
            client, {"instruction": "return 2", "uri": uri, "range": {"start": point, "end": point}}
        )
        assert result["status"] == "done", result
        assert model.requests[-1]["model"] == "scripted-model"
        client.set_configuration({"agentls": model_options(model.base_url, name="other")})
        client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings=None))
        await asyncio.sleep(0.3)
        model.enqueue(text_reply("```python\ndef f():\n    return 3\n```\n"))
        result = await run(
            client, {"instruction": "return 3", "uri": uri, "range": {"start": point, "end": point}}
        )
        assert result["status"] == "done", result
        assert model.requests[-1]["model"] == "other"
        assert editor.text(uri) == "def f():\n    return 3\n"


async def test_run_argument_errors_are_clear() -> None:
    async with lsp_session(None) as (client, editor):
        editor.open(TS_URI, TS, language_id="typescript")
        for bad, words in [
            ({"uri": TS_URI}, "instruction"),
            ({"instruction": "x", "uri": TS_URI, "range": {"start": 1}}, "range.start"),
            ({"instruction": "x", "mode": "dance"}, "mode"),
        ]:
            try:
                await run(client, bad)
            except Exception as error:
                assert words in str(error)
            else:
                raise AssertionError(f"{bad} was accepted")
        result = await run(
            client,
            {
                "instruction": "x",
                "uri": "file:///not/open.py",
                "range": {"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 0}},
            },
        )
        assert result["status"] == "failed" and "not open" in result["summary"]


PY_URI = "file:///tmp/agentls-test/shapes.py"
PY = (
    "import math\n\n\n"
    "@cache\n"
    "def area(r):\n"
    "    # TODO: reject negative radii\n"
    "    return math.pi * r * r\n\n\n"
    "class Circle:\n"
    "    pass\n"
)


async def test_document_write_tests_and_implement_actions() -> None:
    async with lsp_session(None) as (client, editor):
        editor.open(PY_URI, PY)
        on_def = await actions_at(client, PY_URI, types.Range(start=at(4, 2), end=at(4, 2)))
        by_title = {a.title: a for a in on_def}
        assert set(by_title) == {"Agent: document area", "Agent: write tests for area"}
        [document] = by_title["Agent: document area"].command.arguments  # type: ignore[union-attr]
        assert document["range"] == {
            "start": {"line": 4, "character": 4},
            "end": {"line": 4, "character": 4},
        }  # an empty range on the name: the rewrite takes the function
        assert "Document the function `area`" in document["instruction"]
        [tests] = by_title["Agent: write tests for area"].command.arguments  # type: ignore[union-attr]
        assert "range" not in tests and tests["position"] == {"line": 4, "character": 4}
        assert "shapes.py" in tests["instruction"]  # the full agent, from the function
        # On the decorator line too, and on a class.
        decorator = await actions_at(client, PY_URI, types.Range(start=at(3, 0), end=at(3, 0)))
        assert "Agent: document area" in {a.title for a in decorator}
        klass = await actions_at(client, PY_URI, types.Range(start=at(9, 0), end=at(9, 0)))
        assert {a.title for a in klass} == {
            "Agent: document Circle",
            "Agent: write tests for Circle",
        }
        # In the body: no definition actions, but the TODO's.
        todo = await actions_at(client, PY_URI, types.Range(start=at(5, 8), end=at(5, 8)))
        assert [a.title for a in todo] == ["Agent: implement: reject negative radii"]
        [implement] = todo[0].command.arguments  # type: ignore[union-attr]
        assert implement["range"]["start"] == {"line": 5, "character": 4}
        assert "reject negative radii" in implement["instruction"]
        # The body line below: nothing.
        assert await actions_at(client, PY_URI, types.Range(start=at(6, 4), end=at(6, 4))) == []
