# -*- coding: utf-8 -*-
"""Tests for plugins/modules/mosquitto_passwd.py on real files in tmp_path. The same module against a
real broker: tests/integration/plugins/modules/test_mosquitto_passwd_broker.py."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import json
import os
import stat

import pytest

from ansible.module_utils import basic

from ansible_collections.taylordash.ops.plugins.module_utils import _mosquitto_passwd as mp
from ansible_collections.taylordash.ops.plugins.modules import mosquitto_passwd
from ansible_collections.taylordash.ops.tests.unit.plugins.modules import harness


def run_module(args):
    """Run mosquitto_passwd.main(); return ('exit'|'fail', result dict)."""
    return harness.run_module(mosquitto_passwd, args)


RETURN_KEYS = {"changed", "path", "added", "updated", "removed", "unchanged", "checksum"}
USERS = {"alice": "alice-pw-1", "bob": "bob-pw-1"}


def lists(result):
    """(added, updated, removed, unchanged) of a result."""
    return tuple(result[key] for key in ("added", "updated", "removed", "unchanged"))


def mode_of(path):
    return stat.S_IMODE(os.stat(str(path)).st_mode)


def sha256(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def assert_no_secret(result, *passwords):
    text = json.dumps(result)
    for password in passwords or USERS.values():
        assert password not in text
    assert "$7$" not in text and "$6$" not in text


@pytest.fixture
def passwd(tmp_path):
    return tmp_path / "passwd"


# --------------------------------------------------------------------------- create and idempotence

def test_first_run_creates_the_file_with_mode_0600(passwd):
    outcome, result = run_module({"path": str(passwd), "users": USERS})
    assert outcome == "exit", result
    assert set(result) == RETURN_KEYS
    assert result["changed"] is True and result["path"] == str(passwd)
    assert lists(result) == (["alice", "bob"], [], [], [])
    assert mode_of(passwd) == 0o600
    assert result["checksum"] == sha256(passwd)
    entries = mp.parse_passwd(passwd.read_bytes())
    assert [entry["user"] for entry in entries] == ["alice", "bob"]
    assert all(mp.verify_password(USERS[entry["user"]], entry["hash"]) for entry in entries)
    assert sorted(os.listdir(str(passwd.parent))) == ["passwd"]  # no temporary file left
    assert_no_secret(result)


def test_second_run_changes_nothing(passwd):
    run_module({"path": str(passwd), "users": USERS})
    before, mtime = passwd.read_bytes(), os.stat(str(passwd)).st_mtime_ns
    outcome, result = run_module({"path": str(passwd), "users": dict(USERS), "_ansible_diff": True})
    assert outcome == "exit", result
    assert result["changed"] is False
    assert lists(result) == ([], [], [], ["alice", "bob"])
    assert passwd.read_bytes() == before and os.stat(str(passwd)).st_mtime_ns == mtime
    assert result["checksum"] == hashlib.sha256(before).hexdigest()
    assert result["diff"] == []


@pytest.mark.parametrize("mode, wanted", [(None, 0o600), ("0640", 0o640)], ids=["default", "0640"])
def test_temp_file_is_created_0600_in_the_same_directory(passwd, monkeypatch, mode, wanted):
    """The wanted mode is on the temporary file before the move; the old file's 0644 is never copied."""
    seen = []
    real_move = basic.AnsibleModule.atomic_move

    def spy(self, src, dest, *args, **kwargs):
        seen.append((os.path.dirname(src), mode_of(src), dest))
        return real_move(self, src, dest, *args, **kwargs)

    monkeypatch.setattr(basic.AnsibleModule, "atomic_move", spy)
    passwd.write_bytes(b"")
    os.chmod(str(passwd), 0o644)
    args = {"path": str(passwd), "users": USERS}
    if mode is not None:
        args["mode"] = mode
    outcome, result = run_module(args)
    assert outcome == "exit" and result["changed"] is True, result
    assert seen == [(str(passwd.parent), wanted, str(passwd))]
    assert mode_of(passwd) == wanted
    outcome, result = run_module(args)
    assert result["changed"] is False and len(seen) == 1


@pytest.mark.skipif(os.geteuid() != 0, reason="chown needs root")
def test_rewrite_keeps_owner_unless_told_otherwise(passwd):
    run_module({"path": str(passwd), "users": USERS})
    os.chown(str(passwd), 4321, 4322)
    outcome, result = run_module({"path": str(passwd), "users": dict(USERS, bob="bob-pw-2")})
    assert outcome == "exit" and result["changed"] is True, result
    st = os.stat(str(passwd))
    assert (st.st_uid, st.st_gid, mode_of(passwd)) == (4321, 4322, 0o600)
    outcome, result = run_module({"path": str(passwd), "users": dict(USERS, bob="bob-pw-2"),
                                  "owner": "1883", "group": "1883"})
    assert outcome == "exit" and result["changed"] is True, result
    st = os.stat(str(passwd))
    assert (st.st_uid, st.st_gid) == (1883, 1883)
    outcome, result = run_module({"path": str(passwd), "users": dict(USERS, bob="bob-pw-2"),
                                  "owner": "1883", "group": "1883"})
    assert result["changed"] is False


