"""A small HTTP server on 127.0.0.1 for download tests: Range support, cut connections, stalls, 404s."""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Behaviour:
    cut_first_at: int | None = None  # first response sends this many bytes, then drops the connection
    stall_s: float = 0.0  # wait this long before answering
    hold: threading.Event | None = None  # wait until the test sets it (at most 60 s) before answering
    ignore_range: bool = False


@dataclass
class FileServer:
    files: dict[str, bytes] = field(default_factory=dict)
    behaviour: dict[str, Behaviour] = field(default_factory=dict)
    requests: list[tuple[str, str | None]] = field(default_factory=list)  # (path, Range header)
    server: ThreadingHTTPServer | None = None

    def url(self, name: str) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/{name}"

    def start(self) -> FileServer:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output clean
                pass

            def do_GET(self):
                name = self.path.lstrip("/")
                owner.requests.append((name, self.headers.get("Range")))
                rule = owner.behaviour.get(name, Behaviour())
                if rule.stall_s:
                    time.sleep(rule.stall_s)
                if rule.hold is not None:
                    rule.hold.wait(60)
                if name not in owner.files:
                    self.send_error(404, "Not Found")
                    return
                body = owner.files[name]
                start = 0
                ranged = self.headers.get("Range")
                if ranged and not rule.ignore_range:
                    start = int(ranged.removeprefix("bytes=").split("-")[0])
                    if start >= len(body):
                        self.send_response(416)
                        self.send_header("Content-Range", f"bytes */{len(body)}")
                        self.end_headers()
                        return
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
                else:
                    self.send_response(200)
                self.send_header("Content-Length", str(len(body) - start))
                self.end_headers()
                payload = body[start:]
                if rule.cut_first_at is not None:
                    payload = payload[: rule.cut_first_at]
                    rule.cut_first_at = None  # only the first response is cut
                    self.wfile.write(payload)
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.wfile.write(payload)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
