# -*- coding: utf-8 -*-
# Copyright: taylordash-ops developers
# MIT License
"""Check a whole port plan at once: valid, without clashes, and free on this host.

Private to this collection. A *plan* maps a service name to an int port or to a
dict with ``port``, ``protocol`` (tcp or udp, default tcp) and ``address`` (an
IPv4 or IPv6 literal, default 0.0.0.0). Every problem is reported, each naming
the plan variable's entry (``taylordash_port_plan.minio_console: ...``).

Two addresses *overlap* when one socket bound on the first would keep another
from binding the second: equal addresses, 0.0.0.0 and any IPv4 address, and
``::`` and any address at all. ``::`` counts as overlapping IPv4 too because
Linux dual-stacks by default (net.ipv6.bindv6only=0): a socket on ``::``
without IPV6_V6ONLY also takes the port on every IPv4 address, and whether a
socket set IPV6_V6ONLY cannot be seen in /proc. IPv4-mapped IPv6 addresses
(``::ffff:127.0.0.1``) count as their IPv4 address.

The host check reads /proc only, reusing the readers of ``_devservers``: the
listening TCP sockets of /proc/net/tcp{,6}, the bound but unconnected UDP
sockets of /proc/net/udp{,6}, and the processes holding them.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import os
import posixpath
import re

from ansible_collections.taylordash.ops.plugins.module_utils._devservers import (
    _hex_address,
    boot_time,
    group_holders,
    process_table,
    read_listeners,
    read_process,
    socket_holders,
)

PROTOCOLS = ("tcp", "udp")
DEFAULT_PROTOCOL = "tcp"
DEFAULT_ADDRESS = "0.0.0.0"
SPEC_KEYS = ("port", "protocol", "address")
UNCONNECTED = "07"  # TCP_CLOSE: how /proc/net/udp{,6} shows a bound, unconnected UDP socket
DIGITS = re.compile(r"\A[0-9]+\Z")
DOCKER_PROXY = "docker-proxy"


# --------------------------------------------------------------------------- validation

def _port(value):
    """The port as an int 1-65535, None when it is not one (bools and non-digit strings are not)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and DIGITS.match(value):
        value = int(value)
    if isinstance(value, int) and 1 <= value <= 65535:
        return value
    return None


def _ip(address):
    """ipaddress object of an address literal; IPv4-mapped IPv6 addresses as their IPv4 address."""
    ip = ipaddress.ip_address(address)
    if ip.version == 6 and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def _literal(address):
    """Normalised text of an address literal, IPv4-mapped ones spelled ::ffff:a.b.c.d as _hex_address does."""
    ip = ipaddress.ip_address(address)
    if ip.version == 6 and ip.ipv4_mapped is not None:
        return "::ffff:%s" % ip.ipv4_mapped
    return str(ip)


def overlaps(first, second):
    """True when sockets bound on the two address literals would take the same port (see module doc)."""
    first, second = _ip(first), _ip(second)
    if first == second:
        return True
    for one, other in ((first, second), (second, first)):
        if one.is_unspecified and (one.version == 6 or other.version == 4):
            return True
    return False


def normalize_plan(plan, variable_name="taylordash_port_plan"):
    """(entries, problems): the valid entries sorted by name, and one message per invalid one.

    Each entry is a dict name, port, protocol, address (address normalised, e.g. ``::0`` is ``::``).
    """
    if not isinstance(plan, dict):
        return [], ["%s: must be a dict of service name to a port or to {port, protocol, address}, got %s"
                    % (variable_name, type(plan).__name__)]
    entries, problems = [], []
    for name in sorted(plan, key=str):
        spec = plan[name]
        where = "%s.%s" % (variable_name, name)
        if not isinstance(name, str) or not name.strip():
            problems.append("%s: a service name is empty (entry %r: %r)" % (variable_name, name, spec))
            continue
        if not isinstance(spec, dict):
            spec = {"port": spec}
        errors = []
        unknown = sorted(set(spec) - set(SPEC_KEYS), key=str)
        if unknown:
            errors.append("%s: unknown key(s) %s (allowed: %s)"
                          % (where, ", ".join(str(key) for key in unknown), ", ".join(SPEC_KEYS)))
        port = _port(spec.get("port"))
        if port is None:
            errors.append("%s: port must be an integer 1-65535, got %r" % (where, spec.get("port")))
        protocol = spec.get("protocol", DEFAULT_PROTOCOL)
        if protocol not in PROTOCOLS:
            errors.append("%s: protocol must be one of %s, got %r" % (where, ", ".join(PROTOCOLS), protocol))
        address = spec.get("address", DEFAULT_ADDRESS)
        try:
            if not isinstance(address, str):
                raise ValueError(address)
            address = _literal(address)
        except ValueError:
            errors.append("%s: address must be an IPv4 or IPv6 literal such as 0.0.0.0, 127.0.0.1, :: or ::1, got %r"
                          % (where, address))
        if errors:
            problems.extend(errors)
        else:
            entries.append({"name": name, "port": port, "protocol": protocol, "address": address})
    return entries, problems


