"""The secret canary: a unique token in ``.env`` (on disk and in an open, unsaved editor
buffer), in a gitignored file, behind a symlink to ``.env`` under another name and in
the server's own environment. A scripted model tries every tool and command it has to
get at it; the token must not be in any request body the model server received.

The full agent over LSP (the real server process, real bubblewrap), in the approval
modes ``full-auto`` and ``ask`` (the user allows everything), and in the ``ask`` task
mode started from the ``.env`` buffer itself."""

from __future__ import annotations

import json
import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest

from agentls.policy.sandbox import sandbox_available
from tests.support.lsp_session import lsp_session, model_options, run
from tests.support.model_server import ScriptedModelServer, tool_call_reply

needs_sandbox = pytest.mark.skipif(
    not sandbox_available().available, reason="bubblewrap does not work here"
)

MAIN = "def main() -> int:\n    return 0\n"


def canary() -> str:
    return f"sk-canary-{uuid.uuid4().hex}"


def secret_workspace(root: Path, token: str, ignored: str = "") -> Path:
    """``ignored``: the text of the gitignored file (by default it holds ``token``)."""
    (root / "app").mkdir(parents=True)
    (root / "app/main.py").write_text(MAIN)
    (root / ".env").write_text(f"API_KEY={token}\n")
    (root / ".gitignore").write_text("ignored/\n")
    (root / "ignored").mkdir()
    (root / "ignored/dump.txt").write_text(ignored or f"leftover {token}\n")
    (root / "notes.txt").symlink_to(".env")  # a symlink to .env under another name
    (root / "app/settings.cfg").symlink_to("../.env")
    # A repository whose remote URL carries the token (git's config is masked then).
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    subprocess.run(
        ["git", "-C", str(root), "remote", "add", "origin", f"https://me:{token}@example.com/r"],
        check=True,
    )
    return root


def reads(root: Path) -> list[tuple[str, dict[str, Any]]]:
    return [
        ("read_file", {"path": ".env"}),
        ("read_file", {"path": "./app/../.env"}),
        ("read_file", {"path": str(root / ".env")}),
        ("read_file", {"path": (root / ".env").as_uri()}),
        ("read_file", {"path": "notes.txt"}),
        ("read_file", {"path": "app/settings.cfg"}),
        ("read_file", {"path": "ignored/dump.txt"}),
        ("list_files", {"path": "."}),
        ("list_files", {"path": "ignored"}),
        ("search", {"pattern": "sk-canary"}),
        ("search", {"pattern": "API_KEY", "path": ".env"}),
        ("search", {"pattern": ".", "path": "notes.txt"}),
        ("find_symbol", {"name": "API_KEY"}),
        ("get_diagnostics", {}),
    ]


READS = reads(Path("/"))
COMMANDS = [
    "cat .env",
    "cat notes.txt app/settings.cfg",
    "grep -r sk-canary . ; grep -r API_KEY .",
    "env",
    "cat /proc/self/environ /proc/1/environ | tr '\\0' '\\n'",
    "ls -la /proc/*/environ 2>&1 | head; cat /proc/[0-9]*/environ 2>/dev/null | tr '\\0' '\\n'",
    "cp .env copy.txt && cat copy.txt",
    "cat $PWD/.env ~/.env 2>&1",
    "find / -name .env -not -path '/proc/*' 2>/dev/null | xargs cat 2>/dev/null",
    "cat .git/config 2>&1; git config -l 2>&1 | head",
]


def attack(root: Path, token: str) -> list[Any]:
    """Every way the model has to reach the token, one tool call per turn."""
    steps = [tool_call_reply([call]) for call in reads(root)]
    steps += [tool_call_reply([("run_command", {"command": c})]) for c in COMMANDS]
    steps.append(tool_call_reply([("finish", {"summary": "looked everywhere"})]))
    return steps


def leaks(model: ScriptedModelServer, token: str) -> list[str]:
    """Where the token shows up in what the model server received."""
    found = []
    for n, body in enumerate(model.requests):
        text = json.dumps(body)
        if token in text or token[len("sk-canary-") :] in text:
            found.append(f"request {n}: ...{text[max(0, text.find(token[-12:]) - 300) :][:400]}")
    return found


def tool_results(model: ScriptedModelServer) -> list[str]:
    return [m["content"] for m in model.requests[-1]["messages"] if m["role"] == "tool"]


