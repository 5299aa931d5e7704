"""Names to definitions in one tree of a repository, for the history benchmark.

``TreeView`` over a commit's files: each source file's definitions and imports, an
import resolved to files (Python modules and packages, JavaScript/TypeScript relative
paths, Go packages of the module), a name followed through re-exports. Used for the
gold set (which definition a name on an added line means) and for the imports-only
baseline (the definitions of the names a file imports).
"""

from __future__ import annotations

import builtins
import posixpath
import re
from collections.abc import Callable
from functools import cache
from pathlib import PurePosixPath

from benchmarks.context import history_lang as hl

_VENDORED = {"vendor", "_vendor", "vendored", "third_party", "node_modules", "packages"}
# method names of the languages' own types: ``headers.get(...)`` is not a use of the
# one ``get`` the repository happens to define
_JS_BUILTIN_METHODS = set(
    "get set has delete add clear keys values entries forEach map filter reduce some every "
    "find findIndex includes indexOf push pop shift unshift slice splice concat join sort "
    "reverse flat flatMap then catch finally call apply bind toString valueOf toJSON length "
    "split trim trimStart trimEnd startsWith endsWith replace replaceAll match test exec "
    "toLowerCase toUpperCase charAt charCodeAt padStart padEnd repeat substring substr "
    "hasOwnProperty assign freeze create defineProperty getPrototypeOf isArray from of "
    "parse stringify next return throw resolve reject all race any abort emit on once off "
    "write end send".split()
)
# Go: the standard library's common method and field names (``r.Header.Get``,
# ``r.Method``, ``ctx.Value``), which a repository's own methods often share
_GO_BUILTIN_METHODS = set(
    "Error String Read Write Close Len Less Swap Get Set Add Del Value Method Header "
    "Handle HandleFunc ServeHTTP URL Path Host WriteHeader Done Err Deadline Next Reset "
    "Flush Hijack Push Context WithContext Clone Query Encode Lock Unlock RLock RUnlock "
    "Load Store Name Type Kind Elem Field Call Run Start Stop Wait Println Printf Sprintf "
    "Errorf Fatal Fatalf Log Logf Helper Parse Contains Index Join Split Trim Replace "
    "HasPrefix HasSuffix Cookie Cookies FormValue Body Status StatusCode Cap Append Copy "
    "Bytes Int Bool Float64 Int64 Uint Strings Time Now Since Unix Sub Before After Equal "
    "Format Match Compile Open Create Remove Stat Sync Scan Text Pattern Key Keys Values "
    "Delete Has Lookup Execute Print Fprintf Fprintln Fprint".split()
)


@cache
def _py_builtin_methods() -> frozenset[str]:
    names: set[str] = set(dir(builtins))
    for t in (dict, list, str, bytes, set, frozenset, tuple, int, float, object):
        names |= set(dir(t))
    names |= {"read", "write", "close", "seek", "tell", "readline", "readlines", "flush"}
    return frozenset(names)


def builtin_method(family: str, name: str) -> bool:
    if family == "py":
        return name in _py_builtin_methods()
    if family == "js":
        return name in _JS_BUILTIN_METHODS
    return name in _GO_BUILTIN_METHODS


def is_source(path: str, family: str) -> bool:
    lang = hl.language_of(path)
    if lang is None or hl.FAMILY[lang] != family or hl.is_test_path(path):
        return False
    return not any(p in _VENDORED for p in PurePosixPath(path).parts[:-1])


Binding = tuple[str, str, str]  # (file, imported name ("" whole module), local name)


