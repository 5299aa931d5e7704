"""Members of the types a task uses: what new code reaches through an object."""

from __future__ import annotations

from pathlib import Path

from agentls.context.engine import ContextEngine
from agentls.context.languages import LANGUAGES
from agentls.context.tags import tag_source

URLS = (
    "class URL:\n"
    '    """A parsed URL."""\n\n'
    "    def __init__(self, text: str) -> None:\n"
    "        self._text = text\n\n"
    + "".join(
        f"    @property\n    def {name}(self) -> str:\n        return self._text\n\n"
        for name in ("scheme", "host", "port", "raw_path", "fragment")
    )
    + "    def _private(self) -> None:\n        pass\n"
)
CLIENT = (
    "from pkg.urls import URL\n\n\n"
    "def fetch(text: str) -> str:\n"
    "    url = URL(text)\n"
    "    return str(url)\n"
)
ROUTER = (
    "package chi\n\n"
    "type Mux struct {\n\tname string\n}\n\n"
    "func (mx *Mux) Routes() []string {\n\treturn nil\n}\n\n"
    "func (mx Mux) Middlewares() []string {\n\treturn nil\n}\n\n"
    "func NewMux() *Mux {\n\treturn &Mux{}\n}\n"
)
DOC = "package chi\n\nfunc Describe(m *Mux) string {\n\treturn m.name\n}\n"


def _engine(tmp_path: Path, files: dict[str, str]) -> ContextEngine:
    root = tmp_path / "ws"
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    engine = ContextEngine(root, tmp_path / "cache", workers=1)
    engine.build()
    return engine


def test_members_of_an_imported_class_are_outlined(tmp_path: Path) -> None:
    files = {"pkg/__init__.py": "", "pkg/urls.py": URLS, "pkg/client.py": CLIENT}
    engine = _engine(tmp_path, files)
    snippets = engine.select("pkg/client.py", 4, 4, 1024).to_json()["snippets"]
    members = [s for s in snippets if str(s["reason"]).startswith("members of URL")]
    assert len(members) == 1 and members[0]["path"] == "pkg/urls.py"
    text = str(members[0]["text"])
    for name in ("scheme", "host", "port", "raw_path", "fragment"):
        assert f"def {name}(self) -> str:" in text
    assert "_private" not in text and "__init__" not in text
    # the same selection, byte for byte, from a second engine over the same files
    again = _engine(tmp_path / "again", files).select("pkg/client.py", 4, 4, 1024).to_json()
    assert again["snippets"] == snippets


def test_go_methods_belong_to_their_receiver_type() -> None:
    tags = tag_source(LANGUAGES["go"], ROUTER.encode())
    scopes = {d.name: d.scope for d in tags.definitions}
    assert scopes["Routes"] == "Mux" and scopes["Middlewares"] == "Mux"
    assert scopes["NewMux"] == "" and scopes["Mux"] == ""


def test_go_members_of_a_type_used_from_another_file(tmp_path: Path) -> None:
    engine = _engine(
        tmp_path, {"go.mod": "module example.com/chi\n", "mux.go": ROUTER, "doc.go": DOC}
    )
    snippets = engine.select("doc.go", 3, 1, 1024).to_json()["snippets"]
    members = [s for s in snippets if str(s["reason"]).startswith("members of Mux")]
    assert len(members) == 1
    assert "Routes()" in str(members[0]["text"]) and "Middlewares()" in str(members[0]["text"])


def test_a_members_outline_cut_short_grows_with_the_budget(tmp_path: Path) -> None:
    big = "class Big:\n" + "".join(
        f"    def method_number_{i}(self, value: int) -> int:\n        return value\n\n"
        for i in range(40)
    )
    user = "from pkg.big import Big\n\n\ndef use(b: Big) -> int:\n    return 0\n"
    engine = _engine(tmp_path, {"pkg/__init__.py": "", "pkg/big.py": big, "pkg/user.py": user})

    def outline(budget: int) -> str:
        snippets = engine.select("pkg/user.py", 4, 4, budget).to_json()["snippets"]
        found = [str(s["reason"]) for s in snippets if str(s["reason"]).startswith("members of")]
        assert len(found) == 1
        return found[0]

    assert outline(600) != "members of Big (40 of 40)"  # a part, in the first share
    assert outline(3000) == "members of Big (40 of 40)"  # all, with budget left
