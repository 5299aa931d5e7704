"""Allow / ask / deny for the agent's writes and commands, from the approval mode.

``read-only``: no writes, no commands (the tools are not even offered). ``ask``: every
write and every command asks the user. ``auto-edit``: writes are free, commands ask.
``full-auto``: writes and (sandboxed) commands are free. The user answers "once",
"task" (allow this kind for the rest of the task) or "deny"; no answer is a deny.
Only the user's answer approves: nothing read from the workspace reaches this object.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Literal

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


class Policy:
    def __init__(self, mode: Approval, ask: Asker, *, commands_sandboxed: bool = True) -> None:
        """``commands_sandboxed=False``: no sandbox here, so every command asks, whatever
        the mode."""
        self.mode = mode
        self.ask = ask
        self.free = set(FREE[mode])
        if not commands_sandboxed:
            self.free.discard("command")

    def offers(self, kind: Kind) -> bool:
        """Whether the tools of this kind are offered to the model at all."""
        return self.mode != "read-only"

    async def allow(self, kind: Kind, what: str) -> bool:
        if self.mode == "read-only":
            return False
        if kind in self.free:
            return True
        answer = await self.ask(kind, what)
        if answer == "task":
            self.free.add(kind)
        return answer != "deny"
