# -*- coding: utf-8 -*-
"""Table-driven tests for plugins/module_utils/_devservers.py.

Most tests read a fake /proc tree built in tmp_path; a few spawn real
listeners bound to 127.0.0.1 on port 0 and stop them.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import signal
import socket
import subprocess
import sys
import time

import pytest

from ansible_collections.taylordash.ops.plugins.module_utils import _devservers as ds
from ansible_collections.taylordash.ops.tests.unit.plugins.module_utils.fakeproc import (
    BTIME,
    HEADER,
    TCK,
    make_proc,
    proc_entry,
    stat_line,
    tcp_line,
)

APPS = ds.validate_apps({
    "backend": {"path": "backend", "port": 8000, "kinds": ["uvicorn"]},
    "frontend": {"path": "frontend", "port": 5173, "kinds": ["vite"]},
    "mcp": {"path": "examples/mcp-manager", "port": 8010, "kinds": ["uvicorn", "node"]},
})
ROOT = "/src/td"
UVICORN = ["/src/td/backend/.venv/bin/python3", "-m", "uvicorn", "app:app"]


# --------------------------------------------------------------------------- validate_apps

@pytest.mark.parametrize(
    "spec, message",
    [
        ({"path": "../x", "port": 1, "kinds": ["vite"]}, "apps.a.path"),
        ({"path": "x/../../y", "port": 1, "kinds": ["vite"]}, "apps.a.path"),
        ({"path": "/abs", "port": 1, "kinds": ["vite"]}, "apps.a.path"),
        ({"port": 1, "kinds": ["vite"]}, "apps.a.path"),
        ({"path": "x", "port": 70000, "kinds": ["vite"]}, "apps.a.port"),
        ({"path": "x", "port": 0, "kinds": ["vite"]}, "apps.a.port"),
        ({"path": "x", "port": "http", "kinds": ["vite"]}, "apps.a.port"),
        ({"path": "x", "port": True, "kinds": ["vite"]}, "apps.a.port"),
        ({"path": "x", "port": 1, "kinds": ["django"]}, "apps.a.kinds"),
        ({"path": "x", "port": 1, "kinds": []}, "apps.a.kinds"),
        ({"path": "x", "port": 1}, "apps.a.kinds"),
        ({"path": "x", "port": 1, "kinds": ["vite"], "host": "y"}, "apps.a: unknown key(s) host"),
        ("backend", "apps.a: must be a dict"),
    ],
    ids=["dotdot", "inner-dotdot", "absolute", "no-path", "port-high", "port-zero", "port-text", "port-bool",
         "bad-kind", "no-kinds", "kinds-missing", "unknown-key", "not-a-dict"],
)
def test_validate_apps_rejects(spec, message):
    with pytest.raises(ValueError) as err:
        ds.validate_apps({"a": spec})
    assert message in str(err.value)


def test_validate_apps_normalises():
    apps = ds.validate_apps({"m": {"path": "examples//mcp-manager/", "port": "8010", "kinds": "node"}})
    assert apps == {"m": {"path": "examples/mcp-manager", "port": 8010, "kinds": ["node"]}}


# --------------------------------------------------------------------------- /proc/net/tcp{,6}

@pytest.mark.parametrize(
    "line, expected",
    [
        (tcp_line("0100007F", 8000, 11), [{"inode": 11, "address": "127.0.0.1", "port": 8000, "family": "ipv4"}]),
        (tcp_line("00000000", 5173, 12), [{"inode": 12, "address": "0.0.0.0", "port": 5173, "family": "ipv4"}]),
        (tcp_line("0100007F", 8000, 13, "01"), []),
        (tcp_line("0100007F", 8000, 0), []),
        (tcp_line("00000000000000000000000001000000", 8001, 14),
         [{"inode": 14, "address": "::1", "port": 8001, "family": "ipv6"}]),
        (tcp_line("0" * 32, 22, 15), [{"inode": 15, "address": "::", "port": 22, "family": "ipv6"}]),
        (tcp_line("0000000000000000FFFF00000100007F", 9000, 16),
         [{"inode": 16, "address": "::ffff:127.0.0.1", "port": 9000, "family": "ipv6"}]),
        (tcp_line("000080FE000000000000000001000000", 80, 17),
         [{"inode": 17, "address": "fe80::1", "port": 80, "family": "ipv6"}]),
        (HEADER, []),
    ],
    ids=["v4-loopback", "v4-any", "established-ignored", "no-inode-ignored", "v6-loopback", "v6-any",
         "v4-mapped", "v6-link-local", "header"],
)
def test_parse_net_tcp(line, expected):
    assert ds.parse_net_tcp(HEADER + line) == expected


def test_read_listeners_both_families(tmp_path):
    proc = make_proc(tmp_path, [], tcp=[("0100007F", 8000, 1)], tcp6=[("0" * 32, 8001, 2)])
    assert [(s["port"], s["family"]) for s in ds.read_listeners(proc)] == [(8000, "ipv4"), (8001, "ipv6")]


# --------------------------------------------------------------------------- stat, process

@pytest.mark.parametrize(
    "text, expected",
    [
        ("42 (python3) S 1 42 40 0 -1 " + "0 " * 13 + "12345 0 0",
         {"pid": 42, "comm": "python3", "state": "S", "ppid": 1, "pgid": 42, "sid": 40, "starttime": 12345}),
        (stat_line(7, "weird ) name", 3, pgid=5, state="Z", ticks=99),
         {"pid": 7, "comm": "weird ) name", "state": "Z", "ppid": 3, "pgid": 5, "sid": 5, "starttime": 99}),
        (stat_line(8, "a (b) c", 2, ticks=1),
         {"pid": 8, "comm": "a (b) c", "state": "S", "ppid": 2, "pgid": 8, "sid": 8, "starttime": 1}),
    ],
    ids=["plain", "paren-and-space-in-comm", "nested-parens"],
)
def test_parse_stat(text, expected):
    assert ds.parse_stat(text) == expected


def test_read_process_fields(tmp_path):
    proc = make_proc(tmp_path, [
        proc_entry(10, ppid=1, cmdline=UVICORN, exe="/usr/bin/python3.11", cwd="/src/td/backend", ticks=5 * TCK),
        proc_entry(11, ppid=10, cmdline=["x"], exe=None, uid=987654),
    ])
    info = ds.read_process(10, proc)
    assert info["cmdline"] == UVICORN
    assert (info["pid"], info["ppid"], info["pgid"], info["user"]) == (10, 1, 10, "root")
    assert (info["exe"], info["cwd"]) == ("/usr/bin/python3.11", "/src/td/backend")
    assert (info["start_time"], info["start_ticks"]) == (BTIME + 5, 5 * TCK)
    other = ds.read_process(11, proc)
    assert (other["exe"], other["user"]) == (None, "987654")
    assert ds.read_process(12, proc) is None


@pytest.mark.parametrize(
    "pid, expected",
    [(1, [2, 3, 4, 5]), (2, [3, 4]), (3, [4]), (4, []), (5, []), (99, [])],
    ids=["init", "two-levels", "one-level", "leaf", "sibling-leaf", "unknown"],
)
def test_descendants(pid, expected):
    assert ds.descendants({1: 0, 2: 1, 3: 2, 4: 3, 5: 1}, pid) == expected


# --------------------------------------------------------------------------- classification

@pytest.mark.parametrize(
    "exe, cmdline, kind",
    [
        ("/usr/bin/python3.11", ["python3", "-m", "uvicorn", "app:app", "--reload"], "uvicorn"),
        ("/usr/bin/python3.11", ["python3", "-u", "-m", "uvicorn", "app:app"], "uvicorn"),
        ("/usr/bin/python3.11", ["python3", "-um", "uvicorn", "app:app"], "uvicorn"),
        ("/usr/bin/python3.11", ["python3", "-W", "ignore", "-m", "hypercorn", "app:app"], "hypercorn"),
        ("/usr/bin/python3.11", ["/x/venv/bin/python3", "/x/venv/bin/uvicorn", "app:app"], "uvicorn"),
        (None, ["/x/venv/bin/uvicorn", "app:app"], "uvicorn"),
        ("/usr/bin/python3.11", ["python3", "-c", "import uvicorn; uvicorn.run('a:app')"], "other"),
        ("/usr/bin/python3.11", ["python3", "-c", "print('uvicorn')", "uvicorn"], "other"),
        ("/usr/bin/python3.11", ["python3", "-m", "http.server", "8080"], "http.server"),
        ("/usr/bin/python3.11", ["python3", "-m", "pytest"], "other"),
        ("/usr/bin/python3.11", ["/x/bin/gunicorn", "-w", "2", "app:app"], "gunicorn"),
        ("/usr/bin/python3.11", ["gunicorn: master [app:app]"], "gunicorn"),
        ("/usr/bin/python3.11", ["python3", "-m", "gunicorn", "app:app"], "gunicorn"),
        ("/usr/bin/python3.11", ["/x/bin/hypercorn", "app:app"], "hypercorn"),
        ("/usr/bin/node", ["node", "/w/frontend/node_modules/.bin/vite", "--port", "5173"], "vite"),
        ("/usr/bin/node", ["node", "node_modules/vite/bin/vite.js"], "vite"),
        ("/usr/bin/node", ["node", "--max-old-space-size=4096", "node_modules/.bin/vite", "dev"], "vite"),
        ("/usr/bin/node", ["node", "server.js"], "node"),
        ("/usr/bin/node", ["node", "/usr/bin/npm", "run", "dev"], "node"),
        ("/usr/bin/bash", ["bash", "-c", "uvicorn app:app"], "other"),
        ("/usr/bin/bash", [], "other"),
    ],
    ids=["uvicorn-m", "uvicorn-m-after-flag", "uvicorn-clustered-m", "hypercorn-after-W", "uvicorn-script-path",
         "uvicorn-script-no-exe", "c-importing-uvicorn", "c-with-uvicorn-arg", "http-server", "pytest",
         "gunicorn-script", "gunicorn-proctitle", "gunicorn-m", "hypercorn-script", "vite-bin", "vite-js",
         "vite-node-options", "plain-node", "npm", "bash", "empty-cmdline"],
)
def test_classify(exe, cmdline, kind):
    assert ds.classify(exe, cmdline) == kind


# --------------------------------------------------------------------------- attribution

@pytest.mark.parametrize(
    "kind, cmdline, cwd, app",
    [
        ("uvicorn", UVICORN, "/src/td/backend", "backend"),
        ("uvicorn", UVICORN, "/src/td/backend/app/sub", "backend"),
        ("uvicorn", UVICORN, "/src/td/backend-old", None),
        ("uvicorn", UVICORN, "/src/td/examples/mcp-manager/server", "mcp"),
        ("node", ["node", "x.js"], "/src/td/examples/mcp-manager", "mcp"),
        ("uvicorn", UVICORN, "/elsewhere/backend", None),
        ("uvicorn", UVICORN, "/src/td", None),
        ("vite", ["node", "node_modules/.bin/vite"], "/src/td/backend", None),
        ("node", ["node", "x.js"], "/src/td/frontend", None),
        ("vite", ["node", "node_modules/.bin/vite"], "/src/td/frontend", "frontend"),
        ("vite", ["node", "frontend/node_modules/.bin/vite", "frontend", "--port", "5173"], "/src/td", "frontend"),
        ("vite", ["node", "frontend/node_modules/.bin/vite", "dev", "--port", "5173", "frontend"], "/src/td",
         "frontend"),
        ("vite", ["node", "node_modules/vite/bin/vite.js", "--root", "./frontend"], "/src/td", "frontend"),
        ("vite", ["node", "node_modules/vite/bin/vite.js", "--root=frontend/src"], "/src/td", "frontend"),
        ("vite", ["node", "node_modules/.bin/vite", "--port", "5173"], "/src/td", None),
        ("vite", ["node", "node_modules/.bin/vite", "../../frontend"], "/tmp/a", None),
        ("uvicorn", UVICORN, None, None),
    ],
    ids=["cwd-is-app", "cwd-inside-app", "sibling-prefix", "nested-longest", "second-kind", "outside-root",
         "project-root-itself", "kind-not-allowed", "kind-not-allowed-2", "vite-cwd", "vite-positional",
         "vite-command-then-positional", "vite-root-option", "vite-root-equals", "vite-option-value-not-path",
         "vite-positional-outside", "cwd-unreadable"],
)
def test_attribute(kind, cmdline, cwd, app):
    apps = dict(APPS, examples={"path": "examples", "port": 9999, "kinds": ["uvicorn"]})
    assert ds.attribute(kind, cmdline, cwd, ROOT, apps) == app


# --------------------------------------------------------------------------- grouping and scan

@pytest.mark.parametrize(
    "holders, table, expected",
    [
        ({1: {10, 11}}, {10: 1, 11: 10}, {10: {1}}),
        ({1: {10, 12}}, {10: 1, 11: 10, 12: 11}, {10: {1}}),
        ({1: {10, 11}, 2: {11}}, {10: 1, 11: 10}, {10: {1, 2}}),
        ({1: {10}, 2: {11}}, {10: 1, 11: 10}, {10: {1}, 11: {2}}),
        ({1: {10}, 2: {20}}, {10: 1, 20: 1}, {10: {1}, 20: {2}}),
        ({1: {1, 30}}, {1: 0, 30: 1}, {1: {1}, 30: {1}}),
        ({1: {10, 11, 12}}, {10: 1, 11: 10, 12: 10}, {10: {1}}),
    ],
    ids=["reloader-and-worker", "holder-grandchild", "worker-extra-socket", "child-own-socket",
         "unrelated", "pid1-never-roots", "master-two-workers"],
)
def test_group_holders(holders, table, expected):
    assert ds.group_holders(holders, table) == expected


@pytest.fixture
def fake_proc(tmp_path):
    """Two backends (one --reload with a worker), a vite, a foreign server and pid 1."""
    return make_proc(tmp_path / "proc", [
        proc_entry(1, ppid=0, cmdline=["/sbin/init"], exe="/sbin/init"),
        proc_entry(100, cmdline=UVICORN + ["--reload"], exe="/usr/bin/python3.11", cwd="/src/td/backend",
                   sockets=[1001], ticks=500),
        proc_entry(101, ppid=100, cmdline=["python3", "-c", "from multiprocessing.spawn import spawn_main"],
                   exe="/usr/bin/python3.11", cwd="/src/td/backend", sockets=[1001], ticks=510),
        proc_entry(200, cmdline=UVICORN + ["--port", "8001"], exe="/usr/bin/python3.11", cwd="/src/td/backend",
                   sockets=[2001, 2002], ticks=300),
        proc_entry(300, cmdline=["node", "node_modules/.bin/vite"], exe="/usr/bin/node", cwd="/src/td/frontend",
                   sockets=[3001], ticks=700),
        proc_entry(301, ppid=300, cmdline=["esbuild", "--service"], exe="/x/esbuild", cwd="/src/td/frontend"),
        proc_entry(400, cmdline=["nginx: master"], exe="/usr/sbin/nginx", sockets=[4001], ticks=50),
    ], tcp=[("0100007F", 8000, 1001), ("0100007F", 8001, 2001), ("00000000", 5173, 3001),
            ("00000000", 8010, 4001)],
        tcp6=[("00000000000000000000000001000000", 8001, 2002)])


def test_socket_holders_only_among_given_pids(fake_proc):
    assert ds.socket_holders({1001, 3001}, fake_proc) == {1001: {100, 101}, 3001: {300}}
    assert ds.socket_holders({1001, 3001}, fake_proc, pids=[101, 301]) == {1001: {101}}
    assert ds.socket_holders({1001}, fake_proc, pids=[]) == {}


def test_scan_fake_proc(fake_proc):
    instances = ds.scan(ROOT, APPS, fake_proc)
    summary = [(i["pid"], i["kind"], i["app"], i["ports"], i["descendants"]) for i in instances]
    assert summary == [
        (100, "uvicorn", "backend", [8000], [101]),
        (200, "uvicorn", "backend", [8001], []),
        (300, "vite", "frontend", [5173], [301]),
        (400, "other", None, [8010], []),
    ]
    assert instances[1]["listen"] == [{"address": "127.0.0.1", "port": 8001, "family": "ipv4"},
                                      {"address": "::1", "port": 8001, "family": "ipv6"}]
    assert instances[0]["start_ticks"] == 500 and instances[0]["cwd"] == "/src/td/backend"


def test_analyse(fake_proc):
    apps = dict(APPS, docs={"path": "docs", "port": 5173, "kinds": ["http.server"]})
    result = ds.analyse(ds.scan(ROOT, apps, fake_proc), apps)
    assert result["duplicates"] == {"backend": [100, 200]}
    assert result["conflicts"] == [
        {"type": "off-plan", "app": "backend", "pid": 200, "ports": [8001], "planned_port": 8000},
        {"type": "port-taken", "app": "docs", "port": 5173, "pid": 300, "cmdline": ["node", "node_modules/.bin/vite"]},
        {"type": "port-taken", "app": "mcp", "port": 8010, "pid": 400, "cmdline": ["nginx: master"]},
        {"type": "shared-port", "port": 5173, "apps": ["docs", "frontend"]},
    ]


# --------------------------------------------------------------------------- selection

def inst(pid, app, ports, ticks):
    return {"pid": pid, "app": app, "ports": ports, "start_ticks": ticks}


INSTANCES = [
    inst(10, "backend", [8001], 100),   # oldest, off-plan
    inst(11, "backend", [8000], 300),   # on plan, younger
    inst(12, "backend", [8000], 200),   # on plan, oldest on plan: kept
    inst(20, "frontend", [5174], 900),
    inst(21, "frontend", [5175], 800),  # none on plan: the oldest is kept
    inst(30, "mcp", [8010], 50),
    inst(40, None, [8000], 1),          # foreign
]


@pytest.mark.parametrize(
    "policy, keep_apps, stopped, kept",
    [
        ("duplicates", [], [10, 11, 20], [12, 21, 30]),
        ("all", [], [10, 11, 12, 20, 21, 30], []),
        ("all", ["frontend"], [10, 11, 12, 30], [20, 21]),
        ("duplicates", ["backend"], [20], [10, 11, 12, 21, 30]),
        ("all", ["backend", "frontend", "mcp"], [], [10, 11, 12, 20, 21, 30]),
    ],
    ids=["duplicates", "all", "all-keep-frontend", "duplicates-keep-backend", "keep-everything"],
)
def test_select(policy, keep_apps, stopped, kept):
    stop, keep = ds.select(INSTANCES, APPS, policy, keep_apps)
    assert sorted(i["pid"] for i in stop) == stopped
    assert sorted(i["pid"] for i in keep) == kept
    assert 40 not in [i["pid"] for i in stop + keep]


def test_select_rejects_unknown_policy():
    with pytest.raises(ValueError):
        ds.select(INSTANCES, APPS, "some")


# --------------------------------------------------------------------------- stop refusals (fake /proc)

@pytest.fixture
def chain_proc(tmp_path):
    """init(1) -> sshd(50) -> shell(60) -> module(70); server(80) child of shell."""
    return make_proc(tmp_path / "proc", [
        proc_entry(1, ppid=0, cmdline=["/sbin/init"]),
        proc_entry(50, ppid=1, cmdline=["sshd"]),
        proc_entry(60, ppid=50, cmdline=["bash"]),
        proc_entry(70, ppid=60, cmdline=["python3", "module.py"]),
        proc_entry(80, ppid=60, cmdline=UVICORN, ticks=900),
        proc_entry(90, ppid=1, cmdline=UVICORN, state="Z", ticks=950),
    ])


@pytest.mark.parametrize("pid", [1, 50, 60, 70], ids=["pid1", "grandparent", "parent", "self"])
def test_stop_refuses(chain_proc, monkeypatch, pid):
    kills = []
    monkeypatch.setattr(ds.os, "kill", lambda *args: kills.append(args))
    victims = [dict(inst(80, "backend", [8000], 900), cmdline=UVICORN), dict(inst(pid, "backend", [8001], 100))]
    with pytest.raises(ds.StopRefused) as err:
        ds.stop(victims, 1, 70, chain_proc)
    assert "pid %d" % pid in str(err.value)
    assert kills == []


@pytest.mark.parametrize(
    "pid, ticks",
    [(80, 901), (90, 950), (12345, 1)],
    ids=["pid-reused", "zombie", "vanished"],
)
def test_stop_skips_gone_instance(chain_proc, monkeypatch, pid, ticks):
    kills = []
    monkeypatch.setattr(ds.os, "kill", lambda *args: kills.append(args))
    result = ds.stop([inst(pid, "backend", [8000], ticks)], 1, 70, chain_proc)
    assert kills == []
    assert result == [{"pid": pid, "app": "backend", "ports": [8000], "descendants": [], "signal": None,
                       "ports_freed": [8000], "survivors": []}]


# --------------------------------------------------------------------------- real processes

LISTENER = r"""
import signal, socket, subprocess, sys, time
if sys.argv[1] == "ignore":
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
server = socket.socket()
server.bind(("127.0.0.1", 0))
server.listen(5)
child = subprocess.Popen([sys.executable, "-c", "import sys, time, signal\n"
                          "if sys.argv[1] == 'ignore': signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
                          "time.sleep(300)", sys.argv[1]], pass_fds=[server.fileno()])
