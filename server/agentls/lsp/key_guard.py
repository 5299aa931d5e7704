"""The API key goes only where the user sent it: a settings change of ``model.baseUrl``
or ``model.apiKeyEnv`` that would send a key (an environment variable that is set) to
a new place asks the user first, with ``window/showMessageRequest``; without a yes
(an answer "Keep the old model", no answer within ``agent.askTimeout``, a client that
cannot ask) the change is not applied and the old model stays.

The first settings (``initializationOptions``, from the client that started the
server, or the defaults and environment when there are none) decide where the key may
go; later settings come from ``workspace/configuration`` (in VS Code, the workspace's
own ``.vscode/settings.json``) and ``workspace/didChangeConfiguration``.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from typing import Protocol
from urllib.parse import urlsplit

from lsprotocol import types

from agentls.config import ModelSettings, Settings
from agentls.model.base import ModelError
from agentls.model.openai_chat import resolve
from agentls.policy.display import visible

log = logging.getLogger(__name__)

ALLOW, KEEP = "Allow", "Keep the old model"
Target = tuple[str, str]  # (scheme://host:port, name of the key's variable)


def target(model: ModelSettings, env: dict[str, str]) -> Target | None:
    """Where a request with these settings sends which key (None: no key is sent)."""
    if not env.get(model.api_key_env):
        return None
    try:
        base_url, _, _ = resolve(model, env)
    except ModelError:
        return None
    parts = urlsplit(base_url)
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:  # a port no parser agrees on: a host of its own, which asks
        return f"{parts.scheme}://{parts.netloc.lower()}", model.api_key_env
    return f"{parts.scheme}://{(parts.hostname or '').lower()}:{port}", model.api_key_env


class AskClient(Protocol):
    """What the key guard needs of the server: its environment and settings, a question
    to the user and a message."""

    env: dict[str, str]
    settings: Settings

    async def window_show_message_request_async(
        self, params: types.ShowMessageRequestParams
    ) -> types.MessageActionItem | None: ...

    def show(self, kind: types.MessageType, message: str) -> None: ...


class KeyGuard:
    def __init__(self) -> None:
        self.trusted: set[Target] = set()
        self.started = False
        self.pending: ModelSettings | None = None
        self.asking: asyncio.Future[None] | None = None

    def admit(self, ls: AskClient, new: Settings) -> Settings:
        """``new`` as it may be applied now: with the old model settings while a
        change that sends the key to a new place waits for the user's yes."""
        where = target(new.model, ls.env)
        if not self.started:  # the first settings: the user's own choice
            self.started = True
            if where is not None:
                self.trusted.add(where)
            return new
        if where is None or where in self.trusted:
            self.pending = None
            return new
        self.pending = new.model
        if self.asking is None or self.asking.done():
            self.asking = asyncio.ensure_future(self._ask(ls, new.model, where))
        return replace(new, model=ls.settings.model)

    async def _ask(self, ls: AskClient, model: ModelSettings, where: Target) -> None:
        host, variable = where
        before = target(ls.settings.model, ls.env)
        was = f" (now {visible(before[0])})" if before else ""
        message = (
            f"agentls: new settings would send the API key in ${visible(variable)} to "
            f"{visible(host)}{was}. Allow?"
        )
        params = types.ShowMessageRequestParams(
            type=types.MessageType.Warning,
            message=message,
            actions=[types.MessageActionItem(title=ALLOW), types.MessageActionItem(title=KEEP)],
        )
        try:
            answer = await asyncio.wait_for(
                ls.window_show_message_request_async(params), ls.settings.agent.ask_timeout
            )
        except Exception as error:  # no answer in time, or a client that cannot ask
            log.info("no answer to the key question: %s", error)
            answer = None
        if answer is not None and answer.title == ALLOW:
            self.trusted.add(where)
            if self.pending == model:
                ls.settings = replace(ls.settings, model=model)
                self.pending = None
            return
        if self.pending == model:
            self.pending = None
        ls.show(
            types.MessageType.Warning,
            f"agentls: the change of model.baseUrl/model.apiKeyEnv to {visible(host)} "
            f"(${visible(variable)}) was not applied; the model stays as it was.",
        )
