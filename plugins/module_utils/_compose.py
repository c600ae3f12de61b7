# -*- coding: utf-8 -*-
# Copyright: taylordash-ops developers
# MIT License
"""The plan of a Compose project: which services `docker compose up` would create, recreate, start or wait
for, and why, from what Compose itself compares (each service's configuration hash and the ID of its image)
and the state of the containers. Pure: the compose_plan module reads the engine and hands the answers in."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

PROJECT = "com.docker.compose.project"
SERVICE = "com.docker.compose.service"
CONFIG_HASH = "com.docker.compose.config-hash"
ONEOFF = "com.docker.compose.oneoff"


def parse_hashes(lines):
    """{service: hash} from `docker compose config --hash '*'` (one "service hash" per line)."""
    hashes = {}
    for line in lines:
        parts = line.split()
        if len(parts) == 2:
            hashes[parts[0]] = parts[1]
    return hashes


def parse_images(config_json):
    """{service: image reference} from `docker compose config --format json`."""
    services = json.loads(config_json).get("services") or {}
    return dict((name, spec.get("image") or "") for name, spec in services.items())


def service_plan(hashes, images, image_ids, containers):
    """One row per service and per orphan container, in service order: {service, action, why}.

    hashes: {service: config hash}; images: {service: reference}; image_ids: {reference: ID} of the images
    the engine has; containers: `docker inspect` objects of the project's containers. Actions: V(create) (no
    container), V(recreate) (another configuration or image), V(start) (not running), V(wait) (running, its
    healthcheck not passed), V(remove) (an orphan: no longer a service), V(none)."""
    by_service = {}
    for container in containers:
        labels = (container.get("Config") or {}).get("Labels") or {}
        if labels.get(ONEOFF) == "True":
            continue
        by_service.setdefault(labels.get(SERVICE, ""), []).append(container)
    rows = []
    for service in sorted(hashes):
        found = by_service.get(service, [])
        image_id = image_ids.get(images.get(service, ""), "")
        if not found:
            rows.append({"service": service, "action": "create", "why": "no container"})
            continue
        row = {"service": service, "action": "none", "why": "as wanted"}
        for container in found:
            labels = container["Config"].get("Labels") or {}
            state = container.get("State") or {}
            health = (state.get("Health") or {}).get("Status", "")
            if labels.get(CONFIG_HASH) != hashes[service]:
                row = {"service": service, "action": "recreate", "why": "configuration changed"}
                break
            if not image_id:
                row = {"service": service, "action": "recreate", "why": "image %s is missing" % images.get(service)}
                break
            if container.get("Image") != image_id:
                row = {"service": service, "action": "recreate", "why": "image %s was rebuilt" % images.get(service)}
                break
            if state.get("Status") != "running":
                row = {"service": service, "action": "start", "why": "container %s" % state.get("Status", "?")}
            elif health not in ("", "healthy") and row["action"] == "none":
                row = {"service": service, "action": "wait", "why": "health %s" % health}
        rows.append(row)
    for service in sorted(by_service):
        if service not in hashes:
            rows.append({"service": service, "action": "remove", "why": "orphan: no longer a service"})
    return rows


def changes(rows):
    """The rows of a plan that are not V(none)."""
    return [row for row in rows if row["action"] != "none"]
