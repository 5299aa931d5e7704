"""B5 tasks and their ground truth, from the corpus alone (Python's ``ast``, no engine).

A task is a function (module level, or a method of a module-level class) whose body
uses definitions (``def``/``class``) of *other* files of the corpus. Its body is
blanked (signature, decorators and docstring kept, the rest becomes ``...``), the
cursor goes on the ``...``, and the truth is the set of (defining file, name) that
the real body used.

Which file defines a name comes from the corpus itself: a map module -> file from
the import roots, the top-level ``def``/``class`` of every module, and its imports
(``from M import N [as A]``, ``import M [as A]``, ``from M import *``, relative
imports), followed through re-exports (``django.db.models.Q`` is defined in
``django/db/models/query_utils.py``). A body's uses are the names it loads that the
file (or the function's own local imports) imports, and ``alias.attr`` chains on
imported modules. Names that resolve to anything else (constants, modules,
builtins, the file's own definitions) are not counted.
"""

from __future__ import annotations

import ast
import io
import random
import tokenize
from dataclasses import asdict, dataclass, field
from pathlib import Path

from benchmarks.context.corpora import Corpus, python_files


@dataclass
class ModuleInfo:
    path: str  # relative to the corpus root
    package: str  # the package relative imports start from
    defs: dict[str, int] = field(default_factory=dict)  # top-level def/class -> 1-based line
    # local name -> ("module", dotted) | ("from", module, attr)
    imports: dict[str, tuple[str, ...]] = field(default_factory=dict)
    stars: list[str] = field(default_factory=list)


@dataclass
class Use:
    path: str
    name: str
    line: int  # 1-based line of its def/class in the defining file


@dataclass
class Task:
    id: str
    corpus: str
    path: str  # relative to the corpus root
    function: str  # qualified name, e.g. Class.method
    def_line: int  # 1-based
    body_start: int  # 1-based, first blanked line
    body_end: int  # 1-based, last blanked line
    line: int  # cursor, 0-based (the "..." line in the blanked text)
    column: int  # cursor, 0-based
    uses: list[Use]
    blanked: str  # the whole blanked file

    def to_dict(self, with_text: bool = True) -> dict[str, object]:
        d = asdict(self)
        if not with_text:
            d.pop("blanked")
        return d


def _module_name(rel: Path) -> tuple[str, bool]:
    parts = list(rel.with_suffix("").parts)
    is_pkg = parts[-1] == "__init__"
    if is_pkg:
        parts = parts[:-1]
    return ".".join(parts), is_pkg


