"""Text from the model shown to the user as it is: every prompt goes through here.

A command or a path in an approval question is shown verbatim, except that nothing
in it can act on the screen: control characters (``\\r``, ``\\x1b``, every C0 and C1
code), bidi overrides and isolates (U+202E …), zero-width and other invisible
characters, unusual spaces, line and paragraph separators are written as a visible
escape in corner brackets (``⟨\\r⟩``, ``⟨\\x1b⟩``, ``⟨U+202E⟩``); the bracket itself is
escaped too (``⟨U+27E8⟩``), so no text can forge an escape. Characters that draw
nothing though Unicode files them as letters or symbols (U+2800 braille blank, the
Hangul fillers U+3164, U+115F, U+1160, U+FFA0) are escaped as well. Runs of more than
three spaces are counted (``⟨40 spaces⟩``), and so are runs of any blank or escaped
characters (``⟨400 blanks: U+2800⟩``, ``⟨300 × \\r⟩``): a command cannot push its
tail out of sight.
The quoting fence is longer than any run of backticks inside (as in Markdown), so
the text cannot close it and go on as the prompt's own words.
"""

from __future__ import annotations

import difflib
import re
import unicodedata

OPEN = "\u27e8"  # ⟨
CLOSE = "\u27e9"  # ⟩
NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\x1b": "\\x1b", "\x00": "\\0"}
VISIBLE_CATEGORIES = {"L", "N", "P", "S"}  # letters, numbers, punctuation, symbols
# letters and symbols that draw nothing: braille blank, Hangul fillers
BLANK_LETTERS = frozenset("\u2800\u3164\u115f\u1160\uffa0")
RUN = 4  # this many blank or escaped characters in a row are counted, not shown


def visible(text: str) -> str:
    """``text`` with everything that is not plainly visible made visible."""
    out: list[str] = []
    i = 0
    while i < len(text):
        end = i
        while end < len(text) and _blank(text[end]):
            end += 1
        if end - i >= RUN:
            out.append(_run(text[i:end]))
            i = end
            continue
        ch = text[i]
        end = i + 1
        while end < len(text) and text[end] == ch:
            end += 1
        shown = _char(ch)
        if end - i >= RUN and shown != ch:  # "\r" 300 times: counted
            out.append(f"{OPEN}{end - i} × {shown[1:-1]}{CLOSE}")
        else:
            out.append(shown * (end - i))
        i = end
    return "".join(out)


def _blank(ch: str) -> bool:
    """Whether ``ch`` draws nothing of its own (a space of any width, a filler, a
    zero-width or bidi format character)."""
    return ch == " " or ch in BLANK_LETTERS or unicodedata.category(ch) in ("Zs", "Cf")


def _run(part: str) -> str:
    if part == " " * len(part):
        return f"{OPEN}{len(part)} spaces{CLOSE}"
    kinds = [_char(ch)[1:-1] if ch != " " else "space" for ch in dict.fromkeys(part)]
    more = f" and {len(kinds) - 4} more" if len(kinds) > 4 else ""
    return f"{OPEN}{len(part)} blanks: {' '.join(kinds[:4])}{more}{CLOSE}"


def _char(ch: str) -> str:
    if ch == " ":
        return ch
    if ch in NAMED:
        return OPEN + NAMED[ch] + CLOSE
    if ch in (OPEN, CLOSE) or ch in BLANK_LETTERS:
        return f"{OPEN}U+{ord(ch):04X}{CLOSE}"
    category = unicodedata.category(ch)
    if category[0] in VISIBLE_CATEGORIES:
        return ch
    code = ord(ch)
    if code < 0x100:
        return f"{OPEN}\\x{code:02x}{CLOSE}"
    return f"{OPEN}U+{code:04X}{CLOSE}"


def no_invisible(text: str) -> str:
    """A question built from parts already made ``visible``, checked once more: any
    invisible character still in it is escaped (the brackets of the parts stay)."""
    return "".join(ch if ch in (OPEN, CLOSE) else _char(ch) for ch in text)


def quoted(text: str) -> str:
    """``visible(text)`` between backticks that no backtick inside can close."""
    shown = visible(text)
    longest = max((len(run) for run in re.findall(r"`+", shown)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if longest or shown.startswith("`") or shown.endswith("`") else ""
    return f"{fence}{pad}{shown}{pad}{fence}"


def one_line(text: str, limit: int = 160) -> str:
    """Model text for a terminal line: visible, and cut to ``limit`` characters."""
    shown = visible(text)
    return shown if len(shown) <= limit else shown[: limit - 1] + "…"


DIFF_LINES = 40  # lines of a diff shown in a question at most
DIFF_LINE_CHARS = 160  # ... each cut to this many characters
INDENT_KEPT = 40  # leading spaces of a code line shown as they are (more are counted)


def code_line(text: str, limit: int = DIFF_LINE_CHARS) -> str:
    """A line of code for a question: its indentation as it is (up to ``INDENT_KEPT``
    spaces), the rest ``visible`` (no line break, no control character), cut to
    ``limit`` characters."""
    body = text.lstrip(" ")
    indent = min(len(text) - len(body), INDENT_KEPT)
    shown = " " * indent + visible(text[indent:])
    return shown if len(shown) <= limit else shown[: limit - 1] + "…"


def compact_diff(old: str, new: str, limit: int = DIFF_LINES) -> str:
    """A unified diff of ``old`` -> ``new`` for a question: one line of context, no file
    header, lines split at ``\\n`` only (any other separator is shown), each line a
    ``code_line`` behind its ``-``/``+``/`` `` mark, at most ``limit`` lines (then how
    many more)."""
    lines = list(difflib.unified_diff(_lines(old), _lines(new), lineterm="", n=1))
    lines = lines[2:]  # the "---"/"+++" file header
    shown = [line if line.startswith("@@") else line[0] + code_line(line[1:]) for line in lines]
    if len(shown) > limit:
        shown = [*shown[:limit], f"… ({len(shown) - limit} more diff lines)"]
    return "\n".join(shown)


def _lines(text: str) -> list[str]:
    lines = [line.removesuffix("\r") for line in text.split("\n")]
    return lines[:-1] if lines[-1] == "" else lines  # the last line's own newline
