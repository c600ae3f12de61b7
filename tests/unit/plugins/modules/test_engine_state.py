# -*- coding: utf-8 -*-
"""plugins/modules/engine_state.py with the host's commands answered here (the module on the real engine:
the docker_engine role in every end-to-end run): wanted files, the mirror, the plan, nothing written."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import os

import pytest

from ansible.module_utils import basic

from ansible_collections.taylordash.ops.plugins.module_utils import _apt, _engine
from ansible_collections.taylordash.ops.plugins.modules import engine_state
from ansible_collections.taylordash.ops.tests.unit.plugins.modules import harness



@pytest.fixture(autouse=True)
def owner_is_this_user(monkeypatch):
    """The module wants root's files; here the files the tests write (whoever runs them) are the wanted ones."""
    monkeypatch.setattr(engine_state, "ROOT", {"uid": os.getuid(), "gid": os.getgid()})


def answers(dpkg="docker.io ii \n", docker=True):
    def run_command(self, argv, **kwargs):
        line = " ".join([os.path.basename(argv[0])] + list(argv[1:]))
        if line.startswith("dpkg-query"):
            return 0, dpkg, ""
        if line.startswith("systemctl"):
            return 0, "", ""
        assert docker, "the docker CLI is absent: nothing may call it"
        if line.startswith("docker compose version"):
            return 0, "2.26.1\n", ""
        if line.startswith("docker buildx version"):
            return 0, "github.com/docker/buildx 0.13.1 abc\n", ""
        raise AssertionError("unexpected command: " + line)
    return run_command


def run(monkeypatch, tmp_path, _answers=None, mirror="http://deb.example/debian", **args):
    _answers = _answers or {}
    monkeypatch.setattr(basic.AnsibleModule, "run_command", answers(**_answers))
    monkeypatch.setattr(basic.AnsibleModule, "get_bin_path",
                        lambda self, name, *a, **k: "/usr/bin/" + name if _answers.get("docker", True) else None)
    sources = "Types: deb\nURIs: %s\nSuites: bookworm bookworm-updates\nComponents: main\n" % mirror
    monkeypatch.setattr(engine_state, "read_apt_sources", lambda: [("/etc/apt/sources.list.d/d.sources", sources)])
    params = dict({"packages": ["docker.io"], "daemon": {"live-restore": True},
                   "daemon_json_path": str(tmp_path / "docker" / "daemon.json"), "manager": "start-stop-daemon",
                   "dockerd_candidates": [str(tmp_path / "dockerd")], "pidfiles": [str(tmp_path / "pid")],
                   "socket": str(tmp_path / "docker.sock"), "_ansible_check_mode": True}, **args)
    return harness.run_module(engine_state, params)


HELPER = {"name": "trixie", "codename": "bookworm", "plugin_packages": ["docker-compose"], "priority": 1,
          "mirror": ""}


def daemon_dir(tmp_path, json=True):
    (tmp_path / "docker").mkdir()
    (tmp_path / "docker").chmod(0o755)
    if json:
        (tmp_path / "docker" / "daemon.json").write_text(_engine.daemon_json({"live-restore": True}))
        (tmp_path / "docker" / "daemon.json").chmod(0o644)


def test_a_fresh_host_plans_everything_and_never_calls_the_absent_docker_cli(monkeypatch, tmp_path):
    helper = dict(HELPER, pin_path=str(tmp_path / "pin"), sources_path=str(tmp_path / "src.sources"))
    outcome, result = run(monkeypatch, tmp_path, helper_suite=helper, _answers={"docker": False})
    assert outcome == "exit" and result["changed"] is False, result
    assert result["mirror"] == "http://deb.example/debian/"
    assert "URIs: http://deb.example/debian/\n" in result["files"][helper["sources_path"]]["content"]
    assert [c["what"] for c in result["changes"]] == sorted([
        str(tmp_path / "docker"), str(tmp_path / "docker" / "daemon.json"), helper["pin_path"],
        helper["sources_path"]]) + ["dockerd", "compose", "buildx"]
    assert result["plugins"] == {"compose": "", "buildx": ""}
    assert not (tmp_path / "docker").exists()


def test_files_as_wanted_are_not_in_the_plan_mode_and_kind_drift_are(monkeypatch, tmp_path):
    daemon_dir(tmp_path)
    outcome, result = run(monkeypatch, tmp_path)
    assert [c["what"] for c in result["changes"]] == ["dockerd"]
    (tmp_path / "docker" / "daemon.json").chmod(0o600)
    outcome, result = run(monkeypatch, tmp_path)
    assert {"what": str(tmp_path / "docker" / "daemon.json"), "why": "mode 0600, wanted 0644"} in result["changes"]


