"""The agent's tools (names of the public contract), over a confined workspace."""
