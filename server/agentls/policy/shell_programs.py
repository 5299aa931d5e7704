"""Programs that run another program, for ``shell.py``: the wrappers it unwraps
(``sudo``, ``setpriv``, ``timeout`` …, with the options that take a value), how
``env`` and ``git`` read their options, and the programs whose arguments are data.

No list of wrappers is complete, so the walker also guesses (``shell.py``): the
arguments of a program that is neither a wrapper nor known to take data are names
that may run (a deny rule naming one of them asks).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from agentls.policy.shell_words import Words

_f = frozenset

# wrapper name -> (options that take a value, positional words before the command)
# fmt: off
WRAPPERS: dict[str, tuple[frozenset[str], int]] = {
    "command": (_f(), 0),
    "builtin": (_f(), 0),
    "exec": (_f({"-a"}), 0),
    "nohup": (_f(), 0),
    "time": (_f({"-f", "--format", "-o", "--output"}), 0),
    "setsid": (_f(), 0),
    "unbuffer": (_f(), 0),
    "busybox": (_f(), 0),
    "nice": (_f({"-n", "--adjustment"}), 0),
    "ionice": (_f({"-c", "--class", "-n", "--classdata", "-p", "--pid", "-P", "--pgid",
                   "-u", "--uid"}), 0),
    "stdbuf": (_f({"-i", "-o", "-e", "--input", "--output", "--error"}), 0),
    "timeout": (_f({"-s", "--signal", "-k", "--kill-after"}), 1),
    "taskset": (_f(), 1),
    "chrt": (_f({"-T", "--sched-runtime", "-P", "--sched-period", "-D", "--sched-deadline"}), 1),
    "prlimit": (_f({"-p", "--pid"}), 0),
    "strace": (_f({"-o", "-e", "-p", "-s", "-u", "-E", "-a", "-b", "-I", "-O", "-P", "-S",
                   "-X", "--output", "--user", "--env"}), 0),
    "ltrace": (_f({"-o", "-e", "-p", "-s", "-u", "-a", "-n", "-l", "-w", "-x", "-A", "-D",
                   "-F", "--output", "--library", "--align", "--indent"}), 0),
    "unshare": (_f({"-S", "-G", "-R", "-w", "--setuid", "--setgid", "--root", "--wd"}), 0),
    "sudo": (_f({"-u", "-g", "-h", "-p", "-C", "-D", "-R", "-T", "-U", "-r", "-t", "--user",
                 "--group", "--host", "--prompt", "--close-from", "--chdir", "--role",
                 "--type", "--other-user", "--command-timeout"}), 0),
    "doas": (_f({"-u", "-C"}), 0),
    "xargs": (_f({"-I", "-n", "-P", "-L", "-d", "-E", "-s", "-a", "--max-args",
                  "--max-procs", "--max-lines", "--delimiter", "--eof", "--max-chars",
                  "--arg-file", "--replace", "--process-slot-var"}), 0),
    "setpriv": (_f({"--reuid", "--regid", "--ruid", "--euid", "--rgid", "--egid", "--groups",
                    "--inh-caps", "--ambient-caps", "--bounding-set", "--securebits",
                    "--pdeathsig", "--selinux-label", "--apparmor-profile",
                    "--landlock-access", "--landlock-rule", "--seccomp-filter"}), 0),
    "setarch": (_f(), 1),  # setarch ARCH [options] program
    "ssh-agent": (_f({"-a", "-E", "-P", "-t", "-O"}), 0),
    "fakeroot": (_f({"-l", "--lib", "--faked", "-i", "-s", "-b", "--fd-base"}), 0),
    "dbus-run-session": (_f({"--config-file", "--dbus-daemon"}), 0),
    "dbus-launch": (_f({"--config-file", "--autolaunch"}), 0),
    "chroot": (_f({"--userspec", "--groups"}), 1),
    "nsenter": (_f({"-t", "--target", "-S", "--setuid", "-G", "--setgid", "-N",
                    "--net-socket"}), 0),
    "valgrind": (_f(), 0),
    "runcon": (_f({"-u", "--user", "-r", "--role", "-t", "--type", "-l", "--range"}), 0),
    "numactl": (_f({"-C", "-N", "-m", "-i", "-p", "-P", "-w", "--physcpubind",
                    "--cpunodebind", "--membind", "--interleave", "--preferred",
                    "--preferred-many", "--weighted-interleave"}), 0),
    "catchsegv": (_f(), 0),
    "xvfb-run": (_f({"-e", "-f", "-n", "-p", "-s", "-w", "--error-file", "--auth-file",
                     "--server-num", "--xauth-protocol", "--server-args",
                     "--wait"}), 0),
    "systemd-run": (_f({"-u", "--unit", "-p", "--property", "-E", "--setenv", "--description",
                        "--slice", "--uid", "--gid", "--working-directory", "-M",
                        "--machine", "-H", "--host", "--nice", "--service-type",
                        "--on-active", "--on-boot", "--on-startup", "--on-unit-active",
                        "--on-unit-inactive", "--on-calendar", "--timer-property",
                        "--path-property", "--socket-property"}), 0),
    "firejail": (_f(), 0),
    "pkexec": (_f({"-u", "--user"}), 0),
    "tini": (_f({"-p", "-e"}), 0),
    "dumb-init": (_f({"-r", "--rewrite"}), 0),
    "runuser": (_f({"-u", "--user", "-g", "--group", "-G", "--supp-group", "-s", "--shell",
                    "-w", "--whitelist-environment"}), 0),
    "sshpass": (_f({"-p", "-f", "-d", "-e", "-P"}), 0),
    "eatmydata": (_f(), 0),
    "chronic": (_f(), 0),
    "ifne": (_f(), 0),
    "faketime": (_f({"-m", "-f", "--exclude-monotonic"}), 1),
    "torsocks": (_f({"-u", "--user", "-p", "--pass", "-a", "--address", "-P", "--port"}), 0),
    "proxychains": (_f({"-f"}), 0),
    "proxychains4": (_f({"-f"}), 0),
    "flatpak-spawn": (_f(), 0),
    "with-lock-ex": (_f(), 1),
    "lckdo": (_f({"-w"}), 1),
    "caffeinate": (_f({"-w", "-t"}), 0),
    "gtimeout": (_f({"-s", "--signal", "-k", "--kill-after"}), 1),
}
# fmt: on
for _arch in ("linux32", "linux64", "i386", "i686", "x86_64", "uname26", "aarch64",
              "armv7l", "ppc64", "s390x"):  # fmt: skip
    WRAPPERS[_arch] = (_f(), 0)  # setarch's own names
OPTIONS_AGAIN = {"setarch"}  # reads options after its positional word (setarch x86_64 -R …)
SHELLS = {"sh", "bash", "dash", "zsh", "ksh", "mksh", "ash", "yash", "rbash", "busybox-sh"}
RESERVED = {"if", "then", "else", "elif", "fi", "do", "done", "case", "esac", "while", "until",
            "for", "select", "function", "in", "!", "[[", "]]", "{", "}"}  # fmt: skip
BASH_ONLY = ("$'", '$"', "<(", ">(", "<<<", "[[", "((", "&>", "|&", "{")
SHELL_VALUE_OPTIONS = {"-o", "+o", "-O", "+O", "--rcfile", "--init-file"}
UNVETTABLE = {
    "alias": "alias changes what a command name runs",
    "shopt": "shopt can turn on alias expansion",
    "hash": "hash -p changes what a command name runs",
    "enable": "enable changes which builtins exist",
    "bind": "bind -x runs code",
    "complete": "complete -C runs code",
    "compgen": "compgen -C runs code",
    "parallel": "parallel runs its arguments as commands",
    "let": "let evaluates its arguments as arithmetic (names in it as code)",
}

# Programs that take their arguments as data (file names, patterns, text), never as a
# command: a denied name among their arguments is not guessed to run.
DATA_PROGRAMS = {
    "echo", "printf", "cat", "ls", "grep", "egrep", "fgrep", "ag", "head", "tail",
    "wc", "uniq", "cut", "tr", "cd", "pwd", "mkdir", "touch", "cp", "mv", "ln",
    "chmod", "chown", "test", "[", "true", "false", ":", "which", "type", "whereis",
    "help", "whatis", "apropos", "diff", "cmp", "stat", "file", "du", "df",
    "basename", "dirname", "realpath", "readlink", "find", "command", "hash",
    "declare", "export", "unset", "local", "readonly", "typeset", "read", "set", "shift",
    "return", "exit", "break", "continue", "wait", "kill", "jobs", "fg", "bg", "pgrep",
    "pkill", "killall", "ps", "compgen",
}  # fmt: skip
# (not ``man -P``, ``sort --compress-program``, ``rg --pre``: they run a program)
# git subcommands that run commands they are given (``submodule foreach``, ``bisect
# run``, ``rebase -x``, ``--upload-pack``/``--receive-pack``/``--exec`` …): guessed too
GIT_RUNNING = {"submodule", "bisect", "rebase", "filter-branch", "difftool", "mergetool",
               "send-email", "fetch", "pull", "clone", "push", "ls-remote", "archive",
               "for-each-repo", "instaweb", "help", "web--browse", "p4", "svn",
               "remote-ext", "remote-fd", "daemon"}  # fmt: skip


def skip_options(words: Words, value_options: frozenset[str] | set[str]) -> Words | None:
    """The words after a wrapper's options (None: an option is not plain text). A
    cluster of short options (``-Eu root``) takes a value when one of its letters
    does: the rest of the word, or the next word when that letter is the last."""
    i = 0
    while i < len(words):
        word = words[i]
        if word is None:
            return None
        if word == "--":
            return words[i + 1 :]
        if not word.startswith("-") or word == "-":
            break
        short = not word.startswith("--")
        if word in value_options or (short and _last_takes(word, value_options)):
            i += 2
        else:
            i += 1
    return words[i:]


def _last_takes(word: str, value_options: frozenset[str] | set[str]) -> bool:
    for k, letter in enumerate(word[1:], 1):
        if "-" + letter in value_options:
            return k == len(word) - 1
    return False


@dataclass
class EnvReading:
    """What ``env`` does with its words: the variables it sets, and then either the
    program's words, a ``-S`` string to run, or a reason it cannot be read."""

    settings: list[tuple[str, str]] = field(default_factory=list)
    program: Words = ()
    split: str | None = None  # -S STRING (the words after it follow it)
    unreadable: str = ""


