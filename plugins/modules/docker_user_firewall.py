#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: taylordash-ops developers
# MIT License

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: docker_user_firewall
short_description: Admit only given sources to ports published by Docker, through the DOCKER-USER chain
version_added: 0.1.0
description:
  - Docker's published ports bypass the host's INPUT rules - their packets are DNATed and forwarded. Docker
    documents the C(DOCKER-USER) chain of the filter table, jumped to from C(FORWARD) before Docker's own
    rules, as the place for user rules. This module keeps a chain of its own (O(chain)) with the rules of
    O(rules), and exactly one jump to it as the first rule of C(DOCKER-USER).
  - Because C(DOCKER-USER) sees the packets after Docker's DNAT, the rules match the connection's original
    destination with the conntrack match - C(--ctorigdstport) (the published host port), optionally
    C(--ctorigdst) (the host address it is published on) - and only connections whose destination was
    translated (C(--ctstate DNAT)), so a container's own outgoing connections to the same port elsewhere are
    never matched.
  - "Our chain holds, in order: C(-m conntrack --ctstate RELATED,ESTABLISHED -j RETURN) (the packets of
    admitted connections, replies included, pass); per rule a C(-s <source> ... -j RETURN) per allowed source
    and a final C(... -j DROP) for that port; last C(-j RETURN), so every other packet goes on to Docker's
    rules. Each port rule carries the rule's name as an iptables comment."
  - The current state is read with C(iptables -t filter -S) and compared rule by rule with the wanted one in
    the form iptables prints (sources as networks, C(10.0.0.1/32)). A difference is applied in one atomic
    C(iptables-restore --noflush) commit that flushes and refills our chain only and fixes the jump, so no
    packet ever sees a half-written chain. The table is read again afterwards; the task fails if it does not
    show the rules as planned.
  - With O(state=present) the task fails when C(DOCKER-USER) does not exist (the Docker engine creates it when
    it starts, unless its iptables integration is disabled). With O(state=absent) every rule of the filter
    table jumping to our chain is deleted, then the chain itself.
