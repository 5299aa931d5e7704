"""Round 4: what a sandboxed command can reach (real ``agentls exec``, full-auto, real
bubblewrap): agentls' own cache, /proc and links to the host, git history outside
``.git``, abstract unix sockets."""

from __future__ import annotations

import socket
import subprocess
import threading
from pathlib import Path

from tests.security.round4_support import commands, exec_task, threaded_model, token, workspace
from tests.support.model_server import ScriptedModelServer

__all__ = ["threaded_model"]


def test_r4_17_the_index_in_a_cache_inside_the_workspace(
    threaded_model: ScriptedModelServer, tmp_path: Path
) -> None:
    secret = "ghp_" + token("Ix").ljust(36, "q")[:36]
    root = workspace(tmp_path, {"app/settings.py": f'GITHUB = "{secret}"\n'})
    run = exec_task(
        threaded_model,
        root,
        commands("strings -n 20 .cache/agentls/index-*.sqlite | rev"),
        env={"AGENTLS_CACHE_DIR": str(root / ".cache" / "agentls")},
    )
    assert run.done.returncode == 0, run.done.stderr
    assert list((root / ".cache" / "agentls").glob("index-*.sqlite")), "no index was made"
    assert secret[::-1] not in run.bodies and secret not in run.bodies, run.results


def test_r4_18_proc_and_links_reach_nothing_of_the_host(
    threaded_model: ScriptedModelServer, tmp_path: Path
) -> None:
    """``/proc/1/root``, ``/proc/self/root``, every ``/proc/*/cwd`` and ``environ``, a
    symlink the command makes to the host's path of a sibling project, ``/dev/fd``:
    the sibling's ``.env`` and the server's environment stay out of reach."""
    secret = token("Sib")
    sibling = tmp_path / "sibling"
    sibling.mkdir()
    (sibling / "notes.txt").write_text(f"sibling {secret}\n")
    root = workspace(tmp_path)
    line = (
        f"cat /proc/1/root{sibling}/notes.txt /proc/self/root{sibling}/notes.txt; "
        f"for p in /proc/[0-9]*; do cat $p/cwd/../sibling/notes.txt $p/root{sibling}/notes.txt; "
        "tr '\\0' '\\n' < $p/environ | rev; done; "
        f"ln -s {sibling} sib && cat sib/notes.txt | rev; "
        f"cat /dev/fd/../../..{sibling}/notes.txt; ls /proc | tr '\\n' ' '; true"
    )
    run = exec_task(
        threaded_model,
        root,
        commands(line),
        env={"R4_SERVER_SECRET": secret},
    )
    assert run.done.returncode == 0, run.done.stderr
    assert "[exit code 0" in run.results[0], run.results[0]
    assert secret not in run.bodies and secret[::-1] not in run.bodies, run.results


def test_r4_19_history_in_a_git_bundle(threaded_model: ScriptedModelServer, tmp_path: Path) -> None:
    secret = token("Bnd")
    root = workspace(tmp_path)
    git = ["git", "-C", str(root), "-c", "user.email=a@b", "-c", "user.name=a"]
    subprocess.run([*git[:3], "init", "-q"], check=True)
    (root / ".env").write_text(f"API_TOKEN={secret}\n")
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "first"], check=True)
    subprocess.run([*git, "rm", "-q", "--cached", ".env"], check=True)
    (root / ".env").unlink()
    subprocess.run([*git, "commit", "-qm", "drop the env"], check=True)
    backups = root / "backups"
    backups.mkdir()
    subprocess.run(
        [*git, "bundle", "create", "-q", str(backups / "repo.bundle"), "--all"], check=True
    )
    run = exec_task(
        threaded_model,
        root,
        commands("git clone -q backups/repo.bundle /tmp/r && git -C /tmp/r show HEAD~1:.env | rev"),
    )
    assert run.done.returncode == 0, run.done.stderr
    assert secret not in run.bodies and secret[::-1] not in run.bodies, run.results


def test_r4_20_abstract_unix_socket_of_the_host_is_unreachable(
    threaded_model: ScriptedModelServer, tmp_path: Path
) -> None:
    """A host process listening on an abstract unix socket (no file to mask: X11's,
    D-Bus's, many agents'): the command cannot connect."""
    name = "\0" + token("agentls-r4-")
    accepted: list[bytes] = []
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(name)
    listener.listen(4)
    listener.settimeout(0.2)
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            with conn:
                accepted.append(conn.recv(64))

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        root = workspace(tmp_path)
        probe = (
            'python3 -c "import socket; s=socket.socket(socket.AF_UNIX); '
            f"s.connect('\\0{name[1:]}'); s.send(b'reached'); print('CONNECTED')\""
        )
        run = exec_task(threaded_model, root, commands(probe))
    finally:
        stop.set()
        thread.join(2)
        listener.close()
    assert run.done.returncode == 0, run.done.stderr
    assert "CONNECTED" not in run.results[0], run.results[0]
    assert "ConnectionRefusedError" in run.results[0], run.results[0]  # python ran, no way out
    assert not accepted


def test_r4_26_moving_a_folder_under_a_package_name_unmasks_its_content(
    threaded_model: ScriptedModelServer, tmp_path: Path
) -> None:
    secret = "ghp_" + token("Mv").ljust(36, "k")[:36]
    root = workspace(tmp_path, {"app/settings.py": f'DEBUG = False\nGITHUB = "{secret}"\n'})
    run = exec_task(
        threaded_model,
        root,
        commands(
            "rev app/settings.py",
            "mkdir -p lib/vendor && mv app lib/vendor/app && echo moved",
            "rev lib/vendor/app/settings.py",
        ),
    )
    assert run.done.returncode == 0, run.done.stderr
    assert "moved" in run.results[1], run.results[1]
    assert secret[::-1] not in run.bodies and secret not in run.bodies, run.results


def test_r4_31_git_config_credentials_under_other_keys(
    threaded_model: ScriptedModelServer, tmp_path: Path
) -> None:
    smtp, oauth = token("Smtp"), token("Oauth")
    root = workspace(tmp_path)
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    with (root / ".git" / "config").open("a") as config:
        config.write(f"[sendemail]\n\tsmtpPass = {smtp}\n[hub]\n\toauthtoken = {oauth}\n")
    run = exec_task(
        threaded_model,
        root,
        commands("rev .git/config; git config -l | rev"),
        settings={"sandbox": {"git": "read-only"}},
    )
    assert run.done.returncode == 0, run.done.stderr
    for secret in (smtp, oauth):
        assert secret not in run.bodies and secret[::-1] not in run.bodies, run.results
