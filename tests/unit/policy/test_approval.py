"""The approval policy: modes, the user's rules (deny before allow), the user's answers."""

from __future__ import annotations

import pytest

from agentls.policy.approval import Answer, Kind, Policy, Rules


class User:
    """Answers approval questions from a script, and remembers them."""

    def __init__(self, *answers: Answer) -> None:
        self.answers = list(answers)
        self.asked: list[str] = []

    async def __call__(self, kind: Kind, what: str) -> Answer:
        self.asked.append(what)
        return self.answers.pop(0) if self.answers else "deny"


RULES = Rules(
    allow_paths=["tests/**", "*.md"],
    deny_paths=["migrations/", "*.lock"],
    allow_commands=["pytest", "npm test", "git status"],
    deny_commands=["git push", "rm -rf", "curl"],
)


@pytest.mark.parametrize(
    ("command", "verdict"),
    [
        ("pytest -q tests/", "allow"),
        ("npm test", "allow"),
        ("npm testing", ""),  # word by word, not by characters
        ("pytestx", ""),
        ("pytest && curl evil.example", "deny"),  # a denied part denies the whole
        ("pytest; echo done", ""),  # an allow prefix approves one simple command only
        ("pytest > out.txt", ""),  # redirections are not approved by a prefix
        ("pytest $(cat x)", ""),
        ("make build | tee log; git push -f origin", "deny"),
        ("/usr/bin/git push", "deny"),  # a path does not hide the program
        ("FORCE=1 git push", "deny"),
        ("env FORCE=1 git push", "deny"),
        ("git status", "allow"),
        ("git   status  --short", "allow"),
        ("echo 'rm -rf /'", ""),  # quoted: the program is echo
        ("rm -rf build", "deny"),
        ("ls", ""),
        ("pytest -k 'a or (b and c)'", "allow"),  # quoted: no subshell, no separator
        ("pytest -k 'x; git push'", "allow"),  # a quoted ; is an argument
        ('pytest -k "$(curl evil)"', "deny"),  # $( ) runs inside double quotes
        ("pytest -k `id`", ""),
        ("pytest 'unclosed", "ask"),  # not bash: asks in every mode (there are deny rules)
        ('git status; echo "a && git push"', ""),  # the quoted git push is echo's text
        ("true && git  push", "deny"),
    ],
)
def test_command_rules(command: str, verdict: str) -> None:
    assert RULES.command(command) == verdict


@pytest.mark.parametrize(
    ("path", "verdict"),
    [
        ("tests/test_a.py", "allow"),
        ("README.md", "allow"),
        ("docs/guide.md", "allow"),
        ("migrations/0001_init.py", "deny"),
        ("poetry.lock", "deny"),
        ("app/models.py", ""),
    ],
)
def test_path_rules(path: str, verdict: str) -> None:
    assert RULES.path(path) == verdict


async def test_modes_rules_and_answers() -> None:
    user = User("once", "deny", "task")
    policy = Policy("ask", user, RULES)
    assert await policy.refusal_to_write("tests/test_a.py") == ""  # allowed by a rule
    assert "agent.denyPaths" in await policy.refusal_to_write("poetry.lock")
    assert user.asked == []  # rules decide without asking
    assert await policy.refusal_to_write("app/models.py") == ""  # "once"
    assert await policy.refusal_to_write("app/models.py") == "the user did not allow it"
    assert await policy.refusal_to_write("app/views.py") == ""  # "task": no more questions
    assert await policy.refusal_to_write("app/urls.py") == ""
    assert len(user.asked) == 3 and user.asked[0] == "edit app/models.py"
    # Commands still ask: "for this task" was about writes.
    assert await policy.refusal_to_run("make") == "the user did not allow it"
    assert await policy.refusal_to_run("pytest -q") == ""
    assert "agent.denyCommands" in await policy.refusal_to_run("git push")


async def test_full_auto_still_obeys_deny_rules_and_read_only_allows_nothing() -> None:
    user = User()
    auto = Policy("full-auto", user, RULES)
    assert await auto.refusal_to_run("make build") == ""
    assert await auto.refusal_to_write("app/x.py", "create") == ""
    assert await auto.refusal_to_run("curl https://example.com")
    assert await auto.refusal_to_write("migrations/0002.py")
    read_only = Policy("read-only", user, RULES)
    assert await read_only.refusal_to_write("tests/test_a.py") == "agent.approval is read-only"
    assert await read_only.refusal_to_run("pytest") == "agent.approval is read-only"
    assert not read_only.offers("write") and user.asked == []


async def test_without_a_sandbox_every_command_asks_even_an_allowed_one() -> None:
    user = User("once")
    policy = Policy("full-auto", user, RULES, commands_sandboxed=False)
    assert await policy.refusal_to_run("pytest") == ""
    assert await policy.refusal_to_run("pytest") == "the user did not allow it"
    assert user.asked == ["run `pytest`", "run `pytest`"]
    assert await policy.refusal_to_write("app/x.py") == ""  # writes stay free in full-auto
