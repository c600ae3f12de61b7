# -*- coding: utf-8 -*-
"""Table-driven tests for the pure parts of plugins/module_utils/_dev_server.py.

The real-process behaviour (start, stop, descendants, foreign holders) is
tested end to end in tests/unit/plugins/modules/test_dev_server.py.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import stat

import pytest

from ansible_collections.taylordash.ops.plugins.module_utils import _dev_server as d
from ansible_collections.taylordash.ops.tests.unit.plugins.module_utils.fakeproc import make_proc, proc_entry


@pytest.mark.parametrize("state, exists, alive, matches, listening, blocked, step", [
    pytest.param("started", False, False, False, False, False, "start", id="nothing-yet"),
    pytest.param("started", True, False, True, False, False, "start", id="stale-pidfile"),
    pytest.param("started", True, True, True, True, False, "none", id="running-and-listening"),
    pytest.param("started", True, True, False, True, False, "restart", id="other-command"),
    pytest.param("started", True, True, True, False, False, "restart", id="alive-not-listening"),
    pytest.param("started", True, True, False, True, True, "blocked", id="foreign-holder-wins-over-restart"),
    pytest.param("started", False, False, False, False, True, "blocked", id="foreign-holder"),
    pytest.param("restarted", True, True, True, True, False, "restart", id="restart-running"),
    pytest.param("restarted", True, False, True, False, False, "start", id="restart-stale"),
    pytest.param("restarted", False, False, False, False, True, "blocked", id="restart-blocked"),
    pytest.param("stopped", True, True, False, True, False, "stop", id="stop-running"),
    pytest.param("stopped", True, True, False, False, True, "stop", id="stop-ignores-foreign"),
    pytest.param("stopped", True, False, False, False, False, "forget", id="stale-pidfile-removed"),
    pytest.param("stopped", False, False, False, False, True, "none", id="nothing-to-stop"),
])
def test_decide(state, exists, alive, matches, listening, blocked, step):
    assert d.decide(state, exists, alive, matches, listening, blocked) == step


@pytest.mark.parametrize("parent, extra, expected", [
    pytest.param({"PATH": "/bin", "HOME": "/root", "LANG": "C.UTF-8", "SECRET": "x"}, {},
                 {"PATH": "/bin", "HOME": "/root", "LANG": "C.UTF-8"}, id="only-three-inherited"),
    pytest.param({}, {"PORT": 3000, "DEBUG": True}, {"PATH": os.defpath, "PORT": "3000", "DEBUG": "True"},
                 id="default-path-values-as-text"),
    pytest.param({"PATH": "/bin"}, {"PATH": "/opt/node/bin:/bin"}, {"PATH": "/opt/node/bin:/bin"},
                 id="extra-overrides"),
])
def test_child_env(parent, extra, expected):
    assert d.child_env(parent, extra) == expected


@pytest.mark.parametrize("host, expected", [
    pytest.param("127.0.0.1", ["127.0.0.1"], id="ipv4"),
    pytest.param("::1", ["::1"], id="ipv6"),
    pytest.param("0.0.0.0", ["0.0.0.0"], id="any"),
])
def test_host_addresses(host, expected):
    assert d.host_addresses(host) == expected


def test_host_addresses_unresolvable():
    with pytest.raises(ValueError, match="^host: cannot resolve"):
        d.host_addresses("no-such-host.invalid")


RECORD = {"pid": 42, "start_ticks": 7, "command": ["vite"], "chdir": "/srv", "port": 5173,
          "started_at": "2026-01-01T00:00:00Z"}


def test_record_round_trip_atomic_and_0644(tmp_path):
    path = str(tmp_path / "web.pid")
    old = os.umask(0o077)
    try:
        d.write_record(path, RECORD)
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o644
    assert d.read_record(path) == (RECORD, True)
    assert os.listdir(str(tmp_path)) == ["web.pid"]  # no temporary file left


@pytest.mark.parametrize("content", [
    pytest.param("", id="empty"),
    pytest.param("{not json", id="not-json"),
    pytest.param(json.dumps({"pid": 42}), id="no-start-ticks"),
    pytest.param(json.dumps({"pid": "x", "start_ticks": 1}), id="pid-not-a-number"),
    pytest.param(json.dumps([42]), id="not-a-dict"),
])
def test_corrupt_pidfile_is_no_record(tmp_path, content):
    path = tmp_path / "web.pid"
    path.write_text(content)
    assert d.read_record(str(path)) == (None, True)


def test_missing_pidfile(tmp_path):
    assert d.read_record(str(tmp_path / "web.pid")) == (None, False)


@pytest.mark.parametrize("command, chdir, port, same", [
    pytest.param(["vite"], "/srv", 5173, True, id="same"),
    pytest.param(["vite"], "/srv/", 5173, True, id="same-dir-spelled-differently"),
    pytest.param(["vite", "--strictPort"], "/srv", 5173, False, id="other-command"),
    pytest.param(["vite"], "/opt", 5173, False, id="other-dir"),
    pytest.param(["vite"], "/srv", 5174, False, id="other-port"),
])
def test_same_spec(command, chdir, port, same):
    assert d.same_spec(RECORD, command, chdir, port) is same


@pytest.mark.parametrize("found, parts", [
    pytest.param({"pid": 77, "user": "alice", "cmdline": ["python3", "-m", "http.server"], "cwd": "/"},
                 ["port 5173 on 127.0.0.1", "pid 77 (user alice): python3 -m http.server", "left alone"],
                 id="visible"),
    pytest.param({"pid": 77, "user": "alice", "cmdline": [], "cwd": None}, ["(no command line)"], id="kernel"),
    pytest.param({"pid": None, "user": None, "cmdline": None, "cwd": None}, ["cannot see", "become"],
                 id="hidden"),
])
def test_describe_holder(found, parts):
    message = d.describe_holder(5173, "127.0.0.1", found, "/run/web.pid")
    assert all(part in message for part in parts), message


@pytest.mark.parametrize("lines, offset_lines, expected", [
    pytest.param(5, 0, ["line 0", "line 1", "line 2", "line 3", "line 4"], id="short"),
    pytest.param(50, 0, ["line %d" % n for n in range(20, 50)], id="last-30"),
    pytest.param(5, 3, ["line 3", "line 4"], id="after-offset"),
])
def test_log_tail(tmp_path, lines, offset_lines, expected):
    path = tmp_path / "web.log"
    path.write_text("".join("line %d\n" % n for n in range(lines)))
    offset = len("".join("line %d\n" % n for n in range(offset_lines)))
    assert d.log_tail(str(path), offset).splitlines() == expected


def test_log_tail_missing_file(tmp_path):
    assert d.log_tail(str(tmp_path / "nope.log")).startswith("(cannot read ")


def params(tmp_path, **extra):
    base = dict(name="web", command=["vite"], chdir=str(tmp_path), env={}, port=5173, host="127.0.0.1",
                state="started", state_dir=str(tmp_path), log_file=None, startup_timeout=60.0, stop_timeout=10.0)
    base.update(extra)
    return base


@pytest.mark.parametrize("extra, prefix", [
    pytest.param({"name": "a/b"}, "name:", id="slash-in-name"),
    pytest.param({"name": ".hidden"}, "name:", id="dot-name"),
    pytest.param({"port": 0}, "port:", id="port-0"),
    pytest.param({"port": 65536}, "port:", id="port-too-big"),
    pytest.param({"command": []}, "command:", id="empty-command"),
    pytest.param({"chdir": "/nonexistent"}, "chdir:", id="no-chdir"),
    pytest.param({"startup_timeout": 0.0}, "startup_timeout:", id="zero-startup-timeout"),
    pytest.param({"stop_timeout": -1.0}, "stop_timeout:", id="negative-stop-timeout"),
    pytest.param({"host": "no-such-host.invalid"}, "host:", id="bad-host"),
])
def test_validate_rejects(tmp_path, extra, prefix):
    with pytest.raises(ValueError) as info:
        d.validate(params(tmp_path, **extra))
    assert str(info.value).startswith(prefix)


def test_validate_stopped_needs_no_command(tmp_path):
    d.validate(params(tmp_path, state="stopped", command=None, chdir=None))


# --------------------------------------------------------------------------- observe (fake /proc)

@pytest.fixture
def proc(tmp_path):
    """A reloader (10) whose worker (11) holds 127.0.0.1:3000, a foreign server on 0.0.0.0:5173, a hidden
    listener on ::1:5174 (no process holds it) and an unrelated process (40)."""
    return make_proc(tmp_path / "proc", [
        proc_entry(1, ppid=0, cmdline=["/sbin/init"], exe="/sbin/init"),
        proc_entry(10, cmdline=["uvicorn", "--reload"], ticks=500),
        proc_entry(11, ppid=10, cmdline=["python3", "-c", "spawn_main"], sockets=[1001], ticks=510),
        proc_entry(30, cmdline=["python3", "-m", "http.server", "5173"], sockets=[3001], ticks=100),
        proc_entry(40, cmdline=["sleep"], ticks=900),
    ], tcp=[("0100007F", 3000, 1001), ("00000000", 5173, 3001)],
        tcp6=[("00000000000000000000000001000000", 5174, 5001)])


OURS = {"pid": 10, "start_ticks": 500}


@pytest.mark.parametrize("record, port, addresses, expected", [
    pytest.param(OURS, 3000, ["127.0.0.1"], dict(alive=True, tree=[10, 11], ours=[11], foreign=[], hidden=[]),
                 id="worker-holds-our-port"),
    pytest.param(OURS, 3000, ["::"], dict(alive=True, tree=[10, 11], ours=[11], foreign=[], hidden=[]),
                 id="any-address-overlaps"),
    pytest.param(OURS, 3000, ["10.1.2.3"], dict(alive=True, tree=[10, 11], ours=[], foreign=[], hidden=[]),
                 id="other-address-does-not-overlap"),
    pytest.param({"pid": 10, "start_ticks": 499}, 3000, ["127.0.0.1"],
                 dict(alive=False, tree=[], ours=[], foreign=[11], hidden=[]), id="reused-pid-is-not-ours"),
    pytest.param(None, 5173, ["127.0.0.1"], dict(alive=False, tree=[], ours=[], foreign=[30], hidden=[]),
                 id="foreign-on-wildcard"),
    pytest.param(OURS, 5174, ["::1"], dict(alive=True, tree=[10, 11], ours=[], foreign=[], hidden=["::1"]),
                 id="holder-not-visible"),
    pytest.param(None, 8080, ["127.0.0.1"], dict(alive=False, tree=[], ours=[], foreign=[], hidden=[]),
                 id="free-port"),
])
def test_observe(proc, record, port, addresses, expected):
    assert d.observe(record, port, addresses, proc) == expected


def test_holder_of_fake_process(proc):
    assert d.holder(30, proc) == {"pid": 30, "user": "root", "cmdline": ["python3", "-m", "http.server", "5173"],
                                  "cwd": "/"}
    assert d.holder(None, proc) == {"pid": None, "user": None, "cmdline": None, "cwd": None}
