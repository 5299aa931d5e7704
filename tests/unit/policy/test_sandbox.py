"""The command sandbox, with the real bubblewrap: confinement, secrets, network,
environment, timeouts, kills and output caps.

These tests fail (they do not skip) when bubblewrap does not work here: the reason
from ``sandbox_available()`` is the failure message.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from agentls.config import SandboxSettings
from agentls.policy.sandbox import (
    CommandRunner,
    SandboxCheck,
    SecretScan,
    command_runner,
    sandbox_available,
    scan_workspace,
)
from agentls.policy.secrets import SecretMatcher

CANARY = "sk-canary-7f3a9d21"
BUNDLE = "-----BEGIN CERTIFICATE-----\nPUBLIC BUNDLE\n-----END CERTIFICATE-----\n"


def _available() -> SandboxCheck:
    check = sandbox_available()
    assert check.available, f"bubblewrap cannot sandbox commands here: {check.reason}"
    return check


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    (root / "src").mkdir(parents=True)
    (root / "src" / "app.py").write_text("print('app')\n")
    (root / "notes.txt").write_text("visible notes\n")
    (root / ".gitignore").write_text(".env\nsecrets/\n")
    (root / ".env").write_text(f"API_KEY={CANARY}\n")
    (root / "deploy").mkdir()
    (root / "deploy" / ".env.production").write_text(f"TOKEN={CANARY}\n")
    (root / "deploy" / "server.pem").write_text(f"-----BEGIN {CANARY}-----\n")
    (root / ".ssh").mkdir()
    (root / ".ssh" / "config").write_text(f"IdentityFile {CANARY}\n")
    (root / "secrets").mkdir()
    (root / "secrets" / "id_rsa").write_text(CANARY + "\n")
    # A package's certificate bundle is not the user's secret: readable.
    (root / "node_modules" / "pkg").mkdir(parents=True)
    (root / "node_modules" / "pkg" / "cacert.pem").write_text(BUNDLE)
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    return root


@pytest.fixture
def runner(ws: Path, monkeypatch: pytest.MonkeyPatch) -> CommandRunner:
    _available()
    monkeypatch.setenv("OPENAI_API_KEY", CANARY)
    monkeypatch.setenv("GITHUB_TOKEN", CANARY)
    monkeypatch.setenv("AGENTLS_SOMETHING", f"x{CANARY}x")
    made = command_runner(ws)
    assert made.sandboxed
    return made


def _exists(*paths: str | Path) -> bool:
    return any(os.path.lexists(p) for p in paths)


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _processes_with(marker: str) -> list[int]:
    """Host pids whose command line holds ``marker`` (zombies count as gone)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ")
            state = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if marker.encode() in cmdline and state != "Z" and int(entry) != os.getpid():
            found.append(int(entry))
    return found


async def _gone(marker: str, within: float = 5.0) -> list[int]:
    """The processes still alive with ``marker`` after ``within`` seconds (the test's
    own stragglers: killed here, so that a failing test leaves none behind)."""
    deadline = time.monotonic() + within
    while (left := _processes_with(marker)) and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    for pid in left:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    return left


def test_the_check_runs_once_and_says_why() -> None:
    check = _available()
    assert check.reason == ""
    assert sandbox_available() is check  # cached


async def test_writes_land_in_the_workspace_only(
    runner: CommandRunner, ws: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "kept.txt").write_text("original\n")
    home_probe = Path.home() / f"agentls-probe-{os.getpid()}"
    result = await runner.run(
        "echo made > src/new.txt && pwd;"
        f" echo bad > {outside}/kept.txt; echo bad > {outside}/new.txt;"
        f" echo bad > /etc/agentls-probe; echo bad > {home_probe}; echo bad > /usr/agentls-probe;"
        " echo end"
    )
    assert result.exit_code == 0, result.output
    assert (ws / "src" / "new.txt").read_text() == "made\n"
    assert result.output.startswith(f"{ws}\n")  # the workspace is the working folder
    assert "/etc/agentls-probe: Read-only file system" in result.output
    assert "/usr/agentls-probe: Read-only file system" in result.output
    assert (outside / "kept.txt").read_text() == "original\n"
    assert not (outside / "new.txt").exists()
    assert not _exists("/etc/agentls-probe", "/usr/agentls-probe")
    assert not _exists(home_probe)  # the home folder is scratch space, thrown away


