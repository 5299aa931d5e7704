"""Files a task changes through ``run_command`` are its edits: verification runs after
them (``verify.commands``, and the host's diagnostics of those files), as after the
write tools. Everything real: the task's own tools, bubblewrap (or the policy's
refusal without it), the command checkpoint, the terminal host and the disk sink."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import pytest

from agentls.agent.host import AgentRequest, Problem
from agentls.agent.run import AgentTask
from agentls.agent.tasks import TaskRegistry
from agentls.cli_agent import TerminalHost, UndoableDiskSink
from agentls.config import ModelSettings, Settings
from agentls.context.engine import ContextEngine
from agentls.model.base import ToolCall
from agentls.model.factory import model_from
from agentls.tools.box import Toolbox

OLD = "old error: LEGACY is not defined"
NEW = "new error: '(' was never closed"


@dataclass
class LintedFiles:
    """A host's diagnostics from a tiny linter of the disk, run on each pull."""

    root: Path
    found: dict[Path, list[Problem]] = field(default_factory=dict)

    async def pull(self, paths: Sequence[Path] | None = None) -> None:
        for path in paths if paths is not None else list(self.root.glob("*.py")):
            text = path.read_text() if path.exists() else ""
            self.found[path] = [
                Problem(n, 0, "error", "lint", OLD if "LEGACY" in line else NEW, time.monotonic())
                for n, line in enumerate(text.splitlines())
                if "LEGACY" in line or line.count("(") > line.count(")")
            ]

    def files(self) -> list[Path]:
        return [p for p, found in self.found.items() if found]

    def of(self, path: Path, since: float | None = None) -> list[Problem]:
        return [p for p in self.found.get(path, []) if since is None or p.at >= since]


async def _task(root: Path, verify: list[str], host: TerminalHost | None = None) -> AgentTask:
    settings = Settings()
    settings = replace(
        settings,
        agent=replace(settings.agent, approval="full-auto"),
        verify=replace(settings.verify, commands=verify),
    )
    model = model_from(ModelSettings(base_url="http://127.0.0.1:9/v1", name="m"), env={})
    await model.aclose()
    engine = ContextEngine(root)
    engine.build()
    task = TaskRegistry().new("fix", None)
    host = host or TerminalHost()
    core = AgentTask(
        task, AgentRequest("fix"), settings, model, host, UndoableDiskSink(root), engine
    )
    await core._start_commands()
    if core.runner is None or not core.runner.sandboxed:
        pytest.skip("no bubblewrap here: full-auto commands would ask on the terminal")
    return core


async def _command(core: AgentTask, command: str) -> str:
    outcome = await Toolbox(core.offered(True)).run(
        ToolCall("c1", "run_command", json.dumps({"command": command}))
    )
    assert outcome.ok, outcome.text
    return outcome.text


async def test_a_file_a_command_broke_fails_verify_commands(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("A = 1\n")
    core = await _task(tmp_path, ["grep -qv '(' a.py"])
    assert core.verification is not None
    await _command(core, "echo 'A = (' > a.py")
    assert (tmp_path / "a.py").read_text() == "A = (\n"
    problems = await core.verification()
    assert "Verification failed" in problems and "grep -qv" in problems
    # Finishing again without another change ends it: the problems stay as a warning.
    assert await core.verification() == ""
    assert "grep -qv" in core.verification.warnings()


async def test_a_command_that_changed_only_ignored_files_is_no_edit(tmp_path: Path) -> None:
    (tmp_path / ".gitignore").write_text("build/\n")
    (tmp_path / "a.py").write_text("A = 1\n")
    core = await _task(tmp_path, ["exit 1"])
    assert core.verification is not None
    result = await _command(core, "mkdir -p build && echo x > build/out.txt")
    assert (tmp_path / "build" / "out.txt").exists(), result
    assert await core.verification() == ""  # verify.commands did not run


async def test_the_hosts_new_errors_in_a_file_a_command_changed_go_back(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("X = LEGACY\n")
    host = TerminalHost(diagnostics=LintedFiles(tmp_path))
    assert host.diagnostics is not None
    await host.diagnostics.pull([tmp_path / "a.py"])  # what the editor showed before
    core = await _task(tmp_path, [], host)
    assert core.verification is not None
    await _command(core, "echo 'B = (' >> a.py")
    problems = await core.verification()
    assert NEW in problems and "a.py:2:1" in problems, problems
    assert OLD not in problems  # the file had it before the task


async def test_a_command_whose_changes_nobody_recorded_still_counts(tmp_path: Path) -> None:
    """When the checkpoint cannot say what a command changed, it may have changed
    anything: verify.commands still run at the end."""
    (tmp_path / "a.py").write_text("A = 1\n")
    core = await _task(tmp_path, ["exit 1"])
    assert core.verification is not None
    core.recorder.changed_by_command(None, time.monotonic())
    assert "Verification failed" in await core.verification()
