# -*- coding: utf-8 -*-
"""Tests for plugins/modules/deploy_lock.py: real lock files in tmp_path, through main()."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

import pytest

from ansible.module_utils import basic

from ansible_collections.taylordash.ops.plugins.modules import deploy_lock
from ansible_collections.taylordash.ops.tests.unit.plugins.modules import harness

OURS = {"controller": "ctl-a", "user": "alice", "playbook": "deploy-prod", "run_id": "run-a"}
THEIRS = {"controller": "ctl-b", "user": "bob", "playbook": "deploy-dev", "run_id": "run-b"}


def run_module(args):
    return harness.run_module(deploy_lock, args)


@pytest.fixture
def warnings(monkeypatch):
    """The messages of AnsibleModule.warn, in order."""
    found = []
    monkeypatch.setattr(basic.AnsibleModule, "warn", lambda self, msg: found.append(msg))
    return found


def test_take_keep_release_never_change(tmp_path):
    path = tmp_path / "var" / "deploy.lock"
    outcome, taken = run_module({"path": str(path), "owner": OURS})
    assert outcome == "exit" and taken["changed"] is False and taken["action"] == "taken", taken
    assert json.loads(path.read_text())["run_id"] == "run-a" and taken["waited"] == 0
    outcome, kept = run_module({"path": str(path), "owner": OURS, "state": "held"})
    assert (outcome, kept["action"], kept["changed"]) == ("exit", "kept", False)
    outcome, released = run_module({"path": str(path), "owner": OURS, "state": "released"})
    assert (outcome, released["action"], released["changed"]) == ("exit", "released", False)
    assert not path.exists() and released["holder"]["user"] == "alice"


def test_held_by_another_run_fails_naming_it(tmp_path):
    path = tmp_path / "deploy.lock"
    run_module({"path": str(path), "owner": THEIRS})
    outcome, result = run_module({"path": str(path), "owner": OURS, "timeout": 1, "poll": 1})
    assert outcome == "fail" and result["changed"] is False
    assert "is held by bob@ctl-b running deploy-dev since " in result["msg"]
    assert "waited 1s. If that run is gone, break the lock: -e taylordash_lock_break=true" in result["msg"]
    assert result["holder"]["run_id"] == "run-b" and result["waited"] == 1


def test_release_of_another_runs_lock_warns_and_keeps_it(tmp_path, warnings):
    path = tmp_path / "deploy.lock"
    run_module({"path": str(path), "owner": THEIRS})
    outcome, result = run_module({"path": str(path), "owner": OURS, "state": "released"})
    assert (outcome, result["action"]) == ("exit", "foreign") and path.exists()
    assert any("held by another run, left in place: bob@ctl-b" in warning for warning in warnings)


def test_break_warns_naming_the_holder(tmp_path, warnings):
    path = tmp_path / "deploy.lock"
    run_module({"path": str(path), "owner": THEIRS})
    outcome, result = run_module({"path": str(path), "state": "broken"})
    assert (outcome, result["action"], result["changed"]) == ("exit", "broken", False) and not path.exists()
    assert result["holder"]["user"] == "bob"
    assert any("broke deploy lock %s" % path in warning and "bob@ctl-b" in warning for warning in warnings)


def test_check_mode_creates_and_removes_nothing(tmp_path, warnings):
    path = tmp_path / "sub" / "deploy.lock"
    outcome, result = run_module({"path": str(path), "owner": OURS, "_ansible_check_mode": True})
    assert (outcome, result["action"]) == ("exit", "taken") and not path.parent.exists()
    run_module({"path": str(path), "owner": THEIRS})
    outcome, result = run_module({"path": str(path), "owner": OURS, "timeout": 0, "_ansible_check_mode": True})
    assert outcome == "fail" and "held by bob@ctl-b" in result["msg"]
    outcome, result = run_module({"path": str(path), "state": "broken", "_ansible_check_mode": True})
    assert (outcome, result["action"]) == ("exit", "broken") and path.exists()
    assert any("would break deploy lock" in warning for warning in warnings)


def test_owner_is_required_to_take_or_release(tmp_path):
    for state in ("held", "released"):
        outcome, result = run_module({"path": str(tmp_path / "deploy.lock"), "state": state})
        assert outcome == "fail" and "owner" in result["msg"]
    outcome, result = run_module({"path": str(tmp_path), "owner": OURS})
    assert outcome == "fail" and "is a directory" in result["msg"]


def test_break_first_breaks_another_runs_lock_then_takes_it_in_one_call(tmp_path, warnings):
    path = tmp_path / "deploy.lock"
    run_module({"path": str(path), "owner": THEIRS})
    outcome, result = run_module({"path": str(path), "owner": OURS, "timeout": 0, "break_first": True,
                                  "_ansible_check_mode": True})
    assert (outcome, result["action"]) == ("exit", "taken"), result
    assert json.loads(path.read_text())["run_id"] == "run-b", "check mode broke the lock"
    assert any("would break deploy lock" in warning and "bob@ctl-b" in warning for warning in warnings)
    outcome, result = run_module({"path": str(path), "owner": OURS, "timeout": 0, "break_first": True})
    assert (outcome, result["action"], result["changed"]) == ("exit", "taken", False), result
    assert json.loads(path.read_text())["run_id"] == "run-a"
    assert any(warning.startswith("broke deploy lock") and "bob@ctl-b" in warning for warning in warnings)
    outcome, result = run_module({"path": str(path), "owner": OURS, "break_first": True})
    assert (outcome, result["action"]) == ("exit", "kept"), "its own lock is kept, not broken"


def test_the_files_to_read_are_read_under_the_lock_and_not_when_it_is_deferred(tmp_path):
    path, mode, missing = tmp_path / "deploy.lock", tmp_path / "mode", tmp_path / "none"
    mode.write_text("production\n")
    args = {"path": str(path), "owner": OURS, "read": [str(mode), str(missing)]}
    for action in ("taken", "kept"):
        outcome, result = run_module(args)
        assert (outcome, result["action"]) == ("exit", action)
        assert result["read"] == {str(mode): "production\n", str(missing): None}
    # Another run of the same controller and boot (run ids controller:boot:pid:start) holds it: deferred.
    earlier, later = dict(OURS, run_id="ctl-a:boot:100:5"), dict(OURS, run_id="ctl-a:boot:200:9")
    run_module({"path": str(path), "owner": OURS, "state": "released"})
    run_module({"path": str(path), "owner": earlier})
    outcome, result = run_module(dict(args, owner=later, defer_to_controller=True, timeout=0))
    assert (outcome, result["action"], result["read"]) == ("exit", "deferred", {})
    mode.unlink()
    directory = tmp_path / "dir"
    directory.mkdir()
    outcome, result = run_module(dict(args, owner=earlier, read=[str(directory)]))
    assert outcome == "fail" and "cannot read %s" % directory in result["msg"]
