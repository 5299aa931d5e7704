"""A small multi-file workspace for the context engine's tests."""

from __future__ import annotations

from pathlib import Path

SECRET = "sk-canary-5f1d2c9e"

FILES = {
    "app/__init__.py": "",
    "app/models.py": (
        "class User:\n"
        '    """A person who can log in."""\n\n'
        "    def __init__(self, name: str) -> None:\n"
        "        self.name = name\n\n"
        "    def display(self) -> str:\n"
        "        return self.name.title()\n\n\n"
        "class Group:\n"
        "    members: list[User]\n"
    ),
    "app/text.py": (
        "import re\n\n\n"
        "def slugify(value: str) -> str:\n"
        '    return re.sub(r"[^a-z0-9]+", "-", value.lower()).strip("-")\n'
    ),
    "app/service.py": (
        "from app.models import User\n"
        "from app import text\n\n\n"
        "def register(name: str) -> User:\n"
        "    user = User(name)\n"
        "    user.slug = text.slugify(name)\n"
        "    return user\n\n\n"
        "def unrelated() -> int:\n"
        "    return 42\n"
    ),
    "tests/test_service.py": (
        "from app.service import register\n\n\n"
        "def test_register() -> None:\n"
        '    assert register("Ada Lovelace").slug == "ada-lovelace"\n'
    ),
    "web/client.ts": (
        "import { format } from './format';\n\n"
        "export function show(n: number): string {\n  return format(n);\n}\n"
    ),
    "web/format.ts": "export function format(n: number): string {\n  return `${n}`;\n}\n",
    # Never to be seen: a secret, an ignored file, and a folder ignored by a nested rule.
    ".env": f"API_KEY={SECRET}\n",
    "config/credentials.json": f'{{"token": "{SECRET}"}}\n',
    ".gitignore": "build/\n*.generated.py\n",
    "build/slugify_copy.py": f"def slugify(value):\n    return '{SECRET}'\n",
    "app/User.generated.py": f"class User:\n    token = '{SECRET}'\n",
    "vendor/.gitignore": "*\n!keep.py\n",
    "vendor/dropped.py": f"def register(name):\n    return '{SECRET}'\n",
    "vendor/keep.py": "def kept():\n    return 1\n",
    ".agentlsignore": "private/\n",
    "private/notes.py": f"def slugify(v):\n    return '{SECRET}'\n",
}


def make_workspace(root: Path) -> Path:
    for path, text in FILES.items():
        file = root / path
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_text(text, encoding="utf-8")
    return root
