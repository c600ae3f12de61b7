# -*- coding: utf-8 -*-
"""The service catalogue: merging overrides, every bad entry named by service and key, and the
structures the roles read, derived from the shipped catalogue."""

import copy
from pathlib import Path

import jinja2
import jinja2.nativetypes
import pytest

from ansible_collections.taylordash.ops.plugins.module_utils import _catalogue as c
from roles import load

DEFAULTS = load("roles/taylordash/defaults/main.yml")


def _jinja():
    return jinja2.nativetypes.NativeEnvironment()


def _rendered(value, **variables):
    """A default as Ansible renders it, to native types (MinIO's and Grafana's switches, public ports from
    the port plan), with `variables` over the role's defaults."""
    if isinstance(value, dict):
        return {key: _rendered(item, **variables) for key, item in value.items()}
    if isinstance(value, list):
        return [_rendered(item, **variables) for item in value]
    if isinstance(value, str) and "{{" in value:
        return _jinja().from_string(value).render(**dict(DEFAULTS, **variables))
    return value


SHIPPED = _rendered(DEFAULTS["taylordash_services"])
ALL_GROUPS = {"proxy": ["a"], "app": ["a"], "data": ["a"], "monitoring": ["a"]}


def with_(**changes):
    """The shipped catalogue with overrides merged (the way users change it)."""
    return c.merge(SHIPPED, changes)


def test_the_shipped_catalogue_has_no_problem():
    assert c.errors(SHIPPED) == []
    assert c.errors(SHIPPED, ALL_GROUPS) == []
    assert c.errors(SHIPPED, {"all": ["a"], "ungrouped": ["a"]}) == []


BAD = {
    "unknown-key": (with_(postgres={"memroy": "2g"}), ["taylordash_services.postgres.memroy: unknown key",
                                                       "taylordash_service_overrides.postgres"]),
    "unknown-port-key": (with_(postgres={"ports": {"postgres": {"hostport": 1}}}),
                         ["taylordash_services.postgres.ports.postgres.hostport: unknown key"]),
    "port-out-of-range": (with_(postgres={"ports": {"postgres": {"port": 70000}}}),
                          ["taylordash_services.postgres.ports.postgres.port: 70000 is not a port"]),
    "port-zero": (with_(postgres={"ports": {"postgres": {"container": 0}}}),
                  ["taylordash_services.postgres.ports.postgres.container: 0 is not a port"]),
    "port-not-a-number": (with_(backend={"ports": {"backend": {"port": "http"}}}),
                          ["taylordash_services.backend.ports.backend.port: 'http' is not a port"]),
    "port-bool": (with_(backend={"ports": {"backend": {"container": True}}}),
                  ["taylordash_services.backend.ports.backend.container: True is not a port"]),
    "port-published-twice-in-a-group": (
        with_(victoriametrics={"ports": {"victoriametrics": {"port": 5432}}}),
        ["taylordash_services.victoriametrics.ports.victoriametrics.port: 5432 is published twice in group data "
         "(also by postgres.ports.postgres)"]),
    "unknown-caller": (with_(postgres={"ports": {"postgres": {"callers": ["backend", "backnd"]}}}),
                       ["taylordash_services.postgres.ports.postgres.callers: 'backnd' is not a service"]),
    "callers-not-a-list": (with_(postgres={"ports": {"postgres": {"callers": "backend"}}}),
                           ["taylordash_services.postgres.ports.postgres.callers: must be a list"]),
    "no-group": (with_(grafana={"group": ""}), ["taylordash_services.grafana.group: must be an inventory group"]),
    "endpoint-name-twice": (with_(frontend={"ports": {"backend": {"container": 1, "port": 2}}}),
                            ["taylordash_services.frontend.ports.backend: endpoint name is also backend's"]),
    "bad-service-name": (with_(**{"Bad_Name": {"group": "app"}}), ["service name 'Bad_Name'"]),
    "entry-not-a-mapping": (with_(grafana="monitoring"), ["taylordash_services.grafana.: must be a mapping"]),
    "image-empty": (with_(postgres={"image": ""}), ["taylordash_services.postgres.image: must name an entry"]),
    "limits-memory": (with_(postgres={"limits": {"memory": "lots"}}),
                      ["taylordash_services.postgres.limits.memory: 'lots' is not a size like 512m or 1g"]),
    "limits-cpus": (with_(postgres={"limits": {"cpus": 0}}), ["taylordash_services.postgres.limits.cpus: 0 is not a number"]),
    "limits-pids": (with_(postgres={"limits": {"pids": -1}}), ["taylordash_services.postgres.limits.pids: -1 is not a positive"]),
    "limits-unknown": (with_(postgres={"limits": {"swap": "1g"}}), ["taylordash_services.postgres.limits.swap: unknown key"]),
    "limits-missing": (c.merge(SHIPPED, {"extra": {"group": "app", "limits": {"memory": "1g"}}}),
                       ["taylordash_services.extra.limits.cpus: missing", "taylordash_services.extra.limits.pids: missing"]),
}


def test_an_image_must_be_an_entry_of_taylordash_images():
    images = list(DEFAULTS["taylordash_images"])
    assert c.errors(SHIPPED, images=images) == []
    found = c.errors(with_(alertmanager={"image": "node-exportr"}), images=images)
    assert len(found) == 1 and "alertmanager.image: 'node-exportr' is not an entry of taylordash_images" in found[0]


@pytest.mark.parametrize("catalogue,expected", list(BAD.values()), ids=list(BAD))
def test_each_bad_entry_is_named_by_service_and_key(catalogue, expected):
    found = c.errors(catalogue)
    for fragment in expected:
        assert any(fragment in line for line in found), (fragment, found)


def test_every_problem_is_reported_at_once():
    found = c.errors(with_(postgres={"memroy": "2g"}, backend={"ports": {"backend": {"port": 0}}}))
    assert len(found) == 2, found


