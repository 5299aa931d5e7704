"""Allow / ask / deny for the agent's writes and commands: the approval mode plus the
user's rules from the settings.

Modes: ``read-only``: no writes, no commands (the tools are not even offered). ``ask``:
every write and every command asks the user. ``auto-edit``: writes are free, commands
ask. ``full-auto``: writes and (sandboxed) commands are free.

Rules (settings, from the user only) come first, deny before allow:
- ``agent.denyPaths`` / ``agent.allowPaths``: gitignore-style globs of workspace paths
  never written / written without asking;
- protected paths (``policy/protected.py`` plus ``agent.protectedPaths``): files that
  editors and tools run or trust (``.vscode/``, ``.envrc``, ``.git*`` …) ask in every
  mode, full-auto included, and over an allow rule;
- ``agent.denyCommands`` / ``agent.allowCommands``: command prefixes (``git push``,
  ``pytest``). The line is parsed as bash (``policy/shell.py``): a deny rule matches a
  command at any depth (subshells, substitutions, pipelines, conditionals, functions,
  wrappers such as ``env``/``sudo``/``xargs``, ``sh -c`` strings); an allow rule
  approves only when every command of the line is allowed, with no redirection into a
  file. A line that cannot be vetted (``eval $x``, ``… | sh``, a parse error) is never
  allowed by a rule, and asks in every mode when there are deny rules.

The user answers "once", "task" (allow this kind for the rest of the task; for a
question asked in every mode: this very write or command) or "deny"; no answer is a
deny. Only the settings and the user's answers decide: nothing read from the workspace
(file text, tool output, AGENTS.md) reaches this object. Every question shows the
path or command verbatim, control characters made visible (``policy/display.py``); a
question about a write or a new file shows its compact unified diff below.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

import pathspec

from agentls.config import Approval, Settings
from agentls.policy import shell, shell_variables, shell_words
from agentls.policy.approved import BY_RULE
from agentls.policy.display import compact_diff, no_invisible, quoted, visible
from agentls.policy.protected import protected_why
from agentls.tools.workspace import ToolDenied
from agentls.tools.write import EditSink

Kind = Literal["write", "command"]
Answer = Literal["once", "task", "deny"]
Asker = Callable[[Kind, str], Awaitable[Answer]]
Verdict = Literal["allow", "deny", "ask", ""]  # "ask": ask in every mode; "": the mode decides

FREE: dict[Approval, frozenset[Kind]] = {
    "read-only": frozenset(),
    "ask": frozenset(),
    "auto-edit": frozenset({"write"}),
    "full-auto": frozenset({"write", "command"}),
}
# Wrappers an allow rule looks through (``timeout 60 pytest`` is pytest's).
TRANSPARENT = {"command", "builtin", "exec", "env", "nice", "nohup", "time", "timeout",
               "stdbuf", "setsid", "ionice"}  # fmt: skip


@dataclass(frozen=True)
class Rules:
    allow_paths: Sequence[str] = ()
    deny_paths: Sequence[str] = ()
    allow_commands: Sequence[str] = ()
    deny_commands: Sequence[str] = ()
    protected_paths: Sequence[str] = ()  # more than the defaults of protected.py
    _allow: pathspec.GitIgnoreSpec = field(init=False, repr=False, compare=False)
    _deny: pathspec.GitIgnoreSpec = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_allow", pathspec.GitIgnoreSpec.from_lines(self.allow_paths))
        object.__setattr__(self, "_deny", pathspec.GitIgnoreSpec.from_lines(self.deny_paths))

    def path(self, relative: str) -> Verdict:
        if self._deny.match_file(relative):
            return "deny"
        if protected_why(relative, self.protected_paths):
            return "ask"
        return "allow" if self._allow.match_file(relative) else ""

    def command(self, command: str) -> Verdict:
        return self.judge(shell.parse(command))

    def judge(self, line: shell.Line) -> Verdict:
        denies = [_words(rule) for rule in self.deny_commands if _words(rule)]
        maybe = False
        for simple in line.commands:
            for layer in simple.layers:
                for rule in denies:
                    found = _deny_match(layer, rule)
                    if found == "yes":
                        return "deny"
                    maybe = maybe or found == "maybe"
        for rule in denies:  # what a program the walker does not know may run
            name = rule[0].rsplit("/", 1)[-1]
            maybe = maybe or name in line.maybe_names
            maybe = maybe or any(
                _deny_match(layer, rule) != "no" for s in line.maybe for layer in s.layers
            )
        if (line.unvetted or line.maybe_unvetted or maybe) and denies:
            return "ask"
        if line.unvetted or line.writes or not line.commands:
            return ""
        if not all(shell_variables.safe(name) for name in line.variables):
            return ""  # LD_AUDIT=x ls: an allow rule approves no such line
        allows = [_words(rule) for rule in self.allow_commands if _words(rule)]
        if allows and all(_allowed(simple, allows) for simple in line.commands):
            return "allow"
        return ""


def _words(text: str) -> tuple[str, ...]:
    line = shell.parse(text)
    if len(line.commands) == 1 and not line.unvetted:
        words = line.commands[0].layers[0]
        if all(w is not None for w in words):
            return tuple(w for w in words if w is not None)
    return tuple(text.split())


def _deny_match(layer: shell_words.Words, rule: tuple[str, ...]) -> Literal["yes", "maybe", "no"]:
    """The program (by its name, whatever its folder: ``/bin/rm`` is ``rm``) and the
    rule's other words in order among its arguments (``git -C x push`` is ``git push``)."""
    name = rule[0].rsplit("/", 1)[-1]
    if not layer or layer[0] is None or layer[0].rsplit("/", 1)[-1] != name:
        return "no"
    want = list(rule[1:])
    for word in layer[1:]:
        if want and word == want[0]:
            want.pop(0)
    if not want:
        return "yes"
    return "maybe" if any(word is None for word in layer[1:]) else "no"


