"""What a full agent task needs from the place it runs in: the ``Host``.

``agent/run.py`` runs a task the same way in an editor (``lsp/agent_run.py``: questions
through ``window/showMessageRequest``, the editor's diagnostics and buffers, progress)
and in a terminal (``cli_agent.py``: questions on the tty, the disk). Everything that
differs between the two is behind these protocols; nothing here imports pygls.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

from agentls.policy.approval import Answer, Kind
from agentls.tools.command_checkpoint import CommandCheckpoint
from agentls.tools.write import EditSink

Mode = Literal["edit", "plan", "ask"]


@dataclass(frozen=True)
class AgentRequest:
    """What the user asked: the instruction, the mode, and where (optional)."""

    instruction: str
    mode: Mode = "edit"
    uri: str | None = None
    line: int | None = None  # 0-based, in the document (None: no position)
    column: int = 0


@dataclass(frozen=True)
class Problem:
    """One diagnostic the host shows for a file."""

    line: int  # 0-based
    column: int  # 0-based
    severity: str  # "error", "warning", "info", "hint"
    source: str
    message: str
    at: float  # time.monotonic() when it was reported

    def describe(self, relative: str) -> str:
        source = f" ({self.source})" if self.source else ""
        where = f"{relative}:{self.line + 1}:{self.column + 1}"
        return f"{where}: {self.severity}{source}: {self.message}"

    @property
    def key(self) -> tuple[str, str, str]:
        """What it says, wherever it is (lines move when the task edits above it)."""
        return self.severity, self.source, self.message


class Diagnostics(Protocol):
    """The diagnostics a host knows (an editor's linters, type checkers, compilers)."""

    async def pull(self, paths: Sequence[Path] | None = None) -> None:
        """Bring what is known up to date (``paths``, else every file), when it can."""
        ...

    def files(self) -> list[Path]:
        """The files that have diagnostics."""
        ...

    def of(self, path: Path, since: float | None = None) -> list[Problem]:
        """``path``'s diagnostics (those reported at or after ``since``), by line."""
        ...


class TaskSink(EditSink, Protocol):
    """Where a task's changes land, with undo of all of them (the editor's
    ``workspace/applyEdit``, or the disk)."""

    commands: CommandCheckpoint | None  # what the task's commands changed on the disk

    @property
    def has_changes(self) -> bool: ...

    def edited_uris(self) -> list[str]: ...

    async def undo(self) -> str:
        """Revert every change of the task; ``EditorError`` when it cannot."""
        ...


class Host(Protocol):
    """The editor or the terminal a task runs in."""

    diagnostics: Diagnostics | None  # None: the host knows none

    async def ask(self, kind: Kind, what: str) -> Answer:
        """May the agent ``what`` (a write or a command)? No answer is a deny."""
        ...

    async def choose(self, message: str, options: Sequence[str]) -> str | None:
        """One of ``options`` (None: no answer), e.g. to approve a plan."""
        ...

    def text_of(self, relative: str) -> str | None:
        """The host's own text of a workspace file (an unsaved buffer), if it has one."""
        ...

    def unsaved(self) -> dict[str, str]:
        """Every workspace file whose text differs from the disk here, for commands."""
        ...

    async def context(self, request: AgentRequest, budget: int) -> str:
        """Code around the request's position, within ``budget`` tokens ("": none)."""
        ...

    def report(self, text: str) -> None:
        """Progress: one short line (a step, a tool call)."""
        ...

    def show(self, message: str) -> None:
        """A message for the user (an answer in ask mode)."""
        ...

    def warn_once(self, message: str) -> None:
        """A warning shown once per session."""
        ...