print(server.getsockname()[1], child.pid, flush=True)
time.sleep(300)
"""


@pytest.fixture
def listener(tmp_path):
    """Start a listener (child) holding 127.0.0.1:<port> with a grandchild that inherits the socket."""
    started = []

    def start(mode):
        workdir = tmp_path / "proj" / "backend"
        workdir.mkdir(parents=True, exist_ok=True)
        child = subprocess.Popen([sys.executable, "-c", LISTENER, mode], cwd=str(workdir),
                                 stdout=subprocess.PIPE, start_new_session=False)
        port, grandchild = (int(x) for x in child.stdout.readline().split())
        pids = [(pid, ds.read_stat(pid)["starttime"]) for pid in (child.pid, grandchild)]
        started.append((child, pids))
        return child, pids[1], port

    yield start
    for child, pids in started:
        for pid, ticks in pids:
            if ds.alive(pid, ticks):
                os.kill(pid, signal.SIGKILL)
        child.wait()
        child.stdout.close()


def find(instances, pid):
    matches = [i for i in instances if i["pid"] == pid]
    assert len(matches) == 1, instances
    return matches[0]


def port_free(port):
    probe = socket.socket()
    try:
        probe.bind(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        probe.close()


@pytest.mark.parametrize(
    "mode, timeout, expected_signal",
    [("normal", 10, "SIGTERM"), ("ignore", 1, "SIGKILL")],
    ids=["sigterm", "sigkill-after-timeout"],
)
def test_real_listener_found_and_stopped(listener, tmp_path, mode, timeout, expected_signal):
    child, (grandchild, grandchild_ticks), port = listener(mode)
    root = os.path.realpath(str(tmp_path / "proj"))
    apps = ds.validate_apps({"backend": {"path": "backend", "port": port, "kinds": ["uvicorn"]}})
    found = find(ds.scan(root, apps), child.pid)
    assert found["ports"] == [port]
    assert found["listen"] == [{"address": "127.0.0.1", "port": port, "family": "ipv4"}]
    assert found["cwd"] == os.path.join(root, "backend")
    assert found["cmdline"][1:3] == ["-c", LISTENER]
    assert found["kind"] == "other" and found["app"] is None  # python -c is never a server kind
    assert grandchild in found["descendants"]
    assert found["ppid"] == os.getpid()

    started = time.time()
    result = ds.stop([found], timeout, os.getpid())
    assert result[0]["signal"] == expected_signal
    assert result[0]["descendants"] == [grandchild]
    assert result[0]["ports_freed"] == [port] and result[0]["survivors"] == []
    if expected_signal == "SIGKILL":
        assert time.time() - started >= timeout
    child.wait(timeout=5)
    assert not ds.alive(grandchild, grandchild_ticks)
    assert port not in [s["port"] for s in ds.read_listeners()]
    assert port_free(port)


def test_real_stop_refuses_own_ancestor():
    me = ds.read_process(os.getpid())
    parent = dict(ds.read_process(me["ppid"]), app="x", ports=[])
    with pytest.raises(ds.StopRefused):
        ds.stop([parent], 1, os.getpid())
