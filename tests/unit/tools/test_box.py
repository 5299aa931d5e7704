"""The toolbox: arguments checked by the spec, failures as results, long outputs cut."""

from __future__ import annotations

import pytest

from agentls.model.base import ToolCall
from agentls.tools.box import MAX_RESULT_CHARS, Tool, Toolbox, spec
from agentls.tools.workspace import ToolDenied


def deny(_: object) -> str:
    raise ToolDenied("not here")


def crash(_: object) -> str:
    raise RuntimeError("bug")


async def echo(arguments: dict[str, object]) -> str:
    return repr(sorted(arguments.items()))


BOX = Toolbox(
    [
        Tool(spec("echo", "", {"n": {"type": "integer"}, "s": {"type": "string"}}, ["n"]), echo),
        Tool(spec("deny", "", {}, []), deny),
        Tool(spec("crash", "", {}, []), crash),
        Tool(spec("big", "", {}, []), lambda _: "x" * (3 * MAX_RESULT_CHARS)),
    ]
)


async def call(name: str, arguments: str) -> tuple[bool, str]:
    outcome = await BOX.run(ToolCall("c1", name, arguments))
    return outcome.ok, outcome.text


async def test_arguments_are_checked_against_the_spec() -> None:
    assert await call("echo", '{"n": 3, "s": "a"}') == (True, "[('n', 3), ('s', 'a')]")
    assert await call("echo", "") == (False, "error: echo: missing n")
    assert (await call("echo", '{"n": "3"}'))[1] == "error: echo: n must be a integer"
    assert (await call("echo", '{"n": true}'))[1] == "error: echo: n must be a integer"
    assert "unknown argument 'x'" in (await call("echo", '{"n": 1, "x": 2}'))[1]
    assert "must be an object" in (await call("echo", "[1]"))[1]


async def test_refusals_crashes_and_long_outputs() -> None:
    assert await call("deny", "{}") == (False, "error: not here")
    assert await call("crash", "{}") == (False, "error: crash failed: bug")
    ok, text = await call("big", "{}")
    assert ok and len(text) < MAX_RESULT_CHARS + 100 and "characters cut" in text


DEEP = '{"n": ' + "[" * 30_000 + "]" * 30_000 + "}"  # past json's recursion limit


async def test_arguments_nested_past_the_parsers_depth_are_an_error_the_model_reads() -> None:
    outcome = await BOX.run(ToolCall("1", "echo", DEEP))
    assert not outcome.ok and "not valid JSON" in outcome.text


def test_a_finish_nested_past_the_parsers_depth_is_a_summary_not_a_crash() -> None:
    from agentls.agent.loop import _summary

    assert _summary(ToolCall("1", "finish", DEEP)).startswith('{"n": [[[')


def test_a_tcp_first_message_nested_past_the_parsers_depth_is_refused() -> None:
    from agentls.lsp.tcp import Refused, body_id, check

    with pytest.raises(Refused):
        check(DEEP.encode(), "token")
    assert body_id(DEEP.encode()) is None
