"""Where an ``edit_file`` request applies: matching in layers, never at a doubtful place.

Models quote the text to replace (``old_string``) with drift: other indentation, tabs
for spaces, trailing blanks, a missing or extra blank line, curly quotes, an elided
middle (``...``). The layers, tried in order, each stricter about uniqueness than
about the text:

1. exact (``replace_all`` may take every occurrence; otherwise it must be unique);
2. line-wise, ignoring trailing whitespace, tab/space runs and curly quotes;
3. the same ignoring indentation, where the file's indentation is then carried over
   to the new text;
4. an elided middle: the lines before and after ``...`` found exactly once, in order;
5. a bounded fuzzy match (difflib, ``fuzzy.py``) over windows of the same number of
   lines, taken only when the best is clearly better than the second best, and when no
   window left uncompared (at most ``FUZZY_WINDOWS`` are compared, before a deadline)
   could rival it.

A layer that finds the text twice refuses (it names the lines), and a miss returns
the closest real lines, so the model can correct itself on the next turn.
"""

from __future__ import annotations

import difflib
import functools
import re
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from agentls.tools.fuzzy import anchor_counts, quick_bound, similarity

FUZZY_MIN = 0.90  # similarity a fuzzy match needs
FUZZY_MARGIN = 0.05  # ... and its lead over the second best window
FUZZY_WINDOWS = 64  # windows compared in full at most (``fuzzy.py``: bounded work)
FUZZY_SECONDS = 2.0  # ... and for at most this long
FUZZY_LINES = 200  # a longer quote is not matched loosely (difflib over its lines)
_SLACK = 0.01  # the bound counts newlines a little differently from the comparison
_NEAR = 8  # windows compared to show the closest lines of a miss
_NEAR_SECONDS = 0.05  # ... each for at most this long
_NEAR_SAMPLE = 32  # windows looked at (by characters) to pick those, when no line matched

_STRAIGHT = {"‘": "'", "’": "'", "“": '"', "”": '"'}
_QUOTES = str.maketrans({**_STRAIGHT, "\t": "    "})  # for comparing lines
_CURLY = str.maketrans(_STRAIGHT)  # for writing them
_SPACES = re.compile(r"[ \t]+")
_ELISION = re.compile(r"^\s*(\.\.\.|…|# \.\.\.|// \.\.\.)\s*$")


@dataclass(frozen=True)
class Match:
    start: int  # offsets into the text (code points)
    end: int
    new_text: str  # what replaces text[start:end] (indentation carried over if needed)
    how: str  # "exact", "whitespace", "indentation", "elision", "fuzzy"


@dataclass(frozen=True)
class NoMatch:
    message: str  # for the model: why, and the closest real lines


@functools.lru_cache(maxsize=1 << 16)  # each layer and the fuzzy one key lines by it
def _norm(line: str) -> str:
    """Tabs as four spaces, curly quotes straight, runs of blanks inside the line as one,
    no trailing blanks; the indentation itself is kept (the next layer ignores it)."""
    line = line.translate(_QUOTES).rstrip()
    body = line.lstrip(" ")
    return line[: len(line) - len(body)] + _SPACES.sub(" ", body)


def _lines_with_offsets(text: str) -> tuple[list[str], list[int]]:
    lines = text.split("\n")
    starts = [0]
    for line in lines[:-1]:
        starts.append(starts[-1] + len(line) + 1)
    return lines, starts


def _strip_blank_edges(lines: list[str]) -> list[str]:
    while lines and not lines[0].strip():
        lines = lines[1:]
    while lines and not lines[-1].strip():
        lines = lines[:-1]
    return lines


def _width(line: str) -> int:
    expanded = line.replace("\t", "    ")
    return len(expanded) - len(expanded.lstrip(" "))


def _tabbed(lines: list[str]) -> bool:
    """Whether these lines are indented with tabs (more of them than with spaces)."""
    tabs = sum(1 for line in lines if line[:1] == "\t" and line.strip())
    spaces = sum(1 for line in lines if line[:1] == " " and line.strip())
    return tabs > spaces


