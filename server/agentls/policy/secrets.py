"""Secrets, by name and by content: never read, listed, searched or put in a prompt.

By name: patterns are gitignore-style (``pathspec``), matched against
workspace-relative paths at any depth. The defaults cover environment files,
private keys and certificates and the usual credential stores; settings
(``context.secretPatterns``) may add more. A file named so is refused whole.

By content (``secret_content``, detect-secrets' plugins): any other text (a file,
a buffer, a snippet, a command's output) has the lines that hold a key, a token or
a password hidden (``redact_secrets``) before a model sees it. For commands, the
sandbox asks ``file_has_secret_content`` which files to mask.
"""

from __future__ import annotations

import codecs
import os
import stat
import threading
import zlib
from collections.abc import Iterable, Sequence
from pathlib import Path

from agentls.policy.path_patterns import PathPatterns
from agentls.policy.secret_content import Redacted, has_secret_content, redact, scan
from agentls.policy.secret_pool import check_texts
from agentls.policy.secret_verdicts import VerdictStore, verdict_key

__all__ = [
    "DEFAULT_SECRET_PATTERNS",
    "Redacted",
    "SecretContentFiles",
    "SecretMatcher",
    "file_has_secret_content",
    "has_secret_content",
    "redact",
    "redact_secrets",
    "scan",
]

SCAN_FILE_BYTES = 64 << 20  # a bigger file is masked from commands unread
_CHUNK = 1 << 20

# Data files named "secrets" or "credentials" hold them; modules of that name are code.
_DATA = ("json", "yaml", "yml", "toml", "ini", "cfg", "conf", "env", "txt", "xml", "properties")

DEFAULT_SECRET_PATTERNS: tuple[str, ...] = (
    # Environment files: .env, .env.local, .env-production, .env_local, prod.env, .envrc,
    # a folder of them (.envs/.production/.django), wrangler's .dev.vars.
    ".env",
    ".env.*",
    ".env-*",
    ".env_*",
    ".envrc",
    "*.env",
    ".envs/",
    ".dev.vars*",
    # Keys and certificates.
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
    "*.kdbx",
    "*.ovpn",
    "id_rsa*",
    "id_dsa*",
    "id_ecdsa*",
    "id_ed25519*",
    "*.ppk",
    "*.keytab",  # Kerberos
    "*.keychain",  # macOS
    "*.keychain-db",
    # Credential stores of tools.
    ".netrc",
    "_netrc",
    ".pgpass",
    "pgpass",
    ".my.cnf",
    ".mylogin.cnf",
    ".p4tickets",
    ".p4tickets.txt",
    ".p4enviro",
    ".npmrc",
    "npmrc",  # nvm/volta's global versions/node/V/etc/npmrc, /etc/npmrc
    ".yarnrc",
    "yarnrc",
    ".yarnrc.yml",
    ".pypirc",
    ".git-credentials",
    ".htpasswd",
    "htpasswd",
    "**/.m2/settings.xml",  # Maven's server passwords
    "settings-security.xml",
    "**/.gradle/gradle.properties",
    # Shell and REPL histories: passwords typed on command lines.
    ".*_history",
    ".*_history.*",
    ".histfile",
    ".lesshst",
    ".vault-token",
    ".vault_pass*",
    ".s3cfg",
    ".boto",
    ".dockercfg",
    ".terraformrc",
    "terraform.rc",
    "credentials.tfrc.json",
    ".rclone.conf",
    "rclone.conf",
    "sftp-config.json",
    ".ftpconfig",
    "auth.json",  # composer
    "local.settings.json",  # Azure Functions
    "kubeconfig",
    "kubeconfig.*",
    "*.kubeconfig",
    "credentials",
    *(f"credentials.{ext}" for ext in _DATA),
    "*credentials*.json",
    *(f"secret.{ext}" for ext in _DATA),  # not secret.py: source code is no secret
    *(f"secrets.{ext}" for ext in _DATA),
    "*secret*.json",
    "*secret*.yaml",
    "*secret*.yml",
    "*secret*.toml",
    ".secret*",
    "*.secret",
    "*.secrets",
    "*[sS]ervice[aA]ccount*.json",  # serviceAccountKey.json
    "*[sS]ervice[-_][aA]ccount*.json",
    "token.json",
    "*.tfstate",
    "*.tfstate.*",
    "*.tfvars",
    "*.tfvars.json",
    # Folders of credentials, at any depth.
    ".aws/",
    ".ssh/",
    ".gnupg/",
    ".azure/",
    ".kube/",
    ".terraform.d/",
    ".docker/",
    "**/.config/gh/",
    "**/.config/hub",
    "**/.config/gcloud/",
    "**/.config/op/",
)


