"""End to end: agentls.run streams a rewrite into a fake editor, over stdio."""

from __future__ import annotations

from lsprotocol import types

from tests.support.lsp_session import lsp_session, model_options, run
from tests.support.model_server import ScriptedModelServer, text_reply

URI = "file:///tmp/agentls-test/calc.py"
SOURCE = """import math


def area(r):
    # agent: use math.pi and add a docstring
    return 3.14 * r * r


def other():
    return 1
"""
NEW_FUNCTION = '''def area(r):
    """Area of a circle of radius r."""
    return math.pi * r * r
'''


async def test_instruction_comment_rewrite_streams_line_by_line(model: ScriptedModelServer):
    reply = "Here is the updated function:\n```python\n" + NEW_FUNCTION + "```\nDone.\n"
    model.enqueue(text_reply(reply, chunk="token", tokens_per_second=400))
    async with lsp_session(model_options(model.base_url)) as (client, editor):
        editor.open(URI, SOURCE)
        at = editor.position_of(URI, "# agent:")
        actions = await client.text_document_code_action_async(
            types.CodeActionParams(
                text_document=types.TextDocumentIdentifier(uri=URI),
                range=types.Range(start=at, end=at),
                context=types.CodeActionContext(diagnostics=[]),
            )
        )
        assert actions is not None
        action = next(
            a
            for a in actions
            if isinstance(a, types.CodeAction) and a.title.startswith("Agent: use math.pi")
        )
        assert action.kind == types.CodeActionKind.RefactorRewrite
        assert action.command is not None and action.command.arguments is not None
        result = await run(client, action.command.arguments[0])

        assert result["status"] == "done", result
        assert editor.text(URI) == SOURCE.replace(
            """def area(r):
    # agent: use math.pi and add a docstring
    return 3.14 * r * r
""",
            NEW_FUNCTION,
        )
        assert result["editedFiles"] == [URI]
        assert result["usage"]["outputTokens"] > 0
        applied = [e for e in editor.log if e.outcome == "applied"]
        assert len(applied) >= 2, "the text should stream in more than one edit"
        versions = [e.version for e in applied]
        assert versions == sorted(set(versions)), "each edit against a new version"


async def test_a_reply_cut_at_the_output_limit_is_not_kept(model: ScriptedModelServer):
    """finish_reason "length": the code is incomplete; the region is restored."""
    cut = '```python\ndef area(r):\n    """Area of a circle\n    return math.pi *'
    model.enqueue(text_reply(cut, chunk="line", finish_reason="length"))
    async with lsp_session(model_options(model.base_url)) as (client, editor):
        editor.open(URI, SOURCE)
        at = editor.position_of(URI, "# agent:")
        result = await run(
            client,
            {"instruction": "docstring", "uri": URI, "range": {"start": at, "end": at}},
        )
        assert result["status"] == "failed", result
        assert "cut at model.maxOutputTokens" in result["summary"]
        assert editor.text(URI) == SOURCE
