# -*- coding: utf-8 -*-
"""Every option of every role's argument spec has a row here: a bad value and the message it gets from the
first task of every playbook (tasks_from validate: ansible's ArgumentSpecValidator over the merged specs, then
module_utils/_inputs.py's option rules, _taylordash_input_errors, the catalogue and each phase's
<role>_settings_errors, as _inputs.input_errors runs them), or, where any value of its type is valid, an
explicit row saying why (with a value that passes). The options are read from roles/*/meta/argument_specs.yml
when the test runs: an option added without a row, or a row left for an option that is gone, fails here."""

import glob
import os

import jinja2
import jinja2.nativetypes
import pytest
import yaml

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.taylordash.ops.plugins.module_utils import _inputs, _settings

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), os.pardir, os.pardir, os.pardir, os.pardir))
RECIPIENT = "age1ukuzjevy3ggr9t2nphmfjl3uf9hdv2mp6vthqamhk00auy7w5f3qdncvpt"


def load(path):
    with open(os.path.join(ROOT, path), encoding="utf-8") as handle:
        return yaml.safe_load(handle)


SPEC_DOCUMENTS = dict((path.split(os.sep)[-3], load(path))
                      for path in sorted(glob.glob(os.path.join(ROOT, "roles", "*", "meta", "argument_specs.yml"))))
# option -> (role, entry point) of its first definition: every option of every entry point.
OPTIONS = {}
for _role, _document in SPEC_DOCUMENTS.items():
    for _entry, _spec in sorted(((_document or {}).get("argument_specs") or {}).items()):
        for _name in ((_spec or {}).get("options") or {}):
            OPTIONS.setdefault(_name, (_role, _entry))
SPEC = _settings.role_options(SPEC_DOCUMENTS.values())


def _render(defaults):
    """The roles' defaults as a run renders them (taylordash_image_source registry, no inventory)."""
    env = jinja2.nativetypes.NativeEnvironment(undefined=jinja2.StrictUndefined)
    env.filters["dirname"] = os.path.dirname
    env.filters["bool"] = bool
    env.globals["lookup"] = lambda plugin, name: {"HOME": "/root"}[name]
    values = dict(defaults, playbook_dir=os.path.join(ROOT, "playbooks"), role_path=os.path.join(ROOT, "roles", "application"))
    values["taylordash_image_refs"] = dict((name, entry["registry"]) for name, entry in values["taylordash_images"].items())

    def render(value, context):
        if isinstance(value, str) and "{{" in value:
            rendered = env.from_string(value).render(**context)
            return rendered if isinstance(rendered, (str, int, float, bool, dict, list)) else list(rendered)
        if isinstance(value, dict):
            return dict((key, render(item, context)) for key, item in value.items())
        if isinstance(value, list):
            return [render(item, context) for item in value]
        return value
    for _ in range(4):  # defaults that name defaults that name defaults
        values = dict((name, render(value, values)) for name, value in values.items())
    return dict((name, value) for name, value in values.items() if name in SPEC)


DEFAULTS = {}
for _path in sorted(glob.glob(os.path.join(ROOT, "roles", "*", "defaults", "main.yml"))):
    DEFAULTS.update(load(_path) or {})
BASE = _render(DEFAULTS)
PLAN = BASE["taylordash_port_plan"]

# What a run derives from the inventory, the controller and the catalogue (see _inputs.input_errors).
CONTEXT = {
    "groups": {"all": ["localhost", "offsite1"], "ungrouped": ["offsite1"], "proxy": ["localhost"], "app": ["localhost"],
               "data": ["localhost"], "monitoring": ["localhost"]},
    "inventory_hostname": "localhost",
    "backup_host": "localhost",
    "kind_of": lambda path: "d" if os.path.isdir(path) else "f" if os.path.isfile(path) else None,
    "platforms": load("roles/docker_engine/vars/main.yml")["docker_engine_platforms"],
    "facts": {"distribution": "Debian", "distribution_major_version": "13"},
    "port_map": {"traefik-web": {"service": "traefik", "target": 80, "public": True},
                 "mosquitto": {"service": "mosquitto", "target": 1883, "public": True},
                 "postgres": {"service": "postgres", "target": 5432, "public": False},
                 "prometheus": {"service": "prometheus", "target": 9090, "public": False}},
    "published": {"traefik-web": {"port": 80, "address": "0.0.0.0", "public": True},
                  "mosquitto": {"port": 1883, "address": "0.0.0.0", "public": True}},
    "enabled": ["traefik", "mosquitto", "postgres", "prometheus"],
    "application_builds": dict((app, {"needs": build["needs"]})
                               for app, build in load("roles/application/vars/main.yml")["_application_builds"].items()),
    "application_ports": {"backend": 8000, "backend-metrics": 9100, "frontend": 8080},
}


def check(values, by_check=False):
    """The messages tasks_from validate gives for these values: the argument specs first (plan_facts stops
    there when they fail), then every pure check."""
    outcome = ArgumentSpecValidator(SPEC).validate(values)
    if outcome.error_messages:
        return ["Validation of arguments failed: %s" % message for message in outcome.error_messages]
    validated = dict((name, outcome.validated_parameters.get(name)) for name in values)
    checks = _inputs.input_errors(validated, CONTEXT)
    return checks if by_check else [message for _, messages in checks for message in messages]


