"""Start the real agentls server over stdio, with a fake editor attached."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from lsprotocol import types
from pytest_lsp import LanguageClient, client_capabilities

from tests.support.fake_editor import FakeEditor, make_client

SERVER = [sys.executable, "-m", "agentls"]


def model_options(base_url: str, **model: Any) -> dict[str, Any]:
    """initializationOptions that point the server at a scripted model server."""
    return {
        "model": {
            "baseUrl": base_url,
            "name": "scripted-model",
            "maxRetries": 2,
            "timeout": 5,
            **model,
        }
    }


@asynccontextmanager
async def lsp_session(
    init_options: Any = None,
    *,
    capabilities: types.ClientCapabilities | str = "visual-studio-code",
    env: dict[str, str] | None = None,
    configuration: dict[str, Any] | None = None,
    server: Sequence[str] = SERVER,
    editor_class: type[FakeEditor] = FakeEditor,
    root_uri: str = "file:///tmp/agentls-test",
    **editor_options: Any,
) -> AsyncIterator[tuple[LanguageClient, Any]]:
    """(client, editor) of a fresh server started with ``server``; the model's
    environment variables are removed, ``env`` is added."""
    client = make_client()
    if configuration is not None:
        client.set_configuration(configuration)
    editor = editor_class(client, **editor_options)
    server_env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "AGENTLS_"))}
    server_env.update(env or {})
    await client.start_io(*server, env=server_env)
    caps = client_capabilities(capabilities) if isinstance(capabilities, str) else capabilities
    await client.initialize_session(
        types.InitializeParams(
            capabilities=caps,
            initialization_options=init_options,
            root_uri=root_uri,
            process_id=os.getpid(),
        )
    )
    try:
        yield client, editor
    finally:
        await client.shutdown_session()
        await client.stop()


async def wait_for_edits(editor: FakeEditor, count: int = 1) -> None:
    """Until the editor has applied ``count`` of the server's edits."""
    while len([e for e in editor.log if e.outcome == "applied"]) < count:
        await asyncio.sleep(0.005)


async def run(client: LanguageClient, arguments: dict[str, Any]) -> Any:
    return await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command="agentls.run", arguments=[arguments])
    )


async def command(
    client: LanguageClient, name: str, arguments: dict[str, Any] | None = None
) -> Any:
    return await client.workspace_execute_command_async(
        types.ExecuteCommandParams(
            command=name, arguments=[arguments] if arguments is not None else []
        )
    )
