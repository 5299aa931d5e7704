"""Run a real editor (Neovim 0.7, Emacs 28 + eglot 1.9) on agentls, headless.

Each test writes a workspace with one Python file and a JSON config for a driver
(``nvim_driver.lua`` or ``eglot_driver.el``), runs the editor as a subprocess, and
reads back what the driver wrote: the buffer text after the command, the command's
result and a few observations. The model is a ``ScriptedModelServer`` in a thread.

Missing editors are installed with apt-get when we are root; otherwise the tests
fail (never skip) with a clear message.
"""

from __future__ import annotations

import difflib
import glob
import json
import os
import pty
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import pytest

from tests.support.model_server import ScriptedModelServer

HERE = Path(__file__).resolve().parent
NVIM_DRIVER = HERE / "nvim_driver.lua"
EGLOT_DRIVER = HERE / "eglot_driver.el"
ELPA = "/usr/share/emacs/site-lisp/elpa"
EDITOR_TIMEOUT = 60.0  # seconds for one whole editor process
PACKAGES = ["neovim", "emacs-nox", "elpa-eglot"]


def _eglot_dirs() -> list[str]:
    return sorted(glob.glob(f"{ELPA}/eglot-*"))


def _missing() -> list[str]:
    missing = [tool for tool in ("nvim", "emacs") if shutil.which(tool) is None]
    if not _eglot_dirs():
        missing.append("eglot (elpa-eglot)")
    return missing


def ensure_editors() -> None:
    """Install Neovim, Emacs and eglot if one is missing and we may; fail otherwise."""
    missing = _missing()
    if not missing:
        return
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        pytest.fail(
            f"editor tests need {', '.join(missing)}: run "
            f"`apt-get install -y {' '.join(PACKAGES)}` as root",
            pytrace=False,
        )
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for cmd in (["apt-get", "update"], ["apt-get", "install", "-y", *PACKAGES]):
        done = subprocess.run(
            cmd, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=900
        )
        if done.returncode != 0:
            pytest.fail(
                f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stdout[-3000:]}"
                f"\n{done.stderr[-3000:]}",
                pytrace=False,
            )
    still = _missing()
    if still:
        pytest.fail(f"still missing after apt-get install: {', '.join(still)}", pytrace=False)


@dataclass
class EditorRun:
    """What one editor process left behind."""

    output: dict[str, Any]
    returncode: int
    seconds: float
    logs: dict[str, str] = field(default_factory=dict)

    @property
    def result(self) -> dict[str, Any]:
        return self.output.get("result") or {}

    def explain(self) -> str:
        """Everything useful for a failure message: the output and every log."""
        parts = [f"returncode={self.returncode} after {self.seconds:.1f} s"]
        shown = {k: v for k, v in self.output.items() if k not in ("snapshots",)}
        parts.append("driver output: " + json.dumps(shown, ensure_ascii=False, indent=1)[:6000])
        for name, text in self.logs.items():
            if text.strip():
                parts.append(f"----- {name} -----\n{text[-8000:]}")
        return "\n".join(parts)


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return ""


def _spawn_on_tty(
    cmd: list[str], cwd: Path, env: dict[str, str], out: BinaryIO
) -> tuple[subprocess.Popen[bytes], threading.Thread]:
    """Start ``cmd`` in a new session whose controlling terminal is a new pty.

    ``setsid --ctty`` makes the pty the controlling terminal (a terminal Emacs
    opens /dev/tty); a thread copies the screen output to ``out`` until the pty
    closes.
    """
    master, slave = pty.openpty()
    try:
        proc = subprocess.Popen(
            ["setsid", "--ctty", *cmd], cwd=cwd, env=env, stdin=slave, stdout=slave, stderr=slave
        )
    finally:
        os.close(slave)

    def drain() -> None:
        try:
            while chunk := os.read(master, 65536):
                out.write(chunk)
        except OSError:  # EIO: the terminal is gone
            pass
        finally:
            os.close(master)

    thread = threading.Thread(target=drain, name="pty-drain", daemon=True)
    thread.start()
    return proc, thread