@pytest.mark.parametrize("groups,problem", [
    ({"proxy": ["a"], "app": ["a"], "data": ["a"]}, "grafana.group: no host is in group monitoring"),
    ({"proxy": ["a"], "app": ["b"], "monitoring": ["a"]}, "postgres.group: no host is in group data"),
])
def test_an_enabled_service_whose_group_has_no_host_fails_while_groups_are_in_use(groups, problem):
    assert any(problem in line for line in c.errors(SHIPPED, groups)), c.errors(SHIPPED, groups)


def test_a_disabled_service_may_have_a_group_without_hosts():
    catalogue = with_(**{name: {"enabled": False} for name in ("prometheus", "alertmanager", "grafana",
                                                                "node-exporter", "postgres-exporter")})
    assert c.errors(catalogue, {"proxy": ["a"], "app": ["a"], "data": ["a"]}) == []
    assert c.disabled(catalogue) == ["alertmanager", "grafana", "node-exporter", "postgres-exporter", "prometheus"]


def test_without_placement_groups_everything_runs_everywhere_and_nothing_is_missing():
    assert c.errors(SHIPPED, {"all": ["a", "b"], "ungrouped": ["a", "b"]}) == []


def test_merge_is_key_by_key_and_leaves_the_catalogue_alone():
    before = copy.deepcopy(SHIPPED)
    merged = c.merge(SHIPPED, {"backend": {"ports": {"backend": {"port": 18000}}}, "extra": {"group": "app"}})
    assert merged["backend"]["ports"]["backend"] == {"container": 8000, "port": 18000, "callers": ["traefik"]}
    assert merged["backend"]["ports"]["backend-metrics"]["port"] == 9101
    assert merged["extra"] == {"group": "app"}
    assert SHIPPED == before
    assert c.merge(SHIPPED, {"postgres": {"ports": {"postgres": {"callers": ["backend"]}}}})[
        "postgres"]["ports"]["postgres"]["callers"] == ["backend"]  # lists replace


# What the roles read, as they read it before the catalogue existed (taylordash_placement,
# taylordash_replicable, _taylordash_endpoint_ports, _taylordash_consumers and the image alias
# were written by hand in four places); the catalogue must say exactly the same.
PLACEMENT = {"traefik": "proxy", "socket-proxy": "proxy", "backend": "app", "frontend": "app", "postgres": "data",
             "mosquitto": "data", "victoriametrics": "data", "minio": "data", "prometheus": "monitoring",
             "alertmanager": "monitoring", "grafana": "monitoring", "node-exporter": "monitoring",
             "postgres-exporter": "monitoring", "backup": "data", "heal-proxy": "all", "autoheal": "all"}
ENDPOINT_PORTS = {
    "postgres": {"service": "postgres", "target": 5432, "port": 5432},
    "mosquitto": {"service": "mosquitto", "target": 1883, "port": 1883, "public": True},
    # New with TLS between hosts: other hosts use MQTT over TLS only.
    "mosquitto-tls": {"service": "mosquitto", "target": 8883, "port": 8883, "public": True},
    "victoriametrics": {"service": "victoriametrics", "target": 8428, "port": 8428},
    "prometheus": {"service": "prometheus", "target": 9090, "port": 9090},
    "alertmanager": {"service": "alertmanager", "target": 9093, "port": 9093},
    "traefik-metrics": {"service": "traefik", "target": 8082, "port": 8082},
    "node-exporter": {"service": "node-exporter", "target": 9100, "port": 9100},
    "postgres-exporter": {"service": "postgres-exporter", "target": 9187, "port": 9187},
    "minio": {"service": "minio", "target": 9000, "port": 9000},
    "backend": {"service": "backend", "target": 8000, "port": 8000},
    "backend-metrics": {"service": "backend", "target": 9100, "port": 9101},
    "frontend": {"service": "frontend", "target": 8080, "port": 8080},
    # New with the catalogue: Traefik's public ports and MinIO's console (never published for callers).
    "traefik-web": {"service": "traefik", "target": 80, "port": 80, "public": True},
    "traefik-websecure": {"service": "traefik", "target": 443, "port": 443, "public": True},
    "minio-console": {"service": "minio", "target": 9001, "port": 9001},
    # New with the catalogue: Grafana's port, for Prometheus' scrape (both on `monitoring`, so never published).
    "grafana": {"service": "grafana", "target": 3000, "port": 3000},
    # The backup service's own /metrics (with PostgreSQL on `data`, scraped by Prometheus on `monitoring`).
    "backup-metrics": {"service": "backup", "target": 9188, "port": 9188},
}
CONSUMERS = {"postgres": ["backend", "postgres-exporter", "backup"], "mosquitto": [], "mosquitto-tls": ["backend"],
             "victoriametrics": ["prometheus", "grafana"], "prometheus": ["grafana"], "alertmanager": ["prometheus"],
             "traefik-metrics": ["prometheus"], "node-exporter": ["prometheus"], "postgres-exporter": ["prometheus"],
             "minio": ["backend"], "backend": ["traefik"], "backend-metrics": ["prometheus"], "frontend": ["traefik"],
             "grafana": ["prometheus"], "traefik-web": [], "traefik-websecure": [], "minio-console": [],
             "backup-metrics": ["prometheus"]}


@pytest.mark.parametrize("derive,expected", [
    (c.placement, PLACEMENT),
    (c.replicable, ["backend", "frontend"]),
    (c.endpoint_ports, ENDPOINT_PORTS),
    (c.consumers, CONSUMERS),
    (c.disabled, []),
], ids=["placement", "replicable", "endpoint_ports", "consumers", "disabled"])
def test_the_shipped_catalogue_derives_what_the_roles_read(derive, expected):
    assert derive(SHIPPED) == expected


