# -*- coding: utf-8 -*-
# Copyright: taylordash-ops developers
# MIT License
"""Every input of a run checked before anything changes, as pure functions.

`option_errors` holds each option's own rule (ranges, durations, paths, names, references, secrets: what an
argument spec's type cannot say); the first task of every playbook (the taylordash role's tasks_from
validate, action plan_facts) runs it after ansible's own ArgumentSpecValidator, over the options of the
argument specs of the run's phases. An option whose check reads other inputs (the catalogue, the port plan,
the inventory, files on the controller) is checked by its role's ``*_errors`` function in _settings.py,
_backup.py or _catalogue.py instead, through `<role>_settings_errors` or `_taylordash_input_errors`.

`input_errors` runs all of it over one dict of variables as tasks_from validate does, for the unit tests:
tests/unit/plugins/module_utils/test__inputs.py holds a row for every option of every role's argument spec.
Messages name the variable and never show a secret's value.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import re

from ansible_collections.taylordash.ops.plugins.module_utils import _backup, _catalogue, _port_plan, _settings
from ansible_collections.taylordash.ops.plugins.module_utils._settings import CONTROL, IMAGE_REF, _show, whole

# The phase roles tasks_from validate knows (roles/taylordash/vars/main.yml, _taylordash_phase_roles).
PHASES = ("docker_engine", "images", "release", "cleanup", "infrastructure", "application", "proxy", "health",
          "backup", "audit")
# A Go duration (Compose healthchecks, Traefik): 10s, 1m30s, 500ms, 1.5h.
GO_DURATION = re.compile(r"\A(?:[0-9]+(?:\.[0-9]+)?(?:ns|us|\u00b5s|ms|s|m|h))+\Z")
_GO_UNITS = {"ns": 1e-9, "us": 1e-6, "\u00b5s": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600}
# HAProxy's time format (the socket proxy's timeouts): a number and a unit.
HAPROXY_TIME = re.compile(r"\A[0-9]+(?:us|ms|s|m|h|d)\Z")
# VictoriaMetrics' -retentionPeriod: months without a unit, else hours, days, weeks or years.
VM_RETENTION = re.compile(r"\A[0-9]+(?:\.[0-9]+)?[hdwy]?\Z")
# A host name without the two-label rule of _settings.DNS_NAME (network aliases may be one label).
HOST_NAME = re.compile(r"\A(?=.{1,253}\Z)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
                       r"(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*\Z")
EMAIL = re.compile(r"\A[A-Za-z0-9._%+-]+@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}\Z")
HTTPS_URL = re.compile(r"\Ahttps://\S+\Z")
# Prefix of every official reference when pulling: a registry host (and port) and path, ending in `/`.
REGISTRY_PREFIX = re.compile(r"\A[A-Za-z0-9.-]+(?::[0-9]+)?/(?:[A-Za-z0-9._-]+/)*\Z")
# Reverse-DNS label keys (org.taylordash, org.taylordash.keep).
LABEL_KEY = re.compile(r"\A[a-z0-9]+(?:[._-][a-z0-9]+)*\Z")
ENV_KEY = re.compile(r"\A[A-Za-z_][A-Za-z0-9_]*\Z")
DEBIAN_SUITE = re.compile(r"\A[a-z][a-z0-9-]*\Z")
VERSION = re.compile(r"\A[0-9]+(?:\.[0-9]+){1,2}(?:[-+.][0-9A-Za-z.]+)?\Z")
# The database the old stack's data is imported from (pg_dump -d): an unquoted identifier.
DATABASE = re.compile(r"\A[A-Za-z0-9_][A-Za-z0-9_-]{0,62}\Z")
MINIO_USER = re.compile(r"\A[A-Za-z0-9_.-]{3,128}\Z")
S3_BUCKET = re.compile(r"\A[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]\Z")
GRAFANA_USER = re.compile(r"\A[A-Za-z0-9_.@-]+\Z")
SCRAPE_JOB = re.compile(r"\A[A-Za-z_][A-Za-z0-9_-]*\Z")
HOST_PORT = re.compile(r"\A[A-Za-z0-9_.-]+:[0-9]{1,5}\Z|\A\[[0-9A-Fa-f:.]+\]:[0-9]{1,5}\Z")
COMPOSE_HEALTHCHECK_KEYS = ("test", "interval", "timeout", "retries", "start_period", "start_interval", "disable")
APPS = ("backend", "frontend")
S3_KEYS = ("endpoint", "region", "access_key", "secret_key", "provider")
DEFAULT_SECRET_MIN_LENGTH = 16


def go_seconds(text):
    """Seconds of a Go duration (10s, 1m30s, 500ms), None when it is not one."""
    if not isinstance(text, str) or not GO_DURATION.match(text):
        return None
    parts = re.findall(r"([0-9.]+)(ns|us|\u00b5s|ms|s|m|h)", text)
    return sum(float(number) * _GO_UNITS[unit] for number, unit in parts)


# --------------------------------------------------------------------------- rules: (name, value, values) -> messages

def _at_least(minimum, unit="", maximum=None):
    def rule(name, value, values):
        number = whole(value)
        if number is None or number < minimum or (maximum is not None and number > maximum):
            limits = "from %d to %d" % (minimum, maximum) if maximum is not None else "%d or more" % minimum
            return ["%s must be a whole number%s, %s; got %s" % (name, unit, limits, _show(value))]
        return []
    return rule


def _duration(zero=False):
    def rule(name, value, values):
        seconds = go_seconds(value)
        if seconds is None or (seconds <= 0 and not zero):
            return ["%s must be a duration like 10s, 1m30s or 500ms%s; got %s"
                    % (name, "" if zero else " (above 0)", _show(value))]
        return []
    return rule


def _path(empty=False):
    def rule(name, value, values):
        if empty and value in ("", None):
            return []
        if not isinstance(value, str) or not value.startswith("/") or CONTROL.search(value):
            return ["%s must be %san absolute path on one line; got %s" % (name, "empty or " if empty else "",
                                                                            _show(value))]
        return []
    return rule


def _line(empty=True):
    def rule(name, value, values):
        if value is None or (value == "" and empty):
            return []
        if isinstance(value, (dict, list)) or str(value) == "" or CONTROL.search(str(value)):
            return ["%s must be %stext on one line; got %s" % (name, "" if empty else "non-empty ", _show(value))]
        return []
    return rule


def _pattern(regex, what, empty=False):
    def rule(name, value, values):
        if empty and value in ("", None):
            return []
        if not isinstance(value, str) or not regex.match(value):
            return ["%s must be %s%s; got %s" % (name, "empty or " if empty else "", what, _show(value))]
        return []
    return rule


def _image(repository=False):
    """An image reference (repository: one without a tag or digest, the tag is added later)."""
    def rule(name, value, values):
        if not isinstance(value, str) or not IMAGE_REF.match(value):
            kind = "repository like registry.example.com/team/name" if repository \
                else "reference like registry.example.com/team/name:tag"
            return ["%s: %s is not an image %s" % (name, _show(value), kind)]
        if repository and ("@" in value or _settings.TAG.search(value)):
            return ["%s: %s must be an image repository, without a tag or digest" % (name, _show(value))]
        return []
    return rule


def _each(rule):
    """The rule for every element of a list (the argument spec has made it a list already)."""
    def each(name, value, values):
        out = []
        for index, item in enumerate(value if isinstance(value, list) else [value]):
            out.extend(rule("%s[%d]" % (name, index), item, values))
        return out
    return each


def _image_values(keys=None):
    """A mapping whose values are image references (keys: the only keys it may have)."""
    def rule(name, value, values):
        out = []
        for key in sorted(value or {}, key=str):
            if keys is not None and key not in keys:
                out.append("%s.%s: unknown key (the keys are %s)" % (name, key, ", ".join(keys)))
            elif value[key] not in ("", None):
                out.extend(_image()("%s.%s" % (name, key), value[key], values))
        return out
    return rule


def _repository_values(name, value, values):
    out = []
    for key in sorted(value or {}, key=str):
        out.extend(_image(repository=True)("%s.%s" % (name, key), value[key], values))
    return out


def _secret_min_length(values):
    number = whole(values.get("taylordash_secret_min_length", DEFAULT_SECRET_MIN_LENGTH))
    return number if number is not None else DEFAULT_SECRET_MIN_LENGTH


def _secrets(name, value, values):
    """infrastructure_secrets: every supplied value (vault values arrive decrypted) can be written into .env
    and is at least taylordash_secret_min_length long; the keys are infrastructure_errors' check."""
    out = []
    if not isinstance(value, dict):
        return out  # the argument spec's and _taylordash_input_errors' message
    for key in sorted(value, key=str):
        problem = _settings.secret_problem("%s.%s" % (name, key), value[key], _secret_min_length(values))
        if problem:
            out.append(problem)
    return out


