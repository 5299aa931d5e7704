"""Neovim 0.7, headless: a selection's action is one Neovim can complete (no "Agent: edit
selection…", which needs a prompt Neovim's LSP client does not have), and the comment it
puts in leads to the instruction's own action."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.editors.harness import HERE, ensure_editors

pytestmark = pytest.mark.editor

SOURCE = "class Cart:\n    def total(self):\n        return sum(self.items)\n"


def test_neovim_gets_an_instruction_comment_for_a_selection(tmp_path: Path) -> None:
    ensure_editors()
    root = tmp_path / "ws"
    root.mkdir()
    (root / "cart.py").write_text(SOURCE)
    config = {
        "file": str(root / "cart.py"),
        "root": str(root),
        "server_cmd": [sys.executable, "-m", "agentls", "--log-file", str(tmp_path / "s.log")],
        "instruction": "skip items that are None",
        "output": str(tmp_path / "out.json"),
    }
    (tmp_path / "config.json").write_text(json.dumps(config))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "AGENTLS_"))}
    env.update(AGENTLS_DRIVER_CONFIG=str(tmp_path / "config.json"))
    env["AGENTLS_CACHE_DIR"] = str(tmp_path / "cache")
    done = subprocess.run(
        ["nvim", "--headless", "--clean", "-u", str(HERE / "nvim_selection.lua")],
        cwd=root, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
        timeout=60, check=False,
    )  # fmt: skip
    out = json.loads((tmp_path / "out.json").read_text())
    assert done.returncode == 0 and out["ok"], (out, done.stdout[-2000:], done.stderr[-2000:])
    assert "Agent: edit selection…" not in out["titles"]
    assert out["text"] == (
        "class Cart:\n    # agent: skip items that are None\n    def total(self):\n"
        "        return sum(self.items)"
    )
    assert "Agent: skip items that are None" in out["comment_titles"]
