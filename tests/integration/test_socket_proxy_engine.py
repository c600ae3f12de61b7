"""The read-only Docker API socket proxy (HAProxy) against the real engine: the config rendered as
tests/unit/test_socket_proxy.py renders it, checked with `haproxy -c` in the project's HAProxy image, then
run in that image with the engine's socket mounted, on a network of its own, its :2375 published on a
random loopback port. Real HTTP requests show what Traefik's Docker provider may do (GET and HEAD on the
allowed paths, the /events stream) and that everything else gets 403 and never reaches the engine.
SOCKET_PROXY_IMAGE overrides the image; engine.py: skipped by hand without it, failed under `make test`."""

import http.client
import json
import os
import re
import socket
import subprocess
import time
import urllib.parse
import uuid

import pytest

from ansible_collections.taylordash.ops.tests.integration.engine import require_image
from ansible_collections.taylordash.ops.tests.unit.roles import load
from ansible_collections.taylordash.ops.tests.unit.test_socket_proxy import (CONFIG, HEALTHCHECK, IMAGE, SOCKET, WGET_CHECK,
                                                                             render)


# -- the proxy on the real engine --------------------------------------------


def docker(*args, check=True, timeout=120):
    result = subprocess.run(["docker", *args], capture_output=True, text=True, check=False, timeout=timeout)
    if check:
        assert result.returncode == 0, "docker %s: exit %d\n%s%s" % (
            " ".join(args), result.returncode, result.stdout, result.stderr)
    return result


def write_config(directory, **overrides):
    directory.mkdir(parents=True, exist_ok=True)
    directory.chmod(0o755)
    path = directory / "haproxy.cfg"
    path.write_text(render(**overrides), encoding="utf-8")
    path.chmod(0o644)
    return path


class Proxy:
    """A socket proxy container on a network of its own, published on a random loopback port."""

    def __init__(self, config):
        token = uuid.uuid4().hex[:10]
        self.name = "sockproxy-test-" + token
        self.network = "sockproxy-test-" + token
        docker("network", "create", self.network)
        try:
            self.id = docker(
                "run", "-d", "--rm", "--name", self.name, "--network", self.network,
                "--group-add", str(os.stat(SOCKET).st_gid), "--read-only", "--cap-drop", "ALL",
                "--security-opt", "no-new-privileges:true", "-p", "127.0.0.1::2375",
                "-v", "%s:%s:ro" % (SOCKET, SOCKET), "-v", "%s:%s:ro" % (config, CONFIG), IMAGE).stdout.strip()
            self.port = int(docker("port", self.name, "2375/tcp").stdout.split()[0].rsplit(":", 1)[1])
            self.wait_ready()
        except BaseException:
            self.remove()
            raise

    def wait_ready(self):
        deadline = time.monotonic() + 30
        while True:
            try:
                if self.request("GET", "/_ping")[0] == 200:
                    return
            except (OSError, http.client.HTTPException):
                pass
            if time.monotonic() > deadline:
                pytest.fail("socket proxy not ready in 30 s:\n" + self.logs())
            time.sleep(0.2)

    def connection(self, timeout=20):
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)

    def request(self, method, path, body=None, headers=None):
        conn = self.connection()
        try:
            conn.request(method, path, body=body, headers=headers or {})
            resp = conn.getresponse()
            return resp.status, resp.read()
        finally:
            conn.close()

    def logs(self):
        result = docker("logs", self.name, check=False)
        return result.stdout + result.stderr

    def remove(self):
        docker("rm", "-f", self.name, check=False)
        docker("network", "rm", self.network, check=False)


@pytest.fixture(scope="module")
def image():
    return require_image(IMAGE, "socket proxy on the engine")


@pytest.fixture(scope="module")
def proxy(image, tmp_path_factory):
    running = Proxy(write_config(tmp_path_factory.mktemp("socket-proxy")))
    yield running
    running.remove()


