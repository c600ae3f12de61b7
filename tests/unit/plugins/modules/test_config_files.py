# -*- coding: utf-8 -*-
"""plugins/modules/config_files.py on a temporary directory: the plan, check mode, atomic writes with
their modes, the validate command, masked diffs, inspected paths."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import stat

from ansible_collections.taylordash.ops.plugins.modules import config_files
from ansible_collections.taylordash.ops.tests.unit.plugins.modules import harness


def run(params, check=False, diff=False):
    return harness.run_module(config_files, dict(params, _ansible_check_mode=check, _ansible_diff=diff))


def mode_of(path):
    return "%04o" % stat.S_IMODE(os.stat(str(path)).st_mode)


def test_check_mode_plans_and_touches_nothing_then_a_run_writes_then_nothing_changes(tmp_path):
    conf = tmp_path / "conf"
    params = {"directories": [{"path": str(conf)}],
              "files": [{"path": str(conf / "a.yml"), "content": "a: 1\n", "mode": "0600"}]}
    outcome, result = run(params, check=True)
    assert outcome == "exit" and result["changed"] is True and not conf.exists()
    assert [row["action"] for row in result["changes"]] == ["create", "create"]
    outcome, result = run(params)
    assert result["changed"] is True and (conf / "a.yml").read_text() == "a: 1\n"
    assert mode_of(conf / "a.yml") == "0600" and mode_of(conf) == "0755"
    outcome, result = run(params)
    assert result["changed"] is False and result["changes"] == []


def test_a_mode_drift_only_sets_the_mode_and_a_content_drift_replaces_the_file(tmp_path):
    target = tmp_path / "a.yml"
    target.write_text("old\n")
    os.chmod(str(target), 0o666)
    inode = os.stat(str(target)).st_ino
    params = {"files": [{"path": str(target), "content": "old\n", "mode": "0644"}]}
    outcome, result = run(params)
    assert result["changes"] == [{"path": str(target), "action": "attributes", "why": "mode 0666, wanted 0644"}]
    assert mode_of(target) == "0644" and os.stat(str(target)).st_ino == inode
    outcome, result = run({"files": [{"path": str(target), "content": "new\n", "mode": "0644"}]})
    assert result["changes"][0]["action"] == "replace" and target.read_text() == "new\n"
    assert os.stat(str(target)).st_ino != inode  # renamed over, never written in place
    assert [p for p in os.listdir(str(tmp_path)) if p.endswith(".tmp")] == []


def test_a_failing_validate_keeps_the_old_file_and_names_it(tmp_path):
    target = tmp_path / "a.yml"
    target.write_text("good\n")
    params = {"files": [{"path": str(target), "content": "bad\n", "validate": "grep -q good %s"}]}
    outcome, result = run(params)
    assert outcome == "fail" and str(target) in result["msg"] and "grep -q good %s" in result["msg"]
    assert target.read_text() == "good\n" and [p for p in os.listdir(str(tmp_path)) if p != "a.yml"] == []
    outcome, result = run({"files": [{"path": str(target), "content": "still good\n", "validate": "grep -q good %s"}]})
    assert outcome == "exit" and target.read_text() == "still good\n"


def test_diff_shows_old_and_new_content_with_secrets_masked(tmp_path):
    target = tmp_path / "dsn.yml"
    target.write_text("dsn: postgres://u:0ld-s3cret@db/x\n")
    params = {"files": [{"path": str(target), "content": "dsn: postgres://u:n3w-s3cret@db/x\n"}],
              "secrets": ["0ld-s3cret", "n3w-s3cret"]}
    outcome, result = run(params, check=True, diff=True)
    text = repr(result["diff"])
    assert "s3cret" not in text and "postgres://u:" in text and "********" in text
    assert target.read_text().startswith("dsn: postgres://u:0ld")  # check mode wrote nothing


def test_a_file_where_a_directory_should_be_fails_naming_it(tmp_path):
    (tmp_path / "taken").write_text("a file\n")
    outcome, result = run({"directories": [{"path": str(tmp_path / "taken")}]})
    assert outcome == "fail" and "taken" in result["msg"] and "a file, not a directory" in result["msg"]


def test_a_new_file_gets_its_owner_and_group(tmp_path):
    # As root (CI), another owner than the writer's; otherwise the only one this user may give.
    uid, gid = (65534, 65534) if os.getuid() == 0 else (os.getuid(), os.getgid())
    target = tmp_path / "owned"
    outcome, result = run({"files": [{"path": str(target), "content": "x\n", "mode": "0640",
                                      "owner": str(uid), "group": str(gid)}]})
    info = os.stat(str(target))
    assert (info.st_uid, info.st_gid, mode_of(target)) == (uid, gid, "0640")
    outcome, result = run({"files": [{"path": str(target), "content": "x\n", "mode": "0640",
                                      "owner": str(uid), "group": str(gid)}]})
    assert result["changed"] is False


def test_mask_patterns_hide_what_the_host_holds_and_a_bad_pattern_is_named(tmp_path):
    target = tmp_path / "dashboard.yml"
    target.write_text('users: ["admin:$2b$10$abcdefghijklmnopqrstuv1234567890ABCDEFGHIJKLMNOPQRSTU"]\n')
    params = {"files": [{"path": str(target), "content": 'users: ["other:NEWHASH"]\n'}], "secrets": ["NEWHASH"],
              "mask_patterns": [r"\$2[aby]\$[0-9]{2}\$[./A-Za-z0-9]{53}"]}
    outcome, result = run(params, check=True, diff=True)
    text = repr(result["diff"])
    assert "$2b$" not in text and "NEWHASH" not in text and "admin:********" in text and "other:********" in text
    outcome, result = run(dict(params, mask_patterns=["("]), check=True)
    assert outcome == "fail" and "mask_patterns" in result["msg"]


def test_absent_files_are_removed_reported_and_planned_in_check_mode(tmp_path):
    stale, missing = tmp_path / "apps.yml", tmp_path / "gone.yml"
    stale.write_text("routes: {}\n")
    params = {"files": [{"path": str(tmp_path / "tls.yml"), "content": "tls: {}\n"}],
              "absent": [str(stale), str(missing)]}
    outcome, planned = run(params, check=True, diff=True)
    assert outcome == "exit" and stale.exists(), planned
    assert [(row["path"], row["action"]) for row in planned["changes"]] == [
        (str(tmp_path / "tls.yml"), "create"), (str(stale), "remove")]
    assert planned["diff"][-1]["before"] == "routes: {}\n" and planned["diff"][-1]["after"] == ""
    outcome, result = run(params)
    assert result["changed"] is True and not stale.exists() and not missing.exists()
    outcome, again = run(params)
    assert again["changed"] is False and again["changes"] == []


def test_an_absent_path_that_is_a_directory_fails_naming_it(tmp_path):
    (tmp_path / "dir").mkdir()
    outcome, result = run({"absent": [str(tmp_path / "dir")]})
    assert outcome == "fail" and "absent: %s is a directory" % (tmp_path / "dir") in result["msg"]
    assert (tmp_path / "dir").is_dir()
