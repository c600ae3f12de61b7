"""Where Traefik's routers get their TLS and headers: from the websecure entrypoint
only, so the Docker-label routes (app on the proxy host) and the file-provider routes
(dashboard, app on other hosts) cannot drift apart (with `acme`, a route that set its
own `tls: {}` would have been served Traefik's default certificate)."""

import json
import os

import jinja2
import pytest
import yaml

from roles import ROOT

INFRA = os.path.join(ROOT, "roles", "infrastructure", "templates")
PROXY = os.path.join(ROOT, "roles", "proxy", "templates")
BASE = {"ansible_managed": "managed", "taylordash_project_name": "taylordash", "taylordash_label_prefix": "org.t",
        "taylordash_domain": "app.example.org", "taylordash_acme_email": "ops@example.org",
        "taylordash_acme_ca_server": "https://acme.example.org/dir", "_infrastructure_enabled": ["socket-proxy"],
        "proxy_dashboard_host": "traefik.app.example.org", "proxy_dashboard_user": "admin",
        "_proxy_dashboard_hash": "$2b$10$hash", "proxy_app_health_interval": "5s",
        "_taylordash_cross": {"endpoints": {"backend": ["10.0.0.2:8000"], "frontend": ["10.0.0.2:8080"]}}}


def _render(templates, name, **values):
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(templates), trim_blocks=True,
                             keep_trailing_newline=True, undefined=jinja2.StrictUndefined)
    env.filters["to_json"] = json.dumps
    return yaml.safe_load(env.get_template(name).render(**dict(BASE, **values)))


@pytest.mark.parametrize("tls,expected", [("local", {}), ("acme", {"certResolver": "acme"})])
def test_the_websecure_entrypoint_carries_the_certificate_source_and_the_headers(tls, expected):
    static = _render(INFRA, "traefik/traefik.yml.j2", taylordash_tls=tls)
    websecure = static["entryPoints"]["websecure"]["http"]
    assert websecure["tls"] == expected
    assert websecure["middlewares"] == ["secure-headers@file"]
    assert ("certificatesResolvers" in static) == (tls == "acme")


@pytest.mark.parametrize("tls", ["local", "acme"])
@pytest.mark.parametrize("template", ["dashboard.yml.j2", "apps.yml.j2"])
def test_file_provider_routers_set_no_tls_or_headers_of_their_own(tls, template):
    routers = _render(PROXY, template, taylordash_tls=tls)["http"]["routers"]
    assert routers
    for name, router in routers.items():
        assert router["entryPoints"] == ["websecure"], name
        assert "tls" not in router, name
        assert "secure-headers" not in router.get("middlewares", []), name


def test_docker_label_routers_set_no_tls_of_their_own():
    with open(os.path.join(ROOT, "roles", "application", "templates", "docker-compose.app.yml.j2"),
              encoding="utf-8") as handle:
        text = handle.read()
    assert ".entrypoints: websecure" in text
    assert ".tls" not in text and "certresolver" not in text.lower()


@pytest.mark.parametrize("seconds,header", [(0, None), (300, 300)])
def test_secure_headers_send_hsts_only_when_set(seconds, header):
    dynamic = _render(PROXY, "tls.yml.j2", taylordash_tls="local", proxy_tls_min_version="VersionTLS12",
                      proxy_hsts_seconds=seconds)
    headers = dynamic["http"]["middlewares"]["secure-headers"]["headers"]
    assert headers.get("stsSeconds") == header
