"""A hostile model's commands through ``agentls exec`` (the real server code, the real
sandbox, full-auto: nothing asks, so only the sandbox stands in the way).

``attack`` scripts the model to call ``run_command`` once per command, runs the task
with a home folder and settings of the test's choosing, and returns what the model
read back (one tool result per command) and every request body the model server got.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from agentls.policy.sandbox import sandbox_available
from tests.support.model_server import ScriptedModelServer, tool_call_reply


@dataclass(frozen=True)
class Attack:
    results: list[str]  # what the model read back, one per command
    bodies: str  # every request the model server received, as JSON text
    stderr: str


def require_sandbox() -> None:
    check = sandbox_available()
    assert check.available, f"bubblewrap cannot sandbox commands here: {check.reason}"


def attack(
    model: ScriptedModelServer,
    root: Path,
    commands: list[str],
    *,
    home: Path,
    settings: dict[str, Any] | None = None,
) -> Attack:
    require_sandbox()
    model.clear()
    model.enqueue(
        *[tool_call_reply([("run_command", {"command": c, "timeout": 30})]) for c in commands],
        tool_call_reply([("finish", {"summary": "done"})]),
    )
    config = Path(tempfile.mkdtemp(prefix="agentls-attack-settings-")) / "settings.json"
    config.write_text(json.dumps(settings or {}))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "AGENTLS_"))}
    env.update(OPENAI_BASE_URL=model.base_url, AGENTLS_MODEL="scripted-model", HOME=str(home))
    env["AGENTLS_CACHE_DIR"] = str(config.parent / "cache")
    try:
        done = subprocess.run(
            [sys.executable, "-m", "agentls", "exec", "get the secrets", "--approval",
             "full-auto", "--settings", f"@{config}", "--workspace", str(root)],
            cwd=root, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
            timeout=300, check=False,
        )  # fmt: skip
    finally:
        shutil.rmtree(config.parent, ignore_errors=True)
    assert done.returncode == 0, done.stderr
    assert "without a sandbox" not in done.stderr
    said = [line for line in done.stderr.splitlines() if not line.startswith("· ")]
    assert not [line for line in said if "settings" in line], done.stderr  # taken as written
    last = model.requests[-1]["messages"]
    results = [m["content"] for m in last if m.get("role") == "tool"]
    assert len(results) == len(commands), results
    return Attack(results, json.dumps(model.requests), done.stderr)


def git(root: Path, *args: str) -> str:
    """git on the host, as the user runs it (an empty global config, no hooks of its own)."""
    env = {**os.environ, "GIT_CONFIG_GLOBAL": "/dev/null", "GIT_CONFIG_NOSYSTEM": "1"}
    env.update(GIT_AUTHOR_NAME="u", GIT_AUTHOR_EMAIL="u@x", GIT_COMMITTER_NAME="u")
    env["GIT_COMMITTER_EMAIL"] = "u@x"
    done = subprocess.run(
        ["git", "-C", str(root), *args], env=env, capture_output=True, text=True, check=False
    )
    return done.stdout + done.stderr


@pytest.fixture
def exec_model() -> Iterator[ScriptedModelServer]:
    """The scripted model server on its own thread (``agentls exec`` is a subprocess)."""
    server = ScriptedModelServer()
    server.start_in_thread()
    try:
        yield server
    finally:
        server.stop_in_thread()


@pytest.fixture
def home() -> Iterator[Path]:
    """A home folder of the user's, outside /tmp, full of secrets."""
    folder = Path(tempfile.mkdtemp(prefix="agentls-attack-home-", dir="/var/tmp"))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)