class CorpusIndex:
    """Modules of a corpus by dotted name, with their top-level definitions and imports."""

    def __init__(self, corpus: Corpus) -> None:
        self.corpus = corpus
        self.modules: dict[str, ModuleInfo] = {}
        self.by_path: dict[str, tuple[str, ModuleInfo]] = {}
        self.trees: dict[str, ast.Module] = {}
        self.texts: dict[str, str] = {}
        files = python_files(corpus.root)
        # the first import root that holds a file names it (".", then "src", "tests")
        for p in files:
            rel_root = p.relative_to(corpus.root)
            try:
                text = p.read_text(encoding="utf-8")
                tree = ast.parse(text, filename=str(rel_root))
            except (SyntaxError, UnicodeDecodeError, ValueError):
                continue
            rel = str(rel_root)
            self.trees[rel] = tree
            self.texts[rel] = text
            for r in sorted(corpus.import_roots, key=lambda r: (r == ".", r)):
                base = corpus.root / r
                try:
                    sub = p.relative_to(base)
                except ValueError:
                    continue
                name, is_pkg = _module_name(sub)
                if not name:
                    continue
                package = name if is_pkg else name.rpartition(".")[0]
                info = self.modules.get(name)
                if info is None:
                    info = ModuleInfo(rel, package)
                    self._scan(tree, info)
                    self.modules[name] = info
                if rel not in self.by_path:
                    self.by_path[rel] = (name, info)

    # -- module contents

    @staticmethod
    def _absolute(package: str, module: str | None, level: int) -> str:
        if level == 0:
            return module or ""
        parts = package.split(".") if package else []
        if level > 1:
            parts = parts[: len(parts) - (level - 1)]
        base = ".".join(parts)
        if module:
            return f"{base}.{module}" if base else module
        return base

    def _scan(self, tree: ast.Module, info: ModuleInfo) -> None:
        def visit(stmts: list[ast.stmt]) -> None:
            for node in stmts:
                if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                    info.defs.setdefault(node.name, node.lineno)
                elif isinstance(node, ast.Import | ast.ImportFrom):
                    self._add_import(node, info.package, info.imports, info.stars)
                elif isinstance(node, ast.If):
                    visit(node.body)
                    visit(node.orelse)
                elif isinstance(node, ast.Try):
                    visit(node.body)
                    for h in node.handlers:
                        visit(h.body)
                    visit(node.orelse)
                    visit(node.finalbody)

        visit(tree.body)

    def _add_import(
        self,
        node: ast.Import | ast.ImportFrom,
        package: str,
        imports: dict[str, tuple[str, ...]],
        stars: list[str] | None,
    ) -> None:
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.asname:
                    imports.setdefault(a.asname, ("module", a.name))
                else:
                    top = a.name.split(".")[0]
                    imports.setdefault(top, ("module", top))
            return
        module = self._absolute(package, node.module, node.level)
        for a in node.names:
            if a.name == "*":
                if stars is not None:
                    stars.append(module)
                continue
            imports.setdefault(a.asname or a.name, ("from", module, a.name))

    # -- resolution

    def resolve(self, module: str, attr: str, depth: int = 0) -> Use | None:
        """Where ``module.attr`` is defined as a def/class, following re-exports."""
        if depth > 6:
            return None
        info = self.modules.get(module)
        if info is None:
            return None
        if attr in info.defs:
            return Use(info.path, attr, info.defs[attr])
        imp = info.imports.get(attr)
        if imp is not None:
            if imp[0] == "from":
                return self.resolve(imp[1], imp[2], depth + 1)
            return None  # a module
        for star in info.stars:
            found = self.resolve(star, attr, depth + 1)
            if found is not None:
                return found
        return None

    def resolve_import(self, imp: tuple[str, ...], attrs: list[str]) -> Use | None:
        """A name bound by ``imp``, then ``.attr`` for each of ``attrs`` (an attribute chain)."""
        if imp[0] == "from":
            module, attr = imp[1], imp[2]
            sub = f"{module}.{attr}"
            if (
                sub in self.modules
                and attr not in self.modules.get(module, ModuleInfo("", "")).defs
            ):
                # ``from pkg import submodule``: the chain continues in the submodule
                return self._chain(sub, attrs)
            if attrs:
                return None  # an attribute of a def/class (a method): not counted
            return self.resolve(module, attr)
        return self._chain(imp[1], attrs)

    def _chain(self, module: str, attrs: list[str]) -> Use | None:
        for i, attr in enumerate(attrs):
            sub = f"{module}.{attr}"
            if sub in self.modules and i + 1 < len(attrs):
                module = sub  # package.submodule.<...>
                continue
            # module.func, or module.Class.attr: the definition is the def/class
            return self.resolve(module, attr)
        return None


def _attr_chain(node: ast.expr) -> tuple[str, list[str]] | None:
    attrs: list[str] = []
    while isinstance(node, ast.Attribute):
        attrs.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        return node.id, attrs[::-1]
    return None


def _local_names(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> set[str]:
    """Parameters and names the function binds itself (they shadow imports)."""
    a = fn.args
    names = {x.arg for x in [*a.posonlyargs, *a.args, *a.kwonlyargs]}
    if a.vararg:
        names.add(a.vararg.arg)
    if a.kwarg:
        names.add(a.kwarg.arg)
    for node in ast.walk(fn):
        if node is fn:
            continue
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
    return names


def _body_uses(
    index: CorpusIndex,
    rel: str,
    fn: ast.FunctionDef | ast.AsyncFunctionDef,
    body: list[ast.stmt],
) -> list[Use]:
    _name, info = index.by_path[rel]
    imports = dict(info.imports)
    local_imports: dict[str, tuple[str, ...]] = {}
    for stmt in body:
        for node in ast.walk(stmt):
            if isinstance(node, ast.Import | ast.ImportFrom):
                index._add_import(node, info.package, local_imports, None)
    imports.update(local_imports)
    shadowed = _local_names(fn) - set(local_imports)
    found: dict[tuple[str, str], Use] = {}
    for stmt in body:
        for node in ast.walk(stmt):
            chain = None
            if isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Load):
                chain = _attr_chain(node)
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
                chain = (node.id, [])
            if chain is None:
                continue
            root, attrs = chain
            if root in shadowed or root not in imports:
                continue
            use = index.resolve_import(imports[root], attrs)
            if use is None and attrs:
                # ``alias.Class.method`` -> the class, ``alias.func`` -> the function
                use = index.resolve_import(imports[root], attrs[:1])
            if use is None or use.path == rel:
                continue
            found.setdefault((use.path, use.name), use)
    return sorted(found.values(), key=lambda u: (u.path, u.name))


def _signature_end(lines: list[str], fn: ast.FunctionDef | ast.AsyncFunctionDef) -> int | None:
    """1-based line of the ``:`` that ends the ``def``."""
    start = fn.lineno
    end = fn.body[0].lineno
    src = "".join(lines[start - 1 : end])
    depth = 0
    seen_def = False
    try:
        for tok in tokenize.generate_tokens(io.StringIO(src).readline):
            if tok.type == tokenize.NAME and tok.string == "def":
                seen_def = True
            elif tok.type == tokenize.OP:
                if tok.string in "([{":
                    depth += 1
                elif tok.string in ")]}":
                    depth -= 1
                elif tok.string == ":" and depth == 0 and seen_def:
                    return start + tok.start[0] - 1
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return None
    return None


