"""What a task checks its work with: the host's diagnostics and ``verify.commands``.

- ``Recorder`` stands in front of the host's edit sink: it notes when the task last
  changed each file and, before the task's first change of a file, which diagnostics
  that file already had (those predate the task: they are not the task's to fix).
  The files the task's commands change on the disk (``run_command``, told through
  ``changed_by_command``) are its edits too: verification runs after them as well.
- ``diagnostics_tool``: ``get_diagnostics {path?}``, what the host shows (no secret
  file, nothing outside the workspace).
- ``Verification``: after new edits, the errors reported since the edit that were not
  there before it, and the failures of ``verify.commands``. Those commands are the
  user's own: they run without asking (sandboxed); where they cannot run (no sandbox
  and nobody allows them) the task says so once and goes on without them. When the
  model finishes again without changing anything after a failed verification, its
  explanation ends the task: the problems stay in the summary as a warning.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path

from agentls.agent.host import Diagnostics, Problem, TaskSink
from agentls.policy.sandbox import CommandRunner
from agentls.tools.box import Tool, spec
from agentls.tools.command import verify_failures
from agentls.tools.command_checkpoint import CommandCheckpoint
from agentls.tools.workspace import ToolDenied, Workspace


class Recorder:
    """The host's sink, noting each file's last change and its diagnostics before the
    task's first change (see the module doc)."""

    def __init__(self, sink: TaskSink, root: Path, diagnostics: Diagnostics | None) -> None:
        self.sink = sink
        self.root = root
        self.diagnostics = diagnostics
        self.edited_at: dict[str, float] = {}  # relative -> time of its last change
        self.deleted: set[str] = set()
        self.unknown_at = 0.0  # the last command whose changes nobody recorded
        self.before: dict[str, Counter[tuple[str, str, str]]] = {}  # errors it already had

    async def _first(self, relative: str) -> None:
        if relative in self.before or self.diagnostics is None:
            return
        self.before[relative] = Counter()
        await self.diagnostics.pull([self.root / relative])  # what the editor shows now
        found = self.diagnostics.of(self.root / relative)
        self.before[relative].update(p.key for p in found if p.severity == "error")

    async def write(self, relative: str, old: str | None, new: str) -> None:
        await self._first(relative)
        await self.sink.write(relative, old, new)
        self.edited_at[relative] = time.monotonic()
        self.deleted.discard(relative)

    async def delete(self, relative: str, old: str) -> None:
        await self._first(relative)
        await self.sink.delete(relative, old)
        self.edited_at[relative] = time.monotonic()
        self.deleted.add(relative)

    def changed_by_command(self, changed: list[str] | None, started: float) -> None:
        """A command that started at ``started`` (``time.monotonic()``) changed these
        files on the disk (None: it may have changed any, nobody recorded which). The
        errors the host reported for a file before that are the file's own from before
        the task (when it is the task's first change of the file)."""
        now = time.monotonic()
        if changed is None:
            self.unknown_at = now  # verify.commands run; no file's diagnostics to read
            return
        for relative in changed:
            if relative not in self.before and self.diagnostics is not None:
                found = self.diagnostics.of(self.root / relative)
                self.before[relative] = Counter(
                    p.key for p in found if p.severity == "error" and p.at < started
                )
            self.edited_at[relative] = now
            if (self.root / relative).exists():
                self.deleted.discard(relative)
            else:
                self.deleted.add(relative)

    @property
    def last_edit(self) -> float:
        return max([self.unknown_at, *self.edited_at.values()])

    def new_errors(self, relative: str, found: list[Problem]) -> list[Problem]:
        """``found`` without the errors the file had before the task's first change
        (by what they say: their lines move when the task edits above them)."""
        left = Counter(self.before.get(relative, Counter()))
        new = []
        for problem in found:
            if left[problem.key] > 0:
                left[problem.key] -= 1
            else:
                new.append(problem)
        return new


def shown_path(ws: Workspace, path: Path) -> str | None:
    """The workspace path whose diagnostics the model may see: none for a file outside
    the workspace, a secret file or an ignored one (a linter's message may quote it)."""
    try:
        return ws.resolve(str(path)).relative
    except ToolDenied:
        return None


