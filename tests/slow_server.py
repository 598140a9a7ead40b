"""A local HTTP server on 127.0.0.1 that serves files slowly and honours Range requests, for download tests."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class SlowServer:
    """Files by URL path; `piece` bytes every `pause` seconds; every request's Range start is logged."""

    files: dict[str, bytes]
    piece: int = 16 * 1024
    pause: float = 0.02
    starts: list[int] = field(default_factory=list)  # the first byte asked for, per request

    def __post_init__(self) -> None:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                body = server.files.get(self.path)
                if body is None:
                    self.send_error(404)
                    return
                start = int(self.headers.get("Range", "bytes=0-")[6:].split("-")[0] or 0)
                server.starts.append(start)
                self.send_response(206 if start else 200)
                self.send_header("Content-Length", str(len(body) - start))
                if start:
                    self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
                self.end_headers()
                try:
                    for at in range(start, len(body), server.piece):
                        self.wfile.write(body[at:at + server.piece])
                        self.wfile.flush()
                        time.sleep(server.pause)
                except (BrokenPipeError, ConnectionResetError):  # the client stopped reading
                    pass

            def log_message(self, *args) -> None:  # quiet
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        """The address of one served file."""
        return f"http://127.0.0.1:{self.httpd.server_address[1]}{path}"

    def close(self) -> None:
        """Stop serving and free the port."""
        self.httpd.shutdown()
        self.httpd.server_close()
