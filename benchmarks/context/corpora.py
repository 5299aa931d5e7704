"""Corpora of the context benchmark, fetched at benchmark time into ``benchmarks/.cache``.

- ``django``, ``flask``, ``requests``: source distributions from PyPI
  (``pip download --no-binary :all: --no-deps``), unpacked as they come (Django's has its
  ``tests/`` and ``docs/``, like a checkout).
- ``cpython``: the running interpreter's standard library (``sysconfig``'s ``stdlib``),
  i.e. CPython's ``Lib/``, copied without ``site-packages``, ``lib-dynload``, the
  ``config-*`` folder and byte code.

Nothing here is ever committed: ``benchmarks/.cache/`` is in ``.gitignore``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import tarfile
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
CACHE = HERE.parent / ".cache"
SDISTS = CACHE / "sdists"
CORPORA = CACHE / "corpora"

# requirement -> corpus name; pinned to a series so that reruns compare like with like
SDIST_REQUIREMENTS = {
    "django": "django==5.2.*",
    "flask": "flask==3.1.*",
    "requests": "requests==2.*",
}
ALL_CORPORA = ("django", "cpython", "flask", "requests")

SKIP_DIRS = {"__pycache__", ".git", ".hg", ".svn", ".tox", ".venv", "node_modules"}


@dataclass(frozen=True)
class Corpus:
    name: str
    root: Path  # the workspace folder
    # folders that are on sys.path for absolute imports (relative to root)
    import_roots: tuple[str, ...]
    version: str


def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _fetch_sdist(name: str) -> Corpus:
    SDISTS.mkdir(parents=True, exist_ok=True)
    archives = sorted(SDISTS.glob(f"{name}-*.tar.gz"))
    if not archives:
        _log(f"[corpora] pip download {SDIST_REQUIREMENTS[name]} (source distribution)")
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "-q",
                "--no-binary",
                ":all:",
                "--no-deps",
                "-d",
                str(SDISTS),
                SDIST_REQUIREMENTS[name],
            ],
            check=True,
        )
        archives = sorted(SDISTS.glob(f"{name}-*.tar.gz"))
    archive = archives[-1]
    version = archive.name[len(name) + 1 : -len(".tar.gz")]
    root = CORPORA / f"{name}-{version}"
    if not (root / ".complete").exists():
        _log(f"[corpora] unpacking {archive.name}")
        if root.exists():
            shutil.rmtree(root)
        tmp = CORPORA / f".tmp-{name}"
        if tmp.exists():
            shutil.rmtree(tmp)
        tmp.mkdir(parents=True)
        with tarfile.open(archive) as tar:
            tar.extractall(tmp, filter="data")
        (inner,) = list(tmp.iterdir())
        inner.rename(root)
        tmp.rmdir()
        (root / ".complete").write_text(version + "\n")
    roots = tuple(r for r in (".", "src", "tests") if (root / r).is_dir())
    return Corpus(name, root, roots, version)


def _fetch_cpython() -> Corpus:
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    version = sys.version.split()[0]
    root = CORPORA / f"cpython-{version}-Lib"
    if not (root / ".complete").exists():
        _log(f"[corpora] copying {stdlib} (CPython's Lib/) without site-packages")
        if root.exists():
            shutil.rmtree(root)

        def ignore(folder: str, names: list[str]) -> set[str]:
            out = {n for n in names if n in SKIP_DIRS or n.endswith((".pyc", ".pyo"))}
            if Path(folder) == stdlib:
                out |= {n for n in names if n in ("site-packages", "lib-dynload")}
                out |= {n for n in names if n.startswith("config-")}
            return out

        shutil.copytree(stdlib, root, ignore=ignore, symlinks=True)
        (root / ".complete").write_text(version + "\n")
    return Corpus("cpython", root, (".",), version)


def get(name: str) -> Corpus:
    if name == "cpython":
        return _fetch_cpython()
    if name in SDIST_REQUIREMENTS:
        return _fetch_sdist(name)
    raise ValueError(f"unknown corpus {name!r} (one of {', '.join(ALL_CORPORA)})")


def all_files(root: Path, skip_prefixes: tuple[str, ...] = (".aider.tags.cache",)) -> list[Path]:
    """Every regular file of the workspace (what `git ls-files` would list), sorted."""
    out: list[Path] = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS and not d.startswith(skip_prefixes))
        for f in sorted(files):
            if f == ".complete" or f.startswith(skip_prefixes):
                continue
            p = Path(folder) / f
            if p.is_file() and not p.is_symlink():
                out.append(p)
    return out


def python_files(root: Path) -> list[Path]:
    return [p for p in all_files(root) if p.suffix == ".py"]


def sync_copy(src: Path, dst: Path) -> None:
    """A copy of ``src`` at ``dst`` with the same mtimes (so that caches keyed by mtime hold)."""
    if not (dst / ".complete").exists():
        _log(f"[corpora] copying {src.name} for aider (it sees blanked files on disk)")
        if dst.exists():
            shutil.rmtree(dst)
        shutil.copytree(src, dst, symlinks=True)
        return
    # repair what an interrupted run may have left blanked
    for p in all_files(src):
        rel = p.relative_to(src)
        q = dst / rel
        st = p.stat()
        try:
            qs = q.stat()
        except FileNotFoundError:
            qs = None
        if qs is None or qs.st_size != st.st_size or qs.st_mtime_ns != st.st_mtime_ns:
            q.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(p, q)
