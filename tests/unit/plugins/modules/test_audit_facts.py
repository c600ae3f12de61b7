# -*- coding: utf-8 -*-
"""plugins/modules/audit_facts.py on this machine's /proc (with a listener the test starts), a scan root in
tmp_path and the docker CLI answered here (never the real engine): parameters, read-only commands, check mode."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import subprocess
import sys
import time

import pytest

from ansible.module_utils import basic

from ansible_collections.taylordash.ops.plugins.module_utils import _devservers as ds
from ansible_collections.taylordash.ops.plugins.modules import audit_facts
from ansible_collections.taylordash.ops.tests.unit.plugins.modules import harness

KEYS = ["collected_at", "containers", "docker", "files", "listeners", "processes", "scan_errors", "schema"]
READS = (["info"], ["ps"], ["inspect"], ["images"], ["network", "ls"], ["network", "inspect"])
INSPECT = [{"Id": "c" * 64, "Name": "/taylordash-postgres-1", "RestartCount": 0,
            "Config": {"Image": "postgres:16", "Labels": {"com.docker.compose.project": "taylordash",
                                                          "com.docker.compose.service": "postgres"}},
            "State": {"Status": "exited"}, "NetworkSettings": {"Ports": {}, "Networks": {"taylordash_default": {}}}}]


def no_docker(monkeypatch):
    monkeypatch.setattr(basic.AnsibleModule, "get_bin_path", lambda self, name, *a, **k: None)

    def run_command(self, argv, **kwargs):
        raise AssertionError("no docker CLI: nothing may run, got %r" % (argv,))
    monkeypatch.setattr(basic.AnsibleModule, "run_command", run_command)


def canned_docker(monkeypatch, calls):
    monkeypatch.setattr(basic.AnsibleModule, "get_bin_path",
                        lambda self, name, *a, **k: "/opt/bin/docker" if name == "docker" else None)

    def run_command(self, argv, **kwargs):
        calls.append(list(argv))
        assert argv[0] == "/opt/bin/docker", argv
        sub = argv[1:3] if argv[1] == "network" else argv[1:2]
        assert sub in READS, "not a read: %r" % (argv,)
        if sub == ["info"]:
            return 0, json.dumps({"LoggingDriver": "json-file", "LiveRestoreEnabled": True}), ""
        if sub == ["ps"]:
            return 0, "c" * 64 + "\n", ""
        if sub == ["inspect"]:
            return 0, json.dumps(INSPECT), ""
        if sub == ["images"]:
            return 0, "", ""
        if sub == ["network", "ls"]:
            return 0, "n1\n", ""
        return 0, json.dumps([{"Name": "taylordash_default", "Labels": {}, "Containers": {}}]), ""
    monkeypatch.setattr(basic.AnsibleModule, "run_command", run_command)


def run(args):
    return harness.run_module(audit_facts, args)


@pytest.fixture
def scan_root(tmp_path):
    root = tmp_path / "srv"
    (root / "app").mkdir(parents=True)
    (root / "app" / ".env").write_text("POSTGRES_PASSWORD=pw\n")
    (root / "app" / "notes.txt").write_text("not a candidate\n")
    return root


@pytest.mark.parametrize("check_mode", [False, True], ids=["run", "check-mode"])
def test_without_docker_the_module_still_gathers(monkeypatch, scan_root, check_mode):
    no_docker(monkeypatch)
    outcome, result = run({"scan_roots": [str(scan_root), str(scan_root / "missing")], "project": "taylordash",
                           "_ansible_check_mode": check_mode})
    assert outcome == "exit", result
    assert result["changed"] is False
    audit = result["audit"]
    assert sorted(audit) == KEYS and audit["schema"] == "taylordash.audit.facts/1"
    assert audit["docker"]["available"] is False and audit["docker"]["error"] == "docker CLI not found"
    assert audit["containers"] == []
    assert [(f["path"], f["kind"], f["text"]) for f in audit["files"]] == [
        (str(scan_root / "app" / ".env"), "env", "POSTGRES_PASSWORD=pw\n")]
    assert audit["scan_errors"] == [{"what": "scan_root", "path": str(scan_root / "missing"),
                                     "error": "No such file or directory"}]
    assert all(p["ours"] is False for p in audit["processes"])  # no apps: nothing is ours


@pytest.mark.parametrize("check_mode", [False, True], ids=["run", "check-mode"])
def test_docker_is_only_read(monkeypatch, check_mode):
    calls = []
    canned_docker(monkeypatch, calls)
    outcome, result = run({"project": "taylordash", "old_projects": ["taylordashv1"],
                           "_ansible_check_mode": check_mode})
    assert outcome == "exit", result
    assert result["changed"] is False
    assert [c[1:3] if c[1] == "network" else c[1:2] for c in calls] == [list(sub) for sub in READS]
    audit = result["audit"]
    assert [c["name"] for c in audit["containers"]] == ["taylordash-postgres-1"]
    assert audit["docker"]["stopped_ours"] == [{"name": "taylordash-postgres-1", "project": "taylordash"}]
    assert audit["docker"]["unused_networks_ours"] == []  # the stopped container still uses it
    assert (audit["docker"]["log_driver"], audit["docker"]["live_restore"]) == ("json-file", True)


def listening_ports(pid, wait=10.0):
    deadline = time.time() + wait
    while True:
        listeners = ds.read_listeners()
        holders = ds.socket_holders(set(s["inode"] for s in listeners))
        ports = sorted(s["port"] for s in listeners if pid in holders.get(s["inode"], ()))
        if ports or time.time() > deadline:
            return ports
        time.sleep(0.05)


def test_finds_its_own_listener_as_ours(monkeypatch, tmp_path):
    no_docker(monkeypatch)
    backend = tmp_path / "proj" / "backend"
    backend.mkdir(parents=True)
    server = subprocess.Popen([sys.executable, "-m", "http.server", "0", "--bind", "127.0.0.1"], cwd=str(backend),
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        ports = listening_ports(server.pid)
        assert len(ports) == 1
        root = os.path.realpath(str(tmp_path / "proj"))
        outcome, result = run({"project_root": root,
                               "apps": {"backend": {"path": "backend", "port": ports[0], "kinds": ["http.server"]}}})
    finally:
        server.kill()
        server.wait()
    assert outcome == "exit", result
    mine = [p for p in result["audit"]["processes"] if p["pid"] == server.pid]
    assert len(mine) == 1
    assert (mine[0]["app"], mine[0]["kind"], mine[0]["ours"], mine[0]["cwd"]) == (
        "backend", "http.server", True, os.path.join(root, "backend"))
    assert mine[0]["listeners"] == [{"address": "127.0.0.1", "port": ports[0], "family": "ipv4"}]
    rows = [r for r in result["audit"]["listeners"] if r["port"] == ports[0]]
    assert [(r["pid"], r["address"], r["container"]) for r in rows] == [(server.pid, "127.0.0.1", None)]


@pytest.mark.parametrize(
    "args, message",
    [
        ({"apps": {"backend": {"path": "backend", "port": 70000, "kinds": ["uvicorn"]}}, "project_root": "/x"},
         "apps.backend.port"),
        ({"apps": {"backend": {"path": "backend", "port": 8000, "kinds": ["uvicorn"]}}},
         "project_root is required when apps is not empty"),
        ({"scan_depth": -1}, "scan_depth must be at least 0"),
        ({"max_files": 0}, "max_files must be at least 1"),
        ({"max_file_bytes": 0}, "max_file_bytes must be at least 1"),
        ({"scan_roots": ["relative/dir"]}, "scan_roots must be absolute paths, got relative/dir"),
    ],
    ids=["bad-app", "apps-without-root", "negative-depth", "no-files", "no-bytes", "relative-root"],
)
def test_invalid_parameters_fail_before_reading(monkeypatch, args, message):
    no_docker(monkeypatch)
    monkeypatch.setattr(audit_facts._audit_scan, "gather", lambda *a, **k: pytest.fail("gathered anyway"))
    outcome, result = run(args)
    assert outcome == "fail", result
    assert message in result["msg"]
