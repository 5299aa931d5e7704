"""Round 4 over the real LSP server (stdio, fake editor): what the approval question
shows, and a hostile model's tool calls built to hurt the server itself."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

from tests.support.lsp_session import command, lsp_session, model_options, run
from tests.support.model_server import ScriptedModelServer, tool_call_reply

# Characters that draw nothing though Unicode calls them letters or symbols.
BLANKS = "\u2800\u3164\u115f\u1160\uffa0"


def _options(model: ScriptedModelServer, approval: str, **agent: Any) -> dict[str, Any]:
    return {**model_options(model.base_url), "agent": {"approval": approval, **agent}}


def _root(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    root.mkdir()
    (root / "main.py").write_text("print('hello')\n")
    return root


async def test_r4_15_blank_letters_cannot_push_the_tail_out_of_the_question(
    model: ScriptedModelServer, tmp_path: Path
) -> None:
    root = _root(tmp_path)
    for blank in ("\u2800", "\u3164"):
        line = "pytest -q" + blank * 400 + "; touch pwned"
        model.enqueue(tool_call_reply([("run_command", {"command": line})]))
    model.enqueue(tool_call_reply([("finish", {"summary": "ok"})]))
    env = {"AGENTLS_CACHE_DIR": str(tmp_path / "cache")}
    async with lsp_session(_options(model, "ask"), root_uri=root.as_uri(), env=env) as (
        client,
        editor,
    ):
        result = await run(client, {"instruction": "run the tests"})
        assert result["status"] == "done", result
    assert len(editor.asked) == 2, editor.asked
    assert not (root / "pwned").exists()
    for question in editor.asked:
        assert not re.search(f"[{BLANKS}]{{4,}}", question), question[:80]


async def test_r4_16_deeply_nested_tool_arguments_do_not_hurt_the_server(
    model: ScriptedModelServer, tmp_path: Path
) -> None:
    """Tool calls whose arguments nest 30,000 levels deep (past json's recursion limit,
    within the reply's size cap), then 500 calls in one reply: the task ends, the
    server serves the next one."""
    root = _root(tmp_path)
    deep = '{"path": ' + "[" * 30_000 + "]" * 30_000 + "}"
    model.enqueue(
        tool_call_reply([("read_file", deep), ("list_files", {"path": "."})]),
        tool_call_reply([("finish", {"summary": "deep"})]),
        tool_call_reply([("read_file", {"path": "main.py", "offset": n}) for n in range(500)]),
        tool_call_reply([("finish", {"summary": "wide"})]),
        tool_call_reply([("finish", {"summary": "third"})]),
    )
    env = {"AGENTLS_CACHE_DIR": str(tmp_path / "cache")}
    async with lsp_session(_options(model, "auto-edit"), root_uri=root.as_uri(), env=env) as (
        client,
        _editor,
    ):
        for instruction in ("deep", "wide"):
            ended = await asyncio.wait_for(run(client, {"instruction": instruction}), 60)
            assert ended["status"] in ("done", "failed"), ended
        third = await asyncio.wait_for(run(client, {"instruction": "three"}), 30)
        assert third["status"] == "done" and third["summary"] == "third", third
        assert await command(client, "agentls.status") is not None
    # the deep call is an error the model reads (not JSON it can parse), the other call
    # of its turn still runs; every one of the 500 calls got an answer of its own
    deep_answers = [m for m in model.requests[1]["messages"] if m.get("role") == "tool"]
    assert len(deep_answers) == 2 and "not valid JSON" in deep_answers[0]["content"]
    answered = [m for m in model.requests[3]["messages"] if m.get("role") == "tool"]
    assert len(answered) == 500, len(answered)


async def test_r4_21_a_base_url_dressed_as_the_trusted_host_still_asks(
    model: ScriptedModelServer, tmp_path: Path
) -> None:
    """The workspace's settings move ``model.baseUrl`` to another local server behind
    URLs that look like the trusted one (the trusted host:port as user info, a trailing
    dot, ``localhost``): each change asks (no answer: the old model stays) and the other
    server gets no request, so never the key."""
    from lsprotocol import types

    attacker = ScriptedModelServer(default=tool_call_reply([("finish", {"summary": "x"})]))
    await attacker.start()
    try:
        root = _root(tmp_path)
        trusted = model.base_url.split("//", 1)[1].split("/", 1)[0]
        other = attacker.base_url.split("//", 1)[1].split("/", 1)[0]
        other_port = other.rsplit(":", 1)[1]
        disguised = [
            f"http://{trusted}@{other}/v1",
            f"http://{trusted}%2F@{other}/v1",
            f"http://127.0.0.1.:{other_port}/v1",
            f"http://localhost:{other_port}/v1",
        ]
        options = {
            **model_options(model.base_url, apiKeyEnv="R4_MODEL_KEY"),
            "agent": {"approval": "auto-edit", "askTimeout": 2},
        }
        env = {"AGENTLS_CACHE_DIR": str(tmp_path / "cache"), "R4_MODEL_KEY": "r4-key-3f9a"}
        async with lsp_session(
            options, root_uri=root.as_uri(), env=env, configuration={"agentls": options}
        ) as (client, editor):
            for url in disguised:
                changed = {**options, "model": {**options["model"], "baseUrl": url}}
                client.set_configuration({"agentls": changed})
                client.workspace_did_change_configuration(
                    types.DidChangeConfigurationParams(settings=None)
                )
                await asyncio.sleep(0.5)
                model.enqueue(tool_call_reply([("finish", {"summary": "trusted"})]))
                result = await run(client, {"instruction": "go"})
                assert result["summary"] == "trusted", (url, result)
        assert attacker.requests == []
        assert len(editor.asked) >= len(disguised), editor.asked
    finally:
        await attacker.stop()