def _candidates(
    index: CorpusIndex, rel: str
) -> list[tuple[str, ast.FunctionDef | ast.AsyncFunctionDef]]:
    tree = index.trees[rel]
    out: list[tuple[str, ast.FunctionDef | ast.AsyncFunctionDef]] = []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            out.append((node.name, node))
        elif isinstance(node, ast.ClassDef):
            for sub in node.body:
                if isinstance(sub, ast.FunctionDef | ast.AsyncFunctionDef):
                    out.append((f"{node.name}.{sub.name}", sub))
    return out


def make_task(
    index: CorpusIndex, rel: str, qualname: str, fn: ast.FunctionDef | ast.AsyncFunctionDef
) -> Task | None:
    text = index.texts[rel]
    lines = text.splitlines(keepends=True)
    body = list(fn.body)
    doc_end = None
    if (
        body
        and isinstance(body[0], ast.Expr)
        and isinstance(body[0].value, ast.Constant)
        and isinstance(body[0].value.value, str)
    ):
        doc_end = body[0].end_lineno
        body = body[1:]
    if not body or fn.end_lineno is None:
        return None
    if doc_end is not None:
        start = doc_end + 1
        if body[0].lineno <= doc_end:
            return None
    else:
        sig_end = _signature_end(lines, fn)
        if sig_end is None or body[0].lineno <= sig_end:
            return None  # ``def f(): return x`` on one line
        start = sig_end + 1
    end = fn.end_lineno
    n_body = end - start + 1
    if n_body < 2 or n_body > 80:
        return None
    uses = _body_uses(index, rel, fn, body)
    if not uses:
        return None
    indent = " " * body[0].col_offset
    blanked_lines = [*lines[: start - 1], f"{indent}...\n", *lines[end:]]
    blanked = "".join(blanked_lines)
    return Task(
        id=f"{index.corpus.name}:{rel}:{fn.lineno}",
        corpus=index.corpus.name,
        path=rel,
        function=qualname,
        def_line=fn.lineno,
        body_start=start,
        body_end=end,
        line=start - 1,
        column=len(indent),
        uses=uses,
        blanked=blanked,
    )


def is_test_path(rel: str) -> bool:
    parts = Path(rel).parts
    return any(p in ("test", "tests", "testing") for p in parts[:-1]) or parts[-1].startswith(
        ("test_", "tests.")
    )


def generate(corpus: Corpus, n: int, seed: int = 20261122) -> tuple[list[Task], dict[str, int]]:
    """A deterministic sample of ``n`` tasks, half from test files and half from the rest.

    (Unstratified, test functions would be ~85 % of the sample: they are most of the
    functions that use other files' definitions.) Counts about the population too.
    """
    index = CorpusIndex(corpus)
    population: list[tuple[str, str, ast.FunctionDef | ast.AsyncFunctionDef]] = []
    for rel in sorted(index.by_path):
        for qual, fn in _candidates(index, rel):
            population.append((rel, qual, fn))
    rng = random.Random(f"{seed}:{corpus.name}")
    order = list(range(len(population)))
    rng.shuffle(order)
    want = {True: n // 2, False: n - n // 2}
    picked: dict[bool, list[Task]] = {True: [], False: []}
    tried = 0
    for i in order:
        if all(len(picked[k]) >= want[k] for k in want):
            break
        rel, qual, fn = population[i]
        kind = is_test_path(rel)
        if len(picked[kind]) >= want[kind]:
            continue
        tried += 1
        task = make_task(index, rel, qual, fn)
        if task is not None:
            picked[kind].append(task)
    # if one kind ran short, fill up with the other (in the same shuffled order)
    tasks = picked[False] + picked[True]
    if len(tasks) < n:
        have = {t.id for t in tasks}
        for i in order:
            if len(tasks) >= n:
                break
            rel, qual, fn = population[i]
            task = make_task(index, rel, qual, fn)
            if task is not None and task.id not in have:
                tasks.append(task)
                have.add(task.id)
    tasks.sort(key=lambda t: (is_test_path(t.path), t.path, t.def_line))
    stats = {
        "python_files": len(index.trees),
        "functions": len(population),
        "examined": tried,
        "tasks": len(tasks),
        "test_tasks": sum(is_test_path(t.path) for t in tasks),
    }
    return tasks, stats


def check_blanked(task: Task) -> None:
    """The blanked file still parses and the cursor is on the ``...``."""
    ast.parse(task.blanked)
    line = task.blanked.splitlines()[task.line]
    assert line[task.column :] == "...", (task.id, line)
