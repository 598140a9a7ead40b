"""A batch's metrics: CLIPScore of every result against its target, and FID / IS against reference pictures.

CLIPScore (Hessel, Holtzman, Forbes, Le Bras, Choi, "CLIPScore: A Reference-free Evaluation Metric for
Image Captioning", EMNLP 2021, eq. 1): CLIP-S(c, v) = w · max(cos(c, v), 0) with w = 2.5, where c is
CLIP's embedding of the caption and v of the picture. Here c is the target caption and v the drawn
picture (text → image), or c the found caption and v the target picture (image → text), both
embedded by the CLIP the preset searched with (ClipScorer.encode_texts / encode_pil), the caption
read literally (a weighted "a | b:0.5" caption is one text here).
"""

from __future__ import annotations

import json
import os
import statistics
from pathlib import Path
from typing import TYPE_CHECKING, Any

from glass_core.errors import BadInputError, GlassError

if TYPE_CHECKING:
    from glass_core.scorer import ClipScorer

CLIPSCORE_W = 2.5  # Hessel et al. 2021: rescales CLIP-S to roughly [0, 1] for their ViT-B/32
METRICS = "metrics.json"


def clip_score(scorer: ClipScorer, caption: str, image: Any) -> tuple[float, float]:
    """(CLIP-S, cosine) of a caption and a PIL picture: 2.5 · max(cos, 0)."""
    import torch

    with torch.inference_mode():
        cos = float((scorer.encode_texts([caption]) * scorer.encode_pil(image)).sum())
    return CLIPSCORE_W * max(cos, 0.0), cos


def _pair(row: dict[str, Any], out_dir: Path) -> tuple[str, Any]:
    """The (caption, picture) that CLIPScore compares for one finished target."""
    from glass_core.images import open_image

    result = out_dir / row["files"][0]
    if row.get("task", "text2image") == "text2image":
        return row["target"]["caption"], open_image(result)
    image = Path(row["target"]["image"])
    if not image.is_file():
        raise BadInputError(f"{image}: the target picture is no longer there.")
    return result.read_text(encoding="utf-8").strip(), open_image(image)


def clipscores(scorer: ClipScorer, out_dir: Path, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """CLIPScore of every ok row, with mean and median; targets that cannot be scored are listed."""
    per_target, skipped = [], []
    for row in rows:
        try:
            caption, image = _pair(row, out_dir)
        except GlassError as err:
            skipped.append({"index": row["index"], "key": row["key"], "message": str(err)})
            continue
        score, cos = clip_score(scorer, caption, image)
        per_target.append({"index": row["index"], "key": row["key"], "file": row["files"][0],
                           "caption": caption, "clip_score": score, "cosine": cos})
    values = [p["clip_score"] for p in per_target]
    return {"metric": "CLIPScore", "formula": "2.5 * max(cos(c, v), 0)", "source": "Hessel et al., EMNLP 2021",
            "n": len(values), "mean": statistics.fmean(values) if values else None,
            "median": statistics.median(values) if values else None, "per_target": per_target,
            "not_scored": skipped}


def compute_metrics(scorer: ClipScorer, out_dir: Path, clip: str, reference: Path | None = None,
                    device: str = "cpu", weights_root: Path | None = None) -> dict[str, Any]:
    """CLIPScore (and FID / IS with `reference`) of a batch folder, written to out_dir/metrics.json."""
    from glass_core.batch_index import latest_rows, read_index
    from glass_core.report import write_report

    out_dir = Path(out_dir)
    rows = [r for r in latest_rows(read_index(out_dir)) if r.get("status") == "ok"]
    if not rows:
        raise BadInputError(f"{out_dir}: no finished targets in index.jsonl to measure.")
    result = {"clip": clip, **clipscores(scorer, out_dir, rows)}
    if reference is not None:
        from glass_core.fidelity import fid_and_is

        if any(r.get("task") != "text2image" for r in rows):
            raise BadInputError("FID and IS measure pictures: --reference needs a text → image batch.")
        result.update(fid_and_is([out_dir / r["files"][0] for r in rows], Path(reference), device, weights_root))
    tmp = out_dir / f".{METRICS}.tmp"
    tmp.write_text(json.dumps(result, indent=1), encoding="utf-8")
    os.replace(tmp, out_dir / METRICS)
    write_report(out_dir)
    return result


def describe(result: dict[str, Any]) -> str:
    """What the metrics command prints: one line per target, then the summary."""
    lines = [f"{p['index']:>5}  CLIPScore {p['clip_score']:.4f}  {p['file']}" for p in result["per_target"]]
    lines += [f"{s['index']:>5}  not scored: {s['message']}" for s in result["not_scored"]]
    if result["n"]:
        lines.append(f"CLIPScore ({result['formula']}, {result['clip']}): mean {result['mean']:.4f},"
                     f" median {result['median']:.4f} over {result['n']} targets")
    if "fid" in result:
        lines.append(f"FID {result['fid']:.4f}, Inception Score {result['inception_score']:.4f}"
                     f" ± {result['inception_score_std']:.4f} ({result['fid_images']} results vs"
                     f" {result['fid_reference_images']} reference pictures)")
    return "\n".join(lines)


def preset_of(out_dir: Path) -> str:
    """The preset a batch folder was searched with, from its index."""
    from glass_core.batch_index import read_index

    names = {r.get("preset") for r in read_index(out_dir) if r.get("status") == "ok"}
    if not names:
        raise BadInputError(f"{out_dir}: no finished targets in index.jsonl to measure.")
    if len(names) > 1:
        raise BadInputError(f"{out_dir} holds results of several presets ({', '.join(sorted(names))}):"
                            " measure one batch per folder.")
    return names.pop()
