"""Secret patterns: the fast combined match agrees with pathspec's own, path by path."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from agentls.policy.secrets import SecretMatcher

NAMES = st.sampled_from(
    [
        ".env",
        ".env.local",
        "prod.env",
        "x.pem",
        "id_rsa",
        "id_rsa.pub",
        "credentials",
        "credentials.json",
        "gcp-credentials.json",
        "secrets.yaml",
        "secrets.py",
        "credentials.py",
        ".ssh",
        ".aws",
        "config.json",
        ".docker",
        ".kube",
        "config",
        "main.py",
        "env.py",
        "README.md",
        "key.py",
        "a.key",
        ".netrc",
    ]
)


@given(st.lists(NAMES, min_size=1, max_size=4), st.booleans())
def test_combined_match_agrees_with_pathspec(parts: list[str], is_dir: bool) -> None:
    matcher = SecretMatcher()
    assert matcher._patterns._combined is not None
    path = "/".join(parts)
    expected = bool(matcher._patterns.spec.match_file(path + ("/" if is_dir else "")))
    assert matcher.is_secret(path, is_dir) == expected


def test_defaults_and_additions() -> None:
    matcher = SecretMatcher(["*.sqlite", "!keep.pem"])
    assert matcher._patterns._combined is None  # a negation: pathspec decides
    for path in (
        ".env",
        "deploy/.env.production",
        "certs/server.pem",
        "home/.ssh/id_ed25519",
        "db.sqlite",
        "aws/credentials",
        "config/secrets.toml",
        "credentials.yml",
    ):
        assert matcher.is_secret(path), path
    for path in ("keep.pem", "src/env.py", "docs/keys.md", "app/secrets.py", "credentials.py"):
        assert not matcher.is_secret(path), path


def test_names_in_any_case_and_their_backups_are_secret() -> None:
    matcher = SecretMatcher(["Deploy/*.cfg"])
    for path in (
        ".ENV",
        "app/PROD.ENV",
        "Credentials.json",
        "conf/Secrets.yaml",
        ".env~",
        ".env.bak",
        ".env.swp",
        "#.env#",
        ".#.env",
        ".npmrc.orig",
        ".credentials.json.swp",
        "prod.env.bak~",
        "deploy/app.CFG",
    ):
        assert matcher.is_secret(path), path
    assert matcher.is_secret(".AWS", is_dir=True)
    assert matcher.is_secret("home/.SSH/config")
    for path in ("main.py~", ".main.py.swp", "secrets.py.bak", "README.md.orig", "Env.py"):
        assert not matcher.is_secret(path), path
