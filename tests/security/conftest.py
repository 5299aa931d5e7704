from __future__ import annotations

import pytest

from tests.support.model_server import ScriptedModelServer


@pytest.fixture
def model(model_server: ScriptedModelServer) -> ScriptedModelServer:
    """The scripted model server on the test's own event loop (the tests drive the real
    server process from that loop, like tests/lsp)."""
    return model_server
