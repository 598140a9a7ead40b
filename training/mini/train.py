"""Retrain the embedded default model set from scratch, seeded: `python -m training.mini.train`.

Writes weights/mini/{clip,gan,gpt2}/ and weights/mini/training_log.json (times, losses, sizes, the
machine), relative to the current directory: run it from the repository root, or pass --out.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from experiments.common import machine

PARTS = ("clip", "gan", "gpt2")
OUT = Path("weights") / "mini"


def _folder_mb(folder: Path) -> float:
    return round(sum(f.stat().st_size for f in folder.rglob("*") if f.is_file()) / 2**20, 2)


def train_part(part: str, out: Path, log) -> None:
    """Train one model and save it under `out/part`."""
    if part == "clip":
        from training.mini.clip_train import save_clip, train_clip

        save_clip(train_clip(log=log), out / "clip")
    elif part == "gan":
        from training.mini.gan_train import save_gan, train_gan

        save_gan(*train_gan(log=log), out / "gan")
    else:
        from training.mini.gpt2_train import train_gpt2

        train_gpt2(out / "gpt2", log=log)


def main(argv: list[str] | None = None) -> None:
    """Train the chosen parts (all by default) and record how long each took."""
    parser = argparse.ArgumentParser(prog="python -m training.mini.train", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("parts", nargs="*", help=f"which of {', '.join(PARTS)} to train (default: all)")
    parser.add_argument("--out", type=Path, default=OUT, help=f"folder of the mini set (default {OUT})")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.parts) - set(PARTS))
    if unknown:
        parser.error(f"unknown part(s) {', '.join(unknown)}; choose from {', '.join(PARTS)}")
    if args.threads:
        torch.set_num_threads(args.threads)
    log_file = args.out / "training_log.json"
    record = json.loads(log_file.read_text()) if log_file.is_file() else {}
    for part in args.parts or PARTS:
        lines: list[str] = []

        def log(line: str) -> None:
            print(line, flush=True)
            lines.append(line)

        start = time.time()
        train_part(part, args.out, log)
        # Each part keeps the machine it was trained on: parts are retrained one at a time.
        record[part] = {"seconds": round(time.time() - start, 1), "size_mb": _folder_mb(args.out / part),
                        "machine": machine(), "log": lines}
    record.pop("machine", None)  # the log's one machine for all parts, before parts kept their own
    log_file.write_text(json.dumps(record, indent=2) + "\n")
    print(json.dumps({k: v["seconds"] for k, v in record.items() if k in PARTS}))


if __name__ == "__main__":
    main()