@pytest.fixture(scope="module")
def api_prefix(proxy):
    """/v<the engine's API version>: a prefix the engine answers, whatever its minimum version."""
    return "/v" + json.loads(proxy.request("GET", "/version")[1])["ApiVersion"]


def exists(name):
    return docker("container", "inspect", name, check=False).returncode == 0


def running(name):
    return docker("inspect", "--format", "{{.State.Running}}", name).stdout.strip() == "true"


def test_haproxy_accepts_the_rendered_config(image, tmp_path):
    config = write_config(tmp_path / "cfg")
    result = docker("run", "--rm", "--network", "none", "-v", "%s:%s:ro" % (config, CONFIG),
                    image, "haproxy", "-c", "-V", "-f", CONFIG, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Configuration file is valid" in result.stdout


def test_haproxy_refuses_a_broken_allow_list(image, tmp_path):
    config = write_config(tmp_path / "cfg", infrastructure_socket_proxy_allow=["/containers/(json"])
    result = docker("run", "--rm", "--network", "none", "-v", "%s:%s:ro" % (config, CONFIG),
                    image, "haproxy", "-c", "-f", CONFIG, check=False)
    assert result.returncode != 0, result.stdout + result.stderr


def test_ping(proxy):
    assert proxy.request("GET", "/_ping") == (200, b"OK")


def test_head_ping(proxy):
    status, body = proxy.request("HEAD", "/_ping")
    assert (status, body) == (200, b"")


def test_version(proxy):
    status, body = proxy.request("GET", "/version")
    assert status == 200
    assert re.match(r"^1\.\d+$", json.loads(body)["ApiVersion"])


def test_info(proxy):
    status, body = proxy.request("GET", "/info")
    assert status == 200
    assert "Containers" in json.loads(body)


def test_container_list_with_version_prefix(proxy, api_prefix):
    status, body = proxy.request("GET", api_prefix + "/containers/json")
    assert status == 200
    containers = json.loads(body)
    assert isinstance(containers, list)
    assert proxy.id in [c["Id"] for c in containers]


def test_inspect_its_own_container(proxy, api_prefix):
    for path in ("/containers/%s/json" % proxy.id, "%s/containers/%s/json" % (api_prefix, proxy.name)):
        status, body = proxy.request("GET", path)
        assert status == 200, path
        assert json.loads(body)["Id"] == proxy.id


def test_networks(proxy):
    status, body = proxy.request("GET", "/networks")
    assert status == 200
    assert proxy.network in [n["Name"] for n in json.loads(body)]
    status, body = proxy.request("GET", "/networks/" + proxy.network)
    assert status == 200
    assert proxy.id in json.loads(body)["Containers"]


def test_create_is_refused_and_nothing_is_created(proxy, api_prefix):
    name = "sockproxy-test-create-" + uuid.uuid4().hex[:8]
    body = json.dumps({"Image": IMAGE, "Cmd": ["true"]}).encode()
    for prefix in ("", api_prefix):
        status, _ = proxy.request("POST", "%s/containers/create?name=%s" % (prefix, name), body=body,
                                  headers={"Content-Type": "application/json"})
        assert status == 403
    try:
        assert not exists(name)
    finally:
        docker("rm", "-f", name, check=False)


def test_delete_is_refused_and_the_container_stays(proxy):
    assert proxy.request("DELETE", "/containers/%s?force=1" % proxy.id)[0] == 403
    assert running(proxy.name)


def test_stop_is_refused_and_the_container_keeps_running(proxy):
    assert proxy.request("POST", "/v1.41/containers/%s/stop" % proxy.id)[0] == 403
    assert proxy.request("POST", "/containers/%s/kill" % proxy.id)[0] == 403
    assert running(proxy.name)


@pytest.mark.parametrize("path", ["/images/json", "/containers/{id}/logs?stdout=1", "/secrets", "/volumes",
                                  "/containers/{id}/top", "/exec/{id}/json", "/containers/../images/json",
                                  "/containers/%2e%2e%2fimages/json", "/v1.41/images/json", "/system/df"])
def test_reads_outside_the_list_are_refused(proxy, path):
    status, body = proxy.request("GET", path.format(id=proxy.id))
    assert status == 403, body


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "get"])
def test_other_methods_on_allowed_paths_are_refused(proxy, method):
    assert proxy.request(method, "/_ping")[0] == 403


