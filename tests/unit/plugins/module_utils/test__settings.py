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


# ------------------------------------------------------------------- the deploy directory

@pytest.mark.parametrize("path", list(s.SYSTEM_DIRS) + [
    "/etc/", "//etc", "/etc//", "/etc/.", "/./etc", "/usr/lib/..", "/opt/taylordash/..", "//", "///", "/.", "/var/./",
    "/home/", "/tmp//",
])
def test_a_system_directory_is_refused_as_the_deploy_directory(path):
    errors = s.shared_errors(path, "taylordash", "taylordash.local")
    assert len(errors) == 1, errors
    assert errors[0].startswith("taylordash_deploy_dir: '%s' is a system directory" % path), errors
    assert "/opt/taylordash" in errors[0]


def test_the_message_names_the_directory_a_path_normalises_to():
    assert s.shared_errors("/etc/", "td", "taylordash.local")[0].startswith(
        "taylordash_deploy_dir: '/etc/' is a system directory (/etc); the stack needs a directory of its own")
    assert "(/)" in s.shared_errors("/opt/..", "td", "taylordash.local")[0]


@pytest.mark.parametrize("path", ["/opt/taylordash", "/opt/taylordash/", "/srv/taylordash", "/home/ops/taylordash",
                                  "/var/lib/taylordash", "/etcetera", "/tmp/taylordash", "/usr/local/taylordash",
                                  "/data"])
def test_a_directory_of_its_own_is_fine(path):
    assert s.shared_errors(path, "taylordash", "taylordash.local") == []


@pytest.mark.parametrize("path", ["opt/taylordash", "", None, 42, "/opt/taylordash\n", "/opt/task\tdash", "./opt"])
def test_the_deploy_directory_is_an_absolute_path_on_one_line(path):
    errors = s.shared_errors(path, "taylordash", "taylordash.local")
    assert len(errors) == 1 and errors[0].startswith("taylordash_deploy_dir must be an absolute path on one line"), errors


# ------------------------------------------------------------------- patterns anchored: "value\n" fails

@pytest.mark.parametrize("call,fragment", [
    (lambda: s.shared_errors("/opt/td", "td", "taylordash.local\n"), "taylordash_domain="),
    (lambda: s.shared_errors("/opt/td", "td\n", "taylordash.local"), "taylordash_project_name"),
    (lambda: s.image_errors(dict(IMAGES, postgres={"registry": "postgres:17\n", "build": ""})),
     "taylordash_images.postgres.registry"),
    (lambda: s.image_errors(dict(IMAGES, postgres={"registry": "postgres:17", "build": "taylordash/postgres:17\n"})),
     "taylordash_images.postgres.build"),
    (lambda: s.infrastructure_errors(dict(SETTINGS, infrastructure_alert_disk_for="10m\n"), PORT_MAP, PUBLISHED,
                                     ENABLED, PLAN), "infrastructure_alert_disk_for"),
    (lambda: s.infrastructure_errors(dict(SETTINGS, infrastructure_alertmanager_webhook_url="http://alerts\n"), PORT_MAP,
                                     PUBLISHED, ENABLED, PLAN), "infrastructure_alertmanager_webhook_url"),
    (lambda: s.infrastructure_errors(dict(SETTINGS, infrastructure_secrets={"API_KEY\n": "x" * 20}), PORT_MAP,
                                     PUBLISHED, ENABLED, PLAN), "infrastructure_secrets: keys are .env names"),
    (lambda: s.infrastructure_errors(dict(SETTINGS, infrastructure_postgres_user="taylordash\n"), PORT_MAP, PUBLISHED,
                                     ENABLED, PLAN), "infrastructure_postgres_user"),
    (lambda: s.infrastructure_errors(dict(SETTINGS, infrastructure_mqtt_monitor_user="monitor\n"), PORT_MAP, PUBLISHED,
                                     ENABLED, PLAN), "infrastructure_mqtt_monitor_user"),
    (lambda: proxy(tls_names=["taylordash.local\n", "traefik.taylordash.local"]), "proxy_tls_names"),
    (lambda: proxy(dashboard_user="admin\n"), "proxy_dashboard_user"),
    (lambda: s.cleanup_errors(dict(CLEANUP, cleanup_compose_projects=[{"name": "taylordashv1\n"}]), APPS, "taylordash"),
     "cleanup_compose_projects names"),
    (lambda: s.docker_engine_errors(dict(ENGINE, docker_engine_log_max_size="10m\n"), PLATFORMS, FACTS),
     "docker_engine_log_max_size"),
    (lambda: s.docker_engine_errors(dict(ENGINE, docker_engine_docker_ce_url="https://download.docker.com\n"), PLATFORMS,
                                    FACTS), "docker_engine_docker_ce_url"),
    (lambda: s.docker_engine_errors(dict(ENGINE, docker_engine_python_packages=["python3-yaml\n"]), PLATFORMS, FACTS),
     "docker_engine_python_packages"),
    (lambda: s.backup_errors("nightly\n", "", TREE.get), "backup_label"),
    (lambda: s.audit_errors("none", ["/srv\n"]), "audit_scan_roots"),
])
def test_a_value_with_a_trailing_newline_fails(call, fragment):
    errors = call()
    assert len(errors) == 1 and fragment in errors[0], errors


