"""Which region a rewrite replaces, per language (real tree-sitter grammars)."""

import pytest

from agentls.context.languages import LANGUAGES, language_for, parser_for
from agentls.context.scope import resolve_target

PY = """import os

class Shape:
    # agent: make it faster
    @staticmethod
    def area(x):
        return x * x

    def name(self):
        # agent: return the class name
        return "shape"

# agent: write a hello function
"""


def region(text: str, path: str, needle: str) -> tuple[str, str]:
    at = text.index(needle)
    target = resolve_target(text, language_for(path), at, at)
    return target.what, text[target.start : target.end]


def test_comment_above_a_decorated_method_takes_the_method() -> None:
    what, text = region(PY, "a.py", "# agent: make")
    assert what == "function"
    assert text == (
        "    # agent: make it faster\n    @staticmethod\n    def area(x):\n        return x * x\n"
    )


def test_comment_inside_a_function_takes_the_function() -> None:
    assert region(PY, "a.py", "# agent: return")[1].startswith("    def name(self):")


def test_comment_alone_at_top_level_stands_for_itself() -> None:
    assert region(PY, "a.py", "# agent: write") == ("comment", "# agent: write a hello function\n")


def test_cursor_in_a_body_takes_the_enclosing_function() -> None:
    assert region(PY, "a.py", "x * x") == (
        "function",
        "    @staticmethod\n    def area(x):\n        return x * x\n",
    )


def test_cursor_outside_any_scope_takes_the_line() -> None:
    assert region(PY, "a.py", "import os") == ("line", "import os\n")


def test_a_selection_is_taken_as_it_is() -> None:
    target = resolve_target(PY, language_for("a.py"), 4, 9)
    assert (target.start, target.end, target.what) == (4, 9, "selection")


@pytest.mark.parametrize(
    ("path", "source", "needle", "expected_start"),
    [
        (
            "a.ts",
            "// agent: add types\nexport const f = (a) => {\n  return a;\n};\n",
            "// agent",
            "// agent",
        ),
        ("a.js", "class A {\n  m() {\n    return 1;\n  }\n}\n", "return", "  m() {"),
        ("a.go", "package p\n\nfunc F() int {\n\treturn 1\n}\n", "return", "func F"),
        ("a.rs", "fn f() -> i32 {\n    1\n}\n", "1\n", "fn f"),
        ("A.java", "class A {\n  int f() {\n    return 1;\n  }\n}\n", "return", "  int f()"),
        ("a.c", "int f(void) {\n  return 1;\n}\n", "return", "int f"),
        ("a.cpp", "struct S {\n  int f() { return 1; }\n};\n", "return", "  int f()"),
        ("a.tsx", "function C() {\n  return <div/>;\n}\n", "return", "function C"),
    ],
)
def test_enclosing_scope_in_each_language(
    path: str, source: str, needle: str, expected_start: str
) -> None:
    what, text = region(source, path, needle)
    assert text.startswith(expected_start), (what, text)
    assert text.endswith("\n")


def test_every_registered_grammar_loads_offline() -> None:
    for name in LANGUAGES:
        assert parser_for(name).parse(b"x").root_node is not None
