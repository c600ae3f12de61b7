# -*- coding: utf-8 -*-
"""The matrix of bad settings, each named with its variable (pure). tests/e2e/test_bad_input.py keeps a
few of these end to end, to prove the checks run before anything on a host changes."""

import copy
from pathlib import Path

import pytest
import yaml

from ansible_collections.taylordash.ops.plugins.module_utils import _settings as s

ROOT = Path(__file__).resolve().parents[4]


def load(path):
    return yaml.safe_load((ROOT / path).read_text())


SHARED = load("roles/taylordash/defaults/main.yml")
INFRA = load("roles/infrastructure/defaults/main.yml")
IMAGES = SHARED["taylordash_images"]
PLAN = SHARED["taylordash_port_plan"]
APPS = SHARED["taylordash_dev_apps"]
SETTINGS = {name: INFRA[name] for name in INFRA if name.startswith("infrastructure_")}
PORT_MAP = {
    "traefik-web": {"service": "traefik", "target": 80, "public": True},
    "mosquitto": {"service": "mosquitto", "target": 1883, "public": True},
    "postgres": {"service": "postgres", "target": 5432, "public": False},
    "prometheus": {"service": "prometheus", "target": 9090, "public": False},
}
PUBLISHED = {"traefik-web": {"port": 80, "address": "0.0.0.0", "public": True},
             "mosquitto": {"port": 1883, "address": "0.0.0.0", "public": True}}
ENABLED = ["traefik", "mosquitto", "postgres", "prometheus"]


def test_the_shipped_settings_have_no_problem():
    assert s.image_errors(IMAGES) == []
    assert s.offline_errors(IMAGES, "build", ["postgres", "traefik"]) == []
    assert s.shared_errors(SHARED["taylordash_deploy_dir"], SHARED["taylordash_project_name"],
                           SHARED["taylordash_domain"]) == []
    assert s.dev_app_errors(APPS, PLAN) == []
    assert s.infrastructure_errors(SETTINGS, PORT_MAP, PUBLISHED, ENABLED, PLAN) == []


@pytest.mark.parametrize("entry,fragments", [
    ({"registry": "Postgres Latest!", "build": "taylordash/postgres:17"},
     ["taylordash_images.postgres.registry", "Postgres Latest!"]),
    ({"registry": "python:3.13", "build": "taylordash/python"}, ["taylordash_images.postgres.build", "tag"]),
    ({"registry": "python:3.13", "build": "taylordash/python:1@sha256:" + "a" * 64}, ["no digest"]),
    ({"registry": "python:3.13", "build": "Taylor Dash"}, ["taylordash_images.postgres.build", "Taylor Dash"]),
    ({"registry": "python:3.13"}, ["taylordash_images.postgres must have `registry` and `build`"]),
    ("postgres:17", ["taylordash_images.postgres must have", "postgres:17"]),
    ({"registry": 17, "build": ""}, ["taylordash_images.postgres.registry: 17"]),
])
def test_a_bad_image_entry_is_named(entry, fragments):
    errors = s.image_errors(dict(IMAGES, postgres=entry))
    assert len(errors) == 1, errors
    for fragment in fragments:
        assert fragment in errors[0]


@pytest.mark.parametrize("entry", [
    {"registry": "registry.local:5000/team/postgres:17", "build": ""},
    {"registry": "postgres@sha256:" + "b" * 64, "build": "taylordash/postgres:17.2-1"},
    {"registry": "postgres", "build": None},
])
def test_good_image_entries_pass(entry):
    assert s.image_errors(dict(IMAGES, postgres=entry)) == []


def test_the_offline_source_needs_a_build_for_every_image_in_use():
    images = dict(IMAGES, minio={"registry": "minio/minio:1", "build": ""})
    assert s.offline_errors(images, "registry", ["minio"]) == []
    assert s.offline_errors(images, "build", ["postgres"]) == []
    errors = s.offline_errors(images, "build", ["postgres", "minio"])
    assert len(errors) == 1 and errors[0].startswith("minio has no offline build")
    assert "taylordash_minio_enabled: false" in errors[0]


