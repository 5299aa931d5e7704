"""``spawn_subagent``: a read-only explorer with its own context and step budget.

The agent hands it a question ("where are sessions created, and by whom?"); the
explorer runs its own loop over the read-only tools only and returns nothing but its
summary, so the agent's own history stays short. Several explorers asked in one
turn run at once (the tool is parallel-safe), up to ``agent.maxExplorersPerTurn``
per reply and ``agent.maxExplorers`` per task: a call past either cap is answered
that it was not run, and why. Their tokens count for the task, and an explorer gets
only what is left of the task's token budget.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

from agentls.agent.loop import AgentEvent, AgentLoop, Finished, Limits, limits_from
from agentls.config import Settings
from agentls.model.base import Model
from agentls.tools.box import Tool, Toolbox, spec

Usage = Callable[[int, int], None]  # input tokens, output tokens


@dataclass
class ExplorerCaps:
    """How many explorers a task may start: per model reply (``turn()`` names the
    current one) and in all."""

    per_turn: int
    total: int
    turn: Callable[[], int] = lambda: 0
    started: int = 0
    by_turn: dict[int, int] = field(default_factory=dict)

    def refusal(self) -> str:
        """Why one more explorer may not start now ("" if it may); counts it if it may."""
        turn = self.turn()
        if self.started >= self.total:
            return (
                f"not run: this task has started its {self.total} explorers (setting "
                "agent.maxExplorers); search and read yourself, or finish"
            )
        if self.by_turn.get(turn, 0) >= self.per_turn:
            return (
                f"not run: at most {self.per_turn} explorers per reply (setting "
                "agent.maxExplorersPerTurn); ask fewer, broader questions"
            )
        self.started += 1
        self.by_turn = {turn: self.by_turn.get(turn, 0) + 1}
        return ""


def subagent_tool(
    model: Model,
    read_tools: Callable[[], list[Tool]],
    limits: Limits,
    root: str,
    on_usage: Usage,
    on_event: Callable[[AgentEvent], None] | None = None,
    caps: ExplorerCaps | None = None,
    tokens_left: Callable[[], int | None] = lambda: None,
) -> Tool:
    """``read_tools`` makes the explorer's tools (fresh ones per explorer); ``limits``
    are the explorer's own (its step budget), ``on_usage`` gets its tokens; ``caps``
    bound how many start; ``tokens_left`` is what remains of the task's token budget
    (None: no budget)."""

    async def run(arguments: dict[str, object]) -> str:
        left = tokens_left()
        if left is not None and left <= 0:
            return "not run: the task's token budget (setting agent.maxTokens) is spent"
        refusal = caps.refusal() if caps is not None else ""
        if refusal:
            return refusal
        own = limits if left is None else replace(limits, max_tokens=left)
        explorer = AgentLoop(model, Toolbox(read_tools()), own, root, system="subagent_system.md")
        end: Finished | None = None
        try:
            async for event in explorer.run(str(arguments["task"])):
                if on_event is not None:
                    on_event(event)
                if isinstance(event, Finished):
                    end = event
        finally:
            on_usage(explorer.input_tokens, explorer.output_tokens)
        assert end is not None
        if end.status != "done":
            return f"the explorer stopped without an answer ({end.summary}) after {end.steps} steps"
        return f"explorer's summary ({end.steps} steps):\n{end.summary}"

    return Tool(
        spec(
            "spawn_subagent",
            "Start a read-only explorer that searches the workspace for you and returns only "
            "a summary of what it found (paths, lines, names). Use it for broad questions; "
            "several at once run in parallel (at most "
            f"{caps.per_turn if caps else 'a few'} per reply).",
            {"task": {"type": "string", "description": "what to find out, precisely"}},
            ["task"],
        ),
        run,
        parallel=True,
    )


def add_explorers(
    loop: AgentLoop, read_tools: Callable[[], list[Tool]], settings: Settings
) -> None:
    """Give ``loop`` the ``spawn_subagent`` tool: explorers on its model and root, with
    ``agent.subagentMaxSteps`` steps each, at most ``agent.maxExplorersPerTurn`` per
    reply and ``agent.maxExplorers`` in all, their tokens counted for the task."""
    agent = settings.agent
    explorers = limits_from(settings, agent.subagent_max_steps)
    caps = ExplorerCaps(agent.max_explorers_per_turn, agent.max_explorers, lambda: loop.steps)
    loop.toolbox.add(
        subagent_tool(
            loop.model,
            read_tools,
            explorers,
            loop.root,
            loop.add_usage,
            caps=caps,
            tokens_left=loop.tokens_left,
        )
    )
