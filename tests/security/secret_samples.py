"""Generated secrets for the attack tests: credential file names, and secret content in
many token formats, each with a fresh random part (the part that must never reach a
model)."""

from __future__ import annotations

import secrets
import string
from dataclasses import dataclass

ALNUM = string.ascii_letters + string.digits
UPPER = string.ascii_uppercase + string.digits
LOWER = string.ascii_lowercase + string.digits
HEX = "0123456789abcdef"

# The names issue 12 found read by read_file, and more of their kind.
CREDENTIAL_NAMES = (
    ".env-production",
    ".env_local",
    ".envs/.production/.django",
    ".secrets.toml",
    ".yarnrc.yml",
    "auth.json",
    ".vault-token",
    "serviceAccountKey.json",
    ".dev.vars",
    "local.settings.json",
    ".s3cfg",
    "kubeconfig",
    ".terraformrc",
    "secret.json",
    ".config/gh/hosts.yml",
    ".env.staging",
    "prod.env",
    ".my.cnf",
    ".pgpass",
    ".npmrc",
    ".pypirc",
    ".netrc",
    ".git-credentials",
    ".docker/config.json",
    ".kube/config",
    ".aws/credentials",
    ".terraform.d/credentials.tfrc.json",
    "client_secret_1234.apps.json",
    "service-account.json",
    "terraform.tfvars.json",
    "app.tfstate.backup",
    "k8s/db-secret.yaml",
    "rclone.conf",
    "token.json",
    "id_ed25519",
    "server.key",
)
# Source files with names like those: code, never hidden for its name.
CODE_NAMES = ("secrets.py", "secret.py", "auth.py", "credentials.py", "token.py", "env.ts")


def rand(n: int, alphabet: str = ALNUM) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(n))


@dataclass(frozen=True)
class Sample:
    kind: str
    line: str  # how it sits in a file
    core: str  # the random part: must never reach the model
    value: str = ""  # the whole token


def _token(kind: str, prefix: str, core: str, suffix: str = "", style: int = 0) -> Sample:
    value = f"{prefix}{core}{suffix}"
    lines = (
        f'{kind.upper().replace(" ", "_")} = "{value}"',
        f"{kind.replace(' ', '-')}: {value}",
        f"    client.connect(token='{value}')",
        f"export {kind.upper().replace(' ', '_')}={value}",
    )
    return Sample(kind, lines[style % len(lines)], core, value)


def token_samples() -> list[Sample]:
    """One line per token format (known prefixes and shapes), in varied settings."""
    tokens = [
        ("aws key", "AKIA", rand(16, UPPER), ""),
        ("github", "ghp_", rand(36), ""),
        ("github oauth", "gho_", rand(36), ""),
        ("github fine grained", "github_pat_", rand(22) + "_" + rand(59), ""),
        ("gitlab", "glpat-", rand(20), ""),
        ("slack", "xoxb-" + rand(11, string.digits) + "-", rand(24, LOWER), ""),
        ("stripe", "sk_live_", rand(24), ""),
        ("stripe restricted", "rk_live_", rand(24), ""),
        ("openai", "sk-proj-", rand(20) + "T3BlbkFJ" + rand(20), ""),
        ("anthropic", "sk-ant-api03-", rand(48), ""),
        ("sendgrid", "SG.", rand(22) + "." + rand(43), ""),
        ("twilio", "SK", rand(32, HEX), ""),
        ("pypi", "pypi-AgEIcHlwaS5vcmc", rand(80), ""),
        ("npm", "npm_", rand(36), ""),
        ("google api", "AIza", rand(35), ""),
        ("hugging face", "hf_", rand(34), ""),
        ("telegram", rand(9, string.digits) + ":AA", rand(33), ""),
        ("mailchimp", "", rand(32, HEX), "-us12"),
        ("square", "sq0atp-", rand(22), ""),
        ("vault", "hvs.", rand(24), ""),
        ("digitalocean", "dop_v1_", rand(64, HEX), ""),
        ("azure storage", "DefaultEndpointsProtocol=https;AccountKey=", rand(86), "=="),
        ("jwt", "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxIn0.", rand(43), ""),
    ]
    out = [_token(kind, p, core, s, i) for i, (kind, p, core, s) in enumerate(tokens)]
    pw = rand(18)
    out.append(Sample("password", f'DB_PASSWORD = "{pw}"', pw, pw))
    pw = rand(18)
    out.append(Sample("config password", f"password: {pw}", pw, pw))
    key = rand(24)
    out.append(Sample("json api key", f'  "api_key": "{key}",', key, key))
    pw = rand(14)
    url = f"postgres://app:{pw}@db:5432/app"
    out.append(Sample("url credentials", f"DATABASE_URL = '{url}'", pw, url))
    secret = rand(40)
    out.append(Sample("aws secret", f'aws_secret_access_key = "{secret}"', secret, secret))
    return out


def private_key_block(kind: str = "RSA") -> tuple[str, str]:
    """(the block's text, a random line of its body)."""
    body = [rand(64, ALNUM + "+/") for _ in range(6)]
    label = f"{kind} PRIVATE KEY" if kind else "PRIVATE KEY"
    text = "\n".join([f"-----BEGIN {label}-----", *body, f"-----END {label}-----"]) + "\n"
    return text, body[3]


def python_line(sample: Sample) -> str:
    """The sample as a constant of Python code."""
    return f'{sample.kind.upper().replace(" ", "_")} = "{sample.value}"'
