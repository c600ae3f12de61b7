# -*- coding: utf-8 -*-
# Copyright: taylordash-ops developers
# MIT License
"""Find hand-started dev servers from /proc and stop exactly the duplicates.

Private to this collection. Everything is read from /proc (no psutil): the
listening TCP sockets of /proc/net/tcp{,6}, the socket inodes each process
holds (/proc/<pid>/fd), and each process's stat, status, cmdline, exe and cwd.
Every reader takes a ``proc`` root so tests can point it at a fake tree.

An *instance* is one dev server: the topmost process of a tree of processes
that hold the same listening sockets (uvicorn --reload: the reloader and its
worker both hold the socket, the instance is rooted at the reloader).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import os
import posixpath
import pwd
import re
import signal
import time

KINDS = ("uvicorn", "gunicorn", "hypercorn", "vite", "http.server", "node")
POLICIES = ("duplicates", "all")
PYTHON_SERVERS = ("uvicorn", "gunicorn", "hypercorn")
LISTEN = "0A"
POLL = 0.05
KILL_WAIT = 5.0
SOCKET_LINK = re.compile(r"^socket:\[(\d+)\]$")
PYTHON = re.compile(r"^python[0-9.]*$")
VITE_COMMANDS = ("dev", "serve", "build", "preview", "optimize")
VITE_VALUE_OPTIONS = ("--host", "--port", "--mode", "-m", "--config", "-c", "--base",
                      "--logLevel", "-l", "--filter", "-f", "--outDir", "--configLoader")


class StopRefused(ValueError):
    """Raised, before anything is signalled, for a selection that must not be stopped."""


# --------------------------------------------------------------------------- input

def validate_apps(apps):
    """Normalised copy of the ``apps`` parameter; ValueError naming app and key."""
    result = {}
    for name, spec in sorted((apps or {}).items()):
        where = "apps.%s" % name
        if not isinstance(spec, dict):
            raise ValueError("%s: must be a dict with path, port and kinds" % where)
        unknown = sorted(set(spec) - {"path", "port", "kinds"})
        if unknown:
            raise ValueError("%s: unknown key(s) %s" % (where, ", ".join(unknown)))
        path = spec.get("path")
        if not isinstance(path, str) or path.startswith("/") or ".." in path.split("/"):
            raise ValueError("%s.path: must be a relative path without '..', got %r" % (where, path))
        port = spec.get("port")
        try:
            port = int(port)
        except (TypeError, ValueError):
            port = None
        if isinstance(spec.get("port"), bool) or port is None or not 1 <= port <= 65535:
            raise ValueError("%s.port: must be an integer 1-65535, got %r" % (where, spec.get("port")))
        kinds = spec.get("kinds")
        if isinstance(kinds, str):
            kinds = [kinds]
        if not kinds or not isinstance(kinds, list) or any(kind not in KINDS for kind in kinds):
            raise ValueError("%s.kinds: must be a non-empty list among %s, got %r"
                             % (where, ", ".join(KINDS), spec.get("kinds")))
        result[name] = {"path": posixpath.normpath(path), "port": port, "kinds": list(kinds)}
    return result


# --------------------------------------------------------------------------- /proc/net

def _hex_address(text):
    """(address, family) of a /proc/net/tcp{,6} hex address (host byte order words)."""
    raw = bytes.fromhex(text)
    if len(raw) == 4:
        return str(ipaddress.IPv4Address(raw[::-1])), "ipv4"
    address = ipaddress.IPv6Address(b"".join(raw[i:i + 4][::-1] for i in range(0, 16, 4)))
    if address.ipv4_mapped is not None:
        return "::ffff:%s" % address.ipv4_mapped, "ipv6"
    return str(address), "ipv6"


def parse_net_tcp(text):
    """Listening sockets of one /proc/net/tcp{,6} file: dicts inode, address, port, family."""
    sockets = []
    for line in text.splitlines():
        fields = line.split()
        if len(fields) < 10 or fields[3] != LISTEN or ":" not in fields[1]:
            continue  # header, or a socket that is not listening
        host, port = fields[1].rsplit(":", 1)
        inode = int(fields[9])
        if not inode:
            continue
        address, family = _hex_address(host)
        sockets.append({"inode": inode, "address": address, "port": int(port, 16), "family": family})
    return sockets


def read_listeners(proc="/proc"):
    """Listening TCP sockets (IPv4 and IPv6) of the reader's network namespace."""
    sockets = []
    for name in ("tcp", "tcp6"):
        try:
            with open(os.path.join(proc, "net", name)) as handle:
                sockets.extend(parse_net_tcp(handle.read()))
        except (IOError, OSError):
            continue  # no IPv6 on this host
    return sockets


