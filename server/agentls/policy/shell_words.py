"""Words and wrappers of a bash command line, for ``shell.py``: a word's value as bash
passes it (quotes and escapes removed, ``$'…'`` decoded; None when only known at run
time), and the programs that run another program given in their arguments."""

from __future__ import annotations

import re

from tree_sitter import Node

Words = tuple[str | None, ...]  # None: a word whose value is not known before it runs

GLOB = set("*?[")


def static(node: Node, name: bool = False) -> str | None:
    """The word's value as bash passes it, or None when it is only known at run time
    (expansions, substitutions, globs, brace expansion, ``~``)."""
    kind = node.type
    text = text_of(node)
    if kind == "word":
        return unescape_word(text)
    if kind == "number":
        return text
    if kind == "raw_string":
        return text[1:-1]
    if kind == "ansi_c_string":
        return _ansi_c(text[2:-1])
    if kind in ("string", "translated_string"):
        parts: list[str] = []
        for child in node.children:
            if child.type in ('"', '$"'):
                continue
            if child.type != "string_content":
                return None
            parts.append(re.sub(r'\\([\\"$`])|\\\n', lambda m: m.group(1) or "", text_of(child)))
        return "".join(parts)
    if kind == "concatenation":
        values = [static(child) for child in node.children]
        if any(v is None for v in values):
            return None
        return "".join(v for v in values if v is not None)
    return None


def unescape_word(text: str) -> str | None:
    if text in ("{", "}"):
        return text
    out: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "\\":
            if i + 1 < len(text) and text[i + 1] != "\n":
                out.append(text[i + 1])
            i += 2
            continue
        if ch in GLOB or ch == "{" or (ch == "~" and i == 0) or ch == "$":
            return None
        out.append(ch)
        i += 1
    return "".join(out)


ANSI_C = {
    "a": "\a",
    "b": "\b",
    "e": "\x1b",
    "E": "\x1b",
    "f": "\f",
    "n": "\n",
    "r": "\r",
    "t": "\t",
    "v": "\v",
    "\\": "\\",
    "'": "'",
    '"': '"',
    "?": "?",
}


def _ansi_c(body: str) -> str:
    def one(match: re.Match[str]) -> str:
        token = match.group(0)[1:]
        if token in ANSI_C:
            return ANSI_C[token]
        if token[0] in "01234567":
            return chr(int(token, 8) & 0xFF)
        if token[0] in "xuU" and len(token) > 1:
            return chr(min(int(token[1:], 16), 0x10FFFF))
        if token[0] == "c" and len(token) == 2:
            return chr(ord(token[1].upper()) ^ 0x40)
        return match.group(0)

    pattern = r"\\(?:[0-7]{1,3}|x[0-9a-fA-F]{1,2}|u[0-9a-fA-F]{1,4}|U[0-9a-fA-F]{1,8}|c.|.)"
    return re.sub(pattern, one, body, flags=re.S)


def text_of(node: Node) -> str:
    return (node.text or b"").decode("utf-8", "surrogatepass")


def starts(node: Node, token: str) -> bool:
    return bool(node.children) and node.children[0].type == token


def all_nodes(node: Node) -> list[Node]:
    out = [node]
    for child in node.children:
        out.extend(all_nodes(child))
    return out


def descendants(node: Node, kind: str) -> list[Node]:
    return [n for n in all_nodes(node) if n.type == kind]


def is_assignment(word: str) -> bool:
    return re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*=.*", word, re.S) is not None


def skip_assignments(words: Words) -> Words:
    i = 0
    while i < len(words) and words[i] is not None and "=" in (words[i] or "")[1:]:
        i += 1
    return words[i:]
