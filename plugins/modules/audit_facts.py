#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: taylordash-ops developers
# MIT License

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: audit_facts
short_description: Gather what an infrastructure audit needs from a host, changing nothing
version_added: 0.1.0
description:
  - Layer 1 (gathering) of the C(audit.yml) playbook, see C(docs/audit-design.md). Reads, and only reads,
    four sources and returns them as RV(audit).
  - Processes - every listening instance found in C(/proc) (as M(taylordash.ops.dev_server_facts) finds them,
    foreign ones included), attributed to one of O(apps) when it is ours, its command line redacted (the values
    of credential-like options and C(KEY=value) arguments, and URL passwords, read C(***)), whether its cgroup
    is a container's.
  - Listeners - every listening TCP socket of the host's network namespace with the process holding it, and for
    a C(docker-proxy) the container publishing that port.
  - Docker - the containers (C(docker ps -aq), C(docker inspect)), the engine's logging driver and live-restore
    (C(docker info)), the log options of C(/etc/docker/daemon.json), the dangling images and our stopped
    containers and unused networks. Without a C(docker) CLI or an engine that answers, RV(audit.docker.available)
    is V(false) and the module still succeeds.
  - Files - the candidate configuration files under O(scan_roots) (C(.env), C(.env.*), C(*.env),
    C(docker-compose*.yml), C(compose.yml), C(compose.*.yml), C(*.conf), C(*.ini), C(*.cfg), C(*.toml),
    C(*.properties), C(config.json|yml|yaml), C(settings.*), C(vite.config.*), C(.npmrc), C(.pypirc)) with their
    mode, owner and text. Directories C(node_modules), C(.git), C(.venv), C(venv), C(__pycache__), C(dist),
    C(build), C(site-packages), C(.tox), C(.mypy_cache) and C(.pytest_cache) and symlinked directories are not
    entered.
  - The file texts hold secrets. Run the module through the action plugin of the same name (the default when it
    is called as C(taylordash.ops.audit_facts)), which parses the texts on the controller, keeps only
    fingerprints of the values and drops the texts before anything is shown or registered.
  - What cannot be read (a scan root, a directory, a file, C(/proc)) is listed in RV(audit.scan_errors), never a
    failure. Run it as root to see every process and file.
