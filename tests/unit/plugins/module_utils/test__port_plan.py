# -*- coding: utf-8 -*-
"""Table-driven tests for plugins/module_utils/_port_plan.py.

Plan validation is pure; the /proc readers and the host check read a fake
/proc tree built in tmp_path.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest

from ansible_collections.taylordash.ops.plugins.module_utils import _port_plan as pp

VAR = "taylordash_port_plan"
BTIME = 1700000000
HEADER = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
DOCKER_PROXY = ["/usr/bin/docker-proxy", "-proto", "tcp", "-host-ip", "0.0.0.0", "-host-port", "9001",
                "-container-ip", "172.18.0.5", "-container-port", "9001"]


# --------------------------------------------------------------------------- fake /proc

def net_line(address, port, inode, state):
    return ("   0: %s:%04X %s:0000 %s 00000000:00000000 00:00000000 00000000     0        0 %d 2 "
            "0000000000000000 0\n" % (address, port, "0" * len(address), state, inode))


def make_proc(root, procs=(), tcp=(), tcp6=(), udp=(), udp6=()):
    """A fake /proc: net/{tcp,udp}{,6} lines (address, port, inode, state), stat (btime),
    and per process (pid, ppid, cmdline, socket inodes) stat, status, cmdline, cwd and fd."""
    (root / "net").mkdir(parents=True)
    for name, lines in (("tcp", tcp), ("tcp6", tcp6), ("udp", udp), ("udp6", udp6)):
        (root / "net" / name).write_text(HEADER + "".join(net_line(*line) for line in lines))
    (root / "stat").write_text("cpu  1 2 3 4\nbtime %d\n" % BTIME)
    for pid, ppid, cmdline, inodes in procs:
        base = root / str(pid)
        (base / "fd").mkdir(parents=True)
        comm = os.path.basename(cmdline[0]) if cmdline else "x"
        fillers = " ".join(["0"] * 15)
        (base / "stat").write_text("%d (%s) S %d %d %d %s 100 0 0\n" % (pid, comm, ppid, pid, pid, fillers))
        (base / "status").write_text("Name:\t%s\nUid:\t0\t0\t0\t0\n" % comm)
        (base / "cmdline").write_bytes(b"".join(arg.encode() + b"\0" for arg in cmdline))
        os.symlink("/", str(base / "cwd"))
        for index, inode in enumerate(inodes):
            os.symlink("socket:[%d]" % inode, str(base / "fd" / str(3 + index)))
    return str(root)


# --------------------------------------------------------------------------- validation

@pytest.mark.parametrize(
    "plan, expected",
    [
        ({"a": 80}, [{"name": "a", "port": 80, "protocol": "tcp", "address": "0.0.0.0"}]),
        ({"a": "8080"}, [{"name": "a", "port": 8080, "protocol": "tcp", "address": "0.0.0.0"}]),
        ({"a": {"port": 53, "protocol": "udp", "address": "127.0.0.53"}},
         [{"name": "a", "port": 53, "protocol": "udp", "address": "127.0.0.53"}]),
        ({"a": {"port": 1, "address": "0:0::0:1"}}, [{"name": "a", "port": 1, "protocol": "tcp", "address": "::1"}]),
        ({"b": 65535, "a": 1}, [{"name": "a", "port": 1, "protocol": "tcp", "address": "0.0.0.0"},
                                {"name": "b", "port": 65535, "protocol": "tcp", "address": "0.0.0.0"}]),
        ({}, []),
    ],
    ids=["int", "digit-string", "udp-loopback", "ipv6-normalised", "sorted-bounds", "empty"],
)
def test_validate_plan_accepts(plan, expected):
    assert pp.validate_plan(plan) == (expected, [])


@pytest.mark.parametrize(
    "plan, messages",
    [
        ({"minio_console": 9001, "mosquitto_ws": {"port": 9001}},
         ["taylordash_port_plan.minio_console: port 9001/tcp is also planned for mosquitto_ws"]),
        ({"a": 0}, ["taylordash_port_plan.a: port must be an integer 1-65535, got 0"]),
        ({"a": 65536}, ["taylordash_port_plan.a: port must be an integer 1-65535, got 65536"]),
        ({"a": "abc"}, ["taylordash_port_plan.a: port must be an integer 1-65535, got 'abc'"]),
        ({"a": True}, ["taylordash_port_plan.a: port must be an integer 1-65535, got True"]),
        ({"a": -1}, ["taylordash_port_plan.a: port must be an integer 1-65535, got -1"]),
        ({"a": " 80"}, ["taylordash_port_plan.a: port must be an integer 1-65535, got ' 80'"]),
        ({"a": 80.0}, ["taylordash_port_plan.a: port must be an integer 1-65535, got 80.0"]),
        ({"a": None}, ["taylordash_port_plan.a: port must be an integer 1-65535, got None"]),
        ({"a": {"protocol": "udp"}}, ["taylordash_port_plan.a: port must be an integer 1-65535, got None"]),
        ({"a": {"port": 1, "protocol": "sctp"}},
         ["taylordash_port_plan.a: protocol must be one of tcp, udp, got 'sctp'"]),
        ({"a": {"port": 1, "address": "localhost"}}, ["taylordash_port_plan.a: address must be an IPv4 or IPv6"]),
        ({"a": {"port": 1, "address": "256.0.0.1"}}, ["taylordash_port_plan.a: address must be an IPv4 or IPv6"]),
        ({"a": {"port": 1, "address": 2130706433}}, ["taylordash_port_plan.a: address must be an IPv4 or IPv6"]),
        ({"a": {"port": 1, "host": "x"}}, ["taylordash_port_plan.a: unknown key(s) host"]),
        ({"": 80}, ["taylordash_port_plan: a service name is empty"]),
        ({"  ": 80}, ["taylordash_port_plan: a service name is empty"]),
        ([80], ["taylordash_port_plan: must be a dict"]),
        ({"a": {"port": 0, "protocol": "icmp", "address": "x"}},
         ["taylordash_port_plan.a: port", "taylordash_port_plan.a: protocol", "taylordash_port_plan.a: address"]),
        ({"a": 0, "b": "abc", "c": 70, "d": 70}, ["taylordash_port_plan.a: port", "taylordash_port_plan.b: port",
                                                  "taylordash_port_plan.c: port 70/tcp is also planned for d"]),
        ({"a": 9, "b": 9, "c": 9}, ["taylordash_port_plan.a: port 9/tcp is also planned for b, c",
                                    "taylordash_port_plan.b: port 9/tcp is also planned for c"]),
        ({"any": 80, "lo": {"port": 80, "address": "127.0.0.1"}},
         ["taylordash_port_plan.any: port 80/tcp on 0.0.0.0 is also planned for lo (on 127.0.0.1)"]),
        ({"v6any": {"port": 80, "address": "::"}, "lo": {"port": 80, "address": "127.0.0.1"}},
         ["taylordash_port_plan.lo: port 80/tcp on 127.0.0.1 is also planned for v6any (on ::)"]),
        ({"v6any": {"port": 80, "address": "::"}, "v6lo": {"port": 80, "address": "::1"}},
         ["taylordash_port_plan.v6any: port 80/tcp on :: is also planned for v6lo (on ::1)"]),
        ({"a": {"port": 80, "address": "::1"}, "b": {"port": 80, "address": "0::1"}},
         ["taylordash_port_plan.a: port 80/tcp is also planned for b"]),
        ({"a": {"port": 80, "address": "::ffff:127.0.0.1"}, "b": {"port": 80, "address": "127.0.0.1"}},
         ["taylordash_port_plan.a: port 80/tcp on ::ffff:127.0.0.1 is also planned for b (on 127.0.0.1)"]),
        ({"a": {"port": 53, "protocol": "udp"}, "b": {"port": 53, "protocol": "udp", "address": "10.0.0.1"}},
         ["taylordash_port_plan.a: port 53/udp on 0.0.0.0 is also planned for b (on 10.0.0.1)"]),
    ],
    ids=["audit-minio-mosquitto-9001", "port-zero", "port-65536", "port-abc", "port-true", "port-negative",
         "port-spaces", "port-float", "port-none", "port-missing", "bad-protocol", "hostname", "bad-ipv4",
         "address-int", "unknown-key", "empty-name", "blank-name", "not-a-dict", "every-error-of-an-entry",
         "every-entry-reported", "three-way", "any-vs-loopback", "v6-any-vs-ipv4", "v6-any-vs-v6-loopback",
         "v6-same-spelled-differently", "v4-mapped-vs-v4", "udp-clash"],
)
def test_validate_plan_problems(plan, messages):
    _, problems = pp.validate_plan(plan)
    assert len(problems) == len(messages), problems
    for problem, message in zip(problems, messages):
        assert problem.startswith(message), problems


@pytest.mark.parametrize(
    "plan",
    [
        {"a": 9001, "b": {"port": 9001, "protocol": "udp"}},
        {"a": {"port": 80, "address": "127.0.0.1"}, "b": {"port": 80, "address": "127.0.0.2"}},
        {"a": {"port": 80, "address": "::1"}, "b": {"port": 80, "address": "127.0.0.1"}},
        {"a": {"port": 80, "address": "::1"}, "b": {"port": 80, "address": "fe80::1"}},
        {"a": {"port": 80, "address": "0.0.0.0"}, "b": {"port": 80, "address": "::1"}},
        {"a": 80, "b": 81},
    ],
    ids=["tcp-and-udp-same-port", "v4-loopback-1-vs-2", "v6-loopback-vs-v4-loopback", "v6-distinct",
         "v4-any-vs-v6-loopback", "different-ports"],
)
def test_validate_plan_no_clash(plan):
    entries, problems = pp.validate_plan(plan)
    assert problems == [] and len(entries) == 2


def test_variable_name_in_messages():
    _, problems = pp.validate_plan({"x": 0, "y": 5, "z": 5}, "my_plan")
    assert [p.split(":")[0] for p in problems] == ["my_plan.x", "my_plan.y"]


@pytest.mark.parametrize(
    "first, second, expected",
    [
        ("0.0.0.0", "10.1.2.3", True), ("0.0.0.0", "0.0.0.0", True), ("127.0.0.1", "127.0.0.2", False),
        ("::", "127.0.0.1", True), ("::", "fe80::1", True), ("0.0.0.0", "::1", False), ("0.0.0.0", "::", True),
        ("::ffff:127.0.0.1", "127.0.0.1", True), ("::ffff:0.0.0.0", "127.0.0.1", True), ("::1", "127.0.0.1", False),
    ],
    ids=["v4-any", "v4-any-both", "v4-distinct", "v6-any-v4", "v6-any-v6", "v4-any-v6-loopback", "v4-any-v6-any",
         "mapped", "mapped-any", "loopbacks-of-two-families"],
)
def test_overlaps(first, second, expected):
    assert pp.overlaps(first, second) is expected
    assert pp.overlaps(second, first) is expected


# --------------------------------------------------------------------------- /proc/net/udp{,6}

@pytest.mark.parametrize(
    "line, expected",
    [
        (net_line("3500007F", 53, 21, "07"), [{"inode": 21, "address": "127.0.0.53", "port": 53, "family": "ipv4"}]),
        (net_line("00000000", 5353, 22, "07"), [{"inode": 22, "address": "0.0.0.0", "port": 5353, "family": "ipv4"}]),
        (net_line("0100007F", 40000, 23, "01"), []),
        (net_line("0100007F", 514, 0, "07"), []),
        (net_line("0100007F", 0, 24, "07"), []),
        (net_line("0" * 32, 123, 25, "07"), [{"inode": 25, "address": "::", "port": 123, "family": "ipv6"}]),
        (net_line("00000000000000000000000001000000", 161, 26, "07"),
         [{"inode": 26, "address": "::1", "port": 161, "family": "ipv6"}]),
        (HEADER, []),
    ],
    ids=["v4-loopback", "v4-any", "connected-ignored", "no-inode-ignored", "unbound-ignored", "v6-any", "v6-loopback",
         "header"],
)
def test_parse_net_udp(line, expected):
    assert pp.parse_net_udp(HEADER + line) == expected


def test_read_sockets_tcp_and_udp(tmp_path):
    proc = make_proc(tmp_path, tcp=[("0100007F", 8000, 1, "0A"), ("0100007F", 8001, 2, "01")],
                     tcp6=[("0" * 32, 8002, 3, "0A")], udp=[("00000000", 53, 4, "07")],
                     udp6=[("0" * 32, 54, 5, "07"), ("0" * 32, 55, 6, "01")])
    assert [(s["protocol"], s["port"], s["family"], s["inode"]) for s in pp.read_sockets(proc)] == [
        ("tcp", 8000, "ipv4", 1), ("tcp", 8002, "ipv6", 3), ("udp", 53, "ipv4", 4), ("udp", 54, "ipv6", 5)]


def test_read_udp_without_ipv6(tmp_path):
    proc = make_proc(tmp_path, udp=[("00000000", 53, 4, "07")])
    os.remove(os.path.join(proc, "net", "udp6"))
    assert [s["port"] for s in pp.read_udp(proc)] == [53]


# --------------------------------------------------------------------------- docker-proxy

@pytest.mark.parametrize(
    "cmdline, expected",
    [
        (DOCKER_PROXY, {"ip": "172.18.0.5", "port": 9001}),
        (["docker-proxy", "--container-ip=fd00::5", "--container-port=53", "-proto", "udp"],
         {"ip": "fd00::5", "port": 53}),
        (["/usr/libexec/docker/docker-proxy", "-container-port", "80"], {"ip": None, "port": 80}),
        (["/usr/bin/python3", "-container-ip", "1.2.3.4"], None),
        ([], None),
        (None, None),
    ],
    ids=["classic-args", "equals-form", "ip-missing", "not-docker-proxy", "empty", "unknown"],
)
def test_docker_container(cmdline, expected):
    assert pp.docker_container(cmdline) == expected


# --------------------------------------------------------------------------- host check

@pytest.fixture
def host(tmp_path):
    """Fake host: nginx (master 100 + worker 101) on 0.0.0.0:80, docker-proxy 200 on 0.0.0.0:9001,
    a resolver 300 on udp 127.0.0.53:53, a hidden holder of [::]:8443, and nobody on 127.0.0.1:5000."""
    return make_proc(
        tmp_path,
        procs=[(100, 1, ["nginx: master process /usr/sbin/nginx"], [1001]),
               (101, 100, ["nginx: worker process"], [1001]),
               (200, 1, DOCKER_PROXY, [2001]),
               (300, 1, ["/lib/systemd/systemd-resolved"], [3001])],
        tcp=[("00000000", 80, 1001, "0A"), ("00000000", 9001, 2001, "0A"), ("0100007F", 5000, 4001, "01")],
        tcp6=[("0" * 32, 8443, 5001, "0A")],
        udp=[("3500007F", 53, 3001, "07")],
    )


def conflict(name, port, address, holder_address, pid, cmdline, container=None, protocol="tcp"):
    return {"name": name, "port": port, "protocol": protocol, "address": address, "holder_address": holder_address,
            "holder_pid": pid, "holder_cmdline": cmdline, "container": container}


@pytest.mark.parametrize(
    "plan, own_ports, conflicts, free",
    [
        ({"web": 80}, [], [conflict("web", 80, "0.0.0.0", "0.0.0.0", 100, "nginx: master process /usr/sbin/nginx")],
         []),
        ({"minio_console": 9001}, [],
         [conflict("minio_console", 9001, "0.0.0.0", "0.0.0.0", 200, " ".join(DOCKER_PROXY),
                   {"ip": "172.18.0.5", "port": 9001})], []),
        ({"minio_console": 9001, "web": 80}, [9001, 80], [], ["minio_console", "web"]),
        ({"dns": {"port": 53, "protocol": "udp"}}, [],
         [conflict("dns", 53, "0.0.0.0", "127.0.0.53", 300, "/lib/systemd/systemd-resolved", protocol="udp")], []),
        ({"dns": {"port": 53, "protocol": "udp", "address": "127.0.0.54"}}, [], [], ["dns"]),
        ({"dns": 53}, [], [], ["dns"]),
        ({"web": {"port": 80, "protocol": "udp"}}, [], [], ["web"]),
        ({"api": {"port": 8443, "address": "127.0.0.1"}}, [],
         [conflict("api", 8443, "127.0.0.1", "::", None, None)], []),
        ({"web": {"port": 80, "address": "::1"}}, [], [], ["web"]),
        ({"web": {"port": 80, "address": "::"}}, [],
         [conflict("web", 80, "::", "0.0.0.0", 100, "nginx: master process /usr/sbin/nginx")], []),
        ({"backend": {"port": 5000, "address": "127.0.0.1"}}, [], [], ["backend"]),
        ({"a": 1, "b": 2}, [], [], ["a", "b"]),
    ],
    ids=["holder-with-cmdline", "docker-proxy-container", "own-ports", "udp-holder", "udp-other-address",
         "tcp-not-udp", "udp-not-tcp", "hidden-holder-on-v6-any", "v6-loopback-vs-v4-any", "v6-any-vs-v4-any",
         "established-is-not-listening", "all-free"],
)
def test_host_check(host, plan, own_ports, conflicts, free):
    entries, problems = pp.validate_plan(plan)
    assert problems == []
    assert pp.host_check(entries, own_ports, host) == (conflicts, free)


def test_host_check_messages(host):
    entries, _ = pp.validate_plan({"minio_console": 9001, "web": 80, "api": {"port": 8443}})
    conflicts, free = pp.host_check(entries, [], host)
    assert free == []
    messages = [pp.describe_conflict(c, VAR) for c in conflicts]
    assert messages[0].startswith("taylordash_port_plan.api: port 8443/tcp on 0.0.0.0 is already in use on this host "
                                  "(bound on :: by a process this user cannot see")
    assert messages[1].startswith("taylordash_port_plan.minio_console: port 9001/tcp on 0.0.0.0 is already in use")
    assert "by pid 200: /usr/bin/docker-proxy -proto tcp" in messages[1]
    assert "docker-proxy publishing container 172.18.0.5 port 9001" in messages[1]
    assert "by pid 100: nginx: master process /usr/sbin/nginx" in messages[2]
    assert "own_ports" in messages[2]
    text = pp.failure_message(["taylordash_port_plan.x: port must be an integer 1-65535, got 0"], conflicts, VAR)
    assert text.startswith("taylordash_port_plan cannot be used, 1 plan error(s) and 3 port(s) in use on this host: ")
    assert all(part in text for part in messages + ["taylordash_port_plan.x: port must be"])


@pytest.mark.parametrize("lines, ports", [
    (["0.0.0.0:80->80/tcp, :::80->80/tcp", "0.0.0.0:443->443/tcp"], [80, 443]),
    (["127.0.0.1:5432->5432/tcp", "8080/tcp", ""], [5432]),
    (["[::]:5000-5002->5000-5002/tcp"], [5000, 5001, 5002]),
    (["0.0.0.0:1883->1883/tcp, 9001/tcp"], [1883]),
    ([], []),
])
def test_published_ports_reads_docker_ps(lines, ports):
    assert pp.published_ports(lines) == ports
