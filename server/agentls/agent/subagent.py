"""``spawn_subagent``: a read-only explorer with its own context and step budget.

The agent hands it a question ("where are sessions created, and by whom?"); the
explorer runs its own loop over the read-only tools only and returns nothing but its
summary, so the agent's own history stays short. Several explorers asked in one
turn run at once (the tool is parallel-safe). Their tokens count for the task.
"""

from __future__ import annotations

from collections.abc import Callable

from agentls.agent.loop import AgentEvent, AgentLoop, Finished, Limits, limits_from
from agentls.config import Settings
from agentls.model.base import Model
from agentls.tools.box import Tool, Toolbox, spec

Usage = Callable[[int, int], None]  # input tokens, output tokens


def subagent_tool(
    model: Model,
    read_tools: Callable[[], list[Tool]],
    limits: Limits,
    root: str,
    on_usage: Usage,
    on_event: Callable[[AgentEvent], None] | None = None,
) -> Tool:
    """``read_tools`` makes the explorer's tools (fresh ones per explorer); ``limits``
    are the explorer's own (its step budget), ``on_usage`` gets its tokens."""

    async def run(arguments: dict[str, object]) -> str:
        explorer = AgentLoop(
            model, Toolbox(read_tools()), limits, root, system="subagent_system.md"
        )
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
            "several at once run in parallel.",
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
    ``agent.subagentMaxSteps`` steps each, their tokens counted for the task."""
    explorers = limits_from(settings, settings.agent.subagent_max_steps)
    loop.toolbox.add(subagent_tool(loop.model, read_tools, explorers, loop.root, loop.add_usage))
