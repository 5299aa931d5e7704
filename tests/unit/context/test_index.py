"""The workspace walk honours ignore rules and secrets; the index persists and follows the disk."""

from __future__ import annotations

import os
from pathlib import Path

from agentls.context.files import WorkspaceFiles
from agentls.context.index import WorkspaceIndex
from tests.unit.context.workspace import make_workspace


def test_walk_skips_ignored_and_secret_files(tmp_path: Path) -> None:
    root = make_workspace(tmp_path / "ws")
    (root / ".venv" / "lib").mkdir(parents=True)
    (root / ".venv" / "lib" / "x.py").write_text("def x(): pass\n")
    (root / "env2").mkdir()
    (root / "env2" / "pyvenv.cfg").write_text("home = /usr\n")
    (root / "env2" / "y.py").write_text("def y(): pass\n")
    paths = [f.path for f in WorkspaceFiles(root).walk()]
    assert paths == sorted(paths)
    assert set(paths) == {
        "app/__init__.py",
        "app/models.py",
        "app/service.py",
        "app/text.py",
        "tests/test_service.py",
        "vendor/keep.py",
        "web/client.ts",
        "web/format.ts",
    }


def test_allowed_judges_single_paths_by_the_same_rules(tmp_path: Path) -> None:
    files = WorkspaceFiles(make_workspace(tmp_path))
    assert files.allowed("app/models.py")
    assert files.allowed("vendor/keep.py")
    for path in (
        ".env",
        "config/credentials.json",
        "build/slugify_copy.py",
        "app/User.generated.py",
        "vendor/dropped.py",
        "private/notes.py",
        "a/.ssh/id_rsa",
        "../outside.py",
    ):
        assert not files.allowed(path), path


def test_index_survives_a_restart_and_follows_changes_made_outside(tmp_path: Path) -> None:
    root = make_workspace(tmp_path / "ws")
    cache = tmp_path / "cache"
    first = WorkspaceIndex(root, cache, workers=1).build()
    assert (first.files, first.parsed) == (8, 8)
    index = WorkspaceIndex(root, cache, workers=1)
    again = index.build()
    assert (again.files, again.parsed, again.definitions) == (8, 0, first.definitions)
    assert [loc.path for loc in index.definitions("slugify")] == ["app/text.py"]

    # Outside the editor: one file deleted, one renamed, one changed.
    (root / "web/format.ts").unlink()
    os.rename(root / "app/text.py", root / "app/strings.py")
    models = root / "app/models.py"
    models.write_text(
        models.read_text() + "\n\ndef make_admin() -> User:\n    return User('root')\n"
    )
    index = WorkspaceIndex(root, cache, workers=1)
    stats = index.build()
    assert (stats.files, stats.parsed) == (7, 2)
    assert index.definitions("format") == []
    assert [loc.path for loc in index.definitions("slugify")] == ["app/strings.py"]
    assert [loc.path for loc in index.definitions("make_admin")] == ["app/models.py"]


def test_worker_processes_give_the_same_index(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    for i in range(60):  # enough files for the worker processes to start
        (root / f"pkg{i % 3}").mkdir(parents=True, exist_ok=True)
        (root / f"pkg{i % 3}" / f"m{i}.py").write_text(f"def f{i}():\n    return {i}\n")
    alone = WorkspaceIndex(root, tmp_path / "c1", workers=1)
    alone.build()
    pooled = WorkspaceIndex(root, tmp_path / "c2", workers=2)
    stats = pooled.build()
    assert stats.parsed == 60
    assert pooled.tags == alone.tags


def test_update_and_remove_one_file(tmp_path: Path) -> None:
    root = make_workspace(tmp_path / "ws")
    index = WorkspaceIndex(root, tmp_path / "cache", workers=1)
    index.build()
    (root / "app/text.py").write_text("def titlecase(v):\n    return v.title()\n")
    index.update("app/text.py")
    assert index.definitions("slugify") == []
    assert [loc.path for loc in index.definitions("titlecase")] == ["app/text.py"]
    assert not index.update(".env")  # a secret is never indexed
    assert ".env" not in index.tags
    index.remove("app/text.py")
    assert index.definitions("titlecase") == []
    reloaded = WorkspaceIndex(root, tmp_path / "cache", workers=1)
    reloaded.build()
    assert [loc.path for loc in reloaded.definitions("titlecase")] == ["app/text.py"]


def test_a_corrupt_cache_is_rebuilt(tmp_path: Path) -> None:
    root = make_workspace(tmp_path / "ws")
    index = WorkspaceIndex(root, tmp_path / "cache", workers=1)
    index.db_path.write_bytes(b"this is not a database" * 100)
    assert index.build().files == 8
