#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: taylordash-ops developers
# MIT License

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: deploy_lock
short_description: A per-host deploy lock, so that two runs against the same host never interleave
version_added: 0.1.0
description:
  - Keeps a lock file on the target that records who holds it - the controller host, the user, the playbook,
    a run id and since when (UTC, ISO 8601) - as JSON, mode C(0600).
  - O(state=held) takes the lock. The file appears atomically with its full content (a private temporary file
    hard-linked to O(path), or C(O_CREAT|O_EXCL) where hard links are not supported), so of two racing runs
    exactly one wins. When the lock is already held by the same run (the same C(run_id) in O(owner)) the task
    is ok - it is re-entrant, so every play of one ansible-playbook run can take it again. When another run
    holds it, the task polls every O(poll) seconds until the lock is gone or O(timeout) seconds have passed,
    then fails naming the holder and how long it has held the lock, and how to break a stale lock. A lock
    file that cannot be read or parsed counts as held by an unknown run.
  - O(state=released) removes the lock only when this run (C(run_id)) holds it. A lock held by another run is
    left in place with a warning; no lock file is fine.
  - O(state=broken) removes whatever lock is there and warns naming its holder, for a run that died without
    releasing it. With O(owner), a lock held by that same run is left in place, so breaking before taking the
    lock is harmless in every play of a run.
  - "B(Never reports a change.) Taking and releasing the lock is bookkeeping around a deploy, not a change to the
    host: the host is left as it was, and a deploy that changes nothing must still report C(changed=0) (the
    idempotence check of every role depends on it). Breaking a lock is reported by a warning instead."
  - In check mode, O(state=held) still waits for another run's lock and fails the same way (a check-mode run
    must not report success while someone deploys) but does not create the lock file; O(state=released) and
    O(state=broken) remove nothing and report what they would do.
