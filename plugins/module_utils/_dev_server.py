# -*- coding: utf-8 -*-
# Copyright: taylordash-ops developers
# MIT License
"""Keep exactly one instance of a dev server running, tracked by a pidfile.

Private to this collection; the logic of the ``dev_server`` module.

An *instance* is the process this code started (recorded in
``<state_dir>/<name>.pid`` with its start ticks, field 22 of
/proc/<pid>/stat) and its descendants: ``uvicorn --reload`` and vite hold the
listening socket in a child. A recorded pid only counts while it is the same
process (same start ticks, not a zombie); nothing else is ever signalled.

The readers of ``_devservers`` do the /proc work (listeners, socket holders,
process table, stopping a process tree) and ``_port_plan.overlaps`` decides
whether a listener's address takes the port on the wanted host.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import json
import os
import re
import socket
import subprocess
import tempfile
import time

from ansible_collections.taylordash.ops.plugins.module_utils import _devservers as ds
from ansible_collections.taylordash.ops.plugins.module_utils._port_plan import overlaps

STATES = ("started", "stopped", "restarted")
# what decide() steps report as RV action; 'forget' only removes a stale pidfile, no process is touched
ACTION_OF_STEP = {"none": "none", "start": "started", "restart": "restarted", "stop": "stopped", "forget": "none"}
INHERITED_ENV = ("PATH", "HOME", "LANG")
NAME = re.compile(r"\A[A-Za-z0-9_][A-Za-z0-9_.-]*\Z")
PIDFILE_MODE = 0o644
POLL = 0.2
TAIL_LINES = 30


class DevServerError(Exception):
    """A failure to report with fail_json: message plus result fields (e.g. holder)."""

    def __init__(self, msg, **fields):
        super(DevServerError, self).__init__(msg)
        self.msg = msg
        self.fields = fields


# --------------------------------------------------------------------------- input

def validate(params):
    """Raise ValueError naming the offending option; the combinations argument_spec cannot check."""
    if not NAME.match(params["name"] or ""):
        raise ValueError("name: must be letters, digits, '_', '.' or '-' (it names the pidfile), got %r"
                         % params["name"])
    if not 1 <= params["port"] <= 65535:
        raise ValueError("port: must be 1-65535, got %d" % params["port"])
    if params["state"] != "stopped":
        if not params["command"]:
            raise ValueError("command: must be a non-empty list for state=%s" % params["state"])
        if not os.path.isdir(params["chdir"]):
            raise ValueError("chdir: %s is not a directory" % params["chdir"])
    if params["startup_timeout"] <= 0:
        raise ValueError("startup_timeout: must be > 0, got %s" % params["startup_timeout"])
    if params["stop_timeout"] < 0:
        raise ValueError("stop_timeout: must be >= 0, got %s" % params["stop_timeout"])
    host_addresses(params["host"])


def host_addresses(host):
    """Sorted address literals of host (an IP literal, or a name such as localhost); ValueError if none."""
    try:
        infos = socket.getaddrinfo(host, None, 0, socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise ValueError("host: cannot resolve %r: %s" % (host, exc))
    return sorted(set(info[4][0].split("%")[0] for info in infos))


def child_env(parent, extra):
    """The server's environment: PATH, HOME and LANG of parent (PATH defaults to os.defpath) plus extra."""
    env = dict((key, parent[key]) for key in INHERITED_ENV if key in parent)
    env.setdefault("PATH", os.defpath)
    env.update((str(key), str(value)) for key, value in (extra or {}).items())
    return env


# --------------------------------------------------------------------------- pidfile

def read_record(path):
    """(record dict or None, whether the file exists); a corrupt pidfile is a None record."""
    try:
        with open(path) as handle:
            text = handle.read()
    except (IOError, OSError) as exc:
        if exc.errno == errno.ENOENT:
            return None, False
        raise
    try:
        record = json.loads(text)
        record = dict(record, pid=int(record["pid"]), start_ticks=int(record["start_ticks"]))
    except (ValueError, TypeError, KeyError):
        return None, True
    return record, True


def write_record(path, record):
    """Write record as JSON to path atomically (temporary file renamed over it), mode 0644 whatever the umask."""
    directory = os.path.dirname(path) or "."
    fd, tmp = tempfile.mkstemp(prefix=".%s." % os.path.basename(path), suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "w") as handle:
            json.dump(record, handle, sort_keys=True)
            handle.write("\n")
            handle.flush()
            os.fchmod(handle.fileno(), PIDFILE_MODE)
            os.fsync(handle.fileno())
        os.rename(tmp, path)
    finally:
        if os.path.lexists(tmp):
            os.unlink(tmp)


def same_spec(record, command, chdir, port):
    """True when the recorded instance was started with this command, directory and port."""
    return (record.get("command") == list(command) and record.get("port") == port
            and os.path.realpath(record.get("chdir") or "") == os.path.realpath(chdir))


