"""Files that hold secrets: never read, listed, searched or put in a prompt.

Patterns are gitignore-style (``pathspec``), matched against workspace-relative
paths. The defaults cover environment files, private keys and certificates and
the usual credential stores; settings may add more.
"""

from __future__ import annotations

from collections.abc import Iterable

import pathspec

DEFAULT_SECRET_PATTERNS: tuple[str, ...] = (
    ".env",
    ".env.*",
    "*.env",
    ".envrc",
    "*.pem",
    "*.key",
    "*.p12",
    "*.pfx",
    "*.jks",
    "*.keystore",
    "*.crt",
    "*.cer",
    "*.der",
    "*.gpg",
    "*.asc",
    "id_rsa*",
    "id_dsa*",
    "id_ecdsa*",
    "id_ed25519*",
    "*.ppk",
    ".netrc",
    ".pgpass",
    ".npmrc",
    ".pypirc",
    ".git-credentials",
    ".htpasswd",
    "credentials",
    "credentials.*",
    "*credentials*.json",
    "secrets.*",
    "*.secret",
    "*.secrets",
    ".aws/",
    ".ssh/",
    ".gnupg/",
    ".docker/config.json",
    ".kube/config",
    "*.tfstate",
    "*.tfvars",
)


class SecretMatcher:
    def __init__(self, extra: Iterable[str] = ()) -> None:
        self.patterns = (*DEFAULT_SECRET_PATTERNS, *extra)
        self._spec = pathspec.GitIgnoreSpec.from_lines(self.patterns)

    def is_secret(self, relative_path: str, is_dir: bool = False) -> bool:
        path = relative_path.replace("\\", "/").strip("/")
        if is_dir:
            path += "/"
        return self._spec.match_file(path)
