"""Verification in the editor: errors the file had before the task are not the task's
(they no longer keep it going); errors its edits bring are fed back to the model."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import attrs
from lsprotocol import types
from pytest_lsp import client_capabilities

from tests.support.fake_editor import FakeEditor
from tests.support.lsp_session import lsp_session, model_options, run
from tests.support.model_server import ScriptedModelServer, tool_call_reply

TEXT = (
    "import re\n\n\n"
    "def slugify(value: str) -> str:\n"
    '    return re.sub(r"[^a-z0-9]+", "-", value.lower()).strip("-")\n\n\n'
    "LEGACY = legacy_name\n"
)
OLD = "undefined name 'legacy_name'"


def _diagnostic(line: int, message: str) -> dict[str, Any]:
    spot = {"start": {"line": line, "character": 0}, "end": {"line": line, "character": 5}}
    return {"range": spot, "message": message, "severity": 1, "source": "pyflakes"}


@dataclass
class LintingEditor(FakeEditor):
    """An editor that answers ``agentls/diagnostics`` as the VS Code extension does: what
    its linter shows for each open file now (re-linted after each change: age 0)."""

    def __post_init__(self) -> None:
        super().__post_init__()

        def diagnostics(params: Any) -> dict[str, Any]:
            files = []
            for uri, doc in self.docs.items():
                lines = doc.source.split("\n")
                found = [_diagnostic(lines.index("LEGACY = legacy_name"), OLD)]
                if "undefined_thing" in doc.source:
                    found.append(_diagnostic(4, "undefined name 'undefined_thing'"))
                files.append({"uri": uri, "diagnostics": found, "ageMs": 0})
            return {"files": files}

        self.client.feature("agentls/diagnostics")(diagnostics)


def _capabilities() -> types.ClientCapabilities:
    caps = client_capabilities("visual-studio-code")
    return attrs.evolve(caps, experimental={"agentlsDiagnostics": True})


def _edit(old: str, new: str) -> tuple[str, dict[str, str]]:
    return "edit_file", {"path": "app/text.py", "old_string": old, "new_string": new}


async def test_an_error_from_before_the_task_does_not_keep_it_going_a_new_one_does(
    model: ScriptedModelServer, tmp_path: Path
) -> None:
    root = tmp_path / "ws"
    (root / "app").mkdir(parents=True)
    (root / "app/text.py").write_text(TEXT)
    uri = (root / "app/text.py").as_uri()
    settings = {**model_options(model.base_url), "agent": {"approval": "auto-edit"}}
    async with lsp_session(
        settings,
        root_uri=root.as_uri(),
        env={"AGENTLS_CACHE_DIR": str(tmp_path / "cache")},
        capabilities=_capabilities(),
        editor_class=LintingEditor,
    ) as (client, editor):
        editor.open(uri, TEXT)
        model.enqueue(
            tool_call_reply([_edit('.strip("-")\n', '.strip("-")  # slug\n')]),
            tool_call_reply([("finish", {"summary": "commented"})]),
        )
        first = await run(client, {"instruction": "comment it", "uri": uri})
        assert first["status"] == "done" and first["summary"] == "commented", first
        assert len(model.requests) == 2  # the old error went nowhere near the model

        model.clear()
        model.enqueue(
            tool_call_reply([_edit("  # slug", " + undefined_thing")]),
            tool_call_reply([("finish", {"summary": "done"})]),
            tool_call_reply([_edit(" + undefined_thing", ""), ("finish", {"summary": "fixed"})]),
        )
        second = await run(client, {"instruction": "break it", "uri": uri})
        assert second["status"] == "done" and second["summary"] == "fixed", second
        results = [m["content"] for m in model.requests[2]["messages"] if m["role"] == "tool"]
        fed_back = results[-1]
        assert "undefined name 'undefined_thing'" in fed_back
        assert OLD not in fed_back
