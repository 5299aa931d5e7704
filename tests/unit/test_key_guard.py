"""Where the key goes: every base URL that is not the trusted host and port is another
target (so a change to it asks), whatever the URL parser makes of it."""

from __future__ import annotations

import pytest

from agentls.config import ModelSettings
from agentls.lsp.key_guard import target

ENV = {"OPENAI_API_KEY": "sk-test"}
TRUSTED = "http://127.0.0.1:1111/v1"


def _where(url: str) -> str | None:
    found = target(ModelSettings(base_url=url, name="m"), ENV)
    return found[0] if found is not None else None


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:+1111/v1",  # a port urllib refuses
        "http://127.0.0.1:99999/v1",
        "http://127.0.0.1:1111@evil.example/v1",
        "http://evil.example/v1",
        "https://127.0.0.1:1111/v1",
    ],
)
def test_a_url_other_than_the_trusted_one_is_another_target(url: str) -> None:
    where = _where(url)
    assert where is not None and where != _where(TRUSTED), where


def test_the_same_place_written_another_way_is_the_same_target() -> None:
    assert _where("HTTP://127.0.0.1:1111/other") == _where(TRUSTED)


def test_no_key_set_sends_no_key() -> None:
    assert target(ModelSettings(base_url=TRUSTED, name="m"), {}) is None
