"""Where Traefik's routers get their TLS and headers: from the websecure entrypoint
only, so the Docker-label routes (app on the proxy host) and the file-provider routes
(dashboard, app on other hosts) cannot drift apart (with `acme`, a route that set its
own `tls: {}` would have been served Traefik's default certificate)."""

import json
import os

import jinja2
import pytest
import yaml

from ansible_collections.taylordash.ops.plugins.filter import catalogue as catalogue_filters
from ansible_collections.taylordash.ops.plugins.module_utils import _catalogue
from roles import ROOT

CATALOGUE = {
    "traefik": {"group": "proxy", "ports": {"traefik-web": {"container": 80, "port": 80, "public": True},
                                            "traefik-websecure": {"container": 443, "port": 443, "public": True},
                                            "traefik-metrics": {"container": 8082, "port": 8082}}},
    "backend": {"group": "app", "ports": {"backend": {"container": 8000, "port": 8000, "callers": ["traefik"]}},
                "routes": [{"name": "api", "host": "app.example.org", "path": "/api", "port": "backend",
                            "health": "/api/health"}]},
    "frontend": {"group": "app", "ports": {"frontend": {"container": 8080, "port": 8080, "callers": ["traefik"]}},
                 "routes": [{"name": "web", "host": "app.example.org", "port": "frontend", "health": "/"}]},
}

INFRA = os.path.join(ROOT, "roles", "infrastructure", "templates")
PROXY = os.path.join(ROOT, "roles", "proxy", "templates")
BASE = {"ansible_managed": "managed", "taylordash_project_name": "taylordash", "taylordash_label_prefix": "org.t",
        "taylordash_domain": "app.example.org", "taylordash_acme_email": "ops@example.org",
        "taylordash_acme_ca_server": "https://acme.example.org/dir", "_infrastructure_enabled": ["socket-proxy"],
        "proxy_dashboard_host": "traefik.app.example.org", "proxy_dashboard_user": "admin",
        "_proxy_dashboard_hash": "$2b$10$hash", "proxy_app_health_interval": "5s",
        "taylordash_host_plan": {"endpoints": {"backend": ["10.0.0.2:8000"], "frontend": ["10.0.0.2:8080"]},
                               "local": ["traefik", "socket-proxy"]},
        "taylordash_catalogue": CATALOGUE, "taylordash_enabled_services": ["backend", "frontend"]}
# What roles/proxy/vars/main.yml hands apps.yml.j2: the routes as the proxy host reaches the app hosts.
BASE["_proxy_app_routes"] = catalogue_filters.catalogue_file_routes(
    CATALOGUE, BASE["taylordash_host_plan"]["endpoints"], "taylordash", BASE["taylordash_enabled_services"], "5s")


def _render(templates, name, **values):
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(templates), trim_blocks=True,
                             keep_trailing_newline=True, undefined=jinja2.StrictUndefined)
    env.filters["to_json"] = json.dumps
    env.filters["to_nice_yaml"] = lambda value, indent=2: yaml.safe_dump(value, indent=indent, default_flow_style=False)
    env.filters["taylordash.ops.catalogue_file_routes"] = catalogue_filters.catalogue_file_routes
    return yaml.safe_load(env.get_template(name).render(**dict(BASE, **values)))


@pytest.mark.parametrize("tls,expected", [("local", {}), ("acme", {"certResolver": "acme"})])
def test_the_websecure_entrypoint_carries_the_certificate_source_and_the_headers(tls, expected):
    static = _render(PROXY, "traefik.yml.j2", taylordash_tls=tls)
    websecure = static["entryPoints"]["websecure"]["http"]
    assert websecure["tls"] == expected
    assert websecure["middlewares"] == ["secure-headers@file"]
    assert ("certificatesResolvers" in static) == (tls == "acme")
    # The entrypoints listen on the catalogue's container ports.
    assert [static["entryPoints"][name]["address"] for name in ("web", "websecure", "metrics")] == [":80", ":443", ":8082"]


@pytest.mark.parametrize("tls", ["local", "acme"])
@pytest.mark.parametrize("template", ["dashboard.yml.j2", "apps.yml.j2"])
def test_file_provider_routers_set_no_tls_or_headers_of_their_own(tls, template):
    routers = _render(PROXY, template, taylordash_tls=tls)["http"]["routers"]
    assert routers
    for name, router in routers.items():
        assert router["entryPoints"] == ["websecure"], name
        assert "tls" not in router, name
        assert "secure-headers" not in router.get("middlewares", []), name


@pytest.mark.parametrize("service", ["backend", "frontend"])
def test_docker_label_routers_set_no_tls_of_their_own(service):
    labels = dict(_catalogue.traefik_labels(CATALOGUE, service, "taylordash"))
    assert [value for key, value in labels.items() if key.endswith(".entrypoints")] == ["websecure"]
    assert not [key for key in labels if ".tls" in key or "certresolver" in key.lower() or "middlewares" in key]


def test_file_provider_routes_come_from_the_same_route_entries_as_the_labels():
    dynamic = _render(PROXY, "apps.yml.j2", taylordash_tls="local")["http"]
    labels = dict(_catalogue.traefik_labels(CATALOGUE, "backend", "taylordash"))
    assert dynamic["routers"]["taylordash-api"]["rule"] == labels["traefik.http.routers.taylordash-api.rule"] \
        == "Host(`app.example.org`) && PathPrefix(`/api`)"
    assert dynamic["services"]["taylordash-api"]["loadBalancer"] == {
        "servers": [{"url": "http://10.0.0.2:8000"}], "healthCheck": {"path": "/api/health", "interval": "5s",
                                                                     "timeout": "3s"}}
    assert dynamic["routers"]["taylordash-web"]["rule"] == "Host(`app.example.org`) && !PathPrefix(`/api`)"


@pytest.mark.parametrize("seconds,header", [(0, None), (300, 300)])
def test_secure_headers_send_hsts_only_when_set(seconds, header):
    dynamic = _render(PROXY, "tls.yml.j2", taylordash_tls="local", proxy_tls_min_version="VersionTLS12",
                      proxy_hsts_seconds=seconds)
    headers = dynamic["http"]["middlewares"]["secure-headers"]["headers"]
    assert headers.get("stsSeconds") == header