@pytest.mark.parametrize("deploy_dir,project,domain,fragment", [
    ("opt/taylordash", "taylordash", "taylordash.local", "taylordash_deploy_dir must be an absolute path"),
    ("/", "taylordash", "taylordash.local", "taylordash_deploy_dir"),
    ("/opt/td", "TaylorDash", "taylordash.local", "taylordash_project_name"),
    ("/opt/td", "-td", "taylordash.local", "taylordash_project_name"),
    ("/opt/td", "td", "localhost", "taylordash_domain=\"localhost\""),
    ("/opt/td", "td", "*.taylordash.local", "taylordash_domain"),
    ("/opt/td", "td", "Taylordash.Local", "taylordash_domain"),
    ("/opt/td", "td", "bad_domain.local", "taylordash_domain=\"bad_domain.local\""),
    ("/opt/td", "td", 42, "taylordash_domain=42"),
])
def test_shared_settings_are_named(deploy_dir, project, domain, fragment):
    errors = s.shared_errors(deploy_dir, project, domain)
    assert len(errors) == 1 and fragment in errors[0], errors


@pytest.mark.parametrize("apps,plan,fragments", [
    ({"admin": {"path": "admin", "kinds": ["vite"]}}, PLAN, ["taylordash_dev_apps.admin has no port"]),
    ({"backend": {"path": "backend", "kinds": ["flask"]}}, PLAN, ["taylordash_dev_apps.backend.kinds", "flask"]),
    ({"backend": {"path": "backend", "kinds": []}}, PLAN, ["taylordash_dev_apps.backend.kinds must list"]),
    ({"backend": {"path": "/srv/backend", "kinds": ["uvicorn"]}}, PLAN, ["taylordash_dev_apps.backend.path"]),
    ({"backend": {"path": "../backend", "kinds": ["uvicorn"]}}, PLAN, ["taylordash_dev_apps.backend.path", "../"]),
    ({"backend": {"kinds": ["uvicorn"]}}, PLAN, ["taylordash_dev_apps.backend.path"]),
    ({"backend": {"path": "backend", "kinds": ["uvicorn"]}}, dict(PLAN, backend={"port": 3000}),
     ["taylordash_dev_apps.backend needs a plain number as taylordash_port_plan.backend"]),
    ({"backend": "backend"}, PLAN, ["taylordash_dev_apps.backend must be a mapping"]),
])
def test_a_bad_dev_app_is_named(apps, plan, fragments):
    errors = s.dev_app_errors(apps, plan)
    assert len(errors) == 1, errors
    for fragment in fragments:
        assert fragment in errors[0]


def test_a_path_with_dots_in_a_name_is_fine():
    assert s.dev_app_errors({"backend": {"path": "apps/..hidden/x..y", "kinds": ["uvicorn"]}}, PLAN) == []


@pytest.mark.parametrize("changes,fragments", [
    ({"infrastructure_alert_service_down_for": "soon"}, ["infrastructure_alert_service_down_for", "soon"]),
    ({"infrastructure_prometheus_retention": "15 days"}, ["infrastructure_prometheus_retention", "15 days"]),
    ({"infrastructure_alertmanager_repeat_interval": 4}, ["infrastructure_alertmanager_repeat_interval", "4"]),
    ({"infrastructure_alert_disk_percent": 120}, ["infrastructure_alert_disk_percent", "120"]),
    ({"infrastructure_alert_memory_percent": 0}, ["infrastructure_alert_memory_percent", "0"]),
    ({"infrastructure_alert_memory_percent": "high"}, ["infrastructure_alert_memory_percent", "high"]),
    ({"infrastructure_alert_response_time_seconds": -1}, ["infrastructure_alert_response_time_seconds"]),
    ({"infrastructure_alertmanager_webhook_url": "ftp://alerts"},
     ["infrastructure_alertmanager_webhook_url", "ftp://alerts"]),
    ({"infrastructure_alertmanager_webhook_url": "http://a b"}, ["infrastructure_alertmanager_webhook_url"]),
    ({"infrastructure_secrets": {"api-key": "x"}}, ["infrastructure_secrets", "api-key"]),
    ({"infrastructure_postgres_user": "Taylor"}, ["infrastructure_postgres_user", "Taylor"]),
    ({"infrastructure_postgres_db": "taylor-dash"}, ["infrastructure_postgres_db", "taylor-dash"]),
    ({"infrastructure_mqtt_user": "a b"}, ["infrastructure_mqtt_user must use"]),
    ({"infrastructure_mqtt_monitor_user": "taylordash"}, ["the two MQTT users differ"]),
    ({"infrastructure_publish_extra": ["redis"]}, ["infrastructure_publish_extra", "redis"]),
    ({"infrastructure_publish_extra": ["traefik-web"]}, ["infrastructure_publish_extra", "traefik-web"]),
])
def test_a_bad_infrastructure_setting_is_named(changes, fragments):
    errors = s.infrastructure_errors(dict(SETTINGS, **changes), PORT_MAP, PUBLISHED, ENABLED, PLAN)
    assert len(errors) == 1, errors
    for fragment in fragments:
        assert fragment in errors[0]


