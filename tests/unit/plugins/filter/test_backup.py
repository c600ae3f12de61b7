"""The backup filters: thin adapters whose errors name the variable."""

import base64

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.taylordash.ops.plugins.filter import backup as f


def _slurped(host, text):
    return {"item": host, "content": base64.b64encode(text.encode()).decode(), "encoding": "base64"}


def test_known_hosts_from_a_looped_slurp():
    registered = {"results": [_slurped("app1", "ssh-ed25519 AAAA1 root@app1\n"),
                              _slurped("app2", "ssh-ed25519 AAAA2 root@app2\n")]}
    text = f.backup_known_hosts(registered, {"app1": "10.0.0.2", "app2": "10.0.0.3"}, "22")
    assert text == "10.0.0.2 ssh-ed25519 AAAA1\n10.0.0.3 ssh-ed25519 AAAA2\n"
    assert f.backup_known_hosts({"results": []}, {}, 22) == ""


def test_a_host_without_a_key_or_an_address_is_named():
    with pytest.raises(AnsibleFilterError, match="taylordash_backup_offsite: no SSH host key of app1"):
        f.backup_known_hosts({"results": [_slurped("app1", "")]}, {"app1": "10.0.0.2"}, 22)
    with pytest.raises(AnsibleFilterError, match="of app9"):
        f.backup_known_hosts({"results": [_slurped("app9", "ssh-ed25519 AAAA")]}, {"app1": "10.0.0.2"}, 22)


def test_offsite_targets_name_the_variable():
    assert f.backup_offsite(["app1"], {"app1": "10.0.0.2"}, {"user": "tb", "dir": "/b", "port": 22})[0]["address"] \
        == "10.0.0.2"
    with pytest.raises(AnsibleFilterError, match="taylordash_backup_offsite: 'ftp://x'"):
        f.backup_offsite(["ftp://x"], {}, {})