ENV_LONG = {"argv0": "a", "ignore-environment": "i", "null": "0", "unset": "u",
            "chdir": "C", "default-signal": "", "ignore-signal": "", "block-signal": "",
            "list-signal-handling": "", "debug": "v", "split-string": "S",
            "help": "", "version": ""}  # fmt: skip
ENV_FLAGS = set("i0v")
ENV_VALUES = set("uCaS")


def read_env(argv: Words) -> EnvReading:
    """``env [-i0v] [-u NAME] [-C DIR] [-a ARG] [-S STRING] [NAME=VALUE]… [PROGRAM …]``,
    read as GNU env's getopt does: short options cluster (``-iS 'rm x'``, ``-vS'rm x'``),
    long options may be cut to any unambiguous prefix (``--split=``)."""
    out = EnvReading()
    i = 1
    while i < len(argv):
        word = argv[i]
        if word is None:
            out.unreadable = "env's options are not plain text"
            return out
        if word == "--":
            i += 1
            break
        if word.startswith("--"):
            name, equals, value = word[2:].partition("=")
            found = [n for n in ENV_LONG if n.startswith(name)] if name else []
            found = [name] if name in ENV_LONG else found
            if len(found) != 1:
                out.unreadable = f"env option {word[:40]!r} is not one env knows"
                return out
            letter = ENV_LONG[found[0]]
            given: str | None = value
            if letter in ENV_VALUES and not equals:
                given, i = (argv[i + 1] if i + 1 < len(argv) else None), i + 1
                if given is None:
                    out.unreadable = "env's options are not plain text"
                    return out
            if letter == "S":
                return _split(out, given or "", argv[i + 1 :])
            i += 1
            continue
        if word.startswith("-") and word != "-":
            for k, letter in enumerate(word[1:], 1):
                if letter in ENV_FLAGS:
                    continue
                if letter not in ENV_VALUES:
                    out.unreadable = f"env option -{letter} is not one env knows"
                    return out
                taken: str | None = word[k + 1 :]
                if not taken:
                    taken, i = (argv[i + 1] if i + 1 < len(argv) else None), i + 1
                if taken is None:
                    out.unreadable = "env's options are not plain text"
                    return out
                if letter == "S":
                    return _split(out, taken, argv[i + 1 :])
                break
            i += 1
            continue
        if word == "-":
            i += 1
        elif "=" in word:  # env takes every NAME=VALUE before the program
            name, _, value = word.partition("=")
            out.settings.append((name, value))
            i += 1
        else:
            break
    out.program = argv[i:]
    return out