@pytest.mark.skipif(os.geteuid() != 0, reason="chown needs root")
def test_new_file_gets_the_wanted_owner_and_group(passwd):
    args = {"path": str(passwd), "users": USERS, "owner": "1883", "group": "1883", "mode": "0640"}
    outcome, result = run_module(args)
    assert outcome == "exit" and result["changed"] is True, result
    st = os.stat(str(passwd))
    assert (st.st_uid, st.st_gid, mode_of(passwd)) == (1883, 1883, 0o640)
    assert run_module(args)[1]["changed"] is False


# --------------------------------------------------------------------------- changes

def test_password_change_rewrites_only_that_line(passwd):
    run_module({"path": str(passwd), "users": USERS})
    old = passwd.read_bytes().split(b"\n")
    outcome, result = run_module({"path": str(passwd), "users": dict(USERS, bob="bob-pw-2"), "_ansible_diff": True})
    assert outcome == "exit", result
    assert result["changed"] is True
    assert lists(result) == ([], ["bob"], [], ["alice"])
    new = passwd.read_bytes().split(b"\n")
    assert new[0] == old[0] and new[1] != old[1] and new[2] == b""
    assert mp.verify_password("bob-pw-2", new[1].decode().split(":", 1)[1])
    assert result["checksum"] == sha256(passwd)
    assert result["diff"] == [{"before": "alice\nbob\n", "after": "alice\nbob (new password)\n",
                               "before_header": str(passwd), "after_header": str(passwd)}]
    assert_no_secret(result, "alice-pw-1", "bob-pw-1", "bob-pw-2")


def test_users_added_and_removed(passwd):
    run_module({"path": str(passwd), "users": USERS})
    alice = passwd.read_bytes().split(b"\n")[0]
    outcome, result = run_module({"path": str(passwd), "users": {"alice": "alice-pw-1", "carol": "carol-pw-1"},
                                  "_ansible_diff": True})
    assert outcome == "exit", result
    assert lists(result) == (["carol"], [], ["bob"], ["alice"])
    assert [entry["user"] for entry in mp.parse_passwd(passwd.read_bytes())] == ["alice", "carol"]
    assert passwd.read_bytes().split(b"\n")[0] == alice
    assert result["diff"][0]["before"] == "alice\nbob\n"
    assert result["diff"][0]["after"] == "alice\ncarol (added)\n"


def test_existing_mosquitto_file_is_kept(passwd):
    content = ("alice:$7$101$KfCgmojizKB/mfvX$tidulGTdjyyV7cLOX6e+d4xlJ2iLKz5ABwPDkMPc5rTRaPva85DZslVNdV7jspkw"
               "+qHR8x3gNVA1CF9PzGCN9g==\n").encode()
    passwd.write_bytes(content)
    os.chmod(str(passwd), 0o600)
    outcome, result = run_module({"path": str(passwd), "users": {"alice": "secret"}})
    assert outcome == "exit", result
    assert result["changed"] is False and result["unchanged"] == ["alice"]
    assert passwd.read_bytes() == content


def test_mode_only_change_is_a_change(passwd):
    run_module({"path": str(passwd), "users": USERS})
    content = passwd.read_bytes()
    os.chmod(str(passwd), 0o644)
    outcome, result = run_module({"path": str(passwd), "users": USERS, "_ansible_diff": True})
    assert outcome == "exit", result
    assert result["changed"] is True and result["unchanged"] == ["alice", "bob"]
    assert passwd.read_bytes() == content and mode_of(passwd) == 0o600
    assert result["diff"] == [{"before": {"mode": "0644"}, "after": {"mode": "0600"},
                               "before_header": str(passwd), "after_header": str(passwd)}]
    outcome, result = run_module({"path": str(passwd), "users": USERS})
    assert result["changed"] is False


def test_explicit_mode(passwd):
    outcome, result = run_module({"path": str(passwd), "users": USERS, "mode": "0640"})
    assert outcome == "exit", result
    assert mode_of(passwd) == 0o640
    outcome, result = run_module({"path": str(passwd), "users": USERS, "mode": "0640"})
    assert result["changed"] is False