author: taylordash-ops developers
options:
  path:
    description:
      - The lock file on the target. Missing parent directories are created with mode C(0700) when the lock is
        taken.
    type: path
    required: true
  state:
    description:
      - V(held) takes the lock (waiting for another run's), V(released) gives this run's lock back, V(broken)
        removes any lock.
    type: str
    choices: [held, released, broken]
    default: held
  owner:
    description:
      - Who takes or releases the lock. C(run_id) tells runs apart and must be the same for every host and play
        of one run and differ between runs; the other keys are only shown in messages. The module adds
        C(since).
      - Required with O(state=held) and O(state=released).
    type: dict
    suboptions:
      controller:
        description: Host name of the controller.
        type: str
      user:
        description: User who started the run on the controller.
        type: str
      playbook:
        description: The playbook (or play) that runs.
        type: str
      run_id:
        description: Identifies the run, for example the lookup P(taylordash.ops.run_id#lookup).
        type: str
        required: true
  timeout:
    description:
      - Seconds to wait for a lock held by another run before failing (O(state=held)). V(0) fails at once.
    type: int
    default: 300
  poll:
    description:
      - Seconds between two tries while waiting.
    type: int
    default: 2
  only_holder:
    description:
      - With O(state=broken), the C(run_id) of the only run whose lock may be broken (the holder a deferred
        take named); a lock another run has taken since is left alone (RV(action=foreign)).
    type: str
  break_first:
    description:
      - With O(state=held), first break another run's lock (as O(state=broken) does, with its warning), then take
        it - one call for an operator who knows that run is gone. In check mode a lock that would be broken counts
        as free.
    type: bool
    default: false
  defer_to_controller:
    description:
      - With O(state=held), when another run of this controller (its C(run_id) names the same controller and
        boot, see the lookup P(taylordash.ops.run_id#lookup)) holds the lock, return at once with
        RV(action=deferred) and its holder instead of waiting, so the caller can tell on the controller whether
        that run has ended (then break the lock) or still runs (then wait for it).
    type: bool
    default: false
  read:
    description:
      - Small text files to read once the lock is taken or kept (O(state=held)), so what is kept under the lock
        (for example the record of what the host is deployed for) is read in the same call. Returned in
        RV(read); not read when the lock is deferred or held by another run.
    type: list
    elements: path
    default: []
notes:
  - The lock lives on the target, so runs from different controllers exclude each other too.
  - The wait happens inside the module on the target; a connection that cuts long-running commands needs a
    O(timeout) below its limit.
attributes:
  check_mode:
    support: full
    details: Waits and fails as in a real run, but never creates or removes the lock file.
  diff_mode:
    support: none
  idempotent:
    support: full
    details: Always reports C(changed=false); see the description.
"""

EXAMPLES = r"""
- name: Take the deploy lock, waiting up to 10 minutes for another run's
  taylordash.ops.deploy_lock:
    path: /var/lib/taylordash/deploy.lock
    state: held
    timeout: 600
    owner:
      controller: "{{ lookup('ansible.builtin.pipe', 'hostname') }}"
      user: "{{ lookup('ansible.builtin.env', 'USER') }}"
      playbook: "{{ ansible_play_name }}"
      run_id: "{{ lookup('taylordash.ops.run_id') }}"

- name: Release it (only if this run holds it)
  taylordash.ops.deploy_lock:
    path: /var/lib/taylordash/deploy.lock
    state: released
    owner:
      run_id: "{{ lookup('taylordash.ops.run_id') }}"

- name: Break a stale lock of a run that is gone
  taylordash.ops.deploy_lock:
    path: /var/lib/taylordash/deploy.lock
    state: broken
  register: broken

- name: Show whose lock was broken
  ansible.builtin.debug:
    msg: "{{ broken.holder }}"
"""

RETURN = r"""
changed:
  description: Always V(false) - taking, releasing and breaking the lock is not a change (see the description).
  returned: always
  type: bool
  sample: false
path:
  description: The O(path) option, as given.
  returned: always
  type: str
  sample: /var/lib/taylordash/deploy.lock
action:
  description:
    - What happened (in check mode, what would have). V(taken), V(kept) (this run already holds it),
      V(released), V(broken), V(absent) (there was no lock), V(foreign) (O(state=released) found another
      run's lock and left it, or O(state=broken) found another than O(only_holder)) or V(deferred)
      (with O(defer_to_controller), another run of this controller holds it).
  returned: always
  type: str
  sample: taken
holder:
  description:
    - The lock's record now (O(state=held)) or before (O(state=released), O(state=broken)); null when there was
      no lock. An unreadable lock has C(unknown) values and a C(corrupt) key giving the reason.
  returned: always
  type: dict
  sample:
    controller: ops-laptop
    user: alice
    playbook: Deploy taylordash (production) in /srv/taylordash-ops
    run_id: ops-laptop:1a2b3c4d:41234:987654
    since: "2025-06-01T12:00:00Z"
waited:
  description: Seconds spent waiting for another run's lock.
  returned: always
  type: int
  sample: 0
read:
  description: Each file of O(read) with its text (null when it does not exist), once the lock is taken or kept.
  returned: always
  type: dict
  sample: {/var/lib/taylordash/taylordash.mode: "production\n"}
"""

import os
import socket
import time

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_native
from ansible_collections.taylordash.ops.plugins.module_utils import _deploy_lock as dl


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path", required=True),
            state=dict(type="str", choices=["held", "released", "broken"], default="held"),
            owner=dict(type="dict", options=dict(
                controller=dict(type="str"),
                user=dict(type="str"),
                playbook=dict(type="str"),
                run_id=dict(type="str", required=True),
            )),
            timeout=dict(type="int", default=300),
            poll=dict(type="int", default=2),
            defer_to_controller=dict(type="bool", default=False),
            break_first=dict(type="bool", default=False),
            only_holder=dict(type="str"),
            read=dict(type="list", elements="path", default=[]),
        ),
        required_if=[("state", "held", ["owner"]), ("state", "released", ["owner"])],
        supports_check_mode=True,
    )
    params = module.params
    path, state, owner = params["path"], params["state"], params["owner"]
    run_id = (owner or {}).get("run_id")
    host = socket.gethostname()
    if state != "broken" and not run_id:
        module.fail_json(msg="owner.run_id must not be empty", path=path)
    if params["timeout"] < 0 or params["poll"] < 1:
        module.fail_json(msg="timeout must be at least 0 and poll at least 1", path=path)
    if os.path.isdir(path):
        module.fail_json(msg="deploy lock %s on %s is a directory" % (path, host), path=path)

    try:
        broken = None
        if state == "held" and params["break_first"]:
            broken = dl.break_lock(path, run_id, check_mode=module.check_mode)
        if broken and broken["action"] == "broken" and module.check_mode:
            outcome = {"action": "taken", "holder": dl.make_record(owner, time.time())}
        elif state == "held":
            if not module.check_mode:
                dl.ensure_directory(path)
            outcome = dl.acquire(path, dl.make_record(owner, time.time()), params["timeout"], params["poll"],
                                 host, check_mode=module.check_mode, defer=params["defer_to_controller"])
        elif state == "released":
            outcome = dl.release(path, run_id, check_mode=module.check_mode)
        else:
            outcome = dl.break_lock(path, run_id, check_mode=module.check_mode, only_holder=params["only_holder"])
    except dl.LockHeld as exc:
        module.fail_json(msg=str(exc), path=path, holder=exc.holder, waited=exc.waited, changed=False)
    except (IOError, OSError) as exc:
        module.fail_json(msg="deploy lock %s on %s: %s" % (path, host, to_native(exc)), path=path)

    now = time.time()
    if broken and broken["action"] == "broken":
        module.warn("%s deploy lock %s on %s held by %s" % ("would break" if module.check_mode else "broke",
                                                           path, host, dl.describe(broken["holder"], now)))
    if outcome["action"] == "foreign":
        module.warn("deploy lock %s on %s is held by another run, left in place: %s"
                    % (path, host, dl.describe(outcome["holder"], now)))
    elif outcome["action"] == "broken":
        module.warn("%s deploy lock %s on %s held by %s" % ("would break" if module.check_mode else "broke",
                                                           path, host, dl.describe(outcome["holder"], now)))
    read = {}
    if outcome["action"] in ("taken", "kept"):
        for name in params["read"]:
            try:
                with open(name, "rb") as handle:
                    read[name] = to_native(handle.read(65536), errors="surrogate_or_strict")
            except FileNotFoundError:
                read[name] = None
            except (IOError, OSError, UnicodeError) as exc:
                module.fail_json(msg="deploy lock %s on %s: cannot read %s: %s" % (path, host, name, to_native(exc)),
                                 path=path)
    module.exit_json(changed=False, path=path, action=outcome["action"], holder=outcome["holder"],
                     waited=outcome.get("waited", 0), read=read)


if __name__ == "__main__":
    main()
