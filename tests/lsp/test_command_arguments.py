"""The agentls.* commands take one JSON object, typed (lsp/arguments.py): a bad one is
answered with -32602 and a message naming each bad key; the server goes on."""

from __future__ import annotations

from typing import Any

import pytest
from lsprotocol import types
from pygls.exceptions import JsonRpcInvalidParams

from tests.support.lsp_session import lsp_session


async def execute(client: Any, name: str, arguments: list[Any] | None) -> Any:
    return await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command=name, arguments=arguments)
    )


BAD: list[tuple[str, list[Any], str]] = [
    ("agentls.run", [{}], "bad arguments: instruction is required"),
    ("agentls.run", [{"instruction": "  "}], "instruction must be a non-empty string"),
    ("agentls.run", [{"instruction": "x", "mode": "fix"}], "mode must be edit, plan or ask"),
    (
        "agentls.run",
        [{"instruction": "x", "range": {"start": {"line": "1", "character": 0}, "end": 3}}],
        "range.start.line must be an integer, not str; range.end must be one JSON object, not int",
    ),
    ("agentls.run", [{"instruction": "x", "position": {"line": True, "character": 0}}],
     "position.line must be an integer, not bool"),
    ("agentls.run", [{"instruction": "x", "uri": 7}], "uri must be a string, not int"),
    ("agentls.run", [["instruction"]], "the arguments must be one JSON object, not an array"),
    ("agentls.run", [{"instruction": "a"}, {"instruction": "b"}], "must be one JSON object, not 2"),
    ("agentls.cancel", [{"taskId": 12}], "taskId must be a string, not int"),
    ("agentls.undo", [{"taskId": "t404"}], "unknown task t404"),
    ("agentls.context", [{"uri": "file:///x.py"}], "position is required"),
    ("agentls.context", [{"uri": "file:///x.py", "position": {"line": 0, "character": 0},
                          "budget": 0}], "budget must be a positive integer"),
]  # fmt: skip


async def test_bad_arguments_are_answered_with_what_is_wrong() -> None:
    async with lsp_session(None) as (client, _):
        for name, arguments, message in BAD:
            with pytest.raises(JsonRpcInvalidParams) as caught:
                await execute(client, name, arguments)
            assert message in str(caught.value), (name, arguments, str(caught.value))
            assert caught.value.code == -32602
        status = await execute(client, "agentls.status", None)  # the server goes on
        assert status["running"] == []


async def test_no_arguments_is_the_empty_object() -> None:
    async with lsp_session(None) as (client, _):
        choices: tuple[list[Any] | None, ...] = (None, [], [{}])
        for arguments in choices:
            status = await execute(client, "agentls.status", arguments)
            assert status["running"] == [] and status["usage"]["inputTokens"] == 0
            assert await execute(client, "agentls.cancel", arguments) == {"cancelled": []}
        # keys not known are ignored (a newer client may send more)
        assert await execute(client, "agentls.cancel", [{"taskId": "t9", "why": 1}]) == {
            "cancelled": []
        }
