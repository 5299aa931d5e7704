"""The one place a model is made from the settings (``model.api`` picks the wire API).

``"chat"`` (the default) speaks Chat Completions, which OpenAI, Ollama, vLLM, llama.cpp
and LM Studio all serve (``openai_chat.py``); ``"responses"`` speaks OpenAI's Responses
API (``openai_responses.py``). Both go through the openai SDK. A new provider with its
own wire format gets a module here and a branch in ``model_from``.
"""

from __future__ import annotations

from typing import Protocol

from agentls.config import ModelSettings
from agentls.model.base import Model


class ClosableModel(Model, Protocol):
    async def aclose(self) -> None:
        """Close the HTTP client's connections."""
        ...


def model_from(settings: ModelSettings, env: dict[str, str] | None = None) -> ClosableModel:
    """The model the settings name (``ModelError`` with what to set when none is
    configured). ``env``: the environment to read the key and defaults from."""
    if settings.api == "responses":
        from agentls.model.openai_responses import OpenAIResponsesModel

        return OpenAIResponsesModel(settings, env)
    from agentls.model.openai_chat import OpenAIChatModel

    return OpenAIChatModel(settings, env)
