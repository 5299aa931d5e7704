"""Which command line an allow rule approved, from the policy to the sandbox.

An allow rule (``agent.allowCommands: ["ls"]``) names a program; the user means the
system's ``ls``, not a program of that name the repository ships. The sandbox puts the
workspace's virtualenv ``bin`` first on a command's ``PATH`` (so ``python`` and
``pytest`` are the project's); for a line approved by a rule alone it puts it last, so
that a name the system has runs the system's program. ``Policy.refusal_to_run`` sets
the line here; ``CommandRunner.run`` of the same line, in the same task, reads it.
"""

from __future__ import annotations

from contextvars import ContextVar

BY_RULE: ContextVar[str | None] = ContextVar("agentls_approved_by_rule", default=None)


def approved_by_rule(command: str) -> bool:
    """Whether ``command`` was approved by an allow rule alone (no question, no mode)."""
    return BY_RULE.get() == command
