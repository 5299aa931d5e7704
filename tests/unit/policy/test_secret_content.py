"""Secret content: what is hidden, what is not, and the file check the sandbox uses."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from agentls.policy.secret_content import MARK, candidate_lines, redact
from agentls.policy.secrets import SecretMatcher, file_has_secret_content, redact_secrets
from tests.security.secret_samples import (
    CODE_NAMES,
    CREDENTIAL_NAMES,
    private_key_block,
    python_line,
    token_samples,
)


@pytest.mark.parametrize("path", ["", "notes.txt", "app.cfg", "settings.yaml", ".env.example"])
def test_every_sample_is_hidden_and_hiding_twice_changes_nothing(path: str) -> None:
    samples = token_samples()
    text = "\n".join(s.line for s in samples) + "\n"
    once = redact(text, path)
    assert [s.kind for s in samples if s.core in once.text] == []
    assert len(once.lines) == len(samples)
    assert redact_secrets(once.text, path) == once.text


def test_code_keeps_what_comes_before_the_value() -> None:
    sample = token_samples()[0]
    text = f"import os\n\n{python_line(sample)}\nTIMEOUT = 30\n"
    shown = redact_secrets(text, "settings.py")
    assert shown.split("\n")[2] == 'AWS_KEY = "' + MARK.format(kind="AWS Access Key")
    assert "TIMEOUT = 30" in shown and shown.count("\n") == text.count("\n")


@pytest.mark.parametrize("kind", ["RSA", "OPENSSH", "EC", "ENCRYPTED", "", "PGP"])
def test_a_private_key_block_is_hidden_whole(kind: str) -> None:
    block, body = private_key_block(kind)
    text = f"before = 1\n{block}after = 2\n"
    shown = redact_secrets(text)
    assert body not in shown and "before = 1" in shown and "after = 2" in shown
    assert shown.count("\n") == text.count("\n")


def test_ordinary_code_is_left_alone() -> None:
    text = (
        "def login(user: str, password: str) -> bool:\n"
        "    secret = get_secret(user)\n"
        '    token = os.environ["API_TOKEN"]\n'
        "    api_key = settings.API_KEY\n"
        '    password_field = "${PASSWORD}"\n'
        "    return check(password, secret)\n"
    )
    assert redact_secrets(text, "auth.py") == text


def test_a_big_file_is_prefiltered_in_one_pass() -> None:
    """Candidate lines only where an anchor is; the plugins never see the rest."""
    lines = ["x = compute(1, 2)"] * 50_000
    lines[41_234] = python_line(token_samples()[1])
    assert candidate_lines("\n".join(lines)) == [41_234]


def test_file_has_secret_content_reads_in_chunks(tmp_path: Path) -> None:
    clean = tmp_path / "clean.log"
    clean.write_text("a line of log\n" * 200_000)  # 2.8 MB: three chunks
    assert not file_has_secret_content(clean)
    dirty = tmp_path / "dirty.log"
    dirty.write_text("a line of log\n" * 200_000 + private_key_block()[0])
    assert file_has_secret_content(dirty)
    assert file_has_secret_content(tmp_path / "missing")  # unreadable: masked


def test_no_plugin_makes_a_network_request(monkeypatch: pytest.MonkeyPatch) -> None:
    """detect-secrets can verify some tokens with their services; agentls never asks."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("a network connection was attempted")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    text = "\n".join(s.line for s in token_samples())
    assert redact(text).hits


def test_credential_names_at_any_depth_and_code_names() -> None:
    matcher = SecretMatcher()
    for name in CREDENTIAL_NAMES:
        for depth in ("", "a/", "a/b/c/"):
            assert matcher.is_secret(depth + name), depth + name
    for name in CODE_NAMES:
        assert not matcher.is_secret(f"src/{name}"), name


def test_secret_content_files_reads_only_what_changed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from agentls.policy import secrets

    (tmp_path / "a.txt").write_text("nothing here\n")
    (tmp_path / "b.py").write_text(python_line(token_samples()[0]) + "\n")
    reads: list[Path] = []
    real = secrets.file_has_secret_content

    def counted(path: Path) -> bool:
        reads.append(path)
        return real(path)

    monkeypatch.setattr(secrets, "file_has_secret_content", counted)
    files = secrets.SecretContentFiles(tmp_path)
    assert files.holding_secrets(["a.txt", "b.py", "missing"]) == ["b.py"]
    assert files.holding_secrets(["a.txt", "b.py"]) == ["b.py"] and len(reads) == 2
    (tmp_path / "a.txt").write_text("password = 'x8Hq2LmZr'\n")  # changed: read again
    assert files.holding_secrets(["a.txt", "b.py"]) == ["a.txt", "b.py"] and len(reads) == 3


def test_lines_built_to_make_the_patterns_crawl_are_hidden_unchecked() -> None:
    """Each line makes the keyword patterns backtrack over it for every keyword in it;
    after the check's time is up, the rest are hidden without being checked."""
    line = ('password: "aaaa ' * 200)[:3000]
    shown = redact("\n".join([line] * 2000))
    assert len(shown.lines) == 2000
    assert shown.hits[-1].kind == "not checked: the secret check ran out of time"
