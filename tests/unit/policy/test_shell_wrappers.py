"""Deny rules through wrappers, option clusters, unknown programs, git aliases, and
allow rules against variables that load code (round 4: r4_09, r4_10, r4_11, r4_12,
r4_22), generated beyond the lines the red team tried."""

from __future__ import annotations

import shlex

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from agentls.policy.approval import Rules
from agentls.policy.shell_programs import DATA_PROGRAMS, WRAPPERS, read_env
from agentls.policy.shell_variables import SAFE

DENY_RM = Rules(deny_commands=["rm"])
DENY_PUSH = Rules(deny_commands=["git push"])


@st.composite
def wrapper_words(draw: st.DrawFn, name: str) -> list[str]:
    """``name`` with some of its value options (separate, joined, ``--x=v``), its
    positional words and maybe ``--``."""
    values, positionals = WRAPPERS[name]
    words = [name]
    for option in draw(st.lists(st.sampled_from(sorted(values)), max_size=3)) if values else []:
        form = draw(st.sampled_from(["apart", "joined"]))
        if option.startswith("--"):
            words += [option, "1"] if form == "apart" else [f"{option}=1"]
        else:
            words += [option, "1"] if form == "apart" else [f"{option}1"]
    if draw(st.booleans()) and name not in ("command", "builtin", "exec", "time"):
        words.append("--")
    return words + ["1"] * positionals


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(sorted(WRAPPERS)), min_size=1, max_size=3), st.data())
def test_every_known_wrapper_with_its_options_runs_a_denied_command(
    names: list[str], data: st.DataObject
) -> None:
    words: list[str] = []
    for name in names:
        words += data.draw(wrapper_words(name))
    line = shlex.join([*words, "rm", "keep.txt"])
    assert DENY_RM.command(line) == "deny", line


def test_each_wrapper_of_round_4_alone() -> None:
    for line in [
        "setpriv rm x", "setarch x86_64 rm x", "setarch x86_64 -R rm x", "linux32 rm x",
        "ssh-agent rm x", "fakeroot rm x", "dbus-run-session rm x", "chroot / rm x",
        "nsenter -t 1 -m rm x", "valgrind --tool=none rm x", "flock /tmp/l rm x",
        "timeout -sKILL 5 rm x", "timeout -vk 5 10 rm x", "unbuffer rm x", "stdbuf -oL rm x",
        "ionice -c2 -n7 rm x", "chrt -f 10 rm x", "taskset -c 1 rm x", "sudo -Eu root rm x",
        "doas -u root rm x", "runuser -u bob rm x", "capsh -- -c 'rm x'", "sg users 'rm x'",
        "xvfb-run -a rm x", "systemd-run --user -E A=1 rm x", "pkexec rm x", "tini -- rm x",
    ]:  # fmt: skip
        assert DENY_RM.command(line) == "deny", line


NAMES = st.text("abcdefghijklmnopqrstuvwxyz-", min_size=2, max_size=10).filter(
    lambda n: n[0] != "-" and n not in WRAPPERS and n not in DATA_PROGRAMS and n != "rm"
)
ARGS = st.lists(st.sampled_from(["-x", "--y", "--z=1", "7", "a.txt", "-q"]), max_size=4)


@settings(max_examples=300, deadline=None)
@given(NAMES, ARGS, st.sampled_from(["rm", "/bin/rm", "/usr/bin/rm", "--exec=rm"]))
def test_a_denied_name_among_an_unknown_programs_arguments_asks(
    name: str, args: list[str], rm: str
) -> None:
    """A program no list knows (``foo-wrap -q rm x``) may run its arguments: the deny
    rule does not let it through."""
    line = shlex.join([name, *args, rm, "keep.txt"])
    assert DENY_RM.command(line) in ("deny", "ask"), line


@settings(max_examples=200, deadline=None)
@given(NAMES, ARGS, st.sampled_from(["sh -c", "bash -c", "env", "sudo", "timeout 5 sh -c"]))
def test_a_shell_or_wrapper_among_an_unknown_programs_arguments_is_read(
    name: str, args: list[str], runner: str
) -> None:
    code = "rm keep.txt" if runner.endswith("-c") else "rm"
    line = f"{shlex.join([name, *args])} {runner} {shlex.quote(code)} keep.txt"
    assert DENY_RM.command(line) in ("deny", "ask"), line


def test_data_programs_and_plain_arguments_do_not_ask() -> None:
    for line in ["echo rm", "grep -r rm .", "git rm x", "ls rm", "pytest -k 'x; git push'"]:
        assert DENY_RM.command(line) == "", line


FLAGS = st.text("i0v", max_size=3)


@settings(max_examples=300, deadline=None)
@given(FLAGS, FLAGS, st.sampled_from(["joined", "apart", "quoted"]), st.booleans())
def test_env_split_string_anywhere_in_a_short_option_cluster(
    before: str, unset: str, form: str, long_form: bool
) -> None:
    """``env -iS 'rm x'``, ``env -v0S'rm x'``, ``env -uX -iS …``, ``--split-s=…``."""
    prefix = ["env"] + (["-uX"] if unset else [])
    if long_form:
        words = [*prefix, "--split-s=rm keep.txt"]
    elif form == "apart":
        words = [*prefix, f"-{before}S", "rm keep.txt"]
    else:
        words = [*prefix, f"-{before}S" + "rm keep.txt"]
    line = shlex.join(words)
    assert DENY_RM.command(line) == "deny", line


