"""The read-only Docker API socket proxy (HAProxy): its config rendered from
roles/infrastructure/templates/socket-proxy/haproxy.cfg.j2 with the role's defaults the
way the role's template task does (plain Jinja2 with Ansible's defaults: trim_blocks,
keep_trailing_newline, undefined variables fail), and its allow list. The proxy itself on
the real engine: tests/integration/test_socket_proxy_engine.py."""

import os
import re

import pytest

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
