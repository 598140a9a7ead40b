"""The benchmark record: JSON plus a markdown table, with the machine, the libraries and the date."""

from __future__ import annotations

import json
import os
import platform
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import torch

from glass_core.runcard import library_versions


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    info = {"cpu": cpu, "cores": os.cpu_count(), "torch_threads": torch.get_num_threads(),
            "platform": platform.platform()}
    if torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(0)
    return info


def _row(result: dict[str, Any], name: str, mode: dict[str, Any]) -> str:
    share = mode["share"]
    parts = " / ".join(f"{share.get(k, 0) * 100:.0f}" for k in ("generator", "discriminator", "clip", "operators"))
    speed = next((f"{v:.2f}×" for k, v in mode.items() if k.startswith("speedup_vs_")), "1.00× (baseline)")
    gpu = f"{result['peak_gpu_mb']:.0f}" if "peak_gpu_mb" in result else "–"
    return (f"| {result['preset']} | {name} | {result['pop_size']} | {mode['seconds_per_generation']:.3f} |"
            f" {mode['evaluations_per_second']:.1f} | {speed} | {parts} | {mode.get('first_warm_up_seconds', 0):.1f} |"
            f" {result['peak_rss_mb']:.0f} | {gpu} |")


def markdown(record: dict[str, Any]) -> str:
    """A table a person can read, one row per preset and mode."""
    m = record["machine"]
    lines = [
        "# glass benchmark", "",
        f"Measured {record['date']} on {m['cpu']} ({m['cores']} cores, {m['torch_threads']} torch threads)"
        + (f", GPU {m['gpu']}" if "gpu" in m else ", no GPU") + f"; device `{record['device']}`.",
        f"Command: `{record['command']}`. Libraries: "
        + ", ".join(f"{k} {v}" for k, v in record["libraries"].items()) + ".", "",
        "Medians over interleaved repeats in one process; 'paper' is the paper-faithful path (float32,"
        " the paper's minibatch sizes, no key/value cache for GPT-2, full-resolution scoring). The first"
        " generation is not timed: it warms up and, for '-compiled' modes, includes torch.compile.", "",
        "| preset | mode | pop | s / generation | evaluations / s | speed-up | time % G / D / CLIP / GA"
        " | first generation s | peak RSS MB | peak GPU MB |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for result in record["results"]:
        if "error" in result:
            lines.append(f"| {result['preset']} | – | – | – | – | – | – | – | – | failed: {result['error']} |")
            continue
        lines += [_row(result, name, mode) for name, mode in result["modes"].items()]
    notes = [r for r in record["results"] if "agreement" in r]
    if notes:
        lines += ["", "Low-precision agreement with float32 (similarities of 32 random genomes):", ""]
        lines += [f"- {r['preset']}: max |Δ| {r['agreement']['max_abs_difference']:.4f},"
                  f" Spearman {r['agreement']['spearman']:.4f}" for r in notes]
    return "\n".join(lines) + "\n"


def write(results: list[dict[str, Any]], out: Path, device: str, command: str) -> dict[str, Any]:
    """Write out.json and out.md; return the record."""
    record = {"date": datetime.now(timezone.utc).isoformat(timespec="seconds"), "device": device,
              "command": command, "machine": machine(), "libraries": library_versions(), "results": results}
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(record, indent=1))
    out.with_suffix(".md").write_text(markdown(record))
    return record
