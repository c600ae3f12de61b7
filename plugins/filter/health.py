# -*- coding: utf-8 -*-
# Copyright: taylordash-ops developers
# MIT License
"""Filters of the health role: one report from compose ps and endpoint checks."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

from ansible.errors import AnsibleFilterError


def _ports(publishers):
    seen = []
    for pub in publishers or []:
        if pub.get("PublishedPort"):
            text = "%s:%s->%s/%s" % (pub.get("URL") or "0.0.0.0", pub["PublishedPort"], pub.get("TargetPort"),
                                     pub.get("Protocol", "tcp"))
            if text not in seen:
                seen.append(text)
    return seen


def service_rows(ps_lines, expected):
    """One row per expected service from `docker compose ps --all --format json` output (one object per line,
    or one JSON array). A service without a container is reported as missing."""
    items = []
    for line in ps_lines:
        line = line.strip()
        if line.startswith("["):
            items.extend(json.loads(line))
        elif line.startswith("{"):
            items.append(json.loads(line))
    by_service = {}
    for item in items:
        by_service.setdefault(item.get("Service"), item)
    rows = []
    for name in list(expected) + sorted(set(by_service) - set(expected)):
        item = by_service.get(name)
        if item is None:
            rows.append({"name": name, "kind": "service", "state": "missing", "health": "-", "ports": [],
                         "ok": False, "detail": "no container"})
            continue
        health = item.get("Health") or ""
        ok = item.get("State") == "running" and health in ("", "healthy")
        rows.append({"name": name, "kind": "service", "state": item.get("State", "?"), "health": health or "none",
                     "ports": _ports(item.get("Publishers")), "ok": ok, "detail": item.get("Status", "")})
    return rows


def endpoint_rows(results):
    """Rows from the endpoint checks: each result has ``item`` {name, url, expect} and curl's stdout
    ``<status> <seconds>`` (or a failed rc)."""
    rows = []
    for result in results:
        check = result.get("item") or {}
        out = (result.get("stdout") or "").split()
        status = int(out[0]) if out and out[0].isdigit() else 0
        seconds = float(out[1]) if len(out) > 1 else None
        ok = result.get("rc") == 0 and status == int(check.get("expect", 200))
        detail = "HTTP %s (expected %s)" % (status, check.get("expect", 200)) if status else \
            ((result.get("stderr") or "no answer").strip().splitlines() or ["no answer"])[-1]
        rows.append({"name": check.get("name"), "kind": "endpoint", "url": check.get("url"), "status": status,
                     "ms": None if seconds is None else round(seconds * 1000), "ok": ok, "detail": detail})
    return rows


def health_table(rows):
    """A fixed-width text table of service and endpoint rows."""
    if not isinstance(rows, list):
        raise AnsibleFilterError("health_table expects a list of rows")
    lines = ["%-4s %-18s %-10s %-10s %s" % ("OK", "SERVICE", "STATE", "HEALTH", "PORTS / DETAIL")]
    for row in rows:
        if row["kind"] != "service":
            continue
        lines.append("%-4s %-18s %-10s %-10s %s" % ("ok" if row["ok"] else "FAIL", row["name"], row["state"],
                                                   row["health"], ", ".join(row["ports"]) or row["detail"]))
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


def health_summary(failing):
    """One host's line of the summary: healthy, or what fails there."""
    return "healthy" if not failing else "UNHEALTHY: " + ", ".join(failing)


class FilterModule(object):
    def filters(self):
        return {"service_rows": service_rows, "endpoint_rows": endpoint_rows, "health_table": health_table,
                "health_summary": health_summary}