def _split(out: EnvReading, value: str, rest: Words) -> EnvReading:
    """``-S STRING``: env splits STRING into words (its own quoting, ``\\_``, ``${X}``),
    then reads them as options, settings and the program, followed by ``rest``."""
    if any(word is None for word in rest):
        out.unreadable = "env -S with words that are not plain text"
        return out
    if re.search(r"[\\$]", value):
        out.unreadable = "env -S escapes and ${…} read differently from bash"
    out.split = " ".join(["env", value, *(w for w in rest if w is not None)])
    return out


GIT_VALUE_OPTIONS = {"-C", "-c", "--git-dir", "--work-tree", "--namespace", "--super-prefix",
                     "--config-env", "--exec-path", "--attr-source", "--list-cmds"}  # fmt: skip


def git_subcommand(argv: Words) -> int | None:
    """The index of git's subcommand among ``argv`` (after git's own options), or None
    when there is none or an option is not plain text."""
    i = 1
    while i < len(argv):
        word = argv[i]
        if word is None:
            return None
        if not word.startswith("-"):
            return i
        if word in GIT_VALUE_OPTIONS and word != "--exec-path":
            i += 2
        else:
            i += 1
    return None


def git_alias(argv: Words, aliases: dict[str, str]) -> Words | str | None:
    """``git -c alias.p=push p …`` runs ``git push …``: the words with the alias put in
    place (one step; the next layer resolves the next alias), a reason it cannot be
    read (str), or None when the subcommand is no alias given by ``-c``."""
    if not aliases:
        return None
    at = git_subcommand(argv)
    word = argv[at] if at is not None else None
    subcommand = word.lower() if word is not None else None
    if at is None or subcommand is None or subcommand not in aliases:
        named = [w for w in argv[1:] if w is None or w.lower() in aliases]
        return "git -c alias.* defines a subcommand that is not vetted" if named else None
    value = aliases[subcommand]
    if re.search(r"[\\'\"]", value):
        return "git -c alias.* splits its value with git's own quoting"
    return (*argv[:at], *value.split(), *argv[at + 1 :])


