"""CLIP-GLaSS in the browser: `python app.py` (or a Hugging Face Space with app_file: app.py).

Listens on 127.0.0.1:7860 unless --host/--port, GLASS_HOST/GLASS_PORT or gradio's own
GRADIO_SERVER_NAME/GRADIO_SERVER_PORT (which Spaces set) say otherwise. Models load on the
first search of each preset and are then shared by every visitor.
"""

from __future__ import annotations

import argparse
import os

import gradio as gr

from glass_app import remote
from glass_app.downloads import clean_earlier_runs
from glass_app.ui import CSS, build_demo
from glass_core.errors import GlassError
from glass_core.images import MAX_FILE_BYTES


def _env_int(name: str, default: int) -> int:
    """A positive integer from the environment, or the default."""
    try:
        return max(1, int(os.environ.get(name, default)))
    except ValueError:
        return default


def create_demo() -> gr.Blocks:
    """The page with its queue: a few searches at once, a bounded line of waiting visitors."""
    demo = build_demo()
    # Searches are CPU/GPU bound: more at once only slows each one down. On a cluster: one per worker.
    limit = remote.concurrency() if remote.address() else _env_int("GLASS_CONCURRENCY", 2)
    return demo.queue(default_concurrency_limit=limit,
                      max_size=_env_int("GLASS_QUEUE_SIZE", 16))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Host and port, with the environment as defaults."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default=os.environ.get("GLASS_HOST") or os.environ.get("GRADIO_SERVER_NAME")
                        or "127.0.0.1", help="address to listen on (0.0.0.0 to let others connect)")
    parser.add_argument("--port", type=int, default=int(os.environ.get("GLASS_PORT")
                                                        or os.environ.get("GRADIO_SERVER_PORT") or 7860))
    parser.add_argument("--ray-address", default=os.environ.get(remote.ADDRESS),
                        help="search on this Ray cluster ('auto': the one `ray start` runs here); $GLASS_RAY_ADDRESS")
    return parser.parse_args(argv)


def serve(host: str, port: int, **launch_kwargs) -> gr.Blocks:
    """Clean what earlier runs left, build the page and start serving it; returns the running demo.

    Uploads over the app's picture limit are refused by gradio as they arrive, before they are
    read whole or stored.
    """
    clean_earlier_runs()
    demo = create_demo()
    launch_kwargs.setdefault("max_file_size", MAX_FILE_BYTES)
    demo.launch(server_name=host, server_port=port, css=CSS, **launch_kwargs)
    return demo


def main(argv: list[str] | None = None) -> None:
    """Serve the page until interrupted."""
    args = parse_args(argv)
    if args.ray_address:
        os.environ[remote.ADDRESS] = args.ray_address  # glass_app.remote reads it
    try:
        serve(args.host, args.port)
    except GlassError as err:  # e.g. the Ray cluster cannot be joined: one line, no traceback
        raise SystemExit(f"error: {err}") from None


if __name__ == "__main__":
    main()