def run_editor(
    editor: str,
    tmp_path: Path,
    model: ScriptedModelServer,
    source: str,
    *,
    filename: str = "calc.py",
    marker: str = "# agent:",
    typing: list[dict[str, Any]] | None = None,
    typing_delay_ms: int = 20,
    undo: bool = False,
    flush_did_change: bool = True,
    document_changes: bool = False,
    tty: bool = False,
    settings: dict[str, Any] | None = None,
    files: dict[str, str | None] | None = None,
    run_args: dict[str, Any] | None = None,
    moments: list[dict[str, Any]] | None = None,
) -> EditorRun:
    """Run ``editor`` ("nvim" or "emacs") headless with its driver on ``source``.

    ``typing``: steps the driver performs while the command runs, one
    ``typing_delay_ms`` after each edit the server makes (so they interleave):
    ``{"op": "insert_top", "text": "..."}`` inserts a line at the top, and
    ``{"op": "append_last", "text": "..."}`` appends to the last non-empty line.
    ``undo``: after the run, execute ``agentls.undo`` with the task id.
    ``flush_did_change`` (eglot only): send didChange right after each applied edit.
    ``document_changes`` (Neovim only): advertise ``workspaceEdit.documentChanges``,
    which Neovim 0.7 supports but does not announce.
    ``tty`` (Emacs only): run a terminal Emacs (``emacs -nw``) on a pseudo-terminal
    instead of batch mode; the driver then runs its flow as an interactive command.
    ``settings``: more agentls settings for initializationOptions (beside ``model``).
    ``files``: more files of the workspace (relative path -> text, None: not created
    but reported); the output reports
    their buffers and disk texts (Neovim only, with ``run_args``). ``run_args``:
    execute ``agentls.run`` with these arguments and the opened file's uri (the full
    agent, or a rewrite when they hold a ``range``) instead of a code action.
    ``moments`` (with ``run_args``): typing steps at set moments, each a typing step
    (``op``: ``insert_top``, ``append_last`` or ``insert_after`` with ``match``, the
    line to type below) plus ``after``: ``"run"`` or ``"undo"`` (typed ``ms`` after
    that command is sent) or ``"text"`` (``ms`` after an edit first makes the buffer
    hold ``contains``); the output's ``moments`` has the buffer text after each.
    """
    workspace = tmp_path / "ws"
    workspace.mkdir()
    path = workspace / filename
    path.write_text(source, encoding="utf-8", newline="")
    for relative, text in (files or {}).items():
        if text is None:  # only reported
            continue
        (workspace / relative).parent.mkdir(parents=True, exist_ok=True)
        (workspace / relative).write_text(text, encoding="utf-8", newline="")
    work = tmp_path / "editor"
    work.mkdir()
    output, log, server_log = work / "output.json", work / "driver.log", work / "server.log"
    events_log = work / "events.log"
    config = {
        "server_cmd": [sys.executable, "-m", "agentls", "--log-file", str(server_log), "-vv"],
        "root": str(workspace),
        "file": str(path),
        "init_options": {
            "model": {
                "baseUrl": model.base_url,
                "name": "scripted-model",
                "maxRetries": 2,
                "timeout": 5,
            },
            **(settings or {}),
        },
        "marker": marker,
        "typing": typing or [],
        "typing_delay_ms": typing_delay_ms,
        "undo": undo,
        "flush_did_change": flush_did_change,
        "document_changes": document_changes,
        "command_timeout_ms": 30000,
        "run_args": run_args,
        "moments": moments or [],
        "report_files": [str(workspace / f) for f in (files or {})] + [str(path)],
        "output": str(output),
        "log": str(log),
        "events_log": str(events_log),
    }
    config_path = work / "config.json"
    config_path.write_text(json.dumps(config, ensure_ascii=False), encoding="utf-8")

    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "AGENTLS_"))}
    env.update(
        OPENAI_API_KEY="test",
        AGENTLS_DRIVER_CONFIG=str(config_path),
        HOME=str(work),
        XDG_CONFIG_HOME=str(work / "config"),
        XDG_DATA_HOME=str(work / "data"),
        XDG_STATE_HOME=str(work / "state"),
        XDG_CACHE_HOME=str(work / "cache"),
        LANG="C.UTF-8",
        LC_ALL="C.UTF-8",
    )
    if editor == "nvim":
        cmd = ["nvim", "--headless", "--clean", "-n", "-u", str(NVIM_DRIVER)]
    elif editor == "emacs" and tty:
        env["TERM"] = "xterm"
        cmd = ["emacs", "-nw", "-Q", "-l", str(EGLOT_DRIVER)]
    elif editor == "emacs":
        cmd = ["emacs", "--batch", "-Q", "-l", str(EGLOT_DRIVER)]
    else:
        raise ValueError(editor)
    stdout_path, stderr_path = work / "stdout.txt", work / "stderr.txt"
    started = time.monotonic()
    with stdout_path.open("wb") as out, stderr_path.open("wb") as err:
        drain: threading.Thread | None = None
        if tty:
            proc, drain = _spawn_on_tty(cmd, workspace, env, out)
        else:
            proc = subprocess.Popen(
                cmd,
                cwd=workspace,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                start_new_session=True,
            )
        try:
            returncode = proc.wait(timeout=EDITOR_TIMEOUT)
        except subprocess.TimeoutExpired:
            returncode = -9
        seconds = time.monotonic() - started
        try:
            # The editor's process group: the editor, and a language server it left.
            os.killpg(proc.pid, 9)
        except ProcessLookupError:
            pass
        proc.wait()
        if drain is not None:
            drain.join(timeout=10)
    logs = {
        "driver log": _read(log),
        "editor stderr": _read(stderr_path),
        "editor stdout": _read(stdout_path),
        "agentls server log": _read(server_log),
        "neovim lsp.log": _read(work / "cache" / "nvim" / "lsp.log"),
        "eglot events": _read(events_log),
    }
    raw = _read(output)
    try:
        data = json.loads(raw) if raw else {"error": "the driver wrote no output"}
    except json.JSONDecodeError as error:
        data = {"error": f"unreadable driver output: {error}: {raw[:2000]}"}
    run = EditorRun(data, returncode, seconds, logs)
    if returncode == -9:
        run.output.setdefault("error", f"{editor} timed out after {EDITOR_TIMEOUT:g} s")
    return run