class Bad(object):
    """A bad value of the option and a fragment of its message; `also`: other variables the case needs;
    `good`: a value that does not get the message in the same case (default the shipped one)."""

    def __init__(self, value, fragment, also=None, good=None):
        self.value, self.fragment, self.also, self.good = value, fragment, dict(also or {}), good


class Any(object):
    """Any value of the option's type is valid: why, and a value to prove it passes."""

    def __init__(self, value, reason):
        self.value, self.reason = value, reason


def wrong_type(value, kind):
    return Bad(value, "argument '{option}' is of type %s and we were unable to convert to %s"
               % (type(value).__name__, kind))


def choice(value):
    return Bad(value, "value of {option} must be one of: ")


BOOL = wrong_type("maybe", "bool")
OFFSITE = {"taylordash_backup_offsite": ["offsite1"], "taylordash_backup_recipients": [RECIPIENT]}

ROWS = {
    # ---------------------------------------------------------------- taylordash
    "taylordash_deploy_dir": Bad("/etc/", "taylordash_deploy_dir: '/etc/' is a system directory (/etc)"),
    "taylordash_domain": Bad("taylordash.local\n", 'taylordash_domain="taylordash.local\\n" is not a valid DNS name'),
    "taylordash_tls": choice("letsencrypt"),
    "taylordash_tls_extra_names": Bad(["mqtt.example.com", "10.0.0.5", "bad name"],
                                      "taylordash_tls_extra_names[2] must be a DNS name or an IP address"),
    "taylordash_mqtt_plaintext_public": BOOL,
    "taylordash_acme_email": Bad("", "taylordash_acme_email is required with taylordash_tls: acme",
                                 also={"taylordash_tls": "acme"}, good="ops@example.com"),
    "taylordash_acme_ca_server": Bad("http://acme.example/directory", "taylordash_acme_ca_server must be an https:// URL"),
    "taylordash_project_name": Bad("TaylorDash", "taylordash_project_name must be a Compose project name"),
    "taylordash_label_prefix": Bad("Org Taylordash", "taylordash_label_prefix must be a reverse-DNS label prefix"),
    "taylordash_image_source": choice("mirror"),
    "taylordash_minio_enabled": BOOL,
    "taylordash_grafana_enabled": BOOL,
    "taylordash_images": Bad({"postgres": "postgres:17"}, "taylordash_images.postgres must have `registry` and `build`"),
    "taylordash_port_plan": Bad(dict(PLAN, mosquitto=70000),
                                "taylordash_port_plan.mosquitto: port must be an integer 1-65535, got 70000"),
    "taylordash_project_root": Bad("TaylorProjects/TaylorDashv1", "taylordash_project_root must be an absolute path"),
    "taylordash_dev_apps": Bad({"admin": {"path": "admin", "kinds": ["vite"]}}, "taylordash_dev_apps.admin has no port"),
    "taylordash_services": Bad(dict(BASE["taylordash_services"], postgres=dict(BASE["taylordash_services"]["postgres"],
                                                                               memroy="2g")),
                               "taylordash_services.postgres.memroy: unknown key"),
    "taylordash_service_overrides": Bad({"postgres": {"memroy": "2g"}}, "taylordash_services.postgres.memroy: unknown key"),
    "taylordash_catalogue": Any({"postgres": {"group": "data"}},
                                "read-only: derived from taylordash_services and taylordash_service_overrides (their rows "
                                "hold its checks) and set as a fact by the first task, which wins over a value set by hand"),
    "taylordash_address": Bad("10.0.1", 'taylordash_address of localhost: "10.0.1" is not an IPv4 or IPv6 address'),
    "taylordash_lock_path": Bad("deploy.lock", "taylordash_lock_path must be an absolute path"),
    "taylordash_lock_timeout": Bad(-1, "taylordash_lock_timeout must be a whole number of seconds, 0 or more"),
    "taylordash_lock_break": BOOL,
    "taylordash_mode": choice("staging"),
    "taylordash_mode_change_confirm": BOOL,
    "taylordash_secrets_seed_from": Bad("host1\nhost2", "taylordash_secrets_seed_from must be text on one line"),
    "taylordash_rotate_secrets": Bad(["API_KEY", "API_KEY"], "taylordash_rotate_secrets names [\"API_KEY\"] more than once",
                                     also={"taylordash_rotation_id": "q4"}, good=["API_KEY"]),
    "taylordash_rotation_id": Bad("../q4", "taylordash_rotation_id must name the rotation",
                                  also={"taylordash_rotate_secrets": ["API_KEY"]}, good="2026-q4"),
    "taylordash_build_on_controller": BOOL,
    "taylordash_payload_cache": BOOL,
    "taylordash_template_dirs": Bad([""], "taylordash_template_dirs[0] must be non-empty text on one line"),
    "taylordash_serial": Bad(0, "taylordash_serial must be a whole number of hosts (1 or more) or a percentage"),
    "taylordash_secrets_source": choice("vault"),
    "taylordash_built_images_file": Bad("built-images", "taylordash_built_images_file must be an absolute path"),
    "taylordash_phases": Bad(["firewall"], 'taylordash_phases: ["firewall"] unknown'),
    "taylordash_secrets_file": Bad("secrets.env", "taylordash_secrets_file must be an absolute path"),
    "taylordash_postgres_upgrade": BOOL,
    "taylordash_postgres_upgrade_remove_old": BOOL,
    "taylordash_v1_project": Bad("Taylor Dash v1", "taylordash_v1_project must be a Compose project name"),
    "taylordash_v1_data": choice("merge"),
    "taylordash_v1_database": Bad("taylor dash", "taylordash_v1_database must be a database name"),
    "taylordash_backup_schedule": Bad("every night", "taylordash_backup_schedule: 'every night' is not hourly"),
    "taylordash_backup_keep_daily": Bad(0, "taylordash_backup_keep_daily must be a whole number of at least 1"),
    "taylordash_backup_keep_weekly": Bad(0, "taylordash_backup_keep_weekly must be a whole number of at least 1"),
    "taylordash_backup_keep_monthly": Bad(0, "taylordash_backup_keep_monthly must be a whole number of at least 1"),
    "taylordash_backup_keep_pre_migration": Bad(0, "taylordash_backup_keep_pre_migration must be a whole number"),
    "taylordash_backup_recipients": Bad(["age1notakey"], "taylordash_backup_recipients: 'age1notakey' is not an age"),
    "taylordash_backup_secrets": Bad(True, "taylordash_backup_secrets is true but taylordash_backup_recipients is empty"),
    "taylordash_backup_offsite": Bad(["ftp://nowhere/x"], "taylordash_backup_offsite: 'ftp://nowhere/x' is neither"),
    "taylordash_backup_offsite_user": Bad("root", "taylordash_backup_offsite_user must be a user name of its own",
                                          also=OFFSITE),
    "taylordash_backup_offsite_dir": Bad("/var/lib", "taylordash_backup_offsite_dir /var/lib would hand over", also=OFFSITE),
    "taylordash_backup_offsite_port": Bad(0, "taylordash_backup_offsite_port must be a port number (1-65535)",
                                          also=OFFSITE),
    "taylordash_backup_s3": Bad({"endpoint": "https://s3.example.com", "secret_key": "short"},
                                "taylordash_backup_s3.secret_key: the supplied value is shorter than "
                                "taylordash_secret_min_length"),
    "taylordash_backup_dir": Bad("/var/", "taylordash_backup_dir: '/var/' is a system directory (/var)"),
    "taylordash_secret_min_length": Bad(0, "taylordash_secret_min_length must be a whole number of characters, 1 or more"),
    # ---------------------------------------------------------------- docker_engine
    "docker_engine_source": choice("snap"),
    "docker_engine_debian_mirror": Bad("deb.debian.org/debian", "docker_engine_debian_mirror must be empty or an"),
    "docker_engine_helper_suite_priority": Bad(500, "docker_engine_helper_suite_priority must stay below 100"),
    "docker_engine_docker_ce_url": Bad("download.docker.com", "docker_engine_docker_ce_url must be an http(s) URL"),
    "docker_engine_docker_ce_channel": choice("nightly"),
    "docker_engine_docker_ce_gpg_key": Bad("not a key", "docker_engine_docker_ce_gpg_key must be empty (downloaded)"),
    "docker_engine_apt_sources_dir": Bad("sources.list.d", "docker_engine_apt_sources_dir must be an absolute path"),
    "docker_engine_apt_preferences_dir": Bad("preferences.d\n", "docker_engine_apt_preferences_dir must be an absolute"),
    "docker_engine_apt_keyrings_dir": Bad("keyrings", "docker_engine_apt_keyrings_dir must be an absolute path"),
    "docker_engine_apt_cache_valid_time": Bad(-1, "docker_engine_apt_cache_valid_time must be a whole number"),
    "docker_engine_python_packages": Bad(["python3 requests"], "docker_engine_python_packages must list Debian package"),
    "docker_engine_service_manager": choice("runit"),
    "docker_engine_pidfile": Bad("docker.pid", "docker_engine_pidfile must be an absolute path"),
    "docker_engine_log_file": Bad("docker.log", "docker_engine_log_file must be an absolute path"),
    "docker_engine_wait_timeout": Bad(0, "docker_engine_wait_timeout must be a whole number of at least 1"),
    "docker_engine_log_max_size": Bad("10m\n", "docker_engine_log_max_size must look like 10m"),
    "docker_engine_log_max_file": Bad(0, "docker_engine_log_max_file must be a whole number of at least 1"),
    "docker_engine_live_restore": BOOL,
    # Extra daemon.json keys merged over the generated ones (dockerd judges its own keys when the role
    # restarts it), except iptables off: the host rules and the firewall rely on Docker's DNAT.
    "docker_engine_daemon_options": Bad({"max-concurrent-downloads": 6, "iptables": False},
                                        "docker_engine_daemon_options.iptables=false: published ports would reach",
                                        good={"max-concurrent-downloads": 6}),
    # ---------------------------------------------------------------- images
    "images_build_dir": Bad("build/images", "images_build_dir must be an absolute path"),
    "images_debian_suite": Bad("Trixie 13", "images_debian_suite must be a Debian release name"),
    "images_debian_mirror": Bad("deb.debian.org/debian", "images_debian_mirror must be empty or an http(s) URL"),
    "images_debian_security_mirror": Bad("ftp://security.debian.org", "images_debian_security_mirror must be empty or"),
    "images_debootstrap_variant": choice("fakechroot"),
    "images_ca_bundle": Bad("ca-certificates.crt", "images_ca_bundle must be an absolute path"),
    "images_traefik_version": Bad("latest", "images_traefik_version must be a version like 3.7.15"),
    "images_pull_policy": choice("never"),
    "images_registry_mirror": Bad("https://mirror.example.com/", "images_registry_mirror must be empty or a registry"),
    "images_postgres_major": Bad("seventeen", "images_postgres_major must be a whole number, 9 or more"),
    "images_postgres_suites": Bad({"17": "Trixie 13"}, 'images_postgres_suites: "17" -> "Trixie 13" must map'),
    "images_postgres_registry": Bad("docker.io/library/postgres:17", "must be an image repository, without a tag"),
    # ---------------------------------------------------------------- release
    "release_ship_refs": Bad(["Bad Ref"], 'release_ship_refs[0]: "Bad Ref" is not an image reference'),
    "release_ship_from": Bad("", "release_ship_from must be non-empty text on one line"),
    "release_ship_cache_dir": Bad("cache", "release_ship_cache_dir must be an absolute path"),
    "release_ship_dir": Bad("images", "release_ship_dir must be an absolute path"),
    "release_ship_min_free_mb": Bad(-1, "release_ship_min_free_mb must be a whole number, 0 or more"),
    "release_ship_transfer": choice("scp"),
    "release_pull_policy": choice("never"),
    "release_registry_mirror": Bad("mirror.example.com", "release_registry_mirror must be empty or a registry prefix"),
    "release_keep_repos": Bad(["taylordash/backend:1"], 'release_keep_repos[0]: "taylordash/backend:1" must be an image '
                                                        'repository'),
    "release_keep_count": Bad(0, "release_keep_count must be a whole number, 1 or more"),
    "release_keep_current": Bad(["Backend:1"], 'release_keep_current[0]: "Backend:1" is not an image reference'),
    "release_keep_rollback": BOOL,
    "release_rollback_repos": Bad({"backend": "taylordash/backend:1"}, "release_rollback_repos.backend: "
                                                                         '"taylordash/backend:1" must be an image repository'),
    # ---------------------------------------------------------------- cleanup
    "cleanup_dev_servers": BOOL,
    "cleanup_stop_all_dev_servers": Bad(True, "cleanup_keep_apps overlaps cleanup_stop_all_dev_servers=true",
                                        also={"cleanup_keep_apps": ["frontend"]}),
    "cleanup_keep_apps": Bad(["no-such-app"], "cleanup_keep_apps names unknown app(s) no-such-app"),
    "cleanup_stop_timeout": Bad(-5, "cleanup_stop_timeout must be a whole number of seconds, 0 or more (got -5)"),
    "cleanup_compose_projects": Bad([{"name": "Old Stack"}], 'cleanup_compose_projects names must be compose project names'
                                                             ' (got "Old Stack")'),
    "cleanup_remove_volumes": Bad(True, "cleanup_remove_volumes=true deletes the data volumes of taylordashv1"),
    "cleanup_remove_volumes_confirm": Bad("yes", "also set cleanup_remove_volumes_confirm=delete-volumes",
                                          also={"cleanup_remove_volumes": True}, good="delete-volumes"),
    "cleanup_prune_docker": BOOL,
    "cleanup_keep_label": Bad("keep me", "cleanup_keep_label must be a label key"),
    # ---------------------------------------------------------------- infrastructure
    "infrastructure_mode": choice("staging"),
    "infrastructure_publish_extra": Bad(["redis"], 'infrastructure_publish_extra: ["redis"] are not internal services'),
    "infrastructure_start": BOOL,
    "infrastructure_app_follows": BOOL,
    "infrastructure_firewall_guard": BOOL,
    "infrastructure_autoheal_interval": Bad(0, "infrastructure_autoheal_interval must be a whole number of seconds, from 1 to 3600"),
    "infrastructure_autoheal_backoff": Bad(-1, "infrastructure_autoheal_backoff must be a whole number of seconds, 0 or more"),
    "infrastructure_firewall_guard_interval": Bad(61, "infrastructure_firewall_guard_interval must be a whole number of seconds, from 1 to 60"),
    "infrastructure_firewall_guard_manager": choice("supervisord"),
    "infrastructure_firewall_guard_log": Bad("guard.log", "infrastructure_firewall_guard_log must be an absolute path"),
    "infrastructure_wait_timeout": Bad(0, "infrastructure_wait_timeout must be a whole number of seconds, 1 or more"),
    "infrastructure_log_lines": Bad(-1, "infrastructure_log_lines must be a whole number, 0 or more"),
    "infrastructure_validate": BOOL,
    "infrastructure_healthcheck_interval": Bad("10 seconds", "infrastructure_healthcheck_interval must be a duration"),
    "infrastructure_healthcheck_timeout": Bad("0s", "infrastructure_healthcheck_timeout must be a duration like 10s, 1m30s "
                                                    "or 500ms (above 0)"),
    "infrastructure_healthcheck_retries": Bad(0, "infrastructure_healthcheck_retries must be a whole number, 1 or more"),
    "infrastructure_healthcheck_start_period": Bad("20", "infrastructure_healthcheck_start_period must be a duration"),
    "infrastructure_secrets": Bad({"TRAEFIK_DASHBOARD_PASSWORD": "x"}, "infrastructure_secrets.TRAEFIK_DASHBOARD_PASSWORD: "
                                  "the supplied value is shorter than taylordash_secret_min_length (16 characters"),
    "infrastructure_secret_length": Bad(8, "infrastructure_secret_length must be a whole number of at least 16"),
    "infrastructure_postgres_user": Bad("Taylor", 'infrastructure_postgres_user must be a lowercase identifier'),
    "infrastructure_postgres_db": Bad("taylor-dash", 'infrastructure_postgres_db must be a lowercase identifier'),
    "infrastructure_mqtt_user": Bad("a b", "infrastructure_mqtt_user must use letters"),
    "infrastructure_mqtt_topic_prefix": Bad("/taylordash/#", 'infrastructure_mqtt_topic_prefix: "/taylordash/#" holds a '
                                                             'wildcard (# or +), a leading or trailing /'),
    "infrastructure_mqtt_monitor_user": Bad("taylordash", "the two MQTT users differ"),
    "infrastructure_minio_root_user": Bad("ab", "infrastructure_minio_root_user must be a MinIO user of 3 or more"),
    "infrastructure_minio_bucket": Bad("Taylor_Dash", "infrastructure_minio_bucket must be a bucket name"),
    "infrastructure_grafana_admin_user": Bad("", "infrastructure_grafana_admin_user must be a user name"),
    "infrastructure_docker_socket": Bad("docker.sock", "infrastructure_docker_socket must be an absolute path"),
    "infrastructure_socket_proxy_allow": Bad(["/_ping", "/containers/(["], 'infrastructure_socket_proxy_allow[1]: '
                                                                         '"/containers/([" is not a regular expression'),
    "infrastructure_socket_proxy_stream_timeout": Bad("1 hour", "infrastructure_socket_proxy_stream_timeout must be an "
                                                                "HAProxy time"),
    "infrastructure_prometheus_scrape_interval": Bad("15", "infrastructure_prometheus_scrape_interval must be a Prometheus "
                                                           "duration"),
    "infrastructure_prometheus_evaluation_interval": Bad("15s\n", "infrastructure_prometheus_evaluation_interval must be"),
    "infrastructure_prometheus_retention": Bad("15 days", "infrastructure_prometheus_retention must be a Prometheus"),
    "infrastructure_victoriametrics_retention": Bad("forever", "infrastructure_victoriametrics_retention must be a "
                                                               "retention like 1 (month)"),
    "infrastructure_scrape_backend": BOOL,
    "infrastructure_extra_scrape_jobs": Bad([{"job": "node", "targets": ["host1"]}],
                                            "infrastructure_extra_scrape_jobs[0].targets must list host:port"),
    "infrastructure_alert_service_down_for": Bad("soon", "infrastructure_alert_service_down_for must be a Prometheus"),
    "infrastructure_alert_response_time_seconds": Bad(-1, "infrastructure_alert_response_time_seconds must be a number of "
                                                          "seconds above 0"),
    "infrastructure_alert_response_time_for": Bad("5 minutes", "infrastructure_alert_response_time_for must be a"),
    "infrastructure_alert_database_down_for": Bad("1m\n", "infrastructure_alert_database_down_for must be a Prometheus"),
    "infrastructure_alert_disk_percent": Bad(120, "infrastructure_alert_disk_percent must be a percentage"),
    "infrastructure_alert_disk_for": Bad("10", "infrastructure_alert_disk_for must be a Prometheus duration"),
    "infrastructure_alert_memory_percent": Bad(0, "infrastructure_alert_memory_percent must be a percentage"),
    "infrastructure_alert_memory_for": Bad("", "infrastructure_alert_memory_for must be a Prometheus duration"),
    "infrastructure_alertmanager_webhook_url": Bad("ftp://alerts", "infrastructure_alertmanager_webhook_url must be empty"),
    "infrastructure_alertmanager_group_wait": Bad("30 s", "infrastructure_alertmanager_group_wait must be a Prometheus"),
    "infrastructure_alertmanager_group_interval": Bad("5", "infrastructure_alertmanager_group_interval must be a"),
    "infrastructure_alertmanager_repeat_interval": Bad("4hours", "infrastructure_alertmanager_repeat_interval must be a"),
    # ---------------------------------------------------------------- application
    "application_backend_src": Bad("/nonexistent/backend", "application_backend_src=/nonexistent/backend: not a directory"),
    "application_frontend_src": Bad("/nonexistent/frontend", "application_frontend_src=/nonexistent/frontend: not a"),
    "application_backend_enabled": BOOL,
    "application_frontend_enabled": BOOL,
    "application_source_excludes": Bad(["*.pyc", ""], "application_source_excludes[1] must be non-empty text on one line"),
    "application_backend_image": Bad("taylordash/backend:1.0", 'application_backend_image: "taylordash/backend:1.0" must '
                                                               'be an image repository, without a tag or digest'),
    "application_frontend_image": Bad("Taylor Dash", 'application_frontend_image: "Taylor Dash" is not an image repository'),
    "application_python_image": Bad("python:3.13\n", 'application_python_image: "python:3.13\\n" is not an image reference'),
    "application_node_image": Bad("node 20", 'application_node_image: "node 20" is not an image reference'),
    "application_nginx_image": Bad("", 'application_nginx_image: "" is not an image reference'),
    "application_build_ca_bundle": Bad("certs/ca.pem", "application_build_ca_bundle must be empty or an absolute path"),
    "application_backend_workers": Bad(0, "application_backend_workers must be a whole number >= 1"),
    "application_image_refs": Bad({"api": "taylordash/api:1"}, "application_image_refs.api: unknown key"),
    "application_version": Bad("1.0\n", "application_version must be text on one line"),
    "application_migrate": BOOL,
    "application_healthcheck_interval": Bad("10", "application_healthcheck_interval must be a duration like 10s"),
    "application_healthcheck_retries": Bad(0, "application_healthcheck_retries must be a whole number, 1 or more"),
    "application_wait_timeout": Bad(0, "application_wait_timeout must be a whole number of seconds, 1 or more"),
    "application_backend_healthcheck": Bad({"tset": ["CMD", "true"]}, "application_backend_healthcheck: unknown key(s) "
                                                                      "tset"),
    "application_log_lines": Bad(-1, "application_log_lines must be a whole number, 0 or more"),
    "application_hadolint": BOOL,
    "application_mode": choice("staging"),
    "application_dev_dir": Bad("dev", "application_dev_dir must be an absolute path"),
    "application_dev_python": Bad("", "application_dev_python must be non-empty text on one line"),
    "application_dev_plugins": Bad([{"name": "nowhere", "src": "/tmp"}], "application_dev_plugins entry nowhere has no "
                                                                         "port in taylordash_port_plan"),
    "application_dev_startup_timeout": Bad(0, "application_dev_startup_timeout must be a whole number of seconds"),
    # ---------------------------------------------------------------- proxy
    "proxy_traefik_aliases": Bad(["taylordash.local", "Bad Name"], "proxy_traefik_aliases[1] must be a host name"),
    "proxy_traefik_environment": Bad({"https-proxy": "http://proxy:3128"}, 'proxy_traefik_environment: "https-proxy" is '
                                                                          'not an environment variable name'),
    "proxy_dashboard_host": Bad("traefik", 'proxy_dashboard_host="traefik" is not a DNS name'),
    "proxy_dashboard_user": Bad("ad:min", 'proxy_dashboard_user="ad:min" is not a valid basic-auth user'),
    "proxy_tls_names": Bad(["*.taylordash.local", "traefik.taylordash.local"], 'proxy_tls_names: ["*.taylordash.local"]'),
    "proxy_ca_common_name": Bad("", "proxy_ca_common_name must be text on one line of 1 to 64 characters"),
    "proxy_ca_days": Bad(0, "proxy_ca_days must be a whole number of days, 1 or more"),
    "proxy_cert_days": Bad(0, "proxy_cert_days must be a whole number of days, 1 or more"),
    "proxy_cert_renew_days": Bad(-1, "proxy_cert_renew_days must be a whole number of days, 0 or more"),
    "proxy_python_packages": Bad(["python3 cryptography"], "proxy_python_packages[0] must be a Debian package name"),
    "proxy_app_health_interval": Bad("5", "proxy_app_health_interval must be a duration like 10s"),
    "proxy_routes_leave_out": Any(["app2"], "set by the application role while a batch is replaced in place (the "
                                            "inventory names it leaves out of apps.yml), never by hand"),
    "proxy_routes_keep_out": Any(["app2"], "set by the routes entry point from the hosts whose app failed in this batch, "
                                           "never by hand"),
    "proxy_routes_timeout": Bad(0, "proxy_routes_timeout must be a whole number of seconds, 1 or more"),
    "proxy_tls_min_version": choice("VersionTLS11"),
    "proxy_hsts_seconds": Bad(-1, "proxy_hsts_seconds must be a whole number of seconds, 0 or more"),
    # ---------------------------------------------------------------- health
    "health_report_file": Bad("health.json", "health_report_file must be an absolute path"),
    "health_trust_bundle": Bad("ca.crt", "health_trust_bundle must be empty or an absolute path"),
    "health_timeout": Bad(0, "health_timeout must be a whole number of seconds, 1 or more"),
    "health_endpoints": Bad([{"name": "api", "url": "ftp://taylordash.local/"}], "health_endpoints[0] needs `name` and "
                                                                                 "`url` (http or https)"),
    "health_dashboard_user": Bad("ad:min", "health_dashboard_user must be a basic-auth user"),
    # ---------------------------------------------------------------- backup
    "backup_label": Bad("Nightly Run", 'backup_label: "Nightly Run" may hold lower-case letters'),
    "backup_release": Bad("r1\nr2", "backup_release must be text on one line"),
    "backup_restore_id": Bad("yesterday", "backup_restore_id must be `latest` or a backup's name"),
    "backup_restore_confirm": BOOL,
    "backup_identity": Any("AGE-SECRET-KEY-1QQQ\nmore lines of an SSH key\n",
                           "an age or SSH private key (several lines allowed): the restore tries it against the backup "
                           "before anything stops, and it is never written on a host"),
    "backup_identity_file": Bad("/nonexistent/key.txt", "backup_identity_file: /nonexistent/key.txt is not a file on the "
                                                        "controller"),
    "backup_restore_secrets": BOOL,
    "backup_rollback_releases": Bad(["taylordash/backend:abc", "Bad Ref"], 'backup_rollback_releases[1]: "Bad Ref" is not '
                                                                           'an image reference'),
    # ---------------------------------------------------------------- audit
    "audit_report_dir": Bad("reports/audit", "audit_report_dir must be an absolute path"),
    "audit_scan_roots": Bad(["etc"], 'audit_scan_roots must be a list of absolute paths, not ["etc"]'),
    "audit_scan_depth": Bad(-1, "audit_scan_depth must be a whole number, 0 or more"),
    "audit_max_files": Bad(0, "audit_max_files must be a whole number, 1 or more"),
    "audit_max_file_bytes": Bad(0, "audit_max_file_bytes must be a whole number, 1 or more"),
    "audit_fail_on": choice("severe"),
    "audit_previous_report": Bad("report.json\n", "audit_previous_report must be text on one line"),
    "audit_fingerprint_key_file": Bad("fingerprint.key", "audit_fingerprint_key_file must be an absolute path"),
}


