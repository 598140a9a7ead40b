"""The comparison's record: per-method summaries, JSON, and a markdown page a person can read."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from experiments.common import describe_machine, table, write_record


def summarise(runs: list[dict[str, Any]], target: int, checkpoints: tuple[int, ...]) -> dict[str, Any]:
    """How often and how fast a method reached the reference, and its judged success per budget."""
    reach = [r["reach"] for r in runs]
    spent = np.array([np.inf if x is None else x for x in reach], dtype=float)
    success = {}
    for c in checkpoints:
        verdicts = [r["judged"][str(c)] for r in runs if r["judged"][str(c)] is not None]
        success[str(c)] = round(float(np.mean(verdicts)), 3) if verdicts else None
    median = float(np.median(spent)) if len(spent) else np.inf
    return {
        "runs": len(runs),
        "reached_reference": int(np.isfinite(spent).sum()),
        "reached_within_target": int((spent <= target).sum()),
        "median_evaluations_to_reference": None if not np.isfinite(median) else int(median),
        "mean_final_best": round(float(np.mean([r["final_best"] for r in runs])), 4),
        "success_rate": success,
        "seconds": round(float(sum(r["seconds"] for r in runs)), 1),
    }


def _cell(value: float | None, fmt: str = "{:.0%}") -> str:
    return "–" if value is None else fmt.format(value)


def _reach_row(name: str, q: dict[str, Any], budget: int) -> list[Any]:
    """One method's reach of the reference, as table cells."""
    med = q["median_evaluations_to_reference"]
    return [name, f"{q['reached_reference']}/{q['runs']}", f"{q['reached_within_target']}/{q['runs']}",
            med if med is not None else f"> {budget}", f"{q['mean_final_best']:.4f}", f"{q['seconds']:.0f}"]


def markdown(record: dict[str, Any]) -> str:
    """Tables: evaluations to the paper GA's 500-generation score, and judged success against budget."""
    s, m = record["settings"], record["machine"]
    ref = record["reference"]
    checks = [c for c in s["checkpoints"] if c <= s["budget"]]
    lines = [
        "# Search quality per evaluation (embedded default model set)", "",
        f"Measured {record['date']} on {describe_machine(m)}. Command: `{record['command']}`. Libraries: "
        + ", ".join(f"{k} {v}" for k, v in record["libraries"].items()) + ".", "",
        f"Reference: the paper's GA (preset `mini_gan`, population {s['reference']['pop_size']},"
        f" {s['reference']['generations']} generations = {s['reference_evaluations']} evaluations, seed"
        f" {s['reference']['seed']}), once per prompt. Target: reach its final CLIP similarity within a fifth"
        f" of its evaluations ({s['target_evaluations']}). Every other run: seeds {s['seeds']}, stopped at"
        f" {s['budget']} evaluations. {len(s['prompts'])} prompts, held-out digit/colour combinations in a"
        " held-out phrasing:", "",
        *[f"- \"{r['caption']}\": reference similarity {r['score']:.4f}"
          f" (judge: {'success' if r['judged'] else 'failure'})" for r in ref], "",
        "An evaluation is one genome through generator and CLIP; the hybrid's gradient passes (forward +"
        " backward through generator and CLIP) count one evaluation per genome too. NSGA-II optimises"
        " realism as well, so its similarity is expected to be lower; its shown output is the front's"
        " compromise.", "",
    ]
    lines += table(("method", "reached reference (runs)", "within target", "median evaluations to reference",
                    "mean best similarity at budget", "seconds"),
                   [_reach_row(meth["name"], meth["summary"], s["budget"]) for meth in record["methods"]])
    lines += ["", "Judged success (digit, foreground and background all read as the caption says) of the"
              " output shown after a budget of evaluations:", ""]
    rates = {meth["name"]: meth["summary"]["success_rate"] for meth in record["methods"]}
    lines += table(["method", *checks], [[name, *(_cell(r[str(c)]) for c in checks)] for name, r in rates.items()])
    ref_rate = np.mean([r["judged"] for r in ref]) if ref else 0.0
    lines += ["", f"The reference runs themselves: {ref_rate:.0%} judged successes after"
              f" {s['reference_evaluations']} evaluations.", ""]
    lines += record.get("notes", [])
    return "\n".join(lines) + "\n"


def write(record: dict[str, Any], out: Path) -> None:
    """out.json and out.md."""
    write_record(record, out, markdown(record))
