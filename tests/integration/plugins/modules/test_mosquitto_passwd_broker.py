# -*- coding: utf-8 -*-
"""plugins/modules/mosquitto_passwd.py against a real broker: a throwaway container of the image
taylordash/mosquitto:2.0 (engine.py: skipped by hand without it, failed under `make test`)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import subprocess
import time

import pytest

from ansible_collections.taylordash.ops.plugins.module_utils import _mosquitto_passwd as mp
from ansible_collections.taylordash.ops.plugins.modules import mosquitto_passwd
from ansible_collections.taylordash.ops.tests.integration.engine import require_image
from ansible_collections.taylordash.ops.tests.unit.plugins.modules import harness


@pytest.fixture(autouse=True)
def patch_exit_fail(monkeypatch):
    """AnsibleModule.exit_json / fail_json raise AnsibleExitJson / AnsibleFailJson."""
    harness.patch_exit_fail(monkeypatch)


def run_module(args):
    """Run mosquitto_passwd.main(); return ('exit'|'fail', result dict)."""
    return harness.run_module(mosquitto_passwd, args)


IMAGE = "taylordash/mosquitto:2.0"
MOSQUITTO_UID = 1883


def _docker(*args, **kwargs):
    return subprocess.run(["docker"] + list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, timeout=kwargs.pop("timeout", 60), **kwargs)


@pytest.fixture(scope="module")
def mosquitto_image():
    """The image name, or skip: needs the docker CLI, a reachable engine and the image (never pulled).

    `make test` sets TAYLORDASH_REQUIRE_ENGINE=1 (and runs these after molecule built
    the images): there a missing engine or image fails instead of skipping.
    """
    return require_image(IMAGE, "real Mosquitto broker tests")


def _readable_by_mosquitto(path, directory):
    """Let the broker's uid read the file: own it as root, else make it world readable (test only)."""
    os.chmod(str(directory), 0o755)
    if os.geteuid() == 0:
        return {"owner": str(MOSQUITTO_UID), "group": str(MOSQUITTO_UID), "mode": "0600"}
    return {"mode": "0644"}


def _publish(container, user, password):
    return _docker("exec", container, "mosquitto_pub", "-h", "127.0.0.1", "-p", "1883",
                   "-u", user, "-P", password, "-t", "t", "-m", "x").returncode


def _wait_for_broker(container, user, password, seconds=15):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if _publish(container, user, password) == 0:
            return True
        time.sleep(0.3)
    return False


def test_real_broker_accepts_generated_hashes(mosquitto_image, tmp_path):
    cfg = tmp_path / "cfg"
    cfg.mkdir()
    (cfg / "m.conf").write_text("listener 1883\nallow_anonymous false\npassword_file /cfg/passwd\nlog_dest stdout\n")
    passwd = cfg / "passwd"
    attrs = _readable_by_mosquitto(passwd, cfg)
    users = {"alice": "secret", "bob": u"b-pw with spaces:$ and ümlaut", "carol": "carol-pw-1"}
    outcome, result = run_module(dict({"path": str(passwd), "users": users}, **attrs))
    assert outcome == "exit", result
    name = "mqpw-test-%d" % os.getpid()
    started = _docker("run", "--rm", "-d", "--name", name, "-v", "%s:/cfg:ro" % cfg, mosquitto_image,
                      "mosquitto", "-c", "/cfg/m.conf")
    assert started.returncode == 0, started.stderr
    try:
        assert _wait_for_broker(name, "alice", "secret"), _docker("logs", name).stdout
        assert _publish(name, "bob", users["bob"]) == 0
        assert _publish(name, "carol", "carol-pw-1") == 0
        assert _publish(name, "alice", "wrong") != 0
        assert _publish(name, "alice", "Secret") != 0
        assert _publish(name, "nobody", "secret") != 0

        # change bob's password, drop carol: the kept line and the new one both work after a reload
        users = {"alice": "secret", "bob": "bob-pw-2"}
        outcome, result = run_module(dict({"path": str(passwd), "users": users}, **attrs))
        assert outcome == "exit" and result["updated"] == ["bob"] and result["removed"] == ["carol"], result
        assert _docker("kill", "-s", "HUP", name).returncode == 0
        deadline = time.time() + 15
        while _publish(name, "bob", "bob-pw-2") != 0 and time.time() < deadline:
            time.sleep(0.3)
        assert _publish(name, "bob", "bob-pw-2") == 0
        assert _publish(name, "alice", "secret") == 0
        assert _publish(name, "carol", "carol-pw-1") != 0
    finally:
        _docker("rm", "-f", name)


@pytest.mark.parametrize("hash_option", [[], ["-H", "sha512-pbkdf2"], ["-H", "sha512"]],
                         ids=["default", "pbkdf2", "sha512"])
def test_hashes_of_the_real_mosquitto_passwd_verify(mosquitto_image, hash_option):
    made = _docker(*["run", "--rm", "--entrypoint", "sh", mosquitto_image, "-c",
                     'cd /tmp && mosquitto_passwd "$@" -c -b f alice "s3cret pw" && cat f', "sh"] + hash_option)
    assert made.returncode == 0, made.stderr
    entries = mp.parse_passwd(made.stdout)
    assert [entry["user"] for entry in entries] == ["alice"]
    assert entries[0]["hash"].startswith("$6$" if hash_option[-1:] == ["sha512"] else "$7$101$")
    assert mp.verify_password("s3cret pw", entries[0]["hash"])
    assert not mp.verify_password("s3cret pW", entries[0]["hash"])
    plan = mp.plan_passwd(made.stdout.encode(), {"alice": "s3cret pw"})
    assert plan["changed"] is False and plan["content"] == made.stdout.encode()
