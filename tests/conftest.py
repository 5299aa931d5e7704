"""Fixtures shared by every test tier."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from tests.support.model_server import ScriptedModelServer


@pytest.fixture
def model() -> Iterator[ScriptedModelServer]:
    """The scripted model server on its own thread (for subprocess-driven tests);
    tests/lsp overrides it with one on the test's own event loop."""
    server = ScriptedModelServer()
    server.start_in_thread()
    try:
        yield server
    finally:
        server.stop_in_thread()


@pytest.fixture
async def model_server() -> AsyncIterator[ScriptedModelServer]:
    """The scripted model server on the test's own event loop (in-process tests)."""
    server = ScriptedModelServer()
    await server.start()
    try:
        yield server
    finally:
        await server.stop()
