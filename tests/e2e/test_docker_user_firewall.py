"""docker_user_firewall against real iptables, in network namespaces of the test's own (never the host's tables).

Four namespaces, each joined to ``host`` by a veth pair:

* ``host`` emulates the Docker host: a DOCKER-USER chain jumped to from FORWARD, the published address
  10.91.0.1 (on lo), a DNAT of 10.91.0.1:15432 to the "container" 10.91.3.2:5432, forwarding on;
  the module runs here (``ip netns exec <host> ansible-playbook ...``).
* ``app`` (10.91.1.2, allowed) and ``other`` (10.91.2.2, not allowed) are the clients;
* ``box`` (10.91.3.2) is the container, an HTTP server on 5432.

The rule-level tests read ``iptables -S`` in ``host``; the traffic test makes real HTTP requests through
the DNAT: the allowed client gets an answer (the replies pass too), the other one times out.
"""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import ROOT, Run, ansible_env, sh

PREFIX = "tdfw-e2e-"
NAMES = ("host", "app", "other", "box")
PUBLISHED = "10.91.0.1"
PORT = 15432
APP, OTHER, BOX = "10.91.1.2", "10.91.2.2", "10.91.3.2"
LINKS = {"app": ("10.91.1.1", APP), "other": ("10.91.2.1", OTHER), "box": ("10.91.3.1", BOX)}
CHAIN = "TAYLORDASH"


def ns(name):
    return PREFIX + name


def in_ns(name, *cmd, check=True):
    return sh("ip", "netns", "exec", ns(name), *cmd, check=check)


def cleanup():
    for name in NAMES:
        sh("ip", "netns", "del", ns(name), check=False)


