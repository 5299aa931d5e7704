"""Round-4 fixes of the secret checks: formats x encodings, names, git history outside
``.git``, verdicts that follow a moved file, git config keys."""

from __future__ import annotations

import os
import subprocess
import zlib
from pathlib import Path

import pytest

from agentls.policy.sandbox_git import has_credentials
from agentls.policy.sandbox_scan import TreeScan
from agentls.policy.secret_content import scan
from agentls.policy.secrets import (
    SecretContentFiles,
    SecretMatcher,
    decode_text,
    file_has_secret_content,
)

MARK = "Zq7mW2kR9xP4vT6nB3yH"  # no detector knows it: only the format gives it away

# (name of the file, its text): a secret in a format the round-4 attacks used or that
# they did not try.
FORMATS = [
    ("db.py", f'conn = psycopg2.connect(host="db", password="{MARK}")\n'),
    ("client.py", f'client = Client(api_key="{MARK}", timeout=3)\n'),
    ("client.ts", f'const c = new Client({{ token: "{MARK}" }});\n'),
    ("settings.xml", f"<server>\n  <password>{MARK}</password>\n</server>\n"),
    ("web.config", f'<add key="DbPassword" value="{MARK}"/>\n'),
    ("app.cs", f'var cs = "Server=db;User Id=sa;Password={MARK};";\n'),
    ("deploy.sh", f'curl -H "Authorization: Bearer {MARK}" https://api.example.com\n'),
    ("basic.sh", 'curl -H "Authorization: Basic YWxpY2U6WnE3bVcya1I5eFA0dlQ2bg==" x\n'),
    ("upload.sh", f"curl -u deploy:{MARK} https://files.example.com/up\n"),
    ("notify.py", f'URL = "https://discord.com/api/webhooks/1234567890/{MARK * 3}"\n'),
    ("hook.py", f'URL = "https://ptb.discordapp.com/api/webhooks/99/{MARK * 2}"\n'),
    ("slack.py", f'URL = "https://hooks.slack.com/workflows/T0001/A0002/{MARK}"\n'),
    ("teams.py", f'URL = "https://acme.webhook.office.com/webhookb2/{MARK}@x/IncomingWebhook/1"\n'),
    ("config.toml", f'[registries.corp]\ntoken = "{MARK}"\n'),
    ("ci.yml", f"env:\n  REGISTRY_AUTH: {MARK}\n"),
    ("notes.txt", f"GITHUB_TOKEN={MARK}\n"),
]

ENCODINGS = ["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-be"]

CLEAN = [
    ("getter.py", 'password = get_secret("db")\n'),
    ("headers.py", 'secret = request.headers["apikey"]\n'),
    ("conf.py", 'tokenizer = AutoTokenizer.from_pretrained("bert-base-uncased")\n'),
    ("paths.toml", 'auth = "src/lib/auth/handler2.ts"\n'),
    ("prose.md", "The bearer of this letter is welcome.\nBasic understanding helps.\n"),
    ("workflow.yml", "token: ${{ secrets.REGISTRY_TOKEN }}\n"),
]


def _encoded(text: str, encoding: str) -> bytes:
    return text.encode(encoding)  # "utf-16", "utf-32", "utf-8-sig": with a byte order mark


@pytest.mark.parametrize("name,text", FORMATS, ids=[n for n, _ in FORMATS])
def test_each_format_is_found_in_text(name: str, text: str) -> None:
    assert scan(text, name), text


@pytest.mark.parametrize("name,text", CLEAN, ids=[n for n, _ in CLEAN])
def test_look_alikes_are_not_secrets(name: str, text: str) -> None:
    assert not scan(text, name), text


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_every_format_in_every_encoding_is_found_in_files(tmp_path: Path, encoding: str) -> None:
    """The sandbox's check (``SecretContentFiles``, as before each command) and the
    whole-file check find the secret however the file is encoded; clean files in the
    same encoding stay clean."""
    for name, text in FORMATS + CLEAN:
        (tmp_path / name).write_bytes(_encoded(text, encoding))
    files = SecretContentFiles(tmp_path, max_bytes=1 << 20)
    found = files.holding_secrets([n for n, _ in FORMATS + CLEAN])
    assert found == sorted(n for n, _ in FORMATS)
    for name, _ in FORMATS:
        assert file_has_secret_content(tmp_path / name), (name, encoding)
    for name, _ in CLEAN:
        assert not file_has_secret_content(tmp_path / name), (name, encoding)


def test_decode_text_tells_wide_encodings_from_binary() -> None:
    text = "API=1\nline two\n"
    for encoding in ENCODINGS:
        assert decode_text(text.encode(encoding)) == text, encoding
    assert decode_text(bytes(range(256)) * 8) is None
    assert decode_text(b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 200) is None


