"""What a person would check by hand after converging the engine and the images."""

import json
import socket
import time
import uuid

import pytest

BASE = "taylordash/debian:13"
BUILT = {
    "python": "taylordash/python:3.13",
    "node": "taylordash/node:20",
    "postgres": "taylordash/postgres:17",
    "mosquitto": "taylordash/mosquitto:2.0",
    "victoriametrics": "taylordash/victoria-metrics:1.112",
    "prometheus": "taylordash/prometheus:2.53",
    "nginx": "taylordash/nginx:1.26",
    "haproxy": "taylordash/haproxy:3.0",
    "traefik": "taylordash/traefik:3.7",
    "alertmanager": "taylordash/alertmanager:0.28",
    "node-exporter": "taylordash/node-exporter:1.9",
    "postgres-exporter": "taylordash/postgres-exporter:0.17",
    "postgres-backup": "taylordash/postgres-backup:17",
}
HASH_LABEL = "org.taylordash.inputs-hash"


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run_ok(host, cmd, *args):
    result = host.run(cmd, *args)
    assert result.rc == 0, result.stderr or result.stdout
    return result.stdout


@pytest.fixture()
def container(host):
    """Names of containers started by a test; removed afterwards."""
    names = []

    def start(*args):
        name = "taylordash-test-" + uuid.uuid4().hex[:8]
        names.append(name)
        return name, host.run("docker run -d --name %s " + " ".join(["%s"] * len(args)), name, *args)

    yield start
    for name in names:
        host.run("docker rm -f -v %s", name)


def test_dockerd_runs_once_under_its_pidfile(host):
    pid = host.file("/var/run/docker-ssd.pid").content_string.strip()
    assert host.file("/proc/%s/exe" % pid).linked_to in ("/usr/sbin/dockerd", "/usr/bin/dockerd")
    assert len(host.process.filter(comm="dockerd")) == 1


def test_engine_answers_with_the_templated_daemon_json(host):
    info = json.loads(run_ok(host, "docker info --format '{{json .}}'"))
    assert info["Driver"] == "overlay2"
    assert info["LiveRestoreEnabled"] is True
    daemon = json.loads(host.file("/etc/docker/daemon.json").content_string)
    assert daemon["log-opts"] == {"max-size": "10m", "max-file": "3"}
    assert host.socket("unix:///var/run/docker.sock").is_listening


def test_compose_is_v2_and_buildx_answers(host):
    assert run_ok(host, "docker compose version --short").strip().lstrip("v").startswith("2.")
    assert "buildx" in run_ok(host, "docker buildx version")


def test_helper_suite_gives_nothing_but_the_plugins(host):
    upgradable = run_ok(host, "apt-get -s -o Debug::NoLocking=1 upgrade")
    assert "trixie" not in upgradable
    policy = run_ok(host, "apt-cache policy docker.io")
    assert "Installed: 20.10" in policy


@pytest.mark.parametrize("name", sorted(BUILT))
def test_every_offline_image_is_built_and_labelled(host, name):
    labels = json.loads(run_ok(host, "docker image inspect --format '{{json .Config.Labels}}' %s", BUILT[name]))
    assert len(labels[HASH_LABEL]) == 64
    assert labels["org.taylordash.managed"] == "true"


def test_base_image_is_debian_13_with_the_host_ca(host):
    release = run_ok(host, "docker run --rm %s cat /etc/os-release", BASE)
    assert 'VERSION_ID="13"' in release
    env = run_ok(host, "docker run --rm %s env", BASE)
    assert "PIP_CERT=/etc/ssl/host-ca.crt" in env
    host_ca = host.file("/etc/ssl/certs/ca-certificates.crt").content_string
    image_ca = run_ok(host, "docker run --rm %s cat /etc/ssl/host-ca.crt", BASE)
    assert image_ca == host_ca


