"""What the history benchmark reads in source files, per language, with tree-sitter.

Definitions (name, kind, rows, first line), the named functions a change can sit in,
the identifiers on given rows, and the imports of a file. Only the grammars (the
official grammar wheels) are shared with agentls: no query, no code of its engine.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import PurePosixPath

import tree_sitter

GRAMMARS = {
    "python": "tree_sitter_python",
    "javascript": "tree_sitter_javascript",
    "typescript": "tree_sitter_typescript:language_typescript",
    "tsx": "tree_sitter_typescript:language_tsx",
    "go": "tree_sitter_go",
}
EXTENSIONS = {
    ".py": "python",
    ".js": "javascript",
    ".mjs": "javascript",
    ".cjs": "javascript",
    ".jsx": "javascript",
    ".ts": "typescript",
    ".mts": "typescript",
    ".tsx": "tsx",
    ".go": "go",
}
# languages whose definitions can be used from each other's files
FAMILY = {"python": "py", "javascript": "js", "typescript": "js", "tsx": "js", "go": "go"}

_FUNCTIONS = {
    "py": {"function_definition"},
    "js": {"function_declaration", "generator_function_declaration", "method_definition"},
    "go": {"function_declaration", "method_declaration"},
}
_TYPES = {
    "py": {"class_definition"},
    "js": {
        "class_declaration",
        "abstract_class_declaration",
        "interface_declaration",
        "type_alias_declaration",
        "enum_declaration",
    },
    "go": {"type_spec"},
}
_FUNCTION_VALUES = {"arrow_function", "function_expression", "function", "generator_function"}
_USES = {
    "py": {"identifier"},
    "js": {
        "identifier",
        "property_identifier",
        "type_identifier",
        "shorthand_property_identifier",
    },
    "go": {"identifier", "field_identifier", "type_identifier"},
}


def language_of(path: str) -> str | None:
    return EXTENSIONS.get(PurePosixPath(path).suffix)


def is_test_path(rel: str) -> bool:
    """Tests, fixtures, examples and docs: neither tasks nor gold definitions."""
    parts = PurePosixPath(rel).parts
    name = parts[-1]
    dirs = {"test", "tests", "testing", "__tests__", "examples", "_examples", "example"}
    dirs |= {"docs", "doc", "benchmarks", "bench", "fixtures", "testdata", "scripts"}
    return (
        any(p in dirs for p in parts[:-1])
        or name.startswith(("test_", "tests.", "conftest"))
        or name.endswith(("_test.go", "_test.py", ".d.ts"))
        or ".test." in name
        or ".spec." in name
        or "test-d" in name
    )


@cache
def parser_for(lang: str) -> tree_sitter.Parser:
    module_name, _, function = GRAMMARS[lang].partition(":")
    module = importlib.import_module(module_name)
    return tree_sitter.Parser(tree_sitter.Language(getattr(module, function or "language")()))


def parse(lang: str, data: bytes) -> tree_sitter.Tree:
    return parser_for(lang).parse(data)


@dataclass(frozen=True)
class Definition:
    name: str
    kind: str  # "function" (methods too) or "type"
    row: int  # 0-based first row
    end_row: int
    first_line: str  # the definition's first line, stripped of indentation
    inner_row: int  # first row a change of the body alone may touch (-1: none)
    owner: str  # enclosing class/type name, "" at the top level


def _text(node: tree_sitter.Node | None) -> str:
    if node is None or node.text is None:
        return ""
    return node.text.decode("utf-8", "replace")


def _name_and_body(
    node: tree_sitter.Node, family: str
) -> tuple[str, str, tree_sitter.Node | None] | None:
    """(name, kind, body) when ``node`` defines something, else None."""
    t = node.type
    if t in _FUNCTIONS[family]:
        return _text(node.child_by_field_name("name")), "function", node.child_by_field_name("body")
    if t in _TYPES[family]:
        return _text(node.child_by_field_name("name")), "type", node.child_by_field_name("body")
    if family == "js" and t == "variable_declarator":
        value = node.child_by_field_name("value")
        if value is not None and value.type in _FUNCTION_VALUES:
            name = _text(node.child_by_field_name("name"))
            return name, "function", value.child_by_field_name("body")
        if value is not None and value.type == "class":
            return _text(node.child_by_field_name("name")), "type", value
    if family == "js" and t == "assignment_expression":  # exports.f = function () {...}
        right = node.child_by_field_name("right")
        left = node.child_by_field_name("left")
        if right is not None and left is not None and right.type in _FUNCTION_VALUES:
            target = (
                left.child_by_field_name("property") if left.type == "member_expression" else left
            )
            if target is not None and target.type in ("identifier", "property_identifier"):
                return _text(target), "function", right.child_by_field_name("body")
    return None


def _inner_row(node: tree_sitter.Node, body: tree_sitter.Node | None, family: str) -> int:
    if body is None:
        return -1
    if family == "py":
        return body.start_point.row if body.start_point.row > node.start_point.row else -1
    return body.start_point.row + 1  # after the line of the opening brace


def definitions(lang: str, data: bytes) -> list[Definition]:
    """Every definition of a file, nested ones too (methods), in source order."""
    family = FAMILY[lang]
    tree = parse(lang, data)
    lines = data.split(b"\n")
    out: list[Definition] = []
    stack: list[tuple[tree_sitter.Node, str]] = [(tree.root_node, "")]
    while stack:
        node, owner = stack.pop()
        found = _name_and_body(node, family)
        inner_owner = owner
        if found is not None and found[0]:
            name, kind, body = found
            row = node.start_point.row
            if family == "go" and node.type == "method_declaration":
                receiver = node.child_by_field_name("receiver")
                owner = next(
                    (_text(n) for n in _walk(receiver) if n.type == "type_identifier"), owner
                )
            if node.type == "assignment_expression":  # res.send = function send() {...}
                left = node.child_by_field_name("left")
                obj = left.child_by_field_name("object") if left is not None else None
                if obj is not None and _text(obj) not in ("exports", "module.exports"):
                    owner = _text(obj)
            first = lines[row].decode("utf-8", "replace").strip() if row < len(lines) else ""
            out.append(
                Definition(
                    name,
                    kind,
                    row,
                    node.end_point.row,
                    first,
                    _inner_row(node, body, family),
                    owner,
                )
            )
            if kind == "type":
                inner_owner = name
        stack.extend((child, inner_owner) for child in reversed(node.children))
    out.sort(key=lambda d: (d.row, d.end_row))
    return out


def _walk(node: tree_sitter.Node | None) -> Iterator[tree_sitter.Node]:
    stack = [node] if node is not None else []
    while stack:
        n = stack.pop()
        yield n
        stack.extend(reversed(n.children))


@dataclass(frozen=True)
class Use:
    """A name used on a changed row: ``how`` is "bare" (``X``), "attr" (``obj.X``, the
    object not a plain name) or "of" (``op.X``, ``op`` a plain name, maybe a module)."""

    name: str
    how: str
    operand: str = ""


def _use(node: tree_sitter.Node, family: str) -> Use | None:
    parent = node.parent
    name = _text(node)
    ptype = parent.type if parent is not None else ""
    if family == "py":
        if ptype == "attribute" and parent is not None:
            if parent.child_by_field_name("attribute") != node:
                return Use(name, "bare")
            obj = parent.child_by_field_name("object")
            if obj is not None and obj.type == "identifier":
                return Use(name, "of", _text(obj))
            return Use(name, "attr")
        if ptype in ("keyword_argument", "parameters", "default_parameter", "typed_parameter"):
            return None
        return Use(name, "bare")
    if family == "js":
        if node.type == "property_identifier":
            if ptype != "member_expression" or parent is None:
                return None
            obj = parent.child_by_field_name("object")
            if obj is not None and obj.type == "identifier":
                return Use(name, "of", _text(obj))
            return Use(name, "attr")
        return Use(name, "bare")
    # go
    if node.type == "field_identifier":
        if ptype != "selector_expression" or parent is None:
            return None
        operand = parent.child_by_field_name("operand")
        if operand is not None and operand.type == "identifier":
            return Use(name, "of", _text(operand))
        return Use(name, "attr")
    if node.type == "type_identifier" and ptype == "qualified_type" and parent is not None:
        package = parent.child_by_field_name("package")
        return Use(name, "of", _text(package))
    if ptype == "selector_expression" and parent is not None:
        if parent.child_by_field_name("operand") == node:
            return None  # the package or variable of ``x.F``
    return Use(name, "bare")


def uses_on_rows(lang: str, data: bytes, rows: set[int], start_row: int, end_row: int) -> list[Use]:
    """Names used (identifier leaves, not in strings or comments) on ``rows`` between
    ``start_row`` and ``end_row``, in order, once each."""
    family = FAMILY[lang]
    kinds = _USES[family]
    tree = parse(lang, data)
    seen: dict[Use, None] = {}
    for node in _walk(tree.root_node):
        if node.end_point.row < start_row or node.start_point.row > end_row:
            continue
        if node.type in kinds and node.start_point.row in rows:
            use = _use(node, family)
            if use is not None and use.name:
                seen.setdefault(use, None)
    return list(seen)


@dataclass(frozen=True)
class Import:
    """One import: ``module`` as written (dotted, relative with dots, a path like
    ``./x``, or a Go import path) and ``items``, (imported name, local name) pairs; an
    empty imported name binds the whole module (``import x``, ``* as x``, ``require``,
    a Go package), "default" a JavaScript default import."""

    module: str
    items: tuple[tuple[str, str], ...]


def _py_items(node: tree_sitter.Node) -> Iterator[tuple[str, str]]:
    for child in node.children_by_field_name("name"):
        if child.type == "aliased_import":
            yield (
                _text(child.child_by_field_name("name")),
                _text(child.child_by_field_name("alias")),
            )
        else:
            yield _text(child), _text(child)


def imports(lang: str, data: bytes) -> list[Import]:
    family = FAMILY[lang]
    tree = parse(lang, data)
    out: list[Import] = []
    for node in _walk(tree.root_node):
        if family == "py" and node.type == "import_statement":
            for name, local in _py_items(node):
                out.append(Import(name, (("", local),)))
        elif family == "py" and node.type == "import_from_statement":
            module = _text(node.child_by_field_name("module_name"))
            out.append(Import(module, tuple(_py_items(node))))
        elif family == "js" and node.type == "import_statement":
            source = _text(node.child_by_field_name("source")).strip("'\"`")
            items: list[tuple[str, str]] = []
            for n in _walk(node):
                if n.type == "import_specifier":
                    name = _text(n.child_by_field_name("name"))
                    alias = n.child_by_field_name("alias")
                    items.append((name, _text(alias) if alias is not None else name))
                elif n.type == "namespace_import":
                    ident = next((c for c in n.named_children if c.type == "identifier"), None)
                    items.append(("", _text(ident)))
                elif n.type == "identifier" and n.parent is not None:
                    if n.parent.type == "import_clause":
                        items.append(("default", _text(n)))
            out.append(Import(source, tuple(items)))
        elif family == "js" and node.type == "call_expression":
            fn = node.child_by_field_name("function")
            args = node.child_by_field_name("arguments")
            if _text(fn) == "require" and args is not None and args.named_child_count == 1:
                arg = args.named_children[0]
                if arg.type == "string":
                    parent = node.parent
                    local = ""
                    if parent is not None and parent.type == "variable_declarator":
                        local = _text(parent.child_by_field_name("name"))
                    out.append(Import(_text(arg).strip("'\"`"), (("", local),)))
        elif family == "go" and node.type == "import_spec":
            path = _text(node.child_by_field_name("path")).strip('"`')
            alias = node.child_by_field_name("name")
            local = _text(alias) if alias is not None else path.rsplit("/", 1)[-1]
            out.append(Import(path, (("", local),)))
    return out
