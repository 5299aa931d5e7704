"""Only the code goes into the document.

Models wrap code in Markdown fences and add a sentence before or after it.
``CodeExtractor`` reads the reply as it streams and keeps the code lines:
the first fenced block if there is one, else the whole reply minus chatter
lines such as "Here is the updated function:". It may take back lines it gave
(a reply that starts with prose and only then opens a fence): callers read
``lines`` again after each ``feed`` instead of appending.
"""

from __future__ import annotations

import re

_FENCE = re.compile(r"^\s*(?P<fence>`{3,}|~{3,})\s*(?P<info>[\w+#.-]*)\s*$")
_CHATTER = re.compile(
    r"^\s*(sure|certainly|of course|okay|ok|here|below|i've|i have|i will|i'll|"
    r"this (is|version|code|function|updated)|the (following|updated|rewritten|refactored|"
    r"new|modified|revised))\b.*[:.!]\s*$",
    re.IGNORECASE,
)
_PROSE = re.compile(r"^[A-Z][a-z]+( [\w'`,()-]+){3,}[.!]$")


class CodeExtractor:
    def __init__(self) -> None:
        self._partial = ""
        self._state = "start"  # start | prose | plain | fenced | done
        self._fence = ""
        self.lines: list[str] = []  # finished code lines, without line endings
        self.saw_fence = False

    def feed(self, delta: str) -> bool:
        """Take more of the reply; True if ``lines`` changed."""
        self._partial += delta
        if "\n" not in self._partial:
            return False
        *complete, self._partial = self._partial.split("\n")
        for line in complete:
            self._line(line.rstrip("\r"))
        return True

    def finish(self) -> list[str]:
        """All code lines of the whole reply."""
        if self._partial:
            self._line(self._partial.rstrip("\r"), last=True)
            self._partial = ""
        if self._state == "plain" and not self.saw_fence:
            self._drop_trailing_prose()
        return self.lines

    def _line(self, line: str, last: bool = False) -> None:
        fence = _FENCE.match(line)
        state = self._state
        if state == "done":
            return
        if state == "fenced":
            if (
                fence
                and fence["fence"][0] == self._fence[0]
                and len(fence["fence"]) >= len(self._fence)
                and not fence["info"]
            ):
                self._state = "done"
            else:
                self.lines.append(line)
            return
        if fence and not self.saw_fence and (state in ("start", "prose") or len(self.lines) < 8):
            # A fence after a little prose: what came before was not code.
            self.lines.clear()
            self.saw_fence = True
            self._fence = fence["fence"]
            self._state = "fenced"
            return
        if state in ("start", "prose"):
            if not line.strip():
                return
            if _CHATTER.match(line) and not last:
                self._state = "prose"
                return
            self._state = "plain"
        if fence and state == "plain":
            self._state = "done"  # code, then a stray fence: the rest is commentary
            return
        self.lines.append(line)

    def _drop_trailing_prose(self) -> None:
        lines = self.lines
        while lines and not lines[-1].strip():
            lines.pop()
        # Sentences after a blank line at the end of unfenced code are commentary.
        i = len(lines)
        while i > 0 and lines[i - 1].strip() and _PROSE.match(lines[i - 1].strip()):
            i -= 1
        if i < len(lines) and i > 0 and not lines[i - 1].strip():
            del lines[i - 1 :]
            while lines and not lines[-1].strip():
                lines.pop()


def _lead(line: str) -> str:
    return line[: len(line) - len(line.lstrip())]


def indent_unit(lines: list[str]) -> str | None:
    """One level of indentation in ``lines``: a tab, or the fewest spaces a line adds to
    the first non-blank line's indentation; None when no line shows it."""
    leads = [_lead(ln) for ln in lines if ln.strip()]
    if any("\t" in lead for lead in leads):
        return "\t"
    if not leads:
        return None
    steps = [len(lead) - len(leads[0]) for lead in leads if len(lead) > len(leads[0])]
    return " " * min(steps) if steps else None


def reindent(lines: list[str], indent: str, unit: str | None = None) -> list[str]:
    """Shift ``lines`` so that the first non-blank one starts with ``indent``, each level
    of the lines' own indentation becoming one ``unit`` (the region's: a tab, or some
    spaces; None: a tab if ``indent`` has one, else the lines' own step)."""
    first = next((ln for ln in lines if ln.strip()), None)
    if first is None:
        return lines
    have = _lead(first)
    theirs = indent_unit(lines) or unit or "    "
    tab = len(theirs) if theirs != "\t" else 4  # a tab in the lines is one level
    if unit is None:
        unit = "\t" if "\t" in indent else theirs
    if have == indent and theirs == unit:
        return lines  # already as the region writes them

    def width(lead: str) -> int:
        return len(lead.expandtabs(tab)) if theirs == "\t" else len(lead.replace("\t", theirs))

    step = tab if theirs == "\t" else len(theirs)
    out = []
    for line in lines:
        if not line.strip():
            out.append(line)
            continue
        rel = width(_lead(line)) - width(have)
        base = indent
        while rel < 0 and base:  # less indented than the first line: levels out of indent
            base = base[: -len(unit)] if base.endswith(unit) else base[:-1]
            rel += step
        levels, rest = divmod(max(rel, 0), step)
        out.append(base + unit * levels + " " * rest + line.lstrip())
    return out