SECRET_NAMES = [
    "deploy/service.keytab",
    "login.keychain-db",
    "Library/Keychains/login.keychain",
    ".mylogin.cnf",
    ".p4tickets",
    "conf/pgpass",
    "web/htpasswd",
    ".bash_history",
    ".zsh_history",
    ".python_history",
    ".psql_history",
    ".mysql_history",
    ".node_repl_history",
    "home/.sqlite_history",
    "versions/node/v20.11.0/etc/npmrc",
    ".m2/settings.xml",
    "settings-security.xml",
    ".gradle/gradle.properties",
]


@pytest.mark.parametrize("path", SECRET_NAMES)
def test_credential_stores_by_name(path: str) -> None:
    assert SecretMatcher().is_secret(path)


@pytest.mark.parametrize("path", [".mvn/settings.xml", "history.py", "npmrc.md", "src/keytab.py"])
def test_ordinary_names_stay_ordinary(path: str) -> None:
    assert not SecretMatcher().is_secret(path)


BUNDLE = b"# v2 git bundle\n" + b"0" * 40 + b" refs/heads/main\n\nPACK\0\0\0\x02"


def test_compressed_data_that_is_no_git_object_is_not_history(tmp_path: Path) -> None:
    (tmp_path / "data.z").write_bytes(zlib.compress(b"blobs of text " * 50))
    hidden = SecretContentFiles(tmp_path, max_bytes=1024, git_data=True)
    assert hidden.holding_secrets(["data.z"]) == []


@pytest.mark.parametrize(
    "head",
    [
        BUNDLE,
        b"# v3 git bundle\n@object-format=sha1\n",
        b"PACK\0\0\0\x02\0\0\0\x03x",
        b"\xfftOc\0\0\0\x02",
        zlib.compress(b"blob 12\0hello world!", 1),  # a loose object copied out of .git
        zlib.compress(b"commit 180\0tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\n"),
    ],
)
def test_git_history_outside_git_is_masked_when_git_is_hidden(tmp_path: Path, head: bytes) -> None:
    (tmp_path / "small.bin").write_bytes(head)
    (tmp_path / "big.bin").write_bytes(head + os.urandom(3000))
    hidden = SecretContentFiles(tmp_path, max_bytes=1024, git_data=True)
    assert hidden.holding_secrets(["small.bin", "big.bin"]) == ["big.bin", "small.bin"]
    shown = SecretContentFiles(tmp_path, max_bytes=1024, git_data=False)
    assert shown.holding_secrets(["small.bin", "big.bin"]) == []


@pytest.mark.parametrize("folder", ["lib/vendor", "node_modules/x", "site-packages", ".venv/lib"])
def test_a_file_moved_under_a_package_folder_is_still_masked(tmp_path: Path, folder: str) -> None:
    """A package folder's files are not read for content; a file that held a secret
    where it was read stays masked when a command moves it there (same inode), and a
    hard link made there too."""
    app = tmp_path / "app"
    app.mkdir()
    (app / "settings.py").write_text(f'GITHUB = "ghp_{"k" * 36}"\n')
    (app / "clean.py").write_text("DEBUG = False\n")
    tree = TreeScan(
        tmp_path, SecretMatcher(), content=SecretContentFiles(tmp_path, max_bytes=1 << 20)
    )
    assert [p.name for p in tree.scan().secret_content] == ["settings.py"]
    target = tmp_path / folder
    target.mkdir(parents=True)
    os.rename(app, target / "app")
    os.link(target / "app" / "settings.py", target / "copy.py")
    found = sorted(str(p.relative_to(tmp_path)) for p in tree.scan().secret_content)
    assert found == sorted([f"{folder}/app/settings.py", f"{folder}/copy.py"])


@pytest.mark.parametrize(
    "section",
    [
        "[sendemail]\n\tsmtpPass = s3cr3tv4lue\n",
        "[hub]\n\toauthtoken = abc123def456\n",
        "[http]\n\tcookieFile = /home/u/.cookies\n",
        '[credential]\n\thelper = "store --file /tmp/x"\n',
        '[remote "origin"]\n\tapiKey = 123\n',
        "[gitlab]\n\tsecret = nope\n",
        "[x]\n\tvalue = ghp_" + "a" * 36 + "\n",
    ],
)
def test_git_config_credentials_under_any_key(tmp_path: Path, section: str) -> None:
    config = tmp_path / "config"
    subprocess.run(["git", "init", "-q", str(tmp_path / "r")], check=True)
    base = (tmp_path / "r" / ".git" / "config").read_text()
    config.write_text(base)
    assert not has_credentials(str(config))
    config.write_text(base + section)
    assert has_credentials(str(config))