def _pids(proc):
    return sorted(int(name) for name in os.listdir(proc) if name.isdigit())


def socket_holders(inodes, proc="/proc", pids=None):
    """{inode: set of pids holding an fd to it} for the given socket inodes.

    pids limits the search to those processes (default: every process), which
    keeps a poll loop that only asks about known processes cheap.
    """
    wanted = set(inodes)
    holders = {}
    for pid in (_pids(proc) if pids is None else sorted(pids)):
        fd_dir = os.path.join(proc, str(pid), "fd")
        try:
            names = os.listdir(fd_dir)
        except (IOError, OSError):
            continue  # vanished, or not ours to read
        for name in names:
            try:
                match = SOCKET_LINK.match(os.readlink(os.path.join(fd_dir, name)))
            except (IOError, OSError):
                continue
            if match and int(match.group(1)) in wanted:
                holders.setdefault(int(match.group(1)), set()).add(pid)
    return holders


# --------------------------------------------------------------------------- processes

def parse_stat(text):
    """Fields of /proc/<pid>/stat; comm may hold spaces and parentheses."""
    left, right = text.index("("), text.rindex(")")
    rest = text[right + 2:].split()
    return {
        "pid": int(text[:left]),
        "comm": text[left + 1:right],
        "state": rest[0],
        "ppid": int(rest[1]),
        "pgid": int(rest[2]),
        "sid": int(rest[3]),
        "starttime": int(rest[19]),  # field 22, in clock ticks since boot
    }


def read_stat(pid, proc="/proc"):
    """parse_stat() of a pid, None if it is gone."""
    try:
        with open(os.path.join(proc, str(pid), "stat")) as handle:
            return parse_stat(handle.read())
    except (IOError, OSError, ValueError, IndexError):
        return None


def boot_time(proc="/proc"):
    with open(os.path.join(proc, "stat")) as handle:
        for line in handle:
            if line.startswith("btime "):
                return int(line.split()[1])
    raise ValueError("no btime in %s/stat" % proc)


def _readlink(path):
    try:
        return os.readlink(path)
    except (IOError, OSError):
        return None


def _uid(proc, pid):
    try:
        with open(os.path.join(proc, str(pid), "status")) as handle:
            for line in handle:
                if line.startswith("Uid:"):
                    return int(line.split()[1])  # real uid
    except (IOError, OSError, ValueError, IndexError):
        pass
    return None


def _user(uid):
    if uid is None:
        return None
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def read_process(pid, proc="/proc", btime=None):
    """One process as a dict, None if it is gone (or its stat is unreadable)."""
    stat = read_stat(pid, proc)
    if stat is None:
        return None
    base = os.path.join(proc, str(pid))
    try:
        with open(os.path.join(base, "cmdline"), "rb") as handle:
            raw = handle.read()
    except (IOError, OSError):
        raw = b""
    cmdline = [part.decode("utf-8", "replace") for part in raw.rstrip(b"\0").split(b"\0")] if raw else []
    if btime is None:
        btime = boot_time(proc)
    return {
        "pid": pid,
        "ppid": stat["ppid"],
        "pgid": stat["pgid"],
        "sid": stat["sid"],
        "state": stat["state"],
        "user": _user(_uid(proc, pid)),
        "exe": _readlink(os.path.join(base, "exe")),
        "cmdline": cmdline,
        "cwd": _readlink(os.path.join(base, "cwd")),
        "start_time": btime + stat["starttime"] // os.sysconf("SC_CLK_TCK"),
        "start_ticks": stat["starttime"],
    }


def process_table(proc="/proc"):
    """{pid: ppid} of every process still there."""
    table = {}
    for pid in _pids(proc):
        stat = read_stat(pid, proc)
        if stat is not None:
            table[pid] = stat["ppid"]
    return table


def descendants(table, pid):
    """Sorted pids of all descendants (every level) of pid in a {pid: ppid} table."""
    children = {}
    for child, parent in table.items():
        children.setdefault(parent, []).append(child)
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), ()):
            if child not in found and child != pid:
                found.add(child)
                todo.append(child)
    return sorted(found)


