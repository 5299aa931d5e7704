"""``agentls exec`` says when ``agent.maxCostUsd`` cannot be enforced (no prices set)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from agentls.agent.loop import UNPRICED
from tests.support.model_server import ScriptedModelServer, tool_call_reply


def exec_agent(model: ScriptedModelServer, root: Path, settings: dict[str, object]) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "AGENTLS_"))}
    env.update(OPENAI_BASE_URL=model.base_url, AGENTLS_MODEL="scripted-model")
    env["AGENTLS_CACHE_DIR"] = str(root.parent / "cache")
    path = root.parent / "settings.json"
    path.write_text(json.dumps(settings))
    done = subprocess.run(
        [sys.executable, "-m", "agentls", "exec", "where is add?", "--workspace", str(root),
         "--settings", f"@{path}"],
        env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120,
        check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stderr


def test_a_cost_budget_without_prices_is_said_once(
    model: ScriptedModelServer, tmp_path: Path
) -> None:
    root = tmp_path / "ws"
    root.mkdir()
    (root / "calc.py").write_text("def add(a, b):\n    return a + b\n")
    model.enqueue(tool_call_reply([("finish", {"summary": "add is in calc.py"})]))
    said = exec_agent(model, root, {"agent": {"maxCostUsd": 0.5}})
    assert "add is in calc.py" in said and said.count("not enforced") == 1
    assert UNPRICED.split(" (")[0] in said

    model.enqueue(tool_call_reply([("finish", {"summary": "add is in calc.py"})]))
    priced = {"maxCostUsd": 0.5}
    prices = {"inputCostPerMtok": 1.0, "outputCostPerMtok": 2.0}
    said = exec_agent(model, root, {"agent": priced, "model": prices})
    assert "add is in calc.py" in said and "not enforced" not in said
