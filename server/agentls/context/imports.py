"""What a file's import statements bring in, and which workspace files they name.

``bindings`` reads the import statements of a file (as tagged) and answers, per
local name, the module it comes from and the name it has there. ``ModuleMap``
turns a module into workspace files: Python dotted names (absolute or relative),
JavaScript/TypeScript relative specifiers, and for the other languages a path
suffix (Go packages, Java classes, C includes, Rust ``use`` paths).
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from agentls.context.files import is_test_path
from agentls.context.tags import FileTags


@dataclass(frozen=True, slots=True)
class Binding:
    """``local`` names ``name`` of ``module`` ("" for the module itself, "*" for all)."""

    local: str
    module: str
    name: str


_PY_FROM = re.compile(r"^from\s+([\w.]+)\s+import\s+(.+)$")
_PY_IMPORT = re.compile(r"^import\s+(.+)$")
_JS_FROM = re.compile(r"""^import\s+(?:type\s+)?(.*?)\s*from\s*['"]([^'"]+)['"]""")
_JS_BARE = re.compile(r"""^import\s*['"]([^'"]+)['"]""")
_JS_REQUIRE = re.compile(r"""require\s*\(\s*['"]([^'"]+)['"]\s*\)""")
_QUOTED = re.compile(r"""["<]([^">]+)[">]""")


def _python(statement: str) -> Iterable[Binding]:
    match = _PY_FROM.match(statement)
    if match:
        module, names = match.groups()
        names = names.strip().strip("()").rstrip(",")
        for part in names.split(","):
            words = part.split()
            if not words:
                continue
            if words[0] == "*":
                yield Binding("*", module, "*")
            else:
                yield Binding(words[-1], module, words[0])
        return
    match = _PY_IMPORT.match(statement)
    if match:
        for part in match.group(1).split(","):
            words = part.split()
            if not words:
                continue
            if len(words) == 3 and words[1] == "as":
                yield Binding(words[2], words[0], "")
            else:
                yield Binding(words[0].split(".")[0], words[0], "")


def _javascript(statement: str) -> Iterable[Binding]:
    match = _JS_FROM.match(statement)
    if match:
        clause, module = match.groups()
        named = re.search(r"\{(.*)\}", clause)
        if named:
            for part in named.group(1).split(","):
                words = part.replace("type ", "").split()
                if words:
                    yield Binding(words[-1], module, words[0])
            clause = clause[: named.start()] + clause[named.end() :]
        star = re.search(r"\*\s*as\s+([\w$]+)", clause)
        if star:
            yield Binding(star.group(1), module, "*")
            clause = clause[: star.start()] + clause[star.end() :]
        default = clause.strip().strip(",").strip()
        if re.fullmatch(r"[\w$]+", default):
            yield Binding(default, module, "default")
        return
    match = _JS_BARE.match(statement) or _JS_REQUIRE.search(statement)
    if match:
        yield Binding("", match.group(1), "*")


def _other(statement: str, language: str) -> Iterable[Binding]:
    if language in ("c", "cpp"):
        quoted = _QUOTED.search(statement)
        if quoted:
            yield Binding("", quoted.group(1), "*")
        return
    if language == "go":
        quoted = re.search(r'"([^"]+)"', statement)
        if quoted:
            alias = statement.split('"')[0].strip()
            yield Binding(alias or quoted.group(1).rsplit("/", 1)[-1], quoted.group(1), "")
        return
    if language == "java":
        body = statement.removeprefix("import").strip().rstrip(";").removeprefix("static ")
        module, _, name = body.strip().rpartition(".")
        yield Binding("*" if name == "*" else name, module if name != "*" else body[:-2], name)
        return
    if language == "rust":
        body = statement.removeprefix("pub ").removeprefix("use").strip().rstrip(";")
        prefix, _, rest = body.partition("{")
        if rest:
            for part in rest.rstrip("}").split(","):
                name = part.strip().split(" as ")[-1].split("::")[-1].strip()
                if name:
                    yield Binding(name, prefix.rstrip(":"), part.strip().split(" as ")[0])
        else:
            module, _, name = body.rpartition("::")
            yield Binding(name.split(" as ")[-1].strip(), module, name.split(" as ")[0])


