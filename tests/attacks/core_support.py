"""Shared set-up of the core attacks: ``agentls exec`` as a user starts it, against the
scripted model server (real openai SDK, real SSE), in a temporary workspace."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

TRACEBACK = "Traceback (most recent call last)"


def exec_env(base_url: str, cwd: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "AGENTLS_"))}
    env.update(OPENAI_BASE_URL=base_url, AGENTLS_MODEL="scripted-model", OPENAI_API_KEY="k")
    env["AGENTLS_CACHE_DIR"] = str(cwd / ".agentls-cache")
    env.pop("PYTHONASYNCIODEBUG", None)
    return env


def exec_command(task: str, cwd: Path, settings: dict[str, Any], *extra: str) -> list[str]:
    return [
        sys.executable, "-m", "agentls", "exec", task, "--workspace", str(cwd),
        "--settings", json.dumps(settings), *extra,
    ]  # fmt: skip


def agent_exec(
    task: str,
    *extra: str,
    base_url: str,
    cwd: Path,
    settings: dict[str, Any] | None = None,
    timeout: float = 40,
) -> subprocess.CompletedProcess[str]:
    """``agentls exec TASK`` (no target: the full agent) in ``cwd``."""
    return subprocess.run(
        exec_command(task, cwd, settings or {}, *extra),
        cwd=cwd,
        env=exec_env(base_url, cwd),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def model_calls(requests: list[dict[str, Any]]) -> int:
    """How many requests asked the model for a step (not a compaction summary)."""
    return len([r for r in requests if r.get("tools")])
