from agentls.config import Settings, parse_settings


def test_defaults_when_nothing_is_sent() -> None:
    assert parse_settings(None) == (Settings(), [])
    assert parse_settings({}) == (Settings(), [])


def test_values_are_read_from_camel_case_keys_and_the_agentls_section() -> None:
    raw = {
        "agentls": {
            "model": {"baseUrl": "http://127.0.0.1:1/v1", "maxOutputTokens": 100},
            "agent": {"approval": "full-auto"},
            "edits": {"onCancel": "keep"},
            "verify": {"commands": ["pytest -q"]},
        }
    }
    settings, warnings = parse_settings(raw)
    assert warnings == []
    assert settings.model.base_url == "http://127.0.0.1:1/v1"
    assert settings.model.max_output_tokens == 100
    assert settings.agent.approval == "full-auto"
    assert settings.edits.on_cancel == "keep"
    assert settings.verify.commands == ["pytest -q"]


def test_bad_values_fall_back_to_defaults_with_one_warning_each() -> None:
    raw = {
        "model": {"maxOutputTokens": -5, "timeout": "soon", "name": 7},
        "agent": {"approval": "yolo", "maxSteps": True},
        "context": [],
        "edits": {"review": "yes"},
        "verify": {"commands": "pytest"},
        "nonsense": 1,
    }
    settings, warnings = parse_settings(raw)
    assert settings == Settings()
    assert len(warnings) == 9, warnings
    assert any("agent.approval" in w and "'yolo'" in w for w in warnings)
    assert any("unknown setting nonsense" in w for w in warnings)


def test_a_non_object_is_refused_whole() -> None:
    settings, warnings = parse_settings("model=gpt")
    assert settings == Settings()
    assert len(warnings) == 1


def test_a_number_above_its_maximum_falls_back_with_a_warning() -> None:
    settings, warnings = parse_settings({"agent": {"compactAt": 0.99, "maxSeconds": 5}})
    assert settings.agent.compact_at == 0.8 and settings.agent.max_seconds == 5.0
    assert warnings == ["agent.compactAt: 0.99 is not a number >= 0.1 and <= 0.95; using 0.8"]
