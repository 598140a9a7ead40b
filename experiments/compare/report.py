"""The comparison's record: per-method summaries, JSON, and a markdown page a person can read."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from experiments.common import describe_machine, table
from experiments.compare.run import CALIBRATION, CHECKPOINTS
from glass_core.presets import DEFAULT_SEARCH, get_preset

ORDER = ["digits", "biggan", "stylegan2", "gpt2", "captions", "noise"]


def summarise(runs: list[dict[str, Any]], target: int, checkpoints: tuple[int, ...]) -> dict[str, Any]:
    """How often and how fast a method reached the reference, and its judged success per budget."""
    reach = [r["reach"] for r in runs]
    spent = np.array([np.inf if x is None else x for x in reach], dtype=float)
    success = {}
    for c in checkpoints:
        verdicts = [r["judged"][str(c)] for r in runs if r.get("judged", {}).get(str(c)) is not None]
        success[str(c)] = round(float(np.mean(verdicts)), 3) if verdicts else None
    median = float(np.median(spent)) if len(spent) else np.inf
    return {
        "runs": len(runs),
        "reached_reference": int(np.isfinite(spent).sum()),
        "reached_within_target": int((spent <= target).sum()),
        "median_evaluations_to_reference": None if not np.isfinite(median) else int(median),
        "mean_final_best": round(float(np.mean([r["final_best"] for r in runs])), 4),
        "median_short_by": round(float(np.median([r.get("short_by", 0.0) for r in runs])), 5) if runs else None,
        "success_rate": success,
        "seconds": round(float(sum(r["seconds"] for r in runs)), 1),
    }


def _share(summary: dict[str, Any] | None, key: str) -> str:
    """'reached/runs' from a method's summary ('–': the benchmark did not run that method)."""
    return f"{summary[key]}/{summary['runs']}" if summary else "–"


def _cell(value: float | None, fmt: str = "{:.0%}") -> str:
    return "–" if value is None else fmt.format(value)


def default_method(bench: dict[str, Any]) -> str | None:
    """The contender that is glass's default for the benchmark's preset (or genome kind) now (None: none)."""
    if "search" in bench:  # a genome kind's default (presets.DEFAULT_SEARCH), not one preset's
        search = DEFAULT_SEARCH[bench["search"]]
        optimizer, operators = search["optimizer"], search["operators"].name
    else:
        preset = get_preset(bench["preset"])
        optimizer, operators = preset.optimizer, preset.operators.name
    for meth in bench["methods"]:
        ov = meth["overrides"]
        if meth["budget"] == bench["target_evaluations"] and ov.get("optimizer") == optimizer \
                and ov.get("operators") == operators:
            return meth["name"]
    return None


def _reach_row(meth: dict[str, Any], default: str | None, target: int) -> list[Any]:
    """One method's reach of the reference (`target`: a fifth of its evaluations), as table cells."""
    q, budget = meth["summary"], meth["budget"]
    med = q["median_evaluations_to_reference"]
    name = f"**{meth['name']}** (glass default)" if meth["name"] == default else meth["name"]
    reached = f"{q['reached_within_target']}/{q['runs']}"
    if budget > target:  # a calibration run with the reference's whole budget: how many reach it at all
        reached += f" ({q['reached_reference']}/{q['runs']} within {budget})"
    return [name, reached, med if med is not None else f"> {budget}",
            f"{q['mean_final_best']:.4f}", f"{q.get('median_short_by', 0.0):.4f}", f"{q['seconds']:.0f}"]


def _per_run(meth: dict[str, Any]) -> str:
    """Evaluations to the reference per run ('–': not within the budget), in target then seed order."""
    return " ".join("–" if r["reach"] is None else str(r["reach"]) for r in meth["runs"])