def test_container_from_the_base_image_answers_on_loopback(host, container):
    port = free_port()
    token = uuid.uuid4().hex
    server = (
        "use IO::Socket::INET; my $s = IO::Socket::INET->new(LocalPort => 8080, Listen => 5, ReuseAddr => 1) or die;"
        "while (my $c = $s->accept) { print $c \"%s\\n\"; close $c }" % token
    )
    _, result = container("-p", "127.0.0.1:%d:8080" % port, BASE, "perl", "-e", server)
    assert result.rc == 0, result.stderr
    deadline = time.monotonic() + 30
    received = b""
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
                received = sock.recv(100)
            if received:
                break
        except OSError:
            pass
        time.sleep(0.5)
    assert received.decode().strip() == token


def test_python_image_serves_http_on_loopback(host, container):
    port = free_port()
    _, result = container("-p", "127.0.0.1:%d:8000" % port, BUILT["python"], "python3", "-m", "http.server", "8000")
    assert result.rc == 0, result.stderr
    body = ""
    for _ in range(60):
        probe = host.run("python3 -c %s", "import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:%d/').status)" % port)
        if probe.rc == 0:
            body = probe.stdout
            break
        time.sleep(0.5)
    assert body.strip() == "200"


def test_node_image_has_node_20_19_or_newer(host):
    version = run_ok(host, "docker run --rm %s node --version", BUILT["node"]).strip().lstrip("v")
    major, minor = (int(part) for part in version.split(".")[:2])
    assert (major, minor) >= (20, 19)


def test_traefik_image_runs_the_real_binary(host):
    assert "3.7" in run_ok(host, "docker run --rm %s version", BUILT["traefik"])


def test_postgres_image_honours_the_official_contract(host, container):
    name, result = container(
        "-e", "POSTGRES_USER=td", "-e", "POSTGRES_PASSWORD=secret-pw", "-e", "POSTGRES_DB=tddb", BUILT["postgres"]
    )
    assert result.rc == 0, result.stderr
    for _ in range(120):
        if host.run("docker exec %s pg_isready -U td -d tddb -h 127.0.0.1", name).rc == 0:
            break
        time.sleep(0.5)
    out = run_ok(
        host, "docker exec -e PGPASSWORD=secret-pw %s psql -h 127.0.0.1 -U td -d tddb -tAc %s", name, "select current_database(), version()"
    )
    assert out.startswith("tddb|PostgreSQL 17")
    refused = host.run("docker exec -e PGPASSWORD=wrong %s psql -h 127.0.0.1 -U td -d tddb -c 'select 1'", name)
    assert refused.rc != 0 and "password authentication failed" in refused.stderr


def test_postgres_image_refuses_a_data_directory_of_another_major(host):
    volume = "taylordash-test-pg16-" + uuid.uuid4().hex[:8]
    try:
        run_ok(host, "docker volume create %s", volume)
        run_ok(host, "docker run --rm -v %s:/data %s sh -c 'echo 16 > /data/PG_VERSION'", volume, BASE)
        result = host.run(
            "docker run --rm -e POSTGRES_PASSWORD=x -v %s:/var/lib/postgresql/data %s", volume, BUILT["postgres"]
        )
        assert result.rc != 0
        assert "initialised by PostgreSQL 16, but this image runs PostgreSQL 17" in result.stderr
    finally:
        host.run("docker volume rm -f %s", volume)


def test_core_services_and_app_run_healthy_from_the_rendered_project(host):
    lines = run_ok(host, "docker compose --project-directory /opt/taylordash -f /opt/taylordash/docker-compose.yml"
                         " -f /opt/taylordash/docker-compose.app.yml ps --all --format json").splitlines()
    services = {item["Service"]: (item["State"], item.get("Health")) for item in map(json.loads, filter(None, lines))}
    assert set(services) == {"traefik", "socket-proxy", "postgres", "victoriametrics", "mosquitto", "prometheus",
                             "alertmanager", "node-exporter", "postgres-exporter", "backup", "backend", "frontend",
                             "heal-proxy", "autoheal"}
    assert set(services.values()) == {("running", "healthy")}


def test_env_file_is_private(host):
    env = host.file("/opt/taylordash/.env")
    assert env.mode == 0o600 and env.user == "root"
