import pytest

from agentls.context.instructions import find_instruction
from agentls.context.languages import FALLBACK_COMMENTS, comment_markers, language_for


@pytest.mark.parametrize(
    ("path", "line", "text", "standalone"),
    [
        ("a.py", "    # agent: add a docstring", "add a docstring", True),
        ("a.py", "x = 1  # AGENT: rename x", "rename x", False),
        ("a.ts", "// agent: use async/await", "use async/await", True),
        ("a.c", "/* agent: free the buffer */", "free the buffer", True),
        ("a.rs", "let x = 1; // agent:make it const", "make it const", False),
        ("a.lua", "-- agent: memoize", "memoize", True),
        ("a.lisp", ";; agent: tail recursion", "tail recursion", True),
        ("a.html", "<!-- agent: add alt text -->", "add alt text", True),
    ],
)
def test_instruction_comments_in_many_syntaxes(
    path: str, line: str, text: str, standalone: bool
) -> None:
    found = find_instruction(line, comment_markers(language_for(path)))
    assert found is not None
    assert found.text == text
    assert found.standalone is standalone
    assert line[found.column :].lstrip().startswith(("#", "/", "-", ";", "<"))


@pytest.mark.parametrize(
    "line",
    [
        "agent: not a comment",
        "# agent:",
        "# the agent said hi",
        "x = agent(1)  # fine",
        "user_agent = 'x'",
    ],
)
def test_lines_without_an_instruction(line: str) -> None:
    assert find_instruction(line, FALLBACK_COMMENTS) is None


def test_python_marker_is_not_a_js_comment() -> None:
    assert find_instruction("// agent: x", comment_markers(language_for("a.py"))) is None