def test_limits_of_every_shipped_service():
    limits = c.limits(SHIPPED)
    assert set(limits) == set(SHIPPED)
    assert limits["postgres"] == {"memory": "1g", "cpus": 1.0, "pids": 512}
    assert limits["backend"] == {"memory": "512m", "cpus": 1.0, "pids": 256}


def test_images_default_to_the_service_name():
    images = c.images(SHIPPED)
    assert images["socket-proxy"] == "haproxy" and images["postgres"] == "postgres" and images["backend"] == "backend"


def test_an_override_moves_a_service_and_its_endpoint_together():
    moved = with_(postgres={"group": "db", "ports": {"postgres": {"port": 15432}}})
    assert c.placement(moved)["postgres"] == "db"
    assert c.endpoint_ports(moved)["postgres"] == {"service": "postgres", "target": 5432, "port": 15432}


# The scrape jobs the infrastructure role wrote by hand before (targets on one host: service names; Prometheus
# itself by its service name too, was localhost), now in
# catalogue order (Prometheus is recreated once on upgrade for the reordered file).
SCRAPE_ONE_HOST = [
    {"job": "traefik", "targets": ["traefik:8082"]},
    {"job": "victoriametrics", "targets": ["victoriametrics:8428"]},
    {"job": "minio", "targets": ["minio:9000"], "metrics_path": "/minio/v2/metrics/cluster"},
    {"job": "prometheus", "targets": ["prometheus:9090"]},
    {"job": "alertmanager", "targets": ["alertmanager:9093"]},
    {"job": "grafana", "targets": ["grafana:3000"]},
    {"job": "node", "targets": ["node-exporter:9100"]},
    {"job": "backup", "targets": ["backup:9188"]},
    {"job": "postgres", "targets": ["postgres-exporter:9187"]},
    {"job": "backend", "targets": ["backend:9100"]},
]


def test_every_replica_of_a_service_on_the_compose_network_is_scraped():
    jobs = c.scrape_jobs(with_(backend={"replicas": 2}), {}, ["backend", "postgres"])
    assert jobs[-1] == {"job": "backend", "dns": {"names": ["backend"], "type": "A", "port": 9100}}
    remote = c.scrape_jobs(with_(backend={"replicas": 2}), {"backend-metrics": ["10.0.0.2:9101"]}, ["backend"])
    assert remote == [{"job": "backend", "targets": ["10.0.0.2:9101"]}]


def test_scrape_jobs_of_every_enabled_service_with_metrics():
    assert c.scrape_jobs(SHIPPED, {}, list(SHIPPED)) == SCRAPE_ONE_HOST
    without = c.scrape_jobs(SHIPPED, {}, [n for n in SHIPPED if n not in ("minio", "grafana", "backend")])
    assert [job["job"] for job in without] == ["traefik", "victoriametrics", "prometheus", "alertmanager", "node",
                                               "backup", "postgres"]


def test_scrape_targets_follow_the_endpoints_across_hosts():
    jobs = c.scrape_jobs(SHIPPED, {"backend-metrics": ["10.0.0.2:9101", "10.0.0.3:9101"]}, ["backend"])
    assert jobs == [{"job": "backend", "targets": ["10.0.0.2:9101", "10.0.0.3:9101"]}]


@pytest.mark.parametrize("metrics,problem", [
    ({"job": "node", "port": "postgres"}, "postgres.metrics.job: node is also node-exporter's job"),
    ({"job": "pg", "port": "nope"}, "postgres.metrics.port: 'nope' is not one of its ports (postgres)"),
    ({"job": "pg", "targets": []}, "postgres.metrics.targets: must be a non-empty list"),
    ({"job": "pg", "port": "postgres", "interval": "5s"}, "postgres.metrics.interval: unknown key"),
    ({"job": "Bad Job", "port": "postgres"}, "postgres.metrics.job: must be a job name"),
])
def test_bad_metrics_are_named(metrics, problem):
    found = c.errors(with_(postgres={"metrics": metrics}))
    assert any(problem in line for line in found), found


# The healthchecks the Compose template wrote by hand before (the same `test` lists, so an upgrade
# recreates nothing for them).
HEALTHCHECKS = {
    "victoriametrics": ["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8428/health"],
    "prometheus": ["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:9090/-/healthy"],
    "alertmanager": ["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:9093/-/healthy"],
    "node-exporter": ["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:9100/"],
    "postgres-exporter": ["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:9187/"],
    "grafana": ["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:3000/api/health"],
    "traefik": ["CMD", "traefik", "healthcheck", "--configFile=/etc/traefik/traefik.yml"],
    "socket-proxy": ["CMD", "bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/2375 && printf 'GET /_ping HTTP/1.0\\r\\n\\r\\n'"
                     " >&3 && head -n 1 <&3 | grep -q '^HTTP/1[.][01] 200 '"],
    "postgres": ["CMD-SHELL", 'pg_isready -h 127.0.0.1 -p 5432 -U "$$POSTGRES_USER" -d "$$POSTGRES_DB"'],
    "mosquitto": ["CMD-SHELL", "mosquitto_sub -h 127.0.0.1 -p 1883 -u \"$$MQTT_MONITOR_USERNAME\" -P "
                  "\"$$MQTT_MONITOR_PASSWORD\" -t '$$SYS/broker/uptime' -C 1 -W 5 > /dev/null"],
    "minio": ["CMD", "mc", "ready", "local"],
}


@pytest.mark.parametrize("service", sorted(HEALTHCHECKS))
def test_healthchecks_of_the_shipped_catalogue(service):
    assert c.healthcheck_test(SHIPPED[service]) == HEALTHCHECKS[service]