author: taylordash-ops developers
options:
  project_root:
    description: Source tree whose dev servers are ours. Required when O(apps) is not empty.
    type: path
  apps:
    description:
      - App name to a dict with V(path) (directory relative to O(project_root), no V(..)), V(port) (planned port)
        and V(kinds) (list among V(uvicorn), V(gunicorn), V(hypercorn), V(vite), V(http.server), V(node)), as for
        M(taylordash.ops.dev_server_facts).
    type: dict
    default: {}
  scan_roots:
    description: Absolute directories whose candidate files are read (a missing or unreadable one is a scan error).
    type: list
    elements: path
    default: []
  optional_roots:
    description: Absolute directories read as O(scan_roots) when they exist, left out silently when they do not.
    type: list
    elements: path
    default: []
  project:
    description:
      - The stack's Compose project name. Its containers and networks are ours. Unset, only containers carrying a
        C(taylordash.*) label and the O(old_projects) are.
    type: str
  old_projects:
    description: Earlier Compose project names of the stack (their containers and networks are ours too).
    type: list
    elements: str
    default: []
  max_file_bytes:
    description: Larger files are listed with an error instead of their text.
    type: int
    default: 262144
  max_files:
    description: At most this many candidate files in all; the scan stops with a scan error beyond.
    type: int
    default: 2000
  scan_depth:
    description: How many directory levels below each scan root are read (V(0) reads the root's own files only).
    type: int
    default: 4
attributes:
  check_mode:
    support: full
    details: The module only reads; check mode gathers the same.
  diff_mode:
    support: none
  idempotent:
    support: full
    details: Always C(changed=false).
notes:
  - Needs nothing on the host but Python's standard library (and the C(docker) CLI for the Docker facts).
"""

EXAMPLES = r"""
- name: Gather the audit facts of a host
  taylordash.ops.audit_facts:
    project_root: /opt/taylordash/src
    apps:
      backend:
        path: backend
        port: 8000
        kinds: [uvicorn]
    scan_roots: [/opt/taylordash, /TaylorProjects]
    project: taylordash
    old_projects: [taylordashv1]
  register: gathered

- name: Show the listeners
  ansible.builtin.debug:
    var: gathered.audit.listeners
"""

RETURN = r"""
audit:
  description: The host's audit facts (schema V(taylordash.audit.facts/1); the action plugin adds C(host)).
  returned: always
  type: dict
  contains:
    schema:
      description: The facts' schema.
      returned: always
      type: str
      sample: taylordash.audit.facts/1
    collected_at:
      description: When the facts were gathered (UTC).
      returned: always
      type: str
      sample: "2026-12-02T12:00:00Z"
    scan_errors:
      description:
        - What could not be read, each C(what) (V(scan_root), V(directory), V(file), V(limit) when O(max_files) was
          reached, V(proc)), C(path) and C(error).
      returned: always
      type: list
      elements: dict
      sample: [{what: file, path: /srv/app/.env, error: Permission denied}]
    processes:
      description:
        - Every listening instance, sorted by pid, with C(pid), C(app) (null when not ours), C(kind), C(ours),
          C(listeners) (C(address), C(port), C(family)), C(user), C(cmdline) (redacted), C(cwd), C(started_at)
          (UTC) and C(in_container).
      returned: always
      type: list
      elements: dict
      sample:
        - pid: 4242
          app: backend
          kind: uvicorn
          ours: true
          listeners: [{address: 0.0.0.0, port: 8000, family: ipv4}]
          user: root
          cmdline: [uvicorn, "main:app", --port, "8000", --ssl-keyfile-password, "***"]
          cwd: /opt/taylordash/src/backend
          started_at: "2026-12-02T11:00:00Z"
          in_container: false
    listeners:
      description:
        - Every listening TCP socket, sorted by port, with C(address), C(port), C(family), C(pid), C(process),
          C(user) and C(in_container) of the process holding it (null when none can be read) and C(container)
          (the container publishing the port for a C(docker-proxy), the container of a host-networked process,
          else null).
      returned: always
      type: list
      elements: dict
      sample:
        - {address: 0.0.0.0, port: 5432, family: ipv4, pid: 77, process: docker-proxy, user: root,
           in_container: false, container: taylordashv1-postgres-1}
    containers:
      description:
        - Every container, sorted by name, with C(id) (short), C(name), C(project) and C(service) (Compose labels,
          or empty), C(image), C(state), C(health) (V(none) without a healthcheck), C(restart_count), C(ports)
          (published - C(address), C(port), C(container_port), C(protocol)), C(networks) and C(ours).
      returned: always
      type: list
      elements: dict
      sample:
        - id: 0123456789ab
          name: taylordashv1-postgres-1
          project: taylordashv1
          service: postgres
          image: postgres:15
          state: running
          health: healthy
          restart_count: 0
          ports: [{address: 0.0.0.0, port: 5432, container_port: 5432, protocol: tcp}]
          networks: [taylordashv1_default]
          ours: true
    files:
      description:
        - The candidate files, with C(path), C(kind) (V(env), V(compose), V(config)), C(mode) (octal string),
          C(owner), C(group), C(world_readable), C(size), C(error) (why it was not read, else null) and C(text)
          (its text when read, else null; the action plugin removes it).
      returned: always
      type: list
      elements: dict
      sample:
        - {path: /opt/taylordash/.env, kind: env, mode: "0600", owner: root, group: root, world_readable: false,
           size: 120, error: null, text: "POSTGRES_PASSWORD=..."}
    docker:
      description:
        - The engine - C(available), C(error) (why it is not, else null), C(log_driver), C(log_opts) (of
          daemon.json), C(live_restore), C(stopped_ours) (C(name), C(project)), C(dangling_images) (a count) and
          C(unused_networks_ours). When not available the rest is empty (null, V(0), empty lists).
      returned: always
      type: dict
      sample:
        available: true
        error: null
        log_driver: json-file
        log_opts: {max-size: 10m, max-file: "3"}
        live_restore: false
        stopped_ours: [{name: taylordash-migrate-1, project: taylordash}]
        dangling_images: 3
        unused_networks_ours: [taylordashv1_default]
"""

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.taylordash.ops.plugins.module_utils import _audit_scan, _devservers


def _check(module):
    """Normalised apps; fail_json naming the parameter for anything invalid, before reading anything."""
    params = module.params
    try:
        apps = _devservers.validate_apps(params["apps"])
    except ValueError as exc:
        module.fail_json(msg=str(exc))
    if apps and not params["project_root"]:
        module.fail_json(msg="project_root is required when apps is not empty")
    for name, low in (("max_file_bytes", 1), ("max_files", 1), ("scan_depth", 0)):
        if params[name] < low:
            module.fail_json(msg="%s must be at least %d, got %d" % (name, low, params[name]))
    for name in ("scan_roots", "optional_roots"):
        relative = [path for path in params[name] if not os.path.isabs(path)]
        if relative:
            module.fail_json(msg="%s must be absolute paths, got %s" % (name, ", ".join(relative)))
    return apps


def main():
    module = AnsibleModule(
        argument_spec=dict(
            project_root=dict(type="path"),
            apps=dict(type="dict", default={}),
            scan_roots=dict(type="list", elements="path", default=[]),
            optional_roots=dict(type="list", elements="path", default=[]),
            project=dict(type="str"),
            old_projects=dict(type="list", elements="str", default=[]),
            max_file_bytes=dict(type="int", default=_audit_scan.MAX_FILE_BYTES),
            max_files=dict(type="int", default=_audit_scan.MAX_FILES),
            scan_depth=dict(type="int", default=_audit_scan.SCAN_DEPTH),
        ),
        supports_check_mode=True,
    )
    apps = _check(module)
    params = module.params
    docker = module.get_bin_path("docker")

    def run(argv):  # the CLI found on this host in place of argv[0]; only reads (info, ps, inspect, ls)
        return module.run_command([docker] + list(argv[1:]))

    audit = _audit_scan.gather(
        os.path.realpath(params["project_root"]) if params["project_root"] else "/",
        apps,
        scan_roots=params["scan_roots"] + [path for path in params["optional_roots"]
                                           if os.path.isdir(path) and path not in params["scan_roots"]],
        project=params["project"],
        old_projects=params["old_projects"],
        run=run if docker else None,
        max_file_bytes=params["max_file_bytes"],
        max_files=params["max_files"],
        scan_depth=params["scan_depth"],
    )
    module.exit_json(changed=False, audit=audit)


if __name__ == "__main__":
    main()
