# -*- coding: utf-8 -*-
"""plugins/module_utils/_rollout.py: the start-first step of one service, from `docker inspect` objects."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.taylordash.ops.plugins.module_utils import _rollout as r

HASH, IMAGE = "h-new", "sha256:new"


def box(cid, created, hash_=HASH, image=IMAGE, status="running", health="healthy", service="backend",
        oneoff=False, networks=("taylordash",), check=None):
    """A container as `docker inspect` shows it."""
    state = {"Status": status}
    if health is not None:
        state["Health"] = {"Status": health}
    labels = {"com.docker.compose.service": service, "com.docker.compose.config-hash": hash_,
              "com.docker.compose.oneoff": "True" if oneoff else "False"}
    return {"Id": cid, "Created": created, "Image": image, "State": state,
            "Config": {"Labels": labels, "Healthcheck": check},
            "NetworkSettings": {"Networks": {name: {} for name in networks}}}


OLD = dict(hash_="h-old")


@pytest.mark.parametrize("containers,replicas,host_port,expect", [
    # Nothing yet: create them (nothing serves, nothing to drain).
    ([], 1, False, ("create", [], 1, [])),
    ([box("x", "1", service="frontend")], 2, False, ("create", [], 2, [])),
    # As wanted.
    ([box("a", "1")], 1, False, ("none", ["a"], 0, [])),
    ([box("a", "1", health=None)], 1, False, ("none", ["a"], 0, [])),
    ([box("a", "1", health="starting")], 1, False, ("wait", ["a"], 0, [])),
    # A new configuration or image, or a network detached: start beside, retire the old.
    ([box("a", "1", **OLD)], 1, False, ("start-first", [], 1, ["a"])),
    ([box("a", "1", image="sha256:old")], 1, False, ("start-first", [], 1, ["a"])),
    ([box("a", "1", networks=())], 1, False, ("start-first", [], 1, ["a"])),
    ([box("a", "1", **OLD), box("b", "2", **OLD)], 2, False, ("start-first", [], 2, ["a", "b"])),
    # Stopped or unhealthy current containers are retired, not kept.
    ([box("a", "1", status="exited", health=None)], 1, False, ("start-first", [], 1, ["a"])),
    ([box("a", "1", health="unhealthy")], 1, False, ("start-first", [], 1, ["a"])),
    # An interrupted run: the new one runs beside the old; converge retires the old.
    ([box("a", "1", **OLD), box("b", "2")], 1, False, ("converge", ["b"], 0, ["a"])),
    # One of two replicas already new: start one more, retire both old ones... the newest current is kept.
    ([box("a", "1", **OLD), box("b", "2", **OLD), box("c", "3")], 2, False, ("start-first", ["c"], 1, ["a", "b"])),
    # More current containers than replicas: the newest are kept.
    ([box("a", "1"), box("b", "2"), box("c", "3")], 2, False, ("converge", ["c", "b"], 0, ["a"])),
    # A host port: replaced in place.
    ([box("a", "1", **OLD)], 1, True, ("stop-first", [], 1, ["a"])),
    ([box("a", "1")], 1, True, ("none", ["a"], 0, [])),
    # One-off containers (the migration job) are not the service's.
    ([box("a", "1"), box("m", "2", oneoff=True, **OLD)], 1, False, ("none", ["a"], 0, [])),
])
def test_the_step_of_one_service(containers, replicas, host_port, expect):
    step = r.plan("backend", containers, HASH, IMAGE, replicas, ["taylordash"], host_port)
    assert (step["action"], step["keep"], step["start"], step["retire"]) == expect, step
    assert step["why"]


@pytest.mark.parametrize("container,why", [
    (box("a", "1", **OLD), "configuration changed"),
    (box("a", "1", image="sha256:old"), "image rebuilt"),
    (box("a", "1", networks=()), "not on every network"),
    (box("a", "1", status="exited", health=None), "container exited"),
    (box("a", "1", health="unhealthy"), "container unhealthy"),
])
def test_the_step_says_why(container, why):
    assert r.plan("backend", [container], HASH, IMAGE, 1, ["taylordash"])["why"] == why


def test_a_container_that_restarted_failed_even_while_it_runs():
    crashing = dict(box("a", "1", health="starting"), RestartCount=1)
    assert r.wait_verdict([crashing]) == "failed"


def test_the_newest_current_container_is_kept_whatever_the_precision_of_its_creation_time():
    """The engine writes .1Z for .100000000Z: compared as written, .1Z would sort after .12Z."""
    older, newer = box("old", "2026-12-01T10:00:00.1Z"), box("new", "2026-12-01T10:00:00.12Z")
    assert r.plan("backend", [newer, older], HASH, IMAGE, 1, ["taylordash"])["keep"] == ["new"]


def test_an_image_id_unknown_to_the_engine_is_never_current():
    assert r.plan("backend", [box("a", "1", image="")], HASH, "", 1)["action"] == "start-first"


@pytest.mark.parametrize("check,seconds", [
    (None, 0), ({"Test": ["NONE"]}, 0),
    ({"Test": ["CMD", "true"]}, 30 * 4 + 30),
    ({"Test": ["CMD", "true"], "Interval": 10 * 10**9, "Timeout": 5 * 10**9, "Retries": 3}, 45),
    ({"Test": ["CMD-SHELL", "true"], "Interval": 2 * 10**9, "Retries": 2}, 2 * 3 + 30),
])
def test_the_bound_on_turning_unhealthy_comes_from_the_healthcheck(check, seconds):
    assert r.health_bound(box("a", "1", check=check)) == seconds


@pytest.mark.parametrize("states,verdict", [
    ([("running", "healthy")], "healthy"),
    ([("running", None)], "healthy"),
    ([], "healthy"),
    ([("running", "starting"), ("running", "healthy")], "waiting"),
    ([("created", None)], "waiting"),
    ([("running", "starting"), ("running", "unhealthy")], "failed"),
    ([("exited", None), ("running", "starting")], "failed"),
    ([("dead", None)], "failed"),
    ([("restarting", None)], "failed"),
])
def test_a_started_container_is_waited_for_until_healthy_or_failed(states, verdict):
    containers = [box(str(i), str(i), status=status, health=health) for i, (status, health) in enumerate(states)]
    assert r.wait_verdict(containers) == verdict


@pytest.mark.parametrize("containers,services,expect", [
    ([box("a", "1"), box("f", "2", service="frontend")], ["backend", "frontend"], {}),
    # A service switched off: its containers, oldest first (the engine trims the fraction's zeros).
    ([box("n", "2026-01-01T00:00:01.5Z", service="worker"), box("m", "2026-01-01T00:00:01.25Z", service="worker"),
      box("a", "1")], ["backend"], {"worker": ["m", "n"]}),
    # One-off containers (a migration's `run`) are not the service's.
    ([box("j", "1", service="migrate", oneoff=True), box("a", "1")], ["backend"], {}),
    ([box("a", "1"), box("f", "2", service="frontend")], [], {"backend": ["a"], "frontend": ["f"]}),
])
def test_orphans_are_the_containers_of_services_no_file_names(containers, services, expect):
    assert r.orphans(containers, services) == expect


CONFIG = {"services": {
    "backend": {"depends_on": {"postgres": {"condition": "service_healthy"},
                               "mosquitto": {"condition": "service_healthy", "required": True},
                               "socket-proxy": {"condition": "service_started"}}},
    "frontend": {},
    "worker": {"depends_on": {"backend": {"condition": "service_healthy"}}},
    "job": {"depends_on": {"postgres": {"condition": "service_completed_successfully"}}},
}}


@pytest.mark.parametrize("names,expect", [
    # Only the service_healthy ones, outside the set, sorted; service_started is Compose's to handle.
    (["backend", "frontend"], ["mosquitto", "postgres"]),
    (["frontend"], []),
    (["job"], []),
    # A service of the set depends on another of it: Compose's `up` orders them, nothing is bypassed.
    (["backend", "worker"], None),
    (["worker"], ["backend"]),
    # A service the configuration does not know has no dependency.
    (["ghost"], []),
])
def test_awaited_dependencies(names, expect):
    assert r.awaited_dependencies(CONFIG, names) == expect


@pytest.mark.parametrize("check,expect", [
    ({"Test": ["CMD-SHELL", "pg_isready -U \"$POSTGRES_USER\""]},
     ["docker", "exec", "c1", "/bin/sh", "-c", "pg_isready -U \"$POSTGRES_USER\""]),
    ({"Test": ["CMD", "wget", "-q", "http://127.0.0.1:9090/"]}, ["docker", "exec", "c1", "wget", "-q",
                                                                 "http://127.0.0.1:9090/"]),
    ({"Test": ["NONE"]}, None),
    ({"Test": ["CMD"]}, None),
    ({}, None),
    (None, None),
])
def test_probe_argv_runs_the_containers_own_healthcheck(check, expect):
    assert r.probe_argv({"Id": "c1", "Config": {"Healthcheck": check}}) == expect


@pytest.mark.parametrize("check,expect", [
    ({"Test": ["CMD", "true"], "Timeout": 5000000000}, 5.0),
    ({"Test": ["CMD", "true"], "Timeout": 0}, 30.0),
    ({"Test": ["CMD", "true"]}, 30.0),
    (None, 30.0),
])
def test_probe_timeout(check, expect):
    assert r.probe_timeout({"Id": "c1", "Config": {"Healthcheck": check}}) == expect


@pytest.mark.parametrize("verdicts,expect", [
    ({"a": "failed", "b": "healthy", "c": "waiting"},
     "a exited, restarted or turned unhealthy; c did not become healthy in time"),
    ({"a": "waiting", "b": "waiting"}, "a, b did not become healthy in time"),
    ({"c": "failed", "a": "failed"}, "a, c exited, restarted or turned unhealthy"),
    ({"a": "healthy"}, ""),
])
def test_unhealthy_report_tells_a_crash_from_a_slow_start(verdicts, expect):
    assert r.unhealthy_report(verdicts, ["a", "b", "c"]) == expect
