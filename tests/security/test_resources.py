"""Resources a hostile model can burn (issue 12, class 7), over LSP with the real server:
a catastrophic regular expression, a reply with 300 explorers, a task without end."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from agentls.config import Settings
from tests.support.lsp_session import lsp_session, model_options, run
from tests.support.model_server import ScriptedModelServer, tool_call_reply


def tool_results(model: ScriptedModelServer, request: int = -1) -> list[str]:
    messages = model.requests[request]["messages"]
    return [m["content"] for m in messages if m["role"] == "tool"]


def is_explorer(body: dict[str, Any]) -> bool:
    return not any(t["function"]["name"] == "spawn_subagent" for t in body.get("tools", []))


def workspace(root: Path) -> Path:
    (root / "app").mkdir(parents=True)
    (root / "app/main.py").write_text("def main() -> int:\n    return 0\n")
    # Lines that make a backtracking engine try 2^40 ways before it gives up.
    (root / "app/data.txt").write_text(("x" * 40 + "\n") * 2000)
    return root


async def test_a_catastrophic_regex_is_searched_in_linear_time(
    model: ScriptedModelServer, tmp_path: Path
) -> None:
    """`(x+x+)+y` froze the event loop for 44.8 s past maxSeconds 3 (Python's re holds
    the GIL); now the search answers at once, and a pattern RE2 cannot take is a clear
    tool error. The task keeps its 3-second limit and ends done."""
    root = workspace(tmp_path / "ws")
    model.enqueue(
        tool_call_reply([("search", {"pattern": "(x+x+)+y"})]),
        tool_call_reply([("search", {"pattern": r"(?<=a)b|(\w)\1"})]),
        tool_call_reply([("finish", {"summary": "searched"})]),
    )
    settings = {
        **model_options(model.base_url),
        "agent": {"approval": "read-only", "maxSeconds": 3},
    }
    env = {"AGENTLS_CACHE_DIR": str(tmp_path / "cache")}
    async with lsp_session(settings, root_uri=root.as_uri(), env=env) as (client, _):
        result = await asyncio.wait_for(run(client, {"instruction": "find y"}), 60)
        assert result["status"] == "done", result
    found, bad = tool_results(model)
    assert found.startswith("no match for '(x+x+)+y'"), found
    assert bad.startswith("error: not a valid regular expression") and "RE2" in bad, bad


async def test_three_hundred_explorers_in_one_reply_are_capped(
    model: ScriptedModelServer, tmp_path: Path
) -> None:
    """One reply with 300 spawn_subagent calls started 302 model requests at once: now
    at most agent.maxExplorersPerTurn (4) run, the other calls are answered why."""
    root = workspace(tmp_path / "ws")
    model.default = tool_call_reply([("finish", {"summary": "found it"})])
    calls = [("spawn_subagent", {"task": f"question {n}"}) for n in range(300)]
    model.enqueue(tool_call_reply(calls))
    settings = {**model_options(model.base_url), "agent": {"approval": "read-only"}}
    env = {"AGENTLS_CACHE_DIR": str(tmp_path / "cache")}
    async with lsp_session(settings, root_uri=root.as_uri(), env=env) as (client, _):
        result = await run(client, {"instruction": "explore"})
        assert result["status"] == "done", result
    explorers = [body for body in model.requests if is_explorer(body)]
    assert len(explorers) == Settings().agent.max_explorers_per_turn == 4
    assert len(model.requests) == 2 + 4
    results = tool_results(model)
    assert sum(r.startswith("explorer's summary") for r in results) == 4
    refused = [r for r in results if "not run: at most 4 explorers per reply" in r]
    assert len(refused) == 296


async def test_explorers_stop_at_the_task_total(model: ScriptedModelServer, tmp_path: Path) -> None:
    """Explorers asked a few at a time, reply after reply, stop at agent.maxExplorers."""
    root = workspace(tmp_path / "ws")
    model.default = tool_call_reply([("finish", {"summary": "found it"})])
    per_reply = [("spawn_subagent", {"task": f"q{n}"}) for n in range(2)]
    main_turns = 4
    script: list[Any] = []
    for _ in range(main_turns):  # the main reply, then its 2 explorers' replies
        script += [tool_call_reply(per_reply)]
    settings = {
        **model_options(model.base_url),
        "agent": {"approval": "read-only", "maxExplorers": 5},
    }

    def main_or_explorer(body: dict[str, Any]) -> Any:
        if is_explorer(body):
            return model.default
        return script.pop(0) if script else model.default

    model.enqueue(*[main_or_explorer] * (main_turns * 3 + 1))
    env = {"AGENTLS_CACHE_DIR": str(tmp_path / "cache")}
    async with lsp_session(settings, root_uri=root.as_uri(), env=env) as (client, _):
        result = await run(client, {"instruction": "explore"})
        assert result["status"] == "done", result
    assert len([b for b in model.requests if is_explorer(b)]) == 5
    results = tool_results(model)
    assert sum("this task has started its 5 explorers" in r for r in results) == 3


async def test_a_task_stops_cleanly_at_the_default_token_budget(
    model: ScriptedModelServer, tmp_path: Path
) -> None:
    """Tasks have a token budget by default; a model that never finishes is stopped at
    it with a summary of what happened (here a budget of 2,000 to keep the test small)."""
    assert Settings().agent.max_tokens == 2_000_000
    root = workspace(tmp_path / "ws")
    (root / "app" / "big.py").write_text("".join(f"value_{i} = {i}\n" for i in range(400)))
    # A new page each step (the same read again would be stopped as a circle first).
    model.enqueue(
        *(
            tool_call_reply(
                [("read_file", {"path": "app/big.py", "offset": 1 + page, "limit": 40})],
                text="Reading once more.",
            )
            for page in range(199)
        )
    )
    settings = {
        **model_options(model.base_url),
        "agent": {"approval": "read-only", "maxTokens": 2000, "maxSteps": 200},
    }
    env = {"AGENTLS_CACHE_DIR": str(tmp_path / "cache")}
    async with lsp_session(settings, root_uri=root.as_uri(), env=env) as (client, _):
        result = await run(client, {"instruction": "loop forever"})
    assert result["status"] == "failed", result
    assert "token budget (2000) is spent (setting agent.maxTokens)" in result["summary"]
    assert "Reading once more." in result["summary"]
    assert len(model.requests) < 200
    usage = result["usage"]
    assert 2000 <= usage["inputTokens"] + usage["outputTokens"] < 4000