def test_env_reads_options_as_getopt_does() -> None:
    assert read_env(("env", "-iS", "rm x")).split == "env rm x"
    assert read_env(("env", "-u", "X", "-C", "/", "A=1", "rm", "x")).program == ("rm", "x")
    assert read_env(("env", "-iuX", "rm")).program == ("rm",)
    assert read_env(("env", "--unset", "X", "rm")).program == ("rm",)
    assert read_env(("env", "-q", "rm")).unreadable  # no such option: not guessed
    assert read_env(("env", "--s", "A=1")).split == "env A=1"  # a prefix of --split-string


ALIASES = st.lists(st.text("abcdefgh", min_size=1, max_size=4), min_size=1, max_size=3, unique=True)


@settings(max_examples=300, deadline=None)
@given(ALIASES, st.lists(st.sampled_from(["-C .", "--no-pager", "-p", "-c user.name=a"])))
def test_git_aliases_given_by_c_to_a_denied_subcommand(
    chain: list[str], options: list[str]
) -> None:
    """``git -c alias.a=b -c alias.b=push a``: each alias put in place, in any order."""
    settings_ = [f"-c alias.{a}={b}" for a, b in zip(chain, [*chain[1:], "push"], strict=True)]
    line = f"git {' '.join(options)} {' '.join(reversed(settings_))} {chain[0]} origin"
    assert DENY_PUSH.command(line) in ("deny", "ask"), line


def test_an_alias_that_is_no_push_is_not_denied() -> None:
    assert DENY_PUSH.command("git -c alias.s=status s") == ""
    assert DENY_PUSH.command("git -c alias.p=push p origin") == "deny"
    assert DENY_PUSH.command("git -c alias.p='push -f' p") in ("deny", "ask")
    assert DENY_PUSH.command("git -c Alias.P=push p") == "deny"  # git ignores the case
    assert DENY_PUSH.command("git -c alias.p=push P") == "deny"


ALLOW = Rules(allow_commands=["ls", "npm --version"])
LOADING = ["LD_AUDIT", "LD_PRELOAD", "LD_DEBUG_OUTPUT", "GCONV_PATH", "NODE_OPTIONS",
           "NODE_PATH", "RUBYOPT", "PERL5OPT", "PERL5LIB", "JAVA_TOOL_OPTIONS", "PYTHONPATH",
           "PYTHONSTARTUP", "PYTHONWARNINGS", "HOME", "XDG_CONFIG_HOME", "npm_config_script_shell",
           "GIT_DIR", "MALLOC_CONF", "GLIBC_TUNABLES", "PYTEST_ADDOPTS"]  # fmt: skip
UPPER = st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZ_", min_size=1, max_size=12).filter(
    lambda n: (n not in SAFE and not n.startswith("LC_") and n[0] != "_") or n == "_JAVA_OPTIONS"
)
FORMS = ["{n}=./x ls", "env {n}=./x ls", "export {n}=./x; ls", "{n}=./x; ls",
         "declare -x {n}=./x; npm --version", "{n}=./x npm --version", "sudo {n}=./x ls",
         "env -i {n}=./x ls", "for {n} in ./x; do ls; done", "echo ${{{n}:=./x}}; ls"]  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.sampled_from(LOADING), UPPER), st.sampled_from(FORMS))
def test_an_allow_rule_approves_no_line_setting_a_variable_off_the_safe_list(
    name: str, form: str
) -> None:
    plain = form.startswith(("for", "echo")) or form == "{n}=./x; ls"
    # a plain lower-case shell variable is never exported here (the sandbox passes
    # upper-case names only): allowed
    assume(not (plain and name != name.upper()))
    line = form.format(n=name)
    assert ALLOW.command(line) != "allow", line


def test_a_locale_given_as_a_path_is_not_approved() -> None:
    for line in ["LC_ALL=./loc ls", "LANG=/tmp/x ls", 'LANG="$x" ls', "env LC_CTYPE=./l ls"]:
        assert ALLOW.command(line) == "", line


def test_safe_variables_and_shell_locals_are_still_approved() -> None:
    for line in ["LANG=C ls", "LC_ALL=C.UTF-8 ls", "TZ=UTC NO_COLOR=1 ls", "x=1; ls", "ls"]:
        assert ALLOW.command(line) == "allow", line


def test_programs_that_run_a_command_they_are_given_are_not_taken_for_data() -> None:
    """``git submodule foreach``, ``git rebase -x``, ``man -P``, ``sort
    --compress-program``, ``rg --pre`` run the denied program; a wrapper's option the
    walker misreads (``-z``) cannot make a data program of its value."""
    for line in [
        "git submodule foreach 'rm x'", "git rebase -x 'rm x' HEAD~2", "git bisect run rm x",
        "git -C . submodule foreach --recursive rm x", "git fetch --upload-pack='rm x' o",
        "man -P 'rm x' ls", "sort --compress-program=rm x", "rg --pre rm x",
        "sudo -z echo rm x", "timeout -z 5 cat rm x",
    ]:  # fmt: skip
        assert DENY_RM.command(line) in ("deny", "ask"), line
    for line in ["git rm x", "git status", "git commit -m 'rm old files'", "echo rm"]:
        assert DENY_RM.command(line) == "", line
