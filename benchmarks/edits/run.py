"""Edit application robustness: agentls' matcher against aider's, on drifted real edits.

    .venv/bin/python benchmarks/edits/run.py            # 1,080 cases (120 per drift kind)
    .venv/bin/python benchmarks/edits/run.py --quick    # 198 cases (22 per kind)

Cases come from real functions in the unpacked corpora (benchmarks/.cache/corpora), with a
fixed seed. agentls' side runs in this process; aider's side runs in a subprocess under
benchmarks/.cache/aider-venv (aider_worker.py), which never imports agentls. See README.md.
"""

from __future__ import annotations

import argparse
import ast
import json
import random
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from agentls.tools.matching import NoMatch, find_edit

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
CACHE = ROOT / "benchmarks" / ".cache"
CORPORA = CACHE / "corpora"
AIDER_PY = CACHE / "aider-venv" / "bin" / "python"
WORK = CACHE / "edits"

KINDS = (
    "exact",
    "indentation",
    "tabs",
    "trailing-ws",
    "missing-blank",
    "extra-blank",
    "curly-quotes",
    "elision",
    "twice",
)
MARK = "  # EDITED"
_CURLY = {"'": ("‘", "’"), '"': ("“", "”")}
_NORM = str.maketrans({"‘": "'", "’": "'", "“": '"', "”": '"', "\t": "    "})


@dataclass
class Case:
    kind: str
    variant: str
    path: str
    line: int  # 1-based first line of the real block
    start: int  # offsets of the real block in the file (code points)
    end: int
    old: str
    new: str
    expected: str | None  # the block's replacement; None: the right answer is a refusal


class Corpus:
    def __init__(self) -> None:
        self.paths = sorted(str(p) for p in CORPORA.rglob("*.py"))
        self._cache: dict[str, tuple[str, list[str], list[int], list[tuple[int, int]]] | None] = {}

    def load(self, path: str) -> tuple[str, list[str], list[int], list[tuple[int, int]]] | None:
        if path not in self._cache:
            self._cache[path] = self._read(path)
        return self._cache[path]

    @staticmethod
    def _read(path: str) -> tuple[str, list[str], list[int], list[tuple[int, int]]] | None:
        try:
            with open(path, encoding="utf-8", newline="") as f:
                text = f.read()
            tree = ast.parse(text)
        except (UnicodeDecodeError, SyntaxError, ValueError):
            return None
        # Same text for both matchers: no CR, no form feeds, a final newline.
        if "\r" in text or "\x0c" in text or "\x0b" in text or not text.endswith("\n"):
            return None
        lines = text.split("\n")
        starts = [0]
        for line in lines[:-1]:
            starts.append(starts[-1] + len(line) + 1)
        bodies = [
            (node.body[0].lineno - 1, (node.end_lineno or node.lineno) - 1)
            for node in ast.walk(tree)
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        ]
        return text, lines, starts, bodies


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _mark(lines: list[str]) -> list[str]:
    return [lines[0] + MARK, *lines[1:]]


def _shift(lines: list[str], op: str) -> list[str]:
    m = min(_indent(x) for x in lines if x.strip())
    out = []
    for x in lines:
        if not x.strip():
            out.append(x)
        elif op == "0":
            out.append(x[m:])
        elif op.startswith("-"):
            out.append(x[int(op[1:]) :])
        else:
            out.append(" " * int(op) + x)
    return out


