"""Files, model replies and the exact texts the editors must end with.

Shared by the Neovim and the Emacs tests. The instruction comment sits directly
above a function, so the function (comment + def) is the region; the model's
reply replaces it and the comment line is not kept.
"""

from __future__ import annotations

# -- an ASCII file --------------------------------------------------------------------

SOURCE = """import math

RATE = 2


# agent: use math.pi, add type hints, a docstring and input checks
def area(r):
    return 3.14 * r * r


def perimeter(r):
    return 2 * 3.14 * r


def other():
    return 1
"""

OLD_REGION = """# agent: use math.pi, add type hints, a docstring and input checks
def area(r):
    return 3.14 * r * r
"""

NEW_FUNCTION = '''def area(r: float) -> float:
    """The area of a circle of radius r.

    Raises ValueError for a negative radius and TypeError for a non-number.
    """
    if not isinstance(r, (int, float)):
        raise TypeError(f"radius must be a number, not {type(r).__name__}")
    if r < 0:
        raise ValueError(f"radius must not be negative: {r}")
    result = math.pi * r * r
    return result
'''

REPLY = "Here is the rewritten function:\n\n```python\n" + NEW_FUNCTION + "```\n"

EXPECTED = SOURCE.replace(OLD_REGION, NEW_FUNCTION)
assert EXPECTED != SOURCE

# What the user types elsewhere while the rewrite streams in: one step right after
# each of the server's first edits (see harness.run_editor), above the region (which
# moves it) and far below it.
TYPING = [
    {"op": "insert_top", "text": "# typed 1: a note at the top"},
    {"op": "append_last", "text": "  # typed 2"},
    {"op": "insert_top", "text": "# typed 3"},
    {"op": "append_last", "text": " + 0  # typed 4"},
    {"op": "insert_top", "text": "# typed 5 ünïcode ✓"},
    {"op": "append_last", "text": " + 0"},
    {"op": "insert_top", "text": "# typed 7"},
    {"op": "insert_top", "text": "# typed 8"},
]


def with_typing(text: str, steps: list[dict[str, str]]) -> str:
    """``text`` with the typing ``steps`` applied, as the drivers apply them."""
    lines = text.splitlines(keepends=True)
    for step in steps:
        if step["op"] == "insert_top":
            lines.insert(0, step["text"] + "\n")
        elif step["op"] == "append_last":
            row = max(i for i, line in enumerate(lines) if line.strip())
            body = lines[row].rstrip("\n")
            lines[row] = body + step["text"] + lines[row][len(body) :]
        else:
            raise ValueError(step["op"])
    return "".join(lines)


assert with_typing(EXPECTED, TYPING[:4]) == (
    "# typed 3\n# typed 1: a note at the top\n"
    + EXPECTED.replace("    return 1\n", "    return 1  # typed 2 + 0  # typed 4\n")
)


# -- emoji and CJK before and inside the region (UTF-16 positions) ----------------------
# The model keeps the emoji lines and changes them after the emoji, so the edits
# start and end at columns where UTF-16 units, code points and bytes all differ.

UNICODE_SOURCE = """# 数据 😀 — résumé of the module
GREETING = "héllo 😀 世界"  # 问候 🎉


# agent: 把 greet 改成大写 😀
def greet(name):
    prefix = "😀😀 世界"; text = "héllo 😀 世界, " + name
    return prefix + text  # 注释 🎉


def other():
    return "ok 😀 fin"
"""

UNICODE_OLD_REGION = """# agent: 把 greet 改成大写 😀
def greet(name):
    prefix = "😀😀 世界"; text = "héllo 😀 世界, " + name
    return prefix + text  # 注释 🎉
"""

UNICODE_NEW_FUNCTION = """def greet(name):
    prefix = "😀😀 世界"; text = "héllo 😀 世界, " + name.upper()
    # 大写 🎉 — every character counts: 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 « héllo »
    return (prefix + text).upper()  # 注释 🎉 ✓
"""

UNICODE_REPLY = "```python\n" + UNICODE_NEW_FUNCTION + "```"

UNICODE_EXPECTED = UNICODE_SOURCE.replace(UNICODE_OLD_REGION, UNICODE_NEW_FUNCTION)
assert UNICODE_EXPECTED != UNICODE_SOURCE