class TreeView:
    """One commit's tree as seen by one language family."""

    def __init__(
        self,
        files: dict[str, str],
        family: str,
        read: Callable[[str], bytes],
        definitions: Callable[[str, str], list[hl.Definition]],
    ) -> None:
        self.files = files  # path -> blob id
        self.family = family
        self.read_blob = read
        self.blob_definitions = definitions
        self.paths = {p for p in files if is_source(p, family)}
        self.module = ""
        if family == "go" and "go.mod" in files:
            m = re.search(rb"^module\s+(\S+)", read(files["go.mod"]), re.MULTILINE)
            self.module = m.group(1).decode() if m else ""
        self._bindings: dict[str, list[Binding]] = {}
        self._where: dict[str, list[str]] | None = None

    def data(self, path: str) -> bytes:
        return self.read_blob(self.files[path])

    def definitions(self, path: str) -> list[hl.Definition]:
        lang = hl.language_of(path)
        assert lang is not None
        return self.blob_definitions(self.files[path], lang)

    def top(self, path: str, name: str) -> hl.Definition | None:
        return next((d for d in self.definitions(path) if d.owner == "" and d.name == name), None)

    def members(self, name: str) -> list[str]:
        """Files (sorted) defining ``name`` inside a class or type (a method, or a type
        or function nested in one): what ``obj.name`` can mean when ``obj`` is no module."""
        if self._where is None:
            self._where = {}
            for path in sorted(self.paths):
                for d in self.definitions(path):
                    if not d.owner:
                        continue
                    found = self._where.setdefault(d.name, [])
                    if not found or found[-1] != path:
                        found.append(path)
        return self._where.get(name, [])

    # -- imports ------------------------------------------------------------------------

    def bindings(self, path: str, data: bytes | None = None) -> list[Binding]:
        """What ``path`` imports from the tree, in order. Go: the files of imported
        packages of the module, then those of its own package (local name "")."""
        if data is None and path in self._bindings:
            return self._bindings[path]
        lang = hl.language_of(path)
        assert lang is not None
        text = self.data(path) if data is None else data
        out: list[Binding] = []
        for imp in hl.imports(lang, text):
            if self.family == "py":
                for name, local in imp.items:
                    dot = "" if imp.module.endswith(".") else "."
                    sub = self._py_files(f"{imp.module}{dot}{name}", path) if name else []
                    if sub:  # ``from pkg import module``
                        out += [(f, "", local) for f in sub]
                    else:
                        out += [(f, name, local) for f in self._py_files(imp.module, path)]
            elif self.family == "js":
                for f in self._js_files(imp.module, path):
                    out += [(f, name, local) for name, local in imp.items] or [(f, "", "")]
            elif self.module and (imp.module + "/").startswith(self.module + "/"):
                directory = imp.module[len(self.module) + 1 :]
                local = imp.items[0][1]
                out += [(f, "", local) for f in self.package(directory)]
        if self.family == "go":
            out += [(f, "", "") for f in self.package(posixpath.dirname(path)) if f != path]
        out = [b for b in out if b[0] != path]
        if data is None:
            self._bindings[path] = out
        return out

    def package(self, directory: str) -> list[str]:
        return sorted(p for p in self.paths if posixpath.dirname(p) == directory)

    def _py_files(self, module: str, path: str) -> list[str]:
        if module.startswith("."):
            dots = len(module) - len(module.lstrip("."))
            base = posixpath.dirname(path).split("/") if posixpath.dirname(path) else []
            base = base[: len(base) - (dots - 1)] if dots > 1 else base
            rest = module[dots:]
            stems = ["/".join([*base, *rest.split(".")] if rest else base)]
        else:
            rel = module.replace(".", "/")
            stems = [rel, f"src/{rel}", f"lib/{rel}"]
        for stem in stems:
            for cand in (f"{stem}.py", f"{stem}/__init__.py" if stem else "__init__.py"):
                if cand in self.paths:
                    return [cand]
        return []

    def _js_files(self, module: str, path: str) -> list[str]:
        if not module.startswith("."):
            return []
        joined = posixpath.normpath(posixpath.join(posixpath.dirname(path), module))
        stems = [joined]
        if joined.endswith((".js", ".mjs", ".cjs")):
            stems.append(joined.rsplit(".", 1)[0])  # ESM TypeScript imports x.ts as x.js
        for stem in stems:
            for ext in ("", ".ts", ".tsx", ".js", ".mjs", ".cjs", ".jsx"):
                if stem + ext in self.paths:
                    return [stem + ext]
            for ext in (".ts", ".tsx", ".js"):
                if f"{stem}/index{ext}" in self.paths:
                    return [f"{stem}/index{ext}"]
        return []

    # -- names --------------------------------------------------------------------------

    def resolve(self, path: str, name: str, depth: int = 4) -> tuple[str, str] | None:
        """The (file, name) of the top-level definition ``name`` of ``path`` means,
        through re-exports (``from .x import name``)."""
        if self.top(path, name) is not None:
            return path, name
        if depth == 0:
            return None
        for file, imported, local in self.bindings(path):
            if local == name and imported and imported != "default":
                return self.resolve(file, imported, depth - 1)
        return None

    def gold_of(self, path: str, use: hl.Use, own: set[str], data: bytes) -> tuple[str, str] | None:
        """The definition in another file that a use in ``path`` (its text: ``data``)
        means, if the tree says so without doubt."""
        name = use.name
        if name in own or name.startswith("__") or len(name) < 2:
            return None
        bindings = self.bindings(path, data)
        if use.how == "bare":
            for file, imported, local in bindings:
                if local == name and imported and imported != "default":
                    return self.resolve(file, imported)
                if local == name and self.top(file, name) is not None:
                    return file, name  # a default import or require() of the same name
            if self.family == "go":
                mine = [f for f, _, local in bindings if local == "" and self.top(f, name)]
                return (mine[0], name) if len(mine) == 1 else None
            return None
        if use.how == "of":
            modules = [
                f for f, imported, local in bindings if local == use.operand and not imported
            ]
            if modules:
                found = [r for f in modules if (r := self.resolve(f, name)) is not None]
                return found[0] if len(found) == 1 else None
            lang = hl.language_of(path)
            assert lang is not None
            imported = {local for imp in hl.imports(lang, data) for _, local in imp.items}
            if use.operand in imported:
                return None  # ``pprof.Trace``, ``os.path``: another package's
        if builtin_method(self.family, name):
            return None
        candidates = [f for f in self.members(name) if f != path]
        if len(candidates) > 1 and self.family != "go":  # Go: its own package is "related"
            related = {f for f, _, _ in bindings}
            candidates = [f for f in candidates if f in related]
        return (candidates[0], name) if len(candidates) == 1 else None

    def imported_definitions(self, path: str, data: bytes) -> list[tuple[str, hl.Definition]]:
        """The imports-only baseline's selection, in order: for each import, the
        definitions of the imported names (a class with its methods), and a module
        imported whole with all its definitions; each once."""
        out: list[tuple[str, hl.Definition]] = []
        seen: set[tuple[str, int]] = set()

        def add(file: str, d: hl.Definition) -> None:
            if (file, d.row) not in seen:
                seen.add((file, d.row))
                out.append((file, d))

        for file, imported, _local in self.bindings(path, data):
            if not imported or imported == "default":
                for d in self.definitions(file):
                    add(file, d)
                continue
            target = self.resolve(file, imported)
            if target is None:
                continue
            for d in self.definitions(target[0]):
                if (d.owner == "" and d.name == target[1]) or d.owner == target[1]:
                    add(target[0], d)
        return out