def _secret_length(name, value, values):
    minimum = max(16, _secret_min_length(values))
    number = whole(value)
    if number is None or number < minimum:
        return ["%s must be a whole number of at least %d (the generated secrets' length: at least 16, and "
                "taylordash_secret_min_length); got %s" % (name, minimum, _show(value))]
    return []


def _backup_s3(name, value, values):
    out = []
    if not isinstance(value, dict):
        return out
    unknown = sorted(str(key) for key in value if key not in S3_KEYS)
    if unknown:
        out.append("%s: unknown key(s) %s (the keys are %s)" % (name, ", ".join(unknown), ", ".join(S3_KEYS)))
    endpoint = value.get("endpoint")
    if endpoint not in ("", None) and not (isinstance(endpoint, str) and _settings.URL.match(endpoint)):
        out.append("%s.endpoint must be empty (the provider's own) or an http(s) URL; got %s" % (name, _show(endpoint)))
    for key in ("region", "access_key", "provider"):
        if value.get(key) is not None and CONTROL.search(str(value.get(key))):
            out.append("%s.%s must be text on one line" % (name, key))
    problem = _settings.secret_problem("%s.secret_key" % name, value.get("secret_key"), _secret_min_length(values))
    if problem:
        out.append(problem)
    return out


def _acme_email(name, value, values):
    """With taylordash_tls `acme` an address is required (Let's Encrypt's expiry and account mail); set, it
    is an e-mail address whatever taylordash_tls is."""
    if value in ("", None):
        if values.get("taylordash_tls") == "acme":
            return ["%s is required with taylordash_tls: acme (the ACME account's contact address)" % name]
        return []
    if not isinstance(value, str) or not EMAIL.match(value):
        return ["%s: %s is not an e-mail address like ops@example.com" % (name, _show(value))]
    return []


