"""``agent.denyPaths`` binds commands too (issue 12, gaps). The user's deny rule kept
the agent's tools away from a path, yet a command read and wrote it: ``cat``, ``cp``,
``>>``. Now the sandbox masks what the rule names as it masks secret files (empty
and read-only; a denied folder is an empty read-only folder). Through ``agentls
exec``, full-auto, the real bubblewrap."""

from __future__ import annotations

from pathlib import Path

from tests.security.sandbox_attack import Attack, attack, exec_model, home  # noqa: F401
from tests.support.model_server import ScriptedModelServer

TOKEN = "denycanary-51c0ffee9a"
SETTINGS = {"agent": {"denyPaths": ["private/", "notes/plan.txt", "*.sqlite"]}}


def _workspace(root: Path) -> dict[str, str]:
    files = {
        "private/data.txt": f"customer {TOKEN} a\n",
        "private/deep/more.txt": f"customer {TOKEN} b\n",
        "notes/plan.txt": f"plan {TOKEN} c\n",
        "db/app.sqlite": f"rows {TOKEN} d\n",
        "notes/open.txt": "nothing to hide\n",
    }
    for relative, text in files.items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_text(text)
    return files


def test_a_command_neither_reads_nor_writes_denied_paths(
    exec_model: ScriptedModelServer,  # noqa: F811
    home: Path,  # noqa: F811
    tmp_path: Path,
) -> None:
    root = tmp_path / "ws"
    root.mkdir()
    files = _workspace(root)
    done: Attack = attack(
        exec_model,
        root,
        [
            "cat private/data.txt private/deep/more.txt notes/plan.txt db/app.sqlite",
            "grep -r customer . ; cp -r private copy && cat copy/data.txt",
            "echo pwned >> notes/plan.txt; echo pwned > private/data.txt;"
            " rm -f db/app.sqlite; echo pwned > private/new.txt; cat notes/open.txt",
        ],
        home=home,
        settings=SETTINGS,
    )
    assert TOKEN not in done.bodies, done.results
    assert "nothing to hide" in done.results[2], done.results  # the commands ran
    for relative, text in files.items():
        assert (root / relative).read_text() == text, relative
    assert not (root / "private/new.txt").exists()
