#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: taylordash-ops developers
# MIT License

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: port_plan
short_description: Check a whole port plan before deploying, and that its ports are free on the host
version_added: 0.1.0
description:
  - Precheck of every planned port at once, like the port prechecks of kolla-ansible, reporting every
    problem instead of the first one.
  - Validates O(plan) (the product's C(taylordash_port_plan)) - every port an integer 1-65535, every protocol
    V(tcp) or V(udp), every address an IPv4 or IPv6 literal - and finds services planned on the same protocol
    and port on overlapping addresses.
  - Two addresses overlap when equal, when one is V(0.0.0.0) and the other any IPv4 address, or when one is
    V(::). V(::) overlaps every address, IPv4 ones too, because Linux dual-stacks by default
    (C(net.ipv6.bindv6only=0)) and whether a socket set C(IPV6_V6ONLY) cannot be seen from C(/proc).
    IPv4-mapped addresses such as V(::ffff:127.0.0.1) count as their IPv4 address. V(127.0.0.1) and
    V(127.0.0.2) do not overlap, and V(tcp) and V(udp) on the same port never clash.
  - With O(check_host=true) also lists the listening TCP sockets (C(/proc/net/tcp), C(/proc/net/tcp6)) and the
    bound, unconnected UDP sockets (C(/proc/net/udp), C(/proc/net/udp6)) of the host, finds the processes
    holding them through C(/proc/<pid>/fd), and reports every planned entry whose protocol and port are taken
    on an overlapping address, naming the holder's pid and command line and, for C(docker-proxy), the
    container address it publishes. Ports in O(own_ports) may be taken.
  - Fails listing every plan error and every host conflict, each naming its entry of the plan variable.
  - Reads C(/proc) only; never changes anything. Run it as root to name the holders of every process.
  - Ports Docker publishes without the userland proxy (C(userland-proxy=false)) are forwarded by the kernel
    and hold no socket, so they cannot be seen.
author: taylordash-ops developers
options:
  plan:
    description:
      - Service name to either a port (integer, or a string of digits) or a dict with V(port),
        V(protocol) (V(tcp) or V(udp), default V(tcp)) and V(address) (IPv4 or IPv6 literal,
        default V(0.0.0.0)).
    type: dict
    required: true
  variable_name:
    description: Name of the variable O(plan) comes from, used in every message.
    type: str
    default: taylordash_port_plan
  check_host:
    description: Also check that the planned ports are free on this host.
    type: bool
    default: true
  own_project:
    description:
      - A compose project of our own stack; the host ports its containers publish (read with C(docker ps))
        join O(own_ports).
    type: str
  own_ports:
    description:
      - Ports already held by our own stack, for example published by our compose project's containers.
        A socket on such a port is not a conflict.
    type: list
    elements: int
    default: []
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  idempotent:
    support: full
"""

EXAMPLES = r"""
- name: Check the port plan before deploying
  taylordash.ops.port_plan:
    plan: "{{ taylordash_port_plan }}"
    own_ports: "{{ taylordash_running_ports | default([]) }}"

- name: Check a plan with UDP and loopback-only entries, without looking at the host
  taylordash.ops.port_plan:
    plan:
      backend: 8000
      minio_console: {port: 9001, address: 127.0.0.1}
      mosquitto_ws: {port: 9002}
      syslog: {port: 514, protocol: udp}
      metrics: {port: 9100, address: "::1"}
    variable_name: my_port_plan
    check_host: false
  register: ports

- name: Show the normalized plan
  ansible.builtin.debug:
    var: ports.ports
"""

RETURN = r"""
ports:
  description: The valid entries of O(plan), normalized and sorted by name.
  returned: always
  type: list
  elements: dict
  sample:
    - {name: minio_console, port: 9001, protocol: tcp, address: 0.0.0.0}
    - {name: syslog, port: 514, protocol: udp, address: "::"}
problems:
  description: One message per error in O(plan) (invalid entry, or a clash between two entries).
  returned: always
  type: list
  elements: str
  sample:
    - "taylordash_port_plan.minio_console: port 9001/tcp is also planned for mosquitto_ws"
conflicts:
  description:
    - One dict per planned entry and holder of its port on the host (empty with O(check_host=false)).
    - Keys C(name), C(port), C(protocol), C(address) (the planned entry), C(holder_address) (the address
      the holder is bound on), C(holder_pid) and C(holder_cmdline) (the holder's command line joined with
      spaces; both null when this user cannot see the holder) and C(container) (C(ip) and C(port) of the
      container when the holder is C(docker-proxy), else null).
  returned: always
  type: list
  elements: dict
  sample:
    - name: minio_console
      port: 9001
      protocol: tcp
      address: 0.0.0.0
      holder_address: 0.0.0.0
      holder_pid: 4242
      holder_cmdline: >-
        /usr/bin/docker-proxy -proto tcp -host-ip 0.0.0.0 -host-port 9001 -container-ip 172.18.0.5 -container-port 9001
      container: {ip: 172.18.0.5, port: 9001}
free:
  description:
    - Names of the valid entries whose port is free on the host or in O(own_ports), sorted.
    - Empty with O(check_host=false), as nothing was checked.
  returned: always
  type: list
  elements: str
  sample: [backend, mosquitto_ws]
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.taylordash.ops.plugins.module_utils._port_plan import (
    failure_message,
    host_check,
    published_ports,
    validate_plan,
)


def _project_ports(module):
    """The host ports the containers of O(own_project) publish (none without the option)."""
    if not module.params["own_project"]:
        return []
    docker = module.get_bin_path("docker", required=True)
    rc, out, err = module.run_command([docker, "ps", "--all", "--filter",
                                       "label=com.docker.compose.project=%s" % module.params["own_project"],
                                       "--format", "{{.Ports}}"])
    if rc != 0:
        module.fail_json(msg="docker ps failed: %s" % (err or out).strip()[-500:])
    return published_ports(out.splitlines())


def main():
    module = AnsibleModule(
        argument_spec=dict(
            plan=dict(type="dict", required=True),
            variable_name=dict(type="str", default="taylordash_port_plan"),
            check_host=dict(type="bool", default=True),
            own_ports=dict(type="list", elements="int", default=[]),
            own_project=dict(type="str"),
        ),
        supports_check_mode=True,
    )
    name = module.params["variable_name"]
    entries, problems = validate_plan(module.params["plan"], name)
    conflicts, free = [], []
    if module.params["check_host"]:
        try:
            conflicts, free = host_check(entries, module.params["own_ports"] + _project_ports(module))
        except (OSError, ValueError) as exc:
            module.fail_json(msg="cannot read /proc to check %s: %s" % (name, exc), ports=entries,
                             problems=problems, conflicts=[], free=[])
    result = dict(changed=False, ports=entries, problems=problems, conflicts=conflicts, free=free)
    if problems or conflicts:
        module.fail_json(msg=failure_message(problems, conflicts, name), **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
