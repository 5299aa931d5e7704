"""The settings tree of the public contract, parsed without ever failing.

One typed tree with defaults. ``parse_settings`` takes the raw JSON object the
editor sent (``initializationOptions`` or the ``agentls`` section of
``workspace/configuration``) and returns the settings plus one warning per bad
value; a bad value falls back to its default. Keys are camelCase on the wire.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from typing import Any, Literal

Approval = Literal["read-only", "ask", "auto-edit", "full-auto"]


def _positive(minimum: float = 1) -> dict[str, Any]:
    return {"min": minimum}


@dataclass(frozen=True, kw_only=True)
class ModelSettings:
    base_url: str | None = None
    """OpenAI-compatible endpoint; default: env OPENAI_BASE_URL, else OpenAI."""
    name: str | None = None
    """Model name; default: env AGENTLS_MODEL, else a current OpenAI model."""
    api_key_env: str = "OPENAI_API_KEY"
    """Name of the environment variable that holds the API key."""
    api: Literal["chat", "responses"] = "chat"
    """"chat" = Chat Completions (Ollama, vLLM, llama.cpp speak it); "responses" = OpenAI's
    Responses API."""
    context_window: int = field(default=128_000, metadata=_positive(1024))
    max_output_tokens: int = field(default=4096, metadata=_positive(16))
    timeout: float = field(default=60.0, metadata=_positive(0.1))
    """Seconds to wait for the model's next byte before giving up."""
    max_retries: int = field(default=3, metadata=_positive(0))
    """Retries (with backoff) on 429, 5xx and connection errors before the first byte."""
    temperature: float | None = None
    input_cost_per_mtok: float | None = None
    """USD per million input tokens, for the cost shown per task and agent.maxCostUsd."""
    output_cost_per_mtok: float | None = None
    """USD per million output tokens."""


@dataclass(frozen=True, kw_only=True)
class AgentSettings:
    max_steps: int = field(default=30, metadata=_positive(1))
    max_cost_usd: float | None = None
    """Cost budget of one task (needs model.inputCostPerMtok / outputCostPerMtok)."""
    max_tokens: int | None = field(default=2_000_000, metadata=_positive(1000))
    """Token budget (input + output, its explorers' included) of one task; null: none."""
    max_seconds: float = field(default=1800.0, metadata=_positive(1))
    """Wall-time limit of one task."""
    approval: Approval = "ask"
    allow_paths: list[str] = field(default_factory=list)
    """Gitignore-style globs of workspace files the agent may write without asking."""
    deny_paths: list[str] = field(default_factory=list)
    """Globs of files the agent may never write (before any allow)."""
    allow_commands: list[str] = field(default_factory=list)
    """Command prefixes (e.g. "pytest", "npm test") that run without asking, in the sandbox."""
    deny_commands: list[str] = field(default_factory=list)
    """Command prefixes never run (e.g. "git push"), checked in every part of a command."""
    protected_paths: list[str] = field(default_factory=list)
    """More globs of files whose writes ask in every mode (.vscode/, .envrc, .git* … always)."""
    ask_timeout: float = field(default=300.0, metadata=_positive(1))
    """Seconds to wait for the user's answer to an approval or a plan; no answer = deny."""
    subagent_max_steps: int = field(default=12, metadata=_positive(1))
    """Step budget of each read-only explorer started by spawn_subagent."""
    max_explorers_per_turn: int = field(default=4, metadata=_positive(0))
    """spawn_subagent calls run from one model reply; the model is told the rest did not run."""
    max_explorers: int = field(default=12, metadata=_positive(0))
    """Explorers one task may start in all."""
    compact_at: float = field(default=0.8, metadata={"min": 0.1, "max": 0.95})
    """Fraction of model.contextWindow at which old turns are summarized."""


@dataclass(frozen=True, kw_only=True)
class ContextSettings:
    max_tokens: int = field(default=8000, metadata=_positive(256))
    secret_patterns: list[str] = field(default_factory=list)
    """More gitignore-style patterns of files never read, listed or put in a prompt."""


@dataclass(frozen=True, kw_only=True)
class EditSettings:
    review: bool = False
    on_cancel: Literal["revert", "keep"] = "revert"
    """After a cancel or failure: restore the original text, or keep the finished lines."""
    apply_timeout: float = field(default=10.0, metadata=_positive(0.1))
    """Seconds to wait for the editor to report an applied edit (didChange)."""


@dataclass(frozen=True, kw_only=True)
class VerifySettings:
    commands: list[str] = field(default_factory=list)