def check_ok(run: EditorRun) -> None:
    """Fail with every log unless the driver finished its flow without an error.

    ``pytest.fail`` rather than ``assert``: an xfail(raises=AssertionError) test
    still fails when the editor itself did not run through.
    """
    if not (run.returncode == 0 and run.output.get("ok") is True):
        pytest.fail(f"the editor driver did not finish:\n{run.explain()}", pytrace=False)


def assert_text(run: EditorRun, actual: str | None, expected: str, what: str) -> None:
    """Assert an exact text; on a mismatch show a diff and every log."""
    if actual == expected:
        return
    diff = "".join(
        difflib.unified_diff(
            expected.splitlines(keepends=True),
            (actual or "").splitlines(keepends=True),
            "expected",
            "editor buffer",
        )
    )
    raise AssertionError(
        f"{what}: the editor's text is not the expected text\n{diff}\n"
        f"actual: {actual!r}\n{run.explain()}"
    )


def sent_requests(run: EditorRun, method: str) -> list[dict[str, Any]]:
    """The ``method`` requests agentls sent, read back from its ``-vv`` log."""
    found = []
    for line in run.logs.get("agentls server log", "").splitlines():
        _, sep, data = line.partition(" Sending data: ")
        if sep and f'"method": "{method}"' in data:
            message = json.loads(data)
            if message.get("method") == method and "id" in message:
                found.append(message)
    return found


def assert_versioned_edits(run: EditorRun) -> None:
    """Every applyEdit agentls sent is a versioned ``documentChanges`` edit.

    agentls sends them whatever the client announces (Neovim 0.7 and eglot 1.9
    apply them and check the version); a plain ``changes`` edit computed before the
    user's last keystrokes would land on shifted text.
    """
    requests = sent_requests(run, "workspace/applyEdit")
    assert requests, f"agentls sent no workspace/applyEdit\n{run.explain()}"
    for request in requests:
        edit = request["params"]["edit"]
        assert edit.get("changes") is None, f"an unversioned edit: {request}\n{run.explain()}"
        documents = [change["textDocument"] for change in edit["documentChanges"]]
        assert documents and all(isinstance(d.get("version"), int) for d in documents), (
            f"an edit without a version: {request}\n{run.explain()}"
        )


def applied_edits(run: EditorRun, editor: str) -> int:
    """How many workspace/applyEdit requests the editor's own handler reported."""
    messages = run.output.get("messages") or ""
    marker = "Workspace edit " if editor == "nvim" else "[eglot] Edit successful!"
    return messages.count(marker)
