from __future__ import annotations

import pytest

from tests.support.model_server import ScriptedModelServer


@pytest.fixture
def model(model_server: ScriptedModelServer) -> ScriptedModelServer:
    """tests/lsp drive the server from the test's loop: the in-loop scripted server."""
    return model_server
