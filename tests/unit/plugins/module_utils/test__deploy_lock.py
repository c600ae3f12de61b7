# -*- coding: utf-8 -*-
"""Tests for plugins/module_utils/_deploy_lock.py: real lock files in tmp_path, a fake clock."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import stat

import pytest

from ansible_collections.taylordash.ops.plugins.module_utils import _deploy_lock as dl

NOW = 1748779200  # 2025-06-01T12:00:00Z
OURS = {"controller": "ctl-a", "user": "alice", "playbook": "deploy-prod", "run_id": "ctl-a:boot:100:5"}
THEIRS = {"controller": "ctl-b", "user": "bob", "playbook": "deploy-dev", "run_id": "ctl-b:boot:200:7"}


class Clock:
    """A fake clock that sleep() moves on; records the sleeps."""

    def __init__(self, start=NOW):
        self.now = start
        self.sleeps = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


def write_lock(path, owner, since=NOW - 125):
    path.write_text(json.dumps(dl.make_record(owner, since)))


def acquire(path, owner=OURS, timeout=10, poll=2, check_mode=False, clock=None):
    clock = clock or Clock()
    return dl.acquire(str(path), dl.make_record(owner, clock()), timeout, poll, "target1", check_mode=check_mode,
                      clock=clock, sleep=clock.sleep)


# --------------------------------------------------------------------------- records and messages

def test_record_and_iso_round_trip():
    record = dl.make_record(dict(OURS, extra="x"), NOW)
    assert record == dict(OURS, since="2025-06-01T12:00:00Z")
    assert dl.parse_iso(record["since"]) == NOW
    assert dl.parse_iso("yesterday") is None
    assert dl.make_record({"run_id": "r"}, NOW)["user"] == ""


@pytest.mark.parametrize("seconds, text", [(0, "0s"), (7, "7s"), (125, "2m 5s"), (3723, "1h 2m 3s"), (-3, "0s")])
def test_age(seconds, text):
    assert dl.age(seconds) == text


# --------------------------------------------------------------------------- held

def test_acquire_creates_a_private_json_lock(tmp_path):
    path = tmp_path / "deploy.lock"
    result = acquire(path)
    assert result == {"action": "taken", "holder": dict(OURS, since="2025-06-01T12:00:00Z"), "waited": 0}
    assert json.loads(path.read_text()) == result["holder"]
    assert stat.S_IMODE(os.stat(str(path)).st_mode) == 0o600
    assert os.listdir(str(tmp_path)) == ["deploy.lock"]  # no temporary file left


def test_acquire_is_reentrant_for_the_same_run(tmp_path):
    path = tmp_path / "deploy.lock"
    write_lock(path, OURS)
    before = path.read_text()
    result = acquire(path, owner=dict(OURS, playbook="second play"))
    assert result["action"] == "kept" and result["waited"] == 0
    assert result["holder"]["playbook"] == "deploy-prod"  # the first play's record stays
    assert path.read_text() == before


def test_acquire_waits_then_fails_naming_the_holder(tmp_path):
    path = tmp_path / "deploy.lock"
    write_lock(path, THEIRS)
    clock = Clock()
    with pytest.raises(dl.LockHeld) as caught:
        acquire(path, timeout=5, poll=2, clock=clock)
    assert clock.sleeps == [2, 2, 1]
    assert caught.value.waited == 5 and caught.value.holder["run_id"] == THEIRS["run_id"]
    assert str(caught.value) == (
        "deploy lock %s on target1 is held by bob@ctl-b running deploy-dev since 2025-06-01T11:57:55Z "
        "(2m 10s ago); waited 5s. If that run is gone, break the lock: -e taylordash_lock_break=true" % path)
    assert json.loads(path.read_text())["run_id"] == THEIRS["run_id"]


def test_acquire_takes_the_lock_once_the_holder_releases_it(tmp_path):
    path = tmp_path / "deploy.lock"
    write_lock(path, THEIRS)
    clock = Clock()

    def sleep(seconds):
        clock.sleep(seconds)
        if clock.now - NOW >= 4:
            path.unlink()
    result = dl.acquire(str(path), dl.make_record(OURS, NOW), 30, 2, "target1", clock=clock, sleep=sleep)
    assert result["action"] == "taken" and result["waited"] == 4
    assert json.loads(path.read_text())["run_id"] == OURS["run_id"]


def test_timeout_zero_fails_at_once(tmp_path):
    path = tmp_path / "deploy.lock"
    write_lock(path, THEIRS)
    clock = Clock()
    with pytest.raises(dl.LockHeld, match="waited 0s"):
        acquire(path, timeout=0, clock=clock)
    assert clock.sleeps == []


@pytest.mark.parametrize("content, reason", [
    (b"", "not a JSON lock record"),
    (b"{not json", "not a JSON lock record"),
    (b"\xff\xfe", "not a JSON lock record"),
    (b'["a list"]', "no run_id in the lock record"),
    (b'{"user": "bob"}', "no run_id in the lock record"),
])
def test_corrupt_lock_counts_as_held_by_unknown(tmp_path, content, reason):
    path = tmp_path / "deploy.lock"
    path.write_bytes(content)
    os.utime(str(path), (NOW - 60, NOW - 60))
    with pytest.raises(dl.LockHeld) as caught:
        acquire(path, timeout=2)
    message = str(caught.value)
    assert "is held by unknown (the lock file is unreadable or corrupt: %s; last written " % reason in message
    assert "2025-06-01T11:59:00Z (1m 2s ago)); waited 2s." in message
    assert message.endswith(dl.BREAK_HINT)
    assert caught.value.holder["corrupt"] == reason and caught.value.holder["user"] == "unknown"
    assert path.read_bytes() == content


def test_check_mode_does_not_create_but_still_fails_on_another_run(tmp_path):
    path = tmp_path / "sub" / "deploy.lock"
    assert acquire(path, check_mode=True)["action"] == "taken"
    assert not path.parent.exists()
    path.parent.mkdir()
    write_lock(path, THEIRS)
    with pytest.raises(dl.LockHeld, match="held by bob@ctl-b"):
        acquire(path, timeout=3, check_mode=True)
    write_lock(path, OURS)
    assert acquire(path, check_mode=True)["action"] == "kept"


def test_a_second_creation_loses(tmp_path):
    path = str(tmp_path / "deploy.lock")
    assert dl.try_create(path, dl.make_record(OURS, NOW)) is True
    assert dl.try_create(path, dl.make_record(THEIRS, NOW)) is False
    assert dl.read_holder(path)["run_id"] == OURS["run_id"]
    assert sorted(os.listdir(str(tmp_path))) == ["deploy.lock"]


def test_exclusive_create_fallback(tmp_path, monkeypatch):
    def no_links(source, target):
        raise OSError(1, "Operation not permitted")
    monkeypatch.setattr(dl.os, "link", no_links)
    path = str(tmp_path / "deploy.lock")
    assert dl.try_create(path, dl.make_record(OURS, NOW)) is True
    assert dl.try_create(path, dl.make_record(THEIRS, NOW)) is False
    assert dl.read_holder(path)["run_id"] == OURS["run_id"]
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_ensure_directory_is_private(tmp_path):
    path = tmp_path / "a" / "b" / "deploy.lock"
    dl.ensure_directory(str(path))
    assert stat.S_IMODE(os.stat(str(path.parent)).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(str(path.parent.parent)).st_mode) == 0o700


# --------------------------------------------------------------------------- released and broken

def test_release_removes_only_our_own_lock(tmp_path):
    path = tmp_path / "deploy.lock"
    assert dl.release(str(path), OURS["run_id"]) == {"action": "absent", "holder": None}
    write_lock(path, THEIRS)
    result = dl.release(str(path), OURS["run_id"])
    assert result["action"] == "foreign" and result["holder"]["user"] == "bob" and path.exists()
    write_lock(path, OURS)
    assert dl.release(str(path), OURS["run_id"], check_mode=True)["action"] == "released"
    assert path.exists()
    result = dl.release(str(path), OURS["run_id"])
    assert result["action"] == "released" and result["holder"]["run_id"] == OURS["run_id"]
    assert not path.exists()


def test_release_leaves_a_corrupt_lock(tmp_path):
    path = tmp_path / "deploy.lock"
    path.write_text("garbage")
    assert dl.release(str(path), OURS["run_id"])["action"] == "foreign" and path.exists()


def test_break_removes_any_lock_and_returns_its_holder(tmp_path):
    path = tmp_path / "deploy.lock"
    assert dl.break_lock(str(path)) == {"action": "absent", "holder": None}
    write_lock(path, THEIRS)
    result = dl.break_lock(str(path), check_mode=True)
    assert result["action"] == "broken" and path.exists()
    result = dl.break_lock(str(path), OURS["run_id"])
    assert result["action"] == "broken" and result["holder"]["user"] == "bob" and not path.exists()
    path.write_text("garbage")
    assert dl.break_lock(str(path))["holder"]["corrupt"] == "not a JSON lock record" and not path.exists()


def test_break_keeps_our_own_lock_when_told_who_we_are(tmp_path):
    path = tmp_path / "deploy.lock"
    write_lock(path, OURS)
    assert dl.break_lock(str(path), OURS["run_id"])["action"] == "kept" and path.exists()
    assert dl.break_lock(str(path))["action"] == "broken" and not path.exists()


# --------------------------------------------------------------------------- deferring to this controller

@pytest.mark.parametrize("mine, other, same", [
    ("ctl-a:boot:100:5", "ctl-a:boot:200:7", True),
    ("ctl-a:boot:100:5", "ctl-a:boot:100:5", False),   # ourselves: kept, not deferred
    ("ctl-a:boot:100:5", "ctl-a:reboot:100:5", False),  # before a reboot of the controller
    ("ctl-a:boot:100:5", "ctl-b:boot:200:7", False),
    ("from-env", "ctl-a:boot:200:7", False),             # TAYLORDASH_RUN_ID of another form
    ("ctl-a:boot:100:5", "", False),
])
def test_same_controller(mine, other, same):
    assert dl.same_controller(mine, other) is same


def test_a_lock_of_another_run_of_this_controller_is_handed_back_at_once_when_deferring(tmp_path):
    path = tmp_path / "deploy.lock"
    earlier = dict(OURS, run_id="ctl-a:boot:99:3")
    write_lock(path, earlier)
    clock = Clock()
    outcome = dl.acquire(str(path), dl.make_record(OURS, clock()), 10, 2, "target1", clock=clock, sleep=clock.sleep,
                         defer=True)
    assert outcome["action"] == "deferred" and outcome["holder"]["run_id"] == earlier["run_id"] and clock.sleeps == []
    write_lock(path, THEIRS)  # another controller's lock is waited for even when deferring
    with pytest.raises(dl.LockHeld):
        dl.acquire(str(path), dl.make_record(OURS, clock()), 4, 2, "target1", clock=clock, sleep=clock.sleep, defer=True)
    path.unlink()
    outcome = dl.acquire(str(path), dl.make_record(OURS, clock()), 4, 2, "target1", clock=clock, sleep=clock.sleep,
                         defer=True)
    assert outcome["action"] == "taken"


def test_break_with_only_holder_leaves_a_lock_another_run_took_since(tmp_path):
    path = tmp_path / "deploy.lock"
    write_lock(path, THEIRS)
    assert dl.break_lock(str(path), OURS["run_id"], only_holder="ctl-a:boot:99:3")["action"] == "foreign"
    assert path.exists()
    assert dl.break_lock(str(path), OURS["run_id"], only_holder=THEIRS["run_id"])["action"] == "broken"
    assert not path.exists()
