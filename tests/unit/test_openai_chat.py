import logging

import pytest

from agentls.config import ModelSettings
from agentls.model.base import ModelError, StreamEnd, TextDelta, UsageReport
from agentls.model.openai_chat import DEFAULT_MODEL, OPENAI_URL, _events, resolve


def test_no_key_for_openai_is_a_clear_configuration_error() -> None:
    with pytest.raises(ModelError) as error:
        resolve(ModelSettings(), env={})
    assert error.value.kind == "config"
    assert "OPENAI_API_KEY" in error.value.message and "OPENAI_BASE_URL" in error.value.message


def test_environment_then_settings() -> None:
    env = {"OPENAI_BASE_URL": "http://127.0.0.1:11434/v1", "AGENTLS_MODEL": "qwen"}
    assert resolve(ModelSettings(), env) == ("http://127.0.0.1:11434/v1", "qwen", "none")
    settings = ModelSettings(base_url="http://127.0.0.1:1/v1", name="m", api_key_env="MY_KEY")
    assert resolve(settings, {**env, "MY_KEY": "k"}) == ("http://127.0.0.1:1/v1", "m", "k")
    assert resolve(ModelSettings(), {"OPENAI_API_KEY": "sk"}) == (OPENAI_URL, DEFAULT_MODEL, "sk")


def test_chunk_events() -> None:
    chunk = '{"choices":[{"index":0,"delta":{"content":"hi"},"finish_reason":null}]}'
    assert _events(chunk) == [TextDelta("hi")]
    end = '{"choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"usage":null}'
    assert _events(end) == [StreamEnd("stop")]
    usage = '{"choices":[],"usage":{"prompt_tokens":5,"completion_tokens":7}}'
    assert _events(usage) == [UsageReport(5, 7)]


def test_malformed_or_error_chunks_are_model_errors() -> None:
    with pytest.raises(ModelError, match="not JSON"):
        _events("{oops")
    with pytest.raises(ModelError, match="overloaded"):
        _events('{"error": {"message": "overloaded\\nretry later"}}')


def test_warm_up_runs_the_sdk_request_path_without_a_socket(
    caplog: pytest.LogCaptureFixture,
) -> None:
    import socket

    from agentls.model.openai_chat import warm_up

    real_connect = socket.socket.connect
    attempts: list[object] = []

    def connect(self: socket.socket, address: object) -> None:
        attempts.append(address)
        real_connect(self, address)  # type: ignore[arg-type]

    socket.socket.connect = connect  # type: ignore[method-assign]
    try:
        with caplog.at_level(logging.INFO, logger="agentls.model.openai_chat"):
            warm_up()
    finally:
        socket.socket.connect = real_connect  # type: ignore[method-assign]
    assert "warm-up failed" not in caplog.text  # the SDK's API still fits
    assert attempts == []
