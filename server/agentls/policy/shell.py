"""A command line as bash reads it, for the user's command rules (``approval.py``).

The line is parsed with the tree-sitter bash grammar (commands run with ``bash -c``)
and walked whole: every simple command at any depth (lists, pipelines, subshells,
``$(…)`` and backticks, also inside strings and redirections, conditionals, loops,
``case``, function bodies) is listed with its words as bash would pass them (quotes
and escapes removed, ``$'…'`` decoded). Wrappers are unwrapped into layers
(``env``, ``sudo``, ``xargs``, ``find -exec``, ``git -c alias.*``, those of
``shell_programs.py``), the code strings of ``sh -c``, ``env -S``, ``eval``, ``trap``,
``su -c``, ``watch`` are parsed in turn, and a program no list knows is guessed to run
its arguments (``Line.maybe*``: a deny rule naming one asks).

What cannot be vetted is said, never guessed: a parse error, a command name that is
not plain text (``$a x``, ``r?`` globs), a shell reading commands from its input
(``… | sh``, a here-document or here-string to ``bash``), ``eval`` of a variable,
process substitution, ``alias``/``shopt``/``hash``/``enable``, ``mapfile -C``,
``${x@P}``, ``${!x}``, arithmetic on variables and names or subscripts that carry
``$`` or a backtick (``shell_names.py``: bash evaluates them as code), settings of
``PATH``/``BASH_ENV``/``BASH_CMDS``/``PS4``…, control characters (tree-sitter and bash
split ``\\r`` differently). Rules then ask the user instead of deciding.

What no parser can see, and rules therefore never claim: what a program does with
its arguments (``python -c``, ``make``, a script the model wrote, ``find -delete``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import tree_sitter_bash
from tree_sitter import Language, Node, Parser

from agentls.policy.shell_names import (
    arithmetic_names,
    names_taken,
    set_by_bash,
    unsafe_name,
    unsafe_subscript,
)
from agentls.policy.shell_programs import (
    BASH_ONLY,
    DATA_PROGRAMS,
    GIT_RUNNING,
    OPTIONS_AGAIN,
    RESERVED,
    RUNNERS,
    UNVETTABLE,
    WRAPPERS,
    base_name,
    git_alias,
    git_word,
    names_in,
    read_env,
    read_shell,
    skip_options,
)
from agentls.policy.shell_programs import (
    SHELLS as SHELLS,
)
from agentls.policy.shell_variables import CODE_VARIABLES, GIT_CODE_KEYS, GIT_FILE_KEYS, danger
from agentls.policy.shell_words import (
    Words,
    all_nodes,
    descendants,
    is_assignment,
    skip_assignments,
    starts,
    static,
    text_of,
    unescape_word,
)

BASH = Language(tree_sitter_bash.language())
MAX_DEPTH = 6  # nested sh -c / eval strings
MAX_LENGTH = 100_000


@dataclass(frozen=True)
class Simple:
    """One simple command: its layers, outermost first (``sudo env X=1 rm x`` is
    ``sudo …``, ``env …``, ``rm x``). ``runs_line``: the last layer runs a code string
    whose commands are listed on their own (``sh -c 'a; b'``)."""

    layers: tuple[Words, ...]
    runs_line: bool = False

    @property
    def program(self) -> Words:
        return self.layers[-1]


@dataclass
class Line:
    commands: list[Simple] = field(default_factory=list)
    unvetted: list[str] = field(default_factory=list)  # why it cannot be vetted
    writes: bool = False  # an output redirection to a file (not /dev/null, not a fd)
    # variables the line puts in a program's environment (an allow rule checks them)
    variables: list[str] = field(default_factory=list)
    # Guesses, for deny rules: what a program the walker does not know may run with
    # its arguments (``setpriv rm x``): the names among its argument words, the
    # commands read from a wrapper or shell among them, and why those cannot be vetted.
    maybe_names: set[str] = field(default_factory=set)
    maybe: list[Simple] = field(default_factory=list)
    maybe_unvetted: list[str] = field(default_factory=list)

    def programs(self) -> list[str]:
        """The program names, in order, once each (what a prompt shows)."""
        names: list[str] = []
        for simple in self.commands:
            for layer in simple.layers:
                name = layer[0] if layer else None
                shown = "?" if name is None else name
                if shown not in names:
                    names.append(shown)
        return names


def parse(command: str) -> Line:
    line = Line()
    walker = _Walker(line)
    walker.line(command, 0)
    for name in sorted(walker.in_arithmetic):
        if set_by_bash(name) or name in walker.assigned:
            walker.unvetted(f"arithmetic on {name}, whose value the line or bash chose")
    return line


# -- the walk -----------------------------------------------------------------------

CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
LITERAL_LEAVES = {"raw_string", "ansi_c_string", "comment", "heredoc_body", "heredoc_content"}
ARITHMETIC_TESTS = {"-eq", "-ne", "-lt", "-le", "-gt", "-ge"}
OUTPUT_REDIRECTS = {">", ">>", "&>", "&>>", ">|", "<>", ">&"}


class _Walker:
    def __init__(self, out: Line, guessing: bool = True) -> None:
        self.out = out
        self.guessing = guessing  # read wrappers among an unknown program's arguments
        self.assigned: set[str] = set()  # variables the line sets
        self.in_arithmetic: set[str] = set()  # names bash may evaluate as arithmetic

    def unvetted(self, why: str) -> None:
        if why not in self.out.unvetted:
            self.out.unvetted.append(why)

    def line(self, text: str, depth: int) -> None:
        if depth > MAX_DEPTH:
            self.unvetted("code strings nested too deep")
            return
        if len(text) > MAX_LENGTH:
            self.unvetted(f"longer than {MAX_LENGTH} characters")
            return
        if CONTROL.search(text):
            self.unvetted("control characters (bash and the parser could read it differently)")
        if re.search(r"[^\s]\\\n", text):  # "r\\\nm x" is rm for bash, "r" "m" here
            self.unvetted("a line continuation inside a word")
        data = text.encode("utf-8", "surrogatepass")
        tree = Parser(BASH).parse(data)
        for _ in range(8):
            # tree-sitter-bash misreads "! { …; }", "! if …": a "!" only changes an exit
            # status, so the line without it runs the same commands; parse that.
            bangs = [n.children[0] for n in descendants(tree.root_node, "negated_command")]
            bangs = [bang for bang in bangs if bang.type == "!"]
            if not bangs:
                break
            blank = bytearray(data)
            for bang in bangs:
                blank[bang.start_byte : bang.end_byte] = b" "
            data = bytes(blank)
            tree = Parser(BASH).parse(data)
        self.walk(tree.root_node, depth)

    def walk(self, node: Node, depth: int) -> None:
        kind = node.type
        if node.is_error or node.is_missing or kind == "ERROR":
            self.unvetted("it does not parse as bash")
        if kind == "word" and re.search(r"(?:^|[^\\])\n|^\s", text_of(node)):
            # tree-sitter-bash 0.25 reads "ls\n\\rm x" as one command; bash as two
            self.unvetted("a line break the parser reads inside a word")
        if node.is_named and not node.children and kind not in LITERAL_LEAVES:
            if "`" in text_of(node) or "$(" in text_of(node):  # "${x:-`rm x`}"
                self.unvetted("a substitution the parser did not read")
        if kind == "command":
            self.command(node, depth)
            return
        if kind == "process_substitution":
            self.unvetted("process substitution")
        elif kind == "file_redirect":
            self.redirect(node)
        elif kind == "heredoc_body" and node.parent is not None:
            self.heredoc(node, node.parent)
        elif kind == "variable_assignment":
            self.assignment(node, depth)
        elif kind == "expansion" and "@P" in text_of(node).replace(" ", ""):
            self.unvetted("${…@P} runs the value as a prompt string")
        elif kind == "expansion" and text_of(node).startswith("${!"):
            self.unvetted("${!…} takes a variable's value as a name (bash evaluates it)")
        elif kind == "subscript" and unsafe_subscript(text_of(node)):
            self.unvetted(unsafe_subscript(text_of(node)))
        elif kind == "declaration_command":
            self.declaration(node, depth)
        elif kind in ("for_statement", "select_statement"):
            variable = node.child_by_field_name("variable")
            if variable is not None:
                self.assigned.add(text_of(variable))
                self.sets(text_of(variable), exported=False)
        elif kind == "arithmetic_expansion" or (
            kind == "compound_statement" and starts(node, "((")
        ):
            self.arithmetic(node)
        elif kind == "compound_statement" and starts(node, "{") and not node.named_children:
            self.unvetted("an empty { } (bash runs a command named {})")
        elif kind in ("c_style_for_statement",):
            self.arithmetic(node)
        elif kind == "test_command":
            self.test(node)
        if kind == "expansion":
            assigning = re.match(r"\$\{([A-Za-z_]\w*):?=", text_of(node))
            if assigning:
                self.assigned.add(assigning.group(1))
                self.sets(assigning.group(1), exported=False)
        for child in node.children:
            self.walk(child, depth)

    def heredoc(self, body: Node, redirect: Node) -> None:
        """An unquoted here-document runs its ``$(…)`` and backticks; the parser reads
        only some of them (not backticks, not after ``<<-``)."""
        start = next((c for c in redirect.children if c.type == "heredoc_start"), None)
        if start is None or any(q in text_of(start) for q in "'\"\\"):
            return  # quoted delimiter: the text is data
        texts = [text_of(c) for c in body.children if c.type == "heredoc_content"]
        if not body.children:
            texts = [text_of(body)]
        if any("`" in t or "$(" in t or "$[" in t or "${" in t for t in texts):
            self.unvetted("a here-document whose text runs commands")

    def arithmetic(self, node: Node) -> None:
        kinds = {"variable_name", "simple_expansion", "expansion"}
        if any(n.type in kinds for n in all_nodes(node)):
            self.unvetted("arithmetic on a variable (bash evaluates its value as code)")
        self.arithmetic_text(text_of(node).removeprefix("$"))

    def arithmetic_text(self, text: str) -> None:
        """Text bash evaluates as arithmetic: a ``$`` or backtick in it (quoted or not)
        runs; each name in it is evaluated as a variable (checked at the end)."""
        if "$" in text or "`" in text:
            self.unvetted("arithmetic holding $ or a backtick (bash runs what is inside)")
        self.in_arithmetic |= arithmetic_names(text)

    def test(self, node: Node) -> None:
        """``[[ … ]]``: the operands of ``-eq`` … are arithmetic, the operand of ``-v``
        and ``-R`` a variable name."""
        for expression in all_nodes(node):
            operator = expression.child_by_field_name("operator")
            if operator is None or operator.type != "test_operator":
                continue
            operands = [c for c in expression.named_children if c.id != operator.id]
            if text_of(operator) in ARITHMETIC_TESTS:
                kinds = {"simple_expansion", "expansion", "command_substitution"}
                if any(n.type in kinds for o in operands for n in all_nodes(o)):
                    self.unvetted("arithmetic on a variable (bash evaluates its value as code)")
                for operand in operands:
                    self.arithmetic_text(text_of(operand))
            elif text_of(operator) in ("-v", "-R"):
                for operand in operands:
                    self.name(static(operand))

    def name(self, word: str | None, depth: int = 0) -> None:
        """A word bash takes as a variable name (``read``, ``printf -v``, ``declare``)."""
        why = unsafe_name(word)
        if why or word is None:
            self.unvetted(why)
            return
        base = word.split("[", 1)[0]
        self.assigned.add(base)
        self.sets(base, exported=False)
        self.variable(base, None, depth)

    def declaration(self, node: Node, depth: int) -> None:
        """``declare``/``local``/``export``…: ``-n`` and ``-i`` evaluate values later
        (as a name, as arithmetic); a quoted argument is split into name and value by
        bash when it runs."""
        words = node.named_children
        builtin = text_of(node.children[0]) if node.children else ""
        flags = [text_of(w) for w in words if w.type == "word" and text_of(w)[:1] in "-+"]
        if builtin in ("declare", "typeset", "local") and any(
            "n" in f[1:] or "i" in f[1:] for f in flags
        ):
            self.unvetted(f"{builtin} {' '.join(flags)} evaluates values as names or arithmetic")
        for word in words:
            if word.type == "variable_name":
                self.name(text_of(word), depth)
            elif word.type != "variable_assignment" and text_of(word)[:1] not in "-+":
                value = static(word)
                if value is None:
                    self.unvetted(f"{builtin} of a word that is not plain text")
                    continue
                key, equals, rest = value.partition("=")
                self.name(key, depth)
                self.sets(key.split("[", 1)[0], exported=True)
                if equals:
                    self.variable(key.split("[", 1)[0], rest, depth)

    def assignment(self, node: Node, depth: int) -> None:
        name = node.child_by_field_name("name")
        value = node.child_by_field_name("value")
        text = text_of(name) if name is not None else ""
        self.assigned.add(text.split("[", 1)[0].rstrip("+"))
        prefix = node.parent is not None and node.parent.type in ("command", "declaration_command")
        self.sets(text.split("[", 1)[0].rstrip("+"), exported=prefix)
        self.variable(text.split("[", 1)[0], static(value) if value is not None else "", depth)

    def variable(self, name: str, value: str | None, depth: int) -> None:
        """``NAME=value`` (an assignment, ``env NAME=value``): a variable that changes
        how names are found is not vetted; one whose value is a command line
        (``GIT_SSH_COMMAND``, ``PAGER``, ``EDITOR`` …) has that line parsed too."""
        why = danger(name, value)
        if why:
            self.unvetted(f"it sets {name}: {why}")
        if name in CODE_VARIABLES or name.startswith("GIT_CONFIG"):
            if value is None or name.startswith("GIT_CONFIG") or name == "GIT_EXEC_PATH":
                self.unvetted(f"{name} names programs or configuration that are not vetted")
            elif value:
                self.line(value.lstrip("|"), depth + 1)

    def sets(self, name: str, exported: bool) -> None:
        """A variable the line sets: one a program may see goes in ``Line.variables``
        (a plain ``x=1`` with a lower-case name is the shell's own: never exported
        here, the sandbox passes upper-case names only)."""
        if (exported or not re.search("[a-z]", name)) and name not in self.out.variables:
            self.out.variables.append(name)

    def redirect(self, node: Node) -> None:
        operator = next((c.type for c in node.children if c.type in OUTPUT_REDIRECTS), None)
        if operator is None:
            return
        target = node.child_by_field_name("destination") or node.children[-1]
        value = static(target)
        if operator == ">&" and value is not None and (value.isdigit() or value == "-"):
            return  # 2>&1: a copy of a descriptor
        if value != "/dev/null":
            self.out.writes = True

    def command(self, node: Node, depth: int) -> None:
        source = node.text or b""
        for left, right in zip(node.children, node.children[1:], strict=False):
            gap = source[left.end_byte - node.start_byte : right.start_byte - node.start_byte]
            if re.search(rb"(?:^|[^\\])\n", gap):  # "ls\n\\\ntouch x": bash runs touch
                self.unvetted("a line break the parser reads inside one command")
        name_node: Node | None = None
        words: list[str | None] = []
        for child in node.children:
            if child.type == "command_name":
                name_node = child
                inner = child.children[0] if child.children else child
                words.append(static(inner, name=True))
            elif name_node is not None and child.type not in (
                "herestring_redirect",
                "file_redirect",
                "heredoc_redirect",
            ):
                words.append(static(child))
            self.walk(child, depth)  # substitutions in names, arguments, assignments
        if name_node is None:
            return  # assignments only
        raw = text_of(name_node)
        plain = bool(name_node.children) and name_node.children[0].type == "word"
        if plain and re.search(r"(?:^|[^\\])\s", raw):  # "! { { a; }; }": a name "{ {"
            self.unvetted("the parser read a space inside a command name")
            words = [unescape_word(w) for w in raw.split()] + words[1:]
        # tree-sitter-bash reads "! { a; }" as a command named "{", and "! if a; then
        # b; fi" as commands named "if" and "then": the words after them are commands.
        while words and words[0] in RESERVED:
            if words[0] not in ("{", "}"):
                self.unvetted("the parser misread a bash keyword")
            words = words[1:]
        if not words:
            return
        if words[0] is None:
            self.unvetted(f"a command name that is not plain text: {text_of(name_node)[:60]}")
        self.simple(tuple(words), depth)

    def simple(self, argv: Words, depth: int) -> None:
        if argv[0] is not None and argv[0].startswith("-"):  # "env -S'-i rm x'"
            self.unvetted("a command name that starts with -")
        layers: list[Words] = []
        code: str | None = None
        current: Words | None = argv
        while current:
            layers.append(current)
            if len(layers) > 16:
                self.unvetted("too many wrappers")
                break
            step = self.unwrap(current, depth)
            if isinstance(step, str):
                code = step
                break
            current = step
        self.out.commands.append(Simple(tuple(layers), code is not None))
        if code is not None:
            self.line(code, depth + 1)
        else:
            self.guess(layers[-1], depth, len(layers) > 1)

    def guess(self, argv: Words, depth: int, wrapped: bool) -> None:
        """A program the walker does not know may run its arguments (``setpriv rm x``,
        ``hyperfine 'rm x'``): each argument's program name goes in ``maybe_names``, and
        from a word naming a wrapper or a shell the rest is read as a command (``maybe``)."""
        name = base_name(argv[0])
        if name is None or (name in DATA_PROGRAMS and not wrapped):  # a wrapper's options
            return  # may be misread: "X -z echo rm"
        if name == "git" and (git_word(argv) or "") not in GIT_RUNNING:
            return
        tails = 0
        for j, word in enumerate(argv[1:], 1):
            if word is None:
                continue
            self.out.maybe_names.update(names_in(word))
            base = base_name(word) or ""
            if not self.guessing or not (base in RUNNERS or base in SHELLS or base in WRAPPERS):
                continue
            tails += 1
            if tails > 16:
                self.out.maybe_unvetted.append("too many wrappers among a program's arguments")
                return
            guessed = _Walker(Line(), guessing=False)
            guessed.simple(argv[j : j + 64], depth + 1)  # its names are in maybe_names
            self.out.maybe += guessed.out.commands + guessed.out.maybe
            self.out.maybe_unvetted += guessed.out.unvetted + guessed.out.maybe_unvetted
            self.out.maybe_names |= guessed.out.maybe_names

    def unwrap(self, argv: Words, depth: int) -> Words | str | None:
        """The command a wrapper runs (words), the code string it runs (str), or None."""
        name = base_name(argv[0])
        if name is None:
            return None
        if name in UNVETTABLE:
            self.unvetted(UNVETTABLE[name])
            return None
        for taken in names_taken(name, argv) or ():
            self.name(taken, depth)
        if name == "coproc":  # coproc [NAME] { …; }: the words after "{" or NAME run
            self.unvetted("coproc")
            words = argv[1:]
            while words and words[0] is not None and (words[0] in RESERVED or words[1:2] == ("{",)):
                words = words[1:]
            return words or None
        if name in ("mapfile", "readarray") and any(
            w is None or (w.startswith("-") and "C" in w) for w in argv[1:]
        ):
            self.unvetted(f"{name} -C runs code")
            return None
        if name in SHELLS or (name == "busybox" and argv[1:2] in (("sh",), ("ash",))):
            code = self.shell(argv[2:] if name == "busybox" else argv[1:])
            if code is not None and name not in ("bash", "rbash"):
                self.other_shell(name, code)
            return code
        if name == "eval":
            return self.code(argv[1:], "eval")
        if name == "trap":
            given = [w for w in argv[1:] if w is None or not w.startswith("-")]
            return self.code(given[:1], "trap") if given and given[0] not in ("", "-") else None
        if name == "find":
            self.find(argv, depth)
            return None
        if name == "git":
            return self.git(argv, depth)
        if name == "watch":
            rest = skip_options(argv[1:], {"-n", "--interval", "-d", "-q"})
            return self.code(rest, "watch") if rest is not None else self.dynamic()
        if name in ("su", "script", "flock", "runuser", "sg"):
            for i, word in enumerate(argv[1:-1], 1):
                if word in ("-c", "--command"):
                    return self.code([argv[i + 1]], name)
            if name == "sg":  # sg GROUP COMMAND: the command is a line for /bin/sh
                rest = tuple(w for w in argv[1:] if w != "-")[1:]
                return self.code(rest, "sg") if rest else None
            if name == "flock":
                rest = skip_options(argv[1:], {"-w", "--timeout", "-E", "--conflict-exit-code"})
                return rest[1:] if rest else (self.dynamic() if rest is None else None)
            if name != "runuser":  # runuser -u USER COMMAND: a wrapper below
                return None
        if name == "env":
            return self.env(argv, depth)
        if name == "command" and any(w in ("-v", "-V") for w in argv[1:2]):
            return None  # command -v only prints what a name is
        if name == "capsh":  # capsh … -- ARGS: bash ARGS
            return ("bash", *argv[argv.index("--") + 1 :]) if "--" in argv else None
        spec = WRAPPERS.get(name)
        if spec is None:
            return None
        value_options, positionals = spec
        rest = skip_options(argv[1:], value_options)
        if rest is not None and name in OPTIONS_AGAIN:
            rest = rest[:positionals] + (skip_options(rest[positionals:], value_options) or ())
        if rest is None:
            return self.dynamic()
        if name in ("sudo", "doas"):
            for word in rest:
                if word is None or "=" not in word:
                    break
                key, _, value = word.partition("=")
                self.variable(key, value, depth)
                self.sets(key, exported=True)
            rest = skip_assignments(rest)
        if name == "nice" and rest and rest[0] is not None and re.fullmatch(r"-\d+", rest[0]):
            rest = rest[1:]
        return rest[positionals:] or None

    def dynamic(self) -> Words | None:
        self.unvetted("a wrapper's options or command are not plain text")
        return None

    def code(self, words: Sequence[str | None], who: str) -> str | None:
        if not words or any(w is None for w in words):
            self.unvetted(f"{who} of text that is not known before it runs")
            return None
        return " ".join(w for w in words if w is not None)

    def shell(self, args: Words) -> str | None:
        has_c, rest, why = read_shell(args)
        if why:
            self.unvetted(why)
            return None
        if has_c:
            return self.code(list(rest[:1]), "sh -c")
        return None

    def other_shell(self, name: str, code: str) -> None:
        """Code for a shell that is not bash is parsed as bash (deny rules still find
        its commands), but where the two read text differently it is not vetted."""
        if name in ("sh", "dash", "ash", "busybox"):
            if any(token in code for token in BASH_ONLY):
                self.unvetted(f"{name} (dash) reads $'…', <(…), [[ … differently from bash")
        else:
            self.unvetted(f"{name} is not bash: its code is not vetted")

    def env(self, argv: Words, depth: int) -> Words | str | None:
        reading = read_env(argv)
        for name, value in reading.settings:
            if not is_assignment(f"{name}=") and not name.startswith("BASH_FUNC"):
                self.unvetted(f"env sets {name!r}, which no shell can name")
            self.variable(name, value, depth)
            self.sets(name, exported=True)
        if reading.unreadable:
            self.unvetted(reading.unreadable)
        if reading.split is not None:
            return reading.split  # "env -iS 'rm x'" runs "env -i rm x"
        return reading.program or None

    def git(self, argv: Words, depth: int) -> Words | None:
        """``git -c key=value``: the values git runs as commands are parsed too; an
        alias given so (``-c alias.p=push p``) is put in place as the next layer."""
        aliases: dict[str, str] = {}
        for i, word in enumerate(argv[1:], 1):
            setting = None
            if word == "-c" and i + 1 < len(argv):
                setting = argv[i + 1]
                if setting is None:
                    self.unvetted("git -c of a value that is not plain text")
                    continue
            elif word is not None and word.startswith("-c") and "=" in word:
                setting = word[2:]
            elif word is not None and word.startswith("--config-env"):
                self.unvetted("git --config-env takes configuration from a variable")
            if setting is None:
                continue
            key, _, value = setting.partition("=")
            key = key.lower()
            if GIT_FILE_KEYS.match(key):
                self.unvetted(f"git -c {key} names files git runs or reads")
            elif GIT_CODE_KEYS.match(key) and (not key.startswith("alias.") or value[:1] == "!"):
                self.line(value.removeprefix("!"), depth + 1)
            elif key.startswith("alias."):
                aliases[key[len("alias.") :]] = value  # git matches alias names in any case
        resolved = git_alias(argv, aliases)
        if isinstance(resolved, str):
            self.unvetted(resolved)
            return None
        return resolved

    def find(self, argv: Words, depth: int) -> None:
        i = 1
        while i < len(argv):
            if argv[i] in ("-exec", "-execdir", "-ok", "-okdir"):
                end = i + 1
                while end < len(argv) and argv[end] not in (";", "+"):
                    end += 1
                inner = argv[i + 1 : end]
                if inner:
                    if inner[0] is None:
                        self.unvetted("find -exec of a command that is not plain text")
                    self.simple(inner, depth)
                i = end
            i += 1