def test_every_option_of_every_argument_spec_has_a_row():
    missing = sorted(name for name in OPTIONS if name not in ROWS)
    assert missing == [], "add a row (a bad value and its message, or Any with a reason) for %s (%s)" % (
        ", ".join(missing), ", ".join("%s:%s" % OPTIONS[name] for name in missing))
    gone = sorted(name for name in ROWS if name not in OPTIONS)
    assert gone == [], "rows for options no argument spec has: %s" % ", ".join(gone)


def test_the_shipped_defaults_pass_every_check():
    checks = check(BASE, by_check=True)
    assert isinstance(checks, list), checks
    # The shipped catalogue's own test is test__catalogue.py's; these are the other checks.
    assert [(name, messages) for name, messages in checks if messages and name != "catalogue"] == []


def _values(name, value, also):
    values = dict(BASE, **also)
    values[name] = value
    return values


@pytest.mark.parametrize("name", sorted(name for name in ROWS if isinstance(ROWS[name], Bad)))
def test_a_bad_value_is_refused_naming_the_option(name):
    row = ROWS[name]
    fragment = row.fragment.replace("{option}", name)
    messages = check(_values(name, row.value, row.also))
    assert any(fragment in message for message in messages), (fragment, messages)
    assert any(name in message for message in messages if fragment in message), "the message names %s" % name
    good = row.good if row.good is not None else BASE.get(name)
    if good is not None:
        assert not any(fragment in message for message in check(_values(name, good, row.also))), \
            "%s=%r gets the message too" % (name, good)


