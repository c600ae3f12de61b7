#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: taylordash-ops developers
# MIT License

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: dev_server_facts
short_description: Find the hand-started dev servers of a project and their duplicates
version_added: 0.1.0
description:
  - Lists every listening TCP socket (IPv4 and IPv6) from C(/proc/net/tcp) and C(/proc/net/tcp6),
    finds the processes holding it through C(/proc/<pid>/fd) and groups them into instances.
    An instance is the topmost process of a tree of processes holding the same sockets, so
    C(uvicorn --reload) (reloader and worker) is one instance, rooted at the reloader.
  - Classifies each instance (uvicorn, gunicorn, hypercorn, vite, http.server, node or other)
    from its executable and command line and attributes it to one of O(apps) when its working
    directory (or, for vite, the root it serves) lies in the app's directory under O(project_root)
    and its kind is one the app allows. The longest matching app path wins.
  - Reports the apps running more than once and port conflicts with the planned ports.
  - Reads C(/proc) only; never changes anything. Run it as root to see every process.
author: taylordash-ops developers
options:
  project_root:
    description: Source tree whose dev servers are ours.
    type: path
    required: true
  apps:
    description:
      - App name to a dict with V(path) (directory relative to O(project_root), no V(..)),
        V(port) (planned port, 1-65535) and V(kinds) (list among V(uvicorn), V(gunicorn),
        V(hypercorn), V(vite), V(http.server), V(node)).
    type: dict
    required: true
  include_foreign:
    description: Also return the listening instances that belong to no app in RV(dev_servers.instances).
    type: bool
    default: true
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  idempotent:
    support: full
"""

EXAMPLES = r"""
- name: Find the dev servers of the TaylorDash tree
  taylordash.ops.dev_server_facts:
    project_root: /opt/taylordash/src
    apps:
      backend:
        path: backend
        port: 8000
        kinds: [uvicorn]
      frontend:
        path: frontend
        port: 5173
        kinds: [vite]
      mcp_manager:
        path: examples/mcp-manager
        port: 8010
        kinds: [uvicorn, node]
  register: dev

- name: Show the duplicates
  ansible.builtin.debug:
    var: dev.dev_servers.duplicates
"""

RETURN = r"""
dev_servers:
  description: What listens on this host and which of it is ours.
  returned: always
  type: dict
  contains:
    instances:
      description:
        - Every listening instance, sorted by pid (only ours when O(include_foreign=false)).
        - Keys C(pid) (root of the instance), C(ppid), C(pgid), C(user), C(exe) (null when unreadable),
          C(cmdline) (list), C(cwd), C(start_time) (epoch seconds), C(start_ticks) (clock ticks after
          boot, identifies the process across pid reuse), C(listen) (list of C(address), C(port),
          C(family) V(ipv4)/V(ipv6)), C(ports) (sorted ints), C(descendants) (sorted pids),
          C(kind) and C(app) (null when not ours).
      returned: always
      type: list
      elements: dict
      sample:
        - pid: 4242
          ppid: 1
          pgid: 4242
          user: root
          exe: /usr/bin/python3.11
          cmdline: [/opt/taylordash/src/backend/.venv/bin/python3, -m, uvicorn, app.main:app, --port, "8000"]
          cwd: /opt/taylordash/src/backend
          start_time: 1718000000
          start_ticks: 123456
          listen: [{address: 127.0.0.1, port: 8000, family: ipv4}]
          ports: [8000]
          descendants: [4250]
          kind: uvicorn
          app: backend
    ours:
      description: The instances that belong to an app, same keys as RV(dev_servers.instances).
      returned: always
      type: list
      elements: dict
      sample: []
    duplicates:
      description: App name to the sorted pids of its instances, for apps running more than once.
      returned: always
      type: dict
      sample: {backend: [4242, 5120]}
    conflicts:
      description:
        - V(off-plan) (C(app), C(pid), C(ports), C(planned_port)) for an instance not on its planned port;
          V(port-taken) (C(app), C(port), C(pid), C(cmdline)) when an app's planned port is held by an instance
          of something else; V(shared-port) (C(port), C(apps)) when several apps plan the same port.
      returned: always
      type: list
      elements: dict
      sample:
        - {type: off-plan, app: backend, pid: 5120, ports: [8001], planned_port: 8000}
"""

import os

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.taylordash.ops.plugins.module_utils._devservers import analyse, scan, validate_apps


def main():
    module = AnsibleModule(
        argument_spec=dict(
            project_root=dict(type="path", required=True),
            apps=dict(type="dict", required=True),
            include_foreign=dict(type="bool", default=True),
        ),
        supports_check_mode=True,
    )
    try:
        apps = validate_apps(module.params["apps"])
    except ValueError as exc:
        module.fail_json(msg=str(exc))
    try:
        instances = scan(os.path.realpath(module.params["project_root"]), apps)
    except (OSError, ValueError) as exc:
        module.fail_json(msg="cannot read /proc: %s" % exc)
    ours = [inst for inst in instances if inst["app"] is not None]
    dev_servers = dict(instances=instances if module.params["include_foreign"] else ours, ours=ours)
    dev_servers.update(analyse(instances, apps))
    module.exit_json(changed=False, dev_servers=dev_servers)


if __name__ == "__main__":
    main()
