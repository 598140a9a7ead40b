"""What the lab's scripts share: the machine, the record they write, markdown tables, held-out
targets of the embedded set, and a search run to its last record.

Every script writes `<stem>.json` (the record: date, command, machine, libraries, then its own
figures) and `<stem>.md` (the same for a person), to a stem relative to the current directory
unless `--out` says otherwise.
"""

from __future__ import annotations

import json
import os
import platform
import shlex
import sys
from datetime import datetime, timezone
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, Callable, Iterable, Literal

import numpy as np
import torch

from glass_core.records import GenerationRecord
from glass_core.runcard import library_versions

LAB_LIBRARIES = ("scikit-learn", "scipy")  # the judge and the rank correlations


def cpu_model() -> str:
    """The CPU's name from /proc/cpuinfo, else what `platform` knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine() -> dict[str, Any]:
    """What a figure was measured on, and when (UTC): the same keys in every record."""
    return {"cpu": cpu_model(), "cores": os.cpu_count(), "torch_threads": torch.get_num_threads(),
            "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
            "load_average_1m": round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None,
            "torch": torch.__version__, "python": platform.python_version(), "platform": platform.platform(),
            "date": datetime.now(timezone.utc).isoformat(timespec="seconds")}


def describe_machine(m: dict[str, Any]) -> str:
    """'CPU (n cores, t torch threads), GPU x' or '…, no GPU'."""
    gpu = f"GPU {m['gpu']}" if m.get("gpu") else "no GPU"
    return f"{m['cpu']} ({m['cores']} cores, {m['torch_threads']} torch threads), {gpu}"


def libraries() -> dict[str, str]:
    """Versions of the libraries that shape the figures: glass's own list plus the lab's."""
    out = library_versions()
    for name in LAB_LIBRARIES:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "not installed"
    return out


def command(module: str, argv: list[str] | None = None) -> str:
    """The command line that made a record: `python -m module args…`, quoted as a shell would need."""
    args = sys.argv[1:] if argv is None else argv
    return f"python -m {module} {shlex.join(args)}".rstrip()


def new_record(command_line: str, **fields: Any) -> dict[str, Any]:
    """A record's head (date, command, machine, libraries) followed by `fields`."""
    m = machine()
    return {"date": m["date"], "command": command_line, "machine": m, "libraries": libraries(), **fields}


def write_record(record: dict[str, Any], stem: Path, markdown: str) -> tuple[Path, Path]:
    """Write stem.json (the record) and stem.md (`markdown`); return both paths."""
    stem = Path(stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    json_path, md_path = stem.with_suffix(".json"), stem.with_suffix(".md")
    json_path.write_text(json.dumps(record, indent=1, default=str) + "\n", encoding="utf-8")
    md_path.write_text(markdown, encoding="utf-8")
    return json_path, md_path


def table(header: Iterable[Any], rows: Iterable[Iterable[Any]]) -> list[str]:
    """A markdown table's lines: header, separator, one line per row."""
    header = [str(h) for h in header]
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join("---" for _ in header) + " |"]
    return lines + ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]


Combo = tuple[int, str, str]  # (digit, foreground colour, background colour)


Draw = Literal["permutation", "choice"]


def heldout_combos(n: int, rng: np.random.Generator, draw: Draw = "permutation") -> list[Combo]:
    """n distinct held-out combinations (of 50), in a seeded order.

    "permutation": asking for more keeps the first ones. "choice" (`rng.choice` without
    replacement) is how experiments.dialogue has always drawn, kept so that its record reproduces.
    """
    from training.mini import data

    combos = sorted(data.heldout_combos())
    order = rng.permutation(len(combos))[:n] if draw == "permutation" else rng.choice(len(combos), n, replace=False)
    return [combos[i] for i in order]


def heldout_captions(n: int, seed: int, varied: bool = False) -> list[tuple[str, Combo]]:
    """n captions of held-out combinations in held-out phrasings, with the combination each names.

    Plain: the first held-out template with digit words. Varied: the two held-out templates
    alternate, and digit words and numerals alternate in pairs.
    """
    from training.mini import data

    picks = heldout_combos(n, np.random.default_rng(seed))
    if not varied:
        return [(data.caption(*c, data.HELDOUT_TEMPLATES[0]), c) for c in picks]
    return [(data.caption(*c, data.HELDOUT_TEMPLATES[i % 2], numeral=bool(i // 2 % 2)), c)
            for i, c in enumerate(picks)]


def heldout_pictures(n: int, seed: int, draw: Draw = "permutation") -> list[tuple[Any, Combo]]:
    """n pictures (PIL, 32×32) of held-out combinations in held-out handwriting, with their truth."""
    from glass_core.generators.base import to_pil
    from training.mini import data

    rng = np.random.default_rng(seed)
    picks = heldout_combos(n, rng, draw)
    batch = data.render_combos(picks, rng, split="test")
    return list(zip(to_pil(batch["images"]), picks))


def last_record(records: Iterable[GenerationRecord],
                each: Callable[[GenerationRecord], None] | None = None) -> GenerationRecord:
    """Run a search to its last record, handing every record to `each` on the way."""
    last = None
    for last in records:
        if each is not None:
            each(last)
    if last is None:
        raise ValueError("the search yielded no record")
    return last


def free_captions(n: int, seed: int, dev: bool = False, family: str = "") -> list[tuple[str, Combo]]:
    """n held-out combinations in free phrasings written apart from the training grammar.

    `dev`: training.mini.wording.FREE_DEV (whose misses guided the grammar), else FREE_HELDOUT;
    `family="short"`: SHORT_HELDOUT, the short forms only word order disambiguates. The
    phrasings take turns; digits come as words or numerals and colours now and then as
    synonyms, as `wording.fill` draws them.
    """
    from training.mini import wording

    rng = np.random.default_rng(seed)
    picks = heldout_combos(n, rng)
    phrasings = {"short": wording.SHORT_HELDOUT}.get(family) or (wording.FREE_DEV if dev else wording.FREE_HELDOUT)
    return [(wording.fill(phrasings[i % len(phrasings)], *c, rng), c) for i, c in enumerate(picks)]


def pictures_drawn_apart(n: int, seed: int) -> list[tuple[Any, Combo]]:
    """n held-out combinations in held-out handwriting, drawn the held-out way (PIL, shades, JPEG)."""
    from training.mini.drawn_apart import pictures_apart

    rng = np.random.default_rng(seed)
    picks = heldout_combos(n, rng)
    return list(zip(pictures_apart(picks, rng), picks))
