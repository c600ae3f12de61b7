# -*- coding: utf-8 -*-
"""plugins/module_utils/_compose.py: what `docker compose up` would do to each service, from the
configuration hashes, the image IDs and the containers."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

import pytest

from ansible_collections.taylordash.ops.plugins.module_utils import _compose

HASHES = {"postgres": "h-pg", "backend": "h-be"}
IMAGES = {"postgres": "taylordash/postgres:17", "backend": "taylordash/backend:abc"}
IDS = {"taylordash/postgres:17": "sha256:pg", "taylordash/backend:abc": "sha256:be"}


def container(service, config_hash=None, image=None, status="running", health=None, oneoff=False):
    state = {"Status": status}
    if health:
        state["Health"] = {"Status": health}
    labels = {_compose.SERVICE: service, _compose.CONFIG_HASH: config_hash or HASHES.get(service, "x"),
              _compose.PROJECT: "taylordash"}
    if oneoff:
        labels[_compose.ONEOFF] = "True"
    return {"Config": {"Labels": labels}, "Image": image or IDS.get(IMAGES.get(service, ""), "sha256:x"),
            "State": state}


def test_parsers():
    assert _compose.parse_hashes(["postgres h-pg", "", "noise"]) == {"postgres": "h-pg"}
    config = json.dumps({"services": {"postgres": {"image": "taylordash/postgres:17"}, "job": {"build": "."},
                                      "proxy": {"image": "p", "networks": {"default": None, "socket-proxy": {}}},
                                      "node": {"image": "n", "network_mode": "host"}},
                         "networks": {"default": {"name": "taylordash"}, "socket-proxy": {"name": "td-sp"}}})
    images, networks = _compose.parse_config(config)
    assert images == {"postgres": "taylordash/postgres:17", "job": "", "proxy": "p", "node": "n"}
    assert networks == {"postgres": ["taylordash"], "job": ["taylordash"], "proxy": ["taylordash", "td-sp"],
                        "node": []}


@pytest.mark.parametrize("ref,name", [
    ("docker.io/library/postgres:17", "postgres:17"),
    ("docker.io/prom/prometheus:v2.53.0", "prom/prometheus:v2.53.0"),
    ("taylordash/backend", "taylordash/backend:latest"),
    ("registry.local:5000/x", "registry.local:5000/x:latest"),
    ("ghcr.io/a/b@sha256:abc", "ghcr.io/a/b@sha256:abc"),
])
def test_references_are_looked_up_as_the_engine_lists_them(ref, name):
    assert _compose.engine_name(ref) == name


def test_a_registry_image_up_to_date_is_left_alone():
    images = {"postgres": "docker.io/library/postgres:17"}
    rows = _compose.service_plan({"postgres": "h-pg"}, images, {"postgres:17": "sha256:pg"},
                                 [container("postgres", image="sha256:pg")])
    assert _compose.changes(rows) == []


def test_a_detached_network_recreates_the_service_several_containers_are_all_checked():
    attached = dict(container("backend"), NetworkSettings={"Networks": {"taylordash": {}}})
    detached = dict(container("backend"), NetworkSettings={"Networks": {}})
    networks = {"backend": ["taylordash"], "postgres": []}
    rows = _compose.service_plan(HASHES, IMAGES, IDS, [container("postgres"), attached], networks)
    assert _compose.changes(rows) == []
    rows = _compose.service_plan(HASHES, IMAGES, IDS, [container("postgres"), attached, detached], networks)
    assert _compose.changes(rows) == [{"service": "backend", "action": "recreate", "why": "not on network taylordash"}]


def test_a_project_as_wanted_has_nothing_to_do():
    rows = _compose.service_plan(HASHES, IMAGES, IDS, [container("postgres"), container("backend", health="healthy")])
    assert rows == [{"service": "backend", "action": "none", "why": "as wanted"},
                    {"service": "postgres", "action": "none", "why": "as wanted"}]
    assert _compose.changes(rows) == []


@pytest.mark.parametrize("backend,action,why", [
    (None, "create", "no container"),
    (container("backend", config_hash="old"), "recreate", "configuration changed"),
    (container("backend", image="sha256:old"), "recreate", "image taylordash/backend:abc was rebuilt"),
    (container("backend", status="exited"), "start", "container exited"),
    (container("backend", health="starting"), "wait", "health starting"),
    (container("backend", health="unhealthy"), "wait", "health unhealthy"),
    (container("backend", oneoff=True), "create", "no container"),
])
def test_each_reason_up_would_act_is_named(backend, action, why):
    containers = [container("postgres")] + ([backend] if backend else [])
    assert _compose.changes(_compose.service_plan(HASHES, IMAGES, IDS, containers)) == [
        {"service": "backend", "action": action, "why": why}]


def test_a_missing_image_and_an_orphan():
    ids = {"taylordash/postgres:17": "sha256:pg"}
    rows = _compose.service_plan(HASHES, IMAGES, ids, [container("postgres"), container("backend"),
                                                        container("frontend")])
    assert _compose.changes(rows) == [
        {"service": "backend", "action": "recreate", "why": "image taylordash/backend:abc is missing"},
        {"service": "frontend", "action": "remove", "why": "orphan: no longer a service"}]


def _started(service, when, oneoff=False):
    labels = {_compose.SERVICE: service}
    if oneoff:
        labels[_compose.ONEOFF] = "True"
    return {"Config": {"Labels": labels}, "State": {"StartedAt": when}}


def test_started_compares_the_engine_s_trimmed_fractions_as_times():
    # Go's RFC 3339 trims trailing zeros: .5Z is later than .123456789Z.
    started = _compose.started([
        _started("postgres", "2026-12-01T10:00:00.5Z"),
        _started("backend", "2026-12-01T10:00:00.123456789Z"),
        _started("backend", "2026-12-01T10:00:01Z"),
        _started("migrate", "2026-12-01T11:00:00Z", oneoff=True),
    ])
    assert sorted(started) == ["backend", "postgres"]
    assert started["postgres"] > started["backend"]
    assert started["backend"] == "2026-12-01T10:00:00.123456789Z"


@pytest.mark.parametrize("action, db_later, due", [
    ("create", False, True),
    ("recreate", False, True),
    ("start", False, True),
    ("wait", False, False),
    ("none", False, False),
    ("none", True, True),
])
def test_a_migration_is_due_only_for_a_new_backend_or_a_newer_database(action, db_later, due):
    started = {"backend": "2026-12-01T10:00:00.000000000Z",
               "postgres": "2026-12-01T10:00:0%d.000000000Z" % (5 if db_later else 0)}
    rows = [{"service": "backend", "action": action, "why": ""}, {"service": "postgres", "action": "none", "why": ""}]
    assert _compose.migration_due(started, rows, "backend", "postgres") is due


def test_a_migration_is_due_for_a_backend_the_plan_does_not_name_and_not_for_a_remote_database():
    assert _compose.migration_due({}, [], "backend", "postgres") is True
    rows = [{"service": "backend", "action": "none", "why": ""}]
    assert _compose.migration_due({"backend": "2026-12-01T10:00:00.000000000Z"}, rows, "backend", "postgres") is False


def test_image_ids_are_read_from_inspect_output_even_when_one_image_is_missing():
    out = '["t/backend:abc","t/backend:current"] sha256:be\n[] sha256:dangling\n'
    assert _compose.parse_image_ids(out) == {"t/backend:abc": "sha256:be", "t/backend:current": "sha256:be"}
    assert _compose.image_inspect_argv(["a"])[-2:] == ["{{json .RepoTags}} {{.Id}}", "a"]