def test_an_http_healthcheck_follows_its_port():
    moved = with_(victoriametrics={"ports": {"victoriametrics": {"container": 18428}}})
    assert c.healthcheck_test(moved["victoriametrics"])[-1] == "http://127.0.0.1:18428/health"
    assert c.healthcheck_test(SHIPPED["backend"]) is None  # the image's HEALTHCHECK


@pytest.mark.parametrize("check,problem", [
    ("pg_isready", "postgres.healthcheck: must be {test"),
    ({"test": ["pg_isready"]}, "postgres.healthcheck.test: must be a list starting with CMD"),
    ({"test": "CMD-SHELL pg_isready"}, "postgres.healthcheck.test: must be a list"),
    ({"test": ["CMD", "x"], "interval": "5s"}, "postgres.healthcheck.interval: unknown key next to test"),
    ({"http": "health", "port": "postgres"}, "postgres.healthcheck.http: must be a path starting with /"),
    ({"http": "/health", "port": "metrics"}, "postgres.healthcheck.port: 'metrics' is not one of its ports"),
])
def test_bad_healthchecks_are_named(check, problem):
    found = c.errors(dict(SHIPPED, postgres=dict(SHIPPED["postgres"], healthcheck=check)))
    assert any(problem in line for line in found), found


# The port map the infrastructure role wrote by hand before.
PORT_MAP = {
    "traefik-web": {"service": "traefik", "target": 80, "public": True},
    "traefik-websecure": {"service": "traefik", "target": 443, "public": True},
    "mosquitto": {"service": "mosquitto", "target": 1883, "public": True},
    "mosquitto-tls": {"service": "mosquitto", "target": 8883, "public": True},
    "postgres": {"service": "postgres", "target": 5432, "public": False},
    "victoriametrics": {"service": "victoriametrics", "target": 8428, "public": False},
    "prometheus": {"service": "prometheus", "target": 9090, "public": False},
    "alertmanager": {"service": "alertmanager", "target": 9093, "public": False},
    "minio": {"service": "minio", "target": 9000, "public": False},
    "minio-console": {"service": "minio", "target": 9001, "public": False},
    "grafana": {"service": "grafana", "target": 3000, "public": False},
}
INFRA = ["traefik", "socket-proxy", "postgres", "victoriametrics", "mosquitto", "prometheus", "alertmanager",
         "node-exporter", "postgres-exporter", "minio", "grafana"]


def test_the_published_port_map_is_derived_for_the_plan_entries_of_core_services():
    assert c.port_map(SHIPPED, DEFAULTS["taylordash_port_plan"], INFRA) == PORT_MAP


@pytest.mark.parametrize("entry", [1884, {"port": 1884, "address": "0.0.0.0"}])
def test_a_public_port_is_the_port_plans(entry):
    """Callers on other hosts reach MQTT on the port the plan publishes it on, whichever form the entry has
    (Ansible renders the catalogue's reference to the plan entry as the entry itself)."""
    catalogue = with_(mosquitto={"ports": {"mosquitto": {"port": entry}}})
    assert c.endpoint_ports(catalogue)["mosquitto"]["port"] == 1884
    assert c.errors(catalogue) == []


def test_a_plan_without_the_public_entries_leaves_the_catalogue_valid_and_the_port_map_names_them():
    """Ansible replaces a whole dict: a plan of the dev servers' ports only (cleanup's usual input) renders the
    public ports as None. The catalogue stays valid (cleanup needs none of them); the port map still lists
    them, so the infrastructure role names the missing plan entry instead of publishing nothing."""
    dev_plan = {"backend": 3000, "frontend": 5173}
    catalogue = _rendered(DEFAULTS["taylordash_services"], taylordash_port_plan=dev_plan)
    assert catalogue["traefik"]["ports"]["traefik-web"]["port"] is None
    assert c.errors(catalogue) == []
    public = {name for name, spec in c.port_map(catalogue, dev_plan, INFRA).items() if spec["public"]}
    assert public == {"traefik-web", "traefik-websecure", "mosquitto", "mosquitto-tls"}
    assert not {name for name, spec in c.port_map(catalogue, dev_plan, INFRA).items() if not spec["public"]}


def test_an_internal_port_of_none_is_still_an_error():
    errors = c.errors(with_(postgres={"ports": {"postgres": {"port": None}}}))
    assert errors == ["taylordash_services.postgres.ports.postgres.port: None is not a port (1-65535)"
                      " (set it in taylordash_service_overrides.postgres)"]


# The labels the application's Compose template wrote by hand before, plus each router's service (which
# Traefik needs once a service has two routes; one recreation of the app containers on upgrade).
LABELS = {
    "backend": {"traefik.enable": "true", "traefik.docker.network": "taylordash",
                "traefik.http.routers.taylordash-api.rule": "Host(`taylordash.local`) && PathPrefix(`/api`)",
                "traefik.http.routers.taylordash-api.entrypoints": "websecure",
                "traefik.http.routers.taylordash-api.service": "taylordash-api",
                "traefik.http.services.taylordash-api.loadbalancer.server.port": "8000"},
    "frontend": {"traefik.enable": "true", "traefik.docker.network": "taylordash",
                 "traefik.http.routers.taylordash-web.rule": "Host(`taylordash.local`) && !PathPrefix(`/api`)",
                 "traefik.http.routers.taylordash-web.entrypoints": "websecure",
                 "traefik.http.routers.taylordash-web.service": "taylordash-web",
                 "traefik.http.services.taylordash-web.loadbalancer.server.port": "8080"},
}


@pytest.mark.parametrize("service", sorted(LABELS))
def test_the_routes_give_the_labels_written_by_hand_before(service):
    assert dict(c.traefik_labels(SHIPPED, service, "taylordash")) == LABELS[service]


