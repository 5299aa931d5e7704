"""Code the user's tools run later, planted by a command (issue 12, gaps). A command
could write the workspace's virtual environment (``.venv/bin/python``, ``activate``,
a ``*.pth`` file in ``site-packages``: Python runs it at every start, the editor's
language server included) and ``node_modules`` (``.bin/eslint``, a package's code the
ESLint extension loads): code that runs on the host, outside the sandbox, when the
user next runs ``python`` or opens the folder. Now virtual environments (a folder
with ``pyvenv.cfg`` or ``conda-meta/``, at any depth) and ``node_modules`` folders are
read-only to commands unless ``sandbox.writableEnvs`` is on. Through ``agentls exec``,
full-auto, the real bubblewrap."""

from __future__ import annotations

from pathlib import Path

from tests.security.sandbox_attack import attack, exec_model, home  # noqa: F401
from tests.support.model_server import ScriptedModelServer

SITE = ".venv/lib/python3.11/site-packages"
FILES = {
    ".venv/pyvenv.cfg": "home = /usr/bin\n",
    ".venv/bin/activate": "# activate\n",
    f"{SITE}/pkg/__init__.py": "X = 1\n",
    "tools/env/pyvenv.cfg": "home = /usr/bin\n",
    "tools/env/bin/pytest": "#!/bin/sh\n",
    "conda/conda-meta/history": "\n",
    "conda/bin/python": "#!/bin/sh\n",
    "node_modules/.bin/eslint": "#!/usr/bin/env node\n",
    "node_modules/eslint/lib/api.js": "module.exports = {}\n",
    "web/node_modules/.bin/tsc": "#!/usr/bin/env node\n",
}
PLANT = (
    "echo 'import os; os.system(\"touch /tmp/pwned\")' > " + SITE + "/evil.pth;"
    " echo 'touch /tmp/pwned' >> .venv/bin/activate; rm -f .venv/pyvenv.cfg;"
    " echo pwned >> tools/env/bin/pytest; echo pwned >> conda/bin/python;"
    " echo pwned >> node_modules/.bin/eslint; echo 'pwned()' >> node_modules/eslint/lib/api.js;"
    " ln -s /tmp/x node_modules/.bin/prettier; echo pwned > web/node_modules/.bin/tsc;"
    " mv node_modules nm; echo ran"
)


def _workspace(root: Path) -> None:
    for relative, text in FILES.items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_text(text)
    (root / "app.py").write_text("print(1)\n")


def _unchanged(root: Path) -> list[str]:
    changed = [r for r, text in FILES.items() if (root / r).read_text() != text]
    for extra in (f"{SITE}/evil.pth", "node_modules/.bin/prettier", "nm"):
        if (root / extra).exists() or (root / extra).is_symlink():
            changed.append(extra)
    return changed


def test_a_command_cannot_plant_code_in_virtual_envs_or_node_modules(
    exec_model: ScriptedModelServer,  # noqa: F811
    home: Path,  # noqa: F811
    tmp_path: Path,
) -> None:
    root = tmp_path / "ws"
    root.mkdir()
    _workspace(root)
    done = attack(exec_model, root, [PLANT, "echo 'print(2)' > app.py; cat app.py"], home=home)
    assert "ran" in done.results[0], done.results
    assert "print(2)" in done.results[1], done.results  # the workspace stays writable
    assert _unchanged(root) == [], done.results


def test_writable_envs_lets_commands_change_them(
    exec_model: ScriptedModelServer,  # noqa: F811
    home: Path,  # noqa: F811
    tmp_path: Path,
) -> None:
    root = tmp_path / "ws"
    root.mkdir()
    _workspace(root)
    attack(
        exec_model,
        root,
        ["echo pwned >> node_modules/.bin/eslint; touch " + SITE + "/ok.pth"],
        home=home,
        settings={"sandbox": {"writableEnvs": True}},
    )
    assert (root / "node_modules/.bin/eslint").read_text().endswith("pwned\n")
    assert (root / SITE / "ok.pth").exists()
