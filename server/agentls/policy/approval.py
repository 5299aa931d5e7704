"""Allow / ask / deny for the agent's writes and commands: the approval mode plus the
user's rules from the settings.

Modes: ``read-only``: no writes, no commands (the tools are not even offered). ``ask``:
every write and every command asks the user. ``auto-edit``: writes are free, commands
ask. ``full-auto``: writes and (sandboxed) commands are free.

Rules (settings, from the user only) come first, deny before allow:
- ``agent.denyPaths`` / ``agent.allowPaths``: gitignore-style globs of workspace paths
  never written / written without asking;
- ``agent.denyCommands`` / ``agent.allowCommands``: command prefixes (``git push``,
  ``pytest``) never run / run without asking. A deny prefix is checked against every
  simple command of a pipeline or list (``make; git push``); an allow prefix only
  approves a single simple command (``pytest && curl …`` still asks), and never one
  with redirections or substitutions.

The user answers "once", "task" (allow this kind for the rest of the task) or "deny";
no answer is a deny. Only the settings and the user's answers decide: nothing read
from the workspace (file text, tool output, AGENTS.md) reaches this object.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

import pathspec

from agentls.config import Approval

Kind = Literal["write", "command"]
Answer = Literal["once", "task", "deny"]
Asker = Callable[[Kind, str], Awaitable[Answer]]

FREE: dict[Approval, frozenset[Kind]] = {
    "read-only": frozenset(),
    "ask": frozenset(),
    "auto-edit": frozenset({"write"}),
    "full-auto": frozenset({"write", "command"}),
}
# Between simple commands: ; & && || | and newlines.
_SEPARATORS = re.compile(r"\|\||&&|[;&|\n]")
# What an allow prefix never approves: redirections, substitutions, subshells.
_UNSAFE = re.compile(r"[<>`]|\$\(|\(|\)")


@dataclass(frozen=True)
class Rules:
    allow_paths: Sequence[str] = ()
    deny_paths: Sequence[str] = ()
    allow_commands: Sequence[str] = ()
    deny_commands: Sequence[str] = ()
    _allow: pathspec.GitIgnoreSpec = field(init=False, repr=False, compare=False)
    _deny: pathspec.GitIgnoreSpec = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_allow", pathspec.GitIgnoreSpec.from_lines(self.allow_paths))
        object.__setattr__(self, "_deny", pathspec.GitIgnoreSpec.from_lines(self.deny_paths))

    def path(self, relative: str) -> Literal["allow", "deny", ""]:
        if self._deny.match_file(relative):
            return "deny"
        return "allow" if self._allow.match_file(relative) else ""

    def command(self, command: str) -> Literal["allow", "deny", ""]:
        parts = [p.strip() for p in _SEPARATORS.split(command) if p.strip()]
        if any(_starts_with(part, p) for part in parts for p in self.deny_commands):
            return "deny"
        if len(parts) == 1 and not _UNSAFE.search(command):
            if any(_starts_with(parts[0], p) for p in self.allow_commands):
                return "allow"
        return ""


def _words(text: str) -> list[str]:
    try:
        return shlex.split(text)
    except ValueError:  # unbalanced quotes: compare the raw words
        return text.split()


def _starts_with(command: str, prefix: str) -> bool:
    """Word by word: ``git push`` matches ``git push -f`` but ``py`` not ``pytest``;
    a leading ``env X=1`` or path does not hide the program (``/usr/bin/git push``)."""
    words, want = _words(command), _words(prefix)
    while words and "=" in words[0] and not words[0].startswith("="):
        words = words[1:]  # VAR=value prefixes
    if words and words[0] == "env":
        words = [w for w in words[1:] if "=" not in w] or words
    if words and want:
        words = [words[0].rsplit("/", 1)[-1], *words[1:]]
    return bool(want) and words[: len(want)] == want


class Policy:
    def __init__(
        self,
        mode: Approval,
        ask: Asker,
        rules: Rules | None = None,
        *,
        commands_sandboxed: bool = True,
    ) -> None:
        """``commands_sandboxed=False``: no sandbox here, so every command asks (an
        allow rule included), whatever the mode."""
        self.mode = mode
        self.ask = ask
        self.rules = rules or Rules()
        self.sandboxed = commands_sandboxed
        self.free = set(FREE[mode])
        if not commands_sandboxed:
            self.free.discard("command")

    def offers(self, kind: Kind) -> bool:
        """Whether the tools of this kind are offered to the model at all."""
        return self.mode != "read-only"

    async def refusal_to_write(self, relative: str, verb: str = "edit") -> str:
        """Why ``relative`` may not be written ("" when it may)."""
        rule = self.rules.path(relative)
        if self.mode == "read-only":
            return "agent.approval is read-only"
        if rule == "deny":
            return "the user's settings forbid writing it (agent.denyPaths)"
        if rule == "allow":
            return ""
        return await self._decide("write", f"{verb} {relative}")

    async def refusal_to_run(self, command: str) -> str:
        """Why ``command`` may not run ("" when it may)."""
        rule = self.rules.command(command)
        if self.mode == "read-only":
            return "agent.approval is read-only"
        if rule == "deny":
            return "the user's settings forbid it (agent.denyCommands)"
        if rule == "allow" and self.sandboxed:
            return ""
        return await self._decide("command", f"run `{command}`")

    async def _decide(self, kind: Kind, what: str) -> str:
        if kind in self.free:
            return ""
        answer = await self.ask(kind, what)
        if answer == "task":
            self.free.add(kind)
        return "the user did not allow it" if answer == "deny" else ""