@pytest.mark.parametrize("route,others,rule", [
    ({"host": "a.org"}, [], "Host(`a.org`)"),
    ({"host": "a.org"}, [{"host": "a.org", "path": "/api"}], "Host(`a.org`) && !PathPrefix(`/api`)"),
    ({"host": "a.org"}, [{"host": "b.org", "path": "/api"}], "Host(`a.org`)"),
    ({"host": "a.org", "path": "/api"}, [{"host": "a.org", "path": "/api"}], "Host(`a.org`) && PathPrefix(`/api`)"),
    ({"host": "a.org", "path": "/api"}, [{"host": "a.org", "path": "/api/v2"}, {"host": "a.org", "path": "/apix"}],
     "Host(`a.org`) && PathPrefix(`/api`) && !PathPrefix(`/api/v2`)"),
    ({"host": "a.org", "path": "/"}, [{"host": "a.org", "path": "/ws"}, {"host": "a.org", "path": "/api"}],
     "Host(`a.org`) && PathPrefix(`/`) && !PathPrefix(`/api`) && !PathPrefix(`/ws`)"),
    ({"host": "a.org", "path": "/api/v2"}, [{"host": "a.org", "path": "/api"}], "Host(`a.org`) && PathPrefix(`/api/v2`)"),
])
def test_a_route_leaves_the_deeper_paths_of_its_host_to_their_routes(route, others, rule):
    services = {"svc%d" % i: {"routes": [other]} for i, other in enumerate(others)}
    services["self"] = {"routes": [route]}
    assert c.route_rule(route, services) == rule


def test_labels_off_when_the_file_provider_routes_and_none_without_routes():
    assert dict(c.traefik_labels(SHIPPED, "backend", "taylordash", enabled=False))["traefik.enable"] == "false"
    assert c.traefik_labels(SHIPPED, "postgres", "taylordash") == []


def test_file_routes_to_every_app_host_with_health_checks():
    endpoints = {"backend": ["10.0.0.2:8000", "10.0.0.3:8000"], "frontend": ["10.0.0.2:8080"]}
    routes = c.file_routes(SHIPPED, endpoints, "taylordash", ["backend", "frontend"], "5s")["http"]
    assert routes["routers"]["taylordash-api"] == {"rule": "Host(`taylordash.local`) && PathPrefix(`/api`)",
                                                   "entryPoints": ["websecure"], "service": "taylordash-api"}
    assert [s["url"] for s in routes["services"]["taylordash-api"]["loadBalancer"]["servers"]] == [
        "http://10.0.0.2:8000", "http://10.0.0.3:8000"]
    assert routes["routers"]["taylordash-web"]["rule"] == "Host(`taylordash.local`) && !PathPrefix(`/api`)"
    assert routes["services"]["taylordash-web"]["loadBalancer"]["healthCheck"]["path"] == "/"
    assert c.file_routes(SHIPPED, endpoints, "taylordash", ["frontend"], "5s")["http"]["routers"].keys() == {
        "taylordash-web"}
    assert c.file_routes(SHIPPED, {}, "taylordash", ["backend"], "5s") == {}


@pytest.mark.parametrize("leave_out,api,web", [
    ([], ["http://10.0.0.2:8000", "http://10.0.0.3:8000"], ["http://10.0.0.2:8080"]),
    (["10.0.0.2"], ["http://10.0.0.3:8000"], None),
    (["10.0.0.3"], ["http://10.0.0.2:8000"], ["http://10.0.0.2:8080"]),
    # Only a whole address is left out, never one that merely starts the same.
    (["10.0.0.2", "10.0.0.33"], ["http://10.0.0.3:8000"], None),
    (["10.0.0.2", "10.0.0.3"], None, None),
])
def test_file_routes_leave_hosts_out_and_drop_a_route_left_with_no_server(leave_out, api, web):
    endpoints = {"backend": ["10.0.0.2:8000", "10.0.0.3:8000"], "frontend": ["10.0.0.2:8080"]}
    routes = c.file_routes(SHIPPED, endpoints, "taylordash", ["backend", "frontend"], "5s", leave_out)
    services = (routes.get("http") or {}).get("services", {})
    routers = (routes.get("http") or {}).get("routers", {})
    for name, urls in (("taylordash-api", api), ("taylordash-web", web)):
        if urls is None:
            assert name not in services and name not in routers
        else:
            assert [s["url"] for s in services[name]["loadBalancer"]["servers"]] == urls
            assert routers[name]["service"] == name


def _api(**servers):
    """/api/http/services as Traefik lists it: file services (name -> urls) beside a Docker and an internal one."""
    listed = [{"name": name.replace("_", "-") + "@file", "provider": "file",
               "loadBalancer": {"servers": [{"url": u} for u in urls]}} for name, urls in servers.items()]
    return listed + [{"name": "api@internal", "provider": "internal"},
                     {"name": "taylordash-api@docker", "provider": "docker",
                      "loadBalancer": {"servers": [{"url": "http://172.18.0.5:8000"}]}}]


def _routes(**servers):
    return {"http": {"services": {name.replace("_", "-"): {"loadBalancer": {"servers": [{"url": u} for u in urls]}}
                                  for name, urls in servers.items()}}}


MANAGED = ["taylordash-api", "taylordash-web"]