def benchmark_lines(record: dict[str, Any]) -> list[str]:
    """One benchmark's section: its reference, the reach table, per-run figures, judged success."""
    b, m = record["benchmark"], record["machine"]
    default, share = default_method(b), b.get("share", "a fifth")
    about = b.get("reference_about") or (f"the paper's GA (preset `{b['preset']}`'s population {b['pop_size']},"
                                         f" faithful operators), {b['plan']['generations']} generations ="
                                         f" {b['reference_evaluations']} evaluations, seed 0, once per target")
    lines = [f"## {b['name']}: {b['about']}", "",
             f"Measured {record['date']} on {describe_machine(m)}. Command: `{record['command']}`.", "",
             f"Reference: {about}. Contenders: seeds {b['plan']['seeds']} per target; target: the reference's final"
             f" similarity within {b['target_evaluations']} evaluations ({share}).", "",
             "Reference scores: " + ", ".join(f"{r['score']:.4f}" for r in b["reference"]) + ".", ""]
    if all("finals" in r for r in b["reference"]):
        lines += [f"Each reference seed's final (seeds {b['reference'][0]['seeds']}), per target: "
                  + ", ".join(" / ".join(f"{f:.4f}" for f in r["finals"]) for r in b["reference"]) + ".", ""]
    rows = [_reach_row(x, default, b["target_evaluations"]) for x in b["methods"]]
    lines += table(("method", f"reached within {share}", "median evaluations to reference", "mean best",
                    "median short by", "seconds"), rows)
    kept = sorted({x["kept_from"] for x in b["methods"] if "kept_from" in x})
    for source in kept:
        names = ", ".join(x["name"] for x in b["methods"] if x.get("kept_from") == source)
        lines += ["", f"Kept (`--keep`) from the record of {source}: {names}."]
    lines += ["", "Evaluations to the reference, per run (targets in order, each with its seeds; – not reached):", ""]
    lines += [f"- {x['name']}: {_per_run(x)}" for x in b["methods"]]
    judged = [x for x in b["methods"] if any(v is not None for v in x["summary"]["success_rate"].values())]
    if judged:
        checks = [c for c in CHECKPOINTS if c <= b["target_evaluations"]]
        lines += ["", "Judged success (digit, foreground and background all read as the caption says) of the"
                  " picture shown after a budget of evaluations:", ""]
        lines += table(["method", *checks], [[x["name"], *(_cell(x["summary"]["success_rate"][str(c)]) for c in checks)]
                                             for x in judged])
        rate = np.mean([r["judged"] for r in b["reference"]])  # one verdict per target, or one per reference seed
        lines += ["", f"The reference runs themselves: {rate:.0%} judged right after {b['reference_evaluations']}"
                  " evaluations."]
    return lines + [""]


def benchmark_markdown(record: dict[str, Any]) -> str:
    """A benchmark's own page (beside its JSON)."""
    return "\n".join(["# Search quality: " + record["benchmark"]["name"], "", *benchmark_lines(record)]) + "\n"


def write_page(folder: Path) -> Path:
    """Rebuild <folder>.md from every benchmark record in `folder`: a summary, then each benchmark."""
    records = [json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))]
    records.sort(key=lambda r: ORDER.index(r["benchmark"]["name"]) if r["benchmark"]["name"] in ORDER else 99)
    rows, notes = [], []
    for rec in records:
        b = rec["benchmark"]
        default = default_method(b)
        by_name = {x["name"]: x["summary"] for x in b["methods"]}
        d, p = by_name.get(default or ""), by_name.get("paper GA")
        # A benchmark with its own reference names its own floor and calibration rows.
        floor = by_name.get(b.get("floor", "random search"))
        whole = by_name.get(b.get("calibration", CALIBRATION))
        if "floor" in b:
            notes.append(f"{b['name']}: the reference is {b['reference_about']}; \"within a fifth\" reads"
                         f" within {b['share']} of its evaluations, random search is {b['floor']} and the last"
                         f" column {b['calibration']}.")
        rows.append([b["name"], default or "–", _share(d, "reached_within_target"), _share(p, "reached_within_target"),
                     _share(floor, "reached_within_target"), _share(whole, "reached_reference")])
    libs = records[0]["libraries"] if records else {}
    lines = ["# Search quality per evaluation", "",
             "Written by `python -m experiments.compare` (one record per benchmark in `search_quality/`)."
             " Libraries: " + ", ".join(f"{k} {v}" for k, v in libs.items()) + ".", "",
             "Every benchmark: how many of 16 runs reach the faithful paper GA's 500-generation similarity"
             " within a fifth of its evaluations. That reference is, per target, the median final similarity of"
             " several paper-GA seeds (each benchmark's \"Reference:\" line; records made before 2026-12-06 ran"
             " seed 0 alone), so the paper GA from other seeds with all its evaluations reaches it about half"
             " the time. An evaluation is one genome through generator and CLIP; a gradient pass (forward +"
             " backward) counts as one too.", ""]
    lines += table(("benchmark", "glass default", "default: reached within a fifth", "paper GA: reached within a fifth",
                    "random search: within a fifth", "paper GA, other seeds: with all its evaluations"), rows)
    lines += [""] + [line for note in notes for line in (note, "")]
    for rec in records:
        lines += benchmark_lines(rec)
    page = folder.with_suffix(".md")
    page.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return page
