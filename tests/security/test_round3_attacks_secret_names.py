"""Round-three attacks on secrets by name (issue 12, independent pass).

``policy/secrets.py`` matches secret names with gitignore patterns, case-sensitively.
Two ways a user's secret file escapes them:

- **case**: on macOS and Windows (where the VS Code extension runs the server too)
  the file system ignores case: ``read_file(".ENV")`` opens ``.env``, and
  ``Credentials.json`` is what a Windows tool writes. On Linux the same names exist
  as files of their own (projects made on those systems).
- **backups**: Emacs saves ``.env~`` beside ``.env`` the first time it is saved in a
  session (the default ``make-backup-files``); the same text, another name.

The values here match no content pattern (no keyword, no known token format): only
the name protects them, as it protects every ``.env``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from agentls.context.files import WorkspaceFiles
from agentls.policy.sandbox import sandbox_available
from agentls.tools.read import read_only_tools
from agentls.tools.workspace import Workspace
from tests.security.round3_support import full_auto

NAMES = [".ENV", ".Env", "PROD.ENV", "Credentials.json", "Secrets.yaml", ".env~"]
NAMES += [".env.bak", ".env.swp", "#.env#", ".npmrc.bak", "id_ed25519~", ".credentials.json.swp"]


def _read(root: Path, path: str) -> str:
    tools = {t.spec.name: t for t in read_only_tools(Workspace(WorkspaceFiles(root)))}
    try:
        said = tools["read_file"].run({"path": path})
    except Exception as error:  # ToolDenied: refused
        return f"error: {error}"
    return str(said)


def test_a_lower_case_env_is_refused(tmp_path: Path) -> None:
    """The control."""
    (tmp_path / ".env").write_text("DEPLOY_REGION=NAME-CANARY-31\n")
    assert "NAME-CANARY" not in _read(tmp_path, ".env")


@pytest.mark.parametrize("name", NAMES)
def test_a_secret_file_under_another_case_or_a_backup_name_is_refused(
    name: str, tmp_path: Path
) -> None:
    text = (
        '{"region": "NAME-CANARY-31"}\n'
        if name.endswith(".json")
        else "DEPLOY_REGION=NAME-CANARY-31\n"
    )
    (tmp_path / name).write_text(text)
    (tmp_path / "main.py").write_text("print(1)\n")
    assert "NAME-CANARY" not in _read(tmp_path, name)


@pytest.mark.skipif(not sandbox_available().available, reason="needs a working bubblewrap")
async def test_a_command_sees_those_files_empty(tmp_path: Path) -> None:
    """The sandbox masks the same names (it asks the same matcher)."""
    for name in NAMES:
        (tmp_path / name).write_text("DEPLOY_REGION=NAME-CANARY-31\n")
    (tmp_path / "main.py").write_text("print(1)\n")
    said = await full_auto(tmp_path, "cat ./* ./.[!.]* 2>/dev/null; ls -a | wc -l")
    assert "exit code" in said, said
    assert "NAME-CANARY" not in said
