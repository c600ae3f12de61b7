# -*- coding: utf-8 -*-
"""plugins/module_utils/_engine.py: the files the docker_engine role writes and the plan that compares them
(and the packages, dockerd, the engine and its plugins) with what a host has."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

import pytest

from ansible_collections.taylordash.ops.plugins.module_utils import _engine

DAEMON = {"log-driver": "json-file", "log-opts": {"max-size": "10m", "max-file": "3"}, "live-restore": True}
FILES = {"/etc/docker/daemon.json": {"content": _engine.daemon_json(DAEMON), "mode": "0644"},
         "/etc/apt/keyrings/docker.asc": {"content": None, "mode": "0644"}}
SEEN = {path: {"content": wanted["content"] or "KEY", "mode": 0o644} for path, wanted in FILES.items()}
PLUGINS = {"compose": "2.26.1", "buildx": "0.13.1"}


def plan(**changes):
    args = dict(wanted_packages=["docker.io", "python3-yaml"], installed={"docker.io", "python3-yaml"},
                files=FILES, seen_files=SEEN, dockerd="/usr/sbin/dockerd", running=True,
                server_version="20.10.24", plugins=PLUGINS)
    args.update(changes)
    return _engine.plan(**args)


def test_daemon_json_is_sorted_indented_and_ends_with_a_newline():
    text = _engine.daemon_json(DAEMON)
    assert text.endswith("}\n") and json.loads(text) == DAEMON
    assert text.index('"live-restore"') < text.index('"log-driver"') < text.index('"log-opts"')
    assert '\n  "live-restore": true,\n' in text


def test_the_pin_takes_only_the_plugins_from_the_helper_suite():
    text = _engine.helper_pin("trixie", "bookworm", ["docker-compose", "docker-buildx"], 1)
    assert "Package: *\nPin: release n=trixie\nPin-Priority: 1\n" in text
    assert "Package: docker-compose docker-buildx\nPin: release n=trixie\nPin-Priority: 990\n" in text


def test_the_sources_name_the_mirror_and_the_pin():
    text = _engine.helper_sources("trixie", "http://deb.example/debian/", "/etc/apt/preferences.d/p")
    assert "URIs: http://deb.example/debian/\nSuites: trixie\nComponents: main\n" in text
    assert "# Pinned by /etc/apt/preferences.d/p.\n" in text


@pytest.mark.parametrize("arch,deb", [("x86_64", "amd64"), ("aarch64", "arm64"), ("arm64", "arm64")])
def test_docker_ce_sources(arch, deb):
    text = _engine.docker_ce_sources("https://download.docker.com/linux/", "Debian", "bookworm", "stable", arch,
                                     "/k/docker.asc")
    assert "URIs: https://download.docker.com/linux/debian\nSuites: bookworm\nComponents: stable\n" in text
    assert "Architectures: %s\nSigned-By: /k/docker.asc\n" % deb in text


def test_only_ii_packages_count_as_installed():
    lines = ["docker.io ii ", "docker-cli rc ", "python3-yaml:amd64 ii", "garbage"]
    assert _engine.installed_packages(lines) == {"docker.io", "python3-yaml"}


def test_an_engine_as_wanted_has_nothing_to_do():
    assert plan() == []


@pytest.mark.parametrize("changes,expected", [
    ({"installed": {"docker.io"}}, [{"what": "packages", "why": "not installed: python3-yaml"}]),
    ({"seen_files": dict(SEEN, **{"/etc/docker/daemon.json": None})},
     [{"what": "/etc/docker/daemon.json", "why": "missing"}]),
    ({"seen_files": dict(SEEN, **{"/etc/docker/daemon.json": {"content": "{}\n", "mode": 0o600}})},
     [{"what": "/etc/docker/daemon.json", "why": "content differs, mode 0600, wanted 0644"}]),
    ({"seen_files": dict(SEEN, **{"/etc/apt/keyrings/docker.asc": None})},
     [{"what": "/etc/apt/keyrings/docker.asc", "why": "missing"}]),
    ({"dockerd": "", "running": False, "server_version": ""}, [{"what": "dockerd", "why": "no dockerd binary"}]),
    ({"running": False, "server_version": ""}, [{"what": "dockerd", "why": "not running"}]),
    ({"server_version": ""}, [{"what": "engine", "why": "does not answer on its socket"}]),
    ({"plugins": {"compose": "", "buildx": "0.13.1"}},
     [{"what": "compose", "why": "the Compose plugin does not answer"}]),
    ({"plugins": {"compose": "1.29.2", "buildx": "0.13.1"}}, [{"what": "compose", "why": "Compose 1.29.2 is not v2"}]),
    ({"plugins": {"compose": "v2.20.0", "buildx": ""}}, [{"what": "buildx", "why": "the buildx plugin does not answer"}]),
])
def test_each_difference_is_named_with_why(changes, expected):
    assert plan(**changes) == expected


def test_a_downloaded_key_is_compared_by_presence_only():
    seen = dict(SEEN, **{"/etc/apt/keyrings/docker.asc": {"content": "another key", "mode": 0o644}})
    assert plan(seen_files=seen) == []


@pytest.mark.parametrize("wanted,seen,why", [
    ({"kind": "d", "mode": "0755", "uid": 0, "gid": 0}, {"kind": "f", "mode": 0o644, "uid": 0, "gid": 0},
     "not a directory"),
    ({"kind": "d", "mode": "0755", "uid": 0, "gid": 0}, {"kind": "d", "mode": 0o755, "uid": 0, "gid": 0}, None),
    ({"content": "x", "mode": "0644", "uid": 0, "gid": 0}, {"content": "x", "mode": 0o644, "uid": 1000, "gid": 0},
     "uid 1000, wanted 0"),
    ({"content": "x", "mode": "0644"}, {"kind": "d", "mode": 0o755}, "not a file"),
])
def test_kind_and_owner_are_compared(wanted, seen, why):
    assert _engine.file_change("/p", wanted, seen) == why


# reattach_plan: the engine's socket was created at SOCKET_AT (a restart); containers started before it
# outlived the old engine.
SOCKET_AT = _engine.docker_time("2026-12-02T19:38:39.481276352Z")
SOCKETS = {"/var/run/docker.sock", "/run/docker.sock"}
BEFORE, AFTER = "2026-12-02T19:37:34.747626841Z", "2026-12-02T19:38:40.000000001Z"


def container(name, started=BEFORE, mounts=(), health=None, running=True, paused=False):
    state = {"Running": running, "Paused": paused, "StartedAt": started}
    if health is not None:
        state["Health"] = {"Status": "healthy", "Log": [{"Start": when} for when in health]}
    return {"Name": "/" + name, "State": state,
            "Mounts": [{"Type": kind, "Source": source} for kind, source in mounts]}


def reattach(*containers, version="20.10.24", engine_at=None, resumed=()):
    return [(item["name"], item["action"]) for item in
            _engine.reattach_plan(list(containers), SOCKETS, SOCKET_AT, SOCKET_AT if engine_at is None else engine_at,
                                  version, resumed)]


@pytest.mark.parametrize("text, expected", [
    ("2026-12-02T19:38:39.481276352Z", 1796240319.481276),
    ("2026-12-02T19:38:39Z", 1796240319.0),
    ("0001-01-01T00:00:00Z", None),  # the engine's zero time: never started
    ("2026-12-02 19:38:39", None),
    ("", None),
    (None, None),
    ("2026-12-02T19:38:39.5Z\nX", None),
    # health checks are recorded in the engine's local time
    ("2026-12-02T20:38:39.481276352+01:00", 1796240319.481276),
    ("2026-12-02T14:38:39-05:00", 1796240319.0),
    ("2026-12-02T19:38:39+0100", None),
])
def test_engine_timestamps_are_read_to_the_microsecond_or_not_at_all(text, expected):
    seen = _engine.docker_time(text)
    assert seen == expected if expected is None else abs(seen - expected) < 1e-6


@pytest.mark.parametrize("case, expected", [
    (container("proxy", mounts=[("bind", "/var/run/docker.sock")], health=[BEFORE]), [("proxy", "restart")]),
    (container("proxy", mounts=[("bind", "/run/docker.sock")]), [("proxy", "restart")]),
    # started by the new engine: its mount is the new socket
    (container("proxy", started=AFTER, mounts=[("bind", "/var/run/docker.sock")]), []),
    # a volume named like the socket is not the socket; another bind is not either
    (container("proxy", mounts=[("volume", "/var/run/docker.sock")]), []),
    (container("proxy", mounts=[("bind", "/var/run/docker.sock.d")]), []),
    (container("db", health=[BEFORE]), [("db", "resume-health")]),
    (container("db", health=[]), [("db", "resume-health")]),
    # a check has run since: health monitoring is alive
    (container("db", health=[BEFORE, AFTER]), []),
    (container("db"), []),  # no health check at all
    (container("db", health=[BEFORE], running=False), []),
    (container("db", health=[BEFORE], paused=True), []),  # unpausing it would change what the operator set
    (container("db", started="0001-01-01T00:00:00Z", health=[BEFORE]), []),
])
def test_what_outlived_the_engine_is_restarted_or_its_health_checks_resumed(case, expected):
    assert reattach(case) == expected


@pytest.mark.parametrize("version, expected", [
    ("20.10.24+dfsg1", [("db", "resume-health"), ("proxy", "restart")]),
    ("23.0.0", [("proxy", "restart")]),
    ("28.1.1", [("proxy", "restart")]),
    ("", [("db", "resume-health"), ("proxy", "restart")]),
])
def test_only_engines_before_23_need_their_health_checks_resumed(version, expected):
    proxy = container("proxy", mounts=[("bind", "/var/run/docker.sock")], health=[BEFORE])
    assert reattach(container("db", health=[BEFORE]), proxy, version=version) == expected


def test_each_action_says_why():
    plan = _engine.reattach_plan([container("proxy", mounts=[("bind", "/var/run/docker.sock")]),
                                  container("db", health=[BEFORE])], SOCKETS, SOCKET_AT, SOCKET_AT, "20.10.24")
    assert [item["why"] for item in plan] == [
        "no health check since the engine restarted (Docker 20.10.24 stops them)",
        "bind-mounts the engine's socket /var/run/docker.sock, which the engine replaced"]


def test_under_systemd_the_socket_outlives_dockerd_so_its_start_decides_the_health_checks():
    """docker.socket keeps the socket (old mtime) while docker.service restarts: nothing holds a stale socket,
    but the restored containers' health checks stopped at the engine's restart."""
    proxy = container("proxy", mounts=[("bind", "/var/run/docker.sock")], health=[BEFORE])
    db = container("db", started="2026-12-02T19:30:00Z", health=["2026-12-02T19:37:00Z"])
    early = _engine.docker_time("2026-12-02T19:00:00Z")
    assert _engine.reattach_plan([proxy, db], SOCKETS, early, SOCKET_AT, "20.10.24") == [
        {"name": "db", "action": "resume-health",
         "why": "no health check since the engine restarted (Docker 20.10.24 stops them)"},
        {"name": "proxy", "action": "resume-health",
         "why": "no health check since the engine restarted (Docker 20.10.24 stops them)"}]


def test_a_health_check_in_local_time_after_the_restart_counts():
    assert reattach(container("db", health=["2026-12-02T20:40:00+01:00"])) == []
    assert reattach(container("db", health=["2026-12-02T20:30:00+01:00"])) == [("db", "resume-health")]


@pytest.mark.parametrize("resumed", [{"db"}, {"c0ffee"}])
def test_a_container_unpaused_since_the_restart_is_left_to_its_first_check(resumed):
    db = dict(container("db", health=[BEFORE]), Id="c0ffee")
    assert reattach(db, resumed=resumed) == []
    assert reattach(db) == [("db", "resume-health")]


@pytest.mark.parametrize("stat, expected", [
    ("10358 (dockerd) S 1 10358 10358 0 -1 4194624 2 0 0 0 5 3 0 0 20 0 13 0 3017259 1 2", 1000.0 + 30172.59),
    ("77 (my (odd) name) S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 500 1 2", 1000.0 + 5.0),
    ("", None),
    ("10358 (dockerd) S 1", None),
])
def test_a_process_start_is_read_from_proc(stat, expected):
    seen = _engine.process_started(stat, "1000", 100)
    assert seen == expected if expected is None else abs(seen - expected) < 1e-6
