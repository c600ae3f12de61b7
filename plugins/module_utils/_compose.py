# -*- coding: utf-8 -*-
# Copyright: taylordash-ops developers
# MIT License
"""The plan of a Compose project: which services `docker compose up` would create, recreate, start or wait
for, and why, from what Compose itself compares (each service's configuration hash and the ID of its image)
and the state of the containers. Pure: the compose_plan module reads the engine and hands the answers in."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import re

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


def parse_config(config_json):
    """From `docker compose config --format json`: ({service: image reference}, {service: [network name]}).
    A service's networks are the engine's names (the project's `networks` entries' `name`); a service with a
    `network_mode` has none of its own, one without `networks` is on the project's default network."""
    config = json.loads(config_json)
    services = config.get("services") or {}
    names = dict((key, (spec or {}).get("name") or key) for key, spec in (config.get("networks") or {}).items())
    images, networks = {}, {}
    for name, spec in services.items():
        images[name] = spec.get("image") or ""
        if spec.get("network_mode"):
            networks[name] = []
        else:
            networks[name] = sorted(names.get(key, key) for key in (spec.get("networks") or {"default": None}))
    return images, networks


def repo_tags_name(ref):
    """An image reference as the engine lists it in RepoTags: docker.io/ and docker.io/library/ dropped."""
    return re.sub(r"^docker\.io/(library/)?", "", str(ref))


def engine_name(ref):
    """repo_tags_name, with :latest added when there is no tag."""
    ref = repo_tags_name(ref)
    if "@" not in ref and ":" not in ref.rsplit("/", 1)[-1]:
        ref += ":latest"
    return ref


IMAGE_INSPECT_FORMAT = "{{json .RepoTags}} {{.Id}}"


def image_inspect_argv(refs):
    """The `docker image inspect` call whose output parse_image_ids reads."""
    return ["docker", "image", "inspect", "--format", IMAGE_INSPECT_FORMAT] + list(refs)


def parse_image_ids(out):
    """{repo tag: image ID} from image_inspect_argv's output (a missing image makes inspect exit 1, but the
    others are still printed, one "[tags] id" line each)."""
    ids = {}
    for line in out.splitlines():
        tags, _sep, image_id = line.rpartition(" ")
        for tag in json.loads(tags or "[]") or []:
            ids[tag] = image_id
    return ids


def service_plan(hashes, images, image_ids, containers, networks=None):
    """One row per service and per orphan container, in service order: {service, action, why}.

    hashes: {service: config hash}; images: {service: reference}; image_ids: {reference as the engine
    lists it (engine_name): ID} of the images the engine has; containers: `docker inspect` objects of the
    project's containers; networks: {service: [network name]} it should be attached to. Actions: V(create)
    (no container), V(recreate) (another configuration or image, or a network detached), V(start) (not
    running), V(wait) (running, its healthcheck not passed), V(remove) (an orphan: no longer a service),
    V(none)."""
    networks = networks or {}
    by_service = {}
    for container in containers:
        labels = (container.get("Config") or {}).get("Labels") or {}
        if labels.get(ONEOFF) == "True":
            continue
        by_service.setdefault(labels.get(SERVICE, ""), []).append(container)
    rows = []
    for service in sorted(hashes):
        found = by_service.get(service, [])
        image_id = image_ids.get(engine_name(images.get(service, "")), "")
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
            attached = ((container.get("NetworkSettings") or {}).get("Networks") or {})
            detached = [name for name in networks.get(service, []) if name not in attached]
            if detached and state.get("Status") == "running":
                row = {"service": service, "action": "recreate", "why": "not on network %s" % ", ".join(detached)}
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


def _instant(stamp):
    """A UTC RFC 3339 time as the engine writes it (Go trims the fraction's trailing zeros), made
    comparable as a string: the fraction padded to nanoseconds."""
    match = re.match(r"^([0-9T:-]+)(?:\.([0-9]+))?Z$", stamp or "")
    if not match:
        return stamp or ""
    return "%s.%sZ" % (match.group(1), (match.group(2) or "").ljust(9, "0"))


def started(containers):
    """{service: when its container last started (State.StartedAt)} of the project's service containers;
    the earliest when a service has several, none for one-off containers."""
    out = {}
    for container in containers:
        labels = (container.get("Config") or {}).get("Labels") or {}
        when = _instant((container.get("State") or {}).get("StartedAt"))
        if labels.get(ONEOFF) == "True" or not labels.get(SERVICE) or not when:
            continue
        service = labels[SERVICE]
        out[service] = min(out.get(service, when), when)
    return out


def migration_due(started_at, rows, service, database):
    """Whether the database migration must run before `up`: the service (the backend) will be created,
    recreated or started by this `up`, or the database (when it runs on this host) started after it (a
    new or restored database under a running backend). A no-op plan migrates nothing."""
    actions = dict((row["service"], row["action"]) for row in rows)
    if actions.get(service, "create") in ("create", "recreate", "start"):
        return True
    return bool(database in started_at and service in started_at and started_at[database] > started_at[service])


def changes(rows):
    """The rows of a plan that are not V(none)."""
    return [row for row in rows if row["action"] != "none"]