@pytest.mark.parametrize("api,routes,pending", [
    # Applied: the same servers in any order.
    (_api(taylordash_api=["http://b:1", "http://a:1"], taylordash_web=["http://a:2"]),
     _routes(taylordash_api=["http://a:1", "http://b:1"], taylordash_web=["http://a:2"]), []),
    # A host left out that Traefik still routes to.
    (_api(taylordash_api=["http://a:1", "http://b:1"], taylordash_web=["http://a:2"]),
     _routes(taylordash_api=["http://b:1"], taylordash_web=["http://a:2"]),
     ["taylordash-api: Traefik routes to http://a:1, http://b:1, the file to http://b:1"]),
    # A route left with no server must be gone from Traefik.
    (_api(taylordash_api=["http://b:1"], taylordash_web=["http://a:2"]), _routes(taylordash_api=["http://b:1"]),
     ["taylordash-web: still routed to http://a:2"]),
    (_api(taylordash_api=["http://b:1"]), _routes(taylordash_api=["http://b:1"]), []),
    # Put back: Traefik has not read the file yet.
    (_api(), _routes(taylordash_api=["http://a:1"]), ["taylordash-api: Traefik routes to nothing, the file to http://a:1"]),
    # Nothing from Traefik at all (no answer yet, a 401's text, an error object): never taken as applied,
    # even when the file routes nothing.
    (None, _routes(taylordash_api=["http://a:1"]), ["Traefik's API did not list its services (no answer yet, or not the list it gives)"]),
    (None, {}, ["Traefik's API did not list its services (no answer yet, or not the list it gives)"]),
    ({"message": "401 Unauthorized"}, {}, ["Traefik's API did not list its services (no answer yet, or not the list it gives)"]),
    ("401 Unauthorized", {}, ["Traefik's API did not list its services (no answer yet, or not the list it gives)"]),
])
def test_routes_pending_compares_traefiks_file_services_with_the_file(api, routes, pending):
    assert c.routes_pending(api, routes, MANAGED) == pending


@pytest.mark.parametrize("route,problem", [
    ({"name": "api2", "port": "backend"}, "backend.routes[1].host: None is not a host name (every route needs one)"),
    ({"name": "api", "host": "x.example.org", "port": "backend"}, "backend.routes[1].name: api is also a route"),
    ({"name": "api2", "host": "x.example.org", "port": "http"}, "backend.routes[1].port: 'http' is not one of its"),
    ({"name": "api2", "host": "x.example.org", "port": "backend", "path": "api"}, "backend.routes[1].path: must start"),
    ({"name": "api2", "host": "*.example.org", "port": "backend"}, "backend.routes[1].host: '*.example.org'"),
    ({"name": "api2", "host": "x.example.org", "port": "backend", "tls": True}, "backend.routes[1].tls: unknown key"),
])
def test_bad_routes_are_named(route, problem):
    catalogue = dict(SHIPPED, backend=dict(SHIPPED["backend"], routes=SHIPPED["backend"]["routes"] + [route]))
    found = c.errors(catalogue)
    assert any(problem in line for line in found), found


def test_local_endpoints_are_service_name_and_container_port():
    local = c.local_endpoints(SHIPPED)
    assert local["postgres"] == ["postgres:5432"] and local["backend-metrics"] == ["backend:9100"]
    assert set(local) == set(c.endpoint_ports(SHIPPED))


def test_two_routes_on_one_service_each_name_their_own_service():
    catalogue = dict(SHIPPED, backend=dict(SHIPPED["backend"], routes=SHIPPED["backend"]["routes"] + [
        {"name": "docs", "host": "docs.example.org", "port": "backend"}]))
    labels = dict(c.traefik_labels(catalogue, "backend", "taylordash"))
    assert labels["traefik.http.routers.taylordash-docs.service"] == "taylordash-docs"
    assert labels["traefik.http.services.taylordash-docs.loadbalancer.server.port"] == "8000"


@pytest.mark.parametrize("override,problem", [
    ({"group": ["app", "data"]}, "postgres.group: must be an inventory group name"),
    ({"ports": {"postgres": {"callers": [["backend"]]}}}, "postgres.ports.postgres.callers: ['backend'] is not"),
    ({"metrics": {"job": "pg", "port": ["postgres"]}}, "postgres.metrics.port: ['postgres'] is not one of"),
    ({"healthcheck": {"http": "/", "port": {"x": 1}}}, "postgres.healthcheck.port: {'x': 1} is not one of"),
    ({"routes": [{"name": "db", "host": "db.example.org", "port": ["postgres"]}]}, "postgres.routes[0].port:"),
], ids=["group-list", "caller-list", "metrics-port-list", "healthcheck-port-dict", "route-port-list"])
def test_unhashable_values_are_named_not_crashed_on(override, problem):
    found = c.errors(with_(postgres=override), ALL_GROUPS)
    assert any(problem in line for line in found), found


def test_an_override_replaces_a_healthcheck_or_metrics_whole_and_null_removes():
    merged = with_(victoriametrics={"healthcheck": {"test": ["CMD", "true"]}, "metrics": None})
    assert merged["victoriametrics"]["healthcheck"] == {"test": ["CMD", "true"]}
    assert "metrics" not in merged["victoriametrics"]
    assert c.errors(merged) == []


@pytest.mark.parametrize("value,seconds", [
    ("10s", 10), ("1m30s", 90), ("2m", 120), ("1.5h", 5400), ("1h2m3s", 3723), ("90", 90), (45, 45), (0.5, 0.5),
    ("0s", 0), (0, 0), ("", None), ("-1", None), (-1, None), (None, None), (True, None), ("10ms", None),
    ("abc", None), ("s", None), ([10], None),
])
def test_durations_as_compose_writes_them(value, seconds):
    assert c.duration_seconds(value) == seconds


@pytest.mark.parametrize("change,problem", [
    ({"replicas": 0}, "backend.replicas: 0 is not a whole number of containers, 1 or more"),
    ({"replicas": "two"}, "backend.replicas: 'two' is not a whole number of containers, 1 or more"),
    ({"replicas": True}, "backend.replicas: True is not a whole number"),
    ({"replicas": 2, "ports": {"backend": {"public": True}}},
     "backend.replicas: 2 containers cannot all bind the host port of backend on one host: run 1 per host"),
    ({"drain": "0s"}, "backend.drain: '0s' is not a positive duration"),
    ({"drain": "soon"}, "backend.drain: 'soon' is not a positive duration"),
    ({"health_timeout": -5}, "backend.health_timeout: -5 is not a positive duration"),
])
def test_start_first_settings_are_checked_naming_the_service_and_key(change, problem):
    found = c.errors(with_(backend=change))
    assert [e for e in found if problem in e], found


