"""Verification as a model would dodge it: edits made by commands, a verify command the
model rewrote, a second finish after a failure."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

from tests.attacks.core_support import TRACEBACK, agent_exec
from tests.support.model_server import ScriptedModelServer, text_reply, tool_call_reply

FINISH = tool_call_reply([("finish", {"summary": "all good"})])


def test_edits_made_by_a_command_are_verified(model: ScriptedModelServer, tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("A = 1\n")
    model.enqueue(
        tool_call_reply([("run_command", {"command": "echo 'A = (' > a.py"})]),
        FINISH,
        FINISH,
        FINISH,
    )
    settings = {"verify": {"commands": ["grep -qv '(' a.py"]}}
    done = agent_exec(
        "fix a.py", "--approval", "full-auto",
        base_url=model.base_url, cwd=tmp_path, settings=settings,
    )  # fmt: skip
    assert TRACEBACK not in done.stderr
    assert (tmp_path / "a.py").read_text() == "A = (\n"  # the command did run
    assert "verif" in done.stderr.lower(), done.stderr


def test_a_verify_command_the_model_rewrote_stays_in_the_sandbox(
    model: ScriptedModelServer, tmp_path: Path
) -> None:
    """verify.commands ["make test"] run without asking: the model writes the Makefile
    (auto-edit: no question) so its own recipe runs. It must still be sandboxed."""
    outside = Path("/tmp") / f"agentls-verify-escape-{uuid.uuid4().hex}"
    (tmp_path / "Makefile").write_text("test:\n\ttrue\n")
    (tmp_path / "a.py").write_text("A = 1\n")
    recipe = f"test:\n\ttouch {outside}; touch $(HOME)/escaped; touch inside.txt\n"
    model.enqueue(
        tool_call_reply([("write_file", {"path": "Makefile", "content": recipe})]),
        FINISH,
        FINISH,
    )
    settings = {"verify": {"commands": ["make test"]}}
    done = agent_exec("x", base_url=model.base_url, cwd=tmp_path, settings=settings)
    assert TRACEBACK not in done.stderr
    assert not outside.exists(), "the model's recipe wrote outside the workspace"
    assert not (Path(os.environ.get("HOME", "/root")) / "escaped").exists()
    if not (tmp_path / "inside.txt").exists():  # no sandbox here: then it must have asked
        assert "not run" in done.stderr or "verify" in done.stderr.lower(), done.stderr


def test_finish_again_after_a_failure_ends_done_with_the_warning(
    model: ScriptedModelServer, tmp_path: Path
) -> None:
    """Documented: the model's word ends the task; the problems must be in the summary."""
    (tmp_path / "a.py").write_text("A = 1\n")
    model.enqueue(
        tool_call_reply([("write_file", {"path": "a.py", "content": "A = (\n"})]),
        FINISH,
        tool_call_reply([("finish", {"summary": "not mine"})]),
        text_reply("never"),
    )
    settings = {"verify": {"commands": ["grep -qv '(' a.py"]}}
    done = agent_exec(
        "x", "--approval", "full-auto", base_url=model.base_url, cwd=tmp_path, settings=settings
    )
    assert TRACEBACK not in done.stderr
    assert "Verification still reports problems" in done.stderr, done.stderr
