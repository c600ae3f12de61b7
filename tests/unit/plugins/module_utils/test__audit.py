"""The audit's findings and report (plugins/module_utils/_audit.py): the audited host's facts give exactly the
findings of the hand-written audit, the host after deploy-prod.yml and cleanup.yml gives no critical one, and the
report, its comparison, its validation and the severity gate. Pure: the facts are fixtures of the
taylordash.audit.facts/1 schema (docs/audit-design.md)."""

import copy
import json

import pytest

from ansible_collections.taylordash.ops.plugins.module_utils import _audit as a

ROOT = "/TaylorProjects/TaylorDashv1"
STACK_DIR = "/opt/taylordash"
# Compose labels every container of a project with the project's directory (com.docker.compose.project.working_dir):
# the old project runs from its source tree, the stack from its deploy directory.
COMPOSE_DIRS = {"taylordashv1": ROOT, "taylordash": STACK_DIR}
FP_DB = "hmac-sha256:0f3a9c41d2e87b65"
FP_API = "hmac-sha256:1b2c3d4e5f60718a"
FP_MQTT = "hmac-sha256:9a8b7c6d5e4f3a2b"
FP_MINIO = "hmac-sha256:5e5e5e5e5e5e5e5e"
CLEAN_FPS = ["hmac-sha256:%016x" % n for n in range(1, 7)]

PLAN = {
    "project": "taylordash",
    "old_projects": ["taylordashv1"],
    "port_plan": {
        "traefik-web": {"port": 80, "address": "", "public": True},
        "traefik-websecure": {"port": 443, "address": "", "public": True},
        "mosquitto": {"port": 1883, "address": "", "public": True},
        "postgres": {"port": 5432, "address": "127.0.0.1", "public": False},
        "victoriametrics": {"port": 8428, "address": "127.0.0.1", "public": False},
        "prometheus": {"port": 9090, "address": "127.0.0.1", "public": False},
        "minio": {"port": 9000, "address": "127.0.0.1", "public": False},
        "minio-console": {"port": 9001, "address": "127.0.0.1", "public": False},
        "grafana": {"port": 3001, "address": "127.0.0.1", "public": False},
        "backend": {"port": 3000, "address": "", "public": False},
        "frontend": {"port": 5173, "address": "", "public": False},
        "mcp-manager": {"port": 5174, "address": "", "public": False},
        "projects-manager": {"port": 5175, "address": "", "public": False},
        "midnight-hud": {"port": 5177, "address": "", "public": False},
    },
    "dev_apps": {"backend": {"port": 3000}, "frontend": {"port": 5173}, "mcp-manager": {"port": 5174},
                 "projects-manager": {"port": 5175}, "midnight-hud": {"port": 5177}},
    "docker_services": {
        "traefik": {"ports": [80, 443, 8082], "data": False, "processes": ["traefik"]},
        "postgres": {"ports": [5432], "data": True, "processes": ["postgres"]},
        "mosquitto": {"ports": [1883], "data": True, "processes": ["mosquitto"]},
        "victoriametrics": {"ports": [8428], "data": True, "processes": ["victoriametrics"]},
        "minio": {"ports": [9000, 9001], "data": True, "processes": ["minio"]},
        "prometheus": {"ports": [9090], "data": False, "processes": ["prometheus"]},
        "grafana": {"ports": [3000], "data": False, "processes": ["grafana"]},
        "postgres-exporter": {"ports": [9187], "data": False, "processes": ["postgresexporter"]},
    },
    "published": [],
}


def proc(pid, kind, port, app=None, address="0.0.0.0", cwd=None, family=None, user="root", cmdline=None,
         ours=None, in_container=False):
    family = family or ("ipv6" if ":" in address else "ipv4")
    return {"pid": pid, "app": app, "kind": kind, "ours": app is not None if ours is None else ours,
            "listeners": [{"address": address, "port": port, "family": family}], "user": user,
            "cmdline": cmdline or [kind, "--port", str(port)], "cwd": cwd or "/", "in_container": in_container,
            "started_at": "2026-12-01T08:%02d:00Z" % (pid % 60)}


def listener(pid, port, process, address="0.0.0.0", container=None, user="root"):
    return {"address": address, "port": port, "family": "ipv6" if ":" in address else "ipv4", "pid": pid,
            "process": process, "user": user, "in_container": False, "container": container}


def container(name, service, image, ports=(), state="running", health="healthy", restarts=0, project="taylordashv1",
              ours=True, working_dir=None):
    """working_dir: by default the compose project's directory (COMPOSE_DIRS, else /srv/<project>), none without
    a project (a container Compose did not create)."""
    if working_dir is None:
        working_dir = COMPOSE_DIRS.get(project, "/srv/%s" % project) if project else ""
    return {"name": name, "project": project, "service": service, "working_dir": working_dir, "image": image,
            "state": state, "health": health,
            "restart_count": restarts, "ours": ours, "networks": ["%s_default" % project],
            "ports": [{"address": addr, "port": port, "container_port": port, "protocol": "tcp"}
                      for addr, port in ports]}


def proxies(first_pid, name, ports, address="0.0.0.0"):
    """docker-proxy processes and listeners for a container's published ports."""
    procs, socks = [], []
    for offset, port in enumerate(ports):
        pid = first_pid + offset
        procs.append(proc(pid, "other", port, address=address, ours=False,
                          cmdline=["/usr/bin/docker-proxy", "-proto", "tcp", "-host-port", str(port)]))
        socks.append(listener(pid, port, "docker-proxy", address=address, container=name))
    return procs, socks


def secret(line, key, fingerprint, detector="keyword", known_default=False):
    return {"line": line, "key": key, "fingerprint": fingerprint, "detector": detector,
            "known_default": known_default}


def file_(path, kind, mode="0644", ports=(), secrets=(), error=None):
    return {"path": path, "kind": kind, "mode": mode, "owner": "root", "group": "root",
            "world_readable": int(mode, 8) & 0o004 != 0, "error": error,
            "ports": [{"port": port, "line": line, "key": key, "published": published}
                      for port, line, key, published in ports],
            "secrets": list(secrets)}