def _serial(name, value, values):
    """A play's `serial`: a number of hosts (1 or more) or a percentage of them (1% to 100%)."""
    number = whole(value)
    if number is not None:
        if number >= 1:
            return []
    elif isinstance(value, str) and re.match(r"\A[0-9]+%\Z", value.strip()) and 1 <= int(value.strip()[:-1]) <= 100:
        return []
    return ["%s must be a whole number of hosts (1 or more) or a percentage from 1%% to 100%% like 50%%; got %s"
            % (name, _show(value))]


def _topic_prefix(name, value, values):
    """infrastructure_mqtt_topic_prefix: the ACL grants `<prefix>/#`, so a wildcard, a `/` at either end,
    whitespace, a control character or a leading `$` (the broker's own topics) would grant something else."""
    if not isinstance(value, str) or not value:
        return ["%s must be a topic prefix like taylordash; got %s" % (name, _show(value))]
    bad = []
    if "#" in value or "+" in value:
        bad.append("a wildcard (# or +)")
    if value.startswith("/") or value.endswith("/"):
        bad.append("a leading or trailing /")
    if CONTROL.search(value) or re.search(r"\s", value):
        bad.append("whitespace, a NUL or another control character")
    if value.startswith("$"):
        bad.append("a leading $ (the broker's $SYS topics)")
    if bad:
        return ["%s: %s holds %s; it is a plain topic prefix like taylordash (the ACL grants <prefix>/#)"
                % (name, _show(value), ", ".join(bad))]
    return []


def _phases(name, value, values):
    unknown = [phase for phase in value or [] if phase not in PHASES]
    if unknown:
        return ["%s: %s unknown; the phases are %s" % (name, _show(unknown), ", ".join(PHASES))]
    return []