def test_start_first_settings_belong_to_app_services_only():
    found = c.errors(with_(postgres={"replicas": 2, "drain": "5s"}))
    assert [e for e in found if "postgres.replicas: only an app service (replicable: true)" in e], found
    assert [e for e in found if "postgres.drain: only an app service" in e], found


def test_replicas_drain_and_health_timeout_are_accepted_and_replicas_default_to_one():
    assert c.errors(with_(backend={"replicas": 3, "drain": "15s", "health_timeout": "2m"})) == []
    assert c.replicas({}) == 1 and c.replicas({"replicas": "3"}) == 3


def test_the_rollout_settings_of_the_app_services_in_order_in_seconds():
    catalogue = with_(frontend={"replicas": 2, "drain": "1m", "health_timeout": "90s"})
    assert c.rollout_services(catalogue, ["frontend", "backend"], 180) == [
        {"name": "frontend", "replicas": 2, "drain": 60, "health_timeout": 90},
        {"name": "backend", "replicas": 1, "drain": c.duration_seconds(SHIPPED["backend"].get("drain", 5)),
         "health_timeout": 180}]


def test_several_replicas_of_a_service_that_publishes_a_host_port_are_refused_on_that_host():
    publish = [{"name": "backend", "service": "backend", "port": 8000, "target": 8000}]
    assert c.replica_errors(with_(backend={"replicas": 2}), publish, "app1") == [
        "taylordash_services.backend.replicas: 2 containers cannot all bind port 8000 on app1 (backend is published"
        " there for callers on other hosts): run 1 per host (set it in taylordash_service_overrides.backend)"]
    assert c.replica_errors(SHIPPED, publish, "app1") == []
    assert c.replica_errors(with_(backend={"replicas": 2}), [], "app1") == []


@pytest.mark.parametrize("changes,problem", [
    ({"user": -1}, "mosquitto.user: -1 is not a uid or uid:gid"),
    ({"user": "mosquitto"}, "mosquitto.user: 'mosquitto' is not a uid or uid:gid"),
    ({"user": True}, "mosquitto.user: True is not a uid or uid:gid"),
    ({"user": 1.5}, "mosquitto.user: 1.5 is not a uid or uid:gid"),
    ({"user": "1883\n"}, "mosquitto.user: '1883\\n' is not a uid or uid:gid"),
    ({"user": "1883:"}, "mosquitto.user: '1883:' is not a uid or uid:gid"),
    ({"user": 0}, "mosquitto.root: user 0 (root) needs the reason it cannot run as another user"),
    ({"user": "0:0", "root": "  "}, "mosquitto.root: user 0 (root) needs the reason"),
    ({"root": "because"}, "mosquitto.root: set only with user 0; user is 1883"),
    ({"root": ["a"]}, "mosquitto.root: must be a sentence saying why it runs as root"),
    ({"cap_add": "CHOWN"}, "mosquitto.cap_add: must be a list of capability names"),
    ({"cap_add": ["SYS_ADMIN"]}, "mosquitto.cap_add: 'SYS_ADMIN' is not one of"),
    ({"cap_add": ["NET_ADMIN"]}, "mosquitto.cap_add: 'NET_ADMIN' is not one of"),
    ({"read_only": "yes"}, "mosquitto.read_only: 'yes' is not true or false"),
    ({"tmpfs": "/tmp"}, "mosquitto.tmpfs: must be a list of absolute paths"),
    ({"tmpfs": ["tmp"]}, "mosquitto.tmpfs: must be a list of absolute paths"),
    ({"tmpfs": ["/"]}, "mosquitto.tmpfs: must be a list of absolute paths"),
    ({"tmpfs": ["/tmp\n"]}, "mosquitto.tmpfs: must be a list of absolute paths"),
    ({"limits": None}, "mosquitto.limits: missing: every service has memory, cpus and pids limits"),
])
def test_a_services_privileges_are_checked_naming_the_key(changes, problem):
    catalogue = with_(mosquitto=changes)
    if "limits" in changes:
        catalogue["mosquitto"].pop("limits", None)
    found = c.errors(catalogue)
    assert [e for e in found if problem in e], found


def test_a_service_without_a_user_is_refused():
    catalogue = c.merge(SHIPPED, {})
    catalogue["mosquitto"].pop("user")
    assert any("mosquitto.user: missing: every service states the uid it runs as" in e for e in c.errors(catalogue))


@pytest.mark.parametrize("entry,keys", [
    ({"user": 1883}, {"user": "1883:1883", "cap_drop": ["ALL"], "security_opt": ["no-new-privileges:true"],
                      "read_only": True}),
    ({"user": "999:70", "read_only": False, "tmpfs": ["/tmp", "/run"], "cap_add": ["cap_chown", "NET_BIND_SERVICE"]},
     {"user": "999:70", "cap_drop": ["ALL"], "security_opt": ["no-new-privileges:true"], "read_only": False,
      "tmpfs": ["/tmp", "/run"], "cap_add": ["CHOWN", "NET_BIND_SERVICE"]}),
    ({"user": 0, "root": "why"}, {"user": "0:0", "cap_drop": ["ALL"], "security_opt": ["no-new-privileges:true"],
                                  "read_only": True}),
])
def test_security_gives_the_compose_keys_with_everything_dropped_first(entry, keys):
    assert c.security(entry) == keys


