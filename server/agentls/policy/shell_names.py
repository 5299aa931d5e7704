"""Words bash takes as variable names or evaluates as arithmetic, for ``shell.py``.

Bash evaluates an array subscript in a name (``read 'a[$(rm x)]'``, ``printf -v``,
``[[ -v … ]]``, ``test -v``, ``declare -n`` and ``-i``, ``${a[…]}``) and every operand of
arithmetic (``(( ))``, ``$(( ))``, ``[[ … -eq … ]]``, ``let``), and runs the command
substitutions inside it, even when the word was single-quoted; a variable named in
arithmetic has its value evaluated the same way. These helpers find such words; the
walker does not vet a line that has one carrying ``$``, a backtick or a subscript
(fail closed), nor arithmetic on a variable the line sets or bash sets itself (``_``,
``REPLY``, ``BASH_REMATCH`` …: every name of bash's own and of the sandbox's
environment is upper case).
"""

from __future__ import annotations

import re

from agentls.policy.shell_words import Words

IDENTIFIER = re.compile(r"(?<![0-9A-Za-z_#@])[A-Za-z_][A-Za-z0-9_]*")
PLAIN_SUBSCRIPT = re.compile(r"\d+|[@*]")
SUBSTITUTION = re.compile(r"[$`]")

# builtin -> options that take a value (their value is a name when listed in NAME_OPTIONS)
READ_OPTIONS = {"-a", "-d", "-i", "-n", "-N", "-p", "-t", "-u"}
MAPFILE_OPTIONS = {"-d", "-n", "-O", "-s", "-u", "-C", "-c"}


def unsafe_name(word: str | None) -> str:
    """Why bash could run code when it takes ``word`` as a variable name ("": it
    cannot)."""
    if word is None:
        return "a variable name that is not plain text"
    if SUBSTITUTION.search(word):
        return "a variable name holding $ or a backtick (bash expands it)"
    if "[" in word and not PLAIN_SUBSCRIPT.fullmatch(word.split("[", 1)[1].rstrip("]")):
        return "an array subscript bash evaluates as arithmetic"
    return ""


def unsafe_subscript(text: str) -> str:
    """For ``${a[…]}``, ``a[…]=``: why the subscript could run code ("": a number, @, *)."""
    if "[" not in text:
        return ""
    inner = text.split("[", 1)[1].rsplit("]", 1)[0].strip()
    if PLAIN_SUBSCRIPT.fullmatch(inner):
        return ""
    return "an array subscript bash evaluates as arithmetic"


def names_taken(name: str, argv: Words) -> list[str | None] | None:
    """The words ``name`` (a builtin) takes as variable names (None: not such a
    builtin)."""
    args = list(argv[1:])
    if name == "read":
        return _operands(args, READ_OPTIONS, names_of={"-a"})
    if name in ("mapfile", "readarray"):
        return _operands(args, MAPFILE_OPTIONS, names_of=set())
    if name == "printf":
        return _option_value(args, "-v")
    if name == "wait":
        return _option_value(args, "-p")
    if name == "getopts":
        return args[1:2]
    if name == "unset":
        return [w for w in args if w is None or not w.startswith("-")]
    if name in ("test", "["):
        return [args[i + 1] for i, w in enumerate(args[:-1]) if w in ("-v", "-R")]
    return None


def _operands(
    args: list[str | None], value_options: set[str], names_of: set[str]
) -> list[str | None]:
    names: list[str | None] = []
    i = 0
    while i < len(args):
        word = args[i]
        if word is None:
            names.append(None)
        elif word == "--":
            names.extend(args[i + 1 :])
            break
        elif word in value_options:
            if word in names_of:
                names.append(args[i + 1] if i + 1 < len(args) else None)
            i += 1
        elif word.startswith("-") and len(word) > 1:
            if any(word.startswith(o) for o in names_of) and len(word) > 2:
                names.append(word[2:])
        else:
            names.append(word)
        i += 1
    return names


def _option_value(args: list[str | None], option: str) -> list[str | None]:
    names: list[str | None] = []
    for i, word in enumerate(args):
        if word is None:
            continue
        if word == option:
            names.append(args[i + 1] if i + 1 < len(args) else None)
        elif word.startswith(option) and len(word) > len(option):
            names.append(word[len(option) :])
    return names


def arithmetic_names(text: str) -> set[str]:
    """The identifiers in arithmetic text (each could be a variable bash evaluates)."""
    return set(IDENTIFIER.findall(text))


def set_by_bash(name: str) -> bool:
    """Whether bash or the sandbox's environment may give ``name`` a value the line's
    own text chose (``_`` is the last word of the previous command, ``BASH_REMATCH``
    the text a pattern matched …): all of them are upper case or ``_``."""
    return name == "_" or not name[:1].islower()
