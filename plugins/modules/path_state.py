#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: taylordash-ops developers
# MIT License

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: path_state
short_description: Kind, mode, owner and content digest of many paths in one call
version_added: 0.2.0
description:
  - Reads every path of O(paths) with C(lstat) (links are not followed) and returns its kind, mode, owner and,
    for a regular file, the sha1 of its content; absent paths are left out.
  - One call where a C(stat) loop costs one module run per path. Pair it with the C(taylordash.ops.disk_drift)
    filter to write only what differs.
author: taylordash-ops developers
options:
  paths:
    description: The paths to read.
    type: list
    elements: path
    required: true
  checksum:
    description: Compute the sha1 of regular files.
    type: bool
    default: true
  read:
    description:
      - Regular files whose text to return as well (V(text)), for the controller to parse (a certificate, a pidfile).
        Files over 1 MiB are not read. A path listed here is read even when O(paths) does not name it.
    type: list
    elements: path
    default: []
  refuse:
    description:
      - Paths that must not exist, each with the message to fail with when it does (a marker left by an
        unfinished operation, for example). Checked after the paths are read; the failure returns RV(paths) too.
    type: dict
    default: {}
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  idempotent:
    support: full
    details: Always C(changed=false).
"""

EXAMPLES = r"""
- name: Read the configuration files
  taylordash.ops.path_state:
    paths: [/opt/taylordash/config, /opt/taylordash/config/prometheus/prometheus.yml]
  register: disk
"""

RETURN = r"""
paths:
  description: By path, V(kind) (V(d), V(f), V(l) a link, V(s) a socket or V(other)), V(mode), V(uid), V(gid), V(mtime) and V(sha1) (files), and V(text) for the files of O(read).
  returned: always
  type: dict
  sample: {/opt/taylordash/config: {kind: d, mode: "0755", uid: 0, gid: 0}}
"""

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.taylordash.ops.plugins.module_utils._path_state import path_state


def main():
    module = AnsibleModule(
        argument_spec=dict(paths=dict(type="list", elements="path", required=True),
                           checksum=dict(type="bool", default=True),
                           read=dict(type="list", elements="path", default=[]),
                           refuse=dict(type="dict", default={})),
        supports_check_mode=True,
    )
    found = path_state(module.params["paths"], module.params["checksum"], module.params["read"])
    present = [path for path in module.params["refuse"] if os.path.lexists(path)]
    if present:
        module.fail_json(msg=" ".join(str(module.params["refuse"][path]) for path in present), paths=found,
                         refused=present)
    module.exit_json(changed=False, paths=found)


if __name__ == "__main__":
    main()