def plan_clashes(entries, variable_name="taylordash_port_plan"):
    """One message per entry that shares protocol and port on an overlapping address with later entries."""
    problems = []
    for index, entry in enumerate(entries):
        others = [other for other in entries[index + 1:]
                  if (other["protocol"], other["port"]) == (entry["protocol"], entry["port"])
                  and overlaps(entry["address"], other["address"])]
        if not others:
            continue
        same = all(other["address"] == entry["address"] for other in others)
        problems.append("%s.%s: port %d/%s%s is also planned for %s" % (
            variable_name, entry["name"], entry["port"], entry["protocol"],
            "" if same else " on %s" % entry["address"],
            ", ".join(other["name"] if same else "%s (on %s)" % (other["name"], other["address"])
                      for other in others)))
    return problems


def validate_plan(plan, variable_name="taylordash_port_plan"):
    """(entries, problems) of a plan: normalize_plan() then plan_clashes() of the valid entries."""
    entries, problems = normalize_plan(plan, variable_name)
    return entries, problems + plan_clashes(entries, variable_name)


# --------------------------------------------------------------------------- /proc/net

def parse_net(text, state):
    """Sockets in one state of one /proc/net/{tcp,udp}{,6} file: dicts inode, address, port, family."""
    sockets = []
    for line in text.splitlines():
        fields = line.split()
        if len(fields) < 10 or fields[3] != state or ":" not in fields[1]:
            continue  # header, or a socket in another state
        host, port = fields[1].rsplit(":", 1)
        inode, port = int(fields[9]), int(port, 16)
        if not inode or not port:
            continue
        address, family = _hex_address(host)
        sockets.append({"inode": inode, "address": address, "port": port, "family": family})
    return sockets


def parse_net_udp(text):
    """Bound, unconnected UDP sockets of one /proc/net/udp{,6} file."""
    return parse_net(text, UNCONNECTED)


def read_udp(proc="/proc"):
    """Bound, unconnected UDP sockets (IPv4 and IPv6) of the reader's network namespace."""
    sockets = []
    for name in ("udp", "udp6"):
        try:
            with open(os.path.join(proc, "net", name)) as handle:
                sockets.extend(parse_net_udp(handle.read()))
        except (IOError, OSError):
            continue  # no IPv6 on this host
    return sockets


def read_sockets(proc="/proc"):
    """Listening TCP and bound UDP sockets, each dict inode, address, port, family, protocol."""
    sockets = [dict(sock, protocol="tcp") for sock in read_listeners(proc)]
    sockets.extend(dict(sock, protocol="udp") for sock in read_udp(proc))
    return sockets


# --------------------------------------------------------------------------- holders

def docker_container(cmdline):
    """{'ip', 'port'} a docker-proxy command line forwards to, None for any other process."""
    cmdline = list(cmdline or [])
    if not cmdline or posixpath.basename(cmdline[0]) != DOCKER_PROXY:
        return None
    values = {}
    args = cmdline[1:]
    for index, arg in enumerate(args):
        flag, has_value, value = arg.lstrip("-").partition("=")
        if not arg.startswith("-") or flag not in ("container-ip", "container-port"):
            continue
        if not has_value:
            value = args[index + 1] if index + 1 < len(args) else None
        values[flag] = value
    port = values.get("container-port")
    return {"ip": values.get("container-ip"),
            "port": int(port) if port is not None and DIGITS.match(port) else port}


