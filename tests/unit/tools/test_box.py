"""The toolbox: arguments checked by the spec, failures as results, long outputs cut."""

from __future__ import annotations

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