@pytest.mark.parametrize("name", sorted(name for name in ROWS if isinstance(ROWS[name], Any)))
def test_any_value_of_the_type_is_valid_where_a_row_says_so(name):
    row = ROWS[name]
    assert len(row.reason) > 20, "say why any %s is valid" % name
    messages = check(_values(name, row.value, {}))
    assert not any(name in message for message in messages), messages


def test_the_phases_are_those_validate_knows():
    taylordash_vars = load("roles/taylordash/vars/main.yml")
    assert list(_inputs.PHASES) == taylordash_vars["_taylordash_phase_roles"]


def test_every_rule_is_of_an_option():
    assert sorted(set(_inputs.RULES) - set(OPTIONS)) == []


# ------------------------------------------------------------------- the new rules, case by case

def rule(name, value, **values):
    return _inputs.option_errors(dict(values, **{name: value}))


@pytest.mark.parametrize("secret,fragment", [
    ("it's-a-long-enough-secret", "contains a single quote"),
    ('say "hello" long enough', "contains a double quote"),
    ("line one\nline two is long", "contains a newline"),
    ("a-long-enough-secret\n", "contains a newline"),
    ("a-long-enough-secret\r", "contains a carriage return"),
    ("a-long-enough\0-secret", "contains a NUL character"),
    ("x", "is shorter than taylordash_secret_min_length (16 characters"),
    ("fifteen-chars!!", "is shorter than taylordash_secret_min_length (16 characters"),
    (12345, "is shorter than taylordash_secret_min_length"),
    (["a", "list"], "must be a string"),
    (True, "must be a string"),
])
def test_a_supplied_secret_is_refused_without_showing_it(secret, fragment):
    errors = rule("infrastructure_secrets", {"API_KEY": secret})
    assert len(errors) == 1 and fragment in errors[0] and errors[0].startswith("infrastructure_secrets.API_KEY: "), errors
    assert "the value is not shown" in errors[0]
    if isinstance(secret, str) and len(secret) > 2:
        assert secret not in errors[0] and secret.strip() not in errors[0]