def published_ports(ps_ports):
    """The host ports in `docker ps --format '{{.Ports}}'` lines (0.0.0.0:80->80/tcp, [::]:5000-5001->5000-5001/tcp,
    ...), sorted; container ports that are not published (8080/tcp) are left out."""
    ports = set()
    for line in ps_ports:
        for first, last in re.findall(r":(\d+)(?:-(\d+))?->", line or ""):
            ports.update(range(int(first), int(last or first) + 1))
    return sorted(ports)


def host_check(entries, own_ports=(), proc="/proc"):
    """(conflicts, free) of valid plan entries against this host's sockets.

    A conflict is a socket of the entry's protocol and port on an overlapping
    address, unless the port is in own_ports. Processes holding the same socket
    are grouped into instances (_devservers.group_holders), one conflict per
    instance root: dict name, port, protocol, address (planned), holder_address,
    holder_pid, holder_cmdline (joined), container (docker_container()). A socket
    whose holder this user cannot see gives one conflict with holder_pid None.
    free lists the names of entries without conflicts, in order.
    """
    own_ports = set(own_ports or ())
    sockets = read_sockets(proc)
    taken = {}
    for entry in entries:
        if entry["port"] in own_ports:
            continue
        taken[entry["name"]] = [sock for sock in sockets
                                if (sock["protocol"], sock["port"]) == (entry["protocol"], entry["port"])
                                and overlaps(entry["address"], sock["address"])]
    inodes = set(sock["inode"] for found in taken.values() for sock in found)
    holders = socket_holders(inodes, proc) if inodes else {}
    table = process_table(proc) if holders else {}
    btime = boot_time(proc) if holders else None
    processes = {}
    conflicts, free = [], []
    for entry in entries:
        found = []
        for sock in taken.get(entry["name"], ()):
            held = {sock["inode"]: holders[sock["inode"]]} if sock["inode"] in holders else {}
            roots = sorted(group_holders(held, table)) or [None]
            for pid in roots:
                if pid is not None and pid not in processes:
                    processes[pid] = read_process(pid, proc, btime)
                info = processes.get(pid) or {}
                cmdline = info.get("cmdline")
                found.append(dict(entry, holder_address=sock["address"], holder_pid=pid,
                                  holder_cmdline=" ".join(cmdline) if cmdline is not None else None,
                                  container=docker_container(cmdline)))
        if found:
            conflicts.extend(found)
        else:
            free.append(entry["name"])
    return conflicts, free


def describe_conflict(conflict, variable_name="taylordash_port_plan"):
    """One self-contained sentence about a conflict, naming the plan entry and the holder."""
    where = "%s.%s: port %d/%s on %s is already in use on this host (bound on %s" % (
        variable_name, conflict["name"], conflict["port"], conflict["protocol"], conflict["address"],
        conflict["holder_address"])
    if conflict["holder_pid"] is None:
        return where + " by a process this user cannot see; run with become to name it)"
    holder = "%s by pid %d: %s" % (where, conflict["holder_pid"], conflict["holder_cmdline"] or "(no command line)")
    container = conflict.get("container")
    if container:
        holder += "; that is docker-proxy publishing container %s port %s" % (container["ip"], container["port"])
    return holder + "); stop it, move the service, or list the port in own_ports if it is ours"


def failure_message(problems, conflicts, variable_name="taylordash_port_plan"):
    """The fail_json message listing every plan problem and every host conflict."""
    parts = []
    if problems:
        parts.append("%d plan error(s)" % len(problems))
    if conflicts:
        taken = set((c["name"], c["port"], c["protocol"]) for c in conflicts)
        parts.append("%d port(s) in use on this host" % len(taken))
    return "%s cannot be used, %s: %s" % (
        variable_name, " and ".join(parts),
        " | ".join(list(problems) + [describe_conflict(c, variable_name) for c in conflicts]))
