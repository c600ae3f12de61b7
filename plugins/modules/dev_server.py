#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: taylordash-ops developers
# MIT License

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: dev_server
short_description: Keep exactly one instance of a dev server running, however often the play runs
version_added: 0.1.0
description:
  - Starts O(command) detached (own session, stdin from C(/dev/null), stdout and stderr appended to
    O(log_file)) so it outlives the Ansible connection, waits until it listens on O(port), and records
    it in the pidfile C(<state_dir>/<name>.pid) (JSON with C(pid), C(start_ticks), C(command), C(chdir),
    C(port), C(started_at); written atomically, mode C(0644)).
  - The recorded process counts as running only while it is the same process (same start time, field 22
    of C(/proc/<pid>/stat)), so a reused pid is never taken for it. The instance is that process and its
    descendants; a descendant holding the socket counts (C(uvicorn --reload), vite).
  - With O(state=started), an instance that runs with the same O(command), O(chdir) and O(port) and
    listens on O(port) is left alone. One started with another command, directory or port, or no longer
    listening, is restarted; a stale pidfile (process gone or pid reused) is replaced by a new instance.
    A change of O(env) alone is not detected; use O(state=restarted).
  - Fails without starting or stopping anything when a process that is not the recorded instance listens
    on O(port) on an address that overlaps O(host), naming its pid, user and command line; that process
    is never signalled. It also fails when the port's holder cannot be seen (run with become).
  - Stopping sends SIGTERM to the recorded process and its current descendants, then SIGKILL after
    O(stop_timeout) seconds. Single pids only, never a process group, never a pattern match.
  - Reads C(/proc); Linux only.
author: taylordash-ops developers
options:
  name:
    description: Name of the app; names the pidfile and the default log file. Letters, digits, V(_), V(.), V(-).
    type: str
    required: true
  command:
    description: The server's argv (no shell). Required unless O(state=stopped).
    type: list
    elements: str
  chdir:
    description: Working directory of the server. Required unless O(state=stopped).
    type: path
  env:
    description:
      - Environment variables for the server, added to C(PATH), C(HOME) and C(LANG) inherited from the module.
        Nothing else is inherited.
    type: dict
    default: {}
  secret_env:
    description:
      - Like O(env), for values that must never be shown (passwords, URLs that hold them). The option is
        C(no_log), so its values are masked in every result and log line. Added after O(env).
    type: dict
    default: {}
  port:
    description: The TCP port the server listens on once it is up.
    type: int
    required: true
  host:
    description:
      - Address (or name, resolved on the managed host) on which O(port) is checked. A listener on an
        overlapping address counts (V(0.0.0.0) overlaps every IPv4 address, V(::) every address).
      - The server must listen on an address overlapping one of O(host)'s; vite told C(--host localhost) may
        bind C(::1) only, which V(127.0.0.1) does not overlap (use V(localhost) here, or give vite an address).
    type: str
    default: 127.0.0.1
  state:
    description:
      - V(started) keeps one instance running (see the description).
      - V(stopped) stops the recorded instance if it runs and removes the pidfile. C(changed) is true when a
        process was signalled or a stale pidfile removed.
      - V(restarted) stops the recorded instance if it runs and starts a new one; always changed.
    type: str
    choices: [started, stopped, restarted]
    default: started
  state_dir:
    description: Directory of the pidfile and the default log file; created (mode C(0755)) when missing.
    type: path
    required: true
  log_file:
    description: File the server's stdout and stderr are appended to. Default C(<state_dir>/<name>.log).
    type: path
  startup_timeout:
    description:
      - Seconds to wait until the started process or one of its descendants listens on O(port). If it exits
        first, or the time runs out (it is then stopped), the task fails with the last lines of its log.
    type: float
    default: 60
  stop_timeout:
    description: Seconds between SIGTERM and SIGKILL when stopping.
    type: float
    default: 10
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
  idempotent:
    support: full
