"""Choosing the code a task at a position needs, packed under a token budget.

Read top to bottom: the enclosing scope in full -> the names used in it and near
it, weighted by where they occur -> their definitions, resolved through the file's
imports where possible, else by name (the rarer the name, the surer) -> ranked
and packed as signatures or, for the best small ones, whole bodies -> the file's
outline, a related test and recently edited regions, each in a share of the
budget. Every ordering has a tie-breaker (path, line), so the same input gives
byte-identical output.
"""

from __future__ import annotations

import builtins
import keyword
import posixpath
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from agentls.context.files import is_test_path
from agentls.context.imports import Binding, ModuleMap, bindings
from agentls.context.index import Located, WorkspaceIndex
from agentls.context.tags import Definition, FileTags
from agentls.model.tokens import count_tokens

_WORD = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*")
_ATTRIBUTE = re.compile(r"([A-Za-z_$][A-Za-z0-9_$]*)\.([A-Za-z_$][A-Za-z0-9_$]*)")
_KIND_WEIGHT = {
    "class": 1.0,
    "function": 1.0,
    "type": 1.0,
    "interface": 1.0,
    "macro": 0.9,
    "method": 0.8,
    "constant": 0.7,
    "field": 0.4,
    "module": 0.3,
}
_SCOPE_KINDS = frozenset({"function", "method", "class", "interface", "type", "module"})
_BOUND = re.compile(
    r"(?:\bfor\s+|\bas\s+|^\s*)([A-Za-z_][A-Za-z0-9_]*)\s*(?:=(?!=)|\bin\b|,|:(?!:)|\))",
    re.MULTILINE,
)
_DOCSTRING = re.compile(r'"""[\s\S]*?"""|\'\'\'[\s\S]*?\'\'\'')
_STRINGS = re.compile(r"""("[^"\\]*(?:\\.[^"\\]*)*"|'[^'\\]*(?:\\.[^'\\]*)*')""")
_BUILTINS = {
    "python": frozenset(dir(builtins)) | frozenset(keyword.kwlist) | {"self", "cls"},
    "javascript": frozenset(
        "this console Object Array String Number Boolean Promise Math JSON Error Map Set"
        " window document require module exports undefined null true false".split()
    ),
}
_BUILTINS["typescript"] = _BUILTINS["typescriptreact"] = _BUILTINS["javascript"]
_BEFORE = "this file, before it"
_AFTER = "this file, after it"
_SLICE = 16_384  # characters a regular expression scans between two chances of a GIL switch
_MIN_SCORE = 0.15  # below: a guess by name from a word far away, not worth a token
_SIBLINGS_MAX = 400  # a name defined more often than this (__init__, setUp) is no hint
_SIBLINGS_READ = 8
_POPULAR_TAKEN = 8  # definitions offered per module the code uses
_GENERIC_HOOKS = frozenset({"setUp", "tearDown", "setUpClass", "tearDownClass", "run", "main"})
_WINDOW = 400  # lines around the cursor whose names count
_MAX_PER_NAME = 3  # definitions taken for one name
_AMBIGUOUS = 12  # a name defined in more places than this says little


@dataclass(frozen=True)
class Snippet:
    path: str  # relative to the workspace
    start_line: int  # 1-based, inclusive
    end_line: int
    reason: str
    text: str
    tokens: int = 0  # of the rendered block (header + text), what the prompt holds

    def render(self) -> str:
        return render_block(self.path, self.start_line, self.end_line, self.reason, self.text)

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "startLine": self.start_line,
            "endLine": self.end_line,
            "tokens": self.tokens,
            "reason": self.reason,
            "text": self.text,
        }


def render_block(path: str, start: int, end: int, reason: str, text: str) -> str:
    """A snippet as the prompt holds it (the reason is for the user, not the model)."""
    if reason.startswith("outline"):
        return f"### {path} (outline)\n{text.rstrip()}\n"
    where = f"{start}" if start == end else f"{start}-{end}"
    return f"### {path}:{where}\n{text.rstrip()}\n"


@dataclass
class Selection:
    snippets: list[Snippet]
    budget: int

    @property
    def total_tokens(self) -> int:
        return sum(s.tokens for s in self.snippets)

    def render(self) -> str:
        return "\n".join(s.render() for s in self.snippets)

    def to_json(self) -> dict[str, Any]:
        return {"snippets": [s.to_json() for s in self.snippets], "totalTokens": self.total_tokens}