def _ca_common_name(name, value, values):
    if not isinstance(value, str) or not value.strip() or len(value) > 64 or CONTROL.search(value):
        return ["%s must be text on one line of 1 to 64 characters (an X.509 common name); got %s"
                % (name, _show(value))]
    return []


def _environment(name, value, values):
    out = []
    for key in sorted(value or {}, key=str):
        item = value[key]
        if not ENV_KEY.match(str(key)):
            out.append("%s: %s is not an environment variable name" % (name, _show(key)))
        elif isinstance(item, (dict, list)) or (item is not None and CONTROL.search(str(item))):
            out.append("%s.%s must be a value on one line" % (name, key))
    return out


def _socket_proxy_allow(name, value, values):
    out = []
    for index, item in enumerate(value or []):
        where = "%s[%d]" % (name, index)
        if not isinstance(item, str) or not item.startswith("/") or CONTROL.search(item):
            out.append("%s: %s must be a Docker API path (a regular expression starting with /)" % (where, _show(item)))
            continue
        try:
            re.compile(item)
        except re.error as exc:
            out.append("%s: %s is not a regular expression (%s)" % (where, _show(item), exc))
    return out


def _scrape_jobs(name, value, values):
    out = []
    for index, job in enumerate(value or []):
        where = "%s[%d]" % (name, index)
        if not isinstance(job, dict) or not isinstance(job.get("job"), str) or not SCRAPE_JOB.match(job["job"]):
            out.append("%s needs `job` (a Prometheus job name) and `targets` (host:port); got %s" % (where, _show(job)))
            continue
        targets = job.get("targets")
        if targets is None and isinstance(job.get("dns"), dict):
            continue  # dns_sd_configs, as the catalogue's own jobs of services that run nowhere
        if not isinstance(targets, list) or not targets or \
                any(not isinstance(target, str) or not HOST_PORT.match(target) for target in targets):
            out.append("%s.targets must list host:port addresses; got %s" % (where, _show(targets)))
        path = job.get("metrics_path")
        if path is not None and (not isinstance(path, str) or not path.startswith("/") or CONTROL.search(path)):
            out.append("%s.metrics_path must be a path starting with /; got %s" % (where, _show(path)))
    return out


def _healthcheck(name, value, values):
    unknown = sorted(str(key) for key in value or {} if key not in COMPOSE_HEALTHCHECK_KEYS)
    if unknown:
        return ["%s: unknown key(s) %s (a Compose healthcheck has %s)"
                % (name, ", ".join(unknown), ", ".join(COMPOSE_HEALTHCHECK_KEYS))]
    if value and "test" not in value and not value.get("disable"):
        return ["%s needs `test` (or disable: true); got %s" % (name, _show(value))]
    return []


def _health_endpoints(name, value, values):
    out = []
    for index, check in enumerate(value or []):
        where = "%s[%d]" % (name, index)
        if not isinstance(check, dict) or not check.get("name") or not isinstance(check.get("url"), str) \
                or not _settings.URL.match(check["url"]):
            out.append("%s needs `name` and `url` (http or https); got %s" % (where, _show(check)))
            continue
        expect = whole(check.get("expect", 200))
        if expect is None or not 100 <= expect <= 599:
            out.append("%s.expect must be an HTTP status (100-599); got %s" % (where, _show(check.get("expect"))))
    return out


def _restore_id(name, value, values):
    if value == "latest" or (isinstance(value, str) and _backup.parse_id(value)):
        return []
    return ["%s must be `latest` or a backup's name like 20261202T070000Z; got %s" % (name, _show(value))]


def _postgres_suites(name, value, values):
    out = []
    for key in sorted(value or {}, key=str):
        if whole(key) is None or not DEBIAN_SUITE.match(str(value[key])):
            out.append("%s: %s -> %s must map a PostgreSQL major (a number) to a Debian release name"
                       % (name, _show(key), _show(value[key])))
    return out


def _tls_name(name, value, values):
    """A certificate's subject alternative name: an IP address, or a DNS name (one label allowed)."""
    if isinstance(value, str):
        try:
            ipaddress.ip_address(value)
            return []
        except ValueError:
            if HOST_NAME.match(value):
                return []
    return ["%s must be a DNS name or an IP address (a name on the data services' certificates); got %s"
            % (name, _show(value))]


