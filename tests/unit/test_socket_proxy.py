"""The read-only Docker API socket proxy (HAProxy) against the real engine.

roles/infrastructure/templates/socket-proxy/haproxy.cfg.j2 is rendered with
the role's defaults the way the role's template task does (plain Jinja2 with
Ansible's defaults: trim_blocks, keep_trailing_newline, undefined variables
fail), checked with `haproxy -c` in the project's HAProxy image, then run in
that image with the engine's socket mounted, on a network of its own, its
:2375 published on a random loopback port. Real HTTP requests then show what
Traefik's Docker provider may do (GET and HEAD on the allowed paths, the
/events stream) and that everything else gets 403 and never reaches the
engine.

The engine tests need the docker CLI, the engine and the image
(SOCKET_PROXY_IMAGE overrides it): tests/unit/engine.py skips them by hand and
fails them under `make test`; the render and allow-list checks always run.
"""

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

from ansible_collections.taylordash.ops.tests.unit.engine import require_image
from ansible_collections.taylordash.ops.tests.unit.roles import ROOT, load, render as render_template

TEMPLATES = os.path.join(ROOT, "roles", "infrastructure", "templates")
TEMPLATE = "socket-proxy/haproxy.cfg.j2"
CONFIG = "/usr/local/etc/haproxy/haproxy.cfg"
SOCKET = "/var/run/docker.sock"
IMAGE = os.environ.get("SOCKET_PROXY_IMAGE", "taylordash/haproxy:3.0")
VARIABLES = ["infrastructure_socket_proxy_allow", "infrastructure_socket_proxy_stream_timeout"]
# The healthcheck recommended for the Compose service: HTTP through HAProxy
# to the engine and back. bash, head and grep are in this image and in the
# official one (registry source), which has no wget; this image also has wget.
HEALTHCHECK = ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/2375 && printf 'GET /_ping HTTP/1.0\\r\\n\\r\\n' >&3"
               " && head -n 1 <&3 | grep -q '^HTTP/1[.][01] 200 '"]
WGET_CHECK = ["wget", "-q", "-O", "/dev/null", "http://127.0.0.1:2375/_ping"]
# Every allowed path may follow an API version prefix such as /v1.41.
PREFIX = "^(/v[0-9]+[.][0-9]+)?"

# The Docker API paths the proxy passes, as the task states them.
ALLOWED = ["/_ping", "/version", "/info", "/events", "/containers/json", "/containers/abc123/json",
           "/containers/my-app.web_1/json", "/networks", "/networks/taylordash_default", "/networks/0a1b2c"]
DENIED = ["/", "/images/json", "/containers/abc123/logs", "/containers/abc123/top", "/containers/abc123/export",
          "/containers/abc123/archive", "/containers/abc123/attach/ws", "/containers/create", "/exec/abc/json",
          "/volumes", "/secrets", "/configs", "/services", "/nodes", "/swarm", "/plugins", "/system/df",
          "/distribution/x/json", "/session", "/build", "/auth", "/_pingx", "/version/", "//_ping", "/info/x",
          "/containers/json/../../images/json", "/containers/%2e%2e%2fimages/json", "/containers/../images/json",
          "/containers/.hidden/json", "/networks/a/b", "/v1/_ping", "/v1.41x/_ping", "/V1.41/_ping",
          "/v1.41/v1.41/_ping", "/images/abc/json"]


def role_defaults():
    infra = load("roles/infrastructure/defaults/main.yml")
    return {name: infra[name] for name in VARIABLES}


def render(**overrides):
    return render_template(TEMPLATES, TEMPLATE, dict(role_defaults(), ansible_managed="Ansible managed", **overrides))


def path_patterns(config):
    """The allowed_path regular expressions of a rendered config."""
    return re.findall(r"^\s*acl allowed_path path_reg '([^']*)'$", config, flags=re.MULTILINE)


def allowed_by(config, path):
    return any(re.search(pattern, path) for pattern in path_patterns(config))


# -- render and allow-list checks (no Docker) --------------------------------


def test_defaults_allow_exactly_the_read_only_paths_traefik_needs():
    assert role_defaults()["infrastructure_socket_proxy_allow"] == [
        "/_ping", "/version", "/info", "/events", "/containers/json",
        "/containers/[a-zA-Z0-9][a-zA-Z0-9_.-]*/json", "/networks", "/networks/[a-zA-Z0-9][a-zA-Z0-9_.-]*"]


def test_argument_spec_matches_the_defaults():
    spec = load("roles/infrastructure/meta/argument_specs.yml")["argument_specs"]["main"]["options"]
    for name, value in role_defaults().items():
        assert spec[name]["default"] == value, name


def test_rendered_config_has_one_anchored_rule_per_allowed_path_and_only_get_and_head():
    config = render()
    patterns = path_patterns(config)
    assert patterns == [PREFIX + path + "$" for path in role_defaults()["infrastructure_socket_proxy_allow"]]
    assert re.search(r"^\s*acl read_only method GET HEAD$", config, flags=re.MULTILINE)
    assert re.search(r"^\s*http-request deny deny_status 403 unless read_only allowed_path$", config,
                     flags=re.MULTILINE)
    assert re.search(r"^\s*server \S+ unix@/var/run/docker.sock$", config, flags=re.MULTILINE)
    assert re.search(r"^\s*bind :2375$", config, flags=re.MULTILINE)
    for timeout in ("client", "server", "tunnel"):
        assert re.search(r"^\s*timeout %s 1h$" % timeout, config, flags=re.MULTILINE), timeout
    assert re.search(r"^\s*log stdout ", config, flags=re.MULTILINE)
    assert "/var/log" not in config


@pytest.mark.parametrize("path", ALLOWED)
@pytest.mark.parametrize("prefix", ["", "/v1.41", "/v1.24", "/v1.51"])
def test_allowed_paths_match(prefix, path):
    assert allowed_by(render(), prefix + path)


@pytest.mark.parametrize("path", DENIED)
def test_other_paths_do_not_match(path):
    config = render()
    assert not allowed_by(config, path)
    assert not allowed_by(config, "/v1.41" + path)


def test_operators_can_extend_the_allow_list():
    config = render(infrastructure_socket_proxy_allow=role_defaults()["infrastructure_socket_proxy_allow"]
                    + ["/services"])
    assert allowed_by(config, "/v1.41/services")
    assert not allowed_by(render(), "/v1.41/services")


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
    assert state["Config"]["User"] == "haproxy"
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