def audited():
    """The audited host: three backends (3000, and 8000 twice), six vite servers (the frontend on 5173, 5176 and
    5178), processes that are not ours, the taylordashv1 project running from ROOT (its containers' working_dir,
    so every file of the tree is in use), 9001 double-booked by the compose file (MinIO) and mosquitto.conf, the
    database password in three files and PostgreSQL natively on 0.0.0.0:5432."""
    processes = [
        proc(1101, "uvicorn", 3000, "backend", cwd=ROOT + "/backend"),
        proc(1102, "uvicorn", 8000, "backend", cwd=ROOT + "/backend"),
        proc(1103, "uvicorn", 8000, "backend", address="::", cwd=ROOT + "/backend"),
        proc(1201, "vite", 5173, "frontend", address="::", cwd=ROOT + "/frontend"),
        proc(1202, "vite", 5176, "frontend", address="::", cwd=ROOT + "/frontend"),
        proc(1203, "vite", 5178, "frontend", cwd=ROOT + "/frontend"),
        proc(1204, "vite", 5174, "mcp-manager", cwd=ROOT + "/examples/mcp-manager"),
        proc(1205, "vite", 5175, "projects-manager", cwd=ROOT + "/examples/projects-manager"),
        proc(1206, "vite", 5177, "midnight-hud", cwd=ROOT + "/examples/midnight-hud"),
        # Not ours: another project's vite and uvicorn, a static server, a node script that mentions uvicorn, sshd.
        proc(2001, "vite", 5180, address="127.0.0.1", cwd="/home/alice/blog", user="alice"),
        proc(2002, "http.server", 8081, cwd="/srv/share", cmdline=["python3", "-m", "http.server", "8081"]),
        proc(2003, "node", 4000, cwd="/opt/tools", cmdline=["node", "server.js", "--note", "uvicorn"]),
        proc(2004, "uvicorn", 8001, cwd="/home/alice/api", user="alice"),
        proc(500, "other", 22, cmdline=["sshd: /usr/sbin/sshd -D"]),
        # PostgreSQL outside Docker, on every address (IPv4 and IPv6 sockets of one instance).
        dict(proc(77, "other", 5432, cwd="/var/lib/postgresql", user="postgres",
                  cmdline=["/usr/lib/postgresql/15/bin/postgres", "-D", "/var/lib/postgresql/15/main"]),
             listeners=[{"address": "0.0.0.0", "port": 5432, "family": "ipv4"},
                        {"address": "::", "port": 5432, "family": "ipv6"}]),
    ]
    listeners = [listener(p["pid"], s["port"], {"uvicorn": "python3", "vite": "node", "node": "node",
                                                 "http.server": "python3"}.get(p["kind"], "sshd"), s["address"])
                 for p in processes if p["pid"] != 77 for s in p["listeners"]]
    listeners += [listener(77, 5432, "postgres", user="postgres"),
                  listener(77, 5432, "postgres", "::", user="postgres")]
    containers = [
        container("taylordashv1-traefik-1", "traefik", "traefik:v3.0", [("0.0.0.0", 80), ("0.0.0.0", 443),
                                                                          ("0.0.0.0", 8080)]),
        container("taylordashv1-postgres-1", "postgres", "postgres:15"),
        container("taylordashv1-mosquitto-1", "mosquitto", "eclipse-mosquitto:2", [("0.0.0.0", 1883)]),
        container("taylordashv1-victoriametrics-1", "victoriametrics", "victoriametrics/victoria-metrics:v1.93.0",
                  [("0.0.0.0", 8428)]),
        container("taylordashv1-minio-1", "minio", "minio/minio:latest", [("0.0.0.0", 9000), ("0.0.0.0", 9001)]),
        container("taylordashv1-prometheus-1", "prometheus", "prom/prometheus:v2.45.0", state="restarting",
                  health="none", restarts=12),
        container("taylordashv1-grafana-1", "grafana", "grafana/grafana:10.0.0", health="unhealthy"),
        container("taylordashv1-migrate-1", "migrate", "taylordashv1-backend", state="exited", health="none"),
        # Somebody else's container: not ours, published on loopback.
        container("wiki", "", "nginx:1.25", [("127.0.0.1", 8090)], project="", ours=False),
    ]
    pid = 3001
    for c in containers:
        published = [p["port"] for p in c["ports"] if p["address"] == "0.0.0.0"]
        more_procs, more_socks = proxies(pid, c["name"], published)
        processes += more_procs
        listeners += more_socks
        pid += 10
    files = [
        file_(ROOT + "/.env", "env", secrets=[
            secret(3, "POSTGRES_PASSWORD", FP_DB), secret(4, "DATABASE_URL", FP_DB, "url-credentials"),
            secret(5, "API_KEY", FP_API, known_default=True), secret(6, "MQTT_PASSWORD", FP_MQTT),
            secret(9, "MQTT_MONITOR_PASSWORD", FP_MQTT)]),
        file_(ROOT + "/docker-compose.yml", "compose", ports=[
            (80, 12, "traefik.ports", True), (443, 13, "traefik.ports", True), (8080, 14, "traefik.ports", True),
            (5432, 30, "postgres.expose", False), (1883, 52, "mosquitto.ports", True),
            (8428, 60, "victoriametrics.ports", True), (9000, 40, "minio.ports", True),
            (9001, 41, "minio.ports", True)]),
        file_(ROOT + "/backend/.env", "env", mode="0600", ports=[(8000, 2, "PORT", True)],
              secrets=[secret(1, "DATABASE_URL", FP_DB, "url-credentials")]),
        file_(ROOT + "/backend/alembic.ini", "config",
              secrets=[secret(12, "sqlalchemy.url", FP_DB, "url-credentials")]),
        file_(ROOT + "/infrastructure/mosquitto/mosquitto.conf", "config",
              ports=[(1883, 1, "listener", True), (9001, 5, "listener", True)]),
        file_(ROOT + "/infrastructure/minio/config.env", "env", mode="0640",
              ports=[(9001, 2, "MINIO_CONSOLE_PORT", True)],
              secrets=[secret(1, "MINIO_ROOT_PASSWORD", FP_MINIO)]),
        file_(ROOT + "/infrastructure/postgres/data", "config", error="Permission denied"),
    ]
    return {
        "schema": a.FACTS_SCHEMA,
        "host": "web1",
        "collected_at": "2026-12-02T12:00:00Z",
        "scan_errors": [{"what": "file", "path": ROOT + "/infrastructure/postgres/data", "error": "Permission denied"}],
        "processes": processes,
        "listeners": listeners,
        "containers": containers,
        "files": files,
        "docker": {"available": True, "log_driver": "json-file", "log_opts": {}, "live_restore": False,
                   "stopped_ours": [{"name": "taylordashv1-migrate-1", "project": "taylordashv1"}],
                   "dangling_images": 3, "unused_networks_ours": ["taylordashv1_old"]},
    }


AUDITED = {
    "duplicate-dev-server:backend": "critical",
    "duplicate-dev-server:frontend": "critical",
    "double-booked-port:9001": "critical",
    "repeated-credential:" + FP_DB: "critical",
    "known-default-secret:%s/.env:API_KEY" % ROOT: "critical",
    "exposed-data-port:postgres:5432": "critical",
    "exposed-data-port:minio:9000": "critical",
    "exposed-data-port:minio:9001": "critical",
    "exposed-data-port:victoriametrics:8428": "critical",
    "off-plan-dev-server:backend:8000": "warning",
    "off-plan-dev-server:frontend:5176": "warning",
    "off-plan-dev-server:frontend:5178": "warning",
    "native-service:postgres": "warning",
    "readable-secret-file:%s/.env" % ROOT: "warning",
    "readable-secret-file:%s/backend/alembic.ini" % ROOT: "warning",
    "container-unhealthy:taylordashv1-grafana-1": "warning",
    "container-restarting:taylordashv1-prometheus-1": "warning",
    "unplanned-public-port:8080": "warning",
    "no-log-rotation": "warning",
    "scan-error:%s/infrastructure/postgres/data" % ROOT: "warning",
    "foreign-process:vite:5180": "info",
    "foreign-process:http.server:8081": "info",
    "foreign-process:node:4000": "info",
    "foreign-process:uvicorn:8001": "info",
    "foreign-process:other:22": "info",
    "stopped-container:taylordashv1-migrate-1": "info",
    "dangling-images": "info",
    "unused-network:taylordashv1_old": "info",
    "live-restore-off": "info",
    "old-project:taylordashv1": "info",
}


def clean():
    """The same host after deploy-prod.yml and cleanup.yml: the stack in Docker (only Traefik and MQTT
    published) running from its deploy directory, no dev server, the old project's containers gone, the engine
    rotating logs; the processes that are not ours are still there (cleanup.yml never touches them). Neither
    playbook deletes a file: the old project's tree is still there, but nothing runs from it any more, so its
    files are leftovers."""
    processes = [p for p in audited()["processes"] if p["pid"] in (2001, 2002, 2003, 2004, 500)]
    listeners = [s for s in audited()["listeners"] if s["pid"] in (2001, 2002, 2003, 2004, 500)]
    containers = [
        container("taylordash-traefik-1", "traefik", "docker.io/library/traefik:v3.7",
                  [("0.0.0.0", 80), ("::", 80), ("0.0.0.0", 443), ("::", 443)], project="taylordash"),
        container("taylordash-mosquitto-1", "mosquitto", "docker.io/library/eclipse-mosquitto:2.0.21",
                  [("0.0.0.0", 1883), ("::", 1883)], project="taylordash"),
        container("taylordash-postgres-1", "postgres", "docker.io/library/postgres:17", project="taylordash"),
        container("taylordash-minio-1", "minio", "docker.io/minio/minio:RELEASE.2025", project="taylordash"),
        container("taylordash-backend-1", "backend", "taylordash/backend:1.0", project="taylordash"),
        container("taylordash-frontend-1", "frontend", "taylordash/frontend:1.0", project="taylordash"),
        container("wiki", "", "nginx:1.25", [("127.0.0.1", 8090)], project="", ours=False),
    ]
    pid = 4001
    for c in containers[:2]:
        for address in ("0.0.0.0", "::"):
            published = [p["port"] for p in c["ports"] if p["address"] == address]
            more_procs, more_socks = proxies(pid, c["name"], published, address)
            processes += more_procs
            listeners += more_socks
            pid += 10
    files = [
        file_("/opt/taylordash/.env", "env", mode="0600", secrets=[
            secret(1, "POSTGRES_PASSWORD", CLEAN_FPS[0]), secret(2, "DATABASE_URL", CLEAN_FPS[0], "url-credentials"),
            secret(3, "MQTT_PASSWORD", CLEAN_FPS[1]), secret(4, "MINIO_ROOT_PASSWORD", CLEAN_FPS[2]),
            secret(5, "GRAFANA_ADMIN_PASSWORD", CLEAN_FPS[3]), secret(6, "API_KEY", CLEAN_FPS[4])]),
        file_("/opt/taylordash/docker-compose.yml", "compose", ports=[
            (80, 20, "traefik.ports", True), (443, 21, "traefik.ports", True), (1883, 80, "mosquitto.ports", True),
            (5432, 90, "postgres.expose", False)]),
        file_("/opt/taylordash/traefik/traefik.yml", "config",
              ports=[(80, 3, "entryPoints.web.address", True), (443, 5, "entryPoints.websecure.address", True),
                     (8082, 7, "entryPoints.metrics.address", True)]),
        file_("/opt/taylordash/mosquitto/mosquitto.conf", "config", ports=[(1883, 1, "listener", True)]),
    ] + audited()["files"]
    return {
        "schema": a.FACTS_SCHEMA, "host": "web1", "collected_at": "2026-12-03T12:00:00Z",
        "scan_errors": audited()["scan_errors"],
        "processes": processes, "listeners": listeners, "containers": containers, "files": files,
        "docker": {"available": True, "log_driver": "json-file", "log_opts": {"max-size": "10m", "max-file": "3"},
                   "live_restore": True, "stopped_ours": [], "dangling_images": 0, "unused_networks_ours": []},
    }


