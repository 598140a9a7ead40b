"""The benchmark record: JSON plus a markdown table, with the machine, the libraries and the date."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from experiments.common import describe_machine, new_record, table, write_record

COLUMNS = ("preset", "mode", "pop", "s / generation", "evaluations / s", "speed-up", "time % G / D / CLIP / GA",
           "first generation s", "peak RSS MB", "peak GPU MB")


def _row(result: dict[str, Any], name: str, mode: dict[str, Any]) -> list[Any]:
    share = mode["share"]
    parts = " / ".join(f"{share.get(k, 0) * 100:.0f}" for k in ("generator", "discriminator", "clip", "operators"))
    speed = next((f"{v:.2f}×" for k, v in mode.items() if k.startswith("speedup_vs_")), "1.00× (baseline)")
    peak = mode.get("peak_gpu_mb", result.get("peak_gpu_mb"))  # per mode where measured so
    gpu = "–" if peak is None else f"{peak:.0f}"
    return [result["preset"], name, result["pop_size"], f"{mode['seconds_per_generation']:.3f}",
            f"{mode['evaluations_per_second']:.1f}", speed, parts, f"{mode.get('first_warm_up_seconds', 0):.1f}",
            f"{result['peak_rss_mb']:.0f}", gpu]


def _rows(result: dict[str, Any]) -> list[list[Any]]:
    if "error" in result:
        return [[result["preset"], *["–"] * 8, f"failed: {result['error']}"]]
    return [_row(result, name, mode) for name, mode in result["modes"].items()]


def markdown(record: dict[str, Any]) -> str:
    """A table a person can read, one row per preset and mode."""
    m = record["machine"]
    lines = [
        "# glass benchmark", "",
        f"Measured {record['date']} on {describe_machine(m)}; device `{record['device']}`.",
        f"Command: `{record['command']}`. Libraries: "
        + ", ".join(f"{k} {v}" for k, v in record["libraries"].items()) + ".", "",
        "Medians over interleaved repeats in one process; 'paper' is what the paper's code did (float32,"
        " its minibatch sizes, GPT-2 with its key/value cache but transformers' own forward, the whole"
        " population decoded at once, CLIP's full text tower, full-resolution scoring). The first"
        " generation is not timed: it warms up and, for '-compiled' modes, includes torch.compile; for"
        " '-graphs' modes (fixed shapes, CUDA graphs) the capture. On CUDA the peak GPU memory is each"
        " mode's own (the counter is reset before each run).", "",
        *table(COLUMNS, [row for result in record["results"] for row in _rows(result)]),
    ]
    lines += _projections(record["results"])
    notes = [r for r in record["results"] if "agreement" in r]
    if notes:
        lines += ["", "Low-precision agreement with float32 (similarities of 32 random genomes):", ""]
        lines += [f"- {r['preset']}: max |Δ| {r['agreement']['max_abs_difference']:.4f},"
                  f" Spearman {r['agreement']['spearman']:.4f}" for r in notes]
    lines += _choices([r for r in record["results"] if "choice" in r])
    return "\n".join(lines) + "\n"


def _projections(results: list[dict[str, Any]]) -> list[str]:
    """A whole run's time: the paper's path against glass's fastest mode, per preset."""
    done = [r for r in results if "fastest" in r]
    if not done:
        return []
    n = done[0].get("projection_generations", 500)
    rows = []
    for r in done:
        paper, fast = next(iter(r["modes"].values())), r["modes"][r["fastest"]]
        speed = paper["seconds_per_generation"] / fast["seconds_per_generation"]
        rows.append([r["preset"], f"{paper['projected_seconds'] / 60:.1f}", r["fastest"],
                     f"{fast['projected_seconds'] / 60:.1f}", f"{speed:.2f}×"])
    return ["", f"Projected {n}-generation run (the first generation as measured, the rest at the median):", "",
            *table(("preset", "paper min", "glass's fastest", "its min", "speed-up"), rows)]


def _choices(results: list[dict[str, Any]]) -> list[str]:
    """What low precision changed in a short search's chosen individual (both scored in float32)."""
    if not results:
        return []
    lines = ["", "Low precision against float32 in a short search with the same seed (chosen individuals"
             " scored again in float32):", ""]
    for r in results:
        c = r["choice"]
        apart = "never" if c["first_generation_apart"] is None else f"from generation {c['first_generation_apart']}"
        lines.append(f"- {r['preset']} ({c['precision']}, {c['generations']} generations): same choice"
                     f" {'yes' if c['same_choice'] else 'no'}, populations apart {apart}, similarity"
                     f" {c['fp32_choice_similarity']:.4f} → {c['low_choice_similarity_in_fp32']:.4f}"
                     f" (Δ {c['similarity_change']:+.4f})")
    return lines


def write(results: list[dict[str, Any]], out: Path, device: str, command: str) -> dict[str, Any]:
    """Write out.json and out.md; return the record."""
    record = new_record(command, device=device, results=results)
    write_record(record, out, markdown(record))
    return record