def _allowed(simple: shell.Simple, allows: list[tuple[str, ...]]) -> bool:
    """An allow rule approves the innermost program exactly (no path, word by word)
    behind wrappers that only set its environment or limits."""
    wrappers = simple.layers if simple.runs_line else simple.layers[:-1]
    for layer in wrappers:
        name = layer[0]
        if name is None or name not in TRANSPARENT | shell.SHELLS | {"eval"}:
            return False
    if simple.runs_line:
        return True  # the code string's own commands are judged one by one
    program = simple.program
    if any(word is None for word in program):
        return False
    return any(tuple(program[: len(rule)]) == rule for rule in allows)


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
        self.allowed: set[str] = set()  # questions of every mode answered "for this task"
        if not commands_sandboxed:
            self.free.discard("command")

    def offers(self, kind: Kind) -> bool:
        """Whether the tools of this kind are offered to the model at all."""
        return self.mode != "read-only"

    async def refusal_to_write(
        self, relative: str, verb: str = "edit", change: tuple[str, str] | None = None
    ) -> str:
        """Why ``relative`` may not be written ("" when it may); ``change``: its text
        before and after, shown to the user as a diff when they are asked."""
        rule = self.rules.path(relative)
        if self.mode == "read-only":
            return "agent.approval is read-only"
        if rule == "deny":
            return "the user's settings forbid writing it (agent.denyPaths)"
        what = f"{verb} {visible(relative)}"
        diff = _diff_of(change)
        if rule == "ask":
            why = protected_why(relative, self.rules.protected_paths)
            return await self._decide(
                "write", f"{what} (protected: {why})", always=True, detail=diff
            )
        if rule == "allow":
            return ""
        return await self._decide("write", what, detail=diff)

    async def refusal_to_run(self, command: str) -> str:
        """Why ``command`` may not run ("" when it may)."""
        line = shell.parse(command)
        rule = self.rules.judge(line)
        if self.mode == "read-only":
            return "agent.approval is read-only"
        if rule == "deny":
            return "the user's settings forbid it (agent.denyCommands)"
        BY_RULE.set(None)
        if rule == "allow" and self.sandboxed:
            BY_RULE.set(command)  # the sandbox runs it with the system's PATH first
            return ""
        what = f"run {quoted(command)}"
        programs = ", ".join(visible(p) for p in line.programs()) or "none found"
        if len(line.programs()) > 1 or line.unvetted:
            # before the command: no padding in it can push the list out of sight
            what = f"(programs: {programs}) {what}"
        if rule == "ask":
            reasons = "; ".join(map(visible, line.unvetted + line.maybe_unvetted)) or (
                "a denied program may run as an argument of a program the rules do not know, "
                "or a word is only known when it runs"
            )
            what += f"; it cannot be checked against agent.denyCommands: {reasons}"
        return await self._decide("command", what, always=rule == "ask")

    async def _decide(
        self, kind: Kind, what: str, *, always: bool = False, detail: str = ""
    ) -> str:
        """Ask unless the mode (or an earlier "for this task") makes ``kind`` free;
        ``always``: ask in every mode, and "for this task" covers this ``what`` only.
        ``detail``: lines shown below the question (a diff), each already visible."""
        if (kind in self.free and not always) or what in self.allowed:
            return ""
        question = no_invisible(what)
        if detail:
            lines = [no_invisible(line) for line in detail.split("\n")]
            question += ":\n" + "\n".join(lines) + "\n(end of the diff)"
        answer = await self.ask(kind, question)
        if answer == "task":
            if always:
                self.allowed.add(what)
            else:
                self.free.add(kind)
        return "the user did not allow it" if answer == "deny" else ""


def _diff_of(change: tuple[str, str] | None) -> str:
    if change is None:
        return ""
    if change[0] == change[1]:
        return "(no change to the text)"
    return compact_diff(*change) or "(only line endings or the final newline change)"


def rules_from(settings: Settings) -> Rules:
    agent = settings.agent
    return Rules(
        agent.allow_paths,
        agent.deny_paths,
        agent.allow_commands,
        agent.deny_commands,
        agent.protected_paths,
    )


class ApprovingSink:
    """The policy in front of an ``EditSink``: a change not allowed is a tool result
    that says why, and nothing is written."""

    def __init__(self, sink: EditSink, policy: Policy) -> None:
        self.sink = sink
        self.policy = policy

    async def write(self, relative: str, old: str | None, new: str) -> None:
        verb = "create" if old is None else "edit"
        refusal = await self.policy.refusal_to_write(relative, verb, (old or "", new))
        if refusal:
            raise ToolDenied(f"{relative}: not changed: {refusal}")
        await self.sink.write(relative, old, new)

    async def delete(self, relative: str, old: str) -> None:
        refusal = await self.policy.refusal_to_write(relative, "delete")
        if refusal:
            raise ToolDenied(f"{relative}: not deleted: {refusal}")
        await self.sink.delete(relative, old)
