"""Talking to OpenAI-compatible models (no pygls)."""