def test_a_pidfile_names_a_running_dockerd_only_when_it_is_that_binary(monkeypatch, tmp_path):
    (tmp_path / "dockerd").write_text("")
    (tmp_path / "pid").write_text("1\n")
    outcome, result = run(monkeypatch, tmp_path)
    assert result["dockerd"] == str(tmp_path / "dockerd") and result["running"] is False
    assert {"what": "dockerd", "why": "not running"} in result["changes"]
    (tmp_path / "pid").write_text("%d\n" % os.getpid())
    outcome, result = run(monkeypatch, tmp_path, dockerd_candidates=[os.path.realpath("/proc/self/exe")])
    assert result["running"] is True
    assert {"what": "engine", "why": "does not answer on its socket"} in result["changes"]


def test_systemd_asks_systemctl(monkeypatch, tmp_path):
    (tmp_path / "dockerd").write_text("")
    outcome, result = run(monkeypatch, tmp_path, manager="systemd")
    assert result["running"] is True


def test_no_mirror_fails_naming_the_variable(monkeypatch, tmp_path):
    helper = dict(HELPER, pin_path=str(tmp_path / "pin"), sources_path=str(tmp_path / "src.sources"))
    outcome, result = run(monkeypatch, tmp_path, helper_suite=helper, mirror="cdrom:/x")
    assert outcome == "fail" and "set docker_engine_debian_mirror" in result["msg"]


def test_a_release_named_oldstable_falls_back_to_the_helper_suite_s_own_source(monkeypatch, tmp_path):
    helper = dict(HELPER, pin_path=str(tmp_path / "pin"), sources_path="/etc/apt/sources.list.d/taylordash-trixie.sources")
    own = _engine.helper_sources("trixie", "http://mine/debian/", helper["pin_path"])
    monkeypatch.setattr(basic.AnsibleModule, "run_command", answers())
    monkeypatch.setattr(engine_state, "read_apt_sources", lambda: [
        ("/etc/apt/sources.list", "deb http://other/debian oldstable main\n"), (helper["sources_path"], own)])
    params = {"packages": [], "daemon": {}, "daemon_json_path": str(tmp_path / "d.json"), "manager": "systemd",
              "helper_suite": helper, "_ansible_check_mode": True}
    outcome, result = harness.run_module(engine_state, params)
    assert outcome == "exit" and result["mirror"] == "http://mine/debian/", result


def test_the_host_s_apt_sources_are_read_in_apt_s_order(tmp_path):
    (tmp_path / "sources.list").write_text("deb http://one/debian bookworm main\n")
    (tmp_path / "sources.list.d").mkdir()
    for name in ("b.sources", "a.list", "c.disabled"):
        (tmp_path / "sources.list.d" / name).write_text("x")
    names = [path.rsplit("/", 1)[-1] for path, text in _apt.read_sources(str(tmp_path))]
    assert names == ["sources.list", "a.list", "b.sources"]


@pytest.mark.parametrize("key,why", [("", None), ("KEY\n", "content differs")])
def test_docker_ce_key_inline_is_compared_downloaded_only_present(monkeypatch, tmp_path, key, why):
    (tmp_path / "keys").mkdir()
    (tmp_path / "keys").chmod(0o755)
    (tmp_path / "keys" / "docker.asc").write_text("OTHER\n")
    (tmp_path / "keys" / "docker.asc").chmod(0o644)
    ce = {"url": "https://d/linux", "distribution": "Debian", "codename": "bookworm", "channel": "stable",
          "architecture": "x86_64", "key_path": str(tmp_path / "keys" / "docker.asc"), "key": key,
          "sources_path": str(tmp_path / "docker.sources")}
    outcome, result = run(monkeypatch, tmp_path, docker_ce=ce)
    whats = dict((c["what"], c["why"]) for c in result["changes"])
    assert whats.get(ce["key_path"]) == why and str(tmp_path / "keys") not in whats
    assert whats[ce["sources_path"]] == "missing"


def test_apt_mirrors_names_the_release_and_security_mirrors(tmp_path):
    from ansible_collections.taylordash.ops.plugins.modules import apt_mirrors
    (tmp_path / "sources.list.d").mkdir()
    (tmp_path / "sources.list.d" / "debian.sources").write_text(
        "Types: deb\nURIs: http://m/debian\nSuites: bookworm bookworm-updates\n\n"
        "Types: deb\nURIs: http://m/debian-security\nSuites: bookworm-security\n\n"
        "Types: deb\nEnabled: false\nURIs: http://off/debian\nSuites: sid\n")
    (tmp_path / "ca.crt").write_text("CA\n")
    outcome, result = harness.run_module(apt_mirrors, {"etc": str(tmp_path), "_ansible_check_mode": True,
                                                       "sha256_of": [str(tmp_path / "ca.crt"), str(tmp_path / "none")]})
    assert outcome == "exit" and result["changed"] is False
    assert (result["mirror"], result["security"]) == ("http://m/debian/", "http://m/debian-security/")
    assert result["sha256"] == {str(tmp_path / "ca.crt"): hashlib.sha256(b"CA\n").hexdigest()}
