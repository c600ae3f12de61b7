# -*- coding: utf-8 -*-
# Copyright: taylordash-ops developers
# MIT License

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
name: run_id
short_description: An id of the current ansible-playbook run, the same for every host and play
version_added: 0.1.0
description:
  - Returns one string that is identical for every host, task and play of one ansible-playbook run and differs
    between two runs, even two running at the same time on the same controller. M(taylordash.ops.deploy_lock)
    uses it to tell its own lock from another run's.
  - Lookups run in the worker processes ansible-playbook forks for each task and host, so a value made up in
    the lookup (a random uuid, its own pid) would differ between tasks. Instead the lookup finds the
    ansible-playbook main process - the topmost ancestor of the current process whose command line is the
    same as its own, since a fork keeps its parent's - and returns
    C(<controller host name>:<boot id, 8 hex digits>:<pid>:<start time in clock ticks>), read from C(/proc).
  - Takes no terms.
author: taylordash-ops developers
notes:
  - Needs C(/proc) on the controller (Linux). Elsewhere, or to choose the id yourself, set the environment variable
    E(TAYLORDASH_RUN_ID) to a value unique to the run; it wins over the computed id when set and non-empty. Do not
    export one fixed value in a shell that starts several runs, or they take each other's lock as their own.
"""

EXAMPLES = r"""
- name: Show the run id
  ansible.builtin.debug:
    msg: "{{ lookup('taylordash.ops.run_id') }}"
"""

RETURN = r"""
_raw:
  description: One element, the run id.
  type: list
  elements: str
  sample: ["ops-laptop:1a2b3c4d:41234:987654"]
"""

from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase
from ansible_collections.taylordash.ops.plugins.module_utils._run_id import RunIdError, run_id


class LookupModule(LookupBase):

    def run(self, terms, variables=None, **kwargs):
        if terms:
            raise AnsibleLookupError("taylordash.ops.run_id takes no terms, got %r" % (terms,))
        try:
            return [run_id()]
        except RunIdError as exc:
            raise AnsibleLookupError("taylordash.ops.run_id: %s" % exc)
