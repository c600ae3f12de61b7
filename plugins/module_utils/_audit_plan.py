# -*- coding: utf-8 -*-
# Copyright: taylordash-ops developers
# MIT License
"""What audit.yml compares a host with: the plan of one host, derived from the service catalogue, the port
plan, the dev-server apps and the host's placement (docs/audit-design.md, "The plan"). Pure."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.taylordash.ops.plugins.module_utils import _catalogue

# Groups whose services belong in Docker but are also commonly run natively on a host (a distribution's
# PostgreSQL or Mosquitto); the app's services are the dev servers' business.
_NATIVE_GROUPS = ("data", "monitoring", "proxy")


def process_names(service):
    """The process names that betray a service running natively: its name without separators, matched as a
    prefix of a process name without separators (victoriametrics: victoria-metrics-prod)."""
    return [re.sub(r"[-_.]", "", str(service).lower())]


def _plan_entry(value):
    address = str(value.get("address") or "") if isinstance(value, dict) else ""
    return {"port": _catalogue._port_number(value), "address": address}


def audit_plan(services, port_plan, dev_apps, project, old_projects, published=None):
    """The plan of a host: project and old_projects, port_plan {name: {port, address, public}}, dev_apps
    {app: {port}}, docker_services {service: {ports, data, processes}} and published (the ports this host
    publishes on its own address for callers on other hosts: name, port, address)."""
    public = set(name for name, spec in _catalogue.endpoint_ports(services).items() if spec.get("public"))
    plan = {}
    for name, value in (port_plan or {}).items():
        entry = _plan_entry(value)
        if entry["port"]:
            plan[name] = dict(entry, public=name in public)
    docker = {}
    for name, entry in services.items():
        if entry.get("group") not in _NATIVE_GROUPS:
            continue
        ports = set()
        for spec in (entry.get("ports") or {}).values():
            ports.update(_catalogue._port_number(spec.get(key)) for key in ("container", "port"))
        docker[name] = {"ports": sorted(p for p in ports if p), "data": entry.get("group") == "data",
                        "processes": process_names(name)}
    return {
        "project": str(project),
        "old_projects": [str(p) for p in old_projects or [] if p],
        "port_plan": plan,
        "dev_apps": dict((app, {"port": plan[app]["port"]}) for app in sorted(dev_apps or {}) if app in plan),
        "docker_services": docker,
        "published": [{"name": str(p.get("name", "")), "port": int(p["port"]), "address": str(p.get("address") or "")}
                      for p in published or [] if _catalogue._port_number(p.get("port"))],
    }