def _backup_dir(name, value, values):
    return _settings.directory_errors(name, value, "a directory of its own (it becomes root's, mode 0700)")


# Each option's own rule. An option left out is checked by its role's function (input_errors below names
# them all), or any value of its type is valid: tests/unit/plugins/module_utils/test__inputs.py has a row for
# every option, saying which. The docker_engine role's options are docker_engine_errors' (its own check, run
# with every phase's by this step too).
RULES = {
    # taylordash
    "taylordash_acme_email": _acme_email,
    "taylordash_acme_ca_server": _pattern(HTTPS_URL, "an https:// URL (the ACME directory)"),
    "taylordash_label_prefix": _pattern(LABEL_KEY, "a reverse-DNS label prefix like org.taylordash"),
    "taylordash_project_root": _path(),
    "taylordash_lock_path": _path(),
    "taylordash_lock_timeout": _at_least(0, " of seconds"),
    "taylordash_template_dirs": _each(_line(empty=False)),
    "taylordash_serial": _serial,
    "taylordash_built_images_file": _path(),
    "taylordash_phases": _phases,
    "taylordash_secrets_file": _path(),
    "taylordash_secrets_seed_from": _line(),
    "taylordash_v1_project": _pattern(_settings.PROJECT_NAME, "a Compose project name (a-z, 0-9, - and _)"),
    "taylordash_v1_database": _pattern(DATABASE, "a database name (letters, digits, _ and -)"),
    "taylordash_backup_s3": _backup_s3,
    "taylordash_backup_dir": _backup_dir,
    "taylordash_secret_min_length": _at_least(1, " of characters"),
    "taylordash_tls_extra_names": _each(_tls_name),
    # infrastructure
    "infrastructure_wait_timeout": _at_least(1, " of seconds"),
    "infrastructure_log_lines": _at_least(0),
    "infrastructure_healthcheck_interval": _duration(),
    "infrastructure_healthcheck_timeout": _duration(),
    "infrastructure_healthcheck_retries": _at_least(1),
    "infrastructure_healthcheck_start_period": _duration(zero=True),
    "infrastructure_secrets": _secrets,
    "infrastructure_secret_length": _secret_length,
    "infrastructure_mqtt_topic_prefix": _topic_prefix,
    "infrastructure_minio_root_user": _pattern(MINIO_USER, "a MinIO user of 3 or more letters, digits, _ . or -"),
    "infrastructure_minio_bucket": _pattern(S3_BUCKET, "a bucket name (3-63 lower-case letters, digits, . and -)"),
    "infrastructure_grafana_admin_user": _pattern(GRAFANA_USER, "a user name (letters, digits, _ . @ and -)"),
    "infrastructure_docker_socket": _path(),
    "infrastructure_firewall_guard_interval": _at_least(1, " of seconds", maximum=60),
    "infrastructure_autoheal_interval": _at_least(1, " of seconds", maximum=3600),
    "infrastructure_autoheal_backoff": _at_least(0, " of seconds"),
    "infrastructure_firewall_guard_log": _path(),
    "infrastructure_socket_proxy_allow": _socket_proxy_allow,
    "infrastructure_socket_proxy_stream_timeout": _pattern(HAPROXY_TIME, "an HAProxy time like 1h, 30m or 500ms"),
    "infrastructure_victoriametrics_retention": _pattern(VM_RETENTION, "a retention like 1 (month), 2w or 1y"),
    "infrastructure_extra_scrape_jobs": _scrape_jobs,
    # application
    "application_source_excludes": _each(_line(empty=False)),
    "application_backend_image": _image(repository=True),
    "application_frontend_image": _image(repository=True),
    "application_python_image": _image(),
    "application_node_image": _image(),
    "application_nginx_image": _image(),
    "application_build_ca_bundle": _path(empty=True),
    "application_image_refs": _image_values(APPS),
    "application_version": _line(),
    "application_healthcheck_interval": _duration(),
    "application_healthcheck_retries": _at_least(1),
    "application_wait_timeout": _at_least(1, " of seconds"),
    "application_backend_healthcheck": _healthcheck,
    "application_log_lines": _at_least(0),
    "application_dev_dir": _path(),
    "application_dev_python": _line(empty=False),
    "application_dev_startup_timeout": _at_least(1, " of seconds"),
    # audit
    "audit_report_dir": _path(),
    "audit_scan_depth": _at_least(0),
    "audit_max_files": _at_least(1),
    "audit_max_file_bytes": _at_least(1),
    "audit_previous_report": _line(),
    "audit_fingerprint_key_file": _path(),
    # backup
    "backup_release": _line(),
    "backup_restore_id": _restore_id,
    "backup_rollback_releases": _each(_image()),
    # cleanup
    "cleanup_keep_label": _pattern(LABEL_KEY, "a label key like org.taylordash.keep"),
    # health
    "health_report_file": _path(),
    "health_trust_bundle": _path(empty=True),
    "health_timeout": _at_least(1, " of seconds"),
    "health_endpoints": _health_endpoints,
    "health_dashboard_user": _pattern(_settings.BASIC_AUTH_USER, "a basic-auth user (letters, digits, . _ -)"),
    # images
    "images_build_dir": _path(),
    "images_debian_suite": _pattern(DEBIAN_SUITE, "a Debian release name like trixie"),
    "images_debian_mirror": _pattern(_settings.URL, "an http(s) URL", empty=True),
    "images_debian_security_mirror": _pattern(_settings.URL, "an http(s) URL", empty=True),
    "images_ca_bundle": _path(),
    "images_traefik_version": _pattern(VERSION, "a version like 3.7.15"),
    "images_registry_mirror": _pattern(REGISTRY_PREFIX, "a registry prefix ending in / like mirror.example.com/",
                                       empty=True),
    "images_postgres_major": _at_least(9),
    "images_postgres_suites": _postgres_suites,
    "images_postgres_registry": _image(repository=True),
    # proxy
    "proxy_traefik_aliases": _each(_pattern(HOST_NAME, "a host name")),
    "proxy_traefik_environment": _environment,
    "proxy_ca_common_name": _ca_common_name,
    "proxy_ca_days": _at_least(1, " of days"),
    "proxy_cert_days": _at_least(1, " of days"),
    # Above proxy_cert_days renews on every run: allowed (tests/e2e/test_proxy.py forces a renewal so).
    "proxy_cert_renew_days": _at_least(0, " of days"),
    "proxy_python_packages": _each(_pattern(_settings.DEB_PACKAGE, "a Debian package name")),
    "proxy_app_health_interval": _duration(),
    "proxy_routes_timeout": _at_least(1, " of seconds"),
    "proxy_hsts_seconds": _at_least(0, " of seconds"),
    # release
    "release_ship_refs": _each(_image()),
    "release_ship_from": _line(empty=False),
    "release_ship_cache_dir": _path(),
    "release_ship_dir": _path(),
    "release_ship_min_free_mb": _at_least(0),
    "release_registry_mirror": _pattern(REGISTRY_PREFIX, "a registry prefix ending in / like mirror.example.com/",
                                        empty=True),
    "release_keep_repos": _each(_image(repository=True)),
    "release_keep_count": _at_least(1),
    "release_keep_current": _each(_image()),
    "release_rollback_repos": _repository_values,
}