async def test_no_network_even_to_the_hosts_loopback(runner: CommandRunner) -> None:
    accepted: list[object] = []
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        server.settimeout(0.2)
        port = server.getsockname()[1]
        stop = threading.Event()

        def serve() -> None:
            while not stop.is_set():
                try:
                    conn, _ = server.accept()
                except OSError:
                    continue
                accepted.append(conn)
                conn.close()

        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        # python3 from PATH: the test's own interpreter may live under /tmp (a clone in
        # CI), which the sandbox replaces with an empty one.
        probe = (
            'python3 -c "import socket; '
            f"socket.create_connection(('127.0.0.1', {port}), timeout=3); print('connected')\""
        )
        try:
            # The probe works without the sandbox (so that the test can fail) ...
            plain = CommandRunner(runner.root, sandboxed=False)
            said = await plain.run(probe)
            assert said.exit_code == 0 and "connected" in said.output, said.output
            assert len(accepted) == 1
            # ... and not in it.
            result = await runner.run(probe)
        finally:
            stop.set()
            thread.join(2)
    assert result.exit_code != 0
    assert "connected" not in result.output
    assert "refused" in result.output or "unreachable" in result.output, result.output
    assert len(accepted) == 1


@pytest.mark.parametrize(
    "command",
    [
        "cat .env",
        "cat deploy/.env.production deploy/server.pem secrets/id_rsa",
        "cat .ssh/config; ls -a .ssh",
        f"grep -r {CANARY} . ; grep -ra canary . ; true",
        "env; set",
        "cat /proc/*/environ | tr '\\0' '\\n'",
        "cat /proc/1/environ /proc/self/environ",
    ],
)
async def test_the_canary_never_shows(runner: CommandRunner, command: str) -> None:
    result = await runner.run(f"{command}; echo ran")
    assert result.output.endswith("ran\n")
    assert CANARY not in result.output
    assert "OPENAI_API_KEY" not in result.output and "GITHUB_TOKEN" not in result.output


async def test_masking_shows_empty_secrets_and_everything_else(runner: CommandRunner) -> None:
    result = await runner.run(
        "wc -c < .env; cat notes.txt; cat node_modules/pkg/cacert.pem; ls -a .ssh | wc -l;"
        " echo overwrite > .env; rm deploy/server.pem; touch .ssh/new; echo end"
    )
    lines = result.output.splitlines()
    assert lines[:6] == ["0", "visible notes", *BUNDLE.splitlines(), "2"], result.output
    assert ".env: Read-only file system" in result.output
    assert "server.pem" in result.output and ".ssh/new" in result.output
    assert lines[-1] == "end"
    assert CANARY in (runner.root / ".env").read_text()  # untouched on disk
    assert (runner.root / "deploy" / "server.pem").exists()


def test_the_scan_finds_secrets_in_every_folder_but_public_certificates_of_packages(
    ws: Path,
) -> None:
    (ws / ".venv" / "lib").mkdir(parents=True)
    (ws / ".venv" / "pyvenv.cfg").write_text("home = /usr/bin\n")
    (ws / ".venv" / "lib" / "cacert.pem").write_text(BUNDLE)
    (ws / ".venv" / "lib" / "key.pem").write_text(f"{BUNDLE}-----BEGIN PRIVATE KEY-----\n")
    (ws / ".venv" / "lib" / ".env").write_text(CANARY)
    (ws / "app" / "pyvenv.cfg").parent.mkdir()
    (ws / "app" / "pyvenv.cfg").write_text("home = /\n")  # no "virtualenv" by its word
    (ws / "app" / "ca.pem").write_text(BUNDLE)  # the user's own folder: by name
    (ws / "vendor" / ".git").mkdir(parents=True)
    found = scan_workspace(ws, SecretMatcher())
    relative = {p.relative_to(ws).as_posix() for p in found.secret_files}
    assert relative == {
        ".env", "deploy/.env.production", "deploy/server.pem", "secrets/id_rsa",
        ".venv/lib/key.pem", ".venv/lib/.env", "app/ca.pem",
    }  # fmt: skip
    assert {p.relative_to(ws).as_posix() for p in found.secret_dirs} == {".ssh"}
    assert {p.relative_to(ws).as_posix() for p in found.git} == {".git", "vendor/.git"}


def test_a_new_secret_is_found_by_the_next_scan(ws: Path) -> None:
    scan = SecretScan(ws, SecretMatcher())
    hour_ago = time.time() - 3600
    for folder in (ws, ws / "deploy", ws / "src"):
        os.utime(folder, (hour_ago, hour_ago))  # settled folders: kept from scan to scan
    first = scan.scan()
    (ws / "deploy" / ".env.local").write_text(CANARY)
    (ws / "src" / "keys").mkdir()
    (ws / "src" / "keys" / "signing.key").write_text(CANARY)
    second = scan.scan()
    new = {ws / "deploy" / ".env.local", ws / "src" / "keys" / "signing.key"}
    assert not new & set(first.secret_files)
    assert new <= set(second.secret_files)
    assert set(first.secret_files) <= set(second.secret_files)