@pytest.mark.parametrize("secret", ["", None, "a-secret-of-16-c", "back\\slash-is-fine-in-env", "p@$$w0rd-%{x}-long"])
def test_empty_secrets_are_generated_and_sixteen_characters_or_a_backslash_are_fine(secret):
    assert rule("infrastructure_secrets", {"API_KEY": secret}) == []


def test_the_minimum_length_is_a_variable():
    assert rule("infrastructure_secrets", {"API_KEY": "eight-ch"}, taylordash_secret_min_length=8) == []
    errors = rule("infrastructure_secrets", {"API_KEY": "a-secret-of-16-c"}, taylordash_secret_min_length=24)
    assert errors and "(24 characters" in errors[0]
    assert rule("infrastructure_secret_length", 20, taylordash_secret_min_length=24) != []
    assert rule("infrastructure_secret_length", 16, taylordash_secret_min_length=8) == []
    assert "at least 16" in rule("infrastructure_secret_length", 12, taylordash_secret_min_length=8)[0]


def test_the_backup_s3_secret_key_is_a_supplied_secret():
    assert rule("taylordash_backup_s3", {"endpoint": "", "secret_key": ""}) == []
    errors = rule("taylordash_backup_s3", {"secret_key": "wJalrXUtnFEMI/K7MDENG/bPxRfiCY'EXAMPLEKEY"})
    assert errors and errors[0].startswith("taylordash_backup_s3.secret_key: ") and "EXAMPLEKEY" not in errors[0]
    assert rule("taylordash_backup_s3", {"secret_key": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}) == []
    assert "unknown key(s) bucket" in rule("taylordash_backup_s3", {"bucket": "x"})[0]
    assert "taylordash_backup_s3.endpoint" in rule("taylordash_backup_s3", {"endpoint": "s3.example.com"})[0]


