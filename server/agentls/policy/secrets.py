"""Files that hold secrets: never read, listed, searched or put in a prompt.

Patterns are gitignore-style (``pathspec``), matched against workspace-relative
paths. The defaults cover environment files, private keys and certificates and
the usual credential stores; settings may add more.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import pathspec

# Data files named "secrets" or "credentials" hold them; modules of that name are code.
_DATA = ("json", "yaml", "yml", "toml", "ini", "cfg", "conf", "env", "txt", "xml", "properties")

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
    *(f"credentials.{ext}" for ext in _DATA),
    "*credentials*.json",
    *(f"secrets.{ext}" for ext in _DATA),  # not secrets.py: source code is no secret
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
        # Without negations ("!pattern") a path is a secret when any pattern matches:
        # one combined regular expression instead of a loop over every pattern.
        regexes = [getattr(p, "regex", None) for p in self._spec.patterns]
        includes = [getattr(p, "include", None) for p in self._spec.patterns]
        self._combined: re.Pattern[str] | None = None
        if all(r is not None for r in regexes) and all(i is True for i in includes):
            parts = [r.pattern.replace("(?P<ps_d>", "(") for r in regexes if r is not None]
            self._combined = re.compile("|".join(f"(?:{p})" for p in parts))

    def is_secret(self, relative_path: str, is_dir: bool = False) -> bool:
        path = relative_path.replace("\\", "/").strip("/")
        if is_dir:
            path += "/"
        if self._combined is not None:
            return self._combined.match(path) is not None
        return bool(self._spec.match_file(path))
