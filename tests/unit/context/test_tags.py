"""The tag queries of every language find the definitions and imports of a real-looking file."""

from __future__ import annotations

import pytest

from agentls.context.languages import LANGUAGES
from agentls.context.tags import tag_source

SOURCES: dict[str, tuple[str, set[tuple[str, str]], int]] = {
    # language: (source, {(kind, name)} that must be found, imports found)
    "python": (
        "import os\nfrom .models import User as U, Group\n\nLIMIT = 10\n\n\n"
        "class Store(Base):\n    kind = 'x'\n\n    def save(self, item):\n        return item\n\n\n"
        "@cache\ndef load(path: str) -> bytes:\n    return b''\n",
        {
            ("class", "Store"),
            ("function", "save"),
            ("function", "load"),
            ("constant", "LIMIT"),
            ("field", "kind"),
        },
        2,
    ),
    "javascript": (
        "import { a, b as c } from './util.js';\nconst fs = require('fs');\n"
        "export const LIMIT = 10;\n"
        "class Store extends Base {\n  save(item) { return item; }\n}\n"
        "function load(path) { return null; }\nconst parse = (s) => s.trim();\n",
        {
            ("class", "Store"),
            ("method", "save"),
            ("function", "load"),
            ("function", "parse"),
            ("constant", "LIMIT"),
        },
        2,
    ),
    "typescript": (
        "import { User } from './models';\n"
        "export interface Shape { area(): number; }\n"
        "type Id = string;\nenum Color { Red, Green }\n"
        "export class Circle implements Shape {\n  area(): number { return 1; }\n}\n"
        "export function make(id: Id): Circle { return new Circle(); }\n",
        {
            ("interface", "Shape"),
            ("type", "Id"),
            ("type", "Color"),
            ("class", "Circle"),
            ("method", "area"),
            ("function", "make"),
        },
        1,
    ),
    "typescriptreact": (
        "import React from 'react';\n"
        "export function Button(props: { label: string }) { return <b>{props.label}</b>; }\n"
        "export const Card = (p: Props) => <div/>;\n",
        {("function", "Button"), ("function", "Card")},
        1,
    ),
    "go": (
        'package store\n\nimport (\n\t"fmt"\n\tio "io/ioutil"\n)\n\n'
        "const Limit = 10\n\ntype Store struct {\n\titems []string\n}\n\n"
        "type Saver interface {\n\tSave(item string) error\n}\n\n"
        "func (s *Store) Save(item string) error {\n\treturn nil\n}\n\n"
        "func New() *Store { return &Store{} }\n",
        {
            ("type", "Store"),
            ("type", "Saver"),
            ("method", "Save"),
            ("function", "New"),
            ("constant", "Limit"),
        },
        2,
    ),
    "rust": (
        "use std::collections::HashMap;\nuse crate::models::{User, Group};\n\n"
        "pub const LIMIT: usize = 10;\n\npub struct Store { items: Vec<String> }\n\n"
        "pub trait Saver { fn save(&self); }\n\n"
        "impl Store {\n    pub fn new() -> Self { Store { items: vec![] } }\n}\n\n"
        "fn helper() {}\n\nmacro_rules! shout { () => {}; }\n",
        {
            ("class", "Store"),
            ("interface", "Saver"),
            ("method", "new"),
            ("function", "helper"),
            ("constant", "LIMIT"),
            ("macro", "shout"),
        },
        2,
    ),
    "java": (
        "package app;\n\nimport java.util.List;\nimport app.models.User;\n\n"
        "public class Store {\n    private int limit = 10;\n\n"
        "    public Store() {}\n\n    public void save(User u) {}\n}\n\n"
        "interface Saver { void save(User u); }\n",
        {
            ("class", "Store"),
            ("method", "save"),
            ("method", "Store"),
            ("interface", "Saver"),
            ("field", "limit"),
        },
        2,
    ),
    "c": (
        '#include <stdio.h>\n#include "store.h"\n\n#define LIMIT 10\n\n'
        "struct store { int n; };\n\ntypedef struct store store_t;\n\n"
        "static int helper(int x) { return x; }\n\n"
        "char *store_name(store_t *s) {\n    return 0;\n}\n",
        {
            ("class", "store"),
            ("type", "store_t"),
            ("function", "helper"),
            ("function", "store_name"),
            ("macro", "LIMIT"),
        },
        2,
    ),
    "cpp": (
        '#include <vector>\n#include "store.hpp"\n\nnamespace app {\n\n'
        "class Store {\n public:\n  void save(int item);\n};\n\n"
        "void Store::save(int item) {}\n\nint helper() { return 1; }\n\n}  // namespace app\n",
        {
            ("module", "app"),
            ("class", "Store"),
            ("method", "save"),
            ("function", "save"),
            ("function", "helper"),
        },
        2,
    ),
}


def test_every_language_has_a_case() -> None:
    assert set(SOURCES) == set(LANGUAGES)


@pytest.mark.parametrize("language", sorted(SOURCES))
def test_queries_find_definitions_and_imports(language: str) -> None:
    source, expected, imports = SOURCES[language]
    tags = tag_source(LANGUAGES[language], source.encode())
    found = {(d.kind, d.name) for d in tags.definitions}
    assert expected <= found, f"missing {expected - found}; found {found}"
    assert len(tags.imports) == imports, tags.imports
    lines = source.split("\n")
    for d in tags.definitions:  # every definition's rows hold its name
        assert 0 <= d.start <= d.header_end <= d.end < len(lines)
        assert any(d.name in lines[row] for row in range(d.start, d.end + 1)), d


def test_methods_know_their_class_and_signatures_end_before_the_body() -> None:
    source, _, _ = SOURCES["python"]
    tags = tag_source(LANGUAGES["python"], source.encode())
    save = next(d for d in tags.definitions if d.name == "save")
    assert save.scope == "Store"
    assert (save.start, save.header_end, save.end) == (9, 9, 10)
    assert {"Base", "item", "cache"} <= tags.names
