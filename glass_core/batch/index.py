"""A batch folder's index.jsonl: one JSON line per finished target, appended safely, read back leniently."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Iterable

from glass_core.errors import BadInputError
from glass_core.jsonsafe import dumps

INDEX = "index.jsonl"
REPORT = "report.html"


def append_line(path: Path, row: dict[str, Any]) -> None:
    """Append one strict JSON line (non-finite numbers as null) and make sure it is on disk before going on."""
    line = dumps(row, default=str) + "\n"
    with open(path, "a+b") as f:
        f.seek(0, os.SEEK_END)
        if f.tell():  # a line cut short by a crash must not swallow this one
            f.seek(-1, os.SEEK_END)
            cut = f.read(1) != b"\n"
            f.seek(0, os.SEEK_END)
            if cut:
                f.write(b"\n")
        f.write(line.encode("utf-8"))
        f.flush()
        os.fsync(f.fileno())


def read_index(out_dir: Path) -> list[dict[str, Any]]:
    """The index lines written so far, as JSON objects; a line cut short, not UTF-8 or not an object is ignored."""
    path = Path(out_dir) / INDEX
    if not path.is_file():
        return []
    rows = []
    for raw in path.read_bytes().splitlines():
        try:
            row = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            continue
        if isinstance(row, dict):
            rows.append(row)
    return rows


def latest_rows(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per run key (its latest), in target order."""
    by_key = {str(r.get("key")): r for r in rows}

    def order(r: dict[str, Any]) -> tuple[int, str]:
        index = r.get("index")
        return (index if isinstance(index, int) else -1, str(r.get("key")))

    return sorted(by_key.values(), key=order)


def result_files(row: dict[str, Any], out_dir: Path) -> list[Path]:
    """The files an ok row names, each a regular file inside out_dir; else one BadInputError saying why.

    Names are resolved (symbolic links followed) before the containment check, so neither "../x"
    nor a link pointing out of the folder lets a row name a file elsewhere.
    """
    files = row.get("files")
    if not isinstance(files, list) or not files or not all(isinstance(f, str) and f for f in files):
        raise BadInputError("its index line names no result files.")
    root = Path(out_dir).resolve()
    paths = []
    for name in files:
        if "\0" in name:
            raise BadInputError(f"{name!r}: not a valid file name.")
        path = (root / name).resolve()
        if not path.is_relative_to(root) or path == root:
            raise BadInputError(f"{name}: outside the batch folder, not read.")
        if not path.exists():
            raise BadInputError(f"{name}: the result file is no longer there.")
        if not path.is_file():
            raise BadInputError(f"{name}: not a regular file.")
        paths.append(path)
    return paths


def done_keys(out_dir: Path) -> set[str]:
    """Keys of the targets finished ok whose result files are all still in the folder (the others are redone)."""
    done = set()
    for row in read_index(out_dir):
        if row.get("status") != "ok" or not isinstance(row.get("key"), str):
            continue
        try:
            result_files(row, out_dir)
        except BadInputError:
            continue
        done.add(row["key"])
    return done
