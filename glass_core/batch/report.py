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
    from glass_core.batch.index import REPORT, latest_rows, read_index

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
        data = json.loads((out_dir / "metrics.json").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return {}
    return data if isinstance(data, dict) else {}


def render(rows: list[dict[str, Any]], metrics: dict[str, Any], out_dir: Path) -> str:
    """The page: a summary line, the errors, then one table row per target."""
    ok, errors = _shown(rows, out_dir)
    scores = {s.get("key"): s.get("clip_score") for s in metrics.get("per_target", []) if isinstance(s, dict)}
    parts = [f"<!doctype html><meta charset='utf-8'><title>glass batch</title><style>{_STYLE}</style>",
             f"<h1>glass batch: {len(ok)} ok, {len(errors)} failed</h1>", _summary(metrics)]
    if errors:
        items = "".join(f"<li>#{html.escape(str(r.get('index')))} {_target_text(r)}:"
                        f" {html.escape(str(r.get('message')))}</li>" for r in errors)
        parts.append(f"<h2 class='error'>Errors</h2><ul class='error'>{items}</ul>")
    head = "<tr><th>#</th><th>target</th><th>result</th><th>similarity</th><th>realism / fluency</th>" \
           "<th>CLIPScore</th><th>seed</th><th>seconds</th><th>evaluations</th></tr>"
    body = "".join(_row(r, scores.get(r.get("key")), out_dir) for r in ok)
    parts.append(f"<table>{head}{body}</table>")
    return "\n".join(parts) + "\n"


def _shown(rows: list[dict[str, Any]], out_dir: Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(ok rows whose result files are in the folder, rows listed as errors): a row whose files are gone or
    lie outside the folder is listed with why, never linked."""
    from glass_core.batch.index import result_files
    from glass_core.errors import GlassError

    ok, errors = [], []
    for r in rows:
        if r.get("status") != "ok":
            errors.append(r)
            continue
        try:
            result_files(r, out_dir)
        except GlassError as err:
            errors.append({**r, "message": f"result not shown: {err}"})
            continue
        ok.append(r)
    return ok, errors


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
        f"{html.escape(str(r.get('caption', '')))} <a href='{html.escape(result)}'>{html.escape(result)}</a>"
    second = r.get("realism", r.get("fluency"))
    def text(value: Any) -> str:  # what the index says, never read as HTML
        return html.escape(str(value))

    cells = [text(r.get("index")), _target_cell(r, out_dir), shown, _num(r.get("similarity")), _num(second),
             _num(clip_score), text(r.get("seed")), _num(r.get("seconds"), 2), text(r.get("evaluations"))]
    return "<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>"


def _num(value: Any, digits: int = 4) -> str:
    return f"{value:.{digits}f}" if isinstance(value, (int, float)) and not isinstance(value, bool) else ""


def _target_text(r: dict[str, Any]) -> str:
    target = r.get("target") if isinstance(r.get("target"), dict) else {}
    return html.escape(str(target.get("caption") if "caption" in target else target.get("image")))


def _target_cell(r: dict[str, Any], out_dir: Path) -> str:
    """A caption as text; an image target as an embedded thumbnail (it lives outside the folder)."""
    target = r.get("target") if isinstance(r.get("target"), dict) else {}
    if not isinstance(target.get("image"), str):
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
