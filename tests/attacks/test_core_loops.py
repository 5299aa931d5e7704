"""A model going round in circles in ways other than the exact same call: each should
be stopped (or steered) well before the step budget (agent.maxSteps, 30 here)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.attacks.core_support import TRACEBACK, agent_exec, model_calls
from tests.support.model_server import ScriptedModelServer, text_reply, tool_call_reply

BUDGET = {"agent": {"maxSteps": 30}}
SOURCE = "def f(x):\n    return x\n"


def _run(model: ScriptedModelServer, tmp_path: Path, args: list[str]) -> tuple[int, str]:
    (tmp_path / "a.py").write_text(SOURCE)
    for raw in args:
        model.enqueue(tool_call_reply([("read_file", raw)]))
    model.enqueue(text_reply("never reached"))
    done = agent_exec("look at a.py", base_url=model.base_url, cwd=tmp_path, settings=BUDGET)
    assert TRACEBACK not in done.stderr
    return model_calls(model.requests), done.stderr


def test_alternating_two_reads_is_stopped(model: ScriptedModelServer, tmp_path: Path) -> None:
    """A, B, A, B, ...: each call repeats with the same result every other step."""
    a, b = json.dumps({"path": "a.py"}), json.dumps({"path": "a.py", "limit": 50})
    steps, stderr = _run(model, tmp_path, [a, b] * 20)
    assert steps <= 12, stderr


def test_same_read_with_changing_whitespace_is_stopped(
    model: ScriptedModelServer, tmp_path: Path
) -> None:
    args = ['{"path":' + " " * i + '"a.py"}' for i in range(40)]
    steps, stderr = _run(model, tmp_path, args)
    assert steps <= 12, stderr


def test_same_read_with_key_order_and_spacing_changes_is_stopped(
    model: ScriptedModelServer, tmp_path: Path
) -> None:
    variants = []
    for i in range(40):
        pair = ['"path": "a.py"', f'"limit":{" " * (i // 2)}50']
        variants.append("{" + ", ".join(pair if i % 2 else pair[::-1]) + "}")
    steps, stderr = _run(model, tmp_path, variants)
    assert steps <= 12, stderr


def test_read_past_the_end_with_a_changing_offset_is_stopped(
    model: ScriptedModelServer, tmp_path: Path
) -> None:
    """offset 100, 101, 102 ... of a 2-line file: the same nothing each time."""
    args = [json.dumps({"path": "a.py", "offset": 100 + i}) for i in range(40)]
    steps, stderr = _run(model, tmp_path, args)
    assert steps <= 12, stderr


def test_editing_back_and_forth_is_stopped(model: ScriptedModelServer, tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text(SOURCE)
    there = {"path": "a.py", "old_string": "return x", "new_string": "return x + 1"}
    back = {"path": "a.py", "old_string": "return x + 1", "new_string": "return x"}
    for _ in range(20):
        model.enqueue(
            tool_call_reply([("edit_file", there)]), tool_call_reply([("edit_file", back)])
        )
    model.enqueue(text_reply("never reached"))
    done = agent_exec("fix a.py", base_url=model.base_url, cwd=tmp_path, settings=BUDGET)
    assert TRACEBACK not in done.stderr
    assert model_calls(model.requests) <= 12, done.stderr
    assert done.returncode != 0