def test_the_patterns_are_anchored_at_the_very_end():
    for pattern, good in [(s.IMAGE_REF, "postgres:17"), (s.TAG, ":17"), (s.DNS_NAME, "taylordash.local"),
                          (s.PROJECT_NAME, "taylordash"), (s.DURATION, "30s"), (s.ENV_NAME, "API_KEY"),
                          (s.SQL_NAME, "taylordash"), (s.MQTT_USER, "monitor"), (s.URL, "http://alerts"),
                          (s.BASIC_AUTH_USER, "admin"), (s.LOG_SIZE, "10m"), (s.APT_URL, "file:///srv/mirror"),
                          (s.DEB_PACKAGE, "python3-yaml"), (s.BACKUP_LABEL, "nightly")]:
        assert pattern.search(good) if pattern is s.TAG else pattern.match(good), good
        assert not (pattern.search(good + "\n") if pattern is s.TAG else pattern.match(good + "\n")), pattern.pattern


# ------------------------------------------------------------------- the checks that were Jinja (cleanup, engine, backup, audit)

CLEANUP = {name: value for name, value in load("roles/cleanup/defaults/main.yml").items()}
CLEANUP["cleanup_compose_projects"] = [{"name": "taylordashv1", "project_src": "/TaylorProjects/TaylorDashv1"}]
ENGINE = load("roles/docker_engine/defaults/main.yml")
PLATFORMS = load("roles/docker_engine/vars/main.yml")["docker_engine_platforms"]
FACTS = {"distribution": "Debian", "distribution_major_version": "13"}
TREE = {"/keys/backup.txt": "f", "/keys": "d"}


def test_the_shipped_role_settings_have_no_problem():
    assert s.cleanup_errors(CLEANUP, APPS, "taylordash") == []
    assert s.docker_engine_errors(ENGINE, PLATFORMS, FACTS) == []
    assert s.docker_engine_errors(ENGINE, PLATFORMS, {"distribution": "Ubuntu", "distribution_major_version": "24"}) == []
    assert s.backup_errors("", "", TREE.get) == [] and s.backup_errors("pre-migration-abc.1", "/keys/backup.txt",
                                                                        TREE.get) == []
    assert s.audit_errors("none", []) == [] and s.audit_errors("critical", ["/srv", "/opt/app"]) == []