# --------------------------------------------------------------------------- observation

def port_listeners(port, addresses, proc="/proc"):
    """Listening TCP sockets on port whose address overlaps one of addresses (they take the port there)."""
    return [sock for sock in ds.read_listeners(proc)
            if sock["port"] == port and any(overlaps(sock["address"], address) for address in addresses)]


def observe(record, port, addresses, proc="/proc"):
    """What runs now: dict alive (the recorded process is), tree (its pids), ours / foreign (pids holding a
    listener on port that takes one of addresses, inside / outside tree) and hidden (such listeners whose
    holder this user cannot see)."""
    alive = record is not None and ds.alive(record["pid"], record["start_ticks"], proc)
    tree = set()
    if alive:
        tree = set([record["pid"]] + ds.descendants(ds.process_table(proc), record["pid"]))
    listeners = port_listeners(port, addresses, proc)
    holders = ds.socket_holders(set(sock["inode"] for sock in listeners), proc) if listeners else {}
    held = set(pid for pids in holders.values() for pid in pids)
    return {
        "alive": alive,
        "tree": sorted(tree),
        "ours": sorted(held & tree),
        "foreign": sorted(held - tree),
        "hidden": [sock["address"] for sock in listeners if sock["inode"] not in holders],
    }


def decide(state, pidfile_exists, alive, spec_matches, listening, blocked):
    """The step to take: 'none', 'start', 'restart', 'stop', 'forget' (remove a stale pidfile) or 'blocked'.

    blocked: a process that is not ours holds the port (only matters when something must serve it).
    """
    if state == "stopped":
        if alive:
            return "stop"
        return "forget" if pidfile_exists else "none"
    if blocked:
        return "blocked"
    if state == "restarted":
        return "restart" if alive else "start"
    if not alive:
        return "start"
    return "none" if spec_matches and listening else "restart"


def holder(pid, proc="/proc"):
    """dict pid, user, cmdline (list), cwd of a port holder; pid None when it cannot be seen."""
    info = ds.read_process(pid, proc) if pid is not None else None
    if info is None:
        return {"pid": pid, "user": None, "cmdline": None, "cwd": None}
    return dict((key, info[key]) for key in ("pid", "user", "cmdline", "cwd"))


def describe_holder(port, host, found, pidfile):
    """The failure message for a port held by a process this task did not start."""
    where = "port %d on %s is held by a process this task did not start" % (port, host)
    if found["pid"] is None:
        return where + " and this user cannot see (run with become to name it); it was left alone"
    return "%s: pid %d (user %s): %s; it was left alone: stop it by hand or pick another port (pidfile %s)" % (
        where, found["pid"], found["user"], " ".join(found["cmdline"] or []) or "(no command line)", pidfile)


# --------------------------------------------------------------------------- log

def _now():
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def log_tail(path, offset=0, lines=TAIL_LINES):
    """The last lines of path written after offset, as text."""
    try:
        with open(path, "rb") as handle:
            handle.seek(offset)
            data = handle.read()
    except (IOError, OSError) as exc:
        return "(cannot read %s: %s)" % (path, exc)
    return "\n".join(data.decode("utf-8", "replace").splitlines()[-lines:])


# --------------------------------------------------------------------------- acting

def launch(command, chdir, env, log_file):
    """Start command detached: own session, stdin /dev/null, stdout and stderr appended to log_file.

    A marker line naming the command goes to the log first. Returns (Popen, the log's size after the
    marker: where this run's output starts); nothing waits for the process, so it outlives the caller.
    OSError if it cannot be started.
    """
    with open(log_file, "ab") as log:
        log.write(("--- %s dev_server: starting %s in %s\n" % (_now(), " ".join(command), chdir)).encode("utf-8"))
        log.flush()
        offset = log.tell()
        return subprocess.Popen(list(command), cwd=chdir, env=env, stdin=subprocess.DEVNULL, stdout=log,
                                stderr=subprocess.STDOUT, close_fds=True, start_new_session=True), offset


def wait_listening(pid, ticks, port, addresses, timeout, proc="/proc"):
    """Poll until pid or a descendant listens on port ('ready'), pid died ('died') or timeout ('timeout')."""
    deadline = time.time() + timeout
    while True:
        if not ds.alive(pid, ticks, proc):
            return "died"
        listeners = port_listeners(port, addresses, proc)
        if listeners:
            tree = [pid] + ds.descendants(ds.process_table(proc), pid)
            if ds.socket_holders(set(sock["inode"] for sock in listeners), proc, pids=tree):
                return "ready"
        if time.time() >= deadline:
            return "timeout"
        time.sleep(POLL)