def ancestors_in(table, pid):
    """pids of the ppid chain above pid in a {pid: ppid} table (parent first)."""
    chain, seen = [], {pid}
    up = table.get(pid, 0)
    while up > 0 and up not in seen:
        chain.append(up)
        seen.add(up)
        up = table.get(up, 0)
    return chain


def ancestors(pid, proc="/proc"):
    """pids of the ppid chain above pid (parent first)."""
    chain, seen = [], {pid}
    stat = read_stat(pid, proc)
    while stat is not None and stat["ppid"] > 0 and stat["ppid"] not in seen:
        chain.append(stat["ppid"])
        seen.add(stat["ppid"])
        stat = read_stat(stat["ppid"], proc)
    return chain


def alive(pid, start_ticks, proc="/proc"):
    """True while pid is the same process (start_ticks) and not a zombie."""
    stat = read_stat(pid, proc)
    return stat is not None and stat["state"] not in ("Z", "X") and stat["starttime"] == start_ticks


# --------------------------------------------------------------------------- classification

def _base(path):
    return posixpath.basename(path or "")


def _first_script(args, value_options=()):
    """Index in args of the first non-option argument, None if there is none."""
    skip = False
    for index, arg in enumerate(args):
        if skip:
            skip = False
        elif arg in value_options:
            skip = True
        elif not arg.startswith("-") or arg == "-":
            return index
    return None


def _python_kind(args):
    """Kind of a python interpreter's arguments (without argv[0])."""
    index = 0
    while index < len(args):
        arg = args[index]
        if arg == "-" or not arg.startswith("-"):  # the script
            return _base(arg) if _base(arg) in PYTHON_SERVERS else "other"
        if arg == "--check-hash-based-pycs":
            index += 1
        elif not arg.startswith("--"):
            for pos, letter in enumerate(arg[1:], 2):  # a cluster of short options, e.g. -um
                if letter not in "cmWX":
                    continue
                value = arg[pos:] or (args[index + 1] if index + 1 < len(args) else "")
                if letter == "c":
                    return "other"
                if letter == "m":
                    return value if value in PYTHON_SERVERS + ("http.server",) else "other"
                index += 0 if arg[pos:] else 1  # -W/-X: skip a separate value
                break
        index += 1
    return "other"


def _node_script(cmdline):
    """Index in cmdline of the script node runs, None for a REPL/-e."""
    index = _first_script(cmdline[1:], ("-r", "--require", "--import", "--loader"))
    return None if index is None else index + 1


def _is_vite(script):
    return _base(script) in ("vite", "vite.js")


def classify(exe, cmdline):
    """Kind of a process: one of KINDS, or 'other'."""
    cmdline = list(cmdline or [])
    argv0 = _base(cmdline[0]) if cmdline else ""
    title = re.split(r"[\s:]", cmdline[0])[0] if cmdline else ""
    for name in (argv0, _base(title)):  # a console script, or a set proctitle
        if name in PYTHON_SERVERS:
            return name
    if PYTHON.match(_base(exe)) or PYTHON.match(argv0):
        return _python_kind(cmdline[1:])
    if _base(exe) in ("node", "nodejs") or argv0 in ("node", "nodejs"):
        script = _node_script(cmdline)
        return "vite" if script is not None and _is_vite(cmdline[script]) else "node"
    return "other"


def vite_root(cmdline, cwd):
    """Project root a vite process serves ([root] argument or --root), resolved against cwd."""
    script = _node_script(cmdline)
    if script is None or not cwd:
        return None
    args = cmdline[script + 1:]
    if args and args[0] in VITE_COMMANDS:
        args = args[1:]
    root, skip = None, False
    for index, arg in enumerate(args):
        if skip:
            skip = False
        elif arg == "--root" and index + 1 < len(args):
            root = args[index + 1]
            break
        elif arg.startswith("--root="):
            root = arg[len("--root="):]
            break
        elif arg in VITE_VALUE_OPTIONS:
            skip = True
        elif not arg.startswith("-") and root is None:
            root = arg
    return posixpath.normpath(posixpath.join(cwd, root)) if root else None


def _inside(path, directory):
    return path == directory or path.startswith(directory.rstrip("/") + "/")