def bindings(language: str, imports: Iterable[str]) -> list[Binding]:
    out: list[Binding] = []
    for statement in imports:
        if language == "python":
            out.extend(_python(statement))
        elif language in ("javascript", "typescript", "typescriptreact"):
            out.extend(_javascript(statement))
        else:
            out.extend(_other(statement, language))
    return out


_PY_SUFFIXES = (".py", ".pyi")
_JS_EXTENSIONS = (".ts", ".tsx", ".d.ts", ".js", ".jsx", ".mjs", ".cjs")


class ModuleMap:
    """Module names and path suffixes -> workspace files (built once per index state)."""

    def __init__(self, paths: Iterable[str]) -> None:
        self.ordered = tuple(sorted(set(paths)))
        self.paths = frozenset(self.ordered)
        self.tests = tuple(sorted(p for p in self.paths if is_test_path(p)))
        self._bindings: dict[str, tuple[FileTags, list[Binding]]] = {}
        # (module file, local name) -> its definitions, most used first (see select.py)
        self.popular: dict[tuple[str, str], list[Any]] = {}
        self._dotted: dict[str, list[str]] = {}
        self._suffix: dict[str, list[str]] = {}
        for path in self.ordered:
            stem, ext = posixpath.splitext(path)
            parts = stem.split("/")
            if ext in _PY_SUFFIXES:
                if parts[-1] == "__init__":
                    parts = parts[:-1]
                for i in range(len(parts)):
                    self._dotted.setdefault(".".join(parts[i:]), []).append(path)
            segments = path.split("/")
            for i in range(len(segments)):
                self._suffix.setdefault("/".join(segments[i:]), []).append(path)
            folder = posixpath.dirname(path)
            if folder:
                dirs = folder.split("/")
                for i in range(len(dirs)):
                    self._suffix.setdefault("/".join(dirs[i:]) + "/", []).append(path)

    def bindings_of(self, path: str, tags: FileTags) -> list[Binding]:
        """The import bindings of a workspace file (remembered while its tags last)."""
        known = self._bindings.get(path)
        if known is not None and known[0] is tags:
            return known[1]
        found = bindings(tags.language, tags.imports)
        self._bindings[path] = (tags, found)
        return found

    def resolve(self, language: str, module: str, importer: str) -> list[str]:
        """Files that ``module``, imported from the file ``importer``, may be."""
        if language == "python":
            if module.startswith("."):
                level = len(module) - len(module.lstrip("."))
                base = importer.split("/")[:-level] if level else importer.split("/")
                rest = module.lstrip(".")
                dotted = ".".join([*base, *([rest] if rest else [])])
                return self._dotted.get(dotted, [])
            return self._dotted.get(module, [])
        if language in ("javascript", "typescript", "typescriptreact"):
            if not module.startswith("."):
                return []
            joined = posixpath.normpath(posixpath.join(posixpath.dirname(importer), module))
            for candidate in (
                joined,
                *(joined + ext for ext in _JS_EXTENSIONS),
                *(joined + "/index" + ext for ext in _JS_EXTENSIONS),
            ):
                if candidate in self.paths:
                    return [candidate]
            return []
        if language in ("c", "cpp"):
            return self._suffix.get(module, [])
        if language == "go":
            return self._suffix.get(module.rsplit("/", 1)[-1] + "/", [])
        if language == "java":
            return self._suffix.get(module.replace(".", "/") + ".java", []) or self._suffix.get(
                module.replace(".", "/") + "/", []
            )
        if language == "rust":
            parts = [p for p in module.split("::") if p not in ("crate", "self", "super")]
            if not parts:
                return []
            joined = "/".join(parts)
            return self._suffix.get(joined + ".rs", []) or self._suffix.get(joined + "/mod.rs", [])
        return []
