from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.support.model_server import ScriptedModelServer


@pytest.fixture
async def model() -> AsyncIterator[ScriptedModelServer]:
    server = ScriptedModelServer()
    await server.start()
    try:
        yield server
    finally:
        await server.stop()
