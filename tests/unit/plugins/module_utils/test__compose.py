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
    config = json.dumps({"services": {"postgres": {"image": "taylordash/postgres:17"}, "job": {"build": "."}}})
    assert _compose.parse_images(config) == {"postgres": "taylordash/postgres:17", "job": ""}


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
