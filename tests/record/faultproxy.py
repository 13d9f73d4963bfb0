"""A fault-injecting HTTP proxy on 127.0.0.1, between boto3 and the moto server.

Requests are forwarded to moto unchanged, except the next ``count`` requests
of an operation a test names, which get a fault that crosses the wire:

- ``"503"``: HTTP 503 (S3: ``SlowDown``; SQS: ``ServiceUnavailable``);
- ``"throttle"``: S3 503 ``SlowDown`` / SQS 400 ``ThrottlingException``;
- ``"reset"``: the connection is reset (RST) before any response byte;
- ``"truncate"``: moto's answer with its full Content-Length, but only half its
  body before the connection closes;
- ``"slow"``: moto's answer, its body sent in 16 small parts with pauses;
- ``"denied"``: 403 ``AccessDenied`` (not transient).

The operation of a request: S3 ``ListObjectsV2`` / ``GetObject`` /
``ListBuckets``..., from the method and query; SQS, from ``X-Amz-Target``.
The proxy binds port 0 and reads its port back (no race with other servers).
"""
from __future__ import annotations

import http.client
import socket
import struct
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

_HOP = {"connection", "keep-alive", "transfer-encoding", "proxy-connection", "upgrade"}


def operation(method: str, path: str, headers) -> str:
    """The AWS operation of a request, as far as these tests need it."""
    target = headers.get("X-Amz-Target", "")
    if target:
        return target.rsplit(".", 1)[-1]
    _, _, query = path.partition("?")
    bucket_and_key = path.split("?", 1)[0].lstrip("/")
    if method == "GET" and "list-type=2" in query:
        return "ListObjectsV2"
    if method == "GET" and "/" in bucket_and_key and not bucket_and_key.endswith("/"):
        return "GetObject"
    return f"{method} {bucket_and_key}"


class FaultProxy:
    """``with FaultProxy(moto_url) as proxy:``; ``proxy.url``; ``proxy.fail(op, kind, n)``."""

    def __init__(self, backend: str):
        parts = urlsplit(backend)
        self.backend = (parts.hostname, parts.port)
        self.faults: dict[str, list[tuple[str, str]]] = {}
        self.seen: dict[str, int] = {}
        self.injected: list[tuple[str, str]] = []
        self.lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _any(self):
                proxy.handle(self)
            do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = _any

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self):
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    def fail(self, op: str, kind: str, count: int = 1, path: str = "") -> None:
        """The next ``count`` requests of ``op`` (whose path contains ``path``) get the
        fault ``kind``."""
        with self.lock:
            self.faults.setdefault(op, []).extend([(kind, path)] * count)

    def _next_fault(self, op: str, path: str) -> str | None:
        with self.lock:
            self.seen[op] = self.seen.get(op, 0) + 1
            queue = self.faults.get(op, [])
            for i, (kind, part) in enumerate(queue):
                if part in path:
                    del queue[i]
                    self.injected.append((op, kind))
                    return kind
            return None

    # -- one request ----------------------------------------------------------
    def handle(self, req: BaseHTTPRequestHandler) -> None:
        length = int(req.headers.get("Content-Length") or 0)
        body = req.rfile.read(length) if length else b""
        op = operation(req.command, req.path, req.headers)
        kind = self._next_fault(op, req.path)
        if kind == "reset":
            req.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                      struct.pack("ii", 1, 0))
            req.close_connection = True
            req.connection.close()
            return
        if kind in ("503", "throttle", "denied"):
            self._error(req, kind, "X-Amz-Target" in req.headers)
            return
        status, headers, data = self._forward(req, body)
        req.send_response(status)
        for name, value in headers:
            if name.lower() not in _HOP and name.lower() != "content-length":
                req.send_header(name, value)
        req.send_header("Content-Length", str(len(data)))
        if kind == "truncate":
            req.send_header("Connection", "close")
            req.end_headers()
            req.wfile.write(data[:len(data) // 2])
            req.wfile.flush()
            req.close_connection = True
            return
        req.end_headers()
        if kind == "slow":
            step = max(1, len(data) // 16)
            for pos in range(0, len(data), step):
                req.wfile.write(data[pos:pos + step])
                req.wfile.flush()
                time.sleep(0.02)
        elif req.command != "HEAD":
            req.wfile.write(data)

    def _forward(self, req, body: bytes):
        conn = http.client.HTTPConnection(*self.backend, timeout=60)
        try:
            headers = {k: v for k, v in req.headers.items() if k.lower() not in _HOP}
            conn.request(req.command, req.path, body=body, headers=headers)
            resp = conn.getresponse()
            return resp.status, resp.getheaders(), resp.read()
        finally:
            conn.close()

    @staticmethod
    def _error(req, kind: str, json_protocol: bool) -> None:
        if json_protocol:  # SQS (JSON protocol)
            status, code = {"throttle": (400, "ThrottlingException"),
                            "denied": (403, "AccessDenied")}.get(kind, (503, "ServiceUnavailable"))
            data = ('{"__type":"com.amazonaws.sqs#%s","message":"injected"}' % code).encode()
            ctype = "application/x-amz-json-1.0"
        else:  # S3 (REST-XML)
            status, code = (403, "AccessDenied") if kind == "denied" else (503, "SlowDown")
            data = (f"<?xml version=\"1.0\"?><Error><Code>{code}</Code>"
                    f"<Message>injected</Message></Error>").encode()
            ctype = "application/xml"
        req.send_response(status)
        req.send_header("Content-Type", ctype)
        req.send_header("Content-Length", str(len(data)))
        req.end_headers()
        req.wfile.write(data)
