# -*- coding: utf-8 -*-
"""Tests for plugins/module_utils/_audit_scan.py: a fake /proc tree, canned docker answers and scan roots
in tmp_path. Nothing here talks to an engine."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import json
import os
import threading

import pytest

from ansible_collections.taylordash.ops.plugins.module_utils import _audit_scan as scan
from ansible_collections.taylordash.ops.plugins.module_utils import _devservers as ds
from ansible_collections.taylordash.ops.tests.unit.plugins.module_utils.fakeproc import (
    BTIME,
    TCK,
    make_proc,
    proc_entry,
)

ROOT = "/src/td"
APPS = ds.validate_apps({
    "backend": {"path": "backend", "port": 8000, "kinds": ["uvicorn"]},
    "frontend": {"path": "frontend", "port": 5173, "kinds": ["vite"]},
})
PG_ID = "a" * 64
PROXY_ID = "b" * 64
ANY6 = "0" * 32


# --------------------------------------------------------------------------- redaction

@pytest.mark.parametrize(
    "argv, expected",
    [
        (["uvicorn", "main:app", "--port", "8000"], ["uvicorn", "main:app", "--port", "8000"]),
        (["app", "--password", "hunter2", "--port", "1"], ["app", "--password", "***", "--port", "1"]),
        (["app", "--password=hunter2"], ["app", "--password=***"]),
        (["app", "--token", "t0k"], ["app", "--token", "***"]),
        (["app", "--secret=s3"], ["app", "--secret=***"]),
        (["app", "--api-key", "k", "x"], ["app", "--api-key", "***", "x"]),
        (["uvicorn", "--ssl-keyfile-password", "pw", "--reload"], ["uvicorn", "--ssl-keyfile-password", "***",
                                                                     "--reload"]),
        (["app", "--DB_PASSWORD=x"], ["app", "--DB_PASSWORD=***"]),
        (["app", "--githubToken", "ghp_x"], ["app", "--githubToken", "***"]),
        (["app", "--password"], ["app", "--password"]),
        (["psql", "--no-password", "-h", "db"], ["psql", "--no-password", "-h", "db"]),
        (["java", "-Dspring.datasource.password=pw", "-jar", "a.jar"],
         ["java", "-Dspring.datasource.password=***", "-jar", "a.jar"]),
        (["keytool", "-storepass", "changeit"], ["keytool", "-storepass", "***"]),
        (["env", "POSTGRES_PASSWORD=pw", "SECRET_KEY=k", "PORT=8000", "app"],
         ["env", "POSTGRES_PASSWORD=***", "SECRET_KEY=***", "PORT=8000", "app"]),
        (["app", "DATABASE_URL=postgres://taylor:pw@db:5432/td"],
         ["app", "DATABASE_URL=postgres://taylor:***@db:5432/td"]),
        (["app", "--broker", "mqtt://:pw@broker:1883"], ["app", "--broker", "mqtt://:***@broker:1883"]),
        (["app", "redis://u:p@ss@cache/0"], ["app", "redis://u:***@cache/0"]),
        (["app", "http://host:8080/path"], ["app", "http://host:8080/path"]),
        (["app", "https://user@host/x"], ["app", "https://user@host/x"]),
        (["/usr/bin/mysql", "-uroot", "-psecret", "-p", "db"], ["/usr/bin/mysql", "-uroot", "-p***", "-p", "db"]),
        (["mysqldump", "--password=x", "db"], ["mysqldump", "--password=***", "db"]),
        (["redis-cli", "-a", "pw", "-p", "6379"], ["redis-cli", "-a", "***", "-p", "6379"]),
        (["sshpass", "-p", "pw", "ssh", "h"], ["sshpass", "-p", "***", "ssh", "h"]),
        (["node", "server.js", "-p", "3000"], ["node", "server.js", "-p", "3000"]),
        (["sh", "-c", "exec app --token  abc --port 1"], ["sh", "-c", "exec app --token  *** --port 1"]),
        (["sh", "-c", "app postgres://u:pw@db/x"], ["sh", "-c", "app postgres://u:***@db/x"]),
        (["sh", "-c", "PGPASSWORD=pw psql -h db"], ["sh", "-c", "PGPASSWORD=***"]),
        (["postgres: taylor td 172.18.0.5(41234) idle"], ["postgres: taylor td 172.18.0.5(41234) idle"]),
        (["app", "--port=8000", "a=b"], ["app", "--port=8000", "a=b"]),
        ([], []),
    ],
    ids=["plain", "password-space", "password-equals", "token", "secret-equals", "api-key", "ssl-keyfile-password",
         "any-case", "camel-token", "option-last", "no-flag", "java-property", "single-dash-long", "env-args",
         "url-in-env-arg", "url-no-user", "url-at-in-password", "url-without-credentials", "url-user-only",
         "mysql-attached", "mysql-long", "redis-cli", "sshpass", "node-port-untouched", "shell-script",
         "shell-url", "shell-env-prefix-whole", "proctitle", "harmless-equals", "empty"],
)
def test_redact_cmdline(argv, expected):
    assert scan.redact_cmdline(argv) == expected


def test_redact_cmdline_does_not_change_its_input():
    argv = ["app", "--password", "x"]
    scan.redact_cmdline(argv)
    assert argv == ["app", "--password", "x"]


# --------------------------------------------------------------------------- cgroups

@pytest.mark.parametrize(
    "text, expected",
    [
        ("0::/system.slice/docker-%s.scope\n" % PG_ID, (True, PG_ID)),
        ("12:memory:/docker/%s\n1:cpu:/docker/%s\n" % (PG_ID, PG_ID), (True, PG_ID)),
        ("0::/machine.slice/libpod-%s.scope/container\n" % PG_ID, (True, PG_ID)),
        ("0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod1.slice/cri-containerd-%s.scope\n"
         % PG_ID, (True, PG_ID)),
        ("0::/kubepods/burstable/pod1/\n", (True, None)),
        ("0::/system.slice/docker.service\n", (False, None)),
        ("0::/system.slice/containerd.service\n", (False, None)),
        ("0::/user.slice/user-1000.slice/session-2.scope\n", (False, None)),
        ("0::/\n", (False, None)),
        ("", (False, None)),
    ],
    ids=["systemd-scope", "cgroupfs-v1", "podman", "cri-containerd", "kubepods", "dockerd-itself",
         "containerd-itself", "user-session", "root", "empty"],
)
def test_parse_cgroup(text, expected):
    assert scan.parse_cgroup(text) == expected


# --------------------------------------------------------------------------- fake host

def inspect_obj(name, project="", service="", state="running", health=None, ports=None, networks=("bridge",),
                labels=None, restarts=0, cid=None, image="img:1", working_dir=None):
    all_labels = dict(labels or {})
    if project:
        all_labels["com.docker.compose.project"] = project
        # Compose labels every container of a project with the project's directory.
        all_labels["com.docker.compose.project.working_dir"] = (
            "/srv/%s" % project if working_dir is None else working_dir)
    if service:
        all_labels["com.docker.compose.service"] = service
    obj = {"Id": cid or (name.encode().hex() * 8)[:64], "Name": "/" + name, "Image": "sha256:" + "f" * 64,
           "RestartCount": restarts,
           "Config": {"Image": image, "Labels": all_labels},
           "State": {"Status": state},
           "NetworkSettings": {"Ports": ports or {}, "Networks": dict((n, {}) for n in networks)}}
    if health:
        obj["State"]["Health"] = {"Status": health}
    return obj


INSPECT = [
    inspect_obj("taylordashv1-postgres-1", "taylordashv1", "postgres", image="postgres:15", health="healthy",
                ports={"5432/tcp": [{"HostIp": "0.0.0.0", "HostPort": "5432"}, {"HostIp": "::", "HostPort": "5432"}],
                       "8080/tcp": None},
                networks=("taylordashv1_default",), cid=PROXY_ID, working_dir="/TaylorProjects/TaylorDashv1"),
    inspect_obj("taylordash-migrate-1", "taylordash", "migrate", state="exited", networks=("taylordash_default",)),
    inspect_obj("taylordash-backend-1", "taylordash", "backend", health="unhealthy", restarts=4,
                ports={"8000/tcp": [{"HostIp": "127.0.0.1", "HostPort": "3000"}]}, networks=("taylordash_default",)),
    inspect_obj("hostnet-db", "", "", labels={"taylordash.role": "db"}, networks=("host",), cid=PG_ID),
    inspect_obj("someone-else", "other", "web", state="exited",
                ports={"80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "8081"}]}),
]


@pytest.fixture
def fake_host(tmp_path):
    """A fake /proc: an uvicorn reloader and worker (ours), a foreign vite, docker-proxy for 5432 on IPv4
    and IPv6, a postgres in a host-networked container, and a listener no readable process holds."""
    procs = [
        proc_entry(100, 1, ["/src/td/backend/.venv/bin/python3", "-m", "uvicorn", "app:app", "--port", "8000",
                            "--ssl-keyfile-password", "pw"], "/usr/bin/python3.11", "/src/td/backend",
                   sockets=[11], ticks=500),
        proc_entry(101, 100, ["/src/td/backend/.venv/bin/python3", "-c", "from multiprocessing"],
                   "/usr/bin/python3.11", "/src/td/backend", sockets=[11], ticks=510),
        proc_entry(300, 1, ["node", "node_modules/.bin/vite"], "/usr/bin/node", "/elsewhere/web", sockets=[12],
                   ticks=700, uid=54321),
        proc_entry(400, 1, ["/usr/bin/docker-proxy", "-proto", "tcp", "-host-ip", "0.0.0.0", "-host-port", "5432"],
                   "/usr/bin/docker-proxy", "/", sockets=[13], ticks=800),
        proc_entry(401, 1, ["/usr/bin/docker-proxy", "-proto", "tcp", "-host-ip", "::", "-host-port", "5432"],
                   "/usr/bin/docker-proxy", "/", sockets=[14], ticks=800),
        proc_entry(500, 1, ["postgres", "-D", "/var/lib/postgresql/data"], "/usr/lib/postgresql/16/bin/postgres",
                   "/var/lib/postgresql/data", sockets=[15], ticks=900, uid=54321),
    ]
    proc = tmp_path / "proc"
    make_proc(proc, procs,
              tcp=[("0100007F", 8000, 11), ("00000000", 5173, 12), ("00000000", 5432, 13), ("00000000", 6432, 15),
                   ("00000000", 9999, 16)],
              tcp6=[(ANY6, 5432, 14)])
    (proc / "400" / "cgroup").write_text("0::/system.slice/docker.service\n")
    (proc / "500" / "cgroup").write_text("0::/system.slice/docker-%s.scope\n" % PG_ID)
    (proc / "100" / "cgroup").write_text("0::/user.slice/user-0.slice/session-1.scope\n")
    return str(proc)


# --------------------------------------------------------------------------- processes and listeners

def test_processes_map_every_instance(fake_host):
    found = scan.processes(ROOT, APPS, fake_host)
    assert [p["pid"] for p in found] == [100, 300, 400, 401, 500]
    backend = found[0]
    assert backend == {
        "pid": 100, "app": "backend", "kind": "uvicorn", "ours": True,
        "listeners": [{"address": "127.0.0.1", "port": 8000, "family": "ipv4"}],
        "user": "root",
        "cmdline": ["/src/td/backend/.venv/bin/python3", "-m", "uvicorn", "app:app", "--port", "8000",
                    "--ssl-keyfile-password", "***"],
        "cwd": "/src/td/backend",
        "started_at": scan.utc_iso(BTIME + 500 // TCK),
        "in_container": False,
    }
    vite = found[1]
    assert (vite["app"], vite["kind"], vite["ours"], vite["user"]) == (None, "vite", False, "54321")
    assert found[4]["in_container"] is True and found[2]["in_container"] is False


def test_started_at_is_iso_utc():
    assert scan.utc_iso(1796212800) == "2026-12-02T12:00:00Z"


def test_listeners_with_holders_and_containers(fake_host):
    containers = scan.container_facts(INSPECT, ["taylordash", "taylordashv1"])
    rows = scan.listeners(containers, fake_host)
    assert [(r["port"], r["family"]) for r in rows] == [(5173, "ipv4"), (5432, "ipv4"), (5432, "ipv6"),
                                                        (6432, "ipv4"), (8000, "ipv4"), (9999, "ipv4")]
    by = dict(((r["port"], r["family"]), r) for r in rows)
    assert by[(8000, "ipv4")] == {"address": "127.0.0.1", "port": 8000, "family": "ipv4", "pid": 100,
                                  "process": "python3", "user": "root", "in_container": False, "container": None}
    assert by[(5432, "ipv4")]["process"] == "docker-proxy"
    assert by[(5432, "ipv4")]["container"] == "taylordashv1-postgres-1"
    assert by[(5432, "ipv4")]["in_container"] is False  # docker-proxy runs in docker.service, not a container
    assert (by[(5432, "ipv6")]["address"], by[(5432, "ipv6")]["container"]) == ("::", "taylordashv1-postgres-1")
    assert by[(6432, "ipv4")]["container"] == "hostnet-db" and by[(6432, "ipv4")]["in_container"] is True
    assert by[(9999, "ipv4")] == {"address": "0.0.0.0", "port": 9999, "family": "ipv4", "pid": None,
                                  "process": None, "user": None, "in_container": None, "container": None}


def test_docker_proxy_without_a_publishing_container(fake_host):
    rows = scan.listeners([], fake_host)
    proxy = [r for r in rows if r["process"] == "docker-proxy"]
    assert len(proxy) == 2 and all(r["container"] is None for r in proxy)


@pytest.mark.parametrize(
    "listener, expected",
    [
        ({"address": "127.0.0.1", "port": 80}, "loopback"),
        ({"address": "0.0.0.0", "port": 80}, "any"),
        ({"address": "10.0.0.1", "port": 80}, "any"),  # no container on that address: any on the port
        ({"address": "0.0.0.0", "port": 81}, None),
    ],
    ids=["same-address-wins", "any-address", "port-only", "no-container"],
)
def test_published_by_prefers_the_same_address(listener, expected):
    containers = [{"name": "any", "ports": [{"address": "0.0.0.0", "port": 80, "protocol": "tcp"}]},
                  {"name": "loopback", "ports": [{"address": "127.0.0.1", "port": 80, "protocol": "tcp"}]},
                  {"name": "udp", "ports": [{"address": "0.0.0.0", "port": 81, "protocol": "udp"}]}]
    assert scan._published_by(listener, containers) == expected


def test_a_socket_held_by_reloader_and_worker_names_the_reloader(fake_host):
    rows = scan.listeners([], fake_host)
    assert [r["pid"] for r in rows if r["port"] == 8000] == [100]


# --------------------------------------------------------------------------- containers and docker

def test_container_facts():
    found = scan.container_facts(INSPECT, ["taylordash", "taylordashv1"])
    assert [c["name"] for c in found] == ["hostnet-db", "someone-else", "taylordash-backend-1",
                                         "taylordash-migrate-1", "taylordashv1-postgres-1"]
    pg = found[-1]
    assert pg == {
        "id": PROXY_ID[:12], "name": "taylordashv1-postgres-1", "project": "taylordashv1", "service": "postgres",
        "working_dir": "/TaylorProjects/TaylorDashv1",
        "image": "postgres:15", "state": "running", "health": "healthy", "restart_count": 0,
        "ports": [{"address": "0.0.0.0", "port": 5432, "container_port": 5432, "protocol": "tcp"},
                  {"address": "::", "port": 5432, "container_port": 5432, "protocol": "tcp"}],
        "networks": ["taylordashv1_default"], "ours": True,
    }
    assert [c["ours"] for c in found] == [True, False, True, True, True]  # hostnet-db: a taylordash.* label
    backend = found[2]
    assert (backend["health"], backend["restart_count"], backend["ports"]) == (
        "unhealthy", 4, [{"address": "127.0.0.1", "port": 3000, "container_port": 8000, "protocol": "tcp"}])
    assert (found[0]["project"], found[0]["service"], found[0]["health"]) == ("", "", "none")
    # The compose project's directory, from its label; a container Compose did not create has none.
    assert [c["working_dir"] for c in found] == ["", "/srv/other", "/srv/taylordash", "/srv/taylordash",
                                                 "/TaylorProjects/TaylorDashv1"]


def test_container_facts_without_projects_only_labels_are_ours():
    found = scan.container_facts(INSPECT, [])
    assert [c["name"] for c in found if c["ours"]] == ["hostnet-db"]


NETWORKS = [
    {"Name": "bridge", "Labels": {}, "Containers": {}},
    {"Name": "taylordash_default", "Labels": {"com.docker.compose.project": "taylordash"}, "Containers": {}},
    {"Name": "taylordashv1_default", "Labels": {}, "Containers": {"x": {}}},
    {"Name": "taylordashv1_old", "Labels": {}, "Containers": None},
    {"Name": "edge", "Labels": {"com.docker.compose.project": "taylordash"}, "Containers": {}},
    {"Name": "other_default", "Labels": {"com.docker.compose.project": "other"}, "Containers": {}},
    {"Name": "taylordashv10_default", "Labels": {}, "Containers": {}},
]


def test_docker_facts():
    containers = scan.container_facts(INSPECT, ["taylordash", "taylordashv1"])
    info = {"LoggingDriver": "json-file", "LiveRestoreEnabled": False}
    daemon = json.dumps({"log-driver": "json-file", "log-opts": {"max-size": "10m", "max-file": 3}})
    facts = scan.docker_facts(info, daemon, ["sha256:1", "sha256:2", "sha256:1", ""], containers, NETWORKS,
                              ["taylordash", "taylordashv1"])
    assert facts == {
        "available": True, "error": None, "log_driver": "json-file",
        "log_opts": {"max-size": "10m", "max-file": "3"}, "live_restore": False,
        "stopped_ours": [{"name": "taylordash-migrate-1", "project": "taylordash"}],
        "dangling_images": 2,
        # taylordash_default: a stopped container still uses it; taylordashv1_default: the engine lists one
        "unused_networks_ours": ["edge", "taylordashv1_old"],
    }


@pytest.mark.parametrize(
    "text, expected",
    [(None, {}), ("", {}), ("{not json", {}), ('{"log-driver": "local"}', {}), ('["x"]', {}),
     ('{"log-opts": "x"}', {}), ('{"log-opts": {"max-size": "5m"}}', {"max-size": "5m"})],
    ids=["unreadable", "empty", "broken", "no-opts", "not-an-object", "opts-not-a-dict", "opts"],
)
def test_log_opts(text, expected):
    assert scan.log_opts(text) == expected


def docker_answers(calls, info=None, fail=None, inspect_rc=0):
    def run(argv):
        calls.append(argv)
        line = " ".join(argv)
        if fail and line.startswith(fail):
            return 1, "", "Cannot connect to the Docker daemon at unix:///var/run/docker.sock."
        if line.startswith("docker info"):
            return 0, json.dumps(info or {"LoggingDriver": "local", "LiveRestoreEnabled": True}), ""
        if line.startswith("docker ps"):
            return 0, "id1\nid2\n", ""
        if line.startswith("docker inspect"):
            assert argv[2:] == ["id1", "id2"]
            return inspect_rc, json.dumps(INSPECT), "Error: No such object: id3" if inspect_rc else ""
        if line.startswith("docker images"):
            return 0, "sha256:1\n", ""
        if line.startswith("docker network ls"):
            return 0, "n1\nn2\n", ""
        if line.startswith("docker network inspect"):
            return 0, json.dumps(NETWORKS), ""
        raise AssertionError("unexpected command: " + line)
    return run


def test_gather_docker_reads_only(tmp_path):
    calls = []
    daemon = tmp_path / "daemon.json"
    daemon.write_text('{"log-opts": {"max-size": "1m"}}')
    facts, containers = scan.gather_docker(docker_answers(calls, inspect_rc=1), ["taylordash"], str(daemon))
    assert [argv[:3] for argv in calls] == [["docker", "info", "--format"], ["docker", "ps", "--all"],
                                            ["docker", "inspect", "id1"], ["docker", "images", "--quiet"],
                                            ["docker", "network", "ls"], ["docker", "network", "inspect"]]
    assert calls[0] == ["docker", "info", "--format", "{{json .}}"]
    assert (facts["available"], facts["log_driver"], facts["live_restore"], facts["log_opts"]) == (
        True, "local", True, {"max-size": "1m"})
    assert len(containers) == len(INSPECT)  # an inspect that failed on one vanished container still counts
    assert facts["unused_networks_ours"] == ["edge"]


@pytest.mark.parametrize(
    "run, error",
    [
        (None, "docker CLI not found"),
        ("docker info", "docker info failed: Cannot connect to the Docker daemon"),
        ("docker ps", "docker ps failed: Cannot connect"),
        ("docker network inspect", "docker network inspect failed: Cannot connect"),
        ("server-errors", "docker info: Cannot connect to the Docker daemon at unix:///x"),
    ],
    ids=["no-cli", "no-engine", "ps-fails", "network-inspect-fails", "server-errors"],
)
def test_gather_docker_never_raises(tmp_path, run, error):
    calls = []
    if run == "server-errors":
        answers = docker_answers(calls, info={"ServerErrors": ["Cannot connect to the Docker daemon at unix:///x"]})
    elif run:
        answers = docker_answers(calls, fail=run)
    else:
        answers = None
    facts, containers = scan.gather_docker(answers, ["taylordash"], str(tmp_path / "none.json"))
    assert facts["available"] is False and facts["error"].startswith(error), facts["error"]
    assert containers == []
    assert facts == dict(scan.docker_unavailable(facts["error"]))
    assert (facts["stopped_ours"], facts["unused_networks_ours"], facts["dangling_images"]) == ([], [], 0)


def test_gather_docker_unreadable_info():
    facts, _ = scan.gather_docker(lambda argv: (0, "Client: not json", ""), ["taylordash"], "/nonexistent")
    assert facts["available"] is False and "unreadable" in facts["error"]


@pytest.mark.parametrize(
    "project, old, expected",
    [("taylordash", ["taylordashv1"], ["taylordash", "taylordashv1"]), (None, [], []), ("", ["a", "a", ""], ["a"]),
     ("t", ["t"], ["t"])],
    ids=["both", "none", "blanks-and-repeats", "same"],
)
def test_projects_of(project, old, expected):
    assert scan.projects_of(project, old) == expected


# --------------------------------------------------------------------------- files

@pytest.mark.parametrize(
    "name, kind",
    [
        (".env", "env"), (".env.production", "env"), ("backend.env", "env"), (".ENV", "env"),
        ("docker-compose.yml", "compose"), ("docker-compose.prod.yaml", "compose"),
        ("docker-compose-dev.yml", "compose"),
        ("compose.yaml", "compose"), ("compose.override.yml", "compose"),
        ("mosquitto.conf", "config"), ("alembic.ini", "config"), ("setup.cfg", "config"), ("pyproject.toml", "config"),
        ("app.properties", "config"), ("config.json", "config"), ("config.yml", "config"), ("config.yaml", "config"),
        ("settings.py", "config"), ("settings.local.json", "config"), ("vite.config.ts", "config"),
        (".npmrc", "config"), (".pypirc", "config"),
        ("compose_apply.yml", None), ("environment.yml", None), ("package.json", None), ("README.md", None),
        ("config.py", None), ("envfile", None), ("main.py", None), ("docker-compose.yml.j2", None),
    ],
)
def test_file_kind(name, kind):
    assert scan.file_kind(name) == kind


def tree(root, layout):
    """Files (path -> text) under root."""
    for rel, text in layout.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def paths(entries, root):
    return sorted(os.path.relpath(e["path"], str(root)) for e in entries)


def test_files_depth_skip_and_symlinks(tmp_path):
    root = tmp_path / "srv"
    outside = tmp_path / "outside"
    tree(root, {
        ".env": "A=1\n", "README.md": "x",
        "a/docker-compose.yml": "services: {}\n",
        "a/b/c/d/settings.toml": "x = 1\n",      # depth 4: read
        "a/b/c/d/e/deep.env": "X=1\n",           # depth 5: not read
        "node_modules/pkg/.env": "X=1\n", ".git/config.json": "{}", ".venv/pyvenv.cfg": "x",
        "app/__pycache__/settings.py": "x", "web/dist/config.json": "{}", "web/build/app.conf": "x",
    })
    tree(outside, {".env": "SECRET=1\n", "real.conf": "x"})
    os.symlink(str(outside), str(root / "linked"))                 # a symlinked directory: never entered
    os.symlink(str(outside / "real.conf"), str(root / "via-link.conf"))  # a symlinked file: read
    entries, errors = scan.files([str(root)])
    assert errors == []
    assert paths(entries, root) == [".env", "a/b/c/d/settings.toml", "a/docker-compose.yml", "via-link.conf"]
    assert [e["kind"] for e in sorted(entries, key=lambda e: e["path"])] == ["env", "config", "compose", "config"]
    entries, _ = scan.files([str(root)], scan_depth=0)
    assert paths(entries, root) == [".env", "via-link.conf"]
    entries, _ = scan.files([str(root)], scan_depth=5)
    assert "a/b/c/d/e/deep.env" in paths(entries, root)


def test_file_entry_fields(tmp_path):
    (tmp_path / ".env").write_bytes(b"POSTGRES_PASSWORD=pw\nBAD=\xff\n")
    os.chmod(str(tmp_path / ".env"), 0o640)
    (tmp_path / "app.conf").write_text("listen 9001\n")
    os.chmod(str(tmp_path / "app.conf"), 0o644)
    entries, errors = scan.files([str(tmp_path)])
    assert errors == []
    env, conf = sorted(entries, key=lambda e: e["path"])
    assert env == {"path": str(tmp_path / ".env"), "kind": "env", "mode": "0640", "owner": scan._owner(os.getuid()),
                   "group": scan._group(os.getgid()), "world_readable": False, "size": 27, "error": None,
                   "text": u"POSTGRES_PASSWORD=pw\nBAD=\ufffd\n"}
    assert (conf["mode"], conf["world_readable"], conf["text"]) == ("0644", True, "listen 9001\n")


def test_an_unreadable_file_is_listed_with_its_error(tmp_path, monkeypatch):
    """Tests may run as root (who reads a mode 000 file), so the open is also refused here as the kernel would."""
    secret = tmp_path / ".env"
    secret.write_text("TOKEN=x\n")
    os.chmod(str(secret), 0)
    (tmp_path / "ok.ini").write_text("[a]\n")
    real_open = os.open

    def refusing_open(path, flags, *args, **kwargs):
        if os.fspath(path) == str(secret):
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(secret))
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", refusing_open)
    entries, errors = scan.files([str(tmp_path)])
    assert errors == [{"what": "file", "path": str(secret), "error": "Permission denied"}]
    by = dict((os.path.basename(e["path"]), e) for e in entries)
    assert (by[".env"]["error"], by[".env"]["text"], by[".env"]["mode"]) == ("Permission denied", None, "0000")
    assert by["ok.ini"]["text"] == "[a]\n" and by["ok.ini"]["error"] is None


def test_a_large_file_is_listed_without_its_text(tmp_path, monkeypatch):
    (tmp_path / "big.conf").write_text("x" * 101)
    (tmp_path / "small.conf").write_text("x" * 100)
    opened, real_open = [], os.open
    monkeypatch.setattr(os, "open", lambda path, *args, **kwargs: opened.append(os.fspath(path)) or real_open(
        path, *args, **kwargs))
    entries, errors = scan.files([str(tmp_path)], max_file_bytes=100)
    assert opened == [str(tmp_path / "small.conf")]  # the size is known from stat: a large file is never opened
    by = dict((os.path.basename(e["path"]), e) for e in entries)
    assert (by["big.conf"]["error"], by["big.conf"]["text"], by["big.conf"]["size"]) == (
        "larger than 100 bytes", None, 101)
    assert by["small.conf"]["text"] == "x" * 100
    assert errors == [{"what": "file", "path": str(tmp_path / "big.conf"), "error": "larger than 100 bytes"}]


def test_a_file_that_grew_after_its_stat_is_not_read_past_the_cap(tmp_path, monkeypatch):
    grown = tmp_path / "grown.conf"
    grown.write_text("x" * 500)
    real_stat = os.stat

    def stale_stat(path, *args, **kwargs):  # the size seen before the file grew
        found = real_stat(path, *args, **kwargs)
        if os.fspath(path) == str(grown):
            return os.stat_result(found[:6] + (10,) + found[7:])
        return found

    monkeypatch.setattr(os, "stat", stale_stat)
    entries, errors = scan.files([str(tmp_path)], max_file_bytes=100)
    assert (entries[0]["error"], entries[0]["text"]) == ("larger than 100 bytes", None)
    assert errors == [{"what": "file", "path": str(grown), "error": "larger than 100 bytes"}]


def test_a_fifo_named_like_a_candidate_is_skipped_without_blocking(tmp_path):
    os.mkfifo(str(tmp_path / ".env"))
    os.symlink(str(tmp_path / "missing"), str(tmp_path / "dangling.conf"))
    result = {}
    worker = threading.Thread(target=lambda: result.update(found=scan.files([str(tmp_path)])))
    worker.daemon = True
    worker.start()
    worker.join(10)
    assert not worker.is_alive(), "the scan blocked on a FIFO"
    assert result["found"] == ([], [])


def test_scan_root_errors(tmp_path):
    (tmp_path / "file.conf").write_text("x")
    entries, errors = scan.files([str(tmp_path / "missing"), str(tmp_path / "file.conf") + "/"])
    assert entries == []
    assert errors == [
        {"what": "scan_root", "path": str(tmp_path / "missing"), "error": "No such file or directory"},
        {"what": "scan_root", "path": str(tmp_path / "file.conf"), "error": "Not a directory"},
    ]


def test_an_unreadable_directory_is_a_scan_error(tmp_path, monkeypatch):
    tree(tmp_path, {"locked/.env": "A=1\n", "open/.env": "B=2\n"})
    real_scandir = os.scandir

    def refusing_scandir(path="."):
        if os.fspath(path) in (str(tmp_path / "locked"), str(tmp_path / "root-locked")):
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), os.fspath(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", refusing_scandir)
    entries, errors = scan.files([str(tmp_path)])
    assert paths(entries, tmp_path) == ["open/.env"]
    assert errors == [{"what": "directory", "path": str(tmp_path / "locked"), "error": "Permission denied"}]
    (tmp_path / "root-locked").mkdir()
    entries, errors = scan.files([str(tmp_path / "root-locked")])
    assert errors == [{"what": "scan_root", "path": str(tmp_path / "root-locked"), "error": "Permission denied"}]


def test_max_files_stops_with_a_scan_error(tmp_path):
    tree(tmp_path, dict(("d%d/.env" % i, "A=1\n") for i in range(5)))
    entries, errors = scan.files([str(tmp_path), str(tmp_path / "d0")], max_files=3)
    assert paths(entries, tmp_path) == ["d0/.env", "d1/.env", "d2/.env"]
    assert errors == [{"what": "limit", "path": str(tmp_path),
                       "error": "more than 3 candidate files; the rest were not read"}]


def test_overlapping_roots_list_each_file_once(tmp_path):
    tree(tmp_path, {"app/.env": "A=1\n", "app/sub/x.conf": "y"})
    entries, errors = scan.files([str(tmp_path), str(tmp_path / "app"), str(tmp_path)])
    assert errors == [] and paths(entries, tmp_path) == ["app/.env", "app/sub/x.conf"]


# --------------------------------------------------------------------------- everything

def test_gather(fake_host, tmp_path):
    root = tmp_path / "srv"
    tree(root, {".env": "POSTGRES_PASSWORD=pw\n"})
    calls = []
    audit = scan.gather(ROOT, APPS, [str(root), str(tmp_path / "gone")], "taylordash", ["taylordashv1"],
                        run=docker_answers(calls), proc=fake_host, daemon_json=str(tmp_path / "none.json"),
                        now=1796212800)
    assert sorted(audit) == ["collected_at", "containers", "docker", "files", "listeners", "processes", "scan_errors",
                             "schema"]
    assert (audit["schema"], audit["collected_at"]) == ("taylordash.audit.facts/1", "2026-12-02T12:00:00Z")
    assert audit["scan_errors"] == [{"what": "scan_root", "path": str(tmp_path / "gone"),
                                     "error": "No such file or directory"}]
    assert [p["pid"] for p in audit["processes"]] == [100, 300, 400, 401, 500]
    assert [r["container"] for r in audit["listeners"] if r["port"] == 5432] == ["taylordashv1-postgres-1"] * 2
    assert audit["docker"]["available"] is True and audit["docker"]["log_opts"] == {}
    assert [f["text"] for f in audit["files"]] == ["POSTGRES_PASSWORD=pw\n"]
    json.dumps(audit)  # what a module returns must be JSON


def test_gather_without_proc_is_a_scan_error(tmp_path):
    audit = scan.gather(ROOT, APPS, [], None, [], run=None, proc=str(tmp_path / "noproc"))
    assert audit["scan_errors"] == [{"what": "proc", "path": str(tmp_path / "noproc"),
                                     "error": "No such file or directory"}]
    assert (audit["processes"], audit["listeners"], audit["docker"]["available"]) == ([], [], False)


def test_only_the_rotation_options_of_the_log_options_leave_the_host():
    text = '{"log-opts": {"max-size": "10m", "max-file": 3, "splunk-token": "s3cr3t", "loki-url": "https://u:k@l/x"}}'
    assert scan.log_opts(text) == {"max-size": "10m", "max-file": "3"}


@pytest.mark.parametrize("argv,shown", [
    (["redis-server", "--masterauth", "s3cr3t"], ["redis-server", "--masterauth", "***"]),
    (["tool", "--auth", "u:p"], ["tool", "--auth", "***"]),
    (["env", "REDIS_AUTH=u:p", "x"], ["env", "REDIS_AUTH=***", "x"]),
    (["git", "--authors", "a.txt"], ["git", "--authors", "a.txt"]),
])
def test_auth_words_are_credentials_at_the_end_of_a_name(argv, shown):
    assert scan.redact_cmdline(argv) == shown