@dataclass(frozen=True)
class Here:
    """The file the task is in, as the editor has it."""

    path: str
    language: str
    lines: list[str]
    tags: FileTags
    line: int  # 0-based
    recent: tuple[tuple[str, int], ...] = ()  # (path, 0-based line), newest first
    text: str = ""  # the lines joined (given, so it need not be joined again)

    def __post_init__(self) -> None:
        if not self.text and self.lines:
            object.__setattr__(self, "text", "\n".join(self.lines))


@dataclass(order=True)
class _Candidate:
    sort_key: tuple[float, str, int]
    located: Located = field(compare=False)
    score: float = field(compare=False)
    reason: str = field(compare=False)


class _Packer:
    def __init__(self, budget: int) -> None:
        self.budget = budget
        self.used = 0
        self.snippets: list[Snippet] = []
        self.taken: dict[str, list[tuple[int, int]]] = {}
        self._dropped: tuple[int, Snippet] | None = None

    def find(self, path: str, start: int, end: int) -> Snippet | None:
        for snippet in self.snippets:
            if (snippet.path, snippet.start_line - 1, snippet.end_line - 1) == (path, start, end):
                return snippet
        return None

    def drop(self, snippet: Snippet) -> None:
        index = self.snippets.index(snippet)
        self.snippets.pop(index)
        self.used -= snippet.tokens
        span = (snippet.start_line - 1, snippet.end_line - 1)
        if span in self.taken.get(snippet.path, []):
            self.taken[snippet.path].remove(span)
        self._dropped = (index, snippet)

    def put_back(self, snippet: Snippet) -> None:
        assert self._dropped is not None and self._dropped[1] is snippet
        index = self._dropped[0]
        self.snippets.insert(index, snippet)
        self.used += snippet.tokens
        self.taken.setdefault(snippet.path, []).append(
            (snippet.start_line - 1, snippet.end_line - 1)
        )

    def covered(self, path: str, start: int, end: int) -> bool:
        return any(s <= start and end <= e for s, e in self.taken.get(path, ()))

    def overlaps(self, path: str, start: int, end: int) -> bool:
        return any(start <= e and s <= end for s, e in self.taken.get(path, ()))

    def add(
        self,
        path: str,
        start: int,
        end: int,
        reason: str,
        text: str,
        limit: int,
        verbatim: bool = True,
    ) -> bool:
        """Add lines ``start..end`` (0-based, inclusive) if they fit under ``limit``.

        ``verbatim``: the text is those lines (not an outline), so they count as shown."""
        if self.covered(path, start, end):
            return False
        tokens = count_tokens(render_block(path, start + 1, end + 1, reason, text))
        if self.used + tokens > min(limit, self.budget):
            return False
        self.used += tokens
        self.snippets.append(Snippet(path, start + 1, end + 1, reason, text.rstrip(), tokens))
        if verbatim:
            self.taken.setdefault(path, []).append((start, end))
        return True


def _lines(lines: list[str], start: int, end: int) -> str:
    return "\n".join(lines[start : end + 1])


def _innermost(definitions: tuple[Definition, ...], line: int) -> Definition | None:
    best: Definition | None = None
    for d in definitions:
        if d.kind in _SCOPE_KINDS and d.start <= line <= d.end:
            if best is None or (d.end - d.start) <= (best.end - best.start):
                best = d
    return best


_CAMEL = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|[0-9]+")
_PLAIN_WORDS = frozenset(
    "test tests self with from that this into make when then else none true false init"
    " main case cases check value values data item items name names list dict type".split()
)


def _uses(text: str, imports: tuple[str, ...], imported: dict[str, Binding]) -> Counter[str]:
    """How often each imported name occurs in the file outside its import statements
    (one regular expression over the file, at C speed)."""
    names = sorted(name for name in imported if _WORD.fullmatch(name))
    if not names:
        return Counter()
    pattern = re.compile(r"(?<![\w$])(?:" + "|".join(map(re.escape, names)) + r")(?![\w$])")
    uses: Counter[str] = Counter()
    # In slices cut at line ends: the regex engine keeps the GIL, and the event loop
    # must get it back between slices (this runs in a worker thread while edits stream).
    start = 0
    while start < len(text):
        end = text.find("\n", start + _SLICE)
        end = len(text) if end == -1 else end + 1
        uses.update(pattern.findall(text, start, end))
        start = end
    uses.subtract(Counter(pattern.findall("\n".join(imports))))
    return uses


