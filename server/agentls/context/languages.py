"""Languages agentls knows: grammar wheel, comment syntax, and scope node types.

A new tree-sitter language is one line in ``LANGUAGES``. Files of other languages
still get instruction comments (from ``FALLBACK_COMMENTS``), just no scopes.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from functools import cache
from pathlib import PurePosixPath

import tree_sitter


@dataclass(frozen=True)
class Language:
    name: str
    grammar: str  # "module" or "module:function" of the official grammar wheel
    extensions: tuple[str, ...]
    comments: tuple[str, ...]
    scopes: frozenset[str]
    tags: str = ""  # the query file queries/<tags>-tags.scm; empty: the language's name

    @property
    def tags_query(self) -> str:
        return f"{self.tags or self.name}-tags.scm"


_C_LIKE = ("//", "/*")
_JS_SCOPES = {
    "function_declaration",
    "generator_function_declaration",
    "method_definition",
    "class_declaration",
    "arrow_function",
    "function_expression",
}

LANGUAGES: dict[str, Language] = {
    lang.name: lang
    for lang in (
        Language(
            "python",
            "tree_sitter_python",
            (".py", ".pyi"),
            ("#",),
            frozenset({"function_definition", "class_definition"}),
        ),
        Language(
            "javascript",
            "tree_sitter_javascript",
            (".js", ".mjs", ".cjs", ".jsx"),
            _C_LIKE,
            frozenset(_JS_SCOPES),
        ),
        Language(
            "typescript",
            "tree_sitter_typescript:language_typescript",
            (".ts", ".mts"),
            _C_LIKE,
            frozenset(
                _JS_SCOPES
                | {"interface_declaration", "abstract_class_declaration", "enum_declaration"}
            ),
        ),
        Language(
            "typescriptreact",
            "tree_sitter_typescript:language_tsx",
            (".tsx",),
            _C_LIKE,
            frozenset(
                _JS_SCOPES
                | {"interface_declaration", "abstract_class_declaration", "enum_declaration"}
            ),
            tags="typescript",
        ),
        Language(
            "go",
            "tree_sitter_go",
            (".go",),
            _C_LIKE,
            frozenset({"function_declaration", "method_declaration", "type_declaration"}),
        ),
        Language(
            "rust",
            "tree_sitter_rust",
            (".rs",),
            _C_LIKE,
            frozenset({"function_item", "impl_item", "struct_item", "enum_item", "trait_item"}),
        ),
        Language(
            "java",
            "tree_sitter_java",
            (".java",),
            _C_LIKE,
            frozenset(
                {
                    "method_declaration",
                    "constructor_declaration",
                    "class_declaration",
                    "interface_declaration",
                    "enum_declaration",
                    "record_declaration",
                }
            ),
        ),
        Language("c", "tree_sitter_c", (".c", ".h"), _C_LIKE, frozenset({"function_definition"})),
        Language(
            "cpp",
            "tree_sitter_cpp",
            (".cc", ".cpp", ".cxx", ".hpp", ".hh", ".hxx"),
            _C_LIKE,
            frozenset({"function_definition", "class_specifier", "struct_specifier"}),
        ),
    )
}

# LSP languageId values that differ from our names.
_ALIASES = {"javascriptreact": "javascript", "tsx": "typescriptreact", "c++": "cpp"}
_BY_EXTENSION = {ext: lang for lang in LANGUAGES.values() for ext in lang.extensions}

# Comment markers tried for any language we have no entry for.
FALLBACK_COMMENTS = ("#", "//", "--", ";", "/*", "<!--", "%")

# Nodes that wrap a definition and belong to it (decorators, export, const f = ...).
WRAPPERS = frozenset(
    {
        "decorated_definition",
        "export_statement",
        "variable_declarator",
        "lexical_declaration",
        "variable_declaration",
    }
)


def language_for(uri_or_path: str, language_id: str = "") -> Language | None:
    lang = LANGUAGES.get(_ALIASES.get(language_id, language_id))
    if lang is not None:
        return lang
    return _BY_EXTENSION.get(PurePosixPath(uri_or_path.split("?")[0]).suffix.lower())


def comment_markers(lang: Language | None) -> tuple[str, ...]:
    return lang.comments if lang else FALLBACK_COMMENTS


@cache
def grammar_for(name: str) -> tree_sitter.Language:
    module_name, _, function = LANGUAGES[name].grammar.partition(":")
    module = importlib.import_module(module_name)
    return tree_sitter.Language(getattr(module, function or "language")())


@cache
def parser_for(name: str) -> tree_sitter.Parser:
    return tree_sitter.Parser(grammar_for(name))