@pytest.mark.parametrize("value", ["30s", "1h30m", "500ms", "2w", "1y"])
def test_prometheus_durations_pass(value):
    assert s.infrastructure_errors(dict(SETTINGS, infrastructure_alert_disk_for=value),
                                   PORT_MAP, PUBLISHED, ENABLED, PLAN) == []


def test_an_internal_port_is_published_on_loopback_only():
    published = dict(PUBLISHED, postgres={"port": 5432, "address": "0.0.0.0", "public": False})
    errors = s.infrastructure_errors(SETTINGS, PORT_MAP, published, ENABLED, PLAN)
    assert errors == ["taylordash_port_plan.postgres (address not loopback): internal services are published (in "
                      "production mode or through infrastructure_publish_extra) only on 127.0.0.1 or ::1; got "
                      "\"0.0.0.0\""]
    published["postgres"]["address"] = "::1"
    assert s.infrastructure_errors(SETTINGS, PORT_MAP, published, ENABLED, PLAN) == []


def test_a_public_port_of_an_enabled_service_needs_its_plan_entry():
    plan = {name: value for name, value in PLAN.items() if name not in ("traefik-web", "mosquitto")}
    errors = s.infrastructure_errors(SETTINGS, PORT_MAP, {}, ["traefik", "postgres"], plan)
    assert errors == ["taylordash_port_plan.traefik-web is missing; traefik is enabled and publishes it."]


def test_every_problem_is_reported_at_once():
    settings = copy.deepcopy(SETTINGS)
    settings.update(infrastructure_alert_disk_percent=100, infrastructure_mqtt_monitor_user="taylordash",
                    infrastructure_alert_disk_for="10 minutes")
    assert len(s.infrastructure_errors(settings, PORT_MAP, PUBLISHED, ENABLED, PLAN)) == 3


PROXY = load("roles/proxy/defaults/main.yml")


def proxy(**changes):
    # The shipped defaults as Ansible renders them for the shipped taylordash_domain.
    assert PROXY["proxy_dashboard_host"] == "traefik.{{ taylordash_domain }}"
    args = dict(tls_names=["taylordash.local", "traefik.taylordash.local"], dashboard_host="traefik.taylordash.local",
                tls="local", dashboard_user=PROXY["proxy_dashboard_user"])
    args.update(changes)
    return s.proxy_errors(**args)


def test_the_shipped_proxy_settings_have_no_problem():
    assert proxy() == []


@pytest.mark.parametrize("changes,fragment", [
    ({"tls_names": []}, "proxy_tls_names must list"),
    ({"tls_names": ["*.taylordash.local", "traefik.taylordash.local"]}, "proxy_tls_names: [\"*.taylordash.local\"]"),
    ({"tls_names": ["taylordash.local"]}, "proxy_dashboard_host=\"traefik.taylordash.local\" must be one of"),
    ({"dashboard_host": "traefik"}, "proxy_dashboard_host=\"traefik\" is not a DNS name"),
    ({"dashboard_user": "ad:min"}, "proxy_dashboard_user=\"ad:min\""),
    ({"dashboard_user": ""}, "proxy_dashboard_user=\"\""),
    ({"dashboard_user": "ad min"}, "proxy_dashboard_user=\"ad min\" is not a valid basic-auth user"),
])
def test_a_bad_proxy_setting_is_named(changes, fragment):
    errors = proxy(**changes)
    assert len(errors) == 1 and fragment in errors[0], errors


def test_with_acme_the_dashboard_host_need_not_be_a_local_name():
    assert proxy(tls_names=["taylordash.local"], tls="acme") == []


APP_BUILDS = {"backend": {"src": "/src/backend", "needs": ["requirements.txt", "app/main.py"]},
              "frontend": {"src": "/src/frontend", "needs": ["package.json"]}}
