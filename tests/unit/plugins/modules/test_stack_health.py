# -*- coding: utf-8 -*-
"""plugins/modules/stack_health.py with the docker CLI replaced by canned answers (the module on the
real engine: tests/e2e/test_health.py): rows, the report file, check mode, bad arguments."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

import pytest

from ansible.module_utils import basic

from ansible_collections.taylordash.ops.plugins.modules import stack_health
from ansible_collections.taylordash.ops.tests.unit.plugins.modules import harness

PS = json.dumps({"Service": "postgres", "State": "running", "Health": "healthy", "Publishers": []})


def answers(missing_image=False, ps=PS):
    def run_command(self, argv, **kwargs):
        line = " ".join(argv)
        if line.startswith("docker info"):
            return 0, "20.10.24 overlay2\n", ""
        if line.startswith("docker compose version"):
            return 0, "2.26.1\n", ""
        if line.startswith("docker buildx version"):
            return 0, "github.com/docker/buildx 0.13.1 abc\n", ""
        if line.startswith("docker image ls"):
            return 0, ("" if missing_image else "taylordash/postgres:17\n") + "taylordash/other:1\n", ""
        if line.endswith("config --services"):
            return 0, "postgres\nmosquitto\n", ""
        if "ps --all --format json" in line:
            return 0, ps + "\n", ""
        raise AssertionError("unexpected command: " + line)
    return run_command


@pytest.fixture
def project(tmp_path):
    (tmp_path / "docker-compose.yml").write_text("services: {}\n")
    return tmp_path


def run(monkeypatch, project, check_mode=False, **args):
    monkeypatch.setattr(basic.AnsibleModule, "run_command", answers(**args.pop("_answers", {})))
    params = dict({"project_dir": str(project), "files": [str(project / "docker-compose.yml"),
                                                          str(project / "docker-compose.app.yml")],
                   "report_file": str(project / "reports" / "health.json"), "host": "h1"}, **args)
    if check_mode:
        params["_ansible_check_mode"] = True
    return harness.run_module(stack_health, params)


def test_a_missing_service_and_image_are_named_and_the_report_is_written(monkeypatch, project):
    outcome, result = run(monkeypatch, project, images=["taylordash/postgres:17"], _answers={"missing_image": True})
    assert outcome == "exit" and result["changed"] is False
    assert result["failing"] == ["taylordash/postgres:17", "mosquitto"]
    assert result["engine"] == {"server": "20.10.24", "driver": "overlay2", "compose": "2.26.1", "buildx": "0.13.1"}
    report = json.loads((project / "reports" / "health.json").read_text())
    assert report["host"] == "h1" and report["healthy"] is False and len(report["checks"]) == 3
    assert result["images"] == report["images"] == {"present": [], "missing": ["taylordash/postgres:17"]}


def test_check_mode_reads_but_writes_no_report(monkeypatch, project):
    outcome, result = run(monkeypatch, project, check_mode=True)
    assert outcome == "exit" and result["failing"] == ["mosquitto"]
    assert not (project / "reports").exists()


def test_endpoints_wait_for_the_app(monkeypatch, project):
    endpoint = {"name": "api", "url": "https://d.test:1/api/health"}
    outcome, result = run(monkeypatch, project, endpoints=[endpoint], app_file=str(project / "docker-compose.app.yml"))
    assert "api" not in [row["name"] for row in result["rows"]]
    outcome, result = run(monkeypatch, project, endpoints=[endpoint], apps_elsewhere=True,
                          app_file=str(project / "docker-compose.app.yml"))
    assert "api" in result["failing"]


@pytest.mark.parametrize("args,message", [
    ({"endpoints": [{"name": "x", "url": "ftp://d/"}]}, "endpoints[0] needs a name and an http"),
    ({"endpoints": [{"url": "https://d/"}]}, "endpoints[0] needs a name"),
    ({"trust_bundle": "/nonexistent/ca.crt"}, "trust_bundle=/nonexistent/ca.crt: no such file on h1"),
])
def test_bad_arguments_fail_before_reading_anything(monkeypatch, project, args, message):
    outcome, result = run(monkeypatch, project, **args)
    assert outcome == "fail" and message in result["msg"], result


def test_a_host_without_the_project_file_is_not_healthy(monkeypatch, project):
    (project / "docker-compose.yml").unlink()
    outcome, result = run(monkeypatch, project)
    assert outcome == "exit" and result["failing"] == ["docker-compose.yml"], result


def test_no_dashboard_password_fails_that_check_and_masks_nothing(monkeypatch, project):
    (project / ".env").write_text("API_KEY='k'\n")
    endpoint = {"name": "dashboard-auth", "url": "https://t.test:1/api/overview", "auth": True}
    outcome, result = run(monkeypatch, project, endpoints=[endpoint], env_file=str(project / ".env"))
    row = [r for r in result["rows"] if r["name"] == "dashboard-auth"][0]
    assert not row["ok"] and row["detail"] == "no TRAEFIK_DASHBOARD_PASSWORD in the .env file"
    assert "postgres" in [r["name"] for r in result["rows"]]  # names intact: nothing was masked


def test_an_unreadable_trust_bundle_is_named(monkeypatch, project):
    bad = project / "ca.crt"
    bad.write_text("not a certificate\n")
    outcome, result = run(monkeypatch, project, trust_bundle=str(bad),
                          endpoints=[{"name": "api", "url": "https://d.test:1/"}])
    assert outcome == "fail" and "trust_bundle=%s is not a CA file" % bad in result["msg"], result
