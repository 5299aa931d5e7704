"""Deterministic workloads: a realistic 10k-line Python file and the model's replies.

The file has many classes, methods and functions, docstrings and strings with
non-ASCII text (accents, CJK, emoji outside the BMP, so UTF-16 positions differ
from code points), ``# agent: ...`` instruction comments here and there, and a few
*target* functions that the benchmarks ask the server to rewrite.

A target's rewrite (``rewrite_of``) changes every line and has no blank line, so
that "the document now holds line k of the new code at its place" can only be
caused by the edit that delivered line k (see ``bench_streaming`` in ``run.py``).
"""

from __future__ import annotations

import random
from dataclasses import dataclass

WORDS = (
    "account order invoice customer payload record buffer window cursor packet "
    "segment ledger report session token budget layout column matrix vector "
    "metric sample bucket shard replica queue worker handler parser encoder"
).split()
NON_ASCII = (
    "Größe",
    "café crème",
    "naïve façade",
    "数据处理",
    "ошибка сети",
    "🚀 launch",
    "✓ done",
    "日本語テキスト",
    "Δt ≥ 0",
    "👩‍💻 dev",
    "𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
)
INSTRUCTIONS = (
    "add type hints",
    "handle the empty case",
    "use a dict comprehension",
    "log the failure with the customer id",
    "make this iterative instead of recursive",
    "cache the result",
)


@dataclass(frozen=True)
class Target:
    name: str
    first_line: int  # 0-based line of the ``def``
    last_line: int  # 0-based, inclusive
    code: str  # the function as it stands in the file (ends with "\n")


@dataclass(frozen=True)
class Workload:
    text: str
    targets: dict[str, Target]
    instruction_lines: list[int]  # 0-based lines holding "# agent: ..."
    line_count: int


def _function_lines(name: str, n_lines: int, tag: str, rng: random.Random) -> list[str]:
    """A top-level function of exactly ``n_lines`` lines, no blank line, all distinct."""
    head = [
        f"def {name}(records: list[dict[str, object]], *, limit: int = 100) -> dict[str, int]:",
        f'    """Summarise the records ({tag}) — «{rng.choice(NON_ASCII)}»."""',
        f"    totals_{tag}: dict[str, int] = {{}}",
        f"    seen_{tag} = 0",
        "    for position, record in enumerate(records):",
    ]
    tail = [f'    totals_{tag}["seen"] = seen_{tag}', f"    return totals_{tag}"]
    body: list[str] = []
    i = 0
    room = n_lines - len(head) - len(tail)
    while len(body) < room:
        w = WORDS[i % len(WORDS)]
        kind = i % 5 if room - len(body) >= 2 else 0
        if kind == 0:
            body.append(f'        {w}_{tag}_{i} = record.get("{w}_{i}", {i})  # {w} {i}')
        elif kind == 1:
            body.append(f"        if seen_{tag} and position > {i}:")
            body.append(f'            totals_{tag}["{w}_{i}"] = seen_{tag} + {i}')
        elif kind == 2:
            label = rng.choice(NON_ASCII)
            body.append(f'        seen_{tag} += len(str(record.get("{w}", "{label} {i}")))')
        elif kind == 3:
            body.append(f"        if seen_{tag} > limit * {i + 1}:")
            body.append(f"            break  # {w} limit {i}")
        else:
            body.append(f'        totals_{tag}.setdefault("{w}_{i}", {i})')
        i += 1
    return head + body + tail


def rewrite_of(target: Target) -> str:
    """The model's new version of ``target``: every line changed, no blank line."""
    new = []
    for line in target.code.rstrip("\n").split("\n"):
        stripped = line.rstrip()
        if stripped.startswith("def "):
            new.append(stripped.replace("limit: int = 100", "limit: int = 128"))
        elif '"""' in stripped:
            new.append(stripped.replace("Summarise", "Summarize"))
        elif stripped.lstrip().startswith("for "):
            new.append(stripped.replace("enumerate(records)", "enumerate(records[:limit])"))
        elif stripped.lstrip().startswith("if "):
            new.append(stripped[:-1] + " and limit > 0:")
        elif "#" in stripped:
            new.append(stripped + " (v2)")
        else:
            new.append(stripped + "  # v2")
    old = target.code.rstrip("\n").split("\n")
    assert len(set(new)) == len(new), "rewrite lines must be distinct"
    assert all(a != b for a, b in zip(old, new, strict=True)), "every line must change"
    assert not set(new) & set(old), "no new line may equal an old one"
    return "\n".join(new) + "\n"