RUNNERS = {"env", "eval", "trap", "su", "sg", "runuser", "script", "flock", "watch", "find",
           "git", "capsh", "coproc"}  # fmt: skip


def names_in(word: str) -> set[str]:
    """Program names an argument word may give a program that runs it: the word
    itself, the value of ``--opt=VALUE``, the first word of a code string."""
    texts = [word]
    if word.startswith("-") and "=" in word:
        texts.append(word.split("=", 1)[1])
    names: set[str] = set()
    for text in texts:
        first = re.split(r"[\s;&|()`<>]+", text.strip(" \t\n({"), maxsplit=1)[0]
        names |= {text.rsplit("/", 1)[-1], first.rsplit("/", 1)[-1]}
    return names


def read_shell(args: Words) -> tuple[bool, Words, str]:
    """A shell's words after its name: whether it runs ``-c`` code, the words after its
    options, and why it cannot be vetted ("": it can)."""
    has_c = reads_input = False
    i = 0
    while i < len(args):
        word = args[i]
        if word is None:
            return False, (), "a shell's options are not plain text"
        if word == "--":
            i += 1
            break
        if word in SHELL_VALUE_OPTIONS:
            i += 2
            continue
        if word.startswith("--"):
            i += 1
            continue
        if len(word) > 1 and word[0] in "-+":
            has_c = has_c or "c" in word[1:]
            reads_input = reads_input or "s" in word[1:]
            i += 1
            continue
        break
    rest = args[i:]
    if not has_c and (reads_input or not rest):
        return False, rest, "a shell reading commands from its input (a pipe, here-document)"
    return has_c, rest, ""


def git_word(argv: Words) -> str | None:
    """git's subcommand (None: none, or not plain text)."""
    at = git_subcommand(argv)
    return argv[at] if at is not None else None


def base_name(word: str | None) -> str | None:
    """A program's name without its folder (``/bin/rm``: ``rm``)."""
    return None if word is None else word.rsplit("/", 1)[-1]