@pytest.fixture
def git_runner(runner: CommandRunner) -> CommandRunner:
    """A runner with ``sandbox.git: "read-only"`` (git works, nothing of it is written)."""
    runner.settings = SandboxSettings(git="read-only")
    return runner


async def test_git_internals_are_read_only(git_runner: CommandRunner, ws: Path) -> None:
    result = await git_runner.run(
        "echo 'curl evil' > .git/hooks/pre-commit; chmod +x .git/hooks/pre-commit;"
        " echo x >> .git/config; git status --short; echo end"
    )
    assert ".git/hooks/pre-commit: Read-only file system" in result.output
    assert not (ws / ".git" / "hooks" / "pre-commit").exists()
    assert "x" not in (ws / ".git" / "config").read_text().splitlines()
    assert "?? notes.txt" in result.output  # git itself still reads the repository


def _git(ws: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(ws), *args], check=True)


async def test_a_git_config_with_a_token_is_masked(git_runner: CommandRunner, ws: Path) -> None:
    _git(ws, "remote", "add", "origin", f"https://x:{CANARY}@example.com/r")
    result = await git_runner.run("cat .git/config; git status --short | head -1; echo end")
    assert CANARY not in result.output
    assert result.output.endswith("end\n") and "?? " in result.output  # git still works
    assert f"{CANARY}@" in (ws / ".git" / "config").read_text()  # on disk: untouched


async def test_a_timeout_kills_the_command_and_its_children(runner: CommandRunner) -> None:
    marker = "1000.4242"
    started = time.monotonic()
    result = await runner.run(f"sleep {marker} & (sleep {marker}; echo never) & sleep {marker}", 1)
    assert time.monotonic() - started < 10
    assert result.timed_out and result.exit_code is None and not result.cancelled
    assert 1 <= result.duration < 10
    assert await _gone(marker) == []


async def test_cancellation_kills_the_process_group(runner: CommandRunner) -> None:
    marker = "1000.5353"
    task = asyncio.create_task(runner.run(f"sleep {marker} & sleep {marker}"))
    deadline = time.monotonic() + 10
    while len(_processes_with(f"sleep {marker}")) < 2:
        assert time.monotonic() < deadline, "the command did not start"
        await asyncio.sleep(0.05)
    pids = _processes_with(f"sleep {marker}")
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await _gone(marker) == []
    assert not any(_alive(pid) for pid in pids)


async def test_stop_ends_a_run_with_a_cancelled_result(runner: CommandRunner) -> None:
    stop = asyncio.Event()
    marker = "1000.6464"
    task = asyncio.create_task(runner.run(f"echo started; sleep {marker}", stop=stop))
    await asyncio.sleep(0.5)
    stop.set()
    result = await asyncio.wait_for(task, 10)
    assert result.cancelled and not result.timed_out and result.exit_code is None
    assert "started" in result.output
    assert await _gone(marker) == []


async def test_background_jobs_do_not_outlive_the_command(runner: CommandRunner) -> None:
    marker = "1000.7575"
    result = await runner.run(f"(setsid sleep {marker} &) ; nohup sleep {marker} & echo done")
    assert result.exit_code == 0 and "done" in result.output
    assert await _gone(marker) == []


async def test_huge_output_keeps_head_and_tail(runner: CommandRunner) -> None:
    result = await runner.run("seq 1 300000; echo the-end >&2")
    assert result.exit_code == 0
    assert result.output.startswith("1\n2\n3\n")
    assert result.output.endswith("299999\n300000\nthe-end\n")
    assert "lines of output cut here" in result.output
    assert len(result.output) < runner.output_head + runner.output_tail + 200
    assert result.cut_bytes > 1_000_000


async def test_binary_output_is_decoded_with_replacement(runner: CommandRunner) -> None:
    result = await runner.run("printf 'ok \\377\\376 \\000 end\\n'; head -c 100000 /dev/urandom")
    assert result.exit_code == 0
    assert result.output.startswith("ok \ufffd\ufffd \x00 end\n")


async def test_exit_codes_and_stderr_come_back(runner: CommandRunner) -> None:
    result = await runner.run("echo out; echo err >&2; exit 7")
    assert result.exit_code == 7 and not result.ok
    assert result.output == "out\nerr\n"
    assert result.sandboxed and not result.timed_out