# Names editors and tools give a copy of a file: Emacs's ``name~`` and ``#name#``,
# Vim's swap files (``.name.swp``), and the usual backup endings. A copy of a secret
# file is one too.
_BACKUP_ENDINGS = ("~", ".bak", ".backup", ".old", ".orig", ".save", ".sav", ".tmp", ".copy")
_SWAP_ENDINGS = (".swp", ".swo", ".swn", ".swx")


def _original_names(name: str) -> set[str]:
    """``name`` and the names it is a backup, swap or autosave copy of."""
    found = {name}
    todo = [name]
    while todo and len(found) < 32:
        current = todo.pop()
        later = []
        if len(current) > 2 and current.startswith("#") and current.endswith("#"):
            later.append(current[1:-1])
        if current.startswith(".#"):
            later.append(current[2:])
        for ending in _BACKUP_ENDINGS + _SWAP_ENDINGS:
            if current.endswith(ending) and len(current) > len(ending):
                later.append(current[: -len(ending)])
                if ending in _SWAP_ENDINGS and current.startswith("."):
                    later.append(current[1 : -len(ending)])  # Vim: .name.swp of name
        for candidate in later:
            if candidate and candidate not in found:
                found.add(candidate)
                todo.append(candidate)
    return found


class SecretMatcher:
    """Matches lower-cased paths (a case-insensitive file system opens ``.env`` as
    ``.ENV``; ``Credentials.json`` is what Windows tools write), the last name also
    with backup and swap endings taken off (``.env~``, ``#.env#``, ``.npmrc.bak``)."""

    def __init__(self, extra: Iterable[str] = ()) -> None:
        self.patterns = (*DEFAULT_SECRET_PATTERNS, *extra)
        self._patterns = PathPatterns(p.lower() for p in self.patterns)

    def is_secret(self, relative_path: str, is_dir: bool = False) -> bool:
        path = relative_path.replace("\\", "/").strip("/").lower()
        folder, _, name = path.rpartition("/")
        prefix = folder + "/" if folder else ""
        return any(
            self._matches(prefix + original + ("/" if is_dir else ""))
            for original in _original_names(name)
        )

    def _matches(self, path: str) -> bool:
        return self._patterns.matches(path)

    def and_denied(self, deny_paths: Sequence[str]) -> SecretMatcher:
        """This matcher, also matching what ``agent.denyPaths`` names (as the policy
        matches it: gitignore-style, case as written): for the command sandbox, which
        masks both alike. ``self`` when there is nothing to add."""
        return DeniedOrSecret(self, deny_paths) if deny_paths else self


class DeniedOrSecret(SecretMatcher):
    """A secret, or a path the user's ``agent.denyPaths`` names."""

    def __init__(self, secrets: SecretMatcher, deny_paths: Sequence[str]) -> None:
        # Not SecretMatcher's __init__: the secrets are the given matcher's.
        self.secrets = secrets
        self.deny_paths = tuple(deny_paths)
        self._denied = PathPatterns(self.deny_paths)
        # Scans of folders outside the workspace are remembered by ``patterns``.
        self.patterns = (*secrets.patterns, *(f"agent.denyPaths:{p}" for p in self.deny_paths))

    def is_secret(self, relative_path: str, is_dir: bool = False) -> bool:
        if self.secrets.is_secret(relative_path, is_dir):
            return True
        path = relative_path.replace("\\", "/").strip("/") + ("/" if is_dir else "")
        return self._denied.matches(path)


def redact_secrets(text: str, path: str = "") -> str:
    """``text`` with every line that holds a secret hidden (the one check before any
    file text, buffer, snippet or tool output reaches a model). ``path``: the file it
    comes from, if any (its kind picks the keyword patterns)."""
    return redact(text, path).text


# Byte order marks (UTF-32's first: its little-endian mark starts with UTF-16's).
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
GIT_HEAD_BYTES = 256  # read of a file to tell git history by its first bytes
# The first bytes of git's history outside a repository: bundles, packs, pack indexes.
GIT_DATA_MAGIC = (
    b"# v2 git bundle",
    b"# v3 git bundle",
    b"PACK\0\0\0\x02",
    b"PACK\0\0\0\x03",
    b"\xfftOc\0\0\0\x02",
)


def decode_text(data: bytes) -> str | None:
    """The text of ``data``: UTF-32 or UTF-16 when a byte order mark or the NUL bytes
    of mostly-ASCII text in those encodings say so (what Windows PowerShell writes),
    else UTF-8 (bytes that are none replaced) when its first 8 kB hold no NUL byte;
    None for binary data."""
    for bom, codec in _BOMS:
        if data.startswith(bom):
            return _decode(data[len(bom) :], codec)
    head = data[:8192]
    if b"\0" not in head:
        return data.decode("utf-8", "replace")
    wide = _wide_encoding(head)
    return None if wide is None else _decode(data, wide)