def test_connect_is_refused(proxy):
    # HAProxy answers 400 itself before the rules run (authority-form, no path).
    assert proxy.request("CONNECT", "127.0.0.1:2375")[0] in (400, 403)


def test_requests_are_logged_to_stdout(proxy):
    proxy.request("POST", "/containers/create?name=logged")
    deadline = time.monotonic() + 10
    while True:
        lines = [line for line in proxy.logs().splitlines() if '"POST /containers/create?name=logged ' in line]
        if lines or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert lines, proxy.logs()
    assert " 403 " in lines[-1]


def test_events_in_a_closed_window_end(proxy):
    now = int(time.time())
    conn = proxy.connection(timeout=30)
    try:
        conn.request("GET", "/events?since=%d&until=%d" % (now - 60, now))
        resp = conn.getresponse()
        assert resp.status == 200
        body = resp.read()  # returns only once the engine ends the stream
    finally:
        conn.close()
    for line in body.decode().splitlines():
        assert "Type" in json.loads(line)


def test_events_stream_live_through_the_proxy(proxy, api_prefix):
    """An open /events stream delivers an event that happens after it started (Traefik's watch)."""
    network = "sockproxy-test-event-" + uuid.uuid4().hex[:8]
    filters = json.dumps({"type": ["network"], "network": [network]})
    conn = proxy.connection(timeout=30)
    try:
        conn.request("GET", "%s/events?filters=%s" % (api_prefix, urllib.parse.quote(filters)))
        resp = conn.getresponse()
        assert resp.status == 200
        docker("network", "create", network)
        event = json.loads(resp.readline())
        assert event["Type"] == "network" and event["Action"] == "create"
        assert event["Actor"]["Attributes"]["name"] == network
    finally:
        conn.close()
        docker("network", "rm", network, check=False)


def test_stream_timeout_bounds_an_idle_event_stream(image, tmp_path):
    """The stream timeout, not a short default, decides when an idle /events stream is cut."""
    short = Proxy(write_config(tmp_path / "cfg", infrastructure_socket_proxy_stream_timeout="2s"))
    try:
        conn = short.connection(timeout=20)
        conn.request("GET", "/events?filters=%s" % urllib.parse.quote(
            json.dumps({"type": ["network"], "network": ["sockproxy-test-none-" + uuid.uuid4().hex]})))
        resp = conn.getresponse()
        assert resp.status == 200
        started = time.monotonic()
        try:
            resp.read()
        except http.client.IncompleteRead:
            pass
        elapsed = time.monotonic() - started
        conn.close()
        assert 1 <= elapsed < 15, elapsed
    finally:
        short.remove()


def test_default_timeout_keeps_an_idle_event_stream_open(proxy):
    conn = proxy.connection(timeout=4)
    try:
        conn.request("GET", "/events?filters=%s" % urllib.parse.quote(
            json.dumps({"type": ["network"], "network": ["sockproxy-test-none-" + uuid.uuid4().hex]})))
        resp = conn.getresponse()
        assert resp.status == 200
        with pytest.raises(socket.timeout):
            resp.readline()  # nothing comes, and the proxy does not cut it either
    finally:
        conn.close()


