"""The ``run_command`` tool, and the verification commands of the settings.

The model asks for a shell command; the policy's ``approve`` decides whether it
runs (this module asks nothing itself and knows nothing of editors), then the
``CommandRunner`` runs it (in the sandbox where there is one). The model reads
the exit code and the capped output, or why the command did not run or was
killed.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from agentls.policy.sandbox import CommandResult, CommandRunner, SandboxError
from agentls.policy.secrets import redact_secrets
from agentls.tools.box import Tool, spec
from agentls.tools.command_checkpoint import CommandCheckpoint
from agentls.tools.workspace import ToolDenied

Approve = Callable[[str], Awaitable[bool | str]]
"""Asked before each command with the command's text: may it run? True/"" = yes;
False = the user said no; a non-empty string = why not."""

Changed = Callable[[list[str] | None, float], None]
"""Told after each command ran: the files it changed on the disk (None: not known, no
checkpoint recorded them) and the ``time.monotonic()`` it started at."""


async def _refusal(approve: Approve, command: str) -> str:
    verdict = await approve(command)
    if verdict is True or verdict == "":
        return ""
    return verdict if isinstance(verdict, str) else "the user did not allow it"


async def _run(
    runner: CommandRunner, command: str, limit: float, checkpoint: CommandCheckpoint | None
) -> tuple[CommandResult, list[str]]:
    """Run it; with a checkpoint, also the files it changed on the disk."""
    if checkpoint is None:
        return await runner.run(command, limit), []
    return await checkpoint.around(lambda: runner.run(command, limit))


def _known_changes(changed: list[str], checkpoint: CommandCheckpoint | None) -> list[str] | None:
    """What the command changed, with the files too big to record; None when the
    checkpoint could not tell."""
    if checkpoint is None or checkpoint.problem:
        return None
    return sorted(set(changed) | set(checkpoint.unrecorded))


def _changed_note(changed: list[str], checkpoint: CommandCheckpoint | None) -> str:
    if checkpoint is not None and checkpoint.problem:
        return (
            f"\n[what it changed was not recorded ({checkpoint.problem}): undo cannot restore it]"
        )
    missed = checkpoint.unrecorded if checkpoint is not None else []
    note = (
        f"\n[changed but not recorded, too big for the checkpoint (32 MB a file, 10,000 "
        f"ignored files or 100 MB of them): undo cannot restore {_names(missed)}]"
        if missed
        else ""
    )
    if not changed:
        return note
    return f"\n[files it changed: {_names(changed)}]{note}"


def _names(paths: list[str]) -> str:
    return ", ".join(paths[:10]) + (f" and {len(paths) - 10} more" if len(paths) > 10 else "")


def describe(result: CommandResult, timeout: float, changed: str = "") -> str:
    """What the model reads of a run: the output (lines holding secrets hidden), then one
    line on how it ended (and ``changed``: which files it changed)."""
    out = redact_secrets(result.output) if result.output.strip() else "(no output)\n"
    if not out.endswith("\n"):
        out += "\n"
    seconds = f"{result.duration:.1f} s"
    if result.timed_out:
        end = (
            f"[timed out after {timeout:g} s: the command and everything it started were "
            "killed; the output so far is above. Give it a larger timeout (seconds) or run "
            "something quicker]"
        )
    elif result.cancelled:
        end = f"[stopped after {seconds}: the task was cancelled; the command was killed]"
    else:
        end = f"[exit code {result.exit_code}, {seconds}]"
    if result.unsaved:
        names = ", ".join(result.unsaved[:10]) + (" …" if len(result.unsaved) > 10 else "")
        if result.sandboxed:
            end += (
                f"\n[the command saw the editor's unsaved text of {names} (read-only: a "
                "command cannot change those files; use edit_file)]"
            )
        else:
            end += f"\n[the command saw the disk, not the editor's unsaved text of {names}]"
    return out + end + changed


async def run_command(
    runner: CommandRunner,
    approve: Approve,
    command: str,
    timeout: int | None = None,
    checkpoint: CommandCheckpoint | None = None,
    on_change: Changed | None = None,
) -> str:
    if not command.strip():
        raise ToolDenied("an empty command")
    refusal = await _refusal(approve, command)
    if refusal:
        raise ToolDenied(f"{command!r} was not run: {refusal}; do without it")
    limit = runner.timeout_for(timeout)
    started = time.monotonic()
    try:
        result, changed = await _run(runner, command, limit, checkpoint)
    except SandboxError as error:
        raise ToolDenied(f"{command!r} was not run: {error}") from None
    if on_change is not None:
        on_change(_known_changes(changed, checkpoint), started)
    # (in a thread: hiding secrets in a long output costs time)
    return await asyncio.to_thread(describe, result, limit, _changed_note(changed, checkpoint))


def command_tools(
    runner: CommandRunner,
    approve: Approve,
    checkpoint: CommandCheckpoint | None = None,
    on_change: Changed | None = None,
) -> list[Tool]:
    """``run_command {command, timeout?}`` over ``runner``, each call through ``approve``;
    ``checkpoint`` records what each command changes on the disk, and ``on_change`` is
    told which files those are (the task's verification counts them as edits)."""
    where = (
        "in a sandbox: the workspace is writable, the system's folders and toolchains "
        "read-only, nothing else of the machine visible, .git hidden, no network, secret "
        "files read as empty and secret lines hidden, editor and tool settings (.vscode/, "
        ".envrc, .git* files, ...) read-only (new ones are renamed *.agentls-disabled)"
        if runner.sandboxed
        else "after the user approves it"
    )
    description = (
        f"Run a shell command (bash -c) in the workspace folder, {where}. Stdout and "
        "stderr come back together (long output keeps its start and end) with the exit "
        f"code. Nothing reads stdin. Default timeout {runner.default_timeout:g} s, at "
        f"most {runner.max_timeout:g} s."
    )
    properties: dict[str, Any] = {
        "command": {"type": "string", "description": "the shell command, e.g. pytest -q"},
        "timeout": {
            "type": "integer",
            "description": f"seconds before it is killed (default {runner.default_timeout:g})",
        },
    }

    async def handler(arguments: dict[str, Any]) -> str:
        return await run_command(
            runner, approve, arguments["command"], arguments.get("timeout"), checkpoint, on_change
        )

    return [
        Tool(spec("run_command", description, properties, ["command"]), handler, kind="command")
    ]


async def verify_failures(
    runner: CommandRunner,
    commands: Sequence[str],
    *,
    approve: Approve | None = None,
    timeout: float | None = None,
    checkpoint: CommandCheckpoint | None = None,
) -> str:
    """Run ``verify.commands`` one by one through ``runner``; the failures as text for
    the model ("" when every command passed). ``approve`` (optional) is asked first,
    as for the model's own commands; a command not approved is reported, not run.
    ``checkpoint`` records what they change on the disk (a formatter, say)."""
    failures: list[str] = []
    for command in commands:
        refusal = await _refusal(approve, command) if approve is not None else ""
        if refusal:
            failures.append(f"$ {command}\n[not run: {refusal}]")
            continue
        limit = runner.timeout_for(timeout)
        try:
            result, changed = await _run(runner, command, limit, checkpoint)
        except SandboxError as error:
            failures.append(f"$ {command}\n[not run: {error}]")
            continue
        if not result.ok:
            note = _changed_note(changed, checkpoint)
            failures.append(f"$ {command}\n{describe(result, limit, note)}")
    if not failures:
        return ""
    return "Verification failed:\n\n" + "\n\n".join(failures)