FOREIGN = dict((k, v) for k, v in AUDITED.items() if k.startswith("foreign-process:"))
# What the old tree left behind on the clean host: its credentials are leftovers (info, nothing runs from the
# tree), while a file others can read and a file that cannot be read are still what they were (warnings).
LEFT_BEHIND = {
    "leftover-credential:" + FP_DB: "info",
    "leftover-default-secret:%s/.env:API_KEY" % ROOT: "info",
    "readable-secret-file:%s/.env" % ROOT: "warning",
    "readable-secret-file:%s/backend/alembic.ini" % ROOT: "warning",
    "scan-error:%s/infrastructure/postgres/data" % ROOT: "warning",
}
CLEAN = dict(FOREIGN, **LEFT_BEHIND)


def ids(found):
    return dict((f["id"], f["severity"]) for f in found)


def by_id(found, fid):
    return [f for f in found if f["id"] == fid][0]


# --------------------------------------------------------------------------- the audited host

def test_the_audited_host_has_exactly_the_audits_findings():
    found = a.findings(audited(), PLAN)
    assert ids(found) == AUDITED
    assert len(found) == len(AUDITED), "one finding per id"


def test_findings_are_sorted_critical_first_then_category_then_id():
    found = a.findings(audited(), PLAN)
    keys = [(-a.SEVERITIES.index(f["severity"]), f["category"], f["id"]) for f in found]
    assert keys == sorted(keys)
    assert found[0]["severity"] == "critical" and found[-1]["severity"] == "info"


def test_every_finding_has_the_documented_shape():
    for finding in a.findings(audited(), PLAN):
        assert set(finding) == {"id", "severity", "category", "title", "detail", "where", "fix"}, finding["id"]
        assert finding["severity"] in a.SEVERITIES
        assert finding["category"] in a.CATEGORIES
        assert finding["title"] and isinstance(finding["detail"], str) and isinstance(finding["where"], list)
        assert set(finding["fix"]) == {"playbook", "vars", "command"} and isinstance(finding["fix"]["vars"], dict)
        if finding["fix"]["playbook"]:
            assert finding["fix"]["command"].startswith("ansible-playbook %s --limit web1" % finding["fix"]["playbook"])


def test_duplicates_list_every_instance_and_count_only_ours():
    found = a.findings(audited(), PLAN)
    backend = by_id(found, "duplicate-dev-server:backend")
    assert backend["title"] == "backend runs 3 times"
    assert [(w["pid"], w["port"]) for w in backend["where"]] == [(1101, 3000), (1102, 8000), (1103, 8000)]
    assert "uvicorn on 8000/ipv6 (pid 1103)" in backend["detail"]
    frontend = by_id(found, "duplicate-dev-server:frontend")
    assert [w["port"] for w in frontend["where"]] == [5173, 5176, 5178]
    # The other project's vite and uvicorn are never counted: no duplicate of anything else.
    assert [f["id"] for f in found if f["id"].startswith("duplicate-")] == [
        "duplicate-dev-server:backend", "duplicate-dev-server:frontend"]
    # Two backends on 8000 are one off-plan finding listing both.
    assert [w["pid"] for w in by_id(found, "off-plan-dev-server:backend:8000")["where"]] == [1102, 1103]


def test_the_9001_clash_is_minio_against_mosquitto_conf():
    finding = by_id(a.findings(audited(), PLAN), "double-booked-port:9001")
    assert finding["title"] == "host port 9001 is double-booked (2 users)"
    paths = set(w.get("path") for w in finding["where"] if w.get("path"))
    assert paths == {ROOT + "/docker-compose.yml", ROOT + "/infrastructure/mosquitto/mosquitto.conf",
                     ROOT + "/infrastructure/minio/config.env"}
    assert {"container": "taylordashv1-minio-1", "port": 9001, "address": "0.0.0.0"} in finding["where"]
    assert "service minio" in finding["detail"] and "service mosquitto" in finding["detail"]
    assert finding["fix"]["playbook"] == "deploy-prod.yml"
    assert finding["fix"]["vars"] == {"taylordash_port_plan": {"minio-console": {"port": 9001, "address": "127.0.0.1"}}}


def test_the_repeated_credential_lists_every_place_by_fingerprint():
    finding = by_id(a.findings(audited(), PLAN), "repeated-credential:" + FP_DB)
    assert finding["severity"] == "critical" and finding["title"] == "one credential is in 3 files"
    assert finding["where"] == [
        {"path": ROOT + "/.env", "line": 3, "key": "POSTGRES_PASSWORD", "fingerprint": FP_DB},
        {"path": ROOT + "/.env", "line": 4, "key": "DATABASE_URL", "fingerprint": FP_DB},
        {"path": ROOT + "/backend/.env", "line": 1, "key": "DATABASE_URL", "fingerprint": FP_DB},
        {"path": ROOT + "/backend/alembic.ini", "line": 12, "key": "sqlalchemy.url", "fingerprint": FP_DB},
    ]
    assert finding["fix"]["vars"] == {"infrastructure_secrets": {"POSTGRES_PASSWORD": a.NEW_SECRET}}
    # MQTT_PASSWORD is on two lines of one file: not a repeated credential.
    assert not [f for f in a.findings(audited(), PLAN) if FP_MQTT in f["id"]]


def test_a_known_default_names_the_variable_that_replaces_it():
    finding = by_id(a.findings(audited(), PLAN), "known-default-secret:%s/.env:API_KEY" % ROOT)
    assert finding["where"] == [{"path": ROOT + "/.env", "line": 5, "key": "API_KEY", "fingerprint": FP_API}]
    assert finding["fix"] == {"playbook": "deploy-prod.yml",
                              "vars": {"infrastructure_secrets": {"API_KEY": a.NEW_SECRET}},
                              "command": "ansible-playbook deploy-prod.yml --limit web1"}


def test_native_postgres_is_exposed_and_outside_docker():
    found = a.findings(audited(), PLAN)
    exposed = by_id(found, "exposed-data-port:postgres:5432")
    assert sorted(w["address"] for w in exposed["where"]) == ["0.0.0.0", "::"]
    assert exposed["title"] == "postgres's port 5432 is reachable on 0.0.0.0, ::"
    assert exposed["fix"] == {"playbook": "deploy-prod.yml", "vars": {},
                              "command": "ansible-playbook deploy-prod.yml --limit web1"}
    assert "native-service:postgres" in exposed["detail"]
    native = by_id(found, "native-service:postgres")
    assert [w["pid"] for w in native["where"]] == [77, 77]
    assert native["fix"]["playbook"] == "deploy-prod.yml"
    # The old project's MinIO is brought down by cleanup.yml.
    minio = by_id(found, "exposed-data-port:minio:9000")
    assert minio["fix"] == {"playbook": "cleanup.yml", "vars": {"cleanup_compose_projects": [{"name": "taylordashv1"}]},
                            "command": "ansible-playbook cleanup.yml --limit web1"}


def test_the_stacks_own_exposed_data_port_names_the_port_plan():
    facts = _port_case(containers=[container("taylordash-minio-1", "minio", "minio/minio", [("0.0.0.0", 9001)],
                                             project="taylordash")])
    fix = by_id(a.findings(facts, PLAN), "exposed-data-port:minio:9001")["fix"]
    assert fix["vars"] == {"taylordash_port_plan": {"minio-console": {"port": 9001, "address": "127.0.0.1"}}}
    assert fix["command"] == "ansible-playbook deploy-prod.yml --limit web1"