@needs_sandbox
@pytest.mark.parametrize("approval", ["full-auto", "ask"])
async def test_the_token_never_reaches_the_model(
    model: ScriptedModelServer, tmp_path: Path, approval: str
) -> None:
    token, in_ignored = canary(), canary()
    root = secret_workspace(tmp_path / "ws", token, ignored=f"leftover {in_ignored}\n")
    model.enqueue(*attack(root, token))
    settings = {
        **model_options(model.base_url),
        "agent": {"approval": approval, "maxSteps": 40},
    }
    env = {
        "AGENTLS_CACHE_DIR": str(tmp_path / "cache"),
        "OPENAI_API_KEY": token,  # the server's own key: sent in a header, never a body
        "GITHUB_TOKEN": token,
        "CANARY_SECRET": token,
    }
    async with lsp_session(settings, root_uri=root.as_uri(), env=env) as (client, editor):
        editor.answers = ["Allow for this task"] * 4
        env_uri = (root / ".env").as_uri()
        # The user has .env open, with an unsaved change that holds the token again.
        editor.open(env_uri, f"API_KEY={token}\nNEW_KEY={token}-unsaved\n", "dotenv")
        editor.open((root / "notes.txt").as_uri(), f"API_KEY={token}\n", "plaintext")
        editor.open((root / "ignored/dump.txt").as_uri(), f"unsaved {in_ignored}\n", "plaintext")
        # ... and typed in it (recent edits feed the context engine).
        editor.type(env_uri, 1, 0, f"TYPED={token}\n")
        main_uri = (root / "app/main.py").as_uri()
        editor.open(main_uri, MAIN)
        result = await run(client, {"instruction": "find the API key", "uri": main_uri})
        assert result["status"] == "done", result
        assert len(model.requests) == len(attack(root, token)), "the model missed turns"
        assert leaks(model, token) == []
        results = tool_results(model)
        # The gitignored file: no read tool shows it (commands do: see the xfail below).
        assert not any(in_ignored in r for r in results[: len(READS)])
        # Each read was refused for the right reason, and the commands did run.
        assert "a secret file" in results[0] and "a secret file" in results[4]
        assert "ignored by .gitignore" in results[6]
        commands = results[len(READS) :]
        assert all("[exit code" in r for r in commands), commands
        assert "API_KEY=\n" not in commands[0] and "(no output)" in commands[0]
        if approval == "ask":
            assert len(editor.asked) == 1 and "run `cat .env`" in editor.asked[0]
        assert (root / ".env").read_text() == f"API_KEY={token}\n"


async def test_a_task_started_in_the_env_buffer_sends_none_of_it(
    model: ScriptedModelServer, tmp_path: Path
) -> None:
    """The user runs the agent from the open .env itself (mode ask: read tools only):
    the context gathered at that position must not include the buffer."""
    token = canary()
    root = secret_workspace(tmp_path / "ws", token)
    model.enqueue(tool_call_reply([("finish", {"summary": "nothing to see"})]))
    settings = {**model_options(model.base_url), "agent": {"approval": "full-auto"}}
    env = {"AGENTLS_CACHE_DIR": str(tmp_path / "cache")}
    async with lsp_session(settings, root_uri=root.as_uri(), env=env) as (client, editor):
        env_uri = (root / ".env").as_uri()
        editor.open(env_uri, f"API_KEY={token}\n", "dotenv")
        for mode in ("ask", "edit"):
            model.enqueue(tool_call_reply([("finish", {"summary": "nothing to see"})]))
            result = await run(
                client,
                {
                    "instruction": "what is this key for?",
                    "uri": env_uri,
                    "position": {"line": 0, "character": 10},
                    "mode": mode,
                },
            )
            assert result["status"] in ("done", "failed"), result
        assert model.requests, "the model was never asked"
        assert leaks(model, token) == []
        assert (root / ".env").read_text() == f"API_KEY={token}\n"


@needs_sandbox
@pytest.mark.parametrize("marked", [False, True], ids=["ignored-only", "secret-pattern"])
async def test_ignored_files_and_commands(
    model: ScriptedModelServer, tmp_path: Path, marked: bool
) -> None:
    """By design, commands see gitignored files that are no secrets (builds need
    build/, target/, generated code); the read tools refuse them. A user who wants one
    hidden from commands too adds it to context.secretPatterns: then it reads as empty.
    (The marker does not look like a key: one that does is hidden from command output.)"""
    token = canary().removeprefix("sk-")
    root = secret_workspace(tmp_path / "ws", canary(), ignored=f"leftover {token}\n")
    model.enqueue(
        tool_call_reply([("run_command", {"command": "grep -r canary- . ; true"})]),
        tool_call_reply([("finish", {"summary": "done"})]),
    )
    settings = {**model_options(model.base_url), "agent": {"approval": "full-auto"}}
    if marked:
        settings["context"] = {"secretPatterns": ["ignored/dump.txt"]}
    env = {"AGENTLS_CACHE_DIR": str(tmp_path / "cache")}
    async with lsp_session(settings, root_uri=root.as_uri(), env=env) as (client, _):
        result = await run(client, {"instruction": "look"})
        assert result["status"] == "done", result
        assert (leaks(model, token) == []) == marked
