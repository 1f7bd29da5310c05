"""Poses over WebSocket (websockets' threaded server): every client gets a ``hello`` message (the keypoint set and the
skeleton), then one JSON message per frame (``sinks.frame_message``).

Each client has a thread of its own and a slot of one message: the pipeline only puts the newest frame in every
slot and goes on, so a slow client loses frames (counted) and never holds the pipeline up. The server listens on
127.0.0.1 unless another host is given.
"""
from __future__ import annotations

import json
import threading

from ..errors import StudioError
from ..inference.results import FrameResult
from .sinks import StreamFormat, frame_message, hello_message

WAIT_S = 0.25  # how often a client's thread looks whether the server is closing


class _Client:
    """One receiver's slot: the newest message not sent yet."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._message: str | None = None
        self.dropped = 0

    def offer(self, message: str) -> None:
        with self._cond:
            if self._message is not None:
                self.dropped += 1
            self._message = message
            self._cond.notify()

    def take(self, timeout: float) -> str | None:
        with self._cond:
            if self._message is None:
                self._cond.wait(timeout)
            message, self._message = self._message, None
            return message


class WebSocketSink:
    def __init__(self, host: str, port: int, fmt: StreamFormat):
        try:
            from websockets.sync.server import serve
        except ImportError:
            raise StudioError("--ws needs websockets, an optional part: pip install 'hrnet-studio[stream]'") from None
        self.fmt = fmt
        self._hello = json.dumps(hello_message(fmt))
        self._clients: set[_Client] = set()
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self.served = 0  # clients that connected, in all
        try:
            self._server = serve(self._serve_client, host, port)
        except OSError as exc:
            why = "is in use (another program, or another live run, listens there)" if exc.errno in (48, 98, 10048) \
                else f"cannot be opened: {exc.strerror or exc}"
            raise StudioError(f"WebSocket port {port} on {host} {why}: pick another (--ws HOST:PORT)") from None
        self.port = self._server.socket.getsockname()[1]  # the one given, or the system's pick for port 0
        self.label = f"WebSocket ws://{host}:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, name="websocket", daemon=True)
        self._thread.start()

    def _serve_client(self, connection) -> None:
        from websockets.exceptions import ConnectionClosed

        client = _Client()
        with self._lock:
            self._clients.add(client)
            self.served += 1
        try:
            connection.send(self._hello)
            while not self._closing.is_set():
                message = client.take(WAIT_S)
                if message is not None:
                    connection.send(message)
        except ConnectionClosed:
            pass  # the receiver left: the others go on
        finally:
            with self._lock:
                self._clients.discard(client)

    def send(self, result: FrameResult, sent_time: float) -> None:
        with self._lock:
            clients = list(self._clients)
        if not clients:
            return
        message = json.dumps(frame_message(result, self.fmt, sent_time))
        for client in clients:
            client.offer(message)

    @property
    def clients(self) -> int:
        with self._lock:
            return len(self._clients)

    def state(self) -> str:
        count = self.clients
        return f"{count} client{'s' if count != 1 else ''}"

    def close(self) -> None:
        self._closing.set()
        self._server.shutdown()
        self._thread.join(timeout=5)