@pytest.mark.parametrize("tls,email,fragment", [
    ("acme", "", "taylordash_acme_email is required with taylordash_tls: acme"),
    ("acme", None, "taylordash_acme_email is required"),
    ("acme", "ops", 'taylordash_acme_email: "ops" is not an e-mail address'),
    ("acme", "ops@example", "is not an e-mail address"),
    ("acme", "ops@example.com\n", "is not an e-mail address"),
    ("acme", "ops @example.com", "is not an e-mail address"),
    ("local", "not-an-address", "is not an e-mail address"),
])
def test_acme_needs_a_contact_address(tls, email, fragment):
    errors = rule("taylordash_acme_email", email, taylordash_tls=tls)
    assert len(errors) == 1 and fragment in errors[0], errors


@pytest.mark.parametrize("tls,email", [("acme", "ops@example.com"), ("acme", "first.last+tls@mail.example.co.uk"),
                                       ("local", ""), ("local", "ops@example.com")])
def test_good_acme_settings_pass(tls, email):
    assert rule("taylordash_acme_email", email, taylordash_tls=tls) == []


@pytest.mark.parametrize("prefix,fragment", [
    ("taylordash/#", "a wildcard (# or +)"),
    ("taylordash/+/x", "a wildcard (# or +)"),
    ("#", "a wildcard"),
    ("/taylordash", "a leading or trailing /"),
    ("taylordash/", "a leading or trailing /"),
    ("taylor\0dash", "a NUL or another control character"),
    ("taylordash\n", "a NUL or another control character"),
    ("taylor dash", "whitespace"),
    ("$SYS", "a leading $"),
    ("", "must be a topic prefix like taylordash"),
])
def test_a_bad_mqtt_topic_prefix_is_refused(prefix, fragment):
    errors = rule("infrastructure_mqtt_topic_prefix", prefix)
    assert len(errors) == 1 and fragment in errors[0] and "infrastructure_mqtt_topic_prefix" in errors[0], errors


