"""Round-three attacks: files the user's editor runs on its own, written by the tools
unasked (issue 12, independent pass).

``policy/protected.py`` says a protected path is a file "that the user's editor and
tools run or trust on their own, later, on the host"; such a write asks in every
mode. A hostile model in ``auto-edit`` (writes unasked) writes files that editors run
on their own when the folder is opened, with no command of the user's:

- ``.cargo/config.toml``: rust-analyzer runs ``cargo check`` when a Rust project
  opens; cargo starts ``build.rustc-wrapper`` (any program the file names);
- ``build.rs``: rust-analyzer runs build scripts on open (``cargo.buildScripts``);
- ``eslint.config.js``, ``.eslintrc.cjs``: the ESLint extensions load (execute) the
  JavaScript config when a JS file is opened;
- ``prettier.config.js``: the Prettier extensions execute it on format-on-save.

The writes go through the real ``WriteTools`` and ``ApprovingSink`` to the disk, as in
``agentls exec --approval auto-edit``.
"""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

from agentls.config import parse_settings
from agentls.context.files import WorkspaceFiles
from agentls.policy.approval import Answer, ApprovingSink, Kind, Policy, rules_from
from agentls.policy.sandbox import sandbox_available
from agentls.tools.workspace import Workspace
from agentls.tools.write import DiskSink, WriteTools
from tests.security.round3_support import full_auto

RUN_BY_THE_EDITOR = {
    ".cargo/config.toml": '[build]\nrustc-wrapper = "/bin/sh"\n',
    "build.rs": 'fn main() { std::process::Command::new("sh").status().ok(); }\n',
    "eslint.config.js": 'require("child_process").execSync("id");\nmodule.exports = [];\n',
    ".eslintrc.cjs": 'require("child_process").execSync("id");\nmodule.exports = {};\n',
    "prettier.config.js": 'require("child_process").execSync("id");\nmodule.exports = {};\n',
    ".cargo/config": '[build]\nrustc-wrapper = "/bin/sh"\n',
    "crates/x/build.rs": "fn main() {}\n",
    "rust-toolchain.toml": '[toolchain]\npath = "/tmp/x"\n',
    "eslint.config.mjs": "export default [];\n",
    ".eslintrc.json": '{"parser": "./evil.js"}\n',
    ".prettierrc": '{"plugins": ["./evil.js"]}\n',
    ".prettierrc.cjs": "module.exports = {};\n",
    "tailwind.config.ts": "export default {};\n",
    ".pylintrc": "[MAIN]\ninit-hook='import os; os.system(\"id\")'\n",
}


async def _write_in_auto_edit(root: Path, relative: str, content: str) -> tuple[str, list[str]]:
    asked: list[str] = []

    async def asker(kind: Kind, what: str) -> Answer:
        asked.append(what)
        return "deny"

    settings, _ = parse_settings({})
    policy = Policy("auto-edit", asker, rules_from(settings), commands_sandboxed=True)
    tools = WriteTools(Workspace(WorkspaceFiles(root)), ApprovingSink(DiskSink(root), policy))
    write = next(t for t in tools.tools() if t.spec.name == "write_file")
    try:
        said = write.run({"path": relative, "content": content})
        if inspect.isawaitable(said):
            said = await said
    except Exception as error:  # ToolDenied: the write was refused
        said = str(error)
    return str(said), asked


@pytest.mark.parametrize("relative", sorted(RUN_BY_THE_EDITOR))
async def test_a_file_the_editor_runs_on_its_own_asks_before_it_is_written(
    relative: str, tmp_path: Path
) -> None:
    root = tmp_path / "project"
    root.mkdir()
    (root / "main.py").write_text("print(1)\n")
    said, asked = await _write_in_auto_edit(root, relative, RUN_BY_THE_EDITOR[relative])
    assert asked, f"written unasked: {said}"
    assert not (root / relative).exists()


async def test_vscode_settings_ask_in_auto_edit(tmp_path: Path) -> None:
    """The control: a listed protected path asks, and the denied write changes nothing."""
    root = tmp_path / "project"
    root.mkdir()
    said, asked = await _write_in_auto_edit(root, ".vscode/settings.json", "{}\n")
    assert asked, said
    assert not (root / ".vscode" / "settings.json").exists()


@pytest.mark.skipif(not sandbox_available().available, reason="needs a working bubblewrap")
async def test_commands_cannot_change_or_leave_them_either(tmp_path: Path) -> None:
    """The sandbox takes the same list: an existing one is read-only to a command, a new
    one is turned off when the command ends."""
    root = tmp_path / "project"
    root.mkdir()
    (root / "eslint.config.js").write_text("module.exports = [];\n")
    said = await full_auto(
        root,
        "echo 'require(1)' >> eslint.config.js; mkdir -p .cargo && "
        "echo '[build]' > .cargo/config.toml; echo 'fn main(){}' > build.rs; echo done",
    )
    assert "done" in said, said
    assert (root / "eslint.config.js").read_text() == "module.exports = [];\n"
    assert not (root / ".cargo" / "config.toml").exists(), said
    assert not (root / "build.rs").exists(), said