def _topic_words(definition: Definition | None) -> tuple[str, ...]:
    """The telling words of a function's name: ``test_http_error`` -> ("http", "error")."""
    if definition is None:
        return ()
    words = {w.lower() for w in _CAMEL.findall(definition.name)}
    return tuple(sorted(w for w in words if len(w) >= 4 and w not in _PLAIN_WORDS))


def _header_params(lines: list[str], scope: tuple[int, int]) -> set[str]:
    """Lower-case words of the scope's first line: its parameters, in most languages."""
    head = lines[scope[0]] if scope[0] < len(lines) else ""
    return {w for w in _WORD.findall(head.partition("(")[2]) if not w[:1].isupper()}


def _shared_prefix(a: str, b: str) -> int:
    pa, pb = a.split("/")[:-1], b.split("/")[:-1]
    n = 0
    for x, y in zip(pa, pb, strict=False):
        if x != y:
            break
        n += 1
    return n


class Selector:
    def __init__(
        self,
        index: WorkspaceIndex,
        modules: ModuleMap,
        lines_of: Callable[[str], list[str] | None],
    ) -> None:
        self.index = index
        self.modules = modules
        self.lines_of = lines_of

    # -- what the task is about ---------------------------------------------------------
    def _weights(self, here: Here, scope: tuple[int, int]) -> tuple[dict[str, float], set[str]]:
        """Names used like references in the scope (most) and near it (less with distance).

        A reference is a call, an attribute, a capitalised word or a word of the
        scope's code; names the scope binds itself (parameters, assignments, loop
        variables) and the language's builtins are not looked up."""
        first = max(0, here.line - _WINDOW)
        window = "\n".join(here.lines[first : here.line + _WINDOW])
        if here.language == "python":  # docstrings are prose, not references
            window = _DOCSTRING.sub(lambda m: "\n" * m.group().count("\n"), window)
        lines = [""] * first + window.split("\n")
        last = len(lines)
        scope_text = "\n".join(lines[scope[0] : scope[1] + 1])
        bound = set(_BOUND.findall(scope_text)) | _header_params(lines, scope)
        skip = _BUILTINS.get(here.language, frozenset()) | bound
        weights: dict[str, float] = {}
        strong_words: set[str] = set()
        for number in range(first, last):
            inside = scope[0] <= number <= scope[1]
            distance = 0 if inside else min(abs(number - scope[0]), abs(number - scope[1]))
            weight = 2.0 if inside else 0.5 / (1 + distance / 40)
            line = _STRINGS.sub(
                '""', lines[number].split("#", 1)[0] if here.language == "python" else lines[number]
            )
            for match in _WORD.finditer(line):
                word = match.group()
                if word in skip or len(word) < 2:
                    continue
                after = line[match.end() : match.end() + 1]
                before = line[match.start() - 1 : match.start()] if match.start() else ""
                strong = after == "(" or word[0].isupper() or before == "@"
                factor = 1.0 if strong else 0.5
                if strong:
                    strong_words.add(word)
                if before == ".":  # an attribute: by name it says little, unless self.x
                    owner = line[: match.start() - 1].rstrip()
                    factor *= 0.8 if owner.endswith(("self", "this", "cls")) else 0.25
                weights[word] = weights.get(word, 0.0) + weight * factor
        # Repetition helps a little, not linearly.
        return {name: min(w, 4.0 + w / 8) for name, w in weights.items()}, strong_words

    def _attributes(self, here: Here, scope: tuple[int, int]) -> list[tuple[str, str]]:
        """``module.name`` uses in the scope and its window: (module binding, name)."""
        first = max(0, here.line - _WINDOW)
        text = "\n".join(here.lines[first : here.line + _WINDOW])
        return sorted(set(_ATTRIBUTE.findall(text)))

    def _module_files(self, language: str, bound: Binding, importer: str) -> list[str]:
        """The files of the module a binding names (``import os``, ``from pkg import mod``,
        JS ``import * as ns``); empty when it names something else."""
        if bound.name == "*" and bound.local:  # import * as ns from './x'
            return self.modules.resolve(language, bound.module, importer)
        if bound.name in ("*", "default"):
            return []
        if bound.name == "":
            return self.modules.resolve(language, bound.module, importer)
        return self.modules.resolve(language, f"{bound.module}.{bound.name}", importer)

    def _popular(self, language: str, bound: Binding, importer: str) -> list[tuple[Located, float]]:
        """The top-level definitions of the module ``bound`` names, most used first: by
        the share of the workspace's files that mention the module's local name that
        also use the definition's name."""
        files = self._module_files(language, bound, importer)
        if not files:
            return []
        key = (files[0], bound.local)
        known = self.modules.popular.get(key)
        if known is not None:
            return known
        module_tags = self.index.tags.get(files[0])
        users = [
            tags.names
            for p in self.modules.ordered
            if p != files[0]
            and (tags := self.index.tags.get(p)) is not None
            and bound.local in tags.names
        ]
        found: list[tuple[Located, float]] = []
        if module_tags is not None and users:
            top = [d for d in module_tags.definitions if not d.scope and not d.name.startswith("_")]
            wanted = frozenset(d.name for d in top)
            counts: Counter[str] = Counter()
            for names in users:  # set intersections run at C speed
                counts.update(wanted & names)
            for d in top:
                share = counts[d.name] / len(users)
                found.append((Located(files[0], d), share))
            found.sort(key=lambda item: (-item[1], item[0].definition.start))
        self.modules.popular[key] = found
        return found

    def _siblings(
        self, here: Here, enclosing: Definition | None
    ) -> tuple[dict[str, float], list[tuple[str, str]]]:
        """What functions of the same name elsewhere use (implementations of the same
        interface, the same hook in sibling modules): names and ``module.name`` pairs."""
        if enclosing is None or enclosing.kind not in ("function", "method"):
            return {}, []
        if enclosing.name.startswith("__") or enclosing.name in _GENERIC_HOOKS:
            return {}, []  # every class has one: what others do says nothing here
        others = [
            loc
            for loc in self.index.definitions(enclosing.name)
            if loc.path != here.path and loc.definition.kind == enclosing.kind
        ]
        if not others or len(others) > _SIBLINGS_MAX:
            return {}, []
        others.sort(
            key=lambda loc: (-_shared_prefix(loc.path, here.path), loc.path, loc.definition.start)
        )
        others = others[:_SIBLINGS_READ]
        share = 1.0 / len(others)
        weights: dict[str, float] = {}
        pairs: set[tuple[str, str]] = set()
        for loc in others:
            lines = self.lines_of(loc.path)
            if lines is None:
                continue
            d = loc.definition
            body = "\n".join(lines[d.header_end + 1 : d.end + 1])
            pairs.update(_ATTRIBUTE.findall(body))
            for match in _WORD.finditer(body):
                word = match.group()
                if body[match.end() : match.end() + 1] == "(" or word[0].isupper():
                    weights[word] = min(weights.get(word, 0.0) + share, 1.5)
        return weights, sorted(pairs)

    # -- resolving names ----------------------------------------------------------------
    def _in_module(
        self, language: str, module: str, name: str, importer: str, depth: int = 0
    ) -> list[Located]:
        """Definitions of ``name`` in the files ``module`` stands for (following re-exports)."""
        found: list[Located] = []
        for path in self.modules.resolve(language, module, importer):
            tags = self.index.tags.get(path)
            if tags is None:
                continue
            here = [Located(path, d) for d in tags.definitions if d.name == name]
            if here:
                found.extend(here)
                continue
            if depth >= 2:
                continue
            for b in self.modules.bindings_of(path, tags):
                if b.local == name or b.name == "*":
                    source = b.name if b.name not in ("", "*") else name
                    found.extend(self._in_module(tags.language, b.module, source, path, depth + 1))
            if not found and language == "python":  # `from pkg import submodule`
                found.extend(self._in_module(language, f"{module}.{name}", "", importer, 9))
        return found

    def _resolve(self, here: Here, name: str, imported: dict[str, Binding]) -> list[Located]:
        binding = imported.get(name)
        if binding is not None and binding.name == "":
            return []  # a module (``import os``): its uses are ``os.x``, see candidates
        if binding is not None:
            source = name if binding.name in ("*", "default") else binding.name
            found = self._in_module(here.language, binding.module, source, here.path)
            if found:
                return found[:_MAX_PER_NAME]
            if self._module_files(here.language, binding, here.path):
                return []  # ``from pkg import module``: a module too
        if self.index.count(name) > _AMBIGUOUS + 1:
            return []
        everywhere = [loc for loc in self.index.definitions(name) if loc.path != here.path]
        if not everywhere or len(everywhere) > _AMBIGUOUS:
            return []
        testing = bool(is_test_path(here.path))
        everywhere.sort(
            key=lambda loc: (
                not testing and bool(is_test_path(loc.path)),
                -_shared_prefix(loc.path, here.path),
                loc.path,
                loc.definition.start,
            )
        )
        return everywhere[:_MAX_PER_NAME]

    def candidates(
        self, here: Here, scope: tuple[int, int], enclosing: Definition | None = None
    ) -> list[_Candidate]:
        weights, strong = self._weights(here, scope)
        sibling_weights, sibling_pairs = self._siblings(here, enclosing)
        for name, weight in sibling_weights.items():
            weights[name] = weights.get(name, 0.0) + weight
            strong.add(name)
        imported = {b.local: b for b in bindings(here.language, here.tags.imports) if b.local}
        local = {d.name for d in here.tags.definitions}
        # A name the file imports but uses nowhere else is most likely wanted where the
        # code is being written; any imported name is an API the file works with.
        uses = _uses(here.text, here.tags.imports, imported)
        for name, bound in imported.items():
            if bound.name in ("", "*") or name in local:
                continue
            weights[name] = weights.get(name, 0.0) + (1.0 if uses[name] > 0 else 2.5)
        scores: dict[tuple[str, int], _Candidate] = {}

        def offer(loc: Located, score: float, reason: str) -> None:
            key = (loc.path, loc.definition.start)
            old = scores.get(key)
            if old is None or score > old.score:
                sort_key = (-score, loc.path, loc.definition.start)
                scores[key] = _Candidate(sort_key, loc, score, reason)

        for name in sorted(weights):
            weight = weights[name]
            if name in local and name not in imported:
                for d in here.tags.definitions:
                    if d.name == name and not (d.start <= here.line <= d.end):
                        offer(Located(here.path, d), weight * 0.3, f"defines {name}, used here")
                continue
            found = self._resolve(here, name, imported)
            if not found:
                continue
            sure = name in imported
            total = self.index.count(name)
            specificity = 1.0 if sure else 1.0 / (1 + max(0, total - 1)) ** 0.6
            if not sure and name not in strong:  # a plain lower-case word, guessed by name
                specificity *= 0.4
            testing = bool(is_test_path(here.path))
            for loc in found:
                kind = _KIND_WEIGHT.get(loc.definition.kind, 0.5)
                near = 1 + 0.1 * _shared_prefix(loc.path, here.path)
                if not testing and is_test_path(loc.path):
                    near *= 0.3
                how = "imported here" if sure else "by name"
                offer(loc, weight * specificity * kind * near, f"defines {name} ({how})")
        topic = _topic_words(enclosing)
        for name, bound in sorted(imported.items()):
            # A module the code uses: its definitions that the files using the module
            # use most are likely wanted too (``re.sub``, ``models.CharField``).
            usage = weights.get(name, 0.0)
            if usage <= 0 or name in local:
                continue
            popular = self._popular(here.language, bound, here.path)
            for loc, share in popular[:_POPULAR_TAKEN]:
                kind = _KIND_WEIGHT.get(loc.definition.kind, 0.5)
                score = min(usage, 2.0) * share * kind * 0.6
                offer(loc, score, f"often used from {name}")
            # ... and those whose name echoes the task's function (configure_logger ->
            # logging.getLogger, test_readline -> codecs.getreader).
            for loc, share in popular if topic else ():
                lowered = loc.definition.name.lower()
                if any(word in lowered for word in topic):
                    kind = _KIND_WEIGHT.get(loc.definition.kind, 0.5)
                    offer(
                        loc,
                        (0.5 + share) * kind * 0.8,
                        f"{name}.{loc.definition.name}, like the task's name",
                    )
        for module_name, attr in sorted({*self._attributes(here, scope), *sibling_pairs}):
            module_binding = imported.get(module_name)
            if module_binding is None:
                continue
            module = module_binding.module
            if module_binding.name != "":
                module = f"{module}.{module_binding.name}"
            for loc in self._in_module(here.language, module, attr, here.path)[:_MAX_PER_NAME]:
                weight = weights.get(attr, 0.5) + 0.5
                kind = _KIND_WEIGHT.get(loc.definition.kind, 0.5)
                offer(loc, weight * kind, f"defines {module_name}.{attr}")
        return sorted(c for c in scores.values() if c.score >= _MIN_SCORE)

    # -- packing ------------------------------------------------------------------------
    def select(self, here: Here, budget: int) -> Selection:
        packer = _Packer(budget)
        lines = here.lines
        enclosing = _innermost(here.tags.definitions, here.line)
        if enclosing is not None:
            scope = (enclosing.start, enclosing.end)
            what = f"the enclosing {enclosing.kind} {enclosing.name}"
        else:
            scope = (max(0, here.line - 10), min(len(lines) - 1, here.line + 10))
            what = "the code around the cursor"
        self._add_scope(packer, here, scope, what, budget // 2)
        candidates = self.candidates(here, scope, enclosing)
        self._add_definitions(packer, candidates, int(budget * 0.75))
        self._add_outline(packer, here, scope, packer.used + budget // 10)
        if enclosing is not None:
            self._add_test(packer, here, enclosing.name, packer.used + budget // 7)
        self._add_recent(packer, here, packer.used + budget // 10)
        self._add_definitions(packer, candidates, budget)
        self._add_bodies(packer, candidates, budget)
        self._add_surroundings(packer, here, scope)
        return Selection(packer.snippets, budget)

    def _add_bodies(self, packer: _Packer, candidates: list[_Candidate], limit: int) -> None:
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
                loc.path, d.start, d.end, candidate.reason, _lines(lines, d.start, d.end), limit
            ):
                packer.put_back(shown)

    def _add_surroundings(self, packer: _Packer, here: Here, scope: tuple[int, int]) -> None:
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
            text = _lines(here.lines, start, scope[0] - 1)
            packer.add(here.path, start, scope[0] - 1, _BEFORE, text, packer.budget)
        if end > scope[1]:
            text = _lines(here.lines, scope[1] + 1, end)
            packer.add(here.path, scope[1] + 1, end, _AFTER, text, packer.budget)

    @staticmethod
    def _around(here: Here, scope: tuple[int, int], start: int, end: int) -> list[str]:
        blocks = []
        if start < scope[0]:
            text = _lines(here.lines, start, scope[0] - 1)
            blocks.append(render_block(here.path, start + 1, scope[0], _BEFORE, text))
        if end > scope[1]:
            text = _lines(here.lines, scope[1] + 1, end)
            blocks.append(render_block(here.path, scope[1] + 2, end + 1, _AFTER, text))
        return blocks

    def _add_scope(
        self, packer: _Packer, here: Here, scope: tuple[int, int], what: str, limit: int
    ) -> None:
        start, end = scope
        if packer.add(here.path, start, end, what, _lines(here.lines, start, end), limit):
            return
        # Too big: the lines around the cursor, widened while they fit.
        radius = 8
        best: tuple[int, int] | None = None
        while radius < end - start:
            s, e = max(start, here.line - radius), min(end, here.line + radius)
            tokens = count_tokens(_lines(here.lines, s, e)) + 20
            if tokens > limit - packer.used:
                break
            best = (s, e)
            radius *= 2
        if best is not None:
            s, e = best
            packer.add(here.path, s, e, f"{what} (part)", _lines(here.lines, s, e), limit)

    def _add_definitions(self, packer: _Packer, candidates: list[_Candidate], limit: int) -> None:
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
                    loc.path, d.start, d.end, candidate.reason, _lines(text, d.start, d.end), limit
                )
            ):
                continue
            if not packer.add(
                loc.path,
                d.start,
                d.header_end,
                candidate.reason + ", signature",
                _lines(text, d.start, d.header_end),
                limit,
            ):
                misses += 1
                if misses > 20 or packer.used >= limit - 8:
                    return

    def _add_outline(self, packer: _Packer, here: Here, scope: tuple[int, int], limit: int) -> None:
        lines = here.lines
        heads = [
            d
            for d in here.tags.definitions
            if d.kind in _SCOPE_KINDS and not (scope[0] <= d.start <= scope[1])
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

    def _add_test(self, packer: _Packer, here: Here, name: str, limit: int) -> None:
        stem = posixpath.splitext(posixpath.basename(here.path))[0]
        tests = [
            path
            for path in self.modules.tests
            if (tags := self.index.tags.get(path)) is not None
            and path != here.path
            and name in tags.names
        ]
        tests.sort(
            key=lambda p: (stem not in posixpath.basename(p), -_shared_prefix(p, here.path), p)
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
                    body = _lines(lines, d.start, d.end)
                    if packer.add(path, d.start, d.end, f"a test that uses {name}", body, limit):
                        return

    def _add_recent(self, packer: _Packer, here: Here, limit: int) -> None:
        for path, line in here.recent:
            tags = here.tags if path == here.path else self.index.tags.get(path)
            text = here.lines if path == here.path else self.lines_of(path)
            if tags is None or text is None:
                continue
            d = _innermost(tags.definitions, line)
            start, end = (d.start, d.end) if d is not None else (max(0, line - 3), line + 3)
            if packer.overlaps(path, start, end):
                continue
            packer.add(path, start, end, "recently edited", _lines(text, start, end), limit)