@pytest.fixture(scope="module")
def net():
    """The four namespaces, wired up and emulating Docker in host; deleted afterwards."""
    cleanup()
    server = None
    try:
        for name in NAMES:
            sh("ip", "netns", "add", ns(name))
            in_ns(name, "ip", "link", "set", "lo", "up")
        for name, (host_ip, peer_ip) in LINKS.items():
            sh("ip", "link", "add", "tdfw-%s" % name, "netns", ns("host"), "type", "veth", "peer", "name", "eth0",
               "netns", ns(name))
            in_ns("host", "ip", "addr", "add", host_ip + "/24", "dev", "tdfw-%s" % name)
            in_ns("host", "ip", "link", "set", "tdfw-%s" % name, "up")
            in_ns(name, "ip", "addr", "add", peer_ip + "/24", "dev", "eth0")
            in_ns(name, "ip", "link", "set", "eth0", "up")
            in_ns(name, "ip", "route", "add", "default", "via", host_ip)
        in_ns("host", "ip", "addr", "add", PUBLISHED + "/32", "dev", "lo")
        in_ns("host", "sysctl", "-q", "-w", "net.ipv4.ip_forward=1")
        # what the Docker engine sets up: DOCKER-USER first in FORWARD, the DNAT of the published port
        in_ns("host", "iptables", "-N", "DOCKER-USER")
        in_ns("host", "iptables", "-A", "FORWARD", "-j", "DOCKER-USER")
        in_ns("host", "iptables", "-t", "nat", "-A", "PREROUTING", "-d", PUBLISHED, "-p", "tcp", "--dport", str(PORT),
              "-j", "DNAT", "--to-destination", "%s:5432" % BOX)
        server = subprocess.Popen(["ip", "netns", "exec", ns("box"), sys.executable, "-m", "http.server", "5432",
                                   "--bind", BOX], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(50):
            if in_ns("host", sys.executable, "-c", "import socket; socket.create_connection(('%s', 5432), 1)" % BOX,
                     check=False).returncode == 0:
                break
            time.sleep(0.1)
        else:
            raise AssertionError("the HTTP server in %s does not answer" % ns("box"))
        yield
    finally:
        if server is not None:
            server.kill()
            server.wait()
        cleanup()


def run_module(args, check=False):
    """The module in a tiny playbook, run by ansible-playbook inside the host namespace."""
    play = [{"hosts": "localhost", "connection": "local", "gather_facts": False,
             "tasks": [{"name": "Firewall", "taylordash.ops.docker_user_firewall": args, "register": "fw"},
                       {"name": "Result", "ansible.builtin.debug": {"var": "fw"}}]}]
    path = ROOT / ".cache" / "tdfw-e2e-play.yml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps(play))
    cmd = ["ip", "netns", "exec", ns("host"), "ansible-playbook", "-i", "localhost,", "-e",
           "ansible_python_interpreter=" + sys.executable, "--diff", str(path)] + (["--check"] if check else [])
    proc = subprocess.run(cmd, cwd=ROOT, env=ansible_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, timeout=300, check=False)
    return Run(proc)


def table():
    return in_ns("host", "iptables", "-S").stdout.splitlines()


def chain_lines():
    return [line for line in table() if line.startswith("-A %s " % CHAIN)]


def docker_user():
    return [line for line in table() if line.startswith("-A DOCKER-USER")]


def fetch(client):
    """Whether an HTTP GET from client to the published address answers within 3 seconds."""
    script = ("import urllib.request, sys\n"
              "try:\n urllib.request.urlopen('http://%s:%d/', timeout=3).read()\n"
              "except Exception as exc:\n print(exc); sys.exit(1)\n" % (PUBLISHED, PORT))
    return in_ns(client, sys.executable, "-c", script, check=False).returncode == 0


RULES = [{"name": "postgres", "port": PORT, "address": PUBLISHED, "allow": [APP]},
         {"name": "mosquitto", "port": 1883, "protocol": "udp", "allow": [APP, "10.91.9.0/24"]}]


def test_without_rules_both_clients_connect(net):
    assert fetch("app") and fetch("other")


def test_check_mode_changes_nothing(net):
    run = run_module({"rules": RULES}, check=True)
    assert run.rc == 0 and run.changed == 1, run
    assert chain_lines() == [] and docker_user() == []


def test_rules_applied(net):
    run = run_module({"rules": RULES})
    assert run.rc == 0 and run.changed == 1, run
    match = "-p tcp -m conntrack --ctstate DNAT --ctorigdst %s --ctorigdstport %d -m comment --comment postgres" % (
        PUBLISHED, PORT)
    udp = "-p udp -m conntrack --ctstate DNAT --ctorigdstport 1883 -m comment --comment mosquitto"
    assert chain_lines() == [
        "-A TAYLORDASH -m conntrack --ctstate RELATED,ESTABLISHED -j RETURN",
        "-A TAYLORDASH -s %s/32 %s -j RETURN" % (APP, match),
        "-A TAYLORDASH %s -j DROP" % match,
        "-A TAYLORDASH -s %s/32 %s -j RETURN" % (APP, udp),
        "-A TAYLORDASH -s 10.91.9.0/24 %s -j RETURN" % udp,
        "-A TAYLORDASH %s -j DROP" % udp,
        "-A TAYLORDASH -j RETURN",
    ]
    assert docker_user() == ["-A DOCKER-USER -j TAYLORDASH"]
    assert "-A TAYLORDASH -s %s/32 %s -j RETURN" % (APP, match) in run.out  # the returned rules


def test_only_the_allowed_client_connects(net):
    assert fetch("app"), "the allowed client gets no answer"
    assert not fetch("other"), "the client that is not allowed still connects"


def test_second_run_changes_nothing(net):
    run = run_module({"rules": RULES})
    assert run.rc == 0 and run.changed == 0, run


def test_jump_moved_back_to_the_top(net):
    in_ns("host", "iptables", "-I", "DOCKER-USER", "1", "-j", "RETURN")
    in_ns("host", "iptables", "-A", "DOCKER-USER", "-j", CHAIN)
    run = run_module({"rules": RULES})
    assert run.rc == 0 and run.changed == 1, run
    assert docker_user() == ["-A DOCKER-USER -j TAYLORDASH", "-A DOCKER-USER -j RETURN"]
    in_ns("host", "iptables", "-D", "DOCKER-USER", "-j", "RETURN")


def run_guarded(tmp_path, guard=True, published=True, rules=None):
    """The module then the infrastructure role's firewall_guard.yml (start-stop-daemon, paths under tmp_path),
    run inside the host namespace like run_module: the guard it starts watches that namespace's tables.
    With guard=False, as firewall.yml runs for a deploy with infrastructure_firewall_guard off:
    firewall_guard_remove.yml first, then the module without a state; with published=False too, as for a host
    that no longer publishes ports for other hosts: firewall_guard_remove.yml only."""
    role = ROOT / "roles" / "infrastructure"
    firewall = {"rules": rules or RULES, "guard_interval": "{{ infrastructure_firewall_guard_interval }}"}
    if guard:
        firewall["guard_state"] = "{{ _infrastructure_guard_state }}"
    tasks = [{"name": "Firewall", "register": "_infrastructure_firewall", "taylordash.ops.docker_user_firewall": firewall}]
    if guard:
        tasks.append({"name": "Guard", "ansible.builtin.import_tasks": str(role / "tasks" / "firewall_guard.yml")})
    else:
        remove = {"name": "No guard", "ansible.builtin.import_tasks": str(role / "tasks" / "firewall_guard_remove.yml")}
        tasks = [remove] + (tasks if published else [])
    play = [{"hosts": "localhost", "connection": "local", "gather_facts": False,
             "vars_files": [str(role / "defaults" / "main.yml"), str(role / "vars" / "main.yml")],
             "vars": {"taylordash_host_plan": {"publish": RULES if published else []}},
             "tasks": tasks}]
    path = ROOT / ".cache" / "tdfw-e2e-guard.yml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps(play))
    overrides = {"role_path": str(role), "infrastructure_firewall_guard_manager": "start-stop-daemon",
                 "infrastructure_firewall_guard_interval": 1,
                 "infrastructure_firewall_guard_log": str(tmp_path / "guard.log"),
                 "_infrastructure_guard_program": str(tmp_path / "bin" / "firewall-guard"),
                 "_infrastructure_guard_state": str(tmp_path / "state" / "firewall-guard.json"),
                 "_infrastructure_guard_pidfile": str(tmp_path / "guard.pid")}
    cmd = ["ip", "netns", "exec", ns("host"), "ansible-playbook", "-i", "localhost,", "-e",
           "ansible_python_interpreter=" + sys.executable, "-e", json.dumps(overrides), str(path)]
    proc = subprocess.run(cmd, cwd=ROOT, env=ansible_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, timeout=300, check=False)
    return Run(proc)


def back_within(seconds, what):
    """Waits until the chain and its jump are back as the module left them; the seconds it took."""
    start = time.monotonic()
    while time.monotonic() - start < seconds:
        if chain_lines() == GUARDED and docker_user()[:1] == ["-A DOCKER-USER -j TAYLORDASH"]:
            return time.monotonic() - start
        time.sleep(0.2)
    raise AssertionError("the guard did not put the rules back within %ss after %s:\n%s"
                         % (seconds, what, "\n".join(table())))


GUARDED = []


def alive(pid):
    """Whether pid runs (a zombie that no parent reaped does not)."""
    try:
        return Path("/proc/%d/stat" % pid).read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, IndexError):
        return False


