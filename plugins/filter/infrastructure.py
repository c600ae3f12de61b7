# -*- coding: utf-8 -*-
# Copyright: taylordash-ops developers
# MIT License
"""Filters of the infrastructure role.

ansible-core 2.19 renders a template made of several statements as a string,
so the role's derived settings (merged services, published ports, .env secret
specs, config fingerprints, unhealthy services) are computed here, in plain
Python that the unit tests exercise, instead of in multi-statement Jinja.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import json

from ansible.errors import AnsibleFilterError

from ansible_collections.taylordash.ops.plugins.module_utils import _catalogue

def infrastructure_services(catalogue, names, image_refs, enabled):
    """The core services this role's Compose template knows (names), from the service catalogue:
    {enabled, image, healthcheck, memory, cpus, pids} each, the image being the catalogue's
    taylordash_images entry for the chosen source and healthcheck the Compose `test` list."""
    merged = {}
    for name in names:
        entry = catalogue.get(name) or {}
        key = entry.get("image", name)
        if key not in image_refs:
            raise AnsibleFilterError("taylordash_services.%s.image: %r is not an entry of taylordash_images" % (name, key))
        merged[name] = dict({"enabled": name in enabled, "image": image_refs[key],
                             "healthcheck": _catalogue.healthcheck_test(entry)}, **(entry.get("limits") or {}))
    return merged


def _plan_entry(raw):
    if isinstance(raw, dict):
        entry = {"address": "0.0.0.0", "protocol": "tcp"}
        entry.update(raw)
        return entry
    return {"port": raw, "address": "0.0.0.0", "protocol": "tcp"}


def published_ports(port_map, plan, enabled, mode, extra):
    """The plan entries a deploy publishes: public ones always, internal ones in development or when listed."""
    out = {}
    for name, spec in port_map.items():
        if spec["service"] not in enabled or name not in plan:
            continue
        if not (spec["public"] or mode == "development" or name in extra):
            continue
        entry = _plan_entry(plan[name])
        try:
            entry["port"] = int(entry["port"])
        except (KeyError, TypeError, ValueError):
            raise AnsibleFilterError("taylordash_port_plan.%s: port must be an integer, got %r" % (name, plan[name]))
        entry.update({"service": spec["service"], "target": spec["target"], "public": bool(spec["public"])})
        out[name] = entry
    return out


def hosts_with_env(hosts, hostvars, deploy_dir):
    """The hosts whose read of the deploy directory (render.yml's path_state, `_infrastructure_disk`) found its
    .env: they already hold secrets. deploy_dir: taylordash_deploy_dir where a host's variables do not set it
    (hostvars hold no role defaults)."""
    found = []
    for host in hosts:
        variables = hostvars[host]
        paths = (variables.get("_infrastructure_disk") or {}).get("paths") or {}
        if "%s/.env" % (variables.get("taylordash_deploy_dir") or deploy_dir).rstrip("/") in paths:
            found.append(host)
    return found


def env_secret_specs(names, user_secrets, length):
    """The env_file module's `secrets`: every known secret plus the user's, user values winning."""
    specs = {}
    for name in list(names) + [n for n in (user_secrets or {}) if n not in names]:
        value = (user_secrets or {}).get(name)
        specs[name] = {"value": value if value else None, "length": int(length)}
    return specs


def config_fingerprints(configs, contents, extra=None):
    """sha256 per service over the rendered contents of the files it reads (plus extra strings per service)."""
    if len(configs) != len(contents):
        raise AnsibleFilterError("config_fingerprints: %d configs but %d contents" % (len(configs), len(contents)))
    parts = {}
    for config, content in zip(configs, contents):
        parts.setdefault(config["service"], []).append(content)
    for service, value in (extra or {}).items():
        parts.setdefault(service, []).append(value or "")
    return dict((service, hashlib.sha256("\n--\n".join(items).encode("utf-8")).hexdigest())
                for service, items in parts.items())


def compose_unhealthy(ps_lines):
    """Services of `docker compose ps --all --format json` (one object per line) that are not running healthy."""
    failing = []
    for line in ps_lines:
        line = line.strip()
        if not line.startswith("{"):
            continue
        item = json.loads(line)
        health = item.get("Health") or ""
        if item.get("State") != "running" or health not in ("", "healthy"):
            if item.get("Service") not in failing:
                failing.append(item.get("Service"))
    return failing


def config_file_specs(configs, rendered, config_dir, owner_uids, checks=None):
    """The files of the config_files module for the configuration: `configs` (the role's list of src,
    dest, owner, check), `rendered` (each src rendered, same order), `checks` (check name -> command with
    %s; a config whose check is absent is written unchecked). A file with an owner in `owner_uids` belongs
    to that uid and gid with mode 0600 (it holds credentials); the others have mode 0644, owner left alone."""
    if len(configs) != len(rendered):
        raise AnsibleFilterError("config_file_specs: %d files but %d rendered" % (len(configs), len(rendered)))
    files = []
    for config, text in zip(configs, rendered):
        uid = owner_uids.get(config.get("owner") or "")
        item = {"path": "%s/%s" % (str(config_dir).rstrip("/"), config["dest"]), "content": str(text),
                "mode": "0600" if uid is not None else "0644"}
        if uid is not None:
            item.update(owner=str(uid), group=str(uid))
        if (checks or {}).get(config.get("check")):
            item["validate"] = checks[config["check"]]
        files.append(item)
    return files


class FilterModule(object):
    def filters(self):
        return {
            "infrastructure_services": infrastructure_services,
            "published_ports": published_ports,
            "env_secret_specs": env_secret_specs, "hosts_with_env": hosts_with_env,
            "config_fingerprints": config_fingerprints,
            "compose_unhealthy": compose_unhealthy,
            "config_file_specs": config_file_specs,
        }
