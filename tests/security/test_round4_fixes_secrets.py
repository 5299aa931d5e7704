"""Round-4 fixes, attacked with variants the red team did not try (real ``agentls exec``,
full-auto, real bubblewrap): secret formats x encodings through ``read_file`` and
commands (UTF-16/32 files are valid UTF-8 byte by byte: their masked copy must not be
the file), credentials deep in toolchains, agentls' cache under ``XDG_CACHE_HOME`` in
the workspace, a pack file and a disguised bundle, a secret moved under
``node_modules``/``.venv`` or hard-linked into ``vendor``."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.security.round4_support import commands, exec_task, threaded_model, token, workspace
from tests.support.model_server import ScriptedModelServer

__all__ = ["threaded_model"]


def _leaked(bodies: str, secret: str) -> bool:
    return secret in bodies or secret[::-1] in bodies


FORMATS = {
    "kwarg.py": 'db = connect(user="app", password="{s}")\n',
    "client.ts": 'const c = new Api({{ token: "{s}" }});\n',
    "settings.xml": "<servers><server><password>{s}</password></server></servers>\n",
    "web.config": '<add key="StripePassword" value="{s}"/>\n',
    "deploy.sh": 'curl -H "Authorization: Bearer {s}" https://x.example\n',
    "upload.sh": "curl -u ci:{s} https://files.example/up\n",
    "cargo.toml": '[registries.corp]\ntoken = "{s}"\n',
    "hook.py": 'U = "https://discord.com/api/webhooks/123/{s}{s}{s}"\n',
}
ENCODINGS = {"utf-8": "utf-8", "utf-16": "utf-16", "utf-32be": "utf-32-be"}


def test_formats_by_encodings_reach_the_model_in_no_form(
    threaded_model: ScriptedModelServer, tmp_path: Path
) -> None:
    root = workspace(tmp_path)
    secrets: list[str] = []
    reads = []
    for folder, codec in ENCODINGS.items():
        for name, template in FORMATS.items():
            secret = token("F")
            secrets.append(secret)
            path = root / folder / name
            path.parent.mkdir(exist_ok=True)
            path.write_bytes(("# visible line\n" + template.format(s=secret)).encode(codec))
            reads.append(("read_file", {"path": f"{folder}/{name}"}))
    run = exec_task(
        threaded_model,
        root,
        [
            reads,
            *commands(
                "for f in utf-8/*; do rev $f; done; cat utf-8/* | base64 -w0; echo",
                "for f in utf-16/*; do iconv -f utf-16 -t utf-8 $f | rev; done",
                "for f in utf-32be/*; do iconv -f utf-32be -t utf-8 $f | rev; done",
                "strings -el utf-16/* | rev; od -c utf-32be/cargo.toml | head -20",
            ),
        ],
        timeout=120,
    )
    assert run.done.returncode == 0, run.done.stderr
    assert "# visible line" in run.bodies  # the files were read
    assert len([r for r in run.results if "[exit code 0" in r]) == 4, run.results
    leaked = [s for s in secrets if _leaked(run.bodies, s)]
    assert not leaked, leaked


def test_credentials_deep_in_toolchains_are_hidden(
    threaded_model: ScriptedModelServer, tmp_path: Path
) -> None:
    """nvm's npmrc eight folders down, a pyenv version's pip.conf (content), cargo's
    config without suffix (content), uv's credentials (name)."""
    npm, pip, cargo, uv = token("Npm"), token("Pip"), token("Cargo"), token("Uv")
    home = tmp_path / "home"
    files = {
        ".nvm/versions/node/v22.1.0/lib/x/y/z/.npmrc": f"//r.example/:_authToken={npm}\n",
        ".pyenv/versions/3.12.1/pip.conf": f"[global]\nindex-url = https://me:{pip}@pypi.corp/simple\n",
        ".cargo/config": f'[registries.corp]\ntoken = "{cargo}"\n',
        ".local/share/uv/credentials/credentials.toml": f'[[credential]]\npassword = "{uv}"\n',
    }
    for relative, text in files.items():
        path = home / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    (home / ".cargo" / "bin").mkdir()
    root = workspace(tmp_path)
    paths = " ".join(f"~/{r}" for r in files)
    run = exec_task(
        threaded_model,
        root,
        commands(f"for f in {paths}; do echo == $f; rev $f; done; find ~ -type f | wc -l"),
        env={"HOME": str(home)},
    )
    assert run.done.returncode == 0, run.done.stderr
    assert "== ~/.cargo/config" in run.results[0] or "== " in run.results[0], run.results
    for secret in (npm, pip, cargo, uv):
        assert not _leaked(run.bodies, secret), (secret, run.results)