@pytest.mark.parametrize("fid,playbook,variables,command", [
    ("duplicate-dev-server:backend", "cleanup.yml", {}, "ansible-playbook cleanup.yml --limit web1"),
    ("off-plan-dev-server:frontend:5176", "cleanup.yml", {}, "ansible-playbook cleanup.yml --limit web1"),
    ("stopped-container:taylordashv1-migrate-1", "cleanup.yml", {}, "ansible-playbook cleanup.yml --limit web1"),
    ("dangling-images", "cleanup.yml", {}, "ansible-playbook cleanup.yml --limit web1"),
    ("unused-network:taylordashv1_old", "cleanup.yml", {}, "ansible-playbook cleanup.yml --limit web1"),
    ("old-project:taylordashv1", "cleanup.yml", {"cleanup_compose_projects": [{"name": "taylordashv1"}]},
     "ansible-playbook cleanup.yml --limit web1"),
    ("no-log-rotation", "deploy-prod.yml", {"docker_engine_log_max_size": "10m", "docker_engine_log_max_file": 3},
     "ansible-playbook deploy-prod.yml --limit web1 --tags engine"),
    ("live-restore-off", "deploy-prod.yml", {"docker_engine_live_restore": True},
     "ansible-playbook deploy-prod.yml --limit web1 --tags engine"),
    ("readable-secret-file:%s/.env" % ROOT, None, {}, "chmod 0600 %s/.env" % ROOT),
    ("scan-error:%s/infrastructure/postgres/data" % ROOT, None, {}, None),
    ("foreign-process:other:22", None, {}, None),
])
def test_each_fix_names_its_playbook_and_variables(fid, playbook, variables, command):
    fix = by_id(a.findings(audited(), PLAN), fid)["fix"]
    assert fix == {"playbook": playbook, "vars": variables, "command": command}


def test_the_variables_a_fix_names_exist_in_the_roles():
    import os
    import re

    root = os.path.join(os.path.dirname(__file__), *([os.pardir] * 4))
    defaults = ""
    for role in ("cleanup", "docker_engine", "infrastructure", "taylordash"):
        with open(os.path.join(root, "roles", role, "defaults", "main.yml")) as handle:
            defaults += handle.read()
    named = set()
    for finding in a.findings(audited(), PLAN):
        named.update(finding["fix"]["vars"])
    assert named
    for variable in named:
        assert re.search(r"^%s:" % re.escape(variable), defaults, re.M), variable
    for playbook in ("cleanup.yml", "deploy-prod.yml"):
        assert os.path.exists(os.path.join(root, playbook))


def test_a_secret_without_a_key_is_named_by_its_line():
    facts = dict(_port_case(containers=[APP]), files=[
        file_("/srv/app/alembic.ini", "config", secrets=[secret(2, None, FP_API, "url-credentials", True)]),
        file_("/srv/app/.env", "env", mode="0600", secrets=[secret(1, "API_KEY", FP_API)])])
    found = a.findings(facts, PLAN)
    assert ids(found) == {"known-default-secret:/srv/app/alembic.ini:line-2": "critical",
                          "repeated-credential:" + FP_API: "critical",
                          "readable-secret-file:/srv/app/alembic.ini": "warning"}
    assert by_id(found, "repeated-credential:" + FP_API)["where"] == [
        {"path": "/srv/app/.env", "line": 1, "key": "API_KEY", "fingerprint": FP_API},
        {"path": "/srv/app/alembic.ini", "line": 2, "key": None, "fingerprint": FP_API}]


def test_a_lone_off_plan_server_needs_every_instance_stopped():
    facts = audited()
    facts["processes"] = [p for p in facts["processes"] if p["pid"] != 1204] + [
        proc(1207, "vite", 5179, "mcp-manager", cwd=ROOT + "/examples/mcp-manager")]
    finding = by_id(a.findings(facts, PLAN), "off-plan-dev-server:mcp-manager:5179")
    assert finding["fix"]["vars"] == {"cleanup_stop_all_dev_servers": True}
    assert finding["fix"]["command"] == ("ansible-playbook cleanup.yml --limit web1 -e "
                                         "'{\"cleanup_stop_all_dev_servers\": true}'")


# --------------------------------------------------------------------------- who uses a port

def _port_case(files=(), containers=(), listeners=(), processes=()):
    return {"schema": a.FACTS_SCHEMA, "host": "web1", "processes": list(processes), "listeners": list(listeners),
            "containers": list(containers), "files": list(files), "scan_errors": [], "docker": {"available": True}}


STACK_COMPOSE = file_("/opt/taylordash/docker-compose.yml", "compose", ports=[(443, 20, "traefik.ports", True)])
TRAEFIK = container("taylordash-traefik-1", "traefik", "traefik:v3.7", [("0.0.0.0", 443)], project="taylordash",
                    working_dir=STACK_DIR)
TRAEFIK_PROXY = listener(4001, 443, "docker-proxy", container="taylordash-traefik-1")
MINIO_COMPOSE = file_(ROOT + "/docker-compose.yml", "compose", ports=[(9001, 41, "minio.ports", True)])
MOSQUITTO_CONF = file_(ROOT + "/infrastructure/mosquitto/mosquitto.conf", "config", ports=[(9001, 5, "listener", True)])
# The old project running from ROOT (publishing nothing): ROOT is a live directory, its files are in use.
V1_RUNNING = container("taylordashv1-postgres-1", "postgres", "postgres:15", working_dir=ROOT)
# The same project stopped: its label still names ROOT, but nothing runs from there.
V1_STOPPED = container("taylordashv1-postgres-1", "postgres", "postgres:15", state="exited", health="none",
                       working_dir=ROOT)
# The stack's MinIO console on 9001, from the deploy directory.
STACK_MINIO = container("taylordash-minio-1", "minio", "minio/minio", [("127.0.0.1", 9001)], project="taylordash",
                        working_dir=STACK_DIR)
STACK_MINIO_PROXY = listener(4011, 9001, "docker-proxy", "127.0.0.1", container="taylordash-minio-1")
# Somebody else's compose project running from /srv/app (publishing nothing): /srv/app is a live directory.
APP = container("app-web-1", "web", "nginx:1.25", project="app", ours=False, working_dir="/srv/app")