def diagnostics_tool(diagnostics: Diagnostics, ws: Workspace) -> Tool:
    async def run(arguments: dict[str, object]) -> str:
        raw = arguments.get("path")
        if raw is not None:
            paths = [ws.root / ws.resolve(str(raw)).relative]
            await diagnostics.pull(paths)  # what the editor shows now, when it can say
        else:
            await diagnostics.pull()
            paths = sorted(diagnostics.files())
        lines = []
        for path in paths:
            relative = shown_path(ws, path)
            if relative is not None:
                lines += [p.describe(relative) for p in diagnostics.of(path)]
        if not lines:
            where = f" for {raw}" if raw else ""
            return (
                f"no diagnostics reported by the editor{where} (the editor sends those it "
                "shows with its code action requests)"
            )
        return "\n".join(lines)

    return Tool(
        spec(
            "get_diagnostics",
            "The errors and warnings the editor shows (its linters, type checkers, compilers).",
            {"path": {"type": "string", "description": "one file; all files when omitted"}},
            [],
        ),
        run,
    )


Approve = Callable[[str], Awaitable[str]]  # why a command may not run ("" when it may)


class Verification:
    """``verify`` of the agent loop (see the module doc)."""

    def __init__(
        self,
        recorder: Recorder,
        commands: list[str],
        runner: CommandRunner,
        approve: Approve,
        checkpoint: CommandCheckpoint | None,
        report: Callable[[str], None],
        warn: Callable[[str], None],
    ) -> None:
        self.recorder = recorder
        self.commands = commands
        self.runner = runner
        self.approve = approve
        self.checkpoint = checkpoint
        self.report = report
        self.warn = warn
        self.verified_at = 0.0  # the edits verification last looked at
        self.problems = ""  # and what it found
        self.unresolved = ""  # problems the model finished with again, unchanged
        self.not_run = ""  # why verify.commands could not run (said once)

    async def __call__(self) -> str:
        """ "" when all is well, else what the model should fix."""
        last_edit = self.recorder.last_edit
        if last_edit <= self.verified_at:
            # Nothing changed since the model read the problems and it finished again:
            # its explanation ends the task (the problems are kept as a warning).
            self.unresolved = self.problems
            return ""
        self.verified_at = last_edit
        problems = await self._editor_errors()
        failed = await self._commands()
        if failed:
            problems.append(failed)
        self.problems = "\n".join(problems)
        return self.problems

    async def _editor_errors(self) -> list[str]:
        recorder = self.recorder
        diagnostics = recorder.diagnostics
        edited = [r for r in sorted(recorder.edited_at) if r not in recorder.deleted]
        if diagnostics is None or not edited:
            return []
        await diagnostics.pull([recorder.root / r for r in edited])
        problems = []
        for relative in edited:
            since = recorder.edited_at[relative]
            found = [
                p
                for p in diagnostics.of(recorder.root / relative, since=since)
                if p.severity == "error"
            ]
            problems += [p.describe(relative) for p in recorder.new_errors(relative, found)]
        if problems:
            problems.insert(0, "The editor reports errors in the files you edited:")
        return problems

    async def _commands(self) -> str:
        """The user's verify.commands: sandboxed, they run without asking; without a
        sandbox each asks (the approval of the host), and one refused is not tried
        again in this task."""
        if not self.commands or self.not_run:
            return ""
        if not self.runner.sandboxed:
            for command in self.commands:
                refusal = await self.approve(command)
                if refusal:
                    self.not_run = (
                        f"verify.commands were not run ({command!r}: {refusal}; commands run "
                        f"without a sandbox here: {self.runner.unsandboxed_reason})"
                    )
                    self.warn(f"agentls: {self.not_run}")
                    return ""
        self.report(f"verifying: {', '.join(self.commands)}")
        return await verify_failures(self.runner, self.commands, checkpoint=self.checkpoint)

    def warnings(self) -> str:
        """What the summary of a task that ends done must still say."""
        out = []
        if self.unresolved:
            out.append(
                "Verification still reports problems (the model finished without fixing "
                f"them):\n{self.unresolved}"
            )
        if self.not_run:
            out.append(f"Note: {self.not_run}.")
        return "\n\n".join(out)