author: taylordash-ops developers
options:
  rules:
    description:
      - The ports to guard, each admitting only its O(rules[].allow) sources. Two rules may not match the same
        port and protocol on overlapping addresses (equal, or either without O(rules[].address)).
      - Ignored with O(state=absent).
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description:
          - Name of the rule, for example V(postgres); the comment of its iptables rules. Unique; 1-64 letters,
            digits, C(_) or C(-) (characters iptables prints without quotes).
        type: str
        required: true
      port:
        description: The published host port (the left side of C(ports:) in compose, not the container's port).
        type: int
        required: true
      protocol:
        description: Protocol of the published port.
        type: str
        choices: [tcp, udp]
        default: tcp
      address:
        description:
          - The IPv4 host address the port is published on. Omitted, empty or V(0.0.0.0) match the port on
            every address.
        type: str
      allow:
        description:
          - Source IPv4 addresses or CIDRs admitted to the port, for example the app and monitoring hosts.
            An address means its C(/32); host bits of a CIDR are dropped as iptables does.
          - An empty list closes the port to every forwarded connection.
        type: list
        elements: str
        required: true
  chain:
    description:
      - Our own chain in the filter table. It is flushed and refilled whenever its rules differ, so it must
        not be shared with other rules. 1-28 letters, digits, C(_) or C(-); built-in and Docker chains are
        refused.
    type: str
    default: TAYLORDASH
  state:
    description:
      - V(present) - our chain holds exactly the rules of O(rules) and C(DOCKER-USER) jumps to it first.
      - V(absent) - the jumps to our chain and the chain itself are removed.
    type: str
    choices: [present, absent]
    default: present
  guard_state:
    description:
      - A file for the firewall guard of the C(infrastructure) role (C(plugins/module_utils/_firewall_guard.py)),
        which puts the rules back between runs. It is written (JSON - chain, hook, rules, interval; its directory
        created 0700) before the rules are applied, so a running guard never restores the rules being replaced;
        with O(state=absent) it is removed. Omitted, no file is written.
    type: path
  guard_interval:
    description: Seconds between the guard's checks, written to O(guard_state); the guard follows it without a restart.
    type: float
    default: 2
  iptables:
    description:
      - The iptables command, a name looked up on the PATH or a path, for example
        V(/usr/sbin/iptables-legacy) when Docker uses the legacy backend. C(<iptables>-restore) next to it
        applies the changes.
    type: str
    default: iptables
notes:
  - IPv4 only; with IPv6 enabled in Docker, C(ip6tables) has its own C(DOCKER-USER) chain this module does not
    manage.
  - Rules do not survive a reboot or a restart of the firewall service by themselves; run the task after the
    Docker engine starts (for example in every deploy). Docker keeps C(DOCKER-USER) and the jumps in it when
    it restarts.
  - Connections from the Docker host itself to a published port do not pass through C(FORWARD) and are not
    filtered.
requirements:
  - iptables and iptables-restore (nft or legacy backend, the one Docker uses)
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details: Before and after - our chain (C(iptables -S) lines) followed by the rules of C(DOCKER-USER).
  idempotent:
    support: full
"""

EXAMPLES = r"""
- name: Admit only the app and monitoring hosts to the data services
  taylordash.ops.docker_user_firewall:
    rules:
      - name: postgres
        port: 5432
        address: 10.0.0.10
        allow: [10.0.0.21, 10.0.0.22, 10.0.0.30]
      - name: mosquitto
        port: 1883
        address: 10.0.0.10
        allow: [10.0.0.21, 10.0.0.22]
      - name: victoriametrics
        port: 8428
        address: 10.0.0.10
        allow: [10.0.0.30/32]

- name: Remove the rules and the chain again
  taylordash.ops.docker_user_firewall:
    state: absent

- name: With Docker on the legacy iptables backend
  taylordash.ops.docker_user_firewall:
    iptables: /usr/sbin/iptables-legacy
    rules:
      - {name: postgres, port: 5432, allow: [10.0.0.21]}
"""

RETURN = r"""
chain:
  description: The O(chain) option, as given.
  returned: always
  type: str
  sample: TAYLORDASH
rules:
  description:
    - The rule lines of our chain now in effect, as C(iptables -S) prints them; in check mode the lines the
      chain would hold. Empty with O(state=absent).
  returned: always
  type: list
  elements: str
  sample:
    - -A TAYLORDASH -m conntrack --ctstate RELATED,ESTABLISHED -j RETURN
    - -A TAYLORDASH -s 10.0.0.21/32 -p tcp -m conntrack --ctstate DNAT --ctorigdst 10.0.0.10 --ctorigdstport 5432
      -m comment --comment postgres -j RETURN
    - -A TAYLORDASH -p tcp -m conntrack --ctstate DNAT --ctorigdst 10.0.0.10 --ctorigdstport 5432
      -m comment --comment postgres -j DROP
    - -A TAYLORDASH -j RETURN
"""

import json
import os

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.taylordash.ops.plugins.module_utils._private_file import read_bytes, write_private
from ansible_collections.taylordash.ops.plugins.module_utils._docker_user_firewall import (
    DEFAULT_CHAIN,
    FirewallError,
    parse_table,
    plan,
    same,
    view,
)


def commands(module, iptables):
    """Absolute paths of iptables and its iptables-restore (``<iptables>-restore`` in the same directory)."""
    if os.sep in iptables:
        binary = iptables
        if not os.access(binary, os.X_OK):
            module.fail_json(msg="iptables: %s is not an executable file" % iptables)
    else:
        binary = module.get_bin_path(iptables, required=True, opt_dirs=["/usr/sbin", "/sbin"])
    restore = binary + "-restore"
    if not os.access(restore, os.X_OK):
        module.fail_json(msg="iptables: %s has no %s next to it" % (binary, os.path.basename(restore)))
    return binary, restore


def read_table(module, binary):
    rc, out, err = module.run_command([binary, "-w", "-t", "filter", "-S"])
    if rc != 0:
        module.fail_json(msg="%s -t filter -S failed (rc=%d): %s" % (binary, rc, (err or out).strip()))
    try:
        return parse_table(out)
    except FirewallError as exc:
        module.fail_json(msg=str(exc))


def guard_state(module, path, content):
    """Write (content) or remove (None) the guard's state file; whether it changed. Nothing in check mode."""
    try:
        current = read_bytes(path)
    except OSError as exc:
        module.fail_json(msg="guard_state: cannot read %s: %s" % (path, exc))
    if current == (None if content is None else content.encode("utf-8")):
        return False
    if module.check_mode:
        return True
    try:
        if content is None:
            os.unlink(path)
            return True
        os.makedirs(os.path.dirname(path) or ".", mode=0o700, exist_ok=True)
        file_args = module.load_file_common_arguments(dict(path=path, mode="0644"))
        write_private(module, path, content, file_args)
        module.set_fs_attributes_if_different(file_args, True)
    except Exception as exc:  # noqa: BLE001 - OSError, or atomic_move's plain Exception
        module.fail_json(msg="guard_state: cannot write %s: %s" % (path, exc))
    return True


def main():
    module = AnsibleModule(
        argument_spec=dict(
            rules=dict(type="list", elements="dict", default=[], options=dict(
                name=dict(type="str", required=True),
                port=dict(type="int", required=True),
                protocol=dict(type="str", choices=["tcp", "udp"], default="tcp"),
                address=dict(type="str"),
                allow=dict(type="list", elements="str", required=True),
            )),
            chain=dict(type="str", default=DEFAULT_CHAIN),
            state=dict(type="str", choices=["present", "absent"], default="present"),
            iptables=dict(type="str", default="iptables"),
            guard_state=dict(type="path"),
            guard_interval=dict(type="float", default=2.0),
        ),
        supports_check_mode=True,
    )
    params = module.params
    chain = params["chain"]
    binary, restore = commands(module, params["iptables"])

    table = read_table(module, binary)
    try:
        wanted = plan(table, chain, params["rules"], params["state"])
    except FirewallError as exc:
        module.fail_json(msg=str(exc), chain=chain, rules=table["rules"].get(chain, []))

    rules = wanted["rules"]
    guarded = False
    if params["guard_state"]:
        if params["guard_interval"] <= 0:
            module.fail_json(msg="guard_interval must be above 0, got %s" % params["guard_interval"])
        content = None if params["state"] == "absent" else json.dumps(
            {"chain": chain, "hook": "DOCKER-USER", "rules": rules, "interval": params["guard_interval"]},
            indent=2, sort_keys=True) + "\n"
        guarded = guard_state(module, params["guard_state"], content)
    if wanted["changed"] and not module.check_mode:
        rc, out, err = module.run_command([restore, "-w", "--noflush"], data=wanted["restore"],
                                          binary_data=True)
        if rc != 0:
            module.fail_json(msg="%s --noflush failed (rc=%d), nothing was changed: %s"
                             % (restore, rc, (err or out).strip()), chain=chain, restore=wanted["restore"])
        now = read_table(module, binary)
        if not same(view(now, chain), view(wanted["expected"], chain)):
            module.fail_json(msg="after iptables-restore, iptables -S shows other rules than planned; the next run "
                                 "would change them again", chain=chain, expected=view(wanted["expected"], chain),
                             found=view(now, chain))
        rules = now["rules"].get(chain, [])

    result = dict(changed=wanted["changed"] or guarded, chain=chain, rules=rules)
    if module._diff:
        result["diff"] = dict(wanted["diff"], before_header="iptables -t filter (%s, DOCKER-USER)" % chain,
                              after_header="iptables -t filter (%s, DOCKER-USER)" % chain)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