def _indent(width: int, tabs: bool) -> str:
    """Indentation of ``width`` columns (a tab counted as four), in the file's style."""
    return "\t" * (width // 4) + " " * (width % 4) if tabs else " " * width


def _reindent(
    new: str, old_lines: list[str], real_lines: list[str], judged_by: str | None = None
) -> str:
    """Carry the file's indentation over to ``new``: each indentation width the model
    used in ``old`` maps to the width the real lines have (two spaces for four scale,
    a shift moves), written with tabs where the real lines are indented with tabs; a new
    text already indented like the file is left alone (its tabs put back)."""
    quoted = [line for line in old_lines if line.strip()]
    real = [line for line in real_lines if line.strip()]
    tabs = _tabbed(real)
    pairs = list(zip((_width(q) for q in quoted), (_width(r) for r in real), strict=False))
    new_lines = new.split("\n")
    whole = (judged_by if judged_by is not None else new).split("\n")
    first_new = next((line for line in whole if line.strip()), "")
    mapping: dict[int, int] = {}
    if pairs and not (_width(first_new) == pairs[0][1] != pairs[0][0]):
        for q, r in pairs:
            mapping.setdefault(q, r)
    elif not tabs:
        return new
    if mapping:
        (q1, r1), (q2, r2) = min(mapping.items()), max(mapping.items())
        scale = (r2 - r1) / (q2 - q1) if q2 != q1 else 1.0

    def width(w: int) -> int:
        if not mapping:  # already the file's widths: only the tabs to put back
            return w
        return mapping[w] if w in mapping else max(0, round(r1 + (w - q1) * scale))

    out = []
    for line in new_lines:
        if not line.strip():
            out.append(line)
            continue
        body = line.lstrip(" \t")
        out.append(_indent(width(_width(line)), tabs) + body)
    return "\n".join(out)


def _clean(line: str, straight_quotes: bool) -> str:
    line = line.rstrip()
    return line.translate(_CURLY) if straight_quotes else line


def transfer(quoted: list[str], new: str, real: list[str]) -> str:
    """The model's change (``quoted`` -> ``new``) made to the ``real`` lines in the file's
    own style: lines the model did not change stay exactly as the file has them (its
    blank lines, tabs, quotes, trailing blanks); changed and added lines get the file's
    indentation (by width), straight quotes where the file has no curly ones, and no
    trailing blanks. Non-blank quoted lines stand for the non-blank real lines, in order."""
    new_lines = _strip_blank_edges(new.split("\n")) if new.strip() else []
    q_at = [i for i, line in enumerate(quoted) if line.strip()]
    r_at = [i for i, line in enumerate(real) if line.strip()]
    n_at = [i for i, line in enumerate(new_lines) if line.strip()]
    if len(q_at) != len(r_at) or not q_at:  # no line-for-line match: the new text, reindented
        return _reindent("\n".join(new_lines), quoted, real)
    straight = not any(c in line for line in real for c in "‘’“”")

    def key(line: str) -> str:
        return _norm(line).strip()

    def fresh(first: int, last: int) -> list[str]:
        """New lines ``n_at[first]`` .. ``n_at[last - 1]`` with the blanks between them."""
        if first >= last:
            return []
        chunk = new_lines[n_at[first] : n_at[last - 1] + 1]
        whole = "\n".join(new_lines)  # judged as a whole: already in the file's style?
        shifted = _reindent("\n".join(chunk), quoted, real, whole).split("\n")
        return [_clean(line, straight) for line in shifted]

    matcher = difflib.SequenceMatcher(
        None, [key(quoted[i]) for i in q_at], [key(new_lines[j]) for j in n_at], autojunk=False
    )
    out: list[str] = []
    at = 0  # the next real line not yet written
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            out.extend(real[at : r_at[i2 - 1] + 1])
            at = r_at[i2 - 1] + 1
        elif op == "insert":
            out.extend(fresh(j1, j2))
        else:  # replace, delete: the real lines they stand for go, with blanks before them kept
            out.extend(real[at : r_at[i1]])
            out.extend(fresh(j1, j2))
            at = r_at[i2 - 1] + 1
    out.extend(real[at:])
    return "\n".join(out)


def _span(starts: list[int], lines: list[str], first: int, last: int) -> tuple[int, int]:
    """Offsets of lines ``first..last`` (inclusive), without the last line's newline."""
    return starts[first], starts[last] + len(lines[last])


def _excerpt(line: str, most: int = 40) -> str:
    line = line.strip()
    return "`" + (line if len(line) <= most else line[:most] + "…") + "`"


def _places(lines: list[str], spans: list[tuple[int, int]]) -> str:
    """Where each match is, with what it holds there: ``line 3 (`x`)``, or ``lines 3-9
    (`def f():` … `return x`)`` (the first five)."""
    out = []
    for first, last in spans[:5]:
        if first == last:
            out.append(f"line {first + 1} ({_excerpt(lines[first])})")
        else:
            head, tail = _excerpt(lines[first]), _excerpt(lines[last])
            out.append(f"lines {first + 1}-{last + 1} ({head} … {tail})")
    return "; ".join(out) + (f"; and {len(spans) - 5} more" if len(spans) > 5 else "")


def find_edit(
    text: str, old: str, new: str, replace_all: bool = False, seconds: float = FUZZY_SECONDS
) -> list[Match] | NoMatch:
    """The places ``old`` stands for in ``text``, or why there is none to trust. Its
    work is bounded (the fuzzy layer compares at most ``FUZZY_WINDOWS`` windows, for at
    most ``seconds``), but it is CPU work: call it off the event loop."""
    deadline = time.monotonic() + seconds
    if not old:
        return NoMatch("old_string is empty: quote the exact text to replace")
    count = text.count(old)
    if count == 1 or (count > 1 and replace_all):
        out, at = [], 0
        for _ in range(count):
            at = text.index(old, at)
            out.append(Match(at, at + len(old), new, "exact"))
            at += len(old)
        return out
    lines, starts = _lines_with_offsets(text)
    if count > 1:
        places = []
        for hit in list(re.finditer(re.escape(old), text))[:5]:
            line = text.count("\n", 0, hit.start())
            column = hit.start() - starts[line] + 1
            places.append(f"line {line + 1} column {column} ({_excerpt(lines[line])})")
        more = f"; and {count - 5} more" if count > 5 else ""
        return NoMatch(
            f"old_string occurs {count} times ({'; '.join(places)}{more}): quote more "
            "lines around the place you mean, or set replace_all"
        )
    quoted = _strip_blank_edges(old.split("\n"))
    if not quoted:
        return NoMatch("old_string holds only blank lines")
    layers: tuple[tuple[str, Callable[[str], str]], ...] = (
        ("whitespace", _norm),
        ("indentation", lambda line: _norm(line).strip()),
    )
    for how, key in layers:
        found = _line_match(lines, quoted, key)
        if isinstance(found, NoMatch):
            return found
        if found is not None:
            first, last = found
            start, end = _span(starts, lines, first, last)
            replacement = transfer(quoted, new, lines[first : last + 1])
            return [Match(start, end, replacement, how)]
    elided = _elision(lines, starts, quoted, new)
    if elided is not None:
        return elided
    return _fuzzy(lines, starts, quoted, new, deadline)


def _line_hits(
    lines: list[str], quoted: list[str], key: Callable[[str], str]
) -> list[tuple[int, int]] | None:
    """Every run of lines equal to ``quoted`` under ``key`` (blank lines skipped), as
    (first, last) line numbers; None when ``quoted`` has no non-blank line."""
    want = [key(line) for line in quoted if line.strip()]
    if not want:
        return None
    keyed = [(i, key(line)) for i, line in enumerate(lines) if line.strip()]
    hits: list[tuple[int, int]] = []
    values = [k for _, k in keyed]
    for i in range(len(values) - len(want) + 1):
        if values[i] == want[0] and values[i : i + len(want)] == want:
            hits.append((keyed[i][0], keyed[i + len(want) - 1][0]))
    return hits


def _line_match(
    lines: list[str], quoted: list[str], key: Callable[[str], str]
) -> tuple[int, int] | NoMatch | None:
    """The one run of lines equal to ``quoted`` under ``key`` (blank lines skipped)."""
    hits = _line_hits(lines, quoted, key)
    if hits is None:
        return None
    if len(hits) > 1:
        return NoMatch(
            f"old_string matches {len(hits)} places once whitespace is ignored: "
            f"{_places(lines, hits)}. Quote more lines around the place you mean"
        )
    return hits[0] if hits else None


def _elision(
    lines: list[str], starts: list[int], quoted: list[str], new: str
) -> list[Match] | NoMatch | None:
    """``old_string`` with a ``...`` line: its head lines, then its tail lines further on;
    exactly one such pair in the file."""
    marks = [i for i, line in enumerate(quoted) if _ELISION.match(line)]
    if len(marks) != 1 or marks[0] in (0, len(quoted) - 1):
        return None
    head, tail = quoted[: marks[0]], quoted[marks[0] + 1 :]
    heads = _line_hits(lines, head, _norm) or []
    tails = _line_hits(lines, tail, _norm) or []
    # One side must be unique, and the other found once on the right side of it: a common
    # head line (a docstring's closing quotes, a brace) is never guessed at.
    pairs: list[tuple[tuple[int, int], tuple[int, int]]] = []
    if len(heads) == 1:
        pairs = [(heads[0], t) for t in tails if t[0] > heads[0][1]]
    elif len(tails) == 1:
        pairs = [(h, tails[0]) for h in heads if h[1] < tails[0][0]]
    elif heads and tails:
        pairs = [(h, t) for h in heads for t in tails if t[0] > h[1]]
    if not pairs:
        return None
    if len(pairs) > 1:
        return NoMatch(
            f"old_string with '...' matches {len(pairs)} places: "
            f"{_places(lines, [(h[0], t[1]) for h, t in pairs])}. Quote more lines before "
            "or after the '...' so that only one place fits"
        )
    (first, head_end), (tail_start, last) = pairs[0]
    new_lines = new.split("\n")
    if any(_ELISION.match(line) for line in new_lines):
        return NoMatch(
            "new_string elides lines with '...' too: the elided text would be lost; "
            "write the whole new text, or edit the head and the tail separately"
        )
    start, end = _span(starts, lines, first, last)
    shown = [*lines[first : head_end + 1], *lines[tail_start : last + 1]]
    body = "\n".join(_strip_blank_edges(new_lines))
    return [Match(start, end, _reindent(body, [*head, *tail], shown), "elision")]


def _fuzzy(
    lines: list[str], starts: list[int], quoted: list[str], new: str, deadline: float
) -> list[Match] | NoMatch:
    """The window of ``len(quoted)`` lines clearly most like the quote, with bounded work
    (``fuzzy.py``): the best ranked windows, at most ``FUZZY_WINDOWS``, before
    ``deadline``."""
    size = len(quoted)
    if size > FUZZY_LINES:
        return NoMatch(
            f"old_string ({size} lines) was not found as it is, and agentls matches loosely "
            f"only quotes of at most {FUZZY_LINES} lines: quote the text exactly as read_file "
            "shows it, or a shorter part of it"
        )
    want = [_norm(line) for line in quoted]
    normed = [_norm(line) for line in lines]
    windows = range(max(1, len(lines) - size + 1))
    rank: list[float]
    if sum(1 for line in want if line.strip()) >= 3:  # line anchors
        rank = [float(n) for n in anchor_counts(want, normed, size)]
        left = [i for i in windows if rank[i] > 0]
    else:  # windows of one or two lines: their characters
        target = "\n".join(want)
        chars = Counter(target)
        rank = [quick_bound(target, "\n".join(normed[i : i + size]), chars) for i in windows]
        left = [i for i in windows if rank[i] + _SLACK >= FUZZY_MIN]
    left.sort(key=lambda i: (-rank[i], i))
    scored: list[tuple[float, int]] = []
    while left and len(scored) < FUZZY_WINDOWS and time.monotonic() < deadline:
        score = similarity(want, normed[left[0] : left[0] + size], deadline)
        if score is None:  # the deadline passed inside: this window stays uncompared
            break
        scored.append((score, left.pop(0)))
    scored.sort(key=lambda item: (-item[0], item[1]))
    best = scored[0] if scored else (0.0, 0)
    second = next((s for s in scored[1:] if abs(s[1] - best[1]) >= size), (0.0, 0))
    # A window left uncompared (over the cap, past the deadline) ranked as high as the
    # best: the best cannot be shown to be the only match.
    top = rank[best[1]] if scored else 0.0
    unproven = any(abs(i - best[1]) >= size and rank[i] >= top - _SLACK for i in left)
    if best[0] >= FUZZY_MIN and best[0] - second[0] >= FUZZY_MARGIN and not unproven:
        first, last = best[1], min(len(lines) - 1, best[1] + size - 1)
        start, end = _span(starts, lines, first, last)
        replacement = _reindent(
            "\n".join(_strip_blank_edges(new.split("\n"))), quoted, lines[first : last + 1]
        )
        return [Match(start, end, replacement, "fuzzy")]
    if not scored:  # the closest real lines, by length and characters, a few compared
        target = "\n".join(want)
        chars = Counter(target)
        sample = windows[:: max(1, len(windows) // _NEAR_SAMPLE)]
        rough = sorted(
            sample, key=lambda i: -quick_bound(target, "\n".join(normed[i : i + size]), chars)
        )
        for i in rough[:_NEAR]:
            score = similarity(want, normed[i : i + size], time.monotonic() + _NEAR_SECONDS)
            scored.append((score or 0.0, i))
    near = max(scored, key=lambda item: (item[0], -item[1]), default=(0.0, 0))
    first = near[1]
    shown = "\n".join(
        f"{n + 1:6}\t{lines[n]}" for n in range(first, min(len(lines), first + size + 2))
    )
    if unproven:
        why = (
            "too many places look alike to match it loosely (agentls compares at most "
            f"{FUZZY_WINDOWS} of them, for {FUZZY_SECONDS:g} s)"
        )
    elif best[0] >= FUZZY_MIN:
        why = "two places match about as well"
    else:
        why = f"nothing matches closely enough (best {near[0]:.0%})"
    return NoMatch(
        f"old_string was not found ({why}); the closest lines of the file are:\n{shown}\n"
        "Quote the text exactly as it is there (read_file shows it)."
    )