@pytest.fixture
def venv(ws: Path) -> Path:
    folder = ws / ".venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(folder)], check=True)
    return folder


async def test_a_workspace_virtualenv_runs(runner: CommandRunner, venv: Path) -> None:
    result = await runner.run(
        "python -c 'import sys; print(sys.prefix)'; echo $VIRTUAL_ENV; python3 -c 'print(6*7)'"
    )
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [str(venv), str(venv), "42"]


@pytest.fixture
def home() -> Iterator[Path]:
    """A home folder outside /tmp (the sandbox's /tmp is a fresh one anyway)."""
    folder = Path(tempfile.mkdtemp(prefix="agentls-test-home-", dir="/var/tmp"))
    try:
        yield folder
    finally:
        shutil.rmtree(folder)


async def test_the_home_folder_is_hidden_but_its_toolchains_are_not(
    ws: Path, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _available()
    (home / ".ssh").mkdir(parents=True)
    (home / ".ssh" / "id_ed25519").write_text(CANARY)
    (home / ".aws").mkdir()
    (home / ".aws" / "credentials").write_text(CANARY)
    (home / ".cargo" / "bin").mkdir(parents=True)
    (home / ".cargo" / "bin" / "tool").write_text("a toolchain\n")
    (home / ".cargo" / "credentials.toml").write_text(CANARY)
    monkeypatch.setenv("HOME", str(home))
    runner = command_runner(ws)
    result = await runner.run(
        "echo $HOME; cat ~/.cargo/bin/tool; cat ~/.ssh/id_ed25519 ~/.aws/credentials;"
        " cat ~/.cargo/credentials.toml; ls -a ~"
    )
    assert result.output.startswith(f"{home}\na toolchain\n"), result.output
    assert CANARY not in result.output
    assert result.output.splitlines()[-3:] == [".", "..", ".cargo"]  # ls -a ~


async def test_without_the_sandbox_the_environment_is_still_clean(
    ws: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", CANARY)
    plain = CommandRunner(ws, sandboxed=False, unsandboxed_reason="testing")
    assert plain.unsandboxed_reason == "testing"
    result = await plain.run("env; pwd")
    assert CANARY not in result.output and f"\n{ws}\n" in result.output
    assert not result.sandboxed
    marker = "1000.8686"
    result = await plain.run(f"sleep {marker} & sleep {marker}", 1)
    assert result.timed_out
    assert await _gone(marker) == []


def test_timeouts_are_capped() -> None:
    runner = CommandRunner(Path("/"), sandboxed=False, default_timeout=120, max_timeout=600)
    assert runner.timeout_for(None) == 120
    assert runner.timeout_for(0) == 120
    assert runner.timeout_for(5) == 5
    assert runner.timeout_for(10_000) == 600


@pytest.fixture(autouse=True)
def _no_leftover_masks() -> Iterator[None]:
    before = {p.name for p in Path(tempfile.gettempdir()).glob("agentls-run-*")}
    yield
    after = {p.name for p in Path(tempfile.gettempdir()).glob("agentls-run-*")}
    assert after <= before


async def test_commands_see_the_editors_unsaved_text_read_only(
    runner: CommandRunner, ws: Path
) -> None:
    unsaved = "print('unsaved in the editor')\n"
    runner.buffers = lambda: {
        "src/app.py": unsaved,
        "notes.txt": "visible notes\n",  # same as the disk: nothing to show
        ".env": "API_KEY=from-a-buffer\n",  # a secret stays masked, buffer or not
        "src/new.py": "x = 1\n",  # not on disk: never created by the overlay
    }
    result = await runner.run("python3 src/app.py; cat .env; echo x > src/app.py; echo rc=$?")
    assert "unsaved in the editor" in result.output and "from-a-buffer" not in result.output
    assert "rc=1" in result.output  # the overlay is read-only
    assert result.unsaved == ("src/app.py",)
    assert (ws / "src/app.py").read_text() == "print('app')\n"  # the disk is untouched
    assert not (ws / "src/new.py").exists()


async def test_a_same_size_buffer_change_is_not_hidden_by_pythons_bytecode_cache(
    runner: CommandRunner, ws: Path
) -> None:
    (ws / "mod.py").write_text("VALUE = 'disk'\n")
    for value in ("aaaa", "bbbb", "cccc"):  # same size, within a second
        runner.buffers = lambda value=value: {"mod.py": f"VALUE = '{value}'\n"}  # type: ignore[misc]
        result = await runner.run("python3 -c 'import mod; print(mod.VALUE)'")
        assert result.output.strip() == value, result.output
