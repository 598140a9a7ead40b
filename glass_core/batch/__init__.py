"""Batch search: many targets, one results folder, resumable and safe to rerun.

`targets` reads captions, picture folders and JSONL; `run` searches each target and writes its files
atomically (the plain loop; glass_core.remote runs the same per-target search on Ray workers);
`index` reads index.jsonl back leniently; `lock` makes one process own a folder; `report` writes
report.html; `metrics` and `fidelity` score a finished folder (CLIPScore, FID / IS); `cli` holds the
batch and metrics commands. Nothing here imports Ray, torch-fidelity or a model at import.
"""