@pytest.mark.parametrize("changes,fragment", [
    ({"cleanup_keep_apps": ["frontend", "no-such-app"]},
     "cleanup_keep_apps names unknown app(s) no-such-app (known: backend, frontend, mcp-manager"),
    ({"cleanup_keep_apps": ["frontend"], "cleanup_stop_all_dev_servers": True},
     "cleanup_keep_apps overlaps cleanup_stop_all_dev_servers=true"),
    ({"cleanup_stop_timeout": -5}, "cleanup_stop_timeout must be a whole number of seconds, 0 or more (got -5)"),
    ({"cleanup_stop_timeout": "ten"}, 'cleanup_stop_timeout must be a whole number of seconds, 0 or more (got "ten")'),
    ({"cleanup_stop_timeout": 1.5}, "cleanup_stop_timeout must be a whole number"),
    ({"cleanup_stop_timeout": True}, "cleanup_stop_timeout must be a whole number of seconds, 0 or more (got true)"),
    ({"cleanup_stop_timeout": None}, "cleanup_stop_timeout must be a whole number"),
    ({"cleanup_compose_projects": [{"name": "Old Stack"}]}, 'cleanup_compose_projects names must be compose project names'
                                                            ' (got "Old Stack")'),
    ({"cleanup_compose_projects": [{"project_src": "/srv/old"}]}, "cleanup_compose_projects entries are mappings with a "
                                                                  "`name`"),
    ({"cleanup_compose_projects": [{"name": "taylordash"}]}, "cleanup_compose_projects must not name "
                                                             "taylordash_project_name (taylordash)"),
    ({"cleanup_remove_volumes": True}, "cleanup_remove_volumes=true deletes the data volumes of taylordashv1; also set "
                                       "cleanup_remove_volumes_confirm=delete-volumes"),
    ({"cleanup_remove_volumes": True, "cleanup_remove_volumes_confirm": "yes"}, "cleanup_remove_volumes=true deletes"),
])
def test_a_bad_cleanup_setting_is_named(changes, fragment):
    errors = s.cleanup_errors(dict(CLEANUP, **changes), APPS, "taylordash")
    assert len(errors) == 1 and fragment in errors[0], errors


@pytest.mark.parametrize("changes", [{"cleanup_stop_timeout": 0}, {"cleanup_stop_timeout": "30"},
                                     {"cleanup_remove_volumes": True, "cleanup_remove_volumes_confirm": "delete-volumes"},
                                     {"cleanup_keep_apps": ["frontend"]}, {"cleanup_compose_projects": []}])
def test_good_cleanup_settings_pass(changes):
    assert s.cleanup_errors(dict(CLEANUP, **changes), APPS, "taylordash") == []


@pytest.mark.parametrize("changes,facts,fragment", [
    ({}, {}, "docker_engine reads ansible_facts: gather them first"),
    ({}, {"distribution": "Fedora", "distribution_major_version": "40"},
     "docker_engine supports Debian, Ubuntu (bookworm, trixie, jammy, noble); this host reports "
     "ansible_facts.distribution=Fedora and ansible_facts.distribution_major_version=40"),
    ({}, {"distribution": "Debian", "distribution_major_version": "11"}, "ansible_facts.distribution_major_version=11"),
    ({}, {"distribution": "Debian"}, "ansible_facts.distribution_major_version=(not gathered)"),
    ({"docker_engine_log_max_size": "ten megabytes"}, FACTS, "docker_engine_log_max_size must look like 10m"),
    ({"docker_engine_log_max_file": 0}, FACTS, "docker_engine_log_max_file must be a whole number of at least 1 (got 0)"),
    ({"docker_engine_wait_timeout": "soon"}, FACTS, "docker_engine_wait_timeout must be a whole number of at least 1"),
    ({"docker_engine_helper_suite_priority": 100}, FACTS, "docker_engine_helper_suite_priority must stay below 100"),
    ({"docker_engine_debian_mirror": "deb.debian.org"}, FACTS, "docker_engine_debian_mirror must be empty or an"),
    ({"docker_engine_docker_ce_url": "ftp://download.docker.com"}, FACTS, "docker_engine_docker_ce_url must be an http(s)"),
    ({"docker_engine_docker_ce_gpg_key": "mQINBF..."}, FACTS, "docker_engine_docker_ce_gpg_key must be empty"),
    ({"docker_engine_apt_keyrings_dir": "keyrings"}, FACTS, "docker_engine_apt_keyrings_dir must be an absolute path"),
    ({"docker_engine_pidfile": "/run/docker\n.pid"}, FACTS, "docker_engine_pidfile must be an absolute path on one line"),
    ({"docker_engine_apt_cache_valid_time": -1}, FACTS, "docker_engine_apt_cache_valid_time must be a whole number"),
    ({"docker_engine_python_packages": "python3-yaml"}, FACTS, "docker_engine_python_packages must list Debian package"),
])
def test_a_bad_engine_setting_is_named(changes, facts, fragment):
    errors = s.docker_engine_errors(dict(ENGINE, **changes), PLATFORMS, facts)
    assert len(errors) == 1 and fragment in errors[0], errors


