# -*- coding: utf-8 -*-
# Copyright: taylordash-ops developers
# MIT License
"""disk_drift: which of the paths a role would write differ from what a host has.

A role reads the state of all its paths in one call (module path_state) and runs ansible.builtin.file or template only for the
paths listed here, instead of one module run per path to find nothing to do.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

from ansible.errors import AnsibleFilterError
from ansible_collections.taylordash.ops.plugins.module_utils import _files


def _mode(value):
    try:
        return _files.normal_mode(value)
    except ValueError:
        raise AnsibleFilterError("disk_drift: mode must be an octal string such as '0644', not %r" % (value,))


def disk_drift(wanted, state):
    """`wanted`: a list of {path, kind ('d' or 'f'), mode, and optionally uid, gid, sha1}. `state`: the
    `paths` the path_state module returns (or them as JSON). Returns the paths of `wanted`, in order, that are
    absent, of another kind, or differ in mode, in uid/gid where given, or in content (sha1) where given."""
    if isinstance(state, str):
        try:
            state = json.loads(state or "{}")
        except ValueError:
            raise AnsibleFilterError("disk_drift: the state is not JSON: %r" % (state[:200],))
    if not isinstance(wanted, (list, tuple)) or not isinstance(state, dict):
        raise AnsibleFilterError("disk_drift: wanted must be a list and state a dict")
    drift = []
    for item in wanted:
        path = item.get("path")
        if not path or item.get("kind") not in ("d", "f"):
            raise AnsibleFilterError("disk_drift: each wanted path needs a path and a kind ('d' or 'f'): %r" % (item,))
        _mode(item.get("mode"))
        if _files.change(item, state.get(path)) is not None and path not in drift:
            drift.append(path)
    return drift


class FilterModule(object):
    def filters(self):
        return {"disk_drift": disk_drift}