def _tabs(lines: list[str]) -> list[str]:
    return [
        "\t" * (_indent(x) // 4) + " " * (_indent(x) % 4) + x.lstrip(" ") if x.strip() else x
        for x in lines
    ]


def _trailing(lines: list[str], seed: int) -> list[str]:
    r = random.Random(seed)
    picks = [r.random() < 0.5 for _ in lines]
    if not any(picks):
        picks[0] = True
    pads = [r.choice((" ", "  ", "    ", "\t")) for _ in lines]
    return [x + pads[i] if picks[i] and x.strip() else x for i, x in enumerate(lines)]


def _curly(lines: list[str]) -> list[str]:
    out = []
    for x in lines:
        seen = {"'": 0, '"': 0}
        chars = []
        for ch in x:
            if ch in _CURLY:
                chars.append(_CURLY[ch][seen[ch] % 2])
                seen[ch] += 1
            else:
                chars.append(ch)
        out.append("".join(chars))
    return out


def _pick_block(
    rng: random.Random, corpus: Corpus
) -> tuple[str, str, list[str], list[int], int, int] | None:
    """A random run of 3-15 lines inside a real function body: path, text, lines,
    line offsets, first line (0-based), size."""
    path = rng.choice(corpus.paths)
    loaded = corpus.load(path)
    if loaded is None or not loaded[3]:
        return None
    text, lines, starts, bodies = loaded
    lo, hi = rng.choice(bodies)
    size = rng.randint(3, 15)
    if hi - lo + 1 < size:
        return None
    first = rng.randint(lo, hi - size + 1)
    return path, text, lines, starts, first, size


def _make(kind: str, rng: random.Random, corpus: Corpus, clean_new: bool) -> Case | None:
    if kind == "twice":
        return _make_twice(rng, corpus)
    picked = _pick_block(rng, corpus)
    if picked is None:
        return None
    path, text, lines, starts, first, size = picked
    block = lines[first : first + size]
    if not block[0].strip() or not block[-1].strip() or any("\t" in x for x in block):
        return None
    real = "\n".join(block)
    if text.count(real) != 1:
        return None
    marked = _mark(block)
    variant = ""
    if kind == "exact":
        old, new = block, marked
    elif kind == "indentation":
        m = min(_indent(x) for x in block if x.strip())
        ops = ["+2", "+4"] + (["0"] if m else []) + (["-4"] if m >= 8 else [])
        variant = rng.choice(ops)
        old, new = _shift(block, variant), _shift(marked, variant)
    elif kind == "tabs":
        if not any(_indent(x) >= 4 for x in block):
            return None
        old, new = _tabs(block), _tabs(marked)
    elif kind == "trailing-ws":
        seed = rng.randrange(1 << 30)
        old, new = _trailing(block, seed), _trailing(marked, seed)
    elif kind == "missing-blank":
        blanks = [i for i, x in enumerate(block) if not x.strip()]
        if not blanks:
            return None
        i = rng.choice(blanks)
        old, new = block[:i] + block[i + 1 :], marked[:i] + marked[i + 1 :]
    elif kind == "extra-blank":
        i = rng.randint(1, size - 1)
        old, new = [*block[:i], "", *block[i:]], [*marked[:i], "", *marked[i:]]
    elif kind == "curly-quotes":
        if "'" not in real and '"' not in real:
            return None
        old, new = _curly(block), _curly(marked)
    elif kind == "elision":
        if size < 5:
            return None
        head = rng.randint(1, size - 3)
        middle = rng.randint(2, size - head - 1)
        tail = block[head + middle :]
        gap = block[head : head + middle]
        if not any(x.strip() for x in gap) or not tail[0].strip():
            return None
        dots = " " * _indent(next(x for x in gap if x.strip())) + "..."
        old, new = [*block[:head], dots, *tail], marked
        variant = f"{middle} lines elided"
    else:
        raise ValueError(kind)
    if clean_new:
        new = marked
    if old == block and kind != "exact":
        return None
    start = starts[first]
    return Case(
        kind=kind,
        variant=variant,
        path=path,
        line=first + 1,
        start=start,
        end=start + len(real),
        old="\n".join(old),
        new="\n".join(new),
        expected="\n".join(marked),
    )


def _make_twice(rng: random.Random, corpus: Corpus) -> Case | None:
    """A real block whose lines occur at two (or more) places of the file."""
    path = rng.choice(corpus.paths)
    loaded = corpus.load(path)
    if loaded is None:
        return None
    _, lines, starts, _ = loaded
    size = rng.randint(3, 8)
    seen: dict[tuple[str, ...], list[int]] = {}
    for i in range(len(lines) - size + 1):
        window = tuple(lines[i : i + size])
        if not window[0].strip() or not window[-1].strip() or any("\t" in x for x in window):
            continue
        if sum(len(x.strip()) for x in window) < 40:
            continue
        seen.setdefault(window, []).append(i)
    dups = [(at, w) for w, at in seen.items() if len(at) > 1]
    if not dups:
        return None
    dups.sort()
    at, window = rng.choice(dups)
    block = list(window)
    variant = rng.choice(("verbatim", "indentation 0", "indentation +4"))
    old = block if variant == "verbatim" else _shift(block, variant.split()[-1])
    if variant == "indentation 0" and old == block:
        old = _shift(block, "+4")
        variant = "indentation +4"
    marked = _mark(block)
    new = marked if variant == "verbatim" else _shift(marked, variant.split()[-1])
    start = starts[at[0]]
    return Case(
        kind="twice",
        variant=f"{variant}, {len(at)} places",
        path=path,
        line=at[0] + 1,
        start=start,
        end=start + len("\n".join(block)),
        old="\n".join(old),
        new="\n".join(new),
        expected=None,
    )


def generate(per_kind: int, seed: int, clean_new: bool) -> list[Case]:
    corpus = Corpus()
    cases: list[Case] = []
    for k, kind in enumerate(KINDS):
        rng = random.Random(seed * 1000 + k)
        made: list[Case] = []
        keys: set[tuple[str, int]] = set()
        tries = 0
        while len(made) < per_kind:
            tries += 1
            if tries > per_kind * 2000:
                raise SystemExit(f"could not generate {per_kind} cases of {kind}")
            case = _make(kind, rng, corpus, clean_new)
            if case is None or (case.path, case.line) in keys:
                continue
            keys.add((case.path, case.line))
            made.append(case)
        cases += made
    return cases


def apply_agentls(text: str, case: Case) -> tuple[str | None, str]:
    found = find_edit(text, case.old, case.new)
    if isinstance(found, NoMatch):
        return None, "refused"
    out = text
    for m in sorted(found, key=lambda m: m.start, reverse=True):
        out = out[: m.start] + m.new_text + out[m.end :]
    return out, found[0].how


def run_aider(cases: list[Case], tag: str) -> list[str | None]:
    WORK.mkdir(parents=True, exist_ok=True)
    src, dst = WORK / f"cases-{tag}.json", WORK / f"aider-{tag}.json"
    src.write_text(
        json.dumps([{"path": c.path, "old": c.old, "new": c.new} for c in cases]),
        encoding="utf-8",
    )
    subprocess.run([str(AIDER_PY), str(HERE / "aider_worker.py"), str(src), str(dst)], check=True)
    raw = json.loads(dst.read_text(encoding="utf-8"))
    outs: list[str | None] = []
    for case, r in zip(cases, raw, strict=True):
        if r is None or isinstance(r, dict):
            outs.append(None)
            continue
        text = _text(case.path)
        p, s, mid = r
        outs.append(text[:p] + mid + text[len(text) - s :])
    return outs


_TEXTS: dict[str, str] = {}


def _text(path: str) -> str:
    if path not in _TEXTS:
        with open(path, encoding="utf-8", newline="") as f:
            _TEXTS[path] = f.read()
    return _TEXTS[path]


def _loose(block: str) -> list[str]:
    """Lines without tabs-vs-spaces, curly quotes, trailing blanks or blank lines."""
    return [x.translate(_NORM).rstrip() for x in block.split("\n") if x.strip()]


def judge(case: Case, out: str | None) -> str:
    """correct | refused | wrong, split as: drifted (right place, the new text as quoted,
    equal but for tabs, trailing blanks, curly quotes, blank lines), garbled (right place,
    other text, e.g. wrong indentation) or elsewhere (other lines changed)."""
    text = _text(case.path)
    if out is None or out == text:
        return "correct" if case.expected is None else "refused"
    if case.expected is None:
        return "elsewhere"  # a block that occurs twice: any application is a guess
    prefix, suffix = text[: case.start], text[case.end :]
    if out == prefix + case.expected + suffix:
        return "correct"
    if out.startswith(prefix) and out.endswith(suffix) and len(out) >= len(prefix + suffix):
        middle = out[len(prefix) : len(out) - len(suffix)]
        return "drifted" if _loose(middle) == _loose(case.expected) else "garbled"
    return "elsewhere"


def table(cases: list[Case], results: dict[str, list[str]]) -> str:
    sides = list(results)
    head = "| drift kind | cases | " + " | ".join(
        f"{s} correct | {s} refused | {s} wrong (drifted / garbled / elsewhere)" for s in sides
    )
    rows = [head + " |", "|" + "---|" * (2 + 3 * len(sides))]
    for kind in (*KINDS, "total"):
        idx = [i for i, c in enumerate(cases) if kind in ("total", c.kind)]
        cells = [f"**{kind}**" if kind == "total" else kind, str(len(idx))]
        for s in sides:
            got = [results[s][i] for i in idx]
            d, g, e = (got.count(w) for w in ("drifted", "garbled", "elsewhere"))
            wrong = f"{d + g + e} ({d} / {g} / {e})"
            cells += [str(got.count("correct")), str(got.count("refused")), wrong]
        rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="22 cases per kind instead of 120")
    ap.add_argument("--seed", type=int, default=4)
    ap.add_argument(
        "--clean-new",
        action="store_true",
        help="new_string without drift (the real block plus the marker) instead of drifted",
    )
    ap.add_argument("--dump", metavar="JSON", help="write every case and verdict here")
    args = ap.parse_args()
    per_kind = 22 if args.quick else 120

    t0 = time.monotonic()
    cases = generate(per_kind, args.seed, args.clean_new)
    t1 = time.monotonic()
    ours, hows = [], []
    for c in cases:
        out, how = apply_agentls(_text(c.path), c)
        ours.append(judge(c, out))
        hows.append(how)
    t2 = time.monotonic()
    tag = f"{args.seed}-{per_kind}{'-clean' if args.clean_new else ''}"
    theirs = [judge(c, out) for c, out in zip(cases, run_aider(cases, tag), strict=True)]
    t3 = time.monotonic()

    results = {"agentls": ours, "aider": theirs}
    style = "drift-free" if args.clean_new else "drifted like old_string"
    print(
        f"{len(cases)} cases, seed {args.seed}, new_string {style}; generated in {t1 - t0:.1f}s, "
        f"agentls {t2 - t1:.1f}s, aider {t3 - t2:.1f}s (incl. its start-up)\n"
    )
    print(table(cases, results))
    n_ok = {s: r.count("correct") for s, r in results.items()}
    wrong = sum(ours.count(w) for w in ("drifted", "garbled", "elsewhere"))
    print(
        f"\nTargets: more correct than aider: {n_ok['agentls']} vs {n_ok['aider']} "
        f"({'met' if n_ok['agentls'] > n_ok['aider'] else 'NOT met'}); "
        f"zero wrong-place for agentls: {wrong} wrong "
        f"({ours.count('elsewhere')} elsewhere, {ours.count('garbled')} garbled, "
        f"{ours.count('drifted')} right place with drifted text) "
        f"({'met' if wrong == 0 else 'NOT met'})"
    )
    layers: dict[str, int] = {}
    for h in hows:
        layers[h] = layers.get(h, 0) + 1
    print("agentls layers used: " + ", ".join(f"{k} {v}" for k, v in sorted(layers.items())))
    if args.dump:
        Path(args.dump).write_text(
            json.dumps(
                [
                    {**asdict(c), "agentls": a, "agentls_how": h, "aider": b}
                    for c, a, h, b in zip(cases, ours, hows, theirs, strict=True)
                ],
                indent=1,
            ),
            encoding="utf-8",
        )


if __name__ == "__main__":
    sys.exit(main())
