"""The agent core: tasks, the focused rewrite, prompts (pure asyncio, no pygls)."""
