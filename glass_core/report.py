"""A batch's contact sheet, report.html: every target, its result and scores, and the errors; opens with no server."""

from __future__ import annotations

import base64
import html
import io
import json
import os
from pathlib import Path
from typing import Any

THUMB = 96  # side of the target thumbnails embedded in the page

_STYLE = """body{font-family:sans-serif;margin:1.5em}table{border-collapse:collapse}
td,th{border:1px solid #ccc;padding:4px 8px;vertical-align:middle;text-align:left}
img{width:128px;image-rendering:pixelated}.error{color:#b00}"""


def write_report(out_dir: Path) -> Path:
    """Write out_dir/report.html from its index (and metrics.json, when there); return its path."""
    from glass_core.batch_index import REPORT, latest_rows, read_index

    out_dir = Path(out_dir)
    rows = latest_rows(read_index(out_dir))
    path = out_dir / REPORT
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(render(rows, _metrics(out_dir), out_dir), encoding="utf-8")
    os.replace(tmp, path)
    return path


def _metrics(out_dir: Path) -> dict[str, Any]:
    """metrics.json if the metrics command has run, else nothing."""
    try:
        return json.loads((out_dir / "metrics.json").read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return {}


def render(rows: list[dict[str, Any]], metrics: dict[str, Any], out_dir: Path) -> str:
    """The page: a summary line, the errors, then one table row per target."""
    ok = [r for r in rows if r.get("status") == "ok"]
    errors = [r for r in rows if r.get("status") != "ok"]
    scores = {s["key"]: s["clip_score"] for s in metrics.get("per_target", [])}
    parts = [f"<!doctype html><meta charset='utf-8'><title>glass batch</title><style>{_STYLE}</style>",
             f"<h1>glass batch: {len(ok)} ok, {len(errors)} failed</h1>", _summary(metrics)]
    if errors:
        items = "".join(f"<li>#{r.get('index')} {_target_text(r)}: {html.escape(str(r.get('message')))}</li>"
                        for r in errors)
        parts.append(f"<h2 class='error'>Errors</h2><ul class='error'>{items}</ul>")
    head = "<tr><th>#</th><th>target</th><th>result</th><th>similarity</th><th>realism / fluency</th>" \
           "<th>CLIPScore</th><th>seed</th><th>seconds</th><th>evaluations</th></tr>"
    body = "".join(_row(r, scores.get(r.get("key")), out_dir) for r in ok)
    parts.append(f"<table>{head}{body}</table>")
    return "\n".join(parts) + "\n"


def _summary(metrics: dict[str, Any]) -> str:
    """One line of batch-wide metrics, when computed."""
    if not metrics:
        return ""
    bits = [f"CLIPScore mean {metrics['mean']:.4f}, median {metrics['median']:.4f} (n={metrics['n']})"] \
        if metrics.get("n") else []
    for name in ("fid", "inception_score"):
        if name in metrics:
            bits.append(f"{name.replace('_', ' ')} {metrics[name]:.4f}")
    return f"<p>{html.escape('; '.join(bits))}</p>"


def _row(r: dict[str, Any], clip_score: float | None, out_dir: Path) -> str:
    """One target's table row; its result referenced by relative file name (or shown, for a caption)."""
    result = r["files"][0]
    shown = f"<img src='{html.escape(result)}' alt='{html.escape(result)}'>" if result.endswith(".png") else \
        f"{html.escape(r.get('caption', ''))} <a href='{html.escape(result)}'>{html.escape(result)}</a>"
    second = r.get("realism", r.get("fluency"))
    cells = [r.get("index"), _target_cell(r, out_dir), shown, _num(r.get("similarity")), _num(second),
             _num(clip_score), r.get("seed"), _num(r.get("seconds"), 2), r.get("evaluations")]
    return "<tr>" + "".join(f"<td>{c if isinstance(c, str) else html.escape(str(c))}</td>" for c in cells) + "</tr>"


def _num(value: float | None, digits: int = 4) -> str:
    return "" if value is None else f"{value:.{digits}f}"


def _target_text(r: dict[str, Any]) -> str:
    target = r.get("target", {})
    return html.escape(target.get("caption") if "caption" in target else str(target.get("image")))


def _target_cell(r: dict[str, Any], out_dir: Path) -> str:
    """A caption as text; an image target as an embedded thumbnail (it lives outside the folder)."""
    target = r.get("target", {})
    if "image" not in target:
        return _target_text(r)
    uri = _thumbnail(Path(target["image"]))
    name = html.escape(Path(target["image"]).name)
    return f"<img src='{uri}' alt='{name}'><br>{name}" if uri else name


def _thumbnail(path: Path) -> str | None:
    """A small PNG data URI of the picture, or None if it cannot be read any more."""
    from glass_core.errors import GlassError
    from glass_core.images import open_image

    try:
        img = open_image(path)
    except (OSError, GlassError):
        return None
    img.thumbnail((THUMB, THUMB))
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")