def stop_instance(record, port, timeout, proc="/proc"):
    """Stop the recorded process and its descendants (_devservers.stop); DevServerError if any survive."""
    instance = {"pid": record["pid"], "start_ticks": record["start_ticks"], "ports": [port], "app": None}
    try:
        result = ds.stop([instance], timeout, os.getpid(), proc)[0]
    except ds.StopRefused as exc:
        raise DevServerError(str(exc))
    if result["survivors"]:
        raise DevServerError("pids %s survived SIGKILL" % result["survivors"])
    return result


def remove(path):
    try:
        os.unlink(path)
    except OSError as exc:
        if exc.errno != errno.ENOENT:
            raise


def start(params, pidfile, log_file, addresses, proc="/proc"):
    """Launch the server, record it, wait until it listens; the new record. DevServerError on failure.

    The pidfile is written as soon as the process exists, so a run killed while waiting (a task timeout)
    leaves a server the next run recognises as its own; it is removed again when the server does not come
    up, and on any exception the server is stopped too.
    """
    env = child_env(os.environ, dict(params["env"], **(params.get("secret_env") or {})))
    try:
        child, offset = launch(params["command"], params["chdir"], env, log_file)
    except OSError as exc:
        raise DevServerError("cannot start %s: %s" % (" ".join(params["command"]), exc))
    record = {
        "pid": child.pid,
        "start_ticks": ds.read_stat(child.pid, proc)["starttime"],  # our unreaped child: its stat is there
        "command": list(params["command"]),
        "chdir": params["chdir"],
        "port": params["port"],
        "started_at": _now(),
    }
    outcome = "interrupted"
    try:
        write_record(pidfile, record)
        outcome = wait_listening(child.pid, record["start_ticks"], params["port"], addresses,
                                 params["startup_timeout"], proc)
    finally:
        if outcome != "ready":
            remove(pidfile)
        if outcome in ("timeout", "interrupted"):
            stop_instance(record, params["port"], params["stop_timeout"], proc)
    if outcome == "ready":
        return record
    if outcome == "timeout":
        why = "did not listen on port %d within %s seconds and was stopped" % (
            params["port"], params["startup_timeout"])
    else:
        why = "exited with status %s before listening on port %d" % (child.wait(), params["port"])
    child.poll()  # reap it
    raise DevServerError("%s (pid %d) %s; last lines of %s:\n%s" % (
        " ".join(params["command"]), child.pid, why, log_file, log_tail(log_file, offset)))


def _state(record, alive):
    if not alive:
        return {"running": False, "pid": None, "command": None}
    return {"running": True, "pid": record["pid"], "command": record.get("command")}


def ensure(params, check_mode=False, proc="/proc"):
    """Bring the dev server to params['state']; the module result (with before/after states for the diff).

    A DevServerError's fields get port, log_file, pidfile and command too.
    """
    pidfile = os.path.join(params["state_dir"], "%s.pid" % params["name"])
    log_file = params["log_file"] or os.path.join(params["state_dir"], "%s.log" % params["name"])
    try:
        return _ensure(params, pidfile, log_file, check_mode, proc)
    except DevServerError as exc:
        exc.fields = dict(dict(port=params["port"], log_file=log_file, pidfile=pidfile, command=params["command"]),
                          **exc.fields)
        raise


def _ensure(params, pidfile, log_file, check_mode, proc):
    addresses = host_addresses(params["host"])
    record, exists = read_record(pidfile)
    seen = observe(record, params["port"], addresses, proc)
    matches = record is not None and params["state"] != "stopped" and same_spec(
        record, params["command"], params["chdir"], params["port"])
    step = decide(params["state"], exists, seen["alive"], matches, bool(seen["ours"]),
                  bool(seen["foreign"] or (seen["hidden"] and not seen["ours"])))
    before = _state(record, seen["alive"])
    result = dict(changed=step != "none", port=params["port"], log_file=log_file, pidfile=pidfile,
                  command=params["command"] or (record or {}).get("command"), pid=before["pid"], action="none",
                  before=before, after=before)
    if step == "blocked":
        found = holder(seen["foreign"][0] if seen["foreign"] else None, proc)
        raise DevServerError(describe_holder(params["port"], params["host"], found, pidfile), holder=found)
    result["action"] = ACTION_OF_STEP[step]
    if step in ("stop", "forget"):
        result.update(pid=None, after=_state(None, False))
    if step in ("start", "restart"):
        result["after"] = {"running": True, "pid": None, "command": list(params["command"])}
    if check_mode or step == "none":
        return result
    if step in ("stop", "restart"):
        stop_instance(record, params["port"], params["stop_timeout"], proc)
    if step in ("stop", "forget"):
        remove(pidfile)
        return result
    if not os.path.isdir(params["state_dir"]):
        os.makedirs(params["state_dir"], 0o755)
    remove(pidfile)  # a stale record must not name the new process's predecessor if starting fails
    record = start(params, pidfile, log_file, addresses, proc)
    result.update(pid=record["pid"], after=_state(record, True))
    return result