@pytest.mark.parametrize("case,facts,port,booked", [
    ("the stack's compose file, its container and docker-proxy are one user",
     _port_case([STACK_COMPOSE], [TRAEFIK], [TRAEFIK_PROXY, dict(TRAEFIK_PROXY, address="::", pid=4002)]), 443, False),
    ("the stack's Traefik config explains its 443",
     _port_case([STACK_COMPOSE, file_("/opt/taylordash/traefik/traefik.yml", "config",
                                      ports=[(443, 5, "entryPoints.websecure.address", True)])],
                [TRAEFIK], [TRAEFIK_PROXY]), 443, False),
    ("the old and the new compose file of one service are one user",
     _port_case([STACK_COMPOSE,
                 file_(ROOT + "/docker-compose.yml", "compose", ports=[(443, 13, "traefik.ports", True)])],
                [TRAEFIK, V1_RUNNING], [TRAEFIK_PROXY]), 443, False),
    ("the audit's clash: MinIO's compose entry and mosquitto.conf's listener",
     _port_case([MINIO_COMPOSE, MOSQUITTO_CONF], [V1_RUNNING]), 9001, True),
    ("the same clash with MinIO running",
     _port_case([MINIO_COMPOSE, MOSQUITTO_CONF],
                [container("taylordashv1-minio-1", "minio", "minio/minio", [("0.0.0.0", 9001)])],
                [listener(3001, 9001, "docker-proxy", container="taylordashv1-minio-1")]), 9001, True),
    ("two services of one compose file",
     _port_case([file_(ROOT + "/docker-compose.yml", "compose",
                       ports=[(9001, 41, "minio.ports", True), (9001, 58, "mosquitto.ports", True)])], [V1_RUNNING]),
     9001, True),
    ("an unpublished compose entry assigns no host port",
     _port_case([file_(ROOT + "/docker-compose.yml", "compose",
                       ports=[(9001, 41, "minio.ports", True), (9001, 58, "mosquitto.expose", False)])], [V1_RUNNING]),
     9001, False),
    ("a listener and a file that does not explain it",
     _port_case([MOSQUITTO_CONF], [V1_RUNNING], [listener(2002, 9001, "python3")],
                [proc(2002, "http.server", 9001)]),
     9001, True),
    ("a dev server and the .env in its directory are one user",
     _port_case([file_(ROOT + "/backend/.env", "env", ports=[(8000, 2, "PORT", True)])], [],
                [listener(1102, 8000, "python3")], [proc(1102, "uvicorn", 8000, "backend", cwd=ROOT + "/backend")]),
     8000, False),
    ("a key naming the app explains its server",
     _port_case([file_(ROOT + "/.env", "env", ports=[(3000, 8, "BACKEND_PORT", True)])], [V1_RUNNING],
                [listener(1101, 3000, "python3")], [proc(1101, "uvicorn", 3000, "backend", cwd="/srv/elsewhere")]),
     3000, False),
    ("two instances listening on one port are duplicates, not a double booking",
     _port_case([], [], [listener(1102, 8000, "python3"), listener(1103, 8000, "python3", "::")],
                [proc(1102, "uvicorn", 8000, "backend"), proc(1103, "uvicorn", 8000, "backend", address="::")]),
     8000, False),
    ("a native PostgreSQL and its own postgresql.conf (in its data directory, its working directory)",
     _port_case([file_("/var/lib/pgsql/15/data/postgresql.conf", "config", ports=[(5432, 64, "port", True)])], [],
                [listener(77, 5432, "postgres")],
                [proc(77, "other", 5432, cwd="/var/lib/pgsql/15/data", user="postgres",
                      cmdline=["/usr/pgsql-15/bin/postgres", "-D", "/var/lib/pgsql/15/data"])]), 5432, False),
    ("a native PostgreSQL against a container publishing its port",
     _port_case([], [container("taylordash-postgres-1", "postgres", "postgres:17", [("127.0.0.1", 5432)],
                               project="taylordash")],
                [listener(77, 5432, "postgres"), listener(4005, 5432, "docker-proxy", "127.0.0.1",
                                                          container="taylordash-postgres-1")]), 5432, True),
    ("docker-proxy on IPv4 and IPv6 when the engine did not answer",
     _port_case([], [], [listener(4001, 443, "docker-proxy"), listener(4002, 443, "docker-proxy", "::")]), 443, False),
    ("docker-proxy whose container is unknown against a file",
     _port_case([MOSQUITTO_CONF], [V1_RUNNING], [listener(4001, 9001, "docker-proxy")]), 9001, True),
    ("two containers without a compose service",
     _port_case([], [container("a", "", "nginx", [("0.0.0.0", 8080)], project="", ours=False),
                     container("b", "", "httpd", [("::", 8080)], project="", ours=False)]), 8080, True),
    # Leftovers: a file outside every live directory books nothing.
    ("mosquitto.conf in use against the stack's MinIO",
     _port_case([MOSQUITTO_CONF], [STACK_MINIO, V1_RUNNING], [STACK_MINIO_PROXY]), 9001, True),
    ("the same mosquitto.conf left behind (nothing runs from ROOT) books nothing",
     _port_case([MOSQUITTO_CONF], [STACK_MINIO], [STACK_MINIO_PROXY]), 9001, False),
    ("a file in a stopped project's working_dir is a leftover",
     _port_case([MOSQUITTO_CONF], [STACK_MINIO, V1_STOPPED], [STACK_MINIO_PROXY]), 9001, False),
    ("a file under a listening process's working directory is in use",
     _port_case([MOSQUITTO_CONF], [STACK_MINIO], [STACK_MINIO_PROXY, listener(2100, 1883, "mosquitto")],
                [proc(2100, "other", 1883, cwd=ROOT + "/infrastructure/mosquitto",
                      cmdline=["mosquitto", "-c", "mosquitto.conf"])]), 9001, True),
    ("a working directory holds only what lies under it",
     _port_case([MOSQUITTO_CONF], [STACK_MINIO], [STACK_MINIO_PROXY, listener(1102, 8000, "python3")],
                [proc(1102, "uvicorn", 8000, "backend", cwd=ROOT + "/backend")]), 9001, False),
    ("a leftover compose file of the old project does not double-book the stack's own file",
     _port_case([STACK_COMPOSE, MINIO_COMPOSE,
                 file_("/opt/taylordash/mosquitto/mosquitto.conf", "config", ports=[(9001, 5, "listener", True)])],
                [TRAEFIK]), 9001, False),
    ("a leftover compose file's services name nothing: two files in use on one port still clash",
     _port_case([file_("/srv/app/adminer.conf", "config", ports=[(8081, 1, "port", True)]),
                 file_("/srv/app/conf/adminer.ini", "config", ports=[(8081, 3, "listen", True)]),
                 file_("/srv/old/docker-compose.yml", "compose", ports=[(8080, 5, "adminer.ports", True)])],
                [APP]), 8081, True),
    ("an environment file's port (the app's MQTT_PORT) claims nothing by itself",
     _port_case([file_("/srv/app/.env", "env", ports=[(1883, 12, "MQTT_PORT", False)]),
                 file_("/srv/app/docker-compose.yml", "compose", ports=[(1883, 40, "mosquitto.ports", True)])],
                [APP]), 1883, False),
])
def test_double_booked_ports(case, facts, port, booked):
    found = ids(a.findings(facts, PLAN))
    assert (("double-booked-port:%d" % port) in found) is booked, case
    rows = [r for r in a.port_map(facts, PLAN) if r["port"] == port]
    assert len(rows) == 1, case
    assert (rows[0]["status"] == "double-booked") is booked, case


# --------------------------------------------------------------------------- other rules, one at a time

PUBLISHED = [{"name": "postgres", "port": 5432, "address": "10.0.0.5"}]


@pytest.mark.parametrize("case,change,present,absent", [
    ("a public plan entry is not an exposure (MQTT)", {}, [], ["exposed-data-port:mosquitto:1883"]),
    ("published for the other hosts on this host's address",
     {"containers": [container("taylordash-postgres-1", "postgres", "postgres:17", [("10.0.0.5", 5432)],
                               project="taylordash")], "_published": PUBLISHED}, [],
     ["exposed-data-port:postgres:5432", "unplanned-public-port:5432"]),
    ("a data service on another address", {"containers": [container(
        "taylordash-postgres-1", "postgres", "postgres:17", [("10.0.0.6", 5432)], project="taylordash")],
        "_published": PUBLISHED}, ["exposed-data-port:postgres:5432"], ["unplanned-public-port:5432"]),
    ("a data service on loopback", {"containers": [container(
        "taylordash-postgres-1", "postgres", "postgres:17", [("127.0.0.1", 5432)], project="taylordash")]},
     [], ["exposed-data-port:postgres:5432"]),
    ("a data service's image without a catalogue service label", {"containers": [container(
        "taylordashv1-db-1", "db", "postgres:15", [("0.0.0.0", 15432)])]}, ["exposed-data-port:postgres:15432"], []),
    ("a monitoring service published publicly", {"containers": [container(
        "taylordash-prometheus-1", "prometheus", "prom/prometheus", [("0.0.0.0", 9090)], project="taylordash")]},
     ["unplanned-public-port:9090"], []),
    ("someone else's container is not ours to flag", {"containers": [container(
        "db", "", "postgres:16", [("0.0.0.0", 5433)], project="", ours=False, health="unhealthy", restarts=3)]},
     [], ["exposed-data-port:postgres:5433", "unplanned-public-port:5433", "container-unhealthy:db",
          "container-restarting:db"]),
    ("a container that restarted once", {"containers": [container(
        "taylordash-grafana-1", "grafana", "grafana/grafana", restarts=1, project="taylordash")]},
     ["container-restarting:taylordash-grafana-1"], []),
    ("local logs with max-size rotate", {"docker": {"available": True, "log_driver": "local",
                                                    "log_opts": {"max-size": "20m"}, "live_restore": True}},
     [], ["no-log-rotation", "live-restore-off"]),
    ("local logs without max-size", {"docker": {"available": True, "log_driver": "local", "log_opts": {},
                                                "live_restore": True}}, ["no-log-rotation"], []),
    ("journald is not the engine's files", {"docker": {"available": True, "log_driver": "journald",
                                                       "log_opts": {}, "live_restore": True}},
     [], ["no-log-rotation"]),
    ("no engine, no engine findings", {"docker": {"available": False, "live_restore": False,
                                                  "dangling_images": 2}},
     [], ["live-restore-off", "dangling-images", "no-log-rotation"]),
    ("a scan root that cannot be read", {"scan_errors": [{"what": "scan_root", "path": "/srv/private",
                                                          "error": "Permission denied"}]},
     ["scan-error:/srv/private"], []),
    ("a file unreadable and unparsable is one finding", {"scan_errors": [
        {"what": "file", "path": "/srv/app/.env", "error": "Permission denied"},
        {"what": "parse", "path": "/srv/app/.env", "error": "not UTF-8"}],
        "files": [file_("/srv/app/.env", "env", error="Permission denied")]}, ["scan-error:/srv/app/.env"], []),
    ("a UDP port is not a TCP port's user", {"files": [
        file_(ROOT + "/docker-compose.yml", "compose", ports=[(9001, 41, "minio.ports", True)]),
        dict(file_(ROOT + "/dns/docker-compose.yml", "compose"), ports=[
            {"port": 9001, "line": 3, "key": "dns.ports", "published": True, "protocol": "udp"}])],
        "containers": [V1_RUNNING]},
     [], ["double-booked-port:9001"]),
    ("a process name the kernel cut short", {"listeners": [
        listener(88, 8428, "victoria-metric"), listener(89, 9187, "postgres_export")]},
     ["native-service:victoriametrics", "exposed-data-port:victoriametrics:8428", "native-service:postgres-exporter"],
     ["native-service:postgres"]),
    ("a mode without world_readable", {"files": [dict(file_("/srv/app/.env", "env", mode="0604",
                                                            secrets=[secret(1, "TOKEN", FP_API)]),
                                                      world_readable=None)]},
     ["readable-secret-file:/srv/app/.env"], []),
    ("a readable file without secrets is fine", {"files": [file_("/srv/app/settings.ini", "config")]},
     [], ["readable-secret-file:/srv/app/settings.ini"]),
    ("a malformed fingerprint is never an id", {"files": [
        file_("/srv/app/a/.env", "env", mode="0600", secrets=[secret(1, "PASSWORD", "hunter2")]),
        file_("/srv/app/b/.env", "env", mode="0600", secrets=[secret(1, "PASSWORD", "hunter2")])],
        "containers": [APP]},
     [], ["repeated-credential:hunter2", "leftover-credential:hunter2"]),
    ("a dev server inside a container is the container's", {"processes": [
        proc(5001, "uvicorn", 8000, "backend", cwd=ROOT + "/backend", in_container=True),
        proc(5002, "uvicorn", 8001, "backend", cwd=ROOT + "/backend", in_container=True)]},
     [], ["duplicate-dev-server:backend", "foreign-process:uvicorn:8000"]),
])
def test_single_rules(case, change, present, absent):
    change = dict(change)
    plan = dict(PLAN, published=change.pop("_published", []))
    facts = dict(_port_case(), **change)
    found = ids(a.findings(facts, plan))
    for fid in present:
        assert fid in found, (case, fid, found)
    for fid in absent:
        assert fid not in found, (case, fid, found)