def attribute(kind, cmdline, cwd, project_root, apps):
    """Name of the app an instance belongs to, None when it is not ours.

    The longest app path that contains the instance's cwd (or, for vite, the
    root directory it serves) wins; the instance's kind must be one the app allows.
    """
    places = [posixpath.normpath(cwd)] if cwd else []
    if kind == "vite":
        served = vite_root(cmdline, cwd)
        if served:
            places.append(served)
    best, best_len = None, -1
    for name, app in apps.items():
        directory = posixpath.normpath(posixpath.join(project_root, app["path"]))
        if kind not in app["kinds"]:
            continue
        if any(_inside(place, directory) for place in places) and len(directory) > best_len:
            best, best_len = name, len(directory)
    return best


# --------------------------------------------------------------------------- instances

def group_holders(holders, table):
    """Group socket holders into instances: {root pid: set of inodes}.

    A holder joins the group of its nearest ancestor that holds one of the same
    sockets (pid 1 never roots a group: systemd socket activation is not a dev server).
    """
    held = {}
    for inode, pids in holders.items():
        for pid in pids:
            held.setdefault(pid, set()).add(inode)
    parent = {pid: pid for pid in held}

    def find(pid):
        while parent[pid] != pid:
            pid = parent[pid]
        return pid

    for pid in sorted(held):
        for up in ancestors_in(table, pid):
            if up > 1 and up in held and held[up] & held[pid]:
                parent[find(pid)] = find(up)
                break
    def depth(pid):
        chain = ancestors_in(table, pid)
        return (len(chain), pid)

    groups = {}
    for pid, inodes in held.items():
        members = groups.setdefault(find(pid), [set(), set()])
        members[0].add(pid)
        members[1].update(inodes)
    # the root is the topmost member: the one with the shortest ancestor chain
    return dict((min(members, key=depth), inodes) for members, inodes in groups.values())


def scan(project_root, apps, proc="/proc"):
    """All listening instances, sorted by pid, each with its kind and app (None: not ours)."""
    listeners = read_listeners(proc)
    by_inode = {sock["inode"]: sock for sock in listeners}
    holders = socket_holders(by_inode, proc)
    table = process_table(proc)
    btime = boot_time(proc)
    instances = []
    for root, inodes in sorted(group_holders(holders, table).items()):
        info = read_process(root, proc, btime)
        if info is None:
            continue  # exited while we looked
        listen = sorted(
            ({"address": by_inode[i]["address"], "port": by_inode[i]["port"], "family": by_inode[i]["family"]}
             for i in inodes),
            key=lambda item: (item["port"], item["family"], item["address"]),
        )
        kind = classify(info["exe"], info["cmdline"])
        instances.append(dict(
            (key, info[key]) for key in
            ("pid", "ppid", "pgid", "user", "exe", "cmdline", "cwd", "start_time", "start_ticks")
        ))
        instances[-1].update(
            listen=listen,
            ports=sorted(set(item["port"] for item in listen)),
            descendants=descendants(table, root),
            kind=kind,
            app=attribute(kind, info["cmdline"], info["cwd"], project_root, apps),
        )
    return instances


# --------------------------------------------------------------------------- analysis and selection

def analyse(instances, apps):
    """{'duplicates': {app: [pids]}, 'conflicts': [...]} of a scan."""
    ours = {}
    for inst in instances:
        if inst["app"] is not None:
            ours.setdefault(inst["app"], []).append(inst)
    duplicates = dict((app, sorted(i["pid"] for i in group)) for app, group in ours.items() if len(group) > 1)
    conflicts = []
    for app, group in sorted(ours.items()):
        for inst in group:
            if apps[app]["port"] not in inst["ports"]:
                conflicts.append({"type": "off-plan", "app": app, "pid": inst["pid"],
                                  "ports": inst["ports"], "planned_port": apps[app]["port"]})
    for app, spec in sorted(apps.items()):
        for inst in instances:
            if spec["port"] in inst["ports"] and inst["app"] != app:
                conflicts.append({"type": "port-taken", "app": app, "port": spec["port"],
                                  "pid": inst["pid"], "cmdline": inst["cmdline"]})
    planned = {}
    for app, spec in apps.items():
        planned.setdefault(spec["port"], []).append(app)
    for port, names in sorted(planned.items()):
        if len(names) > 1:
            conflicts.append({"type": "shared-port", "port": port, "apps": sorted(names)})
    return {"duplicates": duplicates, "conflicts": conflicts}


