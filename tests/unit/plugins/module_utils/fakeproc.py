# -*- coding: utf-8 -*-
"""A fake /proc tree for the tests of the /proc readers (_devservers, _dev_server).

Import it as
``ansible_collections.taylordash.ops.tests.unit.plugins.module_utils.fakeproc``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

BTIME = 1700000000
TCK = os.sysconf("SC_CLK_TCK")
HEADER = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"


# --------------------------------------------------------------------------- fake /proc

def tcp_line(address, port, inode, state="0A"):
    return ("   0: %s:%04X %s:0000 %s 00000000:00000000 00:00000000 00000000     0        0 %d 1 "
            "0000000000000000 100 0 0 10 0\n" % (address, port, "0" * len(address), state, inode))


def stat_line(pid, comm, ppid, pgid=None, state="S", ticks=100):
    fillers = " ".join(["0"] * 15)
    return "%d (%s) %s %d %d %d %s %d 0 0\n" % (pid, comm, state, ppid, pgid or pid, pgid or pid, fillers, ticks)


def proc_entry(pid, ppid=1, cmdline=("sleep",), exe="/usr/bin/sleep", cwd="/", sockets=(), ticks=100, state="S", uid=0):
    return dict(pid=pid, ppid=ppid, cmdline=list(cmdline), exe=exe, cwd=cwd, sockets=list(sockets),
                ticks=ticks, state=state, uid=uid)


def make_proc(root, procs, tcp=(), tcp6=()):
    """A fake /proc: net/tcp{,6}, stat (btime), and per pid stat, status, cmdline, exe, cwd, fd."""
    (root / "net").mkdir(parents=True)
    (root / "net" / "tcp").write_text(HEADER + "".join(tcp_line(*line) for line in tcp))
    (root / "net" / "tcp6").write_text(HEADER + "".join(tcp_line(*line) for line in tcp6))
    (root / "stat").write_text("cpu  1 2 3 4\nbtime %d\nprocesses 9\n" % BTIME)
    for entry in procs:
        base = root / str(entry["pid"])
        (base / "fd").mkdir(parents=True)
        comm = os.path.basename(entry["cmdline"][0]) if entry["cmdline"] else "x"
        (base / "stat").write_text(stat_line(entry["pid"], comm, entry["ppid"], state=entry["state"],
                                             ticks=entry["ticks"]))
        (base / "status").write_text("Name:\t%s\nUid:\t%d\t%d\t%d\t%d\n" % ((comm,) + (entry["uid"],) * 4))
        (base / "cmdline").write_bytes(b"".join(arg.encode() + b"\0" for arg in entry["cmdline"]))
        if entry["exe"]:
            os.symlink(entry["exe"], str(base / "exe"))
        os.symlink(entry["cwd"], str(base / "cwd"))
        os.symlink("/dev/null", str(base / "fd" / "0"))
        for index, inode in enumerate(entry["sockets"]):
            os.symlink("socket:[%d]" % inode, str(base / "fd" / str(3 + index)))
    return str(root)