@pytest.mark.parametrize("changes", [{"docker_engine_debian_mirror": "http://mirror.local/debian"},
                                     {"docker_engine_debian_mirror": "file:///srv/mirror"},
                                     {"docker_engine_docker_ce_gpg_key": "-----BEGIN PGP PUBLIC KEY BLOCK-----\nmQ..."},
                                     {"docker_engine_log_max_size": "1g", "docker_engine_log_max_file": "5"},
                                     {"docker_engine_helper_suite_priority": -10}])
def test_good_engine_settings_pass(changes):
    assert s.docker_engine_errors(dict(ENGINE, **changes), PLATFORMS, FACTS) == []


@pytest.mark.parametrize("label,identity_file,fragment", [
    ("Nightly", "", 'backup_label: "Nightly" may hold lower-case letters'),
    ("-nightly", "", "backup_label"),
    ("a" * 62, "", "backup_label"),
    ("night ly", "", "backup_label"),
    ("", "/keys/missing.txt", "backup_identity_file: /keys/missing.txt is not a file on the controller"),
    ("", "/keys", "backup_identity_file: /keys is not a file"),
])
def test_a_bad_backup_setting_is_named(label, identity_file, fragment):
    errors = s.backup_errors(label, identity_file, TREE.get)
    assert len(errors) == 1 and fragment in errors[0], errors


@pytest.mark.parametrize("fail_on,roots,fragment", [
    ("severe", [], 'audit_fail_on must be one of none, info, warning, critical, not "severe"'),
    ("none", "/srv", 'audit_scan_roots must be a list of absolute paths, not "/srv"'),
    ("none", ["srv"], 'audit_scan_roots must be a list of absolute paths, not ["srv"]'),
    ("none", {"/srv": 1}, "audit_scan_roots must be a list"),
])
def test_a_bad_audit_setting_is_named(fail_on, roots, fragment):
    errors = s.audit_errors(fail_on, roots)
    assert len(errors) == 1 and fragment in errors[0], errors


@pytest.mark.parametrize("value,number", [(3, 3), ("3", 3), (" 3 ", 3), (3.0, 3), ("-2", -2), (True, None), (False, None),
                                          (None, None), ("3.5", None), (3.5, None), ("3\n", 3), ("three", None), ([3], None)])
def test_whole_numbers(value, number):
    assert s.whole(value) == number


KNOWN_SECRETS = ["POSTGRES_PASSWORD", "MQTT_PASSWORD", "API_KEY", "TRAEFIK_DASHBOARD_PASSWORD"]


@pytest.mark.parametrize("names, rotation_id, fragment", [
    ([], "", None),
    (None, "", None),
    (["API_KEY"], "2026-q4", None),
    (["API_KEY", "POSTGRES_PASSWORD"], "a" * 64, None),
    (["API_KEY"], "", "taylordash_rotation_id must name the rotation"),
    (["API_KEY"], "a" * 65, "taylordash_rotation_id must name the rotation"),
    (["API_KEY"], "q4\n", "taylordash_rotation_id must name the rotation"),
    (["API_KEY"], "-q4", "taylordash_rotation_id must name the rotation"),
    (["API_KEY"], "q4/../x", "taylordash_rotation_id must name the rotation"),
    (["API_KEY"], 4, "taylordash_rotation_id must name the rotation"),
    ([], "q4", "taylordash_rotation_id is \"q4\" but taylordash_rotate_secrets names no secret"),
    (["API_KEY", "API_KEY"], "q4", "taylordash_rotate_secrets names [\"API_KEY\"] more than once"),
    (["DATABASE_URL"], "q4", "taylordash_rotate_secrets: [\"DATABASE_URL\"] unknown; the secrets are POSTGRES_PASSWORD"),
    ("API_KEY", "q4", "taylordash_rotate_secrets must be a list of secret names"),
    ([1], "q4", "taylordash_rotate_secrets must be a list of secret names"),
])
def test_a_rotation_names_known_secrets_once_under_an_id(names, rotation_id, fragment):
    errors = s.rotation_errors(names, rotation_id, KNOWN_SECRETS)
    if fragment is None:
        assert errors == []
    else:
        assert any(fragment in error for error in errors), errors


def test_without_the_known_names_only_the_form_is_checked():
    assert s.rotation_errors(["ANYTHING"], "q4", []) == []
