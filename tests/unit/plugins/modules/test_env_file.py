# -*- coding: utf-8 -*-
"""Tests for plugins/modules/env_file.py: real files in tmp_path, through main()."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import stat

import pytest

from ansible.module_utils import basic

from ansible_collections.taylordash.ops.plugins.module_utils import _envfile as ef
from ansible_collections.taylordash.ops.plugins.modules import env_file
from ansible_collections.taylordash.ops.tests.unit.plugins.modules import harness


def run_module(args):
    """Run env_file.main(); return ('exit'|'fail', result dict)."""
    return harness.run_module(env_file, args)


SECRET = "Vault-s3cr3t-value"
HEADER_LINE = "# " + ef.DEFAULT_HEADER
RETURN_KEYS = {"changed", "path", "generated", "kept", "overridden", "removed", "values"}


def compose_args(path, **extra):
    args = {
        "path": str(path),
        "secrets": {"POSTGRES_PASSWORD": {}, "MINIO_ROOT_PASSWORD": {"length": 40}},
        "values": {"POSTGRES_USER": "taylordash", "POSTGRES_DB": "taylordash"},
        "derived": {"DATABASE_URL": "postgresql://${POSTGRES_USER:url}:${POSTGRES_PASSWORD:url}"
                                    "@postgres:5432/${POSTGRES_DB:url}"},
    }
    args.update(extra)
    return args


def mode_of(path):
    return stat.S_IMODE(os.stat(str(path)).st_mode)


def no_tmp_left(directory):
    return [name for name in os.listdir(str(directory)) if name.endswith(".tmp")] == []


# --------------------------------------------------------------------------- first and second run

def test_first_run_generates_then_second_run_changes_nothing(tmp_path):
    path = tmp_path / ".env"
    outcome, first = run_module(compose_args(path))
    assert outcome == "exit", first
    assert set(first) >= RETURN_KEYS and "diff" not in first
    assert first["changed"] is True and first["path"] == str(path)
    assert first["generated"] == ["POSTGRES_PASSWORD", "MINIO_ROOT_PASSWORD"]
    assert (first["kept"], first["overridden"], first["removed"]) == ([], [], [])
    values = first["values"]
    assert len(values["POSTGRES_PASSWORD"]) == 32 and len(values["MINIO_ROOT_PASSWORD"]) == 40
    assert values["DATABASE_URL"] == "postgresql://taylordash:%s@postgres:5432/taylordash" % values["POSTGRES_PASSWORD"]
    assert mode_of(path) == 0o600
    content = path.read_text()
    assert content == (HEADER_LINE + "\n" + "".join("%s='%s'\n" % item for item in values.items()))
    assert list(values) == ["POSTGRES_PASSWORD", "MINIO_ROOT_PASSWORD", "POSTGRES_USER", "POSTGRES_DB",
                            "DATABASE_URL"]
    assert no_tmp_left(tmp_path)

    before = path.read_bytes()
    inode = os.stat(str(path)).st_ino
    outcome, second = run_module(compose_args(path))
    assert outcome == "exit", second
    assert second["changed"] is False
    assert second["generated"] == [] and second["kept"] == ["POSTGRES_PASSWORD", "MINIO_ROOT_PASSWORD"]
    assert second["values"] == values
    assert path.read_bytes() == before and os.stat(str(path)).st_ino == inode  # not even rewritten


def test_new_file_is_private_even_with_umask_0(tmp_path, monkeypatch):
    """The temporary file is 0600 when it is moved into place, and stays so after the move."""
    seen = []
    real_move = basic.AnsibleModule.atomic_move

    def recording_move(self, src, dest, *args, **kwargs):
        seen.append((mode_of(src), os.path.dirname(src)))
        return real_move(self, src, dest, *args, **kwargs)

    monkeypatch.setattr(basic.AnsibleModule, "atomic_move", recording_move)
    old = os.umask(0)
    try:
        outcome, result = run_module(compose_args(tmp_path / ".env"))
    finally:
        os.umask(old)
    assert outcome == "exit", result
    assert seen == [(0o600, str(tmp_path))]
    assert mode_of(tmp_path / ".env") == 0o600
    assert os.umask(old) == old  # umask restored by the module


def test_requested_mode_is_set_before_the_move(tmp_path, monkeypatch):
    seen = []
    real_move = basic.AnsibleModule.atomic_move

    def recording_move(self, src, dest, *args, **kwargs):
        seen.append(mode_of(src))
        return real_move(self, src, dest, *args, **kwargs)

    monkeypatch.setattr(basic.AnsibleModule, "atomic_move", recording_move)
    outcome, result = run_module(compose_args(tmp_path / ".env", mode="0640"))
    assert outcome == "exit", result
    assert seen == [0o640] and mode_of(tmp_path / ".env") == 0o640


# --------------------------------------------------------------------------- check mode

def test_check_mode_writes_nothing_on_a_new_file(tmp_path):
    path = tmp_path / ".env"
    outcome, result = run_module(compose_args(path, _ansible_check_mode=True, _ansible_diff=True))
    assert outcome == "exit", result
    assert result["changed"] is True and result["generated"] == ["POSTGRES_PASSWORD", "MINIO_ROOT_PASSWORD"]
    assert result["diff"]["before"] == ""
    assert result["diff"]["after"] == HEADER_LINE + "\n" + "".join(
        "%s=<hidden>\n" % name for name in result["values"])
    assert os.listdir(str(tmp_path)) == []


def test_check_mode_writes_nothing_on_an_existing_file(tmp_path):
    path = tmp_path / ".env"
    assert run_module(compose_args(path))[0] == "exit"
    os.chmod(str(path), 0o644)
    before = path.read_bytes()
    args = compose_args(path, _ansible_check_mode=True)
    args["secrets"]["POSTGRES_PASSWORD"] = {"value": SECRET}
    outcome, result = run_module(args)
    assert outcome == "exit", result
    assert result["changed"] is True and result["overridden"] == ["POSTGRES_PASSWORD"]
    assert path.read_bytes() == before and mode_of(path) == 0o644
    assert os.listdir(str(tmp_path)) == [".env"]


def test_check_mode_reports_a_mode_change_only(tmp_path):
    path = tmp_path / ".env"
    assert run_module(compose_args(path))[0] == "exit"
    os.chmod(str(path), 0o644)
    outcome, result = run_module(compose_args(path, _ansible_check_mode=True))
    assert outcome == "exit" and result["changed"] is True
    assert mode_of(path) == 0o644
    outcome, result = run_module(compose_args(path))
    assert outcome == "exit" and result["changed"] is True and mode_of(path) == 0o600
    assert run_module(compose_args(path))[1]["changed"] is False


# --------------------------------------------------------------------------- override, removal, diff

def test_override_changes_one_value_and_diff_shows_no_value(tmp_path):
    path = tmp_path / ".env"
    outcome, first = run_module(compose_args(path))
    assert outcome == "exit", first
    old_lines = path.read_text().splitlines()

    args = compose_args(path, _ansible_diff=True)
    args["secrets"]["POSTGRES_PASSWORD"] = {"value": SECRET}
    outcome, result = run_module(args)
    assert outcome == "exit", result
    assert result["changed"] is True
    assert (result["overridden"], result["kept"], result["generated"]) == (
        ["POSTGRES_PASSWORD"], ["MINIO_ROOT_PASSWORD"], [])
    assert result["values"]["POSTGRES_PASSWORD"] == SECRET
    assert result["values"]["MINIO_ROOT_PASSWORD"] == first["values"]["MINIO_ROOT_PASSWORD"]
    new_lines = path.read_text().splitlines()
    changed = [(old, new) for old, new in zip(old_lines, new_lines) if old != new]
    assert [new for _old, new in changed] == [
        "POSTGRES_PASSWORD='%s'" % SECRET,
        "DATABASE_URL='postgresql://taylordash:%s@postgres:5432/taylordash'" % SECRET,
    ]
    diff = result["diff"]
    assert diff["before"] == HEADER_LINE + "\n" + "".join("%s=<hidden>\n" % name for name in first["values"])
    assert "POSTGRES_PASSWORD=<hidden, changed>" in diff["after"].splitlines()
    assert "DATABASE_URL=<hidden, changed>" in diff["after"].splitlines()
    dumped = json.dumps(diff)
    for value in list(first["values"].values()) + [SECRET]:
        if value != "taylordash":
            assert value not in dumped
    assert mode_of(path) == 0o600

    outcome, again = run_module(args)
    assert outcome == "exit" and again["changed"] is False and again["overridden"] == []


def test_existing_file_is_kept_and_unwanted_keys_removed(tmp_path):
    path = tmp_path / ".env"
    path.write_text("# hand written\nexport POSTGRES_PASSWORD=\"%s\"\nOLD_KEY=old\n" % SECRET)
    os.chmod(str(path), 0o600)
    outcome, result = run_module(compose_args(path, _ansible_diff=True))
    assert outcome == "exit", result
    assert result["changed"] is True
    assert result["kept"] == ["POSTGRES_PASSWORD"] and result["generated"] == ["MINIO_ROOT_PASSWORD"]
    assert result["removed"] == ["OLD_KEY"]
    assert "POSTGRES_PASSWORD='%s'\n" % SECRET in path.read_text() and "OLD_KEY" not in path.read_text()
    assert result["diff"]["before"] == ("# <comment hidden>\nPOSTGRES_PASSWORD=<hidden, rewritten>\n"
                                        "OLD_KEY=<hidden>\n")
    assert SECRET not in json.dumps(result["diff"])


def test_symlink_is_followed(tmp_path):
    (tmp_path / "real").mkdir()
    target = tmp_path / "real" / "stack.env"
    link = tmp_path / ".env"
    link.symlink_to(target)
    outcome, result = run_module(compose_args(link))
    assert outcome == "exit", result
    assert link.is_symlink() and target.is_file() and mode_of(target) == 0o600
    assert result["path"] == str(link)


@pytest.mark.skipif(os.geteuid() != 0, reason="chown needs root")
def test_rewrite_keeps_owner_unless_told_otherwise(tmp_path):
    path = tmp_path / ".env"
    assert run_module(compose_args(path))[0] == "exit"
    os.chown(str(path), 4321, 4322)
    args = compose_args(path)
    args["values"]["POSTGRES_DB"] = "other"
    outcome, result = run_module(args)
    assert outcome == "exit" and result["changed"] is True
    info = os.stat(str(path))
    assert (info.st_uid, info.st_gid, stat.S_IMODE(info.st_mode)) == (4321, 4322, 0o600)
    outcome, result = run_module(compose_args(path, owner="0", group="0"))
    assert outcome == "exit" and result["changed"] is True
    info = os.stat(str(path))
    assert (info.st_uid, info.st_gid) == (0, 0)


# --------------------------------------------------------------------------- failures

@pytest.mark.parametrize(
    "bad",
    ["quo'te", "new\nline", "carriage\rreturn"],
    ids=["quote", "newline", "cr"],
)
def test_bad_value_fails_naming_the_key_only(tmp_path, bad):
    args = compose_args(tmp_path / ".env")
    args["secrets"]["POSTGRES_PASSWORD"] = {"value": SECRET + bad}
    outcome, result = run_module(args)
    assert outcome == "fail", result
    assert "secrets.POSTGRES_PASSWORD: the value contains" in result["msg"]
    assert SECRET not in json.dumps(result)
    assert os.listdir(str(tmp_path)) == []


def test_unparsable_file_fails_naming_the_line_number(tmp_path):
    path = tmp_path / ".env"
    path.write_text("A=1\n# c\n%s\n" % SECRET)
    outcome, result = run_module(compose_args(path))
    assert outcome == "fail", result
    assert result["msg"] == "%s: line 3 is neither a comment nor a KEY=value assignment" % path
    assert SECRET not in json.dumps(result)
    assert path.read_text() == "A=1\n# c\n%s\n" % SECRET


@pytest.mark.parametrize(
    "extra, fragment",
    [
        ({"values": {"POSTGRES_PASSWORD": "x"}}, "POSTGRES_PASSWORD is defined more than once, in secrets and values"),
        ({"values": {"bad-name": "x"}}, "values: invalid name 'bad-name'"),
        ({"derived": {"URL": "${NOPE:url}"}}, "derived.URL: placeholder ${NOPE:url} names no key"),
        ({"secrets": {"P": {"length": 8}}}, "secrets.P.length: must be at least 16, got 8"),
    ],
    ids=["duplicate", "bad-name", "unknown-placeholder", "short-length"],
)
def test_option_errors_fail(tmp_path, extra, fragment):
    args = compose_args(tmp_path / ".env", **extra)
    outcome, result = run_module(args)
    assert outcome == "fail", result
    assert fragment in result["msg"]
    assert os.listdir(str(tmp_path)) == []


@pytest.mark.parametrize("extra", [{"owner": "no_such_user_env_file_test"}, {"mode": "not-a-mode"}],
                         ids=["owner", "mode"])
def test_bad_file_attributes_fail_without_leaving_files(tmp_path, extra):
    outcome, result = run_module(compose_args(tmp_path / ".env", **extra))
    assert outcome == "fail", result
    assert os.listdir(str(tmp_path)) == []


def test_missing_directory_fails(tmp_path):
    outcome, result = run_module(compose_args(tmp_path / "nope" / ".env"))
    assert outcome == "fail", result
    assert "does not exist" in result["msg"]


def test_path_is_required():
    outcome, result = run_module({})
    assert outcome == "fail", result
    assert "path" in result["msg"]