def test_every_shipped_service_drops_every_capability_runs_read_only_and_names_why_root():
    rows = c.privilege_rows(SHIPPED)
    assert [r["service"] for r in rows] == sorted(SHIPPED)
    for row in rows:
        assert row["read_only"] and row["cap_add"] == [] and row["memory"] and row["pids"], row
        assert (row["user"].split(":")[0] == "0") == bool(row["root"]), row
    # Traefik, the one service facing the internet, is not root.
    assert {r["service"]: r["user"] for r in rows}["traefik"] != "0:0"


def test_the_privilege_table_has_a_row_per_service_and_a_note_per_root_service():
    table = c.privilege_table(with_(mosquitto={"cap_add": ["CHOWN"], "read_only": False}))
    lines = table.splitlines()
    assert lines[0].startswith("| Service | User (uid:gid) | Capabilities |")
    assert "| mosquitto | 1883:1883 | ALL dropped, CHOWN added | no | none | 128m | 0.25 | 128 |" in lines
    assert "| backup | 0:0 (root: see below) |" in table
    assert [l for l in lines if l.startswith("- **")] == [
        "- **%s runs as root**: %s" % (n, SHIPPED[n]["root"].strip()) for n in sorted(SHIPPED) if SHIPPED[n].get("root")]


def test_the_readme_privilege_table_is_the_catalogues():
    """The README's table is generated from the catalogue (docs/privilege_table.py --write) and current."""
    readme = (Path(__file__).resolve().parents[4] / "README.md").read_text()
    begin, end = "<!-- privileges:begin -->\n", "<!-- privileges:end -->"
    assert begin in readme and end in readme, "README.md has no generated privilege table"
    assert readme.split(begin, 1)[1].split(end, 1)[0] == c.privilege_table(SHIPPED), (
        "README.md's privilege table is stale: run .venv/bin/python docs/privilege_table.py --write")


@pytest.mark.parametrize("changes,problem", [
    ({"backend": {"depends": {"redis": "healthy"}}}, "backend.depends.redis: 'redis' is not a service of the catalogue"),
    ({"backend": {"depends": {"postgres": "ready"}}}, "backend.depends.postgres: 'ready' is not started or healthy"),
    ({"backend": {"depends": {"backend": "started"}}}, "backend.depends.backend: a service cannot wait for itself"),
    ({"backend": {"depends": ["postgres"]}}, "backend.depends: must map service names to started or healthy"),
    # A cycle, direct or through a third service: compose would start neither.
    ({"postgres": {"depends": {"backend": "started"}}},
     "postgres.depends.backend: backend waits for postgres in turn (a cycle: neither would start)"),
    ({"postgres": {"depends": {"traefik": "started"}}, "socket-proxy": {"depends": {"postgres": "healthy"}}},
     "postgres.depends.traefik: traefik waits for postgres in turn"),
])
def test_dependencies_are_checked_naming_the_service_and_key(changes, problem):
    found = c.errors(with_(**changes))
    assert [e for e in found if problem in e], found


@pytest.mark.parametrize("name,present,expected", [
    ("backend", ["postgres", "mosquitto", "traefik"],
     {"mosquitto": {"condition": "service_healthy"}, "postgres": {"condition": "service_healthy"}}),
    # PostgreSQL on another host: reached over the network, not waited for.
    ("backend", ["mosquitto"], {"mosquitto": {"condition": "service_healthy"}}),
    ("backend", [], {}),
    ("traefik", ["socket-proxy"], {"socket-proxy": {"condition": "service_started"}}),
    ("postgres-exporter", ["postgres"], {"postgres": {"condition": "service_started"}}),
    ("postgres", ["backend", "mosquitto"], {}),
])
def test_compose_depends_on_comes_from_the_catalogue_for_the_services_on_the_host(name, present, expected):
    assert c.compose_depends(SHIPPED, name, present) == expected


OK_RESULT = {"changed": True, "services": [], "in_place": ["backend"], "applied": True}
PLAN = {"changed": True, "services": [], "in_place": ["backend"], "applied": False}
MIGRATION_FAILED = {"failed": True, "msg": "The migration failed", "services": [], "in_place_begun": [], "applied": True}
NEW_FAILED = {"failed": True, "msg": "backend did not become healthy", "services": [], "in_place_begun": ["backend"],
              "applied": True}


@pytest.mark.parametrize("kept,left_out,results,expected", [
    # Replaced in place and healthy: back in.
    ([], ["app1"], {"app1": OK_RESULT}, []),
    # Its old app stopped, the new one failed: kept out.
    ([], ["app2"], {"app2": NEW_FAILED}, ["app2"]),
    # Failed before anything stopped (the migration): the old app serves, back in.
    ([], ["app2"], {"app2": MIGRATION_FAILED}, []),
    # No result (unreachable, dropped from the batch) or an unreachable one: unknown, kept out.
    ([], ["app3"], {}, ["app3"]),
    ([], ["app3"], {"app3": {"unreachable": True, "msg": "ssh"}}, ["app3"]),
    # Kept out by an earlier run: back only once its own rollout succeeds (even one that replaced nothing).
    (["app2"], [], {"app1": OK_RESULT}, ["app2"]),
    (["app2"], [], {"app2": dict(OK_RESULT, changed=False, in_place=[])}, []),
    (["app2"], ["app1"], {"app1": OK_RESULT, "app2": NEW_FAILED}, ["app2"]),
    # A plan that was skipped is no success, nor is a plan (the leave-out failed before the rollout ran).
    (["app2"], [], {"app2": {"skipped": True, "changed": False}}, ["app2"]),
    (["app2"], ["app2"], {"app2": PLAN}, ["app2"]),
    # Left out, but the rollout never ran (the leave-out's wait failed): its old app serves, back in.
    ([], ["app1"], {"app1": PLAN}, []),
])
def test_routes_keep_out_hosts_whose_app_may_not_serve(kept, left_out, results, expected):
    assert c.routes_keep_out(kept, left_out, results) == expected