APP_TREE = {"/src/backend": "d", "/src/backend/requirements.txt": "f", "/src/backend/app/main.py": "f",
            "/src/frontend": "d", "/src/frontend/package.json": "f", "/src/plugin": "d", "/src/plugin/package.json": "f"}
APP_PORTS = {"backend": 8000, "backend-metrics": 9100, "frontend": 8080}


def app_errors(builds=None, apps=("backend", "frontend"), plugins=None, plan=None, workers=2, ports=None, tree=None):
    tree = APP_TREE if tree is None else tree
    return s.application_errors(APP_BUILDS if builds is None else builds, list(apps), [] if plugins is None else plugins,
                                PLAN if plan is None else plan, workers, APP_PORTS if ports is None else ports,
                                tree.get)


def test_good_application_settings_pass():
    assert app_errors(plugins=[{"name": "mcp-manager", "src": "/src/plugin"}]) == []


@pytest.mark.parametrize("changes,fragments", [
    ({"tree": {k: v for k, v in APP_TREE.items() if not k.startswith("/src/backend")}},
     ["application_backend_src=/src/backend: not a directory on the controller"]),
    ({"tree": {k: v for k, v in APP_TREE.items() if k != "/src/backend/app/main.py"}},
     ["application_backend_src=/src/backend: has no app/main.py"]),
    ({"workers": 0}, ["application_backend_workers must be a whole number >= 1; got 0"]),
    ({"workers": "two"}, ["application_backend_workers", '"two"']),
    ({"ports": dict(APP_PORTS, **{"backend-metrics": "8000"})}, ["backend-metrics.container must differ", "8000"]),
    ({"ports": dict(APP_PORTS, frontend=80)}, ["frontend.container must be unprivileged", "got 80"]),
    ({"plugins": [{"name": "mcp-manager"}]}, ["application_dev_plugins entry", "needs name and src"]),
    ({"plugins": [{"name": "nowhere", "src": "/src/plugin"}]}, ["nowhere has no port in taylordash_port_plan"]),
    ({"plugins": [{"name": "mcp-manager", "src": "/src/backend"}]}, ["mcp-manager: /src/backend has no package.json"]),
    ({"plugins": "mcp-manager"}, ["application_dev_plugins must be a list"]),
])
def test_a_bad_application_setting_is_named(changes, fragments):
    errors = app_errors(**changes)
    assert errors, changes
    for fragment in fragments:
        assert any(fragment in error for error in errors), (fragment, errors)


def test_only_the_enabled_apps_are_checked():
    tree = {k: v for k, v in APP_TREE.items() if not k.startswith("/src/frontend")}
    assert app_errors(apps=["backend"], tree=tree, ports=dict(APP_PORTS, frontend=80)) == []


def spec_doc(**entries):
    return {"argument_specs": {name: {"options": options} for name, options in entries.items()}}


def test_role_options_merge_every_entry_point_and_leave_required_out():
    merged = s.role_options([
        spec_doc(main={"a_port": {"type": "int", "description": "one"}},
                 ship={"a_refs": {"type": "list", "elements": "str", "required": True}}),
        spec_doc(main={"b_mode": {"type": "str", "choices": ["x", "y"]}},
                 validate={"b_mode": {"type": "str", "choices": ["x", "y"], "description": "other words"}}),
        None,
    ])
    assert sorted(merged) == ["a_port", "a_refs", "b_mode"]
    assert merged["a_port"] == {"type": "int", "description": "one"}
    assert merged["a_refs"] == {"type": "list", "elements": "str"}, "required is left out"
    assert {k: v for k, v in merged["b_mode"].items() if k != "description"} == {"type": "str", "choices": ["x", "y"]}


def test_role_options_refuse_one_option_defined_two_ways():
    with pytest.raises(ValueError, match="option a_port is defined differently"):
        s.role_options([spec_doc(main={"a_port": {"type": "int"}}, lock={"a_port": {"type": "str"}})])


def test_the_shipped_argument_specs_merge():
    docs = [load("roles/%s/meta/argument_specs.yml" % role) for role in
            ("taylordash", "docker_engine", "images", "release", "cleanup", "infrastructure", "application", "proxy", "health")]
    merged = s.role_options(docs)
    assert "taylordash_deploy_dir" in merged and "infrastructure_mode" in merged and "release_ship_refs" in merged
    assert not any(spec.get("required") for spec in merged.values())
