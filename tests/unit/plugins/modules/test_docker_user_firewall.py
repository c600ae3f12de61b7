# -*- coding: utf-8 -*-
"""Tests for plugins/modules/docker_user_firewall.py with a fake iptables (run_command patched).

The fake keeps the filter table as ``iptables -S`` text; a restore call replaces it with the text the
test says iptables would show afterwards. The real iptables runs in tests/e2e/test_docker_user_firewall.py.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible.module_utils import basic
from ansible_collections.taylordash.ops.plugins.modules import docker_user_firewall
from ansible_collections.taylordash.ops.tests.unit.plugins.modules import harness

from ansible_collections.taylordash.ops.tests.unit.plugins.module_utils.test__docker_user_firewall import (
    APPLIED,
    DOCKER,
    PG,
    PG_LINES,
    POLICIES,
)


class FakeIptables:
    def __init__(self, text, after=None, restore_rc=0):
        self.text = text
        self.after = after
        self.restore_rc = restore_rc
        self.calls = []

    def run_command(self, module, args, data=None, **kwargs):
        self.calls.append((args, data))
        if args[0].endswith("-restore"):
            if self.restore_rc:
                return self.restore_rc, "", "iptables-restore: line 2 failed"
            self.text = self.after
            return 0, "", ""
        return 0, self.text, ""


@pytest.fixture
def fake(monkeypatch, tmp_path):
    """fake(text, after=None, restore_rc=0): a FakeIptables; the module's iptables is an executable in tmp_path."""
    for name in ("iptables", "iptables-restore"):
        path = tmp_path / name
        path.write_text("#!/bin/sh\nexit 1\n")
        path.chmod(0o755)

    def make(text, after=None, restore_rc=0):
        iptables = FakeIptables(text, after, restore_rc)
        monkeypatch.setattr(basic.AnsibleModule, "run_command",
                            lambda module, args, **kwargs: iptables.run_command(module, args, **kwargs))
        return iptables
    make.binary = str(tmp_path / "iptables")
    return make


def run(fake, args, check=False, diff=False):
    args = dict(args, iptables=fake.binary)
    if check:
        args["_ansible_check_mode"] = True
    if diff:
        args["_ansible_diff"] = True
    return harness.run_module(docker_user_firewall, args)


def restores(iptables):
    return [data for args, data in iptables.calls if args[0].endswith("-restore")]


def test_applies_and_returns_the_rules_read_back(fake):
    iptables = fake(DOCKER, after=APPLIED)
    outcome, result = run(fake, {"rules": [PG]}, diff=True)
    assert outcome == "exit", result
    assert result["changed"] is True and result["chain"] == "TAYLORDASH" and result["rules"] == PG_LINES
    assert len(restores(iptables)) == 1 and restores(iptables)[0].startswith("*filter\n:TAYLORDASH - [0:0]\n")
    assert iptables.calls[1][0][1:] == ["-w", "--noflush"]
    assert result["diff"]["before"] == "" and "-A DOCKER-USER -j TAYLORDASH" in result["diff"]["after"]


def test_unchanged_runs_no_restore(fake):
    iptables = fake(APPLIED)
    outcome, result = run(fake, {"rules": [PG]})
    assert outcome == "exit" and result["changed"] is False and result["rules"] == PG_LINES
    assert restores(iptables) == []


def test_check_mode_reports_without_applying(fake):
    iptables = fake(DOCKER)
    outcome, result = run(fake, {"rules": [PG]}, check=True)
    assert outcome == "exit" and result["changed"] is True and result["rules"] == PG_LINES
    assert restores(iptables) == []


def test_fails_when_read_back_differs(fake):
    fake(DOCKER, after=APPLIED.replace("10.0.0.21/32", "10.0.0.99/32"))
    outcome, result = run(fake, {"rules": [PG]})
    assert outcome == "fail" and "other rules than planned" in result["msg"]


def test_failed_restore_is_reported(fake):
    fake(DOCKER, restore_rc=2)
    outcome, result = run(fake, {"rules": [PG]})
    assert outcome == "fail" and "--noflush failed (rc=2), nothing was changed" in result["msg"]


def test_missing_docker_user_fails(fake):
    iptables = fake(POLICIES)
    outcome, result = run(fake, {"rules": [PG]}, check=True)
    assert outcome == "fail" and "chain DOCKER-USER does not exist" in result["msg"]
    assert restores(iptables) == []


def test_bad_rule_fails_with_every_problem(fake):
    fake(DOCKER)
    outcome, result = run(fake, {"rules": [dict(PG, allow=["nope"]), dict(PG, name="pg2")]})
    assert outcome == "fail"
    assert "'nope' is not an IPv4 address" in result["msg"] and "both match tcp port 5432" in result["msg"]


def test_absent(fake):
    iptables = fake(APPLIED, after=DOCKER)
    outcome, result = run(fake, {"state": "absent"})
    assert outcome == "exit" and result["changed"] is True and result["rules"] == []
    assert restores(iptables) == ["*filter\n-D DOCKER-USER -j TAYLORDASH\n-F TAYLORDASH\n-X TAYLORDASH\nCOMMIT\n"]


def test_missing_restore_binary(fake, tmp_path):
    fake(DOCKER)
    (tmp_path / "iptables-restore").unlink()
    outcome, result = run(fake, {"rules": [PG]})
    assert outcome == "fail" and "has no iptables-restore next to it" in result["msg"]


def test_the_guard_state_is_written_before_the_rules_once_then_removed_with_them(fake, tmp_path):
    import json
    state = tmp_path / "guard" / "firewall-guard.json"
    fake(DOCKER, after=APPLIED)
    outcome, result = run(fake, {"rules": [PG], "guard_state": str(state), "guard_interval": 1}, check=True)
    assert outcome == "exit" and result["changed"] is True and not state.exists()  # check mode writes nothing
    outcome, result = run(fake, {"rules": [PG], "guard_state": str(state), "guard_interval": 1})
    assert outcome == "exit" and result["changed"] is True, result
    written = json.loads(state.read_text())
    assert written == {"chain": "TAYLORDASH", "hook": "DOCKER-USER", "rules": PG_LINES, "interval": 1.0}
    assert oct(state.stat().st_mode & 0o777) == "0o644" and oct(state.parent.stat().st_mode & 0o777) == "0o700"
    fake(APPLIED)
    outcome, result = run(fake, {"rules": [PG], "guard_state": str(state), "guard_interval": 1})
    assert outcome == "exit" and result["changed"] is False, result
    outcome, result = run(fake, {"rules": [PG], "guard_state": str(state), "guard_interval": 2})
    assert outcome == "exit" and result["changed"] is True and json.loads(state.read_text())["interval"] == 2.0
    fake(APPLIED, after=DOCKER)
    outcome, result = run(fake, {"state": "absent", "guard_state": str(state)})
    assert outcome == "exit" and result["changed"] is True and not state.exists()