def option_errors(values):
    """Every option's own rule over `values` (option -> value, as ansible's ArgumentSpecValidator left them:
    converted to their type); options without a rule, or not given, are passed over."""
    out = []
    for name in sorted(values):
        if name in RULES:
            out.extend(RULES[name](name, values[name], values))
    return out


# --------------------------------------------------------------------------- every check, as validate runs them

def _of(values, prefix):
    return dict((name, value) for name, value in values.items() if name.startswith(prefix))


def input_errors(values, context=None):
    """Every message tasks_from validate would give for `values` (variable -> plain value, after the argument
    specs' conversion), check by check: the option rules, `_taylordash_input_errors`, the catalogue and each
    phase's `<role>_settings_errors` (of the phases whose variables are there). What the run derives from the
    inventory and the controller comes in `context`: groups, inventory_hostname, addresses (host ->
    taylordash_address), kind_of (path on the controller -> 'd', 'f' or None), platforms and facts
    (docker_engine), and the infrastructure and application derivations (port_map, published, enabled,
    application_builds, application_ports). Returns [(check, [messages])], in validate's order."""
    context = context or {}
    groups = context.get("groups") or {"all": [context.get("inventory_hostname", "localhost")]}
    kind_of = context.get("kind_of") or (lambda path: None)
    v = values
    checks = [("options", option_errors(v))]
    taylordash = []
    if "taylordash_images" in v:
        taylordash += _settings.image_errors(v["taylordash_images"])
    if "taylordash_deploy_dir" in v:
        taylordash += _settings.shared_errors(v["taylordash_deploy_dir"], v.get("taylordash_project_name"),
                                              v.get("taylordash_domain"))
    addresses = dict(context.get("addresses") or {})
    if "taylordash_address" in v:
        addresses[context.get("inventory_hostname", "localhost")] = v["taylordash_address"]
    taylordash += _settings.address_errors(addresses)
    if "taylordash_port_plan" in v:
        _, problems = _port_plan.validate_plan(v["taylordash_port_plan"], "taylordash_port_plan")
        taylordash += [_port_plan.failure_message(problems, [], "taylordash_port_plan")] if problems else []
    if "taylordash_dev_apps" in v:
        taylordash += _settings.dev_app_errors(v["taylordash_dev_apps"], v.get("taylordash_port_plan"))
    if "taylordash_rotate_secrets" in v:
        taylordash += _settings.rotation_errors(v["taylordash_rotate_secrets"], v.get("taylordash_rotation_id", ""),
                                                v.get("taylordash_secret_names") or [])
    if "taylordash_backup_schedule" in v:
        backup = dict((name[len("taylordash_backup_"):], value) for name, value in _of(v, "taylordash_backup_").items())
        backup.update(deploy_dir=v.get("taylordash_deploy_dir"), backup_host=context.get("backup_host", ""))
        taylordash += _backup.settings_errors(backup, groups.get("all", []))
    checks.append(("taylordash", taylordash))
    if "taylordash_services" in v:
        catalogue = _catalogue.merge(v["taylordash_services"], v.get("taylordash_service_overrides") or {})
        checks.append(("catalogue", _catalogue.errors(catalogue, groups, list(v.get("taylordash_images") or {}))))
    phases = []
    if "docker_engine_source" in v:
        phases += _settings.docker_engine_errors(_of(v, "docker_engine_"), context.get("platforms") or {},
                                                 context.get("facts") or {})
    if "cleanup_stop_timeout" in v:
        phases += _settings.cleanup_errors(_of(v, "cleanup_"), v.get("taylordash_dev_apps"),
                                           v.get("taylordash_project_name"))
    if "infrastructure_mode" in v:
        phases += _settings.infrastructure_errors(_of(v, "infrastructure_"), context.get("port_map") or {},
                                                  context.get("published") or {}, context.get("enabled") or [],
                                                  v.get("taylordash_port_plan"))
    if "application_backend_src" in v:
        apps = [app for app in APPS if v.get("application_%s_enabled" % app, True)]
        builds = dict((app, dict(build, src=v.get("application_%s_src" % app)))
                      for app, build in (context.get("application_builds") or {}).items())
        phases += _settings.application_errors(builds, apps, v.get("application_dev_plugins"),
                                               v.get("taylordash_port_plan") or {},
                                               v.get("application_backend_workers"),
                                               context.get("application_ports") or {}, kind_of)
    if "proxy_tls_names" in v:
        phases += _settings.proxy_errors(v["proxy_tls_names"], v.get("proxy_dashboard_host"), v.get("taylordash_tls"),
                                         v.get("proxy_dashboard_user"))
    if "backup_label" in v:
        phases += _settings.backup_errors(v["backup_label"], v.get("backup_identity_file"), kind_of)
    if "audit_fail_on" in v:
        phases += _settings.audit_errors(v["audit_fail_on"], v.get("audit_scan_roots"))
    checks.append(("phases", phases))
    return checks
