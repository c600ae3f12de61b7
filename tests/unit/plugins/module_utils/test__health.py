# -*- coding: utf-8 -*-
"""The health report's rows, table and summary (pure); the endpoint checks over real sockets are in
tests/integration/test__health_endpoints.py."""

import json

import pytest

from ansible_collections.taylordash.ops.plugins.module_utils import _health as h


def ps(**item):
    return json.dumps(item)


def test_running_healthy_and_unhealthy_and_missing_services():
    lines = [ps(Service="postgres", State="running", Health="healthy", Status="Up 1m (healthy)", Publishers=[]),
             ps(Service="traefik", State="running", Health="healthy",
                Publishers=[{"URL": "0.0.0.0", "PublishedPort": 443, "TargetPort": 443, "Protocol": "tcp"},
                            {"URL": "::", "PublishedPort": 443, "TargetPort": 443, "Protocol": "tcp"},
                            {"URL": "", "PublishedPort": 0, "TargetPort": 8080, "Protocol": "tcp"}]),
             ps(Service="backend", State="exited", Health="", Status="Exited (1)"),
             ps(Service="mosquitto", State="running", Health="unhealthy")]
    rows = {r["name"]: r for r in h.service_rows(h.parse_ps(lines),
                                                 ["traefik", "postgres", "backend", "mosquitto", "frontend"])}
    assert rows["postgres"]["ok"] and rows["traefik"]["ok"]
    assert rows["traefik"]["ports"] == ["0.0.0.0:443->443/tcp", ":::443->443/tcp"]
    assert not rows["backend"]["ok"] and not rows["mosquitto"]["ok"]
    assert rows["frontend"] == {"name": "frontend", "kind": "service", "state": "missing", "health": "-",
                                "ports": [], "ok": False, "detail": "no container"}


@pytest.mark.parametrize("states,ok,detail", [
    ([("running", "healthy"), ("running", "healthy")], True, "2 containers"),
    ([("running", "healthy"), ("running", "unhealthy")], False, "2 containers, 1 not healthy (td-backend-2: s1)"),
    ([("exited", ""), ("running", "healthy")], False, "2 containers, 1 not healthy (td-backend-1: s0)"),
])
def test_every_container_of_a_service_counts(states, ok, detail):
    lines = [ps(Service="backend", Name="td-backend-%d" % (i + 1), State=state, Health=health, Status="s%d" % i)
             for i, (state, health) in enumerate(states)]
    [row] = h.service_rows(h.parse_ps(lines), ["backend"])
    assert (row["ok"], row["detail"]) == (ok, detail)


def test_a_json_array_line_is_read_too_and_an_unexpected_service_is_listed():
    rows = h.service_rows(h.parse_ps([json.dumps([{"Service": "a", "State": "running"},
                                                  {"Service": "stray", "State": "running"}])]), ["a"])
    assert [r["name"] for r in rows] == ["a", "stray"]
    assert rows[0]["ok"] and rows[0]["health"] == "none"


@pytest.mark.parametrize("status,seconds,error,ok,detail", [
    (200, 0.0123, None, True, "HTTP 200 (expected 200)"),
    (401, 0.01, None, False, "HTTP 401 (expected 200)"),
    (0, None, "ConnectionRefusedError: [Errno 111]", False, "ConnectionRefusedError: [Errno 111]"),
    (0, None, None, False, "no answer"),
], ids=["expected", "other-status", "refused", "silent"])
def test_an_endpoint_row_compares_the_status_and_keeps_the_time(status, seconds, error, ok, detail):
    row = h.endpoint_row({"name": "api", "url": "https://d/api/health"}, status, seconds, error)
    assert row["ok"] is ok and row["detail"] == detail
    assert row["ms"] == (None if seconds is None else round(seconds * 1000))


def test_an_expected_non_200_status_is_ok():
    assert h.endpoint_row({"name": "noauth", "url": "https://t.d/", "expect": 401}, 401, 0.01)["ok"]


def test_the_table_names_every_failure():
    rows = h.service_rows(h.parse_ps([ps(Service="backend", State="exited")]), ["backend"]) + [
        h.endpoint_row({"name": "api", "url": "https://d/api/health"}, 503, 0.2)]
    table = h.table(rows)
    assert "FAIL backend" in table and "FAIL api" in table and "503" in table and "200ms" in table


@pytest.mark.parametrize("failing,line", [([], "healthy"), (["mosquitto", "https-api"], "UNHEALTHY: mosquitto, https-api")])
def test_summary(failing, line):
    assert h.summary(failing) == line


@pytest.mark.parametrize("refs,have,present,missing", [
    (["taylordash/postgres:17", "taylordash/absent:1"], {"taylordash/postgres:17"},
     ["taylordash/postgres:17"], ["taylordash/absent:1"]),
    (["taylordash/app"], {"taylordash/app:latest"}, ["taylordash/app"], []),
    (["registry.local:5000/app"], {"registry.local:5000/app:latest"}, ["registry.local:5000/app"], []),
    (["registry.local:5000/app"], {"registry.local:5000/app:2"}, [], ["registry.local:5000/app"]),
    (["a:1", "a:1", "b:2"], set(), [], ["a:1", "b:2"]),
    ([], {"a:1"}, [], []),
])
def test_image_presence_reads_one_listing(refs, have, present, missing):
    assert h.image_presence(refs, have) == {"present": present, "missing": missing}


def test_backup_row():
    from ansible_collections.taylordash.ops.plugins.module_utils import _health as h
    assert h.backup_row(None, 86400, 1000)["ok"] is False
    fresh = h.backup_row({"last_success": 900, "last_id": "X", "first_start": 0}, 86400, 1000)
    assert fresh["ok"] and fresh["last"] == "X" and "last backup 1m40s ago (X)" in fresh["detail"]
    assert h.backup_row({"first_start": 0}, 60, 1000)["ok"] is False
    assert h.backup_row({"first_start": 990}, 60, 1000)["ok"] is True
    table = h.table([dict(fresh)])
    assert "ok   backup" in table
