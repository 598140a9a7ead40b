"""A batch's metrics: CLIPScore of every result against its target, and FID / IS against reference pictures.

CLIPScore (Hessel, Holtzman, Forbes, Le Bras, Choi, "CLIPScore: A Reference-free Evaluation Metric for
Image Captioning", EMNLP 2021, eq. 1): CLIP-S(c, v) = w · max(cos(c, v), 0) with w = 2.5, where c is
CLIP's embedding of the caption and v of the picture. Here c is the target caption and v the drawn
picture (text → image), or c the found caption and v the target picture (image → text), both
embedded by the CLIP the preset searched with (ClipScorer.encode_texts / encode_pil), the caption
read literally (a weighted "a | b:0.5" caption is one text here).
"""

from __future__ import annotations

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


def _pair(row: dict[str, Any], out_dir: Path) -> tuple[str, Any, str]:
    """The (caption, picture, result file name) that CLIPScore compares for one finished target.

    The result must be a file inside the batch folder (batch_index.result_files) and every file is
    read bounded (glass_core.images.read_bounded); anything else is one BadInputError for this row.
    """
    from glass_core.batch.index import result_files
    from glass_core.images import open_image, read_bounded

    result = result_files(row, out_dir)[0]
    target = row.get("target")
    if not isinstance(target, dict):
        raise BadInputError("its index line names no target.")
    if row.get("task", "text2image") == "text2image":
        if not isinstance(target.get("caption"), str):
            raise BadInputError("its index line names no caption.")
        return target["caption"], open_image(result), row["files"][0]
    if not isinstance(target.get("image"), str):
        raise BadInputError("its index line names no target picture.")
    try:
        caption = read_bounded(result).decode("utf-8").strip()
    except UnicodeDecodeError:
        raise BadInputError(f"{row['files'][0]}: the found caption is not UTF-8 text.") from None
    return caption, open_image(target["image"]), row["files"][0]


def clipscores(scorer: ClipScorer, out_dir: Path, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """CLIPScore of every ok row, with mean and median; targets that cannot be scored are listed with why."""
    per_target, skipped = [], []
    for row in rows:
        try:
            caption, image, name = _pair(row, out_dir)
        except GlassError as err:
            skipped.append({"index": row.get("index"), "key": row.get("key"), "message": str(err)})
            continue
        score, cos = clip_score(scorer, caption, image)
        per_target.append({"index": row.get("index"), "key": row.get("key"), "file": name,
                           "caption": caption, "clip_score": score, "cosine": cos})
    values = [p["clip_score"] for p in per_target]
    return {"metric": "CLIPScore", "formula": "2.5 * max(cos(c, v), 0)", "source": "Hessel et al., EMNLP 2021",
            "n": len(values), "mean": statistics.fmean(values) if values else None,
            "median": statistics.median(values) if values else None, "per_target": per_target,
            "not_scored": skipped}


def compute_metrics(scorer: ClipScorer, out_dir: Path, clip: str, reference: Path | None = None,
                    device: str = "cpu", weights_root: Path | None = None) -> dict[str, Any]:
    """CLIPScore (and FID / IS with `reference`) of a batch folder, written to out_dir/metrics.json."""
    from glass_core.batch.index import latest_rows, read_index
    from glass_core.batch.report import write_report

    from glass_core.batch.lock import folder_lock
    from glass_core.jsonsafe import dumps

    out_dir = Path(out_dir)
    rows = [r for r in latest_rows(read_index(out_dir)) if r.get("status") == "ok"]
    if not rows:
        raise BadInputError(f"{out_dir}: no finished targets in index.jsonl to measure.")
    with folder_lock(out_dir):  # not while a batch writes this folder
        result = {"clip": clip, **clipscores(scorer, out_dir, rows)}
        if reference is not None:
            from glass_core.batch.fidelity import fid_and_is

            if any(r.get("task") != "text2image" for r in rows):
                raise BadInputError("FID and IS measure pictures: --reference needs a text → image batch.")
            # Only the results that could be scored: each inside the folder and readable.
            files = [out_dir / p["file"] for p in result["per_target"]]
            result.update(fid_and_is(files, Path(reference), device, weights_root))
        tmp = out_dir / f".{METRICS}.tmp"
        tmp.write_text(dumps(result, indent=1), encoding="utf-8")
        os.replace(tmp, out_dir / METRICS)
        write_report(out_dir)
    return result


def describe(result: dict[str, Any]) -> str:
    """What the metrics command prints: one line per target, then the summary."""
    lines = [f"{p['index']!s:>5}  CLIPScore {p['clip_score']:.4f}  {p['file']}" for p in result["per_target"]]
    lines += [f"{s['index']!s:>5}  not scored: {s['message']}" for s in result["not_scored"]]
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
    from glass_core.batch.index import read_index

    names = {r["preset"] for r in read_index(out_dir) if r.get("status") == "ok" and isinstance(r.get("preset"), str)}
    if not names:
        raise BadInputError(f"{out_dir}: no finished targets in index.jsonl to measure.")
    if len(names) > 1:
        raise BadInputError(f"{out_dir} holds results of several presets ({', '.join(sorted(names))}):"
                            " measure one batch per folder.")
    return names.pop()