LIVE_ENV = file_("/srv/app/.env", "env", mode="0600", secrets=[secret(2, "API_KEY", FP_API)])
LIVE_INI = file_("/srv/app/backend/alembic.ini", "config", mode="0600",
                 secrets=[secret(12, "sqlalchemy.url", FP_API, "url-credentials")])
OLD_ENV = file_("/srv/old/.env", "env", mode="0600", secrets=[secret(3, "API_KEY", FP_API)])
OLD_INI = file_("/srv/old/backend/alembic.ini", "config", mode="0600",
                secrets=[secret(7, "sqlalchemy.url", FP_API, "url-credentials")])
OLD_STOPPED = container("old-web-1", "web", "nginx:1.25", state="exited", health="none", project="old", ours=False,
                        working_dir="/srv/old")


def _default(entry, line=2, key="API_KEY"):
    return dict(entry, secrets=[secret(line, key, FP_API, known_default=True)])


@pytest.mark.parametrize("case,facts,expected", [
    ("one credential in two files in use", _port_case([LIVE_ENV, LIVE_INI], [APP]),
     {"repeated-credential:" + FP_API: "critical"}),
    ("one credential only in leftover files", _port_case([OLD_ENV, OLD_INI], [APP]),
     {"leftover-credential:" + FP_API: "info"}),
    ("one credential in a file in use and in a leftover file", _port_case([LIVE_ENV, OLD_ENV], [APP]),
     {"repeated-credential:" + FP_API: "critical"}),
    ("one credential in leftover files, with nothing running at all", _port_case([OLD_ENV, OLD_INI]),
     {"leftover-credential:" + FP_API: "info"}),
    ("a stopped project's working_dir is no live directory", _port_case([OLD_ENV, OLD_INI], [APP, OLD_STOPPED]),
     {"leftover-credential:" + FP_API: "info"}),
    ("the same project running: its files are in use",
     _port_case([OLD_ENV, OLD_INI], [APP, dict(OLD_STOPPED, state="running")]),
     {"repeated-credential:" + FP_API: "critical"}),
    ("one of our dev servers' working directory holds the files under it",
     _port_case([OLD_ENV, OLD_INI], [], [listener(2100, 3000, "python3")],
                [proc(2100, "uvicorn", 3000, app="backend", cwd="/srv/old/backend")]),
     {"repeated-credential:" + FP_API: "critical"}),
    ("but not the files beside or above it",
     _port_case([OLD_ENV, dict(OLD_INI, path="/srv/old/frontend/.env")], [], [listener(2100, 3000, "python3")],
                [proc(2100, "uvicorn", 3000, app="backend", cwd="/srv/old/backend")]),
     {"leftover-credential:" + FP_API: "info"}),
    ("a process that is not ours proves nothing about the files where it runs (a decoy, /tmp, a home)",
     _port_case([OLD_ENV, OLD_INI], [], [listener(2100, 8100, "python3")],
                [proc(2100, "uvicorn", 8100, cwd="/srv/old/backend")]),
     {"leftover-credential:" + FP_API: "info", "foreign-process:uvicorn:8100": "info"}),
    ("a catalogue service running natively: its working directory holds its files",
     _port_case([dict(OLD_ENV, path="/var/lib/pg/.env"), dict(OLD_INI, path="/var/lib/pg/conf/x.ini")], [],
                [listener(2200, 5432, "postgres", address="127.0.0.1")],
                [proc(2200, "other", 5432, address="127.0.0.1", cwd="/var/lib/pg")]),
     {"repeated-credential:" + FP_API: "critical", "native-service:postgres": "warning"}),
    ("a directory that only begins like a live one is not inside it",
     _port_case([dict(LIVE_ENV, path="/srv/app2/.env"), dict(LIVE_INI, path="/srv/app2/backend/alembic.ini")], [APP]),
     {"leftover-credential:" + FP_API: "info"}),
    ("a known default in a file in use", _port_case([_default(LIVE_ENV)], [APP]),
     {"known-default-secret:/srv/app/.env:API_KEY": "critical"}),
    ("a known default in a leftover file", _port_case([_default(OLD_ENV)], [APP]),
     {"leftover-default-secret:/srv/old/.env:API_KEY": "info"}),
    ("a known default without a key in a leftover file", _port_case([_default(OLD_INI, 7, None)], [APP]),
     {"leftover-default-secret:/srv/old/backend/alembic.ini:line-7": "info"}),
    ("without an engine that answered, every file counts as in use",
     dict(_port_case([OLD_ENV, OLD_INI], [APP]), docker={"available": False}),
     {"repeated-credential:" + FP_API: "critical"}),
    ("a restarting project's files are in use",
     _port_case([OLD_ENV, OLD_INI], [APP, dict(OLD_STOPPED, state="restarting")]),
     {"repeated-credential:" + FP_API: "critical"}),
    ("a process in a container has its own file system: its cwd holds no host file",
     _port_case([OLD_ENV, OLD_INI], [], [listener(2100, 8100, "python3")],
                [dict(proc(2100, "uvicorn", 8100, cwd="/srv/old/backend"), in_container=True)]),
     {"leftover-credential:" + FP_API: "info"}),
    ("a leftover file others can read is still a warning",
     _port_case([file_("/srv/old/.env", "env", secrets=[secret(3, "API_KEY", FP_API)])], [APP]),
     {"readable-secret-file:/srv/old/.env": "warning"}),
    ("so is a file in use", _port_case([file_("/srv/app/.env", "env", secrets=[secret(3, "API_KEY", FP_API)])], [APP]),
     {"readable-secret-file:/srv/app/.env": "warning"}),
])
def test_secrets_in_use_and_left_behind(case, facts, expected):
    assert ids(a.findings(facts, PLAN)) == expected, case


def test_a_leftover_credential_lists_its_places_and_no_playbook():
    found = a.findings(_port_case([OLD_INI, OLD_ENV], [APP]), PLAN)
    finding = by_id(found, "leftover-credential:" + FP_API)
    assert finding["title"] == "one credential is in 2 leftover files"
    assert finding["where"] == [
        {"path": "/srv/old/.env", "line": 3, "key": "API_KEY", "fingerprint": FP_API},
        {"path": "/srv/old/backend/alembic.ini", "line": 7, "key": "sqlalchemy.url", "fingerprint": FP_API}]
    assert "/srv/old/.env:3" in finding["detail"] and FP_API in finding["detail"]
    assert finding["fix"] == {"playbook": None, "vars": {}, "command": None}
    default = by_id(a.findings(_port_case([_default(OLD_ENV, 3)], [APP]), PLAN),
                    "leftover-default-secret:/srv/old/.env:API_KEY")
    assert default["where"] == [{"path": "/srv/old/.env", "line": 3, "key": "API_KEY", "fingerprint": FP_API}]
    assert default["fix"] == {"playbook": None, "vars": {}, "command": None}


def test_errors_of_one_path_are_one_finding_listing_each():
    facts = dict(_port_case(), scan_errors=[{"what": "file", "path": "/srv/app/.env", "error": "Permission denied"},
                                            {"what": "parse", "path": "/srv/app/.env", "error": "not UTF-8"}],
                 files=[file_("/srv/app/.env", "env", error="Permission denied")])
    finding = by_id(a.findings(facts, PLAN), "scan-error:/srv/app/.env")
    assert finding["where"] == [{"what": "file", "path": "/srv/app/.env", "error": "Permission denied"},
                                {"what": "parse", "path": "/srv/app/.env", "error": "not UTF-8"}]