@pytest.mark.parametrize("prefix", ["taylordash", "site/taylordash", "td-1.a_b"])
def test_good_mqtt_topic_prefixes_pass(prefix):
    assert rule("infrastructure_mqtt_topic_prefix", prefix) == []


@pytest.mark.parametrize("serial,ok", [
    (1, True), (3, True), ("2", True), ("100%", True), ("1%", True), ("50%", True), (" 25% ", True),
    (0, False), (-1, False), ("0", False), ("0%", False), ("101%", False), ("half", False), ("1\n", True),
    ("50%\n", True), (True, False), (None, False), ([1, 2], False), ("12.5%", False), (1.5, False),
])
def test_serial_is_a_number_of_hosts_or_a_percentage(serial, ok):
    errors = rule("taylordash_serial", serial)
    assert (errors == []) is ok, errors


def test_durations_ports_and_paths():
    assert rule("infrastructure_healthcheck_interval", "1m30s") == []
    assert rule("infrastructure_healthcheck_interval", "500ms") == []
    assert rule("infrastructure_healthcheck_interval", "10s\n") != []
    assert rule("infrastructure_healthcheck_start_period", "0s") == []
    assert rule("infrastructure_healthcheck_timeout", "0s") != []
    assert _inputs.go_seconds("1h2m3.5s") == 3723.5 and _inputs.go_seconds("1d") is None
    assert rule("taylordash_lock_path", "/var/lib/taylordash/deploy.lock\n") != []
    assert rule("health_trust_bundle", "") == []
    assert rule("release_ship_min_free_mb", True) != []  # a bool is not a number
    assert rule("proxy_cert_renew_days", 100000, proxy_cert_days=397) == []  # renews on every run, on purpose
    assert rule("infrastructure_extra_scrape_jobs", [{"job": "app", "targets": ["app1:9100", "[fd00::1]:9100"],
                                                      "metrics_path": "/m"},
                                                     {"job": "dns", "dns": {"names": ["app"], "type": "A", "port": 1}}]) == []