def select(instances, apps, policy="duplicates", keep_apps=()):
    """(stop, keep) lists of our instances; instances of no app are never selected.

    'duplicates' keeps, per app, the oldest instance on its planned port (or,
    when none is on it, the oldest instance: never lose the only server) and
    stops the others; 'all' stops every instance. Apps in keep_apps keep all.
    """
    if policy not in POLICIES:
        raise ValueError("policy must be one of %s" % ", ".join(POLICIES))
    stop, keep = [], []
    groups = {}
    for inst in instances:
        if inst["app"] is not None:
            groups.setdefault(inst["app"], []).append(inst)
    for app, group in sorted(groups.items()):
        group = sorted(group, key=lambda i: (i["start_ticks"], i["pid"]))
        if app in keep_apps:
            keep.extend(group)
            continue
        if policy == "all":
            stop.extend(group)
            continue
        on_plan = [i for i in group if apps[app]["port"] in i["ports"]]
        keeper = (on_plan or group)[0]
        keep.append(keeper)
        stop.extend(i for i in group if i is not keeper)
    return stop, keep


# --------------------------------------------------------------------------- stopping

def check_stoppable(instances, own_pid, proc="/proc"):
    """Raise StopRefused for pid 1, own_pid or an ancestor of own_pid."""
    forbidden = set([1, own_pid] + ancestors(own_pid, proc))
    for inst in instances:
        if inst["pid"] in forbidden:
            raise StopRefused("refusing to stop pid %d (%s): it is pid 1, this module or one of its ancestors"
                              % (inst["pid"], " ".join(inst.get("cmdline") or [])))


def _signal_all(targets, signum, proc):
    for pid, ticks in targets:
        if alive(pid, ticks, proc):  # the identity guard against a reused pid
            try:
                os.kill(pid, signum)
            except ProcessLookupError:
                pass


def _wait(targets, timeout, proc):
    """Poll until no target is alive or timeout; return the survivors."""
    deadline = time.time() + timeout
    while True:
        survivors = [(pid, ticks) for pid, ticks in targets if alive(pid, ticks, proc)]
        if not survivors or time.time() >= deadline:
            return survivors
        time.sleep(POLL)


def _targets(root, ticks, proc):
    """[(pid, start ticks)] of root then its current descendants."""
    targets = [(root, ticks)]
    for pid in descendants(process_table(proc), root):
        stat = read_stat(pid, proc)
        if stat is not None:
            targets.append((pid, stat["starttime"]))
    return targets


def stop(instances, timeout, own_pid, proc="/proc"):
    """Stop instances; one result dict per instance, in order.

    Checks every instance with check_stoppable() before signalling anything.
    Per instance: the root, when it is still the scanned process (same start
    ticks), and its current descendants get SIGTERM, root first (so a master
    cannot respawn a worker); after timeout seconds survivors (and any child
    spawned meanwhile) get SIGKILL. Only single pids are signalled, never a
    process group. Zombies count as gone. signal is None for an instance that
    was already gone; survivors lists pids even SIGKILL did not end.
    """
    check_stoppable(instances, own_pid, proc)
    results = []
    for inst in instances:
        result = {"pid": inst["pid"], "app": inst.get("app"), "ports": list(inst["ports"]),
                  "descendants": [], "signal": None, "ports_freed": [], "survivors": []}
        results.append(result)
        if not alive(inst["pid"], inst["start_ticks"], proc):
            result["ports_freed"] = list(inst["ports"])
            continue
        targets = _targets(inst["pid"], inst["start_ticks"], proc)
        result["descendants"] = sorted(pid for pid, _ in targets[1:])
        result["signal"] = "SIGTERM"
        _signal_all(targets, signal.SIGTERM, proc)
        survivors = _wait(targets, timeout, proc)
        if survivors:
            result["signal"] = "SIGKILL"
            if alive(inst["pid"], inst["start_ticks"], proc):
                survivors = _targets(inst["pid"], inst["start_ticks"], proc) + survivors
            _signal_all(survivors, signal.SIGKILL, proc)
            survivors = _wait(survivors, KILL_WAIT, proc)
        result["survivors"] = sorted(set(pid for pid, _ in survivors))
        stopped = set(pid for pid, _ in targets)
        listeners = read_listeners(proc)
        holders = socket_holders(set(sock["inode"] for sock in listeners), proc)
        busy = set(sock["port"] for sock in listeners if holders.get(sock["inode"], set()) & stopped)
        result["ports_freed"] = [port for port in inst["ports"] if port not in busy]
    return results
