# -*- coding: utf-8 -*-
"""Tests for plugins/modules/dev_server_stop.py, against real listeners started by the test."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re
import subprocess
import sys
import time

import pytest

from ansible.module_utils import basic

from ansible_collections.taylordash.ops.plugins.module_utils import _devservers as ds
from ansible_collections.taylordash.ops.plugins.modules import dev_server_stop
from ansible_collections.taylordash.ops.tests.unit.plugins.modules import harness


def run_module(args):
    """Run dev_server_stop.main(); return ('exit'|'fail', result dict)."""
    return harness.run_module(dev_server_stop, args)


def listening_ports(pid, wait=10.0):
    """Ports pid listens on, waiting until it listens at all."""
    deadline = time.time() + wait
    while True:
        listeners = ds.read_listeners()
        holders = ds.socket_holders(set(s["inode"] for s in listeners))
        ports = sorted(s["port"] for s in listeners if pid in holders.get(s["inode"], ()))
        if ports or time.time() > deadline:
            return ports
        time.sleep(0.05)


def running(server):
    """True while a Popen child runs (a zombie waiting for us to reap it does not count)."""
    stat = ds.read_stat(server.pid)
    return server.poll() is None and stat is not None and stat["state"] != "Z"


@pytest.fixture
def servers(tmp_path):
    """Two python -m http.server in <tmp>/proj/backend, started one after the other.

    Returns (project root, [(Popen, port), ...]); the first is the older.
    """
    backend = tmp_path / "proj" / "backend"
    backend.mkdir(parents=True)
    started = []
    for _ in range(2):
        server = subprocess.Popen([sys.executable, "-m", "http.server", "0", "--bind", "127.0.0.1"],
                                  cwd=str(backend), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        ports = listening_ports(server.pid)
        started.append((server, ports[0] if ports else None))
    assert all(port for _, port in started)
    yield os.path.realpath(str(tmp_path / "proj")), started
    for server, _ in started:
        server.kill()
        server.wait()


def args_for(root, port, **extra):
    return dict(project_root=root, apps={"backend": {"path": "backend", "port": port, "kinds": ["http.server"]}},
                **extra)


def test_check_mode_lists_but_does_not_stop(servers):
    root, ((older, planned), (younger, extra_port)) = servers
    outcome, result = run_module(args_for(root, planned, _ansible_check_mode=True, _ansible_diff=True))
    assert outcome == "exit", result
    assert result["changed"] is True
    assert result["stopped"] == [{"pid": younger.pid, "app": "backend", "ports": [extra_port], "descendants": [],
                                  "signal": None, "ports_freed": [extra_port], "survivors": []}]
    assert result["kept"] == [{"pid": older.pid, "app": "backend", "ports": [planned]}]
    assert result["ports_freed"] == [extra_port]
    # What the scan found, as dev_server_facts says it: both are ours, a duplicate, the younger off-plan.
    assert sorted(inst["pid"] for inst in result["dev_servers"]["ours"]) == sorted([older.pid, younger.pid])
    assert result["dev_servers"]["duplicates"] == {"backend": sorted([older.pid, younger.pid])}
    assert [c["pid"] for c in result["dev_servers"]["conflicts"] if c["type"] == "off-plan"] == [younger.pid]
    assert "backend %d %d" % (younger.pid, extra_port) in result["diff"]["before"]
    assert str(younger.pid) not in result["diff"]["after"]
    assert running(older) and running(younger)


def test_stops_duplicate_then_idempotent(servers):
    root, ((older, planned), (younger, extra_port)) = servers
    outcome, result = run_module(args_for(root, planned, timeout=5))
    assert outcome == "exit", result
    assert result["changed"] is True
    assert [(s["pid"], s["signal"], s["ports_freed"]) for s in result["stopped"]] == [
        (younger.pid, "SIGTERM", [extra_port])]
    assert result["ports_freed"] == [extra_port]
    assert "diff" not in result
    younger.wait(timeout=5)
    assert running(older)

    outcome, again = run_module(args_for(root, planned))
    assert outcome == "exit", again
    assert again["changed"] is False
    assert again["stopped"] == [] and again["ports_freed"] == []
    assert again["kept"] == [{"pid": older.pid, "app": "backend", "ports": [planned]}]


def test_policy_all_with_keep_apps(servers):
    root, ((older, planned), (younger, _)) = servers
    outcome, result = run_module(args_for(root, planned, policy="all", keep_apps=["backend"]))
    assert outcome == "exit", result
    assert result["changed"] is False and result["stopped"] == []
    assert sorted(k["pid"] for k in result["kept"]) == sorted([older.pid, younger.pid])

    outcome, result = run_module(args_for(root, planned, policy="all", timeout=5))
    assert outcome == "exit", result
    assert sorted(s["pid"] for s in result["stopped"]) == sorted([older.pid, younger.pid])
    assert result["kept"] == []
    older.wait(timeout=5)
    younger.wait(timeout=5)


def test_off_plan_keeps_oldest_with_warning(servers, monkeypatch):
    root, ((older, _), (younger, _)) = servers
    warnings = []
    monkeypatch.setattr(basic.AnsibleModule, "warn", lambda self, msg: warnings.append(msg))
    outcome, result = run_module(args_for(root, 1, _ansible_check_mode=True))
    assert outcome == "exit", result
    assert [k["pid"] for k in result["kept"]] == [older.pid]
    assert [s["pid"] for s in result["stopped"]] == [younger.pid]
    assert any("planned port 1" in w for w in warnings)


@pytest.mark.parametrize("pid_of", [lambda: 1, os.getpid, os.getppid], ids=["pid1", "self", "parent"])
def test_refuses_pid1_self_and_ancestors(tmp_path, monkeypatch, pid_of):
    pid = pid_of()
    fake = {"pid": pid, "app": "backend", "ports": [9], "start_ticks": 1, "descendants": [], "cmdline": ["x"]}
    monkeypatch.setattr(dev_server_stop, "scan", lambda root, apps: [fake])
    kills = []
    monkeypatch.setattr(ds.os, "kill", lambda *args: kills.append(args))
    for extra in ({}, {"_ansible_check_mode": True}):
        outcome, result = run_module(args_for(str(tmp_path), 8000, policy="all", **extra))
        assert outcome == "fail", result
        assert "refusing to stop pid %d" % pid in result["msg"]
    assert kills == []


@pytest.mark.parametrize(
    "extra, apps, name",
    [
        ({"timeout": -1}, None, "timeout"),
        ({"keep_apps": ["frontend"]}, None, "keep_apps"),
        ({"policy": "everything"}, None, "policy"),
        ({}, {"backend": {"path": "backend", "port": 70000, "kinds": ["uvicorn"]}}, "apps.backend.port"),
        ({}, {"backend": {"path": "x/../../y", "port": 8000, "kinds": ["uvicorn"]}}, "apps.backend.path"),
        ({}, {"backend": {"path": "backend", "port": 8000, "kinds": ["rails"]}}, "apps.backend.kinds"),
    ],
    ids=["timeout-negative", "keep-apps-unknown", "policy-unknown", "port-too-high", "path-dotdot", "bad-kind"],
)
def test_bad_parameters_fail(tmp_path, monkeypatch, extra, apps, name):
    kills = []
    monkeypatch.setattr(ds.os, "kill", lambda *args: kills.append(args))
    args = args_for(str(tmp_path), 8000, **extra)
    if apps:
        args["apps"] = apps
    outcome, result = run_module(args)
    assert outcome == "fail", result
    assert re.search(re.escape(name) + r"\b", result["msg"])
    assert kills == []
