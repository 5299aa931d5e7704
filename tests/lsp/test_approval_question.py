"""The editor's approval question for an agent edit shows the diff of that edit."""

from __future__ import annotations

from pathlib import Path

from tests.lsp.test_agent import env_for, options
from tests.support.lsp_session import lsp_session, run
from tests.support.model_server import ScriptedModelServer, tool_call_reply
from tests.unit.context.workspace import make_workspace


async def test_the_question_for_an_edit_shows_its_diff(
    model: ScriptedModelServer, tmp_path: Path
) -> None:
    root = make_workspace(tmp_path / "ws")
    edit = {
        "path": "app/service.py",
        "old_string": "User(name)",
        "new_string": "User(name.strip())",
    }
    model.enqueue(
        tool_call_reply([("edit_file", edit)]),
        tool_call_reply([("finish", {"summary": "names are stripped"})]),
    )
    async with lsp_session(
        options(model, approval="ask"), root_uri=root.as_uri(), env=env_for(tmp_path)
    ) as (client, editor):
        editor.answers = ["Allow once"]
        result = await run(client, {"instruction": "strip names"})
        assert result["status"] == "done", result
        [question] = editor.asked
        assert "wants to edit app/service.py:\n@@ " in question
        removed = [line for line in question.split("\n") if line.startswith("-")]
        added = [line for line in question.split("\n") if line.startswith("+")]
        assert len(removed) == 1 and "User(name)" in removed[0]
        assert len(added) == 1 and "User(name.strip())" in added[0]
        assert "(end of the diff)" in question
