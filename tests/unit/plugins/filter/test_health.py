# -*- coding: utf-8 -*-
import json

from ansible_collections.taylordash.ops.plugins.filter.health import endpoint_rows, health_table, service_rows


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
    rows = {r["name"]: r for r in service_rows(lines, ["traefik", "postgres", "backend", "mosquitto", "frontend"])}
    assert rows["postgres"]["ok"] and rows["traefik"]["ok"]
    assert rows["traefik"]["ports"] == ["0.0.0.0:443->443/tcp", ":::443->443/tcp"]
    assert not rows["backend"]["ok"] and not rows["mosquitto"]["ok"]
    assert rows["frontend"] == {"name": "frontend", "kind": "service", "state": "missing", "health": "-",
                                "ports": [], "ok": False, "detail": "no container"}


def test_a_json_array_line_is_read_too():
    rows = service_rows([json.dumps([{"Service": "a", "State": "running"}])], ["a"])
    assert rows[0]["ok"] and rows[0]["health"] == "none"


def test_endpoint_rows_compare_the_status_and_keep_the_time():
    results = [{"item": {"name": "api", "url": "https://d/api/health", "expect": 200}, "rc": 0, "stdout": "200 0.0123"},
               {"item": {"name": "dash-noauth", "url": "https://t.d/", "expect": 401}, "rc": 0, "stdout": "200 0.01"},
               {"item": {"name": "web", "url": "https://d/", "expect": 200}, "rc": 7, "stdout": "000 0.0",
                "stderr": "curl: (7) Failed to connect"}]
    rows = endpoint_rows(results)
    assert [r["ok"] for r in rows] == [True, False, False]
    assert rows[0]["ms"] == 12 and rows[1]["detail"] == "HTTP 200 (expected 401)"
    assert rows[2]["detail"] == "curl: (7) Failed to connect"


def test_the_table_names_every_failure():
    rows = service_rows([ps(Service="backend", State="exited")], ["backend"]) + endpoint_rows(
        [{"item": {"name": "api", "url": "https://d/api/health"}, "rc": 0, "stdout": "503 0.2"}])
    table = health_table(rows)
    assert "FAIL backend" in table and "FAIL api" in table and "503" in table and "200ms" in table
