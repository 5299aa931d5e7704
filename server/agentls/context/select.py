"""Choosing the code a task at a position needs, packed under a token budget.

Read top to bottom (``Selector.select``): the enclosing scope in full -> the ranked
definitions (``rank.py``) as signatures or, for the best small ones, whole bodies ->
the members of the best-ranked types, the file's outline, a related test and recently
edited regions, each in a share of the budget -> with budget left, more signatures and
members, bodies instead of signatures and the file around the scope. The same input
gives byte-identical output.
"""

from __future__ import annotations

import posixpath
import re

from agentls.context.rank import Candidate, Ranker, shared_prefix
from agentls.context.snippets import (
    SCOPE_KINDS,
    Here,
    Packer,
    Selection,
    Snippet,
    innermost,
    lines_text,
    render_block,
)
from agentls.context.tags import Definition
from agentls.model.tokens import count_tokens

__all__ = ["Here", "Selection", "Selector", "Snippet", "render_block"]

_BEFORE = "this file, before it"
_TYPE_KINDS = frozenset({"class", "type", "interface"})
_MORE_MEMBER_TYPES = 8  # ... and with budget left after the signatures
_AFTER = "this file, after it"


class Selector(Ranker):
    """Packs what the ranking offers (``Ranker.candidates``) under the budget."""

    def select(self, here: Here, budget: int) -> Selection:
        packer = Packer(budget)
        lines = here.lines
        enclosing = innermost(here.tags.definitions, here.line)
        if enclosing is not None:
            scope = (enclosing.start, enclosing.end)
            what = f"the enclosing {enclosing.kind} {enclosing.name}"
        else:
            scope = (max(0, here.line - 10), min(len(lines) - 1, here.line + 10))
            what = "the code around the cursor"
        self._add_scope(packer, here, scope, what, budget // 2)
        candidates = self.candidates(here, scope, enclosing)
        self._add_definitions(packer, candidates, int(budget * 0.75))
        self._add_members(packer, here, candidates, packer.used + budget // 8, 3)
        self._add_outline(packer, here, scope, packer.used + budget // 10)
        if enclosing is not None:
            self._add_test(packer, here, enclosing.name, packer.used + budget // 7)
        self._add_recent(packer, here, packer.used + budget // 10)
        self._add_definitions(packer, candidates, budget)
        self._add_members(packer, here, candidates, budget, _MORE_MEMBER_TYPES)
        self._add_bodies(packer, candidates, budget)
        self._add_surroundings(packer, here, scope)
        return Selection(packer.snippets, budget)

    def _add_members(
        self,
        packer: Packer,
        here: Here,
        candidates: list[Candidate],
        limit: int,
        types: int = 3,
    ) -> None:
        """The first line of each member (method, property, field) of the best-ranked
        ``types`` classes and types of other files, one outline per type, as many as
        fit: what new code reaches through an object of that type (``url.scheme``,
        ``response.http_version``). Called again with the rest of the budget: an outline
        cut short before is replaced by a longer one."""
        done = 0
        for candidate in candidates:
            loc = candidate.located
            d = loc.definition
            if d.kind not in _TYPE_KINDS or loc.path == here.path:
                continue
            tags = self.index.tags.get(loc.path)
            lines = self.lines_of(loc.path)
            if tags is None or lines is None:
                continue
            members = [m for m in tags.definitions if m.scope == d.name and m is not d]
            members = [m for m in members if not m.name.startswith("_")]
            if not members:
                continue
            old = next(
                (
                    s
                    for s in packer.snippets
                    if s.path == loc.path
                    and s.start_line == members[0].start + 1
                    and s.reason.startswith(f"members of {d.name} (")
                ),
                None,
            )
            if old is not None:  # outlined before, in a smaller share of the budget
                if old.reason.endswith(f"({len(members)} of {len(members)})"):
                    done += 1
                    continue
                packer.drop(old)
            room = min(limit, packer.budget) - packer.used
            heads = [lines[m.start].rstrip() for m in members]
            reason = f"members of {d.name} ({len(members)} of {len(members)})"
            end = members[-1].start + 1
            used = count_tokens(render_block(loc.path, members[0].start + 1, end, reason, ""))
            fit = 0
            for head in heads:  # as many as fit, in file order (counted line by line)
                used += count_tokens(head + "\n")
                if used > room:
                    break
                fit += 1
            added = False
            for k in range(fit, max(0, fit - 3), -1):  # the exact count decides
                reason = f"members of {d.name} ({k} of {len(members)})"
                text = "\n".join(heads[:k])
                if packer.add(
                    loc.path, members[0].start, members[k - 1].start, reason, text, limit, False
                ):
                    added = True
                    break
            if added:
                done += 1
            elif old is not None:
                packer.put_back(old)
                done += 1
            if done >= types:
                return

    def _add_bodies(self, packer: Packer, candidates: list[Candidate], limit: int) -> None:
        """With budget left: whole bodies instead of signatures, best first."""
        for candidate in candidates:
            loc = candidate.located
            d = loc.definition
            shown = packer.find(loc.path, d.start, d.header_end)
            if shown is None or d.end == d.header_end or d.end - d.start > 80:
                continue
            lines = self.lines_of(loc.path)
            if lines is None:
                continue
            packer.drop(shown)
            if not packer.add(
                loc.path, d.start, d.end, candidate.reason, lines_text(lines, d.start, d.end), limit
            ):
                packer.put_back(shown)

    def _add_surroundings(self, packer: Packer, here: Here, scope: tuple[int, int]) -> None:
        """With budget left: the lines of this file before and after the scope, widened
        while they fit (the snippets of this file inside them give way)."""
        last_line = len(here.lines) - 1
        start, end = scope
        best: tuple[int, int, list[Snippet]] | None = None
        step = 20
        while start > 0 or end < last_line:
            start, end = max(0, start - step), min(last_line, end + step)
            step *= 2
            whole = (start, end) == (0, last_line)
            inside = [
                s
                for s in packer.snippets
                if s.path == here.path
                and s.start_line - 1 not in (scope[0],)
                and (whole or (start < s.start_line and s.end_line <= end + 1))
            ]
            cost = sum(count_tokens(block) for block in self._around(here, scope, start, end))
            if packer.used - sum(s.tokens for s in inside) + cost > packer.budget:
                break
            best = (start, end, inside)
        if best is None:
            return
        start, end, inside = best
        for old in inside:
            packer.drop(old)
        if start < scope[0]:
            text = lines_text(here.lines, start, scope[0] - 1)
            packer.add(here.path, start, scope[0] - 1, _BEFORE, text, packer.budget)
        if end > scope[1]:
            text = lines_text(here.lines, scope[1] + 1, end)
            packer.add(here.path, scope[1] + 1, end, _AFTER, text, packer.budget)

    @staticmethod
    def _around(here: Here, scope: tuple[int, int], start: int, end: int) -> list[str]:
        blocks = []
        if start < scope[0]:
            text = lines_text(here.lines, start, scope[0] - 1)
            blocks.append(render_block(here.path, start + 1, scope[0], _BEFORE, text))
        if end > scope[1]:
            text = lines_text(here.lines, scope[1] + 1, end)
            blocks.append(render_block(here.path, scope[1] + 2, end + 1, _AFTER, text))
        return blocks

    def _add_scope(
        self, packer: Packer, here: Here, scope: tuple[int, int], what: str, limit: int
    ) -> None:
        start, end = scope
        if packer.add(here.path, start, end, what, lines_text(here.lines, start, end), limit):
            return
        # Too big: the lines around the cursor, widened while they fit.
        radius = 8
        best: tuple[int, int] | None = None
        while radius < end - start:
            s, e = max(start, here.line - radius), min(end, here.line + radius)
            tokens = count_tokens(lines_text(here.lines, s, e)) + 20
            if tokens > limit - packer.used:
                break
            best = (s, e)
            radius *= 2
        if best is not None:
            s, e = best
            packer.add(here.path, s, e, f"{what} (part)", lines_text(here.lines, s, e), limit)

    def _add_definitions(self, packer: Packer, candidates: list[Candidate], limit: int) -> None:
        misses = 0
        for rank, candidate in enumerate(candidates):
            loc = candidate.located
            d = loc.definition
            if packer.overlaps(loc.path, d.start, d.header_end):
                continue
            text = self.lines_of(loc.path)
            if text is None:
                continue
            small = d.end - d.start <= 12 and d.kind not in ("class", "module")
            if (
                rank < 6
                and small
                and packer.add(
                    loc.path,
                    d.start,
                    d.end,
                    candidate.reason,
                    lines_text(text, d.start, d.end),
                    limit,
                )
            ):
                continue
            if not packer.add(
                loc.path,
                d.start,
                d.header_end,
                candidate.reason + ", signature",
                lines_text(text, d.start, d.header_end),
                limit,
            ):
                misses += 1
                if misses > 20 or packer.used >= limit - 8:
                    return

    def _add_outline(self, packer: Packer, here: Here, scope: tuple[int, int], limit: int) -> None:
        lines = here.lines
        heads = [
            d
            for d in here.tags.definitions
            if d.kind in SCOPE_KINDS and not (scope[0] <= d.start <= scope[1])
        ]
        if not heads:
            return
        heads.sort(key=lambda d: (abs(d.start - here.line), d.start))

        def block(chosen: list[Definition]) -> tuple[str, str]:
            text = "\n".join(lines[x.start].rstrip() for x in chosen)
            return text, f"outline of this file ({len(chosen)} of {len(heads)} definitions)"

        chosen: list[Definition] = []
        for d in heads:
            trial = sorted([*chosen, d], key=lambda x: x.start)
            text, reason = block(trial)
            cost = count_tokens(
                render_block(here.path, trial[0].start + 1, trial[-1].start + 1, reason, text)
            )
            if packer.used + cost > min(limit, packer.budget):
                break
            chosen = trial
        if chosen:
            text, reason = block(chosen)
            packer.add(here.path, chosen[0].start, chosen[-1].start, reason, text, limit, False)

    def _add_test(self, packer: Packer, here: Here, name: str, limit: int) -> None:
        stem = posixpath.splitext(posixpath.basename(here.path))[0]
        tests = [
            path
            for path in self.modules.tests
            if (tags := self.index.tags.get(path)) is not None
            and path != here.path
            and name in tags.names
        ]
        tests.sort(
            key=lambda p: (stem not in posixpath.basename(p), -shared_prefix(p, here.path), p)
        )
        for path in tests[:3]:
            lines = self.lines_of(path)
            tags = self.index.tags.get(path)
            if lines is None or tags is None:
                continue
            pattern = re.compile(rf"\b{re.escape(name)}\b")
            for d in tags.definitions:
                if d.kind not in ("function", "method") or d.end - d.start > 60:
                    continue
                if any(
                    pattern.search(lines[i]) for i in range(d.start, min(d.end + 1, len(lines)))
                ):
                    body = lines_text(lines, d.start, d.end)
                    if packer.add(path, d.start, d.end, f"a test that uses {name}", body, limit):
                        return

    def _add_recent(self, packer: Packer, here: Here, limit: int) -> None:
        for path, line in here.recent:
            tags = here.tags if path == here.path else self.index.tags.get(path)
            text = here.lines if path == here.path else self.lines_of(path)
            if tags is None or text is None:
                continue
            d = innermost(tags.definitions, line)
            start, end = (d.start, d.end) if d is not None else (max(0, line - 3), line + 3)
            if packer.overlaps(path, start, end):
                continue
            packer.add(path, start, end, "recently edited", lines_text(text, start, end), limit)
