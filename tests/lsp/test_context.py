"""agentls.context over LSP on a multi-file workspace: the index is built in the
background with progress, unsaved buffers are the truth, secrets never appear."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from lsprotocol import types

from tests.support.lsp_session import command, lsp_session
from tests.unit.context.workspace import SECRET, make_workspace


async def test_context_command_on_a_multi_file_workspace(tmp_path: Path) -> None:
    root = make_workspace(tmp_path / "ws")
    env = {"AGENTLS_CACHE_DIR": str(tmp_path / "cache")}
    async with lsp_session(None, root_uri=root.as_uri(), env=env) as (client, editor):
        service = (root / "app/service.py").read_text()
        # Unsaved: the function now also uses a helper that exists only in a buffer.
        editor.open(
            (root / "app/text.py").as_uri(), "def make_slug(v: str) -> str:\n    return v\n"
        )
        unsaved = service.replace("text.slugify(name)", "text.make_slug(name)")
        uri = (root / "app/service.py").as_uri()
        editor.open(uri, unsaved)
        result = await command(
            client, "agentls.context", {"uri": uri, "position": {"line": 6, "character": 4}}
        )
        snippets = result["snippets"]
        by_place = {(s["path"], s["startLine"]): s for s in snippets}
        assert by_place[("app/service.py", 5)]["reason"].startswith("the enclosing function")
        assert ("app/models.py", 1) in by_place  # class User, imported
        assert by_place[("app/text.py", 1)]["text"].startswith("def make_slug")
        assert result["totalTokens"] == sum(s["tokens"] for s in snippets)
        assert result["totalTokens"] <= 8000
        assert SECRET not in json.dumps(result)
        # The first build showed progress: begin ... end.
        await asyncio.sleep(0.1)
        kinds = [
            [getattr(r, "kind", None) for r in reports]
            for reports in client.progress_reports.values()
        ]
        assert any(k[:1] == ["begin"] and k[-1:] == ["end"] for k in kinds), kinds


async def test_context_for_an_unknown_document_is_a_clear_error(tmp_path: Path) -> None:
    env = {"AGENTLS_CACHE_DIR": str(tmp_path / "cache")}
    async with lsp_session(None, root_uri=tmp_path.as_uri(), env=env) as (client, _):
        try:
            await command(
                client,
                "agentls.context",
                {"uri": (tmp_path / "nope.py").as_uri(), "position": {"line": 0, "character": 0}},
            )
        except Exception as error:
            assert "not open" in str(error), error
        else:
            raise AssertionError("expected an error")
        status = await command(client, "agentls.status")
        assert status["running"] == []
        assert types.MessageType.Error not in [m.type for m in client.messages]


async def test_rewrite_prompt_carries_definitions_from_other_files(tmp_path: Path) -> None:
    from tests.support.lsp_session import model_options
    from tests.support.model_server import ScriptedModelServer, text_reply

    root = make_workspace(tmp_path / "ws")
    model = ScriptedModelServer()
    await model.start()
    try:
        env = {"AGENTLS_CACHE_DIR": str(tmp_path / "cache")}
        options = model_options(model.base_url)
        async with lsp_session(options, root_uri=root.as_uri(), env=env) as (client, editor):
            uri = (root / "app/service.py").as_uri()
            editor.open(uri, (root / "app/service.py").read_text())
            await command(  # waits for the first index build
                client, "agentls.context", {"uri": uri, "position": {"line": 5, "character": 0}}
            )
            model.enqueue(
                text_reply(
                    "```python\ndef register(name: str) -> User:\n    return User(name)\n```\n"
                )
            )
            point = {"line": 5, "character": 4}
            result = await command(
                client,
                "agentls.run",
                {"instruction": "simplify", "uri": uri, "range": {"start": point, "end": point}},
            )
            assert result["status"] == "done", result
            prompt = json.dumps(model.requests[-1]["messages"])
            assert "class User" in prompt and "app/models.py" in prompt
            assert "def slugify" in prompt
            assert SECRET not in prompt
    finally:
        await model.stop()


async def test_files_changed_outside_the_editor_are_followed(tmp_path: Path) -> None:
    root = make_workspace(tmp_path / "ws")
    env = {"AGENTLS_CACHE_DIR": str(tmp_path / "cache")}
    async with lsp_session(None, root_uri=root.as_uri(), env=env) as (client, editor):
        uri = (root / "app/service.py").as_uri()
        service = (root / "app/service.py").read_text()
        editor.open(uri, service.replace("text.slugify(name)", "text.to_ascii(name)"))
        where = {"uri": uri, "position": {"line": 6, "character": 4}}
        before = await command(client, "agentls.context", where)
        assert "def to_ascii" not in json.dumps(before)
        # Another program rewrites app/text.py and deletes app/models.py.
        (root / "app/text.py").write_text("def to_ascii(value: str) -> str:\n    return value\n")
        (root / "app/models.py").unlink()
        client.workspace_did_change_watched_files(
            types.DidChangeWatchedFilesParams(
                changes=[
                    types.FileEvent((root / "app/text.py").as_uri(), types.FileChangeType.Changed),
                    types.FileEvent(
                        (root / "app/models.py").as_uri(), types.FileChangeType.Deleted
                    ),
                ]
            )
        )
        after = json.dumps(await command(client, "agentls.context", where))
        assert "def to_ascii" in after
        assert "app/models.py" not in after
