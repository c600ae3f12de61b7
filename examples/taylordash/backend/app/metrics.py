"""Prometheus metrics on their own port, so a proxy that routes only port 8000 never exposes them.

With `uvicorn --workers N` every worker is its own process with its own counters; the first
worker to bind METRICS_PORT serves its numbers and the others skip (OSError: port in use).
The metrics therefore describe one worker, not the sum of all of them; run one worker (or one
container per worker) where exact totals matter.
"""

import logging
import time

from prometheus_client import Counter, Histogram, start_http_server

log = logging.getLogger("taylordash.metrics")

REQUESTS = Counter("taylordash_http_requests_total", "HTTP requests handled",
                   ["method", "route", "status"])
LATENCY = Histogram("taylordash_http_request_duration_seconds", "HTTP request latency in seconds",
                    ["method", "route", "status"])


def start_server(port, addr="0.0.0.0"):
    """Start the exporter; return the server (to shut down later) or None when disabled or taken."""
    if not port:
        log.info("METRICS_PORT is 0: metrics disabled")
        return None
    try:
        server, _thread = start_http_server(port, addr=addr)
    except OSError as exc:
        log.warning("metrics port %s not bound (%s): another worker serves metrics", port, exc)
        return None
    log.info("metrics on %s:%s", addr, port)
    return server


def stop_server(server):
    if server is not None:
        server.shutdown()
        server.server_close()


class MetricsMiddleware:
    """Pure ASGI middleware: count and time every HTTP request by method, route template, status.

    The route label is the matched path template (/api/projects), never the raw path, so that
    unknown URLs cannot grow the label set: they are all counted as "unmatched".
    """

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = {"code": 500}

        async def send_and_record(message):
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        start = time.perf_counter()
        try:
            await self.app(scope, receive, send_and_record)
        finally:
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            labels = (scope["method"], route, str(status["code"]))
            REQUESTS.labels(*labels).inc()
            LATENCY.labels(*labels).observe(time.perf_counter() - start)
