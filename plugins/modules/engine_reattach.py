#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: taylordash-ops developers
# MIT License

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: engine_reattach
short_description: Reattach the containers a live restore kept running to the restarted engine
version_added: 0.3.0
description:
  - With C(live-restore), containers keep running while dockerd restarts. Two things do not survive it.
  - A container that bind-mounts the engine's socket (a socket proxy, an agent) still holds the old socket,
    which the new dockerd replaced; every call through it fails until the container restarts. This module
    restarts each running container that bind-mounts O(socket) and started before the socket was created.
  - Before Docker 23, the restored containers' health checks stop (moby/moby#41871), and their status stays
    whatever it was, so a failing service would keep reading healthy. This module pauses and unpauses each
    other such container with a health check that has not run since, which starts its checks again without
    touching its processes.
  - The socket's modification time (when it was created) and the running dockerd's start tell what a restart
    left behind, whoever restarted the engine (this role, an upgrade of the engine's package, an operator); on
    an engine whose containers all started after it, the module does nothing. A container unpaused since the
    engine started is left alone (its first check comes one interval later).
author: taylordash-ops developers
options:
  socket:
    description: The engine's API socket, as containers bind-mount it (its resolved path counts too).
    type: path
    default: /var/run/docker.sock
  pidfile:
    description:
      - The running dockerd's pidfile; its process's start is when the engine restarted (under systemd the
        socket belongs to C(docker.socket) and outlives dockerd). Without it, the socket's age stands in.
    type: path
    default: /var/run/docker.pid
attributes:
  check_mode:
    support: full
    details: Reads the containers and returns the same plan; changes nothing.
  diff_mode:
    support: none
  idempotent:
    support: full
    details: A restarted container started after the socket; a resumed one was unpaused since the engine started.
"""

EXAMPLES = r"""
- name: Reattach the containers a live restore kept running to the engine
  taylordash.ops.engine_reattach:
"""

RETURN = r"""
containers:
  description: What was done (in check mode, what would be), by container name.
  returned: always
  type: list
  elements: dict
  sample: [{name: taylordash-socket-proxy-1, action: restart, why: "bind-mounts the engine's socket ..."}]
server_version:
  description: The engine's version.
  returned: always
  type: str
"""


from ansible.module_utils.basic import AnsibleModule

from ansible_collections.taylordash.ops.plugins.module_utils import _engine_api


def docker(module, *args):
    rc, out, err = module.run_command(["docker"] + list(args))
    if rc != 0:
        module.fail_json(msg="docker %s failed: %s" % (" ".join(args[:2]), (err or out).strip()))
    return out


def main():
    module = AnsibleModule(argument_spec={"socket": {"type": "path", "default": "/var/run/docker.sock"},
                                          "pidfile": {"type": "path", "default": "/var/run/docker.pid"}},
                           supports_check_mode=True)
    socket_path = module.params["socket"]
    version = docker(module, "version", "--format", "{{.Server.Version}}").strip()
    try:
        actions = _engine_api.reattach_observed(socket_path, module.params["pidfile"], version)
    except (_engine_api.EngineApiError, OSError, ValueError) as exc:
        module.fail_json(msg="Reading the engine's running containers failed: %s" % exc)
    if not module.check_mode:
        for item in actions:
            steps = [["restart"]] if item["action"] == "restart" else [["pause"], ["unpause"]]
            for step in steps:
                docker(module, *(step + [item["name"]]))
    module.exit_json(changed=bool(actions), containers=actions, server_version=version)


if __name__ == "__main__":
    main()