@pytest.mark.parametrize("address,fragment", [
    ("10.0.1", 'taylordash_address of db1: "10.0.1" is not an IPv4 or IPv6 address'),
    ("10.0.1.300", "is not an IPv4 or IPv6 address"),
    ("db1.example.com", "is not an IPv4 or IPv6 address"),
    ("10.0.1.10\n", "is not an IPv4 or IPv6 address"),
    ("10.0.1.10 ", "is not an IPv4 or IPv6 address"),
    ("fe80::1::2", "is not an IPv4 or IPv6 address"),
    ("0.0.0.0", "cannot be dialled"),
    ("::", "cannot be dialled"),
    (True, "is not an IPv4 or IPv6 address"),
    ("2001:db8::10", "is an IPv6 address, but the rules that admit only the calling hosts"),
    ("::1", "is an IPv6 address"),
    ("fe80::1%eth0", "is an IPv6 address"),
])
def test_a_malformed_address_is_refused_naming_the_host(address, fragment):
    errors = _settings.address_errors({"db1": address, "app1": "10.0.1.11"})
    assert len(errors) == 1 and fragment in errors[0], errors


@pytest.mark.parametrize("address", ["10.0.1.10", "192.168.122.5", "127.0.0.1", "", None])
def test_good_addresses_pass(address):
    assert _settings.address_errors({"db1": address}) == []
