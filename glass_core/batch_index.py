"""A batch folder's index.jsonl: one JSON line per finished target, appended safely, read back leniently."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Iterable

INDEX = "index.jsonl"
REPORT = "report.html"


def append_line(path: Path, row: dict[str, Any]) -> None:
    """Append one JSON line and make sure it is on disk before going on."""
    with open(path, "a+b") as f:
        f.seek(0, os.SEEK_END)
        if f.tell():  # a line cut short by a crash must not swallow this one
            f.seek(-1, os.SEEK_END)
            cut = f.read(1) != b"\n"
            f.seek(0, os.SEEK_END)
            if cut:
                f.write(b"\n")
        f.write((json.dumps(row, default=str) + "\n").encode("utf-8"))
        f.flush()
        os.fsync(f.fileno())


def read_index(out_dir: Path) -> list[dict[str, Any]]:
    """The index lines written so far; a line cut short by a crash is ignored."""
    path = Path(out_dir) / INDEX
    if not path.is_file():
        return []
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return rows


def latest_rows(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per run key (its latest), in target order."""
    by_key = {r.get("key"): r for r in rows}
    return sorted(by_key.values(), key=lambda r: (r.get("index", 0), r.get("key", "")))
