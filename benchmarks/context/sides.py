"""The two sides' Pythons: aider's virtualenv (made and checked here) and the agentls
sources the workers import (a snapshot of a commit, or server/ as it is)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from benchmarks.context.common import (
    AIDER_PY,
    AIDER_REQUIREMENTS,
    AIDER_VENV,
    CACHE,
    ENGINE_SOURCE,
    OURS_PY,
    REPO,
    log,
)

# -- the aider virtualenv -------------------------------------------------------------


def setup_aider(reinstall: bool = False) -> str | None:
    """Create/check the aider virtualenv; None if usable, else why not."""
    if reinstall and AIDER_VENV.exists():
        shutil.rmtree(AIDER_VENV)
    if not AIDER_PY.exists():
        log(f"creating {AIDER_VENV} with {' '.join(AIDER_REQUIREMENTS)}")
        base = getattr(sys, "_base_executable", None) or sys.executable
        try:
            subprocess.run([base, "-m", "venv", str(AIDER_VENV)], check=True)
            subprocess.run(
                [str(AIDER_PY), "-m", "pip", "install", "-q", *AIDER_REQUIREMENTS],
                check=True,
                stderr=subprocess.PIPE,
                text=True,
            )
        except subprocess.CalledProcessError as exc:
            err = [ln for ln in (exc.stderr or "").splitlines() if not ln.startswith("WARNING")]
            shutil.rmtree(AIDER_VENV, ignore_errors=True)  # try again next time
            return f"aider-chat could not be installed: {(err or [str(exc)])[-1][:200]}"
        except OSError as exc:
            shutil.rmtree(AIDER_VENV, ignore_errors=True)
            return f"aider-chat could not be installed: {exc}"
    smoke = (
        "from aider.repomap import RepoMap\n"
        "from grep_ast.tsl import get_parser\n"
        "import bpe_openai, importlib.metadata as m\n"
        "get_parser('python').parse(b'def f(): pass')\n"
        "bpe_openai.get_encoding('o200k_base').encode('x')\n"
        "print(m.version('aider-chat'), m.version('tree-sitter-language-pack'))\n"
    )
    try:
        r = subprocess.run(
            [str(AIDER_PY), "-c", smoke], capture_output=True, text=True, timeout=120, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"aider's virtualenv does not run: {exc}"
    if r.returncode != 0:
        last = (r.stderr.strip().splitlines() or ["?"])[-1]
        return f"aider's RepoMap does not load offline: {last[:200]}"
    return None


def aider_versions() -> dict[str, str]:
    code = (
        "import importlib.metadata as m, json\n"
        "print(json.dumps({p: m.version(p) for p in ('aider-chat', 'grep-ast', "
        "'tree-sitter', 'tree-sitter-language-pack', 'networkx', 'bpe-openai')}))"
    )
    r = subprocess.run([str(AIDER_PY), "-c", code], capture_output=True, text=True, check=False)
    try:
        return dict(json.loads(r.stdout))
    except ValueError:
        return {}


# -- the agentls sources ----------------------------------------------------------------


def ours_source(ref: str) -> tuple[Path, str]:
    """The agentls sources the workers import: a snapshot of commit ``ref`` or server/ as is.

    A snapshot (``git archive``) keeps the measured code fixed while someone edits the
    working tree during the run.
    """
    if ref == "worktree":
        return REPO / "server", "working tree"
    r = subprocess.run(
        ["git", "rev-parse", "--verify", f"{ref}^{{commit}}"],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=True,
    )
    sha = r.stdout.strip()
    dest = CACHE / "agentls-src" / sha[:12]
    if not (dest / ".complete").exists():
        if dest.exists():
            shutil.rmtree(dest)
        dest.mkdir(parents=True)
        archive = subprocess.run(
            ["git", "archive", sha, "server/agentls"], capture_output=True, cwd=REPO, check=True
        )
        subprocess.run(["tar", "-x", "-C", str(dest)], input=archive.stdout, check=True)
        (dest / ".complete").write_text(sha + "\n")
    return dest / "server", sha


def engine_available(src: Path) -> str | None:
    if not (src / "agentls" / "context" / "engine.py").exists():
        return f"not available yet: {ENGINE_SOURCE.relative_to(REPO)} is missing"
    r = subprocess.run(
        [str(OURS_PY), "-c", "from agentls.context.engine import ContextEngine"],
        capture_output=True,
        text=True,
        cwd=str(REPO),
        env={**os.environ, "PYTHONPATH": str(src)},
        check=False,
    )
    if r.returncode != 0:
        return "does not import: " + (r.stderr.strip().splitlines() or ["?"])[-1][:200]
    return None
