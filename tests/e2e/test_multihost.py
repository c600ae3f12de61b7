"""Several real Docker hosts over SSH: each test host runs its own engine, started by the docker_engine role."""

import time

import pytest

from conftest import playbook
from multihost.hosts import TestHosts

GROUPS = {"core": ["proxy", "data", "monitoring"], "app1": ["app"], "app2": ["app"], "app3": ["app"]}


@pytest.fixture(scope="module")
def hosts():
    """Four test hosts and their inventory (inventory_path); removed at the end of the module."""
    started = time.monotonic()
    harness = TestHosts(GROUPS)
    try:
        harness.start()
        harness.inventory(GROUPS)
        print("4 test hosts up in %.1fs" % (time.monotonic() - started))
        yield harness
    finally:
        harness.stop()


def test_hosts_run_their_own_engine_over_ssh(hosts):
    inventory = str(hosts.inventory_path)
    first = playbook("playbooks/engine.yml", "-i", inventory, stack_vars=False)
    assert first.rc == 0, first
    assert set(first.recap) == set(GROUPS), first
    again = playbook("playbooks/engine.yml", "-i", inventory, stack_vars=False)
    assert again.rc == 0 and again.changed == 0, again
    for name in GROUPS:
        info = hosts.exec(name, "docker", "info", "--format", "{{.Driver}} {{.ServerVersion}}").stdout.split()
        assert info[0] == "overlay2" and info[1], (name, info)
        assert hosts.exec(name, "hostname").stdout.strip() == name
    # The hosts reach each other by their taylordash_address.
    ping = hosts.exec("app1", "bash", "-c", "exec 3<>/dev/tcp/%s/22 && head -c 4 <&3" % hosts.ip("core"))
    assert ping.stdout == "SSH-", ping
