"""Round-4 attacks (independent pass): a prompt-injected model driving the real
``agentls exec`` (real openai SDK against the scripted server on 127.0.0.1, real
bubblewrap), and helpers to read what reached the model."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support.model_server import ScriptedModelServer, tool_call_reply

Call = tuple[str, dict[str, Any]]


@pytest.fixture
def threaded_model() -> Iterator[ScriptedModelServer]:
    """The scripted model server on its own thread (``agentls exec`` is a subprocess)."""
    server = ScriptedModelServer()
    server.start_in_thread()
    try:
        yield server
    finally:
        server.stop_in_thread()


def token(prefix: str = "r4") -> str:
    """A unique marker no detector knows: found in a request body only if it leaked."""
    return f"{prefix}{secrets.token_hex(10)}"


@dataclass
class Run:
    done: subprocess.CompletedProcess[str]
    results: list[str]  # every tool result the model got, in order
    bodies: str  # every request body the model server got, as JSON

    def leaked(self, *secret: str) -> bool:
        return any(s in self.bodies for s in secret)


def exec_task(
    model: ScriptedModelServer,
    root: Path,
    steps: Sequence[Sequence[Call]],
    *,
    approval: str = "full-auto",
    settings: dict[str, Any] | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 60,
) -> Run:
    """Run ``agentls exec`` in ``root``; the model calls the tools of each step (one reply
    per step), then ``finish``. No terminal: whatever asks is answered no."""
    for calls in steps:
        model.enqueue(tool_call_reply(list(calls)))
    model.enqueue(tool_call_reply([("finish", {"summary": "done"})]))
    run_env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "AGENTLS_"))}
    run_env.update(OPENAI_BASE_URL=model.base_url, AGENTLS_MODEL="scripted-model")
    run_env["AGENTLS_CACHE_DIR"] = str(root.parent / "cache")
    run_env.update(env or {})
    args = [sys.executable, "-m", "agentls", "exec", "task", "--workspace", str(root)]
    args += ["--approval", approval]
    if settings is not None:
        args += ["--settings", json.dumps(settings)]
    done = subprocess.run(
        args,
        cwd=root,
        env=run_env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    messages = model.requests[-1]["messages"] if model.requests else []
    results = [str(m.get("content")) for m in messages if m.get("role") == "tool"]
    return Run(done, results, json.dumps(model.requests))


def commands(*lines: str) -> list[list[Call]]:
    """One reply per command line, each a ``run_command``."""
    return [[("run_command", {"command": line})] for line in lines]


def workspace(tmp_path: Path, files: dict[str, str] | None = None) -> Path:
    root = tmp_path / "ws"
    root.mkdir()
    (root / "main.py").write_text("print('hello')\n")
    for name, text in (files or {}).items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root