def test_missing_or_foreign_facts_are_one_scan_error():
    for facts in (None, {}, {"schema": "something/1", "host": "web1"}):
        found = a.findings(facts, PLAN)
        assert [(f["id"], f["severity"]) for f in found] == [("scan-error:facts", "warning")]
        assert a.port_map(facts, PLAN) == [] and a.docker_vs_native(facts, PLAN) == {"in_docker": [], "native": []}


def test_a_plan_in_the_port_plans_short_form():
    plan = dict(PLAN, port_plan={"backend": 3000, "frontend": 5173}, dev_apps={"backend": {}, "frontend": {}})
    found = ids(a.findings(audited(), plan))
    assert "off-plan-dev-server:backend:8000" in found and "off-plan-dev-server:frontend:5178" in found


# --------------------------------------------------------------------------- the clean host

def test_the_clean_host_has_no_critical_finding():
    found = a.findings(clean(), PLAN)
    assert ids(found) == CLEAN
    assert not [f for f in found if f["severity"] == "critical"]
    rows = a.port_map(clean(), PLAN)
    statuses = dict((r["port"], r["status"]) for r in rows)
    assert statuses[443] == statuses[80] == statuses[1883] == "ok"
    assert "double-booked" not in statuses.values() and "exposed" not in statuses.values()
    # The stack's files are in use (its containers run from the deploy directory); the old tree's book nothing.
    files = set(u["name"] for r in rows for u in r["users"] if u["type"] == "file")
    assert STACK_DIR + "/mosquitto/mosquitto.conf" in files and STACK_DIR + "/traefik/traefik.yml" in files
    assert not [f for f in files if f.startswith(ROOT + "/")]
    assert 9001 not in statuses and 8000 not in statuses


def test_the_old_tree_left_behind_is_info_not_critical():
    found = a.findings(clean(), PLAN)
    credential = by_id(found, "leftover-credential:" + FP_DB)
    assert credential["title"] == "one credential is in 3 leftover files"
    assert credential["where"] == by_id(a.findings(audited(), PLAN), "repeated-credential:" + FP_DB)["where"]
    default = by_id(found, "leftover-default-secret:%s/.env:API_KEY" % ROOT)
    assert default["where"] == [{"path": ROOT + "/.env", "line": 5, "key": "API_KEY", "fingerprint": FP_API}]
    # The stack's own .env repeats nothing and holds no default: it is in use, and clean.
    assert not [f for f in found if STACK_DIR in json.dumps(f["where"])]


def test_the_comparison_lists_what_the_deploy_fixed():
    before = a.report({"web1": audited()}, {"web1": PLAN}, "2026-12-02T12:00:00Z")
    after = a.report({"web1": clean()}, {"web1": PLAN}, "2026-12-03T12:00:00Z", previous=before)
    comparison = after["comparison"]
    assert comparison["previous_generated_at"] == "2026-12-02T12:00:00Z"
    # The old tree's credentials are still there, but as leftovers.
    assert dict((e["id"], e["severity"]) for e in comparison["appeared"]) == {
        "leftover-credential:" + FP_DB: "info", "leftover-default-secret:%s/.env:API_KEY" % ROOT: "info"}
    fixed = dict((e["id"], e["severity"]) for e in comparison["disappeared"])
    assert fixed == dict((k, v) for k, v in AUDITED.items() if k not in CLEAN)
    assert {"repeated-credential:" + FP_DB, "known-default-secret:%s/.env:API_KEY" % ROOT,
            "double-booked-port:9001"} <= set(fixed)
    assert all(e["host"] == "web1" and e["title"] for e in comparison["disappeared"])
    assert [e["severity"] for e in comparison["disappeared"]][:9] == ["critical"] * 9
    assert a.compare(after, before)["appeared"] == comparison["disappeared"]


def test_the_comparison_skips_hosts_only_one_report_has():
    before = a.report({"web1": audited(), "web2": clean()}, {"web1": PLAN, "web2": PLAN}, "t1")
    after = a.report({"web1": audited()}, {"web1": PLAN}, "t2", previous=before)
    assert after["comparison"]["appeared"] == [] and after["comparison"]["disappeared"] == []


# --------------------------------------------------------------------------- stable ids, no values

def _shifted(facts, by=7919):
    facts = copy.deepcopy(facts)
    facts["collected_at"] = "2027-01-01T00:00:00Z"
    for p in facts["processes"]:
        p["pid"] += by
        p["started_at"] = "2027-01-01T00:00:00Z"
    for s in facts["listeners"]:
        s["pid"] += by
    for c in facts["containers"]:
        c["restart_count"] = c["restart_count"] * 2
    facts["processes"].reverse()
    facts["listeners"].reverse()
    facts["containers"].reverse()
    facts["files"].reverse()
    return facts


@pytest.mark.parametrize("facts", [audited, clean])
def test_ids_do_not_change_with_pids_times_or_order(facts):
    first = a.findings(facts(), PLAN)
    second = a.findings(_shifted(facts()), PLAN)
    def key(found):
        return [(f["id"], f["severity"], f["title"]) for f in found]

    assert key(first) == key(second)
    for finding in first:
        assert "pid" not in finding["id"] and "2026" not in finding["id"]


def test_no_finding_holds_a_value_only_fingerprints():
    facts = audited()
    leaked = "hunter2-Sup3rS3cret"
    for entry in facts["files"]:
        for s in entry["secrets"]:
            s["value"] = leaked
        entry["text"] = "POSTGRES_PASSWORD=%s\n" % leaked
    found = a.findings(facts, PLAN)
    assert leaked not in json.dumps(found)
    report = a.report({"web1": facts}, {"web1": PLAN}, "2026-12-02T12:00:00Z")
    assert leaked not in json.dumps(report)
    for finding in found:
        for where in finding["where"]:
            if "fingerprint" in where:
                assert set(where) == {"path", "line", "key", "fingerprint"}
                assert a.FINGERPRINT.match(where["fingerprint"])
    kept = report["hosts"]["web1"]["facts"]["files"][0]
    assert set(kept) == set(a.FILE_KEYS) - {"size"} and set(kept["secrets"][0]) == set(a.SECRET_KEYS)


# --------------------------------------------------------------------------- port map and placement

def test_the_port_map_of_the_audited_host():
    rows = dict((r["port"], r) for r in a.port_map(audited(), PLAN))
    expected = {
        22: ("off-plan", None), 80: ("ok", "traefik-web"), 443: ("ok", "traefik-websecure"),
        1883: ("ok", "mosquitto"), 3000: ("ok", "backend"), 4000: ("off-plan", None),
        5173: ("ok", "frontend"), 5174: ("ok", "mcp-manager"), 5176: ("off-plan", None),
        5432: ("exposed", "postgres"), 8000: ("off-plan", None), 8080: ("exposed", None),
        8090: ("off-plan", None), 8428: ("exposed", "victoriametrics"), 9000: ("exposed", "minio"),
        9001: ("double-booked", "minio-console"),
    }
    for port, (status, planned) in expected.items():
        assert (rows[port]["status"], rows[port]["planned"]) == (status, planned), port
    assert rows[5432]["address"] == "0.0.0.0" and rows[8090]["address"] == "127.0.0.1"
    assert {"type": "listener", "name": "postgres", "pid": 77, "address": "0.0.0.0, ::"} in rows[5432]["users"]
    assert sorted(u["type"] for u in rows[9001]["users"]) == ["container", "file", "file", "file", "listener"]
    assert [r["port"] for r in a.port_map(audited(), PLAN)] == sorted(rows)
    for row in rows.values():
        assert set(row) == {"port", "address", "users", "planned", "status"} and row["status"] in a.STATUSES


def test_docker_vs_native_of_the_audited_host():
    placement = a.docker_vs_native(audited(), PLAN)
    in_docker = dict(((e["project"], e["name"]), e) for e in placement["in_docker"])
    assert ("taylordashv1", "postgres") in in_docker and ("", "wiki") in in_docker
    assert in_docker[("taylordashv1", "minio")]["ports"] == [9000, 9001]
    assert in_docker[("taylordashv1", "minio")]["ours"] is True and in_docker[("", "wiki")]["ours"] is False
    native = dict((e["name"], e) for e in placement["native"])
    assert set(native) == {"backend", "frontend", "mcp-manager", "projects-manager", "midnight-hud", "postgres"}
    assert native["backend"]["ports"] == [3000, 8000] and native["backend"]["instances"] == 3
    assert native["frontend"]["ports"] == [5173, 5176, 5178]
    assert native["postgres"]["type"] == "native-service" and native["postgres"]["ports"] == [5432]
    assert a.docker_vs_native(clean(), PLAN)["native"] == []


