# -*- coding: utf-8 -*-
# Copyright: taylordash-ops developers
# MIT License
"""The health report: rows from `docker compose ps`, endpoint checks through Traefik,
and the table and summary made of them. Pure, except check_endpoint (one HTTP request)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import http.client
import json
import socket
import ssl
import time

from ansible_collections.taylordash.ops.plugins.module_utils import _backup

try:
    from urllib.parse import urlsplit
except ImportError:  # pragma: no cover - Python 2 is not supported on hosts
    urlsplit = None


def image_presence(refs, have):
    """Split image references into those in `have` (the engine's repository:tag list) and the missing ones,
    in the order given, each once. A reference without a tag means :latest, as the engine reads it."""
    present, missing, seen = [], [], set()
    for ref in refs:
        if ref in seen:
            continue
        seen.add(ref)
        tagged = ref if ":" in ref.rsplit("/", 1)[-1] else ref + ":latest"
        (present if tagged in have or ref in have else missing).append(ref)
    return {"present": present, "missing": missing}


def parse_ps(lines):
    """The objects of `docker compose ps --format json` output: one object per line, or one JSON array."""
    items = []
    for line in lines:
        line = line.strip()
        if line.startswith("["):
            items.extend(json.loads(line))
        elif line.startswith("{"):
            items.append(json.loads(line))
    return items


def _ports(publishers):
    seen = []
    for pub in publishers or []:
        if pub.get("PublishedPort"):
            text = "%s:%s->%s/%s" % (pub.get("URL") or "0.0.0.0", pub["PublishedPort"], pub.get("TargetPort"),
                                     pub.get("Protocol", "tcp"))
            if text not in seen:
                seen.append(text)
    return seen


def service_rows(items, expected):
    """One row per expected service (then any other the project runs). A service without a container is
    missing; one with a container that is not running, or running but not healthy, fails: every container
    of a service counts (several replicas, or one a start-first upgrade left beside the new one)."""
    by_service = {}
    for item in items:
        by_service.setdefault(item.get("Service"), []).append(item)
    rows = []
    for name in list(expected) + sorted(set(by_service) - set(expected)):
        group = by_service.get(name)
        if not group:
            rows.append({"name": name, "kind": "service", "state": "missing", "health": "-", "ports": [],
                         "ok": False, "detail": "no container"})
            continue
        bad = [item for item in group
               if not (item.get("State") == "running" and (item.get("Health") or "") in ("", "healthy"))]
        shown = bad[0] if bad else group[0]
        health = shown.get("Health") or ""
        detail = shown.get("Status", "")
        if len(group) > 1:
            detail = "%d containers, %d not healthy (%s: %s)" % (len(group), len(bad), shown.get("Name", "?"), detail) \
                if bad else "%d containers" % len(group)
        ports = []
        for item in group:
            ports += [port for port in _ports(item.get("Publishers")) if port not in ports]
        rows.append({"name": name, "kind": "service", "state": shown.get("State", "?"), "health": health or "none",
                     "ports": ports, "ok": not bad, "detail": detail})
    return rows


def endpoint_row(check, status, seconds, error=None):
    """The row of one endpoint check: {name, url, expect}, the HTTP status (0: no answer), the seconds it
    took, and the error when there was no answer."""
    expect = int(check.get("expect", 200))
    ok = error is None and status == expect
    detail = "HTTP %s (expected %s)" % (status, expect) if status else (error or "no answer")
    return {"name": check.get("name"), "kind": "endpoint", "url": check.get("url"), "status": status,
            "ms": None if seconds is None else int(round(seconds * 1000)), "ok": ok, "detail": detail}


def backup_row(status, interval, now):
    """The row of the backups on this host, from the backup service's status.json (a dict; None when the service
    has not started here yet): failing when the last success is older than twice the schedule, after the grace
    period, or when there is no status at all."""
    if status is None:
        return {"name": "backup", "kind": "backup", "ok": False, "age": None, "last": "",
                "detail": "the backup service has written no status here: is it running?"}
    verdict = _backup.backup_health(status, interval, None, now)
    return {"name": "backup", "kind": "backup", "ok": verdict["ok"], "age": verdict["age"],
            "last": (status or {}).get("last_id", ""), "detail": verdict["message"]}


def table(rows):
    """A fixed-width text table of service and endpoint rows."""
    lines = ["%-4s %-18s %-10s %-10s %s" % ("OK", "SERVICE", "STATE", "HEALTH", "PORTS / DETAIL")]
    for row in rows:
        if row["kind"] != "service":
            continue
        lines.append("%-4s %-18s %-10s %-10s %s" % ("ok" if row["ok"] else "FAIL", row["name"], row["state"],
                                                   row["health"], ", ".join(row["ports"]) or row["detail"]))
    for row in rows:
        if row["kind"] == "backup":
            lines.append("%-4s %-18s %s" % ("ok" if row["ok"] else "FAIL", row["name"], row["detail"]))
    endpoints = [row for row in rows if row["kind"] == "endpoint"]
    if endpoints:
        lines.append("")
        lines.append("%-4s %-18s %-7s %-8s %s" % ("OK", "ENDPOINT", "STATUS", "TIME", "URL"))
        for row in endpoints:
            lines.append("%-4s %-18s %-7s %-8s %s%s" % (
                "ok" if row["ok"] else "FAIL", row["name"], row["status"] or "-",
                "-" if row["ms"] is None else "%dms" % row["ms"], row["url"],
                "" if row["ok"] else "  (%s)" % row["detail"]))
    return "\n".join(lines)


def summary(failing):
    """One host's line of the summary: healthy, or what fails there."""
    return "healthy" if not failing else "UNHEALTHY: " + ", ".join(failing)


class _Pinned(object):
    """Connections to `address` that speak to `host` (SNI, certificate name, Host header): curl's --resolve."""

    @staticmethod
    def http(address, host, port, timeout):
        conn = http.client.HTTPConnection(host, port, timeout=timeout)
        conn.sock = socket.create_connection((address, port), timeout)
        return conn

    @staticmethod
    def https(address, host, port, timeout, context):
        conn = http.client.HTTPSConnection(host, port, timeout=timeout, context=context)
        raw = socket.create_connection((address, port), timeout)
        try:
            conn.sock = context.wrap_socket(raw, server_hostname=host)
        except Exception:
            raw.close()
            raise
        return conn


def tls_context(trust_bundle):
    """Verification against trust_bundle (a CA file), or the system's CAs when it is empty."""
    return ssl.create_default_context(cafile=trust_bundle or None)


def check_endpoint(check, address, timeout, context, credentials=None):
    """GET check['url'] on `address` (its host name kept for SNI and Host); redirects are not followed.
    Returns the endpoint row."""
    headers = {"User-Agent": "taylordash-health"}
    if credentials:
        headers["Authorization"] = "Basic " + base64.b64encode(credentials.encode("utf-8")).decode("ascii")
    started = time.monotonic()
    conn = None
    try:
        parts = urlsplit(check["url"])
        secure = parts.scheme == "https"
        port = parts.port or (443 if secure else 80)
        path = (parts.path or "/") + ("?" + parts.query if parts.query else "")
        conn = (_Pinned.https(address, parts.hostname, port, timeout, context) if secure
                else _Pinned.http(address, parts.hostname, port, timeout))
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        response.read()
        return endpoint_row(check, response.status, time.monotonic() - started)
    except (OSError, http.client.HTTPException, ssl.SSLError, ValueError) as exc:
        return endpoint_row(check, 0, None, error="%s: %s" % (type(exc).__name__, exc))
    finally:
        if conn is not None:
            conn.close()
