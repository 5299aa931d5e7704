"""The server on ``model.api: "responses"``: a full task over the Responses API (the
scripted server's ``/v1/responses`` events), its edit landing in the editor."""

from __future__ import annotations

from pathlib import Path

from tests.support.lsp_session import lsp_session, model_options, run
from tests.support.model_server import ScriptedModelServer, tool_call_reply
from tests.unit.context.workspace import make_workspace


async def test_a_task_over_the_responses_api_edits_the_open_document(
    model: ScriptedModelServer, tmp_path: Path
) -> None:
    root = make_workspace(tmp_path / "ws")
    uri = (root / "app/text.py").as_uri()
    text = (root / "app/text.py").read_text()
    edit = {"path": "app/text.py", "old_string": "import re\n", "new_string": "import re  # x\n"}
    model.enqueue(
        tool_call_reply([("read_file", {"path": "app/text.py"})]),
        tool_call_reply([("edit_file", edit)]),
        tool_call_reply([("finish", {"summary": "marked the import"})]),
    )
    settings = {
        **model_options(model.base_url, api="responses"),
        "agent": {"approval": "auto-edit"},
    }
    env = {"AGENTLS_CACHE_DIR": str(tmp_path / "cache")}
    async with lsp_session(settings, root_uri=root.as_uri(), env=env) as (client, editor):
        editor.open(uri, text)
        result = await run(client, {"instruction": "mark the import", "uri": uri})
        assert result["status"] == "done" and result["summary"] == "marked the import", result
        assert result["usage"]["inputTokens"] > 0
        assert editor.text(uri).startswith("import re  # x\n")
    assert len(model.requests) == 3
    assert all("input" in body and "messages" not in body for body in model.requests)
    last = model.requests[-1]["input"]
    assert last[-1]["type"] == "function_call_output" and "edited" in last[-1]["output"]
