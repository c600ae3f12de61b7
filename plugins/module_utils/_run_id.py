# -*- coding: utf-8 -*-
# Copyright: taylordash-ops developers
# MIT License
"""The id of the ansible-playbook run this controller process belongs to.

Private to this collection; the logic behind the ``run_id`` lookup, free of
Ansible so it can be unit-tested against a fake /proc.

Lookups are templated in the worker processes ansible-playbook forks (one per
task and host), and sometimes in the main process itself, so nothing computed
in the process that runs a lookup - a module-level uuid, its own pid - is the
same for every host and play. What all of them share is the main process they
were forked from. A fork keeps its parent's argv, so the main process is the
topmost ancestor, walking up the ppid chain from the current process, whose
command line is the same as ours; this holds however ansible-playbook was
started (a script, ``python -m``, ansible-runner). The run id is

    <controller host name>:<first 8 hex digits of the boot id>:<pid>:<start ticks>

where start ticks is field 22 of /proc/<pid>/stat. Two runs alive at the same
time differ in pid; a pid reused later differs in start ticks, a reboot in the
boot id and another controller in its host name.

Without /proc (a controller other than Linux) the environment variable
``TAYLORDASH_RUN_ID`` must hold a value unique to the run; it also overrides the
computed id where it is set.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import socket

from ansible_collections.taylordash.ops.plugins.module_utils._devservers import read_process

ENV_VAR = "TAYLORDASH_RUN_ID"


class RunIdError(Exception):
    """The run id cannot be computed here."""


def main_process(pid, proc="/proc"):
    """The topmost process above pid (or pid itself) with pid's command line, as read_process() gives it."""
    current = read_process(pid, proc)
    if current is None:
        raise RunIdError("process %d is not in %s" % (pid, proc))
    seen = {pid}
    while current["ppid"] > 0 and current["ppid"] not in seen:
        parent = read_process(current["ppid"], proc)
        if parent is None or parent["cmdline"] != current["cmdline"]:
            break
        seen.add(parent["pid"])
        current = parent
    return current


def boot_id(proc="/proc"):
    """First 8 hex digits of the kernel's boot id, '' when it cannot be read."""
    try:
        with open(os.path.join(proc, "sys", "kernel", "random", "boot_id")) as handle:
            return handle.read().strip().replace("-", "")[:8]
    except (IOError, OSError):
        return ""


def run_id(pid=None, proc="/proc", environ=None, hostname=None):
    """The run id (see the module docstring); TAYLORDASH_RUN_ID in environ wins when set and non-empty."""
    environ = os.environ if environ is None else environ
    if environ.get(ENV_VAR):
        return environ[ENV_VAR]
    if not os.path.isdir(proc):
        raise RunIdError("%s is not available on this controller: set the environment variable %s to a value "
                         "unique to each ansible-playbook run" % (proc, ENV_VAR))
    main = main_process(os.getpid() if pid is None else pid, proc)
    return "%s:%s:%d:%d" % (hostname or socket.gethostname(), boot_id(proc), main["pid"], main["start_ticks"])


def run_is_gone(value, proc="/proc", hostname=None):
    """True when run id `value` names a run of this controller (same host name, same boot) whose main
    process no longer exists with the same start time. Another controller's run, a run id set through
    TAYLORDASH_RUN_ID, or anything unreadable is never called gone: only an explicit break removes it."""
    parts = str(value or "").split(":")
    if len(parts) != 4 or parts[0] != (hostname or socket.gethostname()) or not parts[1] or parts[1] != boot_id(proc):
        return False
    try:
        pid, ticks = int(parts[2]), int(parts[3])
    except ValueError:
        return False
    process = read_process(pid, proc)
    return process is None or process["start_ticks"] != ticks
