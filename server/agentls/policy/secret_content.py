"""Secret content: lines of a text that hold a key, a token or a password.

A file whose name says nothing (``config.py``, ``notes.txt``, an open buffer, a
command's output) can still hold ``AKIA…``, ``ghp_…``, ``password = "…"`` or a
private key. ``redact`` finds such lines with detect-secrets' plugins (run
in-process on the text: no files, no git, no network, none of its verification
requests) plus a few token formats it lacks, and hides them:

- a line with a token or an assignment keeps what comes before the secret value
  (``API_KEY = "``), the rest becomes ``[hidden by agentls: <kind>]``;
- a private key block (``BEGIN … PRIVATE KEY`` to ``END``, a PuTTY key) is hidden
  whole, line by line, so that line numbers stay right.

Fast path: one linear-time RE2 scan over the whole text finds the few lines that
may hold a secret (anchors derived from the plugins' own patterns); only those
lines go through the plugins (Python ``re``), in windows of bounded length and within
``SCAN_SECONDS``: a 4 MB file costs one pass, and lines built to make the plugins'
patterns crawl are hidden unchecked once the time is up.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from typing import Any

import re2
from detect_secrets.filters import heuristic
from detect_secrets.plugins import (
    artifactory,
    aws,
    azure_storage_key,
    basic_auth,
    cloudant,
    discord,
    github_token,
    gitlab_token,
    ibm_cloud_iam,
    ibm_cos_hmac,
    jwt,
    keyword,
    mailchimp,
    npm,
    openai,
    private_key,
    pypi_token,
    sendgrid,
    slack,
    softlayer,
    square_oauth,
    stripe,
    telegram_token,
    twilio,
)
from detect_secrets.plugins.base import BasePlugin, RegexBasedDetector
from detect_secrets.util.filetype import determine_file_type

MARK = "[hidden by agentls: {kind}]"
WINDOW = 1000  # characters of a long line given to the plugins at once
OVERLAP = 200  # shared by two windows: a token across their border is seen from its start
SCAN_SECONDS = 0.5  # checking lines one by one stops then; the rest are hidden unchecked
MAX_CHECKED_LINES = 5_000  # candidate lines checked one by one; the rest are hidden
KEY_BLOCK_LINES = 500  # a private key block without its END line ends here

_SECRET_TAGS = (
    "password|passphrase|passwd|secret|token|api[_-]?key|access[_-]?key|private[_-]?key"
    "|client[_-]?secret|auth[_-]?token"
)
_MARKUP = rf"(?i:<(?:[a-z0-9_.-]*[_.-])?(?:{_SECRET_TAGS})>[^<\s]{{4,}}</)"  # Maven, .NET

TOKEN_ASSIGNMENT = "token or credential"
_NAMED = (
    r"(?i:(?:token|auth|credential|secret|passw|api_?key|access_?key)[A-Za-z0-9_.\-]*[\"']?"
    r"\s*(?:=|:|=>)\s*[\"']?([A-Za-z0-9_\-+/.~]{16,}))"
)

# Token formats detect-secrets 1.5.0 does not know (RE2 and Python syntax alike).
EXTRA_PATTERNS: tuple[tuple[str, str], ...] = (
    ("github token", r"github_pat_[A-Za-z0-9_]{22,}"),
    ("google api key", r"AIza[0-9A-Za-z_\-]{35}"),
    ("google oauth token", r"ya29\.[0-9A-Za-z_\-]{20,}"),
    ("anthropic key", r"sk-ant-[A-Za-z0-9_\-]{20,}"),
    ("api key", r"sk-[A-Za-z0-9_\-]{32,}"),
    ("hugging face token", r"hf_[A-Za-z0-9]{30,}"),
    ("npm token", r"npm_[A-Za-z0-9]{36}"),
    ("slack token", r"xox[abposre]-[A-Za-z0-9\-]{10,}"),
    ("slack app token", r"xapp-[0-9]-[A-Za-z0-9\-]{10,}"),
    ("stripe key", r"(?:sk|rk)_(?:live|test)_[0-9A-Za-z]{16,}"),
    ("digitalocean token", r"do[opr]_v1_[a-f0-9]{64}"),
    ("shopify token", r"shp(?:at|ss|ca|pa)_[a-fA-F0-9]{32}"),
    ("vault token", r"hv[sbr]\.[A-Za-z0-9_\-]{24,}"),
    ("doppler token", r"dp\.(?:st|pt|sa|ct|scim|audit)\.[A-Za-z0-9_\-]{20,}"),
    ("grafana token", r"glsa_[A-Za-z0-9]{32}_[A-Fa-f0-9]{8}"),
    ("linear key", r"lin_api_[A-Za-z0-9]{40}"),
    ("age secret key", r"AGE-SECRET-KEY-1[0-9A-Z]{58}"),
    ("square token", r"sq0atp-[0-9A-Za-z\-_]{22}"),
    # Webhook URLs: whoever holds one posts as the bot.
    ("discord webhook", r"discord(?:app)?\.com/api/webhooks/[0-9]+/[A-Za-z0-9_\-]{30,}"),
    ("slack webhook", r"hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9_/\-]{20,}"),
    ("teams webhook", r"\.webhook\.office\.com/webhook(?:b2)?/[A-Za-z0-9@._/\-]{20,}"),
    ("teams webhook", r"\.logic\.azure\.com[:0-9]*/workflows/[^\s\"']*sig=[A-Za-z0-9_%\-]{20,}"),
    # Credentials in headers, command lines and markup (any kind of file).
    ("bearer token", r"(?i:\bbearer\s+[A-Za-z0-9._~+/=\-]{16,})"),
    ("basic authorization", r"(?i:authorization[\"']?\s*[:=]\s*[\"']?basic\s+[A-Za-z0-9+/]{8,}=*)"),
    ("password option", r"(?:\s-u\s*|--user[= ])['\"]?[^\s:'\"$@]+:[^\s'\"$@]{4,}"),
    ("password in markup", _MARKUP),
    (
        "password in markup",
        r"(?i:key=[\"'][^\"']*(?:pass|secret|token|api_?key)[^\"']*[\"']\s+value=[\"'][^\"'\s]{4,})",
    ),
    ("connection string password", r"(?i:(?:^|[;\"'\s])(?:password|pwd)\s*=\s*[^;\"'\s$]{4,};)"),
    # A value of 16+ letters and digits given to a name that says token, auth, ...
    # (detect-secrets' keyword list has no "token"); the value is judged by _plausible.
    (TOKEN_ASSIGNMENT, _NAMED),
    ("private key", r"BEGIN[A-Z ]{0,30} PRIVATE KEY"),
    ("private key", r"PuTTY-User-Key-File-[0-9]"),
)

_PLUGIN_CLASSES: tuple[type[BasePlugin], ...] = (
    artifactory.ArtifactoryDetector,
    aws.AWSKeyDetector,
    azure_storage_key.AzureStorageKeyDetector,
    basic_auth.BasicAuthDetector,
    cloudant.CloudantDetector,
    discord.DiscordBotTokenDetector,
    github_token.GitHubTokenDetector,
    gitlab_token.GitLabTokenDetector,
    ibm_cloud_iam.IbmCloudIamDetector,
    ibm_cos_hmac.IbmCosHmacDetector,
    jwt.JwtTokenDetector,
    keyword.KeywordDetector,
    mailchimp.MailchimpDetector,
    npm.NpmDetector,
    openai.OpenAIDetector,
    private_key.PrivateKeyDetector,
    pypi_token.PypiTokenDetector,
    sendgrid.SendGridDetector,
    slack.SlackDetector,
    softlayer.SoftlayerDetector,
    square_oauth.SquareOAuthDetector,
    stripe.StripeDetector,
    telegram_token.TelegramBotTokenDetector,
    twilio.TwilioKeyDetector,
)
# Not used: the high-entropy string plugins (every hash in a lock file, every base64
# test fixture would be hidden) and public IP addresses (no secret).

# Lookarounds RE2 lacks: dropping them only widens an anchor (more candidate lines).
_LOOKAROUND = re.compile(r"\(\?<?[=!](?:[^()]|\([^()]*\))*\)")


_CODE = (".ts", ".tsx", ".jsx", ".mjs", ".cjs", ".rs", ".rb", ".kt", ".kts", ".scala", ".lua")
_PLACEHOLDERS = frozenset({"none", "null", "nil", "true", "false", "undefined", "changeme"})


@dataclass(frozen=True)
class Hit:
    line: int  # 0-based
    kind: str  # what it looks like ("AWS Access Key", "private key", ...)
    column: int | None  # where the secret value starts (None: the whole line)


@dataclass(frozen=True)
class Redacted:
    text: str
    hits: tuple[Hit, ...]

    @property
    def lines(self) -> frozenset[int]:
        return frozenset(h.line for h in self.hits)


def _re2_options(case_sensitive: bool = True) -> Any:
    options = re2.Options()
    options.log_errors = False  # an unsupported pattern is an exception, not stderr noise
    options.case_sensitive = case_sensitive
    options.max_mem = 64 << 20
    return options


def _anchor(regex: re.Pattern[str]) -> str | None:
    """``regex`` as an RE2 pattern that matches wherever it does (or None)."""
    pattern = _LOOKAROUND.sub("", regex.pattern)
    pattern = re.sub(r"\{(\d+),(\d{4,})\}", r"{\1,}", pattern)  # RE2 caps counts at 1000
    if regex.flags & re.VERBOSE:  # no comments or spaces in RE2's syntax
        pattern = re.sub(r"(?m)\s+|(?<!\\)#.*$", "", pattern)
    candidate = f"(?i:{pattern})" if regex.flags & re.IGNORECASE else f"(?:{pattern})"
    try:
        re2.compile(candidate, _re2_options())
    except re2.error:
        return None
    return candidate


@cache
def _plugins() -> tuple[BasePlugin, ...]:
    return tuple(cls() for cls in _PLUGIN_CLASSES)


@cache
def _anchors() -> list[tuple[str, int]]:
    """RE2 patterns that match wherever a checker could, each with its checker: the
    index of a plugin in ``_plugins()``, or past them, of an extra pattern."""
    plugins = _plugins()
    anchors: list[tuple[str, int]] = []
    for index, plugin in enumerate(plugins):
        if isinstance(plugin, keyword.KeywordDetector):
            anchors.append(("(?i:(?:{}))".format("|".join(keyword.DENYLIST)), index))
        elif isinstance(plugin, RegexBasedDetector):
            for regex in plugin.denylist:
                anchor = _anchor(regex)
                if anchor is None:
                    raise RuntimeError(f"no RE2 anchor for {type(plugin).__name__}")
                anchors.append((anchor, index))
    anchors += [(f"(?:{p})", len(plugins) + i) for i, (_, p) in enumerate(EXTRA_PATTERNS)]
    return anchors


@cache
def _prefilter() -> Any:
    """One RE2 pattern matching every place a checker could (the whole-text pass)."""
    return re2.compile("|".join(a for a, _ in _anchors()), _re2_options())


@cache
def _dispatch() -> tuple[Any, tuple[int, ...]]:
    """An RE2 set of the anchors: which checkers a candidate line needs."""
    anchors = _anchors()
    found = re2.Set.SearchSet(_re2_options())
    for pattern, _ in anchors:
        found.Add(pattern)
    found.Compile()
    return found, tuple(owner for _, owner in anchors)


@cache
def _extras() -> tuple[tuple[str, re.Pattern[str]], ...]:
    return tuple((kind, re.compile(p)) for kind, p in EXTRA_PATTERNS)


def candidate_lines(text: str, limit: int | None = None) -> list[int]:
    """The 0-based lines where a secret may be (a superset; linear time). With
    ``limit``: at most that many, then every line after the last one found."""
    data = text.encode("utf-8", "surrogatepass")
    prefilter = _prefilter()
    lines: list[int] = []
    line = at = 0  # the line of byte ``at``
    while (match := prefilter.search(data, at)) is not None:
        start, end = match.span()
        line += data.count(b"\n", at, start)
        last = line + data.count(b"\n", start, end)
        lines += [n for n in range(line, last + 1) if not lines or n > lines[-1]]
        if limit is not None and len(lines) >= limit:  # too many: the rest, unread
            return lines + list(range(last + 1, text.count("\n") + 1))
        after = data.find(b"\n", end)  # one match per line is enough
        if after < 0:
            break
        line, at = last + 1, after + 1
    return lines


def _windows(line: str) -> Iterator[str]:
    if len(line) <= WINDOW:
        yield line
        return
    for start in range(0, len(line), WINDOW - OVERLAP):
        yield line[start : start + WINDOW]
        if start + WINDOW >= len(line):
            return


def _keyword_groups(path: str) -> list[Any]:
    """The keyword plugin's patterns for this kind of file: in code, a value in quotes
    (``password = "…"``, ``"api_key": "…"``); in config files and text of no known
    kind, also ``key = value`` and ``key: value`` as they are."""
    kind = determine_file_type(path or "output.txt")
    quoted = keyword.QUOTES_REQUIRED_DENYLIST_REGEX_TO_GROUP
    if path.endswith(_CODE):  # code detect-secrets has no kind for
        return [quoted]
    own = keyword.REGEX_BY_FILETYPE.get(kind)
    if own is None:  # text, .env-like, unknown: both
        return [quoted, keyword.CONFIG_DENYLIST_REGEX_TO_GROUP]
    return [own] if own is quoted else [own, quoted]


def _keyword_noise(secret: str, line: str, plugin: BasePlugin) -> bool:
    """detect-secrets' own filters of false keyword hits (``password = get_pw()``,
    ``${PASSWORD}``, ``"abcdef"``, uuids, ids)."""
    return (
        heuristic.is_sequential_string(secret)
        or heuristic.is_potential_uuid(secret)
        or heuristic.is_templated_secret(secret)
        or heuristic.is_prefixed_with_dollar_sign(secret)
        or _indirect(secret, line)
        or heuristic.is_not_alphanumeric_string(secret)
        or heuristic.is_likely_id_string(secret, line, plugin)
        or secret.lower() in _PLACEHOLDERS
        or secret.startswith("[hidden by agentls")
    )


_CALL = re.compile(r"[\w.\-]+\s*[\[(]")
_VALUE_CALL = re.compile(r"[\w.\-]+\s*[\[(].*[\])]")


def _indirect(secret: str, line: str) -> bool:
    """``secret = get_secret()`` or ``key = request.headers['apikey']``: the value is
    taken from a call or an index, not written. Judged on the text between the last
    ``=``/``:`` before the value and the value (detect-secrets' own filter looks at the
    whole line, and so took ``connect(host="db", password="…")`` for a call)."""
    if _VALUE_CALL.fullmatch(secret):
        return True  # password = get_secret() in a config-like text
    at = line.find(secret)
    if at < 0:
        return heuristic.is_indirect_reference(line)
    before = line[:at]
    tail = before[max(before.rfind("="), before.rfind(":")) + 1 :]
    return bool(_CALL.search(tail))


def _plausible(value: str) -> bool:
    """A value that looks generated: letters and digits mixed, not a sequence."""
    return (
        any(c.isdigit() for c in value)
        and sum(c.isalpha() for c in value) >= 4
        and not heuristic.is_sequential_string(value)
        and not heuristic.is_potential_uuid(value)
        and not ("/" in value and ("." in value or value.count("/") >= 2))  # a path
    )


def _found(line: str, keyword_groups: list[Any]) -> Iterator[tuple[str, str]]:
    """(kind, secret value) of each secret in one line."""
    found, owners = _dispatch()
    matched = found.Match(line.encode("utf-8", "surrogatepass")) or []
    checkers = sorted({owners[i] for i in matched})
    plugins, extras = _plugins(), _extras()
    for piece in _windows(line):
        for index in checkers:
            if index >= len(plugins):
                kind, regex = extras[index - len(plugins)]
                for match in regex.finditer(piece):
                    if kind != TOKEN_ASSIGNMENT:
                        yield kind, match.group(0)
                    elif _plausible(match.group(1)):
                        yield kind, match.group(1)
                continue
            plugin = plugins[index]
            if isinstance(plugin, keyword.KeywordDetector):
                for groups in keyword_groups:
                    for value in plugin.analyze_string(piece, denylist_regex_to_group=groups):
                        if value and not _keyword_noise(value, piece, plugin):
                            yield "password or key", value
            else:
                for value in plugin.analyze_string(piece):
                    if value:
                        yield str(plugin.secret_type), value


def _is_key_start(kind: str) -> bool:
    return kind.lower() == "private key"


def scan(text: str, path: str = "") -> list[Hit]:
    """Every line of ``text`` that holds a secret (``path``: what kind of file it is,
    for the keyword patterns; "" when unknown, as for a command's output)."""
    candidates = candidate_lines(text, MAX_CHECKED_LINES)
    if not candidates:
        return []
    lines = text.split("\n")
    hits: dict[int, Hit] = {}
    groups = _keyword_groups(path)
    deadline = time.monotonic() + SCAN_SECONDS
    for checked, n in enumerate(candidates):
        if n >= len(lines) or n in hits:
            continue
        line = lines[n]
        if checked >= MAX_CHECKED_LINES:  # too many to check one by one: hidden unread
            hits[n] = Hit(n, "not checked: too many possible secrets above", None)
            continue
        if time.monotonic() > deadline:  # (a line built to make the patterns crawl)
            hits[n] = Hit(n, "not checked: the secret check ran out of time", None)
            continue
        best: tuple[str, int] | None = None  # the kind and column of the first secret
        for kind, value in _found(line, groups):
            if _is_key_start(kind):
                for m in _key_block(lines, n):
                    hits[m] = Hit(m, "private key", None)
                best = None
                break
            start = max(line.find(value), 0)
            if best is None or start < best[1]:
                best = (kind, start)
        if best is not None and n not in hits:
            hits[n] = Hit(n, best[0], best[1])
    return [hits[n] for n in sorted(hits)]


def _key_block(lines: list[str], start: int) -> range:
    """The lines of the private key that begins on line ``start``."""
    if "END" in lines[start].split("PRIVATE KEY", 1)[-1] or "\\n" in lines[start]:
        return range(start, start + 1)  # a whole key on one line (JSON, escaped)
    end = min(len(lines), start + KEY_BLOCK_LINES)
    for n in range(start + 1, end):
        if "-----END" in lines[n] or ("END " in lines[n] and "PRIVATE KEY" in lines[n]):
            return range(start, n + 1)
        if lines[n].startswith("Private-MAC"):
            return range(start, n + 1)
    return range(start, end)


def redact(text: str, path: str = "") -> Redacted:
    """``text`` with every secret hidden (see the module doc); the same text object when
    nothing was found."""
    hits = scan(text, path)
    if not hits:
        return Redacted(text, ())
    lines = text.split("\n")
    for hit in hits:
        line = lines[hit.line]
        mark = MARK.format(kind=hit.kind)
        if hit.column is None or hit.column == 0:
            lines[hit.line] = line[: len(line) - len(line.lstrip())] + mark
        else:
            lines[hit.line] = line[: hit.column] + mark
    return Redacted("\n".join(lines), tuple(hits))


def redact_text(text: str, path: str = "") -> str:
    return redact(text, path).text


def has_secret_content(text: str, path: str = "") -> bool:
    return bool(scan(text, path))