notes:
  - If starting fails during O(state=restarted) or a restart by O(state=started), the old instance is already
    stopped and no pidfile is left.
  - An orphaned worker of an instance whose root was killed (for example with SIGKILL) no longer belongs to the
    recorded tree; if it still holds the port the next run fails naming it rather than killing it.
"""

EXAMPLES = r"""
- name: Keep one uvicorn --reload backend on port 3000
  taylordash.ops.dev_server:
    name: backend
    command: [/opt/taylordash/src/backend/.venv/bin/uvicorn, main:app, --reload, --host, 127.0.0.1, --port, "3000"]
    chdir: /opt/taylordash/src/backend
    env:
      DATABASE_URL: postgresql://taylordash@127.0.0.1:5432/taylordash
    port: 3000
    state_dir: /opt/taylordash/run

- name: Keep one vite frontend on port 5173
  taylordash.ops.dev_server:
    name: frontend
    command: [node_modules/.bin/vite, --host, 127.0.0.1, --port, "5173", --strictPort]
    chdir: /opt/taylordash/src/frontend
    port: 5173
    state_dir: /opt/taylordash/run
    startup_timeout: 120

- name: Stop the frontend
  taylordash.ops.dev_server:
    name: frontend
    port: 5173
    state_dir: /opt/taylordash/run
    state: stopped
"""

RETURN = r"""
pid:
  description: Pid of the running instance after the task (in check mode, before it); null when none runs.
  returned: success
  type: int
  sample: 4242
port:
  description: O(port).
  returned: always, unless an option is invalid
  type: int
  sample: 5173
command:
  description: O(command), or with O(state=stopped) the recorded command (null without a pidfile).
  returned: always, unless an option is invalid
  type: list
  elements: str
  sample: [node_modules/.bin/vite, --port, "5173", --strictPort]
log_file:
  description: The log file.
  returned: always, unless an option is invalid
  type: str
  sample: /opt/taylordash/run/frontend.log
pidfile:
  description: The pidfile.
  returned: always, unless an option is invalid
  type: str
  sample: /opt/taylordash/run/frontend.pid
action:
  description:
    - What was done (would be done, in check mode) to a process. V(none) also when only a stale pidfile
      was removed.
  returned: success
  type: str
  choices: [none, started, restarted, stopped]
  sample: started
holder:
  description: The process holding O(port) that this task did not start (pid null when this user cannot see it).
  returned: failure, when the port is held by another process
  type: dict
  sample: {pid: 777, user: alice, cmdline: [python3, -m, http.server, "5173"], cwd: /home/alice}
"""

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_native
from ansible_collections.taylordash.ops.plugins.module_utils._dev_server import STATES, DevServerError, ensure, validate


def main():
    module = AnsibleModule(
        argument_spec=dict(
            name=dict(type="str", required=True),
            command=dict(type="list", elements="str"),
            chdir=dict(type="path"),
            env=dict(type="dict", default={}),
            secret_env=dict(type="dict", default={}, no_log=True),
            port=dict(type="int", required=True),
            host=dict(type="str", default="127.0.0.1"),
            state=dict(type="str", choices=list(STATES), default="started"),
            state_dir=dict(type="path", required=True),
            log_file=dict(type="path"),
            startup_timeout=dict(type="float", default=60.0),
            stop_timeout=dict(type="float", default=10.0),
        ),
        required_if=[("state", "started", ["command", "chdir"]), ("state", "restarted", ["command", "chdir"])],
        supports_check_mode=True,
    )
    try:
        validate(module.params)
        result = ensure(module.params, check_mode=module.check_mode)
    except ValueError as exc:
        module.fail_json(msg=to_native(exc))
    except DevServerError as exc:
        module.fail_json(msg=exc.msg, **exc.fields)
    except (IOError, OSError) as exc:
        module.fail_json(msg="dev server %s: %s" % (module.params["name"], to_native(exc)))
    before, after = result.pop("before"), result.pop("after")
    if result["changed"] and module._diff:
        result["diff"] = dict(before=before, after=after)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
