"""health-check.yml on the shared production stack: a report that changes
nothing, exits 0 when healthy and fails naming a stopped service."""

import json

from conftest import DEPLOY_DIR, compose, playbook, redeploy

REPORT = DEPLOY_DIR / "reports" / "health.json"


def test_healthy_stack_reports_every_service_and_endpoint(stack):
    run = playbook("health-check.yml")
    assert run.rc == 0, run
    assert run.changed == 0, run
    report = json.loads(REPORT.read_text())
    assert report["healthy"] and report["failing"] == []
    names = {row["name"] for row in report["checks"]}
    assert {"traefik", "postgres", "mosquitto", "backend", "frontend", "socket-proxy",
            "https-api", "https-frontend", "dashboard-auth", "dashboard-noauth", "http-redirect"} <= names, names
    api = next(row for row in report["checks"] if row["name"] == "https-api")
    assert api["status"] == 200 and api["ms"] is not None
    assert "ENDPOINT" in run.out and "SERVICE" in run.out


def test_a_stopped_service_fails_the_check_by_name(stack):
    compose("stop", "mosquitto")
    try:
        run = playbook("health-check.yml")
        assert run.rc != 0, run
        line = next((l for l in run.out.splitlines() if "Unhealthy on localhost:" in l), "")
        assert "mosquitto" in line.split("Unhealthy on localhost:")[-1].replace(",", " ").split(), run
        report = json.loads(REPORT.read_text())
        assert "mosquitto" in report["failing"] and not report["healthy"]
    finally:
        back = redeploy(tags="infrastructure")
        assert back.rc == 0, back
