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

import shlex
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

import pathspec

from agentls.config import Approval, Settings
from agentls.tools.workspace import ToolDenied
from agentls.tools.write import EditSink

Kind = Literal["write", "command"]
Answer = Literal["once", "task", "deny"]
Asker = Callable[[Kind, str], Awaitable[Answer]]

FREE: dict[Approval, frozenset[Kind]] = {
    "read-only": frozenset(),
    "ask": frozenset(),
    "auto-edit": frozenset({"write"}),
    "full-auto": frozenset({"write", "command"}),
}


def _split(command: str) -> tuple[list[str], bool]:
    """The simple commands of ``command`` (split at ; & && || | and newlines outside
    quotes) and whether it has what an allow prefix never approves: redirections,
    subshells, or substitutions (``$(…)`` and backticks also expand inside double
    quotes; single quotes keep everything literal)."""
    parts: list[str] = []
    current: list[str] = []
    quote = ""
    unsafe = False
    i = 0
    while i < len(command):
        ch = command[i]
        pair = command[i : i + 2]
        if quote == "'":
            quote = "" if ch == "'" else quote
        elif ch == "\\" and quote != "'":
            current.append(command[i : i + 2])
            i += 2
            continue
        elif quote == '"':
            quote = "" if ch == '"' else quote
            unsafe = unsafe or ch == "`" or pair == "$("
        elif ch in "'\"":
            quote = ch
        elif pair in ("&&", "||"):
            parts.append("".join(current))
            current = []
            i += 2
            continue
        elif ch in ";&|\n":
            parts.append("".join(current))
            current = []
            i += 1
            continue
        elif ch in "<>`()" or pair == "$(":
            unsafe = True
        current.append(ch)
        i += 1
    parts.append("".join(current))
    return [p.strip() for p in parts if p.strip()], unsafe or bool(quote)


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
        parts, unsafe = _split(command)
        if any(_starts_with(part, p) for part in parts for p in self.deny_commands):
            return "deny"
        if len(parts) == 1 and not unsafe:
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


def rules_from(settings: Settings) -> Rules:
    agent = settings.agent
    return Rules(agent.allow_paths, agent.deny_paths, agent.allow_commands, agent.deny_commands)


class ApprovingSink:
    """The policy in front of an ``EditSink``: a change not allowed is a tool result
    that says why, and nothing is written."""

    def __init__(self, sink: EditSink, policy: Policy) -> None:
        self.sink = sink
        self.policy = policy

    async def write(self, relative: str, old: str | None, new: str) -> None:
        refusal = await self.policy.refusal_to_write(relative, "create" if old is None else "edit")
        if refusal:
            raise ToolDenied(f"{relative}: not changed: {refusal}")
        await self.sink.write(relative, old, new)

    async def delete(self, relative: str, old: str) -> None:
        refusal = await self.policy.refusal_to_write(relative, "delete")
        if refusal:
            raise ToolDenied(f"{relative}: not deleted: {refusal}")
        await self.sink.delete(relative, old)
