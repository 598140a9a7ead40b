"""What a Space needs: every file over the hub's 10 MB limit for plain git files is tracked by LFS."""

from __future__ import annotations

import fnmatch
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HUB_LIMIT = 10 * 1024 * 1024  # bytes: larger plain files are refused by the Hugging Face hub
SKIP = {".git", ".venv", "runs", "__pycache__", ".pytest_cache"}


def lfs_patterns() -> list[str]:
    """The patterns .gitattributes sends through LFS."""
    lines = (ROOT / ".gitattributes").read_text().splitlines()
    return [line.split()[0] for line in lines if "filter=lfs" in line and not line.startswith("#")]


def large_files() -> list[Path]:
    """Files of the project (not the venv, caches or run outputs) over the hub's limit."""
    out = []
    for path in ROOT.rglob("*"):
        rel = path.relative_to(ROOT)
        if rel.parts and rel.parts[0] in SKIP or any(p in SKIP for p in rel.parts):
            continue
        if path.is_file() and path.stat().st_size > HUB_LIMIT:
            out.append(rel)
    return out


def test_every_file_over_ten_megabytes_is_tracked_by_lfs():
    patterns = lfs_patterns()
    big = large_files()
    assert big, "the embedded CLIP (16 MB) should be among them"
    uncovered = [str(f) for f in big if not any(fnmatch.fnmatch(f.name, p) for p in patterns)]
    assert not uncovered, f"add these to .gitattributes (filter=lfs): {uncovered}"
