"""The editor is told once that ``agent.maxCostUsd`` cannot be enforced without prices."""

from __future__ import annotations

from pathlib import Path

from lsprotocol import types

from tests.support.lsp_session import lsp_session, model_options, run
from tests.support.model_server import ScriptedModelServer, tool_call_reply
from tests.unit.context.workspace import make_workspace


async def test_a_cost_budget_without_prices_is_shown_once(
    model: ScriptedModelServer, tmp_path: Path
) -> None:
    root = make_workspace(tmp_path / "ws")
    options = {**model_options(model.base_url), "agent": {"maxCostUsd": 0.25}}
    env = {"AGENTLS_CACHE_DIR": str(tmp_path / "cache")}
    model.enqueue(*[tool_call_reply([("finish", {"summary": "nothing to do"})])] * 2)
    async with lsp_session(options, root_uri=root.as_uri(), env=env) as (client, _):
        for _ in range(2):
            result = await run(client, {"instruction": "look", "mode": "ask"})
            assert result["status"] == "done", result
            assert "not enforced" in result["summary"]
        shown = [
            m.message
            for m in client.messages
            if m.type == types.MessageType.Warning and "agent.maxCostUsd" in m.message
        ]
        assert len(shown) == 1 and "not enforced" in shown[0]
