# -*- coding: utf-8 -*-
# Copyright: taylordash-ops developers
# MIT License

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
name: docker_prune_plan
short_description: What a label-scoped prune would remove, object by object
version_added: 0.1.0
description:
  - C(docker_prune) has no check mode. From the engine's own inventory (results of
    M(community.docker.docker_host_info) filtered by a project label), lists the stopped
    containers, unused networks and dangling images a prune with the same filters removes,
    leaving out images labelled as kept.
positional: _input, all_containers, keep_label
options:
  _input:
    description: docker_host_info results, one per project (each with C(containers), C(networks), C(images)).
    type: list
    elements: dict
    required: true
  all_containers:
    description: Every container on the host (verbose docker_host_info), to tell which networks are in use.
    type: list
    elements: dict
    required: true
  keep_label:
    description: Images whose label of this name is C(true) are kept.
    type: str
    required: true
"""

EXAMPLES = r"""
- name: Compute the prune plan
  ansible.builtin.set_fact:
    plan: "{{ inventory.results | taylordash.ops.docker_prune_plan(all.containers, 'org.taylordash.keep') }}"
"""

RETURN = r"""
_value:
  description: One dictionary per object, with C(type) (container, network, image), C(id) and C(name).
  type: list
  elements: dict
"""

STOPPED_STATES = ("created", "exited", "dead")


def _networks_in_use(all_containers):
    used = set()
    for container in all_containers or []:
        networks = (container.get("NetworkSettings") or {}).get("Networks") or {}
        used.update(networks)
        mode = (container.get("HostConfig") or {}).get("NetworkMode")
        if mode:
            used.add(mode)
    return used


def docker_prune_plan(results, all_containers, keep_label):
    """List the objects a label-scoped container/network/image prune removes."""
    used = _networks_in_use(all_containers)
    plan, seen = [], set()

    def add(kind, ident, name):
        if (kind, ident) not in seen:
            seen.add((kind, ident))
            plan.append({"type": kind, "id": ident, "name": name})

    for result in results or []:
        for container in result.get("containers") or []:
            if str(container.get("State", "")).lower() in STOPPED_STATES:
                names = container.get("Names") or [container.get("Id", "")]
                add("container", container.get("Id"), names[0].lstrip("/"))
        for network in result.get("networks") or []:
            if network.get("Name") not in used and network.get("Id") not in used:
                add("network", network.get("Id"), network.get("Name"))
        for image in result.get("images") or []:
            labels = image.get("Labels") or {}
            if str(labels.get(keep_label, "")).lower() != "true":
                add("image", image.get("Id"), (image.get("RepoDigests") or [image.get("Id")])[0])
    return plan


def compose_projects_left(host_info, names):
    """The names among `names` (compose projects) that still own a container, network or volume in
    `host_info` (a verbose docker_host_info result; its volumes only when it listed them), in their order."""
    owners = set()
    for kind in ("containers", "networks", "volumes"):
        for item in (host_info or {}).get(kind) or []:
            owners.add(str((item.get("Labels") or {}).get("com.docker.compose.project", "")))
    return [name for name in names if name in owners]


def cleanup_summary(variables):
    """One host's line of cleanup.yml's summary, from its variables (hostvars[host])."""
    stop = variables.get("_cleanup_stop")
    if not isinstance(stop, dict) or "kept" not in stop and "stopped" not in stop and not stop.get("skipped"):
        return "no result (failed or unreachable)"
    down = [r for r in (variables.get("_cleanup_down") or {}).get("results", []) if r.get("changed")]
    removed = variables.get("_cleanup_docker_objects") or []
    return "stopped %d dev server(s), kept %d, freed ports %s, %d compose project(s) down, %d Docker object(s) removed" % (
        len(stop.get("stopped") or []), len(stop.get("kept") or []),
        ", ".join(str(p) for p in stop.get("ports_freed") or []) or "none", len(down), len(removed))


class FilterModule(object):
    def filters(self):
        return {"docker_prune_plan": docker_prune_plan, "cleanup_summary": cleanup_summary,
                "compose_projects_left": compose_projects_left}