def _noise_function(rng: random.Random, name: str, indent: str, is_method: bool) -> list[str]:
    args = "self, " if is_method else ""
    w1, w2 = rng.sample(WORDS, 2)
    lines = [f"{indent}def {name}({args}{w1}: str, {w2}: int = 0) -> str:"]
    if rng.random() < 0.7:
        lines.append(f'{indent}    """Return the {w1} for {w2} — {rng.choice(NON_ASCII)}."""')
    body = indent + "    "
    for j in range(rng.randint(3, 12)):
        r = rng.random()
        if r < 0.3:
            lines.append(f'{body}{w1} = {w1}.replace("{rng.choice(NON_ASCII)}", "{j}")')
        elif r < 0.5:
            lines.append(f"{body}if {w2} > {j}:")
            lines.append(f"{body}    {w2} -= {j + 1}")
        elif r < 0.65:
            lines.append(f"{body}# {rng.choice(WORDS)} {rng.choice(WORDS)} {rng.choice(NON_ASCII)}")
        elif r < 0.8:
            lines.append(f"{body}for item in range({w2}):")
            lines.append(f'{body}    {w1} += f"{{item}}:{rng.choice(WORDS)}"')
        else:
            lines.append(f"{body}{w2} = len({w1}) * {j} + {w2}")
    lines.append(f'{body}return f"{{{w1}}}-{{{w2}}}"')
    return lines


def build_workload(
    n_lines: int = 10_000, targets: dict[str, tuple[int, int]] | None = None, seed: int = 7
) -> Workload:
    """A Python file of about ``n_lines`` lines.

    ``targets`` maps a name to (approximate first line, number of lines): each such
    top-level function is placed at the first top-level slot after that line.
    """
    rng = random.Random(seed)
    targets = dict(targets or {})
    lines = [
        '"""Generated module for agentls benchmarks — données, 数据, emoji 🚀."""',
        "",
        "from __future__ import annotations",
        "",
        "import dataclasses",
        "import json",
        "import math",
        "from collections import defaultdict",
        "",
        'GREETING = "Grüß Gott, 世界 👋"',
        "",
    ]
    placed: dict[str, Target] = {}
    instruction_lines: list[int] = []
    counter = 0
    while len(lines) < n_lines:
        for name, (at, size) in list(targets.items()):
            if len(lines) >= at and name not in placed:
                lines += ["", ""]
                start = len(lines)
                body = _function_lines(name, size, name.split("_")[-1], rng)
                lines += body
                placed[name] = Target(name, start, len(lines) - 1, "\n".join(body) + "\n")
                lines += [""]
        counter += 1
        lines += ["", ""]
        if rng.random() < 0.4:
            cls = f"{rng.choice(WORDS).capitalize()}Service{counter}"
            lines.append("@dataclasses.dataclass")
            lines.append(f"class {cls}:")
            lines.append(f'    """Service for {rng.choice(WORDS)}s — {rng.choice(NON_ASCII)}."""')
            lines.append("")
            lines.append(f"    name: str = {rng.choice(NON_ASCII)!r}")
            lines.append(f"    size: int = {rng.randint(1, 99)}")
            for m in range(rng.randint(2, 6)):
                lines.append("")
                if rng.random() < 0.1:
                    instruction_lines.append(len(lines))
                    lines.append(f"    # agent: {rng.choice(INSTRUCTIONS)}")
                lines += _noise_function(rng, f"{rng.choice(WORDS)}_{m}", "    ", True)
        else:
            if rng.random() < 0.15:
                instruction_lines.append(len(lines))
                lines.append(f"# agent: {rng.choice(INSTRUCTIONS)}")
            lines += _noise_function(rng, f"{rng.choice(WORDS)}_{counter}", "", False)
    missing = set(targets) - set(placed)
    assert not missing, f"targets past the end of the file: {missing}"
    text = "\n".join(lines) + "\n"
    compile(text, "<workload>", "exec")  # valid Python, so tree-sitter finds the scopes
    return Workload(text, placed, instruction_lines, len(lines))


def model_reply(code: str) -> str:
    """A typical chat reply: a sentence, the fenced code, a closing sentence.

    The closing sentence (about 20 tokens, ~100 ms at 200 tokens/s) separates the
    end of the code from the end of the stream, so that the server's final write
    can be told from the streamed ones.
    """
    return (
        "Here is the updated function:\n```python\n"
        + code
        + "```\nThis version keeps the behaviour, renames nothing public and only tidies "
        "the loop and the limits as asked.\n"
    )