# --------------------------------------------------------------------------- reports

def _report():
    return a.report({"web1": audited(), "web2": clean()}, {"web1": PLAN, "web2": PLAN}, "2026-12-02T12:00:00Z")


def test_the_report_of_several_hosts():
    report = _report()
    assert a.report_errors(report) == []
    assert report["schema"] == a.SCHEMA and report["comparison"] is None
    web1 = report["hosts"]["web1"]
    counts = {"critical": 9, "warning": 11, "info": 10}
    assert web1["summary"] == counts
    assert report["hosts"]["web2"]["summary"] == {"critical": 0, "warning": 3, "info": 7}
    assert report["summary"] == {"hosts": 2, "critical": 9, "warning": 14, "info": 17}
    assert set(web1) == {"summary", "findings", "docker_vs_native", "port_map", "facts"}
    assert report["hosts"]["web2"]["facts"]["host"] == "web2"
    assert json.loads(json.dumps(report)) == report, "plain JSON"
    assert a.report([audited()], {"web1": PLAN}, "t")["hosts"]["web1"]["summary"] == counts
    with pytest.raises(ValueError, match="no plan for host"):
        a.report({"web1": audited()}, {}, "t")
    with pytest.raises(ValueError, match="previous report"):
        a.report({"web1": audited()}, {"web1": PLAN}, "t", previous={"schema": "x"})


def test_the_report_of_one_host():
    report = a.report({"web1": audited(), "web2": clean()}, {"web1": PLAN, "web2": PLAN}, "t2", previous=_report())
    one = a.host_report(report, "web2")
    assert a.report_errors(one) == []
    assert list(one["hosts"]) == ["web2"]
    assert one["summary"] == {"hosts": 1, "critical": 0, "warning": 3, "info": 7}
    assert one["comparison"] == {"previous_generated_at": "2026-12-02T12:00:00Z", "appeared": [], "disappeared": []}
    assert a.host_report(_report(), "web1")["comparison"] is None
    with pytest.raises(ValueError, match="web3"):
        a.host_report(report, "web3")


def test_a_report_restricted_keeps_only_that_hosts_changes():
    before = _report()
    after = a.report({"web1": clean(), "web2": audited()}, {"web1": PLAN, "web2": PLAN}, "t2", previous=before)
    fixed = set(AUDITED) - set(CLEAN)
    left = set(CLEAN) - set(AUDITED)
    web1 = a.host_report(after, "web1")["comparison"]
    assert set(e["id"] for e in web1["appeared"]) == left and set(e["id"] for e in web1["disappeared"]) == fixed
    web2 = a.host_report(after, "web2")["comparison"]
    assert set(e["id"] for e in web2["disappeared"]) == left and set(e["id"] for e in web2["appeared"]) == fixed
    assert set(e["host"] for e in web2["appeared"] + web2["disappeared"]) == {"web2"}


def _broken(change):
    report = _report()
    change(report)
    return report


@pytest.mark.parametrize("obj,message", [
    (None, "not a taylordash.audit/1 report but null"),
    ([], "not a taylordash.audit/1 report but a list"),
    ("report", "not a taylordash.audit/1 report but a string"),
    ({"schema": "taylordash.audit.facts/1"}, 'schema is "taylordash.audit.facts/1", not taylordash.audit/1'),
    ({}, "schema is null, not taylordash.audit/1"),
    (_broken(lambda r: r.pop("generated_at")), "generated_at must be a time as text, not null"),
    (_broken(lambda r: r.update(summary=[])), "summary must be a mapping, not a list"),
    (_broken(lambda r: r["summary"].update(critical="9")), 'summary.critical must be a count, not "9"'),
    (_broken(lambda r: r.update(hosts=[])), "hosts must be a mapping of host names to their findings, not a list"),
    (_broken(lambda r: r["hosts"].update(web3=None)), "hosts.web3 must be a mapping, not null"),
    (_broken(lambda r: r["hosts"]["web1"].pop("findings")), "hosts.web1.findings must be a list, not null"),
    (_broken(lambda r: r["hosts"]["web1"]["findings"][0].update(severity="fatal")),
     'hosts.web1.findings[0].severity must be one of info, warning, critical, not "fatal"'),
    (_broken(lambda r: r["hosts"]["web1"]["findings"][1].update(id="")),
     'hosts.web1.findings[1].id must be a non-empty string, not ""'),
    (_broken(lambda r: r["hosts"]["web1"]["findings"][1].update(id=r["hosts"]["web1"]["findings"][0]["id"])),
     "hosts.web1.findings[1].id known-default-secret:%s/.env:API_KEY is there twice" % ROOT),
    (_broken(lambda r: r["hosts"]["web1"]["findings"].append("x")), "hosts.web1.findings[30] must be a mapping"),
    (_broken(lambda r: r["hosts"]["web1"]["findings"][2].pop("title")),
     "hosts.web1.findings[2].title must be a string, not null"),
    (_broken(lambda r: r.update(comparison=[])), "comparison must be a mapping or null, not a list"),
    (_broken(lambda r: r.update(comparison={"appeared": [{"id": "x"}], "disappeared": []})),
     "comparison.appeared must be a list of {host, id, severity, title}"),
])
def test_report_errors(obj, message):
    errors = a.report_errors(obj)
    assert errors and any(e.startswith(message) for e in errors), errors
    assert all(e[0].islower() for e in errors), errors


def test_report_errors_are_capped():
    report = _report()
    for finding in report["hosts"]["web1"]["findings"]:
        finding["severity"] = "fatal"
    errors = a.report_errors(report)
    assert len(errors) == 26 and errors[-1] == "and 5 more problems"


# --------------------------------------------------------------------------- the gate

@pytest.mark.parametrize("level,count", [("none", 0), ("critical", 9), ("warning", 23), ("info", 40)])
def test_gate_levels(level, count):
    failing = a.gate(_report(), level)
    assert len(failing) == count
    if failing:
        assert a.SEVERITIES.index(failing[-1]["severity"]) >= a.SEVERITIES.index(level)
        assert failing[0]["severity"] == "critical" if level != "info" or count else True
        assert all(f["host"] in ("web1", "web2") for f in failing)
        ranks = [-a.SEVERITIES.index(f["severity"]) for f in failing]
        assert ranks == sorted(ranks)


@pytest.mark.parametrize("level", ["fatal", "", None, "Critical", 2, ["critical"]])
def test_gate_refuses_other_levels(level):
    with pytest.raises(ValueError, match="none, info, warning, critical"):
        a.gate(_report(), level)


@pytest.mark.parametrize("level,errors", [
    ("none", []), ("info", []), ("warning", []), ("critical", []),
    ("fatal", ['audit_fail_on must be one of none, info, warning, critical, not "fatal"']),
    (None, ["audit_fail_on must be one of none, info, warning, critical, not null"]),
    (3, ["audit_fail_on must be one of none, info, warning, critical, not 3"]),
])
def test_severity_errors_name_the_variable(level, errors):
    assert a.severity_errors(level, "audit_fail_on") == errors


def test_the_clean_host_passes_a_critical_gate():
    report = a.report({"web1": clean()}, {"web1": PLAN}, "t")
    assert a.gate(report, "critical") == []
    # What deploy-prod.yml and cleanup.yml leave to the operator: the old tree's readable and unreadable files.
    assert ids(a.gate(report, "warning")) == dict((k, v) for k, v in LEFT_BEHIND.items() if v == "warning")
    assert len(a.gate(report, "info")) == len(CLEAN)


@pytest.mark.parametrize("address,exposed", [("0.0.0.0", True), ("10.0.0.5", True), ("127.0.0.1", False)])
def test_a_public_entry_on_loopback_only_allows_loopback_only(address, exposed):
    """Plain MQTT is public on 127.0.0.1 only (MQTT over TLS on every address): 1883 on another address is an
    exposed data port."""
    ports = dict(PLAN["port_plan"], mosquitto={"port": 1883, "address": "127.0.0.1", "public": True},
                 **{"mosquitto-tls": {"port": 8883, "address": "", "public": True}})
    plan = dict(PLAN, port_plan=ports, published=[])
    facts = dict(_port_case(), containers=[container("taylordash-mosquitto-1", "mosquitto", "eclipse-mosquitto:2",
                                                     [(address, 1883), ("0.0.0.0", 8883)], project="taylordash")])
    found = ids(a.findings(facts, plan))
    assert ("exposed-data-port:mosquitto:1883" in found) is exposed, found
    assert "exposed-data-port:mosquitto:8883" not in found and "unplanned-public-port:8883" not in found, found
