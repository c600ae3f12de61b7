#!/usr/bin/env python3
"""A bounded HTTPS load generator through Traefik, shared by the zero-downtime tests and the bench.

Threads send GET requests over keep-alive connections to one address (loopback by default) with the real
host name (SNI and Host header), verified against a CA file, until `stop()` is called, `max_requests` have
been sent or `max_seconds` have passed, whichever comes first: it always stops by itself. With `pause`, each
thread waits that long between its requests: a steady probe that leaves the CPU to what it observes. Each response is
recorded with its status, content type, the serving version (the X-App-Version header, or a marker found in
the body) and its latency; a connection error is recorded as a failure.

    with Load("taylordash.local", "/api/projects", ca="/opt/taylordash/pki/ca.crt", expect="json") as load:
        ...  # the upgrade
    print(load.summary())

A request fails when it gets no answer, an answer that is not 2xx, or (with `expect`) a body that is not JSON
(`json`) or not HTML (`html`).

Command line (the bench): python3 bench/loadgen.py --host taylordash.local --path /api/projects -n 10000 -c 50
"""

import argparse
import http.client
import json
import socket
import ssl
import statistics
import threading
import time


class _Connection(http.client.HTTPSConnection):
    """An HTTPS connection to `address` that presents `host` (SNI, certificate check, Host header)."""

    def __init__(self, host, address, port, context, timeout):
        super().__init__(host, port, context=context, timeout=timeout)
        self._address = address

    def connect(self):
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


class Load:
    def __init__(self, host, path, ca=None, address="127.0.0.1", port=443, concurrency=8, max_requests=50000,
                 max_seconds=300, expect=None, markers=(), timeout=10, pause=0.0):
        self.host, self.path, self.address, self.port = host, path, address, port
        self.pause = pause  # seconds each thread waits between its requests (0: as fast as it can)
        self.concurrency, self.max_requests, self.max_seconds = concurrency, max_requests, max_seconds
        self.expect, self.markers, self.timeout = expect, tuple(markers), timeout
        self.context = ssl.create_default_context(cafile=ca) if ca else ssl.create_default_context()
        self.records = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = []
        self._sent = 0
        self.hit_limit = False  # stopped by max_requests or max_seconds, not by stop()
        self.started = self.ended = None

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def start(self):
        self.started = time.monotonic()
        self._threads = [threading.Thread(target=self._run, daemon=True) for _ in range(self.concurrency)]
        for thread in self._threads:
            thread.start()

    def stop(self):
        self._stop.set()
        for thread in self._threads:
            thread.join(self.timeout + 5)
        self.ended = time.monotonic()

    def around(self, action, margin=2.0):
        """Run `action()` under this load, which starts `margin` seconds before it and stops `margin` seconds
        after it returns; returns its result. Raises RuntimeError when the load stopped by its own limits
        before the end (whatever came after was not observed)."""
        self.start()
        try:
            time.sleep(margin)
            result = action()
            finished = time.monotonic() - self.started
            time.sleep(margin)
        finally:
            self.stop()
        if self.hit_limit or not self.records or max(r["at"] for r in self.records) <= finished:
            raise RuntimeError("the load ended before the action did: %s" % self.summary())
        return result

    def wait(self):
        """Until the limits stop every thread by themselves."""
        for thread in self._threads:
            thread.join()
        self.ended = time.monotonic()

    def _take(self):
        with self._lock:
            if self._stop.is_set():
                return False
            if self._sent >= self.max_requests or time.monotonic() - self.started >= self.max_seconds:
                self.hit_limit = True
                return False
            self._sent += 1
            return True

    def _run(self):
        connection = None
        while self._take():
            began = time.monotonic()
            record = {"at": began - self.started, "status": None, "type": "", "version": None, "instance": None,
                      "error": None}
            try:
                if connection is None:
                    connection = _Connection(self.host, self.address, self.port, self.context, self.timeout)
                connection.request("GET", self.path, headers={"Connection": "keep-alive"})
                response = connection.getresponse()
                body = response.read()
                record.update(status=response.status, type=response.getheader("Content-Type", ""),
                              version=response.getheader("X-App-Version"),
                              instance=response.getheader("X-App-Instance"))
                text = body.decode("utf-8", "replace")
                for marker in self.markers:
                    if marker in text:
                        record["version"] = marker
                record["error"] = self._problem(response.status, record["type"], text)
                if response.getheader("Connection", "").lower() == "close":
                    connection.close()
                    connection = None
            except (OSError, http.client.HTTPException) as exc:
                record["error"] = "%s: %s" % (type(exc).__name__, exc)
                if connection is not None:
                    connection.close()
                connection = None
            record["ms"] = (time.monotonic() - began) * 1000
            with self._lock:
                self.records.append(record)
            if self.pause:
                self._stop.wait(self.pause)
        if connection is not None:
            connection.close()

    def _problem(self, status, content_type, text):
        if not 200 <= status < 300:
            return "status %d" % status
        if self.expect == "json":
            try:
                json.loads(text)
            except ValueError:
                return "not JSON (%s)" % content_type
        if self.expect == "html" and "text/html" not in content_type:
            return "not HTML (%s)" % content_type
        return None

    def failures(self):
        return [r for r in self.records if r["error"]]

    def versions(self):
        """Each version seen, with how many answers it gave, in the order it first answered."""
        seen = {}
        for record in sorted(self.records, key=lambda r: r["at"]):
            if record["version"] is not None and not record["error"]:
                seen[record["version"]] = seen.get(record["version"], 0) + 1
        return seen

    def instances(self):
        """Each instance (container) that answered, with how many answers it gave."""
        seen = {}
        for record in self.records:
            if record["instance"] is not None and not record["error"]:
                seen[record["instance"]] = seen.get(record["instance"], 0) + 1
        return seen

    def first_answer_of(self, version):
        """Seconds from the start to the first successful answer of `version` (None if it never answered)."""
        times = [r["at"] for r in self.records if r["version"] == version and not r["error"]]
        return min(times) if times else None

    def latency(self, since=0.0, until=None):
        """(p50, p99) in ms of the successful answers sent in [since, until) seconds after the start."""
        values = sorted(r["ms"] for r in self.records if not r["error"] and r["at"] >= since
                        and (until is None or r["at"] < until))
        if not values:
            return (None, None)
        return (statistics.median(values), values[min(len(values) - 1, int(len(values) * 0.99))])

    def summary(self):
        failed = self.failures()
        p50, p99 = self.latency()
        return {"requests": len(self.records), "failed": len(failed), "hit_limit": self.hit_limit,
                "versions": self.versions(),
                "instances": self.instances(),
                "p50_ms": p50, "p99_ms": p99, "seconds": (self.ended or time.monotonic()) - self.started,
                "first_failures": [dict(f) for f in failed[:5]]}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", required=True)
    parser.add_argument("--path", default="/")
    parser.add_argument("--address", default="127.0.0.1")
    parser.add_argument("--ca")
    parser.add_argument("-n", type=int, default=10000, help="requests in all")
    parser.add_argument("-c", type=int, default=50, help="concurrency")
    parser.add_argument("--max-seconds", type=float, default=300)
    parser.add_argument("--expect", choices=["json", "html"])
    args = parser.parse_args()
    load = Load(args.host, args.path, ca=args.ca, address=args.address, concurrency=args.c, max_requests=args.n,
                max_seconds=args.max_seconds, expect=args.expect)
    load.start()
    load.wait()
    print(json.dumps(load.summary(), indent=2))


if __name__ == "__main__":
    main()