def _decode(data: bytes, codec: str) -> str:
    width = 4 if "32" in codec else 2 if "16" in codec else 1
    return data[: len(data) - len(data) % width].decode(codec, "replace")


def _wide_encoding(head: bytes) -> str | None:
    """UTF-16/32 told by where the NUL bytes are (no byte order mark)."""
    size = len(head) - len(head) % 4
    if size < 8:
        return None
    nul = [head[i:size:4].count(0) / (size // 4) for i in range(4)]
    if nul[0] < 0.1 and min(nul[1:]) > 0.9:
        return "utf-32-le"
    if nul[3] < 0.1 and min(nul[:3]) > 0.9:
        return "utf-32-be"
    odd, even = (nul[1] + nul[3]) / 2, (nul[0] + nul[2]) / 2
    if odd > 0.7 and even < 0.1:
        return "utf-16-le"
    if even > 0.7 and odd < 0.1:
        return "utf-16-be"
    return None


_LOOSE_KINDS = (b"blob ", b"commit ", b"tree ", b"tag ")


def is_git_data(head: bytes) -> bool:
    """Whether bytes (the first ``GIT_HEAD_BYTES`` of a file) start like a git bundle,
    pack or pack index, or are a loose object (zlib data that inflates to ``blob N``,
    ``commit N``, ...: a copied ``objects/`` folder is history too)."""
    if head.startswith(GIT_DATA_MAGIC):
        return True
    if len(head) < 2 or head[0] & 0x0F != 8 or (head[0] << 8 | head[1]) % 31:
        return False  # no zlib stream
    try:
        start = zlib.decompressobj().decompress(head, 16)
    except zlib.error:
        return False
    return start.startswith(_LOOSE_KINDS)


def file_has_secret_content(path: Path) -> bool:
    """Whether the file at ``path`` holds secret content (for the sandbox: mask it from
    commands). Read in 1 MB chunks (split at line ends); a file bigger than
    ``SCAN_FILE_BYTES`` or unreadable counts as holding one; a binary file is scanned
    like text (a key inside a keystore dump still shows)."""
    try:
        if path.stat().st_size > SCAN_FILE_BYTES:
            return True
        with path.open("rb") as f:
            head = f.read(8192)
            if b"\0" in head or head.startswith(tuple(b for b, _ in _BOMS)):
                text = decode_text(head + f.read())  # UTF-16/32 (or binary: as bytes)
                if text is not None:
                    return has_secret_content(text, str(path))
            f.seek(0)
            rest = b""
            while True:
                chunk = f.read(_CHUNK)
                if not chunk:
                    text = rest.decode("utf-8", "replace")
                    return bool(rest) and has_secret_content(text, str(path))
                data = rest + chunk
                cut = data.rfind(b"\n") + 1
                if cut == 0 and len(data) < 4 * _CHUNK:
                    rest = data  # no line end yet: read on
                    continue
                cut = cut or len(data)  # a line of 4 MB: scanned in parts
                if has_secret_content(data[:cut].decode("utf-8", "replace"), str(path)):
                    return True
                rest = data[cut:]
    except OSError:
        return True


class SecretContentFiles:
    """Which files of a workspace hold secret content, for the command sandbox to mask
    before each command: ``file_has_secret_content`` per file, remembered by the file's
    (inode, size, mtime, ctime) so that only files changed since are read again."""

    def __init__(
        self,
        root: Path,
        limit: int = 100_000,
        *,
        max_bytes: int | None = None,
        verdicts: VerdictStore | None = None,
        git_data: bool = False,
    ) -> None:
        """``max_bytes``: files bigger than that, and binary files (a NUL byte in their
        first 8 kB), are not read and count as holding none (None: every file is read,
        and one bigger than ``SCAN_FILE_BYTES`` counts as holding one). ``verdicts``:
        the verdicts of earlier runs, by content (``secret_verdicts.py``), for files
        up to ``max_bytes``. ``git_data``: a file that starts like git history (a
        bundle, a pack: ``GIT_DATA_MAGIC``) holds one, whatever its size (the
        sandbox's ``git: "hidden"``). Text in UTF-16/32 is checked as text.

        The inodes of files found holding a secret are remembered (``remembered``):
        moved (renamed) where content is not checked, such a file is still one."""
        self.root = root
        self.git_data = git_data
        self._secret_inodes: set[int] = set()
        self.limit = limit
        self.max_bytes = max_bytes
        self.verdicts = verdicts
        self._known: dict[str, tuple[tuple[int, int, int, int], bool]] = {}
        self._lock = threading.Lock()

    def holding_secrets(
        self, relatives: Iterable[str], stats: dict[str, os.stat_result] | None = None
    ) -> list[str]:
        """Those of ``relatives`` (workspace-relative files) that hold a secret.
        ``stats``: their ``lstat`` where the caller has it already."""
        found = []
        todo: dict[str, tuple[int, int, int, int]] = {}
        for relative in relatives:
            st = (stats or {}).get(relative)
            try:
                st = st or os.stat(self.root / relative, follow_symlinks=False)
            except OSError:
                continue
            # The change time too: a command sets the size and mtime back (``touch -d``),
            # never the ctime.
            stamp = (st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
            with self._lock:
                known = self._known.get(relative)
            if known is None or known[0] != stamp:
                todo[relative] = stamp
            elif known[1]:
                found.append(relative)
        for relative, holds in self._check(todo).items():
            inode = todo[relative][0]
            if not holds and self.max_bytes is not None and todo[relative][1] > self.max_bytes:
                holds = inode in self._secret_inodes  # too big to read: as it was
            with self._lock:
                if len(self._known) >= self.limit:
                    self._known.clear()
                self._known[relative] = (todo[relative], holds)
                if holds:
                    self._secret_inodes.add(inode)
                else:
                    self._secret_inodes.discard(inode)
            if holds:
                found.append(relative)
        if self.verdicts is not None:
            self.verdicts.save()
        return sorted(found)

    def remembered(self, files: Iterable[tuple[str, int]]) -> list[str]:
        """Of ``files`` ((relative path, inode), not checked for content: in package
        folders), those whose inode held a secret when last checked (a file a
        command moved there: ``mv app vendor/app``)."""
        with self._lock:
            return sorted(r for r, inode in files if inode in self._secret_inodes)

    def _check(self, todo: dict[str, tuple[int, int, int, int]]) -> dict[str, bool]:
        """Each file of ``todo``: whether it holds a secret. The texts no verdict is
        known for are checked in worker processes when there are many
        (``secret_pool.py``), else here."""
        out: dict[str, bool] = {}
        unknown: dict[str, tuple[str, str]] = {}  # relative -> (verdict key, text)
        for relative, stamp in todo.items():
            path = self.root / relative
            if self.max_bytes is None or stamp[1] > self.max_bytes:
                out[relative] = self._holds(path, stamp[1])
                continue
            data = _read(path, self.max_bytes)
            if data is not None and self.git_data and is_git_data(data[:GIT_HEAD_BYTES]):
                out[relative] = True
                continue
            text = decode_text(data) if data is not None and len(data) <= self.max_bytes else None
            if data is None or text is None:
                out[relative] = self._holds(path, stamp[1])
                continue
            key = verdict_key(relative, data)
            known = self.verdicts.get(key) if self.verdicts is not None else None
            if known is not None:
                out[relative] = known
            else:
                unknown[relative] = (key, text)
        names = list(unknown)
        texts = [unknown[r][1] for r in names]
        paths = [str(self.root / r) for r in names]
        for relative, holds in zip(names, check_texts(texts, paths), strict=True):
            out[relative] = holds
            if self.verdicts is not None:
                self.verdicts.put(unknown[relative][0], holds)
        return out

    def _holds(self, path: Path, size: int) -> bool:
        """A file ``_check`` does not read as text: with no ``max_bytes``, or too big,
        unreadable (counts as holding one), grown past ``max_bytes`` since its stat
        (checked whole) or binary (holds none); git history with ``git_data``."""
        if self.git_data and is_git_data(_head(path)):
            return True
        if self.max_bytes is None:
            return file_has_secret_content(path)
        if size > self.max_bytes:
            return False
        data = _read(path, self.max_bytes)
        if data is None:
            return True
        return len(data) > self.max_bytes and file_has_secret_content(path)


def _head(path: Path) -> bytes:
    """The first ``GIT_HEAD_BYTES`` of a regular file (b"" when it cannot be read so)."""
    data = _read(path, GIT_HEAD_BYTES - 1)
    return data or b""


def _read(path: Path, limit: int) -> bytes | None:
    """Up to ``limit + 1`` bytes of a regular file reached through no final link (a
    command may swap the file for a link or a fifo after the scan listed it); None
    when it cannot be read so."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return None
    with os.fdopen(fd, "rb") as file:
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                return None
            return file.read(limit + 1)
        except OSError:
            return None