def test_the_guard_puts_the_rules_back_after_a_flush_a_firewall_reload_and_an_engine_restart(net, tmp_path):
    """The rules outlive the deploy: flushed, deleted with every chain, or pushed down by the engine's own
    RETURN, they are back within a few seconds (interval 1 s here, 2 s by default) and the client that is
    not allowed is refused again."""
    pidfile = tmp_path / "guard.pid"
    try:
        run = run_guarded(tmp_path)
        assert run.rc == 0 and run.changed >= 1, run
        GUARDED[:] = chain_lines()
        assert len(GUARDED) == 7 and not fetch("other"), GUARDED
        pid = int(pidfile.read_text())
        assert os.path.exists("/proc/%d" % pid), "the guard does not run"
        again = run_guarded(tmp_path)
        assert again.rc == 0 and again.changed == 0, again
        assert int(pidfile.read_text()) == pid

        in_ns("host", "iptables", "-F", CHAIN)
        back_within(10, "iptables -F %s" % CHAIN)
        assert fetch("app") and not fetch("other")

        # iptables -F: every rule of every chain flushed, FORWARD's jump to DOCKER-USER included.
        in_ns("host", "iptables", "-F")
        back_within(10, "iptables -F")
        assert "-A FORWARD -j DOCKER-USER" in table()
        assert fetch("app") and not fetch("other")

        # A firewall reload: every rule flushed and every user chain deleted, FORWARD's jump included.
        in_ns("host", "iptables", "-F")
        in_ns("host", "iptables", "-X")
        back_within(10, "iptables -F; iptables -X")
        assert "-A FORWARD -j DOCKER-USER" in table()
        assert fetch("app") and not fetch("other")

        # An engine restart that re-creates its hook with its RETURN ahead of our jump.
        in_ns("host", "iptables", "-D", "DOCKER-USER", "-j", CHAIN)
        in_ns("host", "iptables", "-I", "DOCKER-USER", "1", "-j", "RETURN")
        back_within(10, "the jump was pushed below the engine's RETURN")
        assert not fetch("other")
        in_ns("host", "iptables", "-D", "DOCKER-USER", "-j", "RETURN")
        assert "put back" in (tmp_path / "guard.log").read_text()
        state = json.loads((tmp_path / "state" / "firewall-guard.json").read_text())
        assert state["rules"] == GUARDED and state["interval"] == 1, state

        # Turned off in the same run that changes the rules (the other client admitted too): the guard stops
        # first, so it never puts back the rules of its state, and its state and program go.
        changed = [dict(RULES[0], allow=[APP, OTHER]), RULES[1]]
        off = run_guarded(tmp_path, guard=False, rules=changed)
        assert off.rc == 0 and off.changed >= 2, off
        assert not alive(pid) and not pidfile.exists(), "the guard still runs"
        assert not (tmp_path / "state" / "firewall-guard.json").exists()
        assert not (tmp_path / "bin" / "firewall-guard").exists()
        time.sleep(3)
        assert fetch("other") and fetch("app"), "the old rules are back:\n" + "\n".join(table())
        in_ns("host", "iptables", "-F", CHAIN)
        time.sleep(3)
        assert chain_lines() == [], "something put the rules back"
        assert run_guarded(tmp_path, guard=False, rules=changed).changed == 1  # the module restores them
        again = run_guarded(tmp_path, guard=False, rules=changed)
        assert again.changed == 0, "a second run without the guard changed something"

        # Guarded again, then the host publishes nothing for other hosts any more: guard and chain go.
        assert run_guarded(tmp_path).rc == 0 and alive(int(pidfile.read_text()))
        gone = run_guarded(tmp_path, guard=False, published=False)
        assert gone.rc == 0 and gone.changed >= 3, gone
        assert chain_lines() == [] and docker_user() == [] and not pidfile.exists()
        assert fetch("app") and fetch("other")
    finally:
        sh("start-stop-daemon", "--stop", "--oknodo", "--retry", "TERM/5/KILL/2", "--pidfile", str(pidfile),
           "--remove-pidfile", check=False)
    assert not pidfile.exists()


