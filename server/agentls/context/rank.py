"""Which definitions a task at a position needs, and how much: the ranking.

Names used in the enclosing scope count most, names near it less with distance;
each is resolved through the file's imports where possible (Python modules and
their re-exports, JS/TS relative paths, Go, Java, C, Rust), else by a name that is
rare in the workspace. Names the file imports but uses nowhere else, what
same-named functions elsewhere use, what the workspace's users of a module use
most from it and what echoes the task's function name add their weight. Every
ordering has a tie-breaker (path, line): the same input gives the same ranking.
"""

from __future__ import annotations

import builtins
import keyword
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from agentls.context.files import is_test_path
from agentls.context.imports import Binding, ModuleMap, bindings
from agentls.context.index import Located, WorkspaceIndex
from agentls.context.snippets import Here
from agentls.context.tags import Definition

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
_SLICE = 16_384  # characters a regular expression scans between two chances of a GIL switch
_MIN_SCORE = 0.15  # below: a guess by name from a word far away, not worth a token
_SIBLINGS_MAX = 400  # a name defined more often than this (__init__, setUp) is no hint
_SIBLINGS_READ = 8
_POPULAR_TAKEN = 8  # definitions offered per module the code uses
_GENERIC_HOOKS = frozenset({"setUp", "tearDown", "setUpClass", "tearDownClass", "run", "main"})
_WINDOW = 400  # lines around the cursor whose names count
_MAX_PER_NAME = 3  # definitions taken for one name
_AMBIGUOUS = 12  # a name defined in more places than this says little


@dataclass(order=True)
class Candidate:
    sort_key: tuple[float, str, int]
    located: Located = field(compare=False)
    score: float = field(compare=False)
    reason: str = field(compare=False)


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


def shared_prefix(a: str, b: str) -> int:
    pa, pb = a.split("/")[:-1], b.split("/")[:-1]
    n = 0
    for x, y in zip(pa, pb, strict=False):
        if x != y:
            break
        n += 1
    return n


class Ranker:
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
            key=lambda loc: (-shared_prefix(loc.path, here.path), loc.path, loc.definition.start)
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
                -shared_prefix(loc.path, here.path),
                loc.path,
                loc.definition.start,
            )
        )
        return everywhere[:_MAX_PER_NAME]

    def candidates(
        self, here: Here, scope: tuple[int, int], enclosing: Definition | None = None
    ) -> list[Candidate]:
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
        scores: dict[tuple[str, int], Candidate] = {}

        def offer(loc: Located, score: float, reason: str) -> None:
            key = (loc.path, loc.definition.start)
            old = scores.get(key)
            if old is None or score > old.score:
                sort_key = (-score, loc.path, loc.definition.start)
                scores[key] = Candidate(sort_key, loc, score, reason)

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
                near = 1 + 0.1 * shared_prefix(loc.path, here.path)
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