def test_the_cache_under_xdg_cache_home_in_the_workspace_is_hidden_and_read_only(
    threaded_model: ScriptedModelServer, tmp_path: Path
) -> None:
    secret = "ghp_" + token("Xdg").ljust(36, "q")[:36]
    root = workspace(tmp_path, {"app/settings.py": f'GITHUB = "{secret}"\n'})
    cache = root / ".cache" / "agentls"
    run = exec_task(
        threaded_model,
        root,
        commands(
            "ls -la .cache/agentls; cat .cache/agentls/* .cache/agentls/*/* 2>/dev/null"
            " | strings -n 20 | rev; touch .cache/agentls/planted; echo done"
        ),
        env={"AGENTLS_CACHE_DIR": "", "XDG_CACHE_HOME": str(root / ".cache")},
    )
    assert run.done.returncode == 0, run.done.stderr
    assert list(cache.glob("index-*.sqlite")), "no index was made there"
    assert not _leaked(run.bodies, secret), run.results
    assert not (cache / "planted").exists()


def _repository_with_a_removed_env(root: Path, secret: str) -> list[str]:
    git = ["git", "-C", str(root), "-c", "user.email=a@b", "-c", "user.name=a"]
    subprocess.run([*git[:3], "init", "-q"], check=True)
    (root / ".env").write_text(f"API_TOKEN={secret}\n")
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "first"], check=True)
    subprocess.run([*git, "rm", "-q", "--cached", ".env"], check=True)
    (root / ".env").unlink()
    subprocess.run([*git, "commit", "-qm", "drop"], check=True)
    return git


def test_a_pack_a_renamed_bundle_and_loose_objects_hold_no_history_for_commands(
    threaded_model: ScriptedModelServer, tmp_path: Path
) -> None:
    secret = token("Pk")
    root = workspace(tmp_path)
    git = _repository_with_a_removed_env(root, secret)
    loose = root.parent / "loose"  # a copy of .git/objects (loose), no repository
    subprocess.run(["cp", "-r", str(root / ".git" / "objects"), str(loose)], check=True)
    subprocess.run([*git, "gc", "-q"], check=True)
    (root / "copy").mkdir()
    subprocess.run(["cp", "-r", str(loose), str(root / "copy" / "objects")], check=True)
    pack = next((root / ".git" / "objects" / "pack").glob("*.pack"))
    (root / "backups").mkdir()
    (root / "backups" / "objects.dat").write_bytes(pack.read_bytes())
    subprocess.run([*git, "bundle", "create", "-q", str(root / "notes.txt"), "--all"], check=True)
    run = exec_task(
        threaded_model,
        root,
        commands(
            "git init -q /tmp/u && git -C /tmp/u unpack-objects < backups/objects.dat;"
            " git -C /tmp/u cat-file --batch-all-objects --batch | strings -n 8 | rev; echo one",
            "git clone -q notes.txt /tmp/c; git -C /tmp/c log -p --all | rev; echo two",
            "git init -q /tmp/o && cp -r copy/objects/. /tmp/o/.git/objects/ &&"
            " git -C /tmp/o cat-file --batch-all-objects --batch | strings -n 8 | rev; echo three",
        ),
    )
    assert run.done.returncode == 0, run.done.stderr
    assert "one" in run.results[0] and "two" in run.results[1], run.results
    assert "three" in run.results[2], run.results
    assert not _leaked(run.bodies, secret), run.results


def test_a_secret_moved_under_any_package_folder_or_linked_there_stays_hidden(
    threaded_model: ScriptedModelServer, tmp_path: Path
) -> None:
    secret = "ghp_" + token("Nm").ljust(36, "z")[:36]
    root = workspace(
        tmp_path,
        {
            "app/settings.py": f'GITHUB = "{secret}"\n',
            "web/conf.py": f'GITHUB = "{secret}"\n',
            "lib/keys.py": f'GITHUB = "{secret}"\n',
        },
    )
    run = exec_task(
        threaded_model,
        root,
        commands(
            "rev app/settings.py web/conf.py lib/keys.py",
            "mkdir -p node_modules .venv/lib vendor && mv app node_modules/app && "
            "mv web .venv/lib/web && echo moved; ln lib/keys.py vendor/keys.py",
            "rev node_modules/app/settings.py .venv/lib/web/conf.py vendor/keys.py",
        ),
        settings={"sandbox": {"writableEnvs": True}},
    )
    assert run.done.returncode == 0, run.done.stderr
    assert "moved" in run.results[1], run.results
    assert (root / "node_modules/app/settings.py").exists()
    assert (root / ".venv/lib/web/conf.py").exists()
    assert not _leaked(run.bodies, secret), run.results