def test_changed_allow_list(net):
    rules = [dict(RULES[0], allow=[OTHER]), RULES[1]]
    check = run_module({"rules": rules}, check=True)
    assert check.rc == 0 and check.changed == 1, check
    assert "-A TAYLORDASH -s %s/32" % OTHER not in "\n".join(chain_lines())
    run = run_module({"rules": rules})
    assert run.rc == 0 and run.changed == 1, run
    lines = "\n".join(chain_lines())
    assert "-A TAYLORDASH -s %s/32 -p tcp" % OTHER in lines and "-A TAYLORDASH -s %s/32 -p tcp" % APP not in lines
    assert fetch("other") and not fetch("app")
    assert run_module({"rules": rules}).changed == 0


def test_absent(net):
    check = run_module({"state": "absent"}, check=True)
    assert check.rc == 0 and check.changed == 1 and chain_lines(), check
    run = run_module({"state": "absent"})
    assert run.rc == 0 and run.changed == 1, run
    assert chain_lines() == [] and docker_user() == [] and "-N TAYLORDASH" not in table()
    assert fetch("app") and fetch("other")
    assert run_module({"state": "absent"}).changed == 0


def test_missing_docker_user_fails_clearly(net):
    in_ns("host", "iptables", "-D", "FORWARD", "-j", "DOCKER-USER")
    in_ns("host", "iptables", "-X", "DOCKER-USER")
    try:
        run = run_module({"rules": RULES})
        assert run.rc != 0 and "chain DOCKER-USER does not exist" in run.out, run
        assert "-N TAYLORDASH" not in table()
    finally:
        in_ns("host", "iptables", "-N", "DOCKER-USER")
        in_ns("host", "iptables", "-A", "FORWARD", "-j", "DOCKER-USER")
