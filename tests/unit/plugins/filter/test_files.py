"""disk_drift and config_file_specs: write only the paths whose state differs, read in one call."""

import hashlib

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.taylordash.ops.plugins.filter.files import disk_drift
from ansible_collections.taylordash.ops.plugins.filter.infrastructure import config_file_specs
from ansible_collections.taylordash.ops.plugins.module_utils._path_state import path_state


def disk_state(*paths):
    """What the path_state module returns for real paths."""
    return path_state([str(path) for path in paths])


def test_nothing_drifts_when_every_path_is_as_wanted(tmp_path):
    conf = tmp_path / "conf"
    conf.mkdir(mode=0o755)
    conf.chmod(0o755)
    (conf / "a.yml").write_text("a: 1\n")
    (conf / "a.yml").chmod(0o644)
    wanted = [{"path": str(conf), "kind": "d", "mode": "0755"},
              {"path": str(conf / "a.yml"), "kind": "f", "mode": "0644",
               "sha1": hashlib.sha1(b"a: 1\n").hexdigest()}]
    assert disk_drift(wanted, disk_state(conf, conf / "a.yml")) == []


def test_absent_changed_content_mode_owner_and_kind_drift(tmp_path):
    (tmp_path / "f").write_text("old\n")
    (tmp_path / "f").chmod(0o644)
    (tmp_path / "d").write_text("a file where a directory belongs")
    state = disk_state(tmp_path / "f", tmp_path / "d", tmp_path / "absent")
    info = state[str(tmp_path / "f")]
    same = {"path": str(tmp_path / "f"), "kind": "f", "mode": "0644", "sha1": hashlib.sha1(b"old\n").hexdigest()}
    cases = {
        "content": dict(same, sha1=hashlib.sha1(b"new\n").hexdigest()),
        "mode": dict(same, mode="0600"),
        "owner": dict(same, uid=info["uid"] + 1),
        "kind": {"path": str(tmp_path / "d"), "kind": "d", "mode": "0755"},
        "absent": {"path": str(tmp_path / "absent"), "kind": "d", "mode": "0755"},
    }
    assert disk_drift([same], state) == []
    for name, item in cases.items():
        assert disk_drift([same, item], state) == [item["path"]], name


def test_config_file_specs_own_credentials_and_carry_their_checks():
    configs = [{"src": "a.j2", "dest": "x/a.conf", "check": "tool"},
               {"src": "acl.j2", "dest": "m/acl", "owner": "mosquitto", "check": "none"}]
    files = config_file_specs(configs, ["A\n", "user x\n"], "/opt/t/config/", {"mosquitto": 1883}, {"tool": "tool %s"})
    assert files == [
        {"path": "/opt/t/config/x/a.conf", "content": "A\n", "mode": "0644", "validate": "tool %s"},
        {"path": "/opt/t/config/m/acl", "content": "user x\n", "mode": "0600", "owner": "1883", "group": "1883"},
    ]
    assert "validate" not in config_file_specs(configs, ["A\n", "x"], "/c", {}, {})[0]
    with pytest.raises(AnsibleFilterError, match="2 files but 1 rendered"):
        config_file_specs(configs, ["A\n"], "/c", {})


@pytest.mark.parametrize("wanted, state, message", [
    ("x", "{}", "must be a list"),
    ([{"path": "/a", "kind": "x", "mode": "0644"}], "{}", "needs a path and a kind"),
    ([{"path": "/a", "kind": "f", "mode": "rw"}], '{"/a": {"kind": "f", "mode": "0644"}}', "octal"),
    ([], "not json", "not JSON"),
])
def test_bad_input_is_refused(wanted, state, message):
    with pytest.raises(AnsibleFilterError, match=message):
        disk_drift(wanted, state)
