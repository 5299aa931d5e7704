"""Verdicts of the sandbox's content scan kept across runs (``secret_verdicts.py``):
kept by content, so a rewrite that keeps the size and the times is checked again;
many texts checked in worker processes (``secret_pool.py``) answer as here."""

from __future__ import annotations

import os
from pathlib import Path

from agentls.policy.secret_content import has_secret_content
from agentls.policy.secret_pool import POOL_FROM, check_texts
from agentls.policy.secret_verdicts import VerdictStore
from agentls.policy.secrets import SecretContentFiles
from tests.security.secret_samples import python_line, token_samples


def _files(root: Path, cache: Path) -> SecretContentFiles:
    return SecretContentFiles(root, max_bytes=1 << 20, verdicts=VerdictStore(root, cache))


def test_a_new_runner_reuses_verdicts_and_checks_changed_content(tmp_path: Path) -> None:
    root, cache = tmp_path / "ws", tmp_path / "cache"
    root.mkdir()
    token = python_line(token_samples()[0])
    clean = "x = 1\n" + " " * len(token) + "\n"
    (root / "a.py").write_text(clean)
    (root / "b.py").write_text(token + "\n")
    assert _files(root, cache).holding_secrets(["a.py", "b.py"]) == ["b.py"]
    store = cache / "secret-verdicts"
    (saved,) = store.iterdir()
    assert saved.stat().st_mode & 0o777 == 0o600 and store.stat().st_mode & 0o777 == 0o700
    assert _files(root, cache).holding_secrets(["a.py", "b.py"]) == ["b.py"]  # kept
    # The same size, the same times: a verdict kept by metadata would miss it.
    info = (root / "a.py").stat()
    (root / "a.py").write_text("x = 1\n" + token + "\n")
    os.utime(root / "a.py", ns=(info.st_atime_ns, info.st_mtime_ns))
    assert (root / "a.py").stat().st_size == info.st_size
    assert _files(root, cache).holding_secrets(["a.py", "b.py"]) == ["a.py", "b.py"]


def test_an_unreadable_store_counts_as_empty(tmp_path: Path) -> None:
    root, cache = tmp_path / "ws", tmp_path / "cache"
    root.mkdir()
    (root / "b.py").write_text(python_line(token_samples()[1]) + "\n")
    files = _files(root, cache)
    files.verdicts.path.parent.mkdir(parents=True)  # type: ignore[union-attr]
    files.verdicts.path.write_text("{not json")  # type: ignore[union-attr]
    assert files.holding_secrets(["b.py"]) == ["b.py"]


def test_the_worker_pool_answers_as_the_check_here() -> None:
    tokens = token_samples()
    texts = [
        f"x = {n}\n" + (python_line(tokens[n % len(tokens)]) + "\n" if n % 50 == 0 else "")
        for n in range(POOL_FROM + 10)
    ]
    paths = [f"/ws/m{n}.py" for n in range(len(texts))]
    here = [has_secret_content(t, p) for t, p in zip(texts, paths, strict=True)]
    assert sum(here) == len(range(0, len(texts), 50))
    assert check_texts(texts, paths) == here
