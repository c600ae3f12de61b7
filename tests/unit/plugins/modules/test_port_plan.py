# -*- coding: utf-8 -*-
"""Tests for plugins/modules/port_plan.py: plan errors, and real sockets bound by the test process."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import socket

import pytest

from ansible_collections.taylordash.ops.plugins.module_utils import _devservers as ds
from ansible_collections.taylordash.ops.plugins.modules import port_plan
from ansible_collections.taylordash.ops.tests.unit.plugins.modules import harness


def run_module(args):
    """Run port_plan.main(); return ('exit'|'fail', result dict)."""
    return harness.run_module(port_plan, args)


RETURN_KEYS = {"changed", "ports", "problems", "conflicts", "free"}


@pytest.fixture
def bound():
    """bound(kind, listen): a socket of the test process on 127.0.0.1:<free port>, closed afterwards."""
    sockets = []

    def bind(kind=socket.SOCK_STREAM, listen=True):
        sock = socket.socket(socket.AF_INET, kind)
        sockets.append(sock)
        sock.bind(("127.0.0.1", 0))
        if listen and kind == socket.SOCK_STREAM:
            sock.listen(1)
        return sock.getsockname()[1]

    yield bind
    for sock in sockets:
        sock.close()


def my_cmdline():
    return " ".join(ds.read_process(os.getpid())["cmdline"])


# --------------------------------------------------------------------------- real sockets

@pytest.mark.parametrize(
    "kind, protocol",
    [(socket.SOCK_STREAM, "tcp"), (socket.SOCK_DGRAM, "udp")],
    ids=["tcp-listener", "udp-bound"],
)
def test_real_socket_of_the_test_is_a_conflict(bound, kind, protocol):
    port = bound(kind)
    outcome, result = run_module({"plan": {"x": {"port": port, "protocol": protocol}}})
    assert outcome == "fail", result
    assert RETURN_KEYS <= set(result) and result["changed"] is False
    assert result["problems"] == [] and result["free"] == []
    assert result["conflicts"] == [{
        "name": "x", "port": port, "protocol": protocol, "address": "0.0.0.0", "holder_address": "127.0.0.1",
        "holder_pid": os.getpid(), "holder_cmdline": my_cmdline(), "container": None,
    }]
    assert result["msg"].startswith("taylordash_port_plan cannot be used, 1 port(s) in use on this host: "
                                    "taylordash_port_plan.x: port %d/%s on 0.0.0.0 is already in use on this host "
                                    "(bound on 127.0.0.1 by pid %d: " % (port, protocol, os.getpid()))
    assert my_cmdline() in result["msg"]


@pytest.mark.parametrize(
    "extra",
    [{}, {"_ansible_check_mode": True}],
    ids=["default", "check-mode"],
)
def test_real_socket_in_own_ports_passes(bound, extra):
    port = bound()
    outcome, result = run_module(dict({"plan": {"x": port}, "own_ports": [port]}, **extra))
    assert outcome == "exit", result
    assert result == {"changed": False, "ports": [{"name": "x", "port": port, "protocol": "tcp", "address": "0.0.0.0"}],
                      "problems": [], "conflicts": [], "free": ["x"]}


def test_free_port_passes(bound):
    port = bound(listen=False)  # bound, so nobody else takes it meanwhile, but not listening: free
    outcome, result = run_module({"plan": {"x": port, "y": {"port": port, "protocol": "udp"}}})
    assert outcome == "exit", result
    assert (result["conflicts"], result["free"]) == ([], ["x", "y"])


def test_real_socket_on_another_loopback_address_passes(bound):
    port = bound()
    outcome, result = run_module({"plan": {"x": {"port": port, "address": "127.0.0.2"}}})
    assert outcome == "exit", result
    assert result["free"] == ["x"]


def test_real_socket_not_checked_without_check_host(bound):
    port = bound()
    outcome, result = run_module({"plan": {"x": port}, "check_host": False})
    assert outcome == "exit", result
    assert (result["conflicts"], result["free"]) == ([], [])


# --------------------------------------------------------------------------- plan errors

@pytest.mark.parametrize(
    "args, fragments",
    [
        ({"plan": {"minio_console": 9001, "mosquitto_ws": 9001}, "check_host": False},
         ["taylordash_port_plan cannot be used, 1 plan error(s): ",
          "taylordash_port_plan.minio_console: port 9001/tcp is also planned for mosquitto_ws"]),
        ({"plan": {"a": 0, "b": 65536, "c": "abc", "d": True}, "check_host": False},
         ["4 plan error(s)", "taylordash_port_plan.a: port", "taylordash_port_plan.b: port",
          "taylordash_port_plan.c: port", "taylordash_port_plan.d: port"]),
        ({"plan": {"a": {"port": 1, "address": "::2", "protocol": "sctp"}}, "variable_name": "lab_ports"},
         ["lab_ports cannot be used, 1 plan error(s): lab_ports.a: protocol must be one of tcp, udp"]),
    ],
    ids=["audit-clash", "every-bad-port", "variable-name"],
)
def test_plan_errors_fail(args, fragments):
    outcome, result = run_module(args)
    assert outcome == "fail", result
    assert RETURN_KEYS <= set(result) and result["changed"] is False
    for fragment in fragments:
        assert fragment in result["msg"]
    assert len(result["problems"]) == int(fragments[0].split(" plan error")[0].split()[-1])


def test_plan_errors_and_host_conflicts_reported_together(bound):
    port = bound()
    outcome, result = run_module({"plan": {"bad": "abc", "x": port}})
    assert outcome == "fail", result
    assert result["msg"].startswith("taylordash_port_plan cannot be used, 1 plan error(s) and 1 port(s) in use")
    assert "taylordash_port_plan.bad: port must be an integer 1-65535, got 'abc'" in result["msg"]
    assert "taylordash_port_plan.x: port %d/tcp" % port in result["msg"]
    assert [entry["name"] for entry in result["ports"]] == ["x"]


def test_plan_is_required():
    outcome, result = run_module({})
    assert outcome == "fail", result
    assert "plan" in result["msg"]


def test_a_port_our_compose_project_publishes_passes(bound, monkeypatch):
    from ansible.module_utils import basic
    port = bound()
    calls = []

    def run_command(self, argv, **kwargs):
        calls.append(argv)
        return 0, "0.0.0.0:%d->80/tcp, :::%d->80/tcp\n8080/tcp\n" % (port, port), ""
    monkeypatch.setattr(basic.AnsibleModule, "run_command", run_command)
    monkeypatch.setattr(basic.AnsibleModule, "get_bin_path", lambda self, name, required=False: "/usr/bin/docker")
    outcome, result = run_module({"plan": {"x": port}, "own_project": "taylordash"})
    assert outcome == "exit" and result["free"] == ["x"], result
    assert calls and "label=com.docker.compose.project=taylordash" in calls[0]
    monkeypatch.setattr(basic.AnsibleModule, "run_command", lambda self, argv, **kwargs: (0, "", ""))
    outcome, result = run_module({"plan": {"x": port}, "own_project": "taylordash"})
    assert outcome == "fail" and result["conflicts"][0]["port"] == port