@dataclass(frozen=True, kw_only=True)
class SandboxSettings:
    """The command sandbox (bubblewrap). Give these in the user's or the machine's
    settings: a path listed here becomes readable by every command."""

    read_only_paths: list[str] = field(default_factory=list)
    """More folders commands may read (toolchains outside the system folders), absolute or
    starting with ~; secret files in them stay masked."""
    git: Literal["hidden", "read-only"] = "hidden"
    """What commands see of every repository's .git: "hidden" (an empty folder: git does
    not work, no history is readable) or "read-only" (history readable)."""
    max_processes: int = field(default=256, metadata=_positive(8))
    """Processes a command may run at once (RLIMIT_NPROC, and a pids cgroup where one can
    be made: the limit that holds for root)."""
    max_memory_mb: int = field(default=4096, metadata=_positive(64))
    """Memory (RLIMIT_DATA) of each process of a command, in MiB."""
    max_file_mb: int = field(default=1024, metadata=_positive(1))
    """Largest file a command may write (RLIMIT_FSIZE), in MiB."""
    tmp_mb: int = field(default=512, metadata=_positive(1))
    """Size of the command's own /tmp and home folder (each a tmpfs), in MiB."""
    max_write_mb: int = field(default=16384, metadata=_positive(1))
    """Disk space a command may use on the workspace's file system (watched while it runs:
    past this, or under 256 MiB free, it is stopped), in MiB."""
    writable_envs: bool = False
    """Whether commands may change the workspace's virtual environments (folders with
    pyvenv.cfg or conda-meta/) and node_modules folders. Off: read-only to commands (code
    there runs on your machine later, when you run python or the editor starts a tool);
    turn on for a command that installs packages."""


@dataclass(frozen=True, kw_only=True)
class Settings:
    model: ModelSettings = field(default_factory=ModelSettings)
    agent: AgentSettings = field(default_factory=AgentSettings)
    context: ContextSettings = field(default_factory=ContextSettings)
    edits: EditSettings = field(default_factory=EditSettings)
    verify: VerifySettings = field(default_factory=VerifySettings)
    sandbox: SandboxSettings = field(default_factory=SandboxSettings)


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)


def parse_settings(raw: object) -> tuple[Settings, list[str]]:
    """Settings from a raw JSON value, and a warning for every value not taken."""
    warnings: list[str] = []
    if isinstance(raw, dict) and isinstance(raw.get("agentls"), dict):
        raw = raw["agentls"]
    if raw is None:
        return Settings(), warnings
    if not isinstance(raw, dict):
        warnings.append(f"settings must be an object, got {type(raw).__name__}; using defaults")
        return Settings(), warnings
    return _parse_dataclass(Settings, raw, "", warnings), warnings


def _parse_dataclass(cls: type[Any], raw: dict[str, Any], path: str, warnings: list[str]) -> Any:
    hints = typing.get_type_hints(cls)
    values: dict[str, Any] = {}
    known = set()
    for f in dataclasses.fields(cls):
        key = camel(f.name)
        known.add(key)
        if key not in raw:
            continue
        where = f"{path}{key}"
        hint = hints[f.name]
        value = raw[key]
        if isinstance(hint, type) and dataclasses.is_dataclass(hint):
            if isinstance(value, dict):
                values[f.name] = _parse_dataclass(hint, value, where + ".", warnings)
            elif value is not None:
                warnings.append(f"{where} must be an object; using defaults")
            continue
        ok, parsed, expected = _convert(hint, value, f.metadata)
        if ok:
            values[f.name] = parsed
        else:
            default = _default(f)
            warnings.append(f"{where}: {value!r} is not {expected}; using {default!r}")
    for key in raw:
        if key not in known and key != "agentls":
            warnings.append(f"unknown setting {path}{key} (ignored)")
    return cls(**values)


def _default(f: dataclasses.Field[Any]) -> Any:
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return f.default


def _convert(hint: Any, value: Any, meta: Any) -> tuple[bool, Any, str]:
    """(accepted?, converted value, description of what was expected)."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        if value is None:
            return True, None, "null"
        return _convert(args[0], value, meta)
    if origin is Literal:
        choices = typing.get_args(hint)
        return value in choices, value, "one of " + ", ".join(repr(c) for c in choices)
    if origin is list:
        ok = isinstance(value, list) and all(isinstance(v, str) for v in value)
        return ok, list(value) if ok else None, "a list of strings"
    minimum = meta.get("min") if meta else None
    if hint is bool:
        return isinstance(value, bool), value, "true or false"
    if hint is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
        ok = ok and (minimum is None or value >= minimum)
        return ok, value, "an integer" + (f" >= {minimum}" if minimum is not None else "")
    if hint is float:
        maximum = meta.get("max") if meta else None
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        ok = ok and (minimum is None or value >= minimum)
        ok = ok and (maximum is None or value <= maximum)
        bounds = f" >= {minimum}" if minimum is not None else ""
        bounds += f" and <= {maximum}" if maximum is not None else ""
        return ok, float(value) if ok else None, "a number" + bounds
    if hint is str:
        return isinstance(value, str) and value != "", value, "a non-empty string"
    return False, None, str(hint)