@pytest.mark.parametrize("check", [HEALTHCHECK, WGET_CHECK], ids=["bash", "wget"])
def test_healthcheck_passes_in_the_container(proxy, check):
    result = docker("exec", proxy.name, *check, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("check", [HEALTHCHECK, WGET_CHECK], ids=["bash", "wget"])
def test_healthcheck_goes_through_the_filter(proxy, check):
    denied = [part.replace("/_ping", "/images/json") for part in check]
    assert denied != check
    assert docker("exec", proxy.name, *denied, check=False).returncode != 0


def test_runs_unprivileged_on_a_read_only_root(proxy):
    state = json.loads(docker("inspect", proxy.name).stdout)[0]
    # The image's user is the catalogue's (haproxy's uid and gid in the official image too).
    assert state["Config"]["User"] == "%(user)s:%(user)s" % load("roles/taylordash/defaults/main.yml")[
        "taylordash_services"]["socket-proxy"]
    assert state["HostConfig"]["ReadonlyRootfs"] is True
    assert docker("exec", proxy.name, "id", "-u").stdout.strip() != "0"


TRAEFIK_IMAGE = os.environ.get("TRAEFIK_IMAGE", "taylordash/traefik:3.7")


def _wait_for(check, seconds, what, diagnostics):
    deadline = time.monotonic() + seconds
    while True:
        try:
            if check():
                return
        except (OSError, http.client.HTTPException, ValueError):
            pass
        if time.monotonic() > deadline:
            pytest.fail("%s not seen in %d s:\n%s" % (what, seconds, diagnostics()))
        time.sleep(0.5)


def test_traefik_docker_provider_works_through_the_proxy_alone(proxy):
    """Traefik discovers a labelled container via the proxy, and needs no call the proxy refuses."""
    require_image(TRAEFIK_IMAGE, "Traefik through the socket proxy")
    token = uuid.uuid4().hex[:8]
    traefik, app = "sockproxy-test-traefik-" + token, "sockproxy-test-app-" + token
    try:
        docker("run", "-d", "--rm", "--name", traefik, "--network", proxy.network, "-p", "127.0.0.1::8080",
               TRAEFIK_IMAGE, "--api.insecure=true", "--entrypoints.traefik.address=:8080",
               "--providers.docker.endpoint=tcp://%s:2375" % proxy.name,
               "--providers.docker.exposedByDefault=false", "--providers.docker.network=" + proxy.network,
               "--log.level=DEBUG")
        api_port = int(docker("port", traefik, "8080/tcp").stdout.split()[0].rsplit(":", 1)[1])

        def routers():
            conn = http.client.HTTPConnection("127.0.0.1", api_port, timeout=5)
            try:
                conn.request("GET", "/api/http/routers")
                return [router["name"] for router in json.loads(conn.getresponse().read())]
            finally:
                conn.close()

        def diagnostics():
            logs = docker("logs", "--tail", "40", traefik, check=False)
            return "--- traefik\n%s%s\n--- proxy\n%s" % (logs.stdout, logs.stderr, proxy.logs()[-4000:])

        _wait_for(lambda: routers() is not None, 30, "Traefik's API", diagnostics)
        # Started after Traefik, which does not poll: found through its /events
        # stream (still open, so not logged yet: HAProxy logs a request at its end).
        docker("run", "-d", "--rm", "--name", app, "--network", proxy.network,
               "--label", "traefik.enable=true",
               "--label", "traefik.http.routers.app-%s.rule=Host(`app.example.test`)" % token,
               "--label", "traefik.http.services.app-%s.loadbalancer.server.port=80" % token,
               "taylordash/debian:13", "sleep", "300")
        _wait_for(lambda: "app-%s@docker" % token in routers(), 30, "the app's router", diagnostics)
        docker("rm", "-f", app)
        _wait_for(lambda: "app-%s@docker" % token not in routers(), 30, "the router removed", diagnostics)
        traefik_ip = json.loads(docker("inspect", traefik).stdout)[0]["NetworkSettings"]["Networks"][
            proxy.network]["IPAddress"]
        from_traefik = [line for line in proxy.logs().splitlines() if line.startswith(traefik_ip + ":")]
        assert from_traefik, proxy.logs()
        assert not [line for line in from_traefik if " 403 " in line], "\n".join(from_traefik)
    finally:
        docker("rm", "-f", app, traefik, check=False)
