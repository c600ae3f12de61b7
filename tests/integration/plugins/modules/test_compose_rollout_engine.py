# -*- coding: utf-8 -*-
"""plugins/modules/compose_rollout.py on the real engine, with a throwaway Compose project of the local
base image (engine.py: skipped by hand without it, failed under `make test`): start-first replacement,
a failing new version that never replaces the old one, convergence after an interrupted run."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import subprocess

import pytest

from ansible_collections.taylordash.ops.plugins.modules import compose_rollout
from ansible_collections.taylordash.ops.tests.integration.engine import require_image
from ansible_collections.taylordash.ops.tests.unit.plugins.modules import harness

IMAGE = "taylordash/debian:13"
MARKER = "/tmp/drain-me"


@pytest.fixture(autouse=True)
def patch_exit_fail(monkeypatch):
    harness.patch_exit_fail(monkeypatch)


def _docker(*args):
    return subprocess.run(["docker"] + list(args), capture_output=True, text=True, timeout=120, check=False)


def app_file(version, healthy=True):
    """A one-service compose file: `web` serves nothing, its healthcheck fails while MARKER exists (as the
    app images' does) or always (healthy=False)."""
    check = "test ! -e %s" % MARKER if healthy else "false"
    return ("services:\n  web:\n    image: %s\n    command: [sh, -c, 'trap \"exit 0\" TERM; while :; do sleep 0.2; done']\n"
            "    environment: {VERSION: '%s'}\n"
            "    healthcheck: {test: [CMD-SHELL, '%s'], interval: 1s, timeout: 2s, retries: 1, start_period: 0s}\n"
            # A dependency, as the backend's on PostgreSQL (Compose hashes a service with its depends_on).
            "    depends_on: {dep: {condition: service_started}}\n"
            % (IMAGE, version, check))


BASE = ("name: %s\nservices:\n  dep:\n    image: " + IMAGE + "\n"
        "    command: [sh, -c, 'trap \"exit 0\" TERM; while :; do sleep 0.2; done']\n")


@pytest.fixture
def project(tmp_path):
    require_image(IMAGE, "compose_rollout against the engine")
    name = "tdrollout%d" % os.getpid()
    (tmp_path / "base.yml").write_text(BASE % name)
    yield {"dir": tmp_path, "name": name}
    ids = _docker("ps", "-aq", "--filter", "label=com.docker.compose.project=" + name).stdout.split()
    if ids:
        _docker("rm", "-f", *ids)
    _docker("network", "rm", name + "_default")


def rollout(project, content, check=False, in_place=None, wait_for=None, base="base.yml", **service):
    args = {"project_dir": str(project["dir"]), "project_name": project["name"],
            "files": [str(project["dir"] / base)],
            "app_file": {"path": str(project["dir"] / "app.yml"), "content": content},
            "services": [dict({"name": "web", "drain": 0.5, "health_timeout": 30}, **service)],
            "drain_marker": MARKER, "throttle": 0, "_ansible_check_mode": check}
    if in_place is not None:
        args["in_place"] = in_place
    if wait_for is not None:
        args["wait_for"] = wait_for
    return harness.run_module(compose_rollout, args)


def web(project):
    """The project's web containers: [(id, VERSION, status)]."""
    ids = _docker("ps", "-aq", "--no-trunc", "--filter", "label=com.docker.compose.project=" + project["name"],
                  "--filter", "label=com.docker.compose.service=web").stdout.split()
    if not ids:
        return []
    found = json.loads(_docker("inspect", *ids).stdout)
    return sorted((c["Id"], [e.split("=", 1)[1] for e in c["Config"]["Env"] if e.startswith("VERSION=")][0],
                   c["State"]["Status"]) for c in found)


def test_create_then_start_first_then_nothing_to_do(project):
    outcome, result = rollout(project, app_file("1"))
    assert outcome == "exit" and result["changed"], result
    assert result["services"][0]["action"] == "create"
    [(first, version, status)] = web(project)
    assert (version, status) == ("1", "running")
    assert (project["dir"] / "app.yml").read_text() == app_file("1")

    # Check mode: the step, nothing started, the live file and no candidate left behind.
    outcome, result = rollout(project, app_file("2"), check=True)
    assert outcome == "exit" and result["changed"] and result["services"][0]["action"] == "start-first", result
    assert web(project) == [(first, "1", "running")]
    assert sorted(p.name for p in project["dir"].iterdir()) == ["app.yml", "base.yml"]

    outcome, result = rollout(project, app_file("2"))
    assert outcome == "exit" and result["changed"], result
    row = result["services"][0]
    assert row["action"] == "start-first" and row["why"] == "configuration changed" and row["retired"] == [first]
    [(second, version, status)] = web(project)
    assert second != first and (version, status) == ("2", "running")
    assert (project["dir"] / "app.yml").read_text() == app_file("2")

    outcome, result = rollout(project, app_file("2"))
    assert outcome == "exit" and not result["changed"] and result["services"][0]["action"] == "none", result
    assert web(project) == [(second, "2", "running")]


def test_a_new_version_that_never_turns_healthy_is_removed_and_the_old_one_keeps_running(project):
    assert rollout(project, app_file("1"))[0] == "exit"
    [(old, _, _)] = web(project)
    outcome, result = rollout(project, app_file("2", healthy=False), health_timeout=20)
    assert outcome == "fail", result
    assert "web: the new container(s) failed its healthcheck" in result["msg"], result
    assert "---- last 40 log lines of %s-web-" % project["name"] in result["msg"], result
    assert web(project) == [(old, "1", "running")]
    assert (project["dir"] / "app.yml").read_text() == app_file("1")
    assert sorted(p.name for p in project["dir"].iterdir()) == ["app.yml", "base.yml"]


def test_services_an_earlier_phase_started_without_waiting_gate_the_new_file(project):
    """wait_for (a cold start: the core services were brought up without waiting): the app is created, but its
    file goes live only once they are healthy; one that turns unhealthy is named with its last log lines."""
    sick = ("  sick:\n    image: %s\n    command: [sh, -c, 'echo sick-log-line; trap \"exit 0\" TERM; "
            "while :; do sleep 0.2; done']\n    healthcheck: {test: [CMD, 'false'], interval: 1s, timeout: 2s, "
            "retries: 1, start_period: 0s}\n" % IMAGE)
    (project["dir"] / "core.yml").write_text(BASE % project["name"] + sick)
    up = _docker("compose", "--project-directory", str(project["dir"]), "-f", str(project["dir"] / "core.yml"),
                 "up", "--detach", "dep", "sick")
    assert up.returncode == 0, up.stderr
    outcome, result = rollout(project, app_file("1"), base="core.yml",
                              wait_for={"services": ["dep", "sick"], "timeout": 30})
    assert outcome == "fail", result
    assert "sick exited, restarted or turned unhealthy (started without waiting" in result["msg"], result
    assert "dep," not in result["msg"] and "dep did not" not in result["msg"], result
    assert "---- last 40 log lines of %s-sick-1 ----\nsick-log-line" % project["name"] in result["msg"], result
    assert "Already replaced in this run: web" in result["msg"], result
    assert not (project["dir"] / "app.yml").exists()
    [(created, _, status)] = web(project)
    assert status == "running"

    # Only the healthy one to wait for: the same container is kept and the file goes live.
    outcome, result = rollout(project, app_file("1"), base="core.yml", wait_for={"services": ["dep"], "timeout": 30})
    assert outcome == "exit", result
    assert (project["dir"] / "app.yml").read_text() == app_file("1")
    assert web(project) == [(created, "1", "running")]


def test_a_cold_start_probes_the_dependencies_instead_of_waiting_for_the_engines_first_healthcheck(project):
    """wait_for given (a cold start): `web` waits for `db` to be healthy (depends_on service_healthy), whose first
    healthcheck the engine runs only 120 s after its start. The rollout runs db's own check instead and starts web
    at once; a db whose check never passes is named and web is not started."""
    def core(check):
        return (BASE % project["name"] + "  db:\n    image: %s\n    command: [sh, -c, 'echo db-log-line; trap "
                "\"exit 0\" TERM; while :; do sleep 0.2; done']\n    healthcheck: {test: [CMD-SHELL, '%s'], "
                "interval: 120s, timeout: 2s, retries: 1, start_period: 0s}\n" % (IMAGE, check))

    content = app_file("1").replace("depends_on: {dep: {condition: service_started}}",
                                    "depends_on: {db: {condition: service_healthy}}")

    def start(check):
        (project["dir"] / "core.yml").write_text(core(check))
        up = _docker("compose", "--project-directory", str(project["dir"]), "-f", str(project["dir"] / "core.yml"),
                     "up", "--detach", "--force-recreate", "dep", "db")
        assert up.returncode == 0, up.stderr

    start("test -e /etc/hostname")
    outcome, result = rollout(project, content, base="core.yml", health_timeout=20,
                              wait_for={"services": ["dep"], "timeout": 25})
    assert outcome == "exit" and result["services"][0]["action"] == "create", result
    [(created, _, status)] = web(project)
    assert status == "running"
    db = json.loads(_docker("inspect", "%s-db-1" % project["name"]).stdout)[0]
    assert db["State"]["Health"]["Status"] == "starting", db["State"]["Health"]  # the engine has not probed it

    _docker("rm", "-f", created)
    (project["dir"] / "app.yml").unlink()
    start("false")
    outcome, result = rollout(project, content, base="core.yml", health_timeout=20,
                              wait_for={"services": ["dep"], "timeout": 5})
    assert outcome == "fail", result
    assert "%s-db-1 did not pass its own healthcheck in time, before the app started" % project["name"] in result["msg"]
    assert "db-log-line" in result["msg"], result
    assert web(project) == []


def test_an_interrupted_run_is_finished_by_the_next(project):
    """Two containers of one service (new beside old, as a run stopped before the drain leaves them): the
    next run keeps the current one and retires the other; replicas 2 then starts a second one beside it."""
    assert rollout(project, app_file("1"))[0] == "exit"
    (project["dir"] / "app.yml").write_text(app_file("2"))
    up = subprocess.run(["docker", "compose", "--project-directory", str(project["dir"]), "-p", project["name"],
                         "-f", str(project["dir"] / "base.yml"), "-f", str(project["dir"] / "app.yml"), "up", "-d",
                         "--wait", "--no-recreate", "--scale", "web=2", "web"], capture_output=True, text=True,
                        check=False)
    assert up.returncode == 0, up.stderr
    assert sorted(v for _, v, _ in web(project)) == ["1", "2"]
    outcome, result = rollout(project, app_file("2"))
    assert outcome == "exit" and result["changed"] and result["services"][0]["action"] == "converge", result
    assert [v for _, v, _ in web(project)] == ["2"]
    outcome, result = rollout(project, app_file("2"), replicas=2)
    assert outcome == "exit" and result["services"][0]["action"] == "start-first", result
    assert [v for _, v, _ in web(project)] == ["2", "2"]


def test_a_service_no_file_names_any_more_is_drained_and_removed_and_check_mode_writes_nothing(project):
    two = app_file("1") + app_file("1").split("services:\n", 1)[1].replace("  web:", "  extra:")
    args = {"project_dir": str(project["dir"]), "project_name": project["name"],
            "files": [str(project["dir"] / "base.yml")],
            "app_file": {"path": str(project["dir"] / "app.yml"), "content": two},
            "services": [{"name": "web", "drain": 0.5}, {"name": "extra", "drain": 0.5}],
            "drain_marker": MARKER, "throttle": 0}
    assert harness.run_module(compose_rollout, args)[0] == "exit"
    extra = _docker("ps", "-q", "--filter", "label=com.docker.compose.project=" + project["name"], "--filter",
                    "label=com.docker.compose.service=extra").stdout.split()
    assert len(extra) == 1
    outcome, result = rollout(project, app_file("1"), check=True)
    assert outcome == "exit" and result["changed"], result
    assert [(r["service"], r["action"]) for r in result["services"]] == [("web", "none"), ("extra", "remove")]
    assert sorted(p.name for p in project["dir"].iterdir()) == ["app.yml", "base.yml"]
    outcome, result = rollout(project, app_file("1"))
    assert outcome == "exit" and result["changed"], result
    assert _docker("ps", "-aq", "--filter", "label=com.docker.compose.service=extra", "--filter",
                   "label=com.docker.compose.project=" + project["name"]).stdout.split() == []
    assert len(web(project)) == 1 and (project["dir"] / "app.yml").read_text() == app_file("1")


def test_check_mode_on_a_host_without_the_project_changes_nothing(tmp_path):
    args = {"project_dir": str(tmp_path / "absent"), "project_name": "tdrolloutabsent",
            "files": [str(tmp_path / "absent" / "base.yml")],
            "app_file": {"path": str(tmp_path / "absent" / "app.yml"), "content": app_file("1")},
            "services": [{"name": "web"}], "_ansible_check_mode": True}
    outcome, result = harness.run_module(compose_rollout, args)
    assert outcome == "exit" and result["changed"] and result["services"][0]["action"] == "create", result
    assert not (tmp_path / "absent").exists()


def test_a_host_port_is_replaced_in_place_only_when_the_plan_announced_it(project):
    """A service publishing a fixed host port is replaced stop-first. Given the plan's in_place list, one the
    plan did not announce fails before anything stops; a failure after its old container stopped names it in
    in_place_begun (a proxy elsewhere keeps the host out)."""
    port = 20000 + os.getpid() % 20000
    published = "    ports: ['127.0.0.1:%d:8080']\n" % port
    assert rollout(project, app_file("1") + published)[0] == "exit"
    [(old, _, _)] = web(project)
    outcome, plan = rollout(project, app_file("2") + published, check=True)
    assert outcome == "exit" and plan["in_place"] == ["web"], plan
    outcome, result = rollout(project, app_file("2") + published, in_place=[])
    assert outcome == "fail" and "web would now be replaced in place" in result["msg"], result
    assert result["in_place_begun"] == [] and web(project) == [(old, "1", "running")], result
    outcome, result = rollout(project, app_file("2", healthy=False) + published, in_place=["web"], health_timeout=20)
    assert outcome == "fail" and result["in_place_begun"] == ["web"], result
    assert [v for _, v, _ in web(project)] == ["2"]
