# -*- coding: utf-8 -*-
"""Tests for plugins/modules/dev_server_facts.py, against real listeners started by the test."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re
import subprocess
import sys
import time

import pytest

from ansible_collections.taylordash.ops.plugins.module_utils import _devservers as ds
from ansible_collections.taylordash.ops.plugins.modules import dev_server_facts
from ansible_collections.taylordash.ops.tests.unit.plugins.modules import harness


def run_module(args):
    """Run dev_server_facts.main(); return ('exit'|'fail', result dict)."""
    return harness.run_module(dev_server_facts, args)


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


@pytest.fixture
def http_server(tmp_path):
    """python -m http.server on 127.0.0.1:<free port> in <tmp>/proj/backend: (project root, Popen, port)."""
    backend = tmp_path / "proj" / "backend"
    backend.mkdir(parents=True)
    server = subprocess.Popen([sys.executable, "-m", "http.server", "0", "--bind", "127.0.0.1"], cwd=str(backend),
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ports = listening_ports(server.pid)
    assert len(ports) == 1
    yield os.path.realpath(str(tmp_path / "proj")), server, ports[0]
    server.kill()
    server.wait()


def apps_for(port, kinds=("http.server",)):
    return {"backend": {"path": "backend", "port": port, "kinds": list(kinds)}}


@pytest.mark.parametrize(
    "extra",
    [{}, {"_ansible_check_mode": True}, {"include_foreign": False}],
    ids=["default", "check-mode", "no-foreign"],
)
def test_finds_own_http_server(http_server, extra):
    root, server, port = http_server
    outcome, result = run_module(dict(project_root=root, apps=apps_for(port), **extra))
    assert outcome == "exit", result
    assert result["changed"] is False
    found = result["dev_servers"]
    assert set(found) == {"instances", "ours", "duplicates", "conflicts"}
    mine = [i for i in found["ours"] if i["pid"] == server.pid]
    assert len(mine) == 1, found["ours"]
    inst = mine[0]
    assert (inst["kind"], inst["app"], inst["ports"]) == ("http.server", "backend", [port])
    assert inst["cwd"] == os.path.join(root, "backend")
    assert inst["cmdline"][1:3] == ["-m", "http.server"]
    assert inst["listen"] == [{"address": "127.0.0.1", "port": port, "family": "ipv4"}]
    assert inst in found["instances"]
    assert found["duplicates"] == {}
    assert found["conflicts"] == []
    if extra.get("include_foreign") is False:
        assert all(i["app"] is not None for i in found["instances"])


def test_kind_not_allowed_is_foreign(http_server):
    root, server, port = http_server
    outcome, result = run_module(dict(project_root=root, apps=apps_for(port, ["uvicorn"])))
    assert outcome == "exit", result
    assert result["dev_servers"]["ours"] == []
    inst = [i for i in result["dev_servers"]["instances"] if i["pid"] == server.pid][0]
    assert (inst["kind"], inst["app"]) == ("http.server", None)
    assert {"type": "port-taken", "app": "backend", "port": port, "pid": server.pid,
            "cmdline": inst["cmdline"]} in result["dev_servers"]["conflicts"]


@pytest.mark.parametrize(
    "apps, name",
    [
        ({"backend": {"path": "../backend", "port": 8000, "kinds": ["uvicorn"]}}, "apps.backend.path"),
        ({"backend": {"path": "backend", "port": 70000, "kinds": ["uvicorn"]}}, "apps.backend.port"),
        ({"backend": {"path": "backend", "port": 8000, "kinds": ["flask"]}}, "apps.backend.kinds"),
    ],
    ids=["path-dotdot", "port-too-high", "unknown-kind"],
)
def test_bad_apps_fail(tmp_path, apps, name):
    outcome, result = run_module({"project_root": str(tmp_path), "apps": apps})
    assert outcome == "fail", result
    assert re.search(re.escape(name) + r"\b", result["msg"])


@pytest.mark.parametrize("missing", ["project_root", "apps"])
def test_required_parameters(tmp_path, missing):
    args = {"project_root": str(tmp_path), "apps": {}}
    del args[missing]
    outcome, result = run_module(args)
    assert outcome == "fail", result
    assert missing in result["msg"]