def test_new_file_diff(passwd):
    outcome, result = run_module({"path": str(passwd), "users": USERS, "_ansible_diff": True})
    assert outcome == "exit", result
    assert result["diff"] == [{"before": "", "after": "alice (added)\nbob (added)\n",
                               "before_header": "%s (absent)" % passwd, "after_header": str(passwd)}]


# --------------------------------------------------------------------------- check mode

def test_check_mode_creates_nothing(passwd):
    outcome, result = run_module({"path": str(passwd), "users": USERS, "_ansible_check_mode": True,
                                  "_ansible_diff": True})
    assert outcome == "exit", result
    assert result["changed"] is True and result["added"] == ["alice", "bob"]
    assert not os.path.lexists(str(passwd)) and os.listdir(str(passwd.parent)) == []
    assert len(result["checksum"]) == 64
    assert result["diff"][0]["after"] == "alice (added)\nbob (added)\n"


def test_check_mode_changes_nothing(passwd):
    run_module({"path": str(passwd), "users": USERS})
    os.chmod(str(passwd), 0o644)
    content = passwd.read_bytes()
    outcome, result = run_module({"path": str(passwd), "users": {"alice": "alice-pw-2", "carol": "carol-pw-1"},
                                  "_ansible_check_mode": True})
    assert outcome == "exit", result
    assert result["changed"] is True
    assert lists(result) == (["carol"], ["alice"], ["bob"], [])
    assert result["checksum"] != hashlib.sha256(content).hexdigest()
    assert passwd.read_bytes() == content and mode_of(passwd) == 0o644
    assert sorted(os.listdir(str(passwd.parent))) == ["passwd"]


def test_check_mode_without_changes(passwd):
    run_module({"path": str(passwd), "users": USERS})
    outcome, result = run_module({"path": str(passwd), "users": USERS, "_ansible_check_mode": True})
    assert outcome == "exit", result
    assert result["changed"] is False and result["checksum"] == sha256(passwd)


def test_check_mode_reports_a_mode_change(passwd):
    run_module({"path": str(passwd), "users": USERS})
    os.chmod(str(passwd), 0o644)
    outcome, result = run_module({"path": str(passwd), "users": USERS, "_ansible_check_mode": True})
    assert result["changed"] is True and mode_of(passwd) == 0o644


# --------------------------------------------------------------------------- failures

@pytest.mark.parametrize(
    "users, fragment",
    [
        ({"al ice": "alice-pw-1"}, "users: user name 'al ice' must not contain"),
        ({"al:ice": "alice-pw-1"}, "users: user name 'al:ice' must not contain ':'"),
        ({"": "alice-pw-1"}, "users: user name '' must be a non-empty string"),
        ({"alice": ""}, "users: password of user 'alice' is empty"),
        ({"alice": "alice-pw-1\nbob:x"}, "users: password of user 'alice' contains a newline"),
    ],
    ids=["space", "colon", "empty-name", "empty-password", "newline"],
)
def test_bad_users_fail_without_leaking_the_password(passwd, users, fragment):
    outcome, result = run_module({"path": str(passwd), "users": dict(users, bob="bob-pw-1")})
    assert outcome == "fail", result
    assert fragment in result["msg"]
    assert "alice-pw-1" not in json.dumps(result) and "bob-pw-1" not in json.dumps(result)
    assert not os.path.lexists(str(passwd))


def test_malformed_file_fails_naming_the_line(passwd):
    content = b"alice:x\n\nplain-secret-1\n"
    passwd.write_bytes(content)
    outcome, result = run_module({"path": str(passwd), "users": USERS})
    assert outcome == "fail", result
    assert result["msg"] == "%s: line 3 is not 'user:hash'" % passwd
    assert "plain-secret-1" not in json.dumps(result)
    assert passwd.read_bytes() == content


def test_missing_directory_fails(tmp_path):
    outcome, result = run_module({"path": str(tmp_path / "nope" / "passwd"), "users": USERS})
    assert outcome == "fail", result
    assert "does not exist" in result["msg"]


def test_directory_path_fails(tmp_path):
    outcome, result = run_module({"path": str(tmp_path), "users": USERS})
    assert outcome == "fail", result
    assert result["msg"] == "%s is a directory" % tmp_path


def test_bad_iterations_fail(passwd):
    outcome, result = run_module({"path": str(passwd), "users": USERS, "iterations": 0})
    assert outcome == "fail", result
    assert "iterations must be >= 1" in result["msg"]


def test_required_options():
    outcome, result = run_module({})
    assert outcome == "fail", result
    assert "path" in result["msg"] and "users" in result["msg"]


def test_iterations_option(passwd):
    outcome, result = run_module({"path": str(passwd), "users": USERS, "iterations": 1000})
    assert outcome == "exit", result
    assert all(entry["hash"].startswith("$7$1000$") for entry in mp.parse_passwd(passwd.read_bytes()))
