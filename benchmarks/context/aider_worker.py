"""aider's RepoMap on a job of the context benchmark; runs in the aider virtualenv.

    benchmarks/.cache/aider-venv/bin/python benchmarks/context/aider_worker.py JOB.json OUT.json

No model and no chat: ``RepoMap`` is called as aider's ``Coder.get_repo_map`` does
(``aider/coders/base_coder.py``): chat files = the task's file, other files = every
other file of the workspace (what ``git ls-files`` would list), mentioned file names
and identifiers taken from the task's one-line request the way aider takes them from
the user's message, and its two fallbacks when the map comes out empty. The model is a
stand-in that only counts tokens, with o200k_base (``bpe-openai``), the counter
agentls uses, so that both sides work to the same budget in the same unit.

Standalone on purpose: it imports nothing from agentls or from the benchmark package.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
import time
from collections import defaultdict
from pathlib import Path


class O200kModel:
    """The part of ``aider.models.Model`` that RepoMap uses: ``token_count``."""

    name = "o200k-counter"

    def __init__(self) -> None:
        import bpe_openai

        self._enc = bpe_openai.get_encoding("o200k_base")

    def token_count(self, text: object) -> int:
        if not isinstance(text, str):
            text = json.dumps(text)
        return len(self._enc.encode(text))


class QuietIO:
    """The part of ``aider.io.InputOutput`` that RepoMap uses, without a terminal."""

    encoding = "utf-8"

    def __init__(self) -> None:
        self.messages: list[str] = []

    def read_text(self, filename: str, silent: bool = False) -> str | None:
        try:
            with open(str(filename), encoding=self.encoding) as f:
                return f.read()
        except (OSError, UnicodeError) as err:
            if not silent:
                self.tool_error(f"{filename}: {err}")
            return None

    def tool_output(self, *args: object, **_kw: object) -> None:
        pass

    def tool_warning(self, msg: str = "", *_a: object, **_kw: object) -> None:
        self.messages.append(f"warning: {msg}")

    def tool_error(self, msg: str = "", *_a: object, **_kw: object) -> None:
        self.messages.append(f"error: {msg}")


def ident_mentions(text: str) -> set[str]:
    # aider.coders.base_coder.Coder.get_ident_mentions
    return set(re.split(r"\W+", text))


def ident_filename_matches(idents: set[str], rel_files: list[str]) -> set[str]:
    # aider.coders.base_coder.Coder.get_ident_filename_matches
    by_stem: dict[str, set[str]] = defaultdict(set)
    for fname in rel_files:
        base = Path(fname).stem.lower()
        if len(base) >= 5:
            by_stem[base].add(fname)
    out: set[str] = set()
    for ident in idents:
        if len(ident) >= 5:
            out.update(by_stem[ident.lower()])
    return out


def file_mentions(text: str, rel_files: list[str], chat_rel: set[str]) -> set[str]:
    # aider.coders.base_coder.Coder.get_file_mentions (full paths only, as our requests name them)
    words = {w.rstrip(",.!;:?").strip("\"'`*_") for w in text.split()}
    return {f for f in rel_files if f in words and f not in chat_rel}


class AiderSide:
    def __init__(self, root: Path, rel_files: list[str], map_tokens: int) -> None:
        from aider.repomap import RepoMap

        self.root = root
        self.rel_files = rel_files
        self.abs_files = [str(root / f) for f in rel_files]
        self.io = QuietIO()
        self.model = O200kModel()
        self.rm = RepoMap(
            map_tokens=map_tokens,
            root=str(root),
            main_model=self.model,
            io=self.io,
            repo_content_prefix=None,
            verbose=False,
            max_context_window=None,
            refresh="auto",
        )

    def repo_map(self, chat_rel: str | None, request: str, budget: int) -> str:
        """``Coder.get_repo_map`` with one chat file and one user message."""
        rm = self.rm
        rm.max_map_tokens = budget
        chat = {str(self.root / chat_rel)} if chat_rel else set()
        chat_rel_set = {chat_rel} if chat_rel else set()
        idents = ident_mentions(request)
        fnames = file_mentions(request, self.rel_files, chat_rel_set)
        fnames |= ident_filename_matches(idents, self.rel_files)
        all_abs = set(self.abs_files)
        other = all_abs - chat
        out = rm.get_repo_map(
            chat, other, mentioned_fnames=fnames, mentioned_idents=idents, force_refresh=True
        )
        if not out:
            out = rm.get_repo_map(
                set(), all_abs, mentioned_fnames=fnames, mentioned_idents=idents, force_refresh=True
            )
        if not out:
            out = rm.get_repo_map(set(), all_abs, force_refresh=True)
        return out or ""


def memoize_ranking(side: AiderSide) -> None:
    """Rank once per task and fit each budget to that ranking.

    ``get_ranked_tags`` does not depend on the budget; aider recomputes it on every
    call, which would triple the benchmark's time for the same output. Only the first
    call of a task (the one that is timed) computes it.
    """
    rm = side.rm
    original = rm.get_ranked_tags
    memo: dict[object, object] = {}

    def ranked(chat_fnames, other_fnames, mentioned_fnames, mentioned_idents, progress=None):  # type: ignore[no-untyped-def]
        key = (
            tuple(sorted(chat_fnames)),
            len(other_fnames),
            tuple(sorted(mentioned_fnames)),
            tuple(sorted(mentioned_idents)),
        )
        if key not in memo:
            memo.clear()
            memo[key] = original(chat_fnames, other_fnames, mentioned_fnames, mentioned_idents)
        return memo[key]

    rm.get_ranked_tags = ranked  # type: ignore[method-assign]


def hwm_kib() -> int:
    """This process's peak RSS (VmHWM; ru_maxrss would include the parent's size before exec)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def main() -> int:
    job = json.loads(Path(sys.argv[1]).read_text())
    out_path = Path(sys.argv[2])
    t_start = time.perf_counter()
    import aider  # (import time apart)
    import aider.repomap  # noqa: F401

    import_s = time.perf_counter() - t_start
    root = Path(job["root"])
    pristine = Path(job["pristine"])
    rel_files: list[str] = job["files"]
    budgets: list[int] = job["budgets"]
    result: dict[str, object] = {"ok": True, "import_seconds": import_s, "results": []}
    results: list[dict[str, object]] = []

    if job["mode"] == "cold":
        from aider.repomap import RepoMap

        for d in root.glob(".aider.tags.cache*"):
            shutil.rmtree(d)
        t0 = time.perf_counter()
        side = AiderSide(root, rel_files, budgets[0])
        task = job["tasks"][0]
        text = side.repo_map(task["path"], task["request"], budgets[0])
        seconds = time.perf_counter() - t0
        results.append(
            {
                "id": task["id"],
                "budget": budgets[0],
                "seconds": seconds,
                "tokens": side.model.token_count(text),
                "text": text,
            }
        )
        result["cache_dir"] = RepoMap.TAGS_CACHE_DIR
    else:
        side = AiderSide(root, rel_files, budgets[0])
        if job.get("memoize", True):
            memoize_ranking(side)
        for task in job["tasks"]:
            target = root / task["path"]
            original = pristine / task["path"]
            blanked = task.get("blanked")
            try:
                if blanked is not None:
                    # the blanked file is what aider sees: it reads chat files from disk
                    target.write_text(blanked, encoding="utf-8")
                for budget in budgets:
                    t0 = time.perf_counter()
                    text = side.repo_map(task["path"], task["request"], budget)
                    seconds = time.perf_counter() - t0
                    results.append(
                        {
                            "id": task["id"],
                            "budget": budget,
                            "seconds": seconds,
                            "tokens": side.model.token_count(text),
                            "text": text,
                        }
                    )
            finally:
                if blanked is not None:
                    shutil.copy2(original, target)  # content and mtime back
    result["results"] = results
    result["messages"] = side.io.messages[:20]
    result["hwm_kib"] = hwm_kib()
    result["pid"] = os.getpid()
    out_path.write_text(json.dumps(result))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Exception as exc:  # the runner reports it in the table
        import traceback

        traceback.print_exc()
        Path(sys.argv[2]).write_text(json.dumps({"ok": False, "error": repr(exc)}))
        sys.exit(1)
