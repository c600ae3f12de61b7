# -*- coding: utf-8 -*-
# Copyright: taylordash-ops developers
# MIT License
"""Checks of the settings that an argument spec cannot express, as pure functions.

Each function takes the variables by name and returns a list of messages, each naming the variable
(and the entry) at fault and the value it got; an empty list means the settings can be used. The roles
call them through thin filters in one assert each, before anything on a host changes; the table-driven
unit tests in tests/unit/plugins/module_utils/test__settings.py hold the matrix of bad input.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import re

# A Docker image reference: [registry[:port]/]name[/name...][:tag][@sha256:digest].
IMAGE_REF = re.compile(
    r"^((?:[a-zA-Z0-9-]+\.)*[a-zA-Z0-9-]+(?::[0-9]+)?/)?[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
    r"(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$")
TAG = re.compile(r":[A-Za-z0-9_][A-Za-z0-9_.-]*$")
# A DNS name of at least two lower-case labels (no wildcards, no underscores).
DNS_NAME = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,61}[a-z0-9]$")
PROJECT_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
DEV_KINDS = ("uvicorn", "gunicorn", "hypercorn", "vite", "http.server", "node")
DURATION = re.compile(r"^([0-9]+(ms|s|m|h|d|w|y))+$")
ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]*$")
SQL_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")
MQTT_USER = re.compile(r"^[A-Za-z0-9_.-]+$")
URL = re.compile(r"^https?://\S+$")
LOOPBACK = ("127.0.0.1", "::1")
INFRASTRUCTURE_DURATIONS = (
    "infrastructure_alert_service_down_for", "infrastructure_alert_response_time_for",
    "infrastructure_alert_database_down_for", "infrastructure_alert_disk_for", "infrastructure_alert_memory_for",
    "infrastructure_prometheus_scrape_interval", "infrastructure_prometheus_evaluation_interval",
    "infrastructure_prometheus_retention", "infrastructure_alertmanager_group_wait",
    "infrastructure_alertmanager_group_interval", "infrastructure_alertmanager_repeat_interval",
)


def _show(value):
    try:
        return json.dumps(value, sort_keys=True)
    except (TypeError, ValueError):
        return repr(value)


def _number(value):
    if isinstance(value, bool):
        return None
    try:
        return float(str(value).strip())
    except (TypeError, ValueError):
        return None


def image_errors(images):
    """taylordash_images: every entry has `registry` and `build` references (build may be empty and, when set,
    has a tag)."""
    out = []
    if not isinstance(images, dict):
        return ["taylordash_images must be a mapping of name -> {registry, build}; got %s" % _show(images)]
    for name in sorted(images):
        entry = images[name]
        where = "taylordash_images.%s" % name
        if not isinstance(entry, dict) or "registry" not in entry or "build" not in entry:
            out.append("%s must have `registry` and `build` keys holding image references; got %s"
                       % (where, _show(entry)))
            continue
        registry, build = entry["registry"], entry["build"]
        if not isinstance(registry, str) or not IMAGE_REF.match(registry):
            out.append("%s.registry: %s is not an image reference like registry.example.com/team/name:tag"
                       % (where, _show(registry)))
        if build in ("", None):
            continue
        if not isinstance(build, str) or not IMAGE_REF.match(build):
            out.append("%s.build: %s is not an image reference like taylordash/name:tag" % (where, _show(build)))
        elif "@" in build or not TAG.search(build):
            out.append("%s.build: %s needs an explicit tag and no digest (it names the image the build writes)"
                       % (where, _show(build)))
    return out


def offline_errors(images, source, service_images):
    """With the offline source (taylordash_image_source `build`), every image an enabled service uses
    (service_images: keys of taylordash_images) has a build."""
    out = []
    if source != "build":
        return out
    for name in service_images:
        entry = images.get(name) if isinstance(images, dict) else None
        if isinstance(entry, dict) and not entry.get("build"):
            out.append("%s has no offline build and taylordash_image_source is `build`: switch off the services "
                       "that use it (taylordash_%s_enabled: false, or taylordash_service_overrides.<service>."
                       "enabled: false), or set taylordash_images.%s.build to an image that exists on the host"
                       % (name, name, name))
    return out


def shared_errors(deploy_dir, project_name, domain):
    """taylordash_deploy_dir, taylordash_project_name and taylordash_domain."""
    out = []
    if not isinstance(deploy_dir, str) or not re.match(r"^/.+", deploy_dir):
        out.append("taylordash_deploy_dir must be an absolute path; got %s" % _show(deploy_dir))
    if not isinstance(project_name, str) or not PROJECT_NAME.match(project_name):
        out.append("taylordash_project_name must be a Compose project name (lowercase letters, digits, `-` and `_`);"
                   " got %s" % _show(project_name))
    if not isinstance(domain, str) or not DNS_NAME.match(domain):
        out.append("taylordash_domain=%s is not a valid DNS name (lower case labels, at least two)" % _show(domain))
    return out


def dev_app_errors(apps, plan):
    """taylordash_dev_apps: each app has a plain port in taylordash_port_plan, a relative `path` without `..`
    and `kinds` from the known dev-server kinds."""
    out = []
    if not isinstance(apps, dict):
        return ["taylordash_dev_apps must be a mapping of app -> {path, kinds}; got %s" % _show(apps)]
    plan = plan if isinstance(plan, dict) else {}
    for name in sorted(apps):
        entry = apps[name]
        where = "taylordash_dev_apps.%s" % name
        if not isinstance(entry, dict):
            out.append("%s must be a mapping with `path` and `kinds`; got %s" % (where, _show(entry)))
            continue
        if name not in plan:
            out.append("%s has no port in taylordash_port_plan (add taylordash_port_plan.%s: <port>)" % (where, name))
        elif isinstance(plan[name], dict):
            out.append("%s needs a plain number as taylordash_port_plan.%s (dev servers listen on every address);"
                       " got %s" % (where, name, _show(plan[name])))
        path = entry.get("path")
        if not isinstance(path, str) or not path or path.startswith("/") or ".." in path.split("/"):
            out.append("%s.path must be a relative path inside taylordash_project_root (no `..`); got %s"
                       % (where, _show(path)))
        kinds = entry.get("kinds")
        if not isinstance(kinds, list) or not kinds:
            out.append("%s.kinds must list the server kinds that serve it (%s); got %s"
                       % (where, ", ".join(DEV_KINDS), _show(kinds)))
        else:
            unknown = [kind for kind in kinds if kind not in DEV_KINDS]
            if unknown:
                out.append("%s.kinds: %s unknown; the kinds are %s" % (where, _show(unknown), ", ".join(DEV_KINDS)))
    return out


def infrastructure_errors(settings, port_map, published, enabled, plan):
    """The infrastructure role's settings (`settings`: its variables by name), the ports it publishes
    (`published`: plan entry -> {port, address, public, ...} for this deploy; `port_map`: every endpoint the
    role knows) and the plan entries its enabled services need."""
    out = []
    mode = settings.get("infrastructure_mode")
    extra = settings.get("infrastructure_publish_extra") or []
    internal = sorted(name for name, spec in port_map.items() if not spec.get("public"))
    unknown = [name for name in extra if name not in internal]
    if unknown:
        out.append("infrastructure_publish_extra: %s are not internal services' ports (those are %s)"
                   % (_show(unknown), ", ".join(internal)))
    for name in sorted(published):
        entry = published[name]
        if not entry.get("public") and entry.get("address") not in LOOPBACK:
            out.append("taylordash_port_plan.%s (address not loopback): internal services are published (in %s mode"
                       " or through infrastructure_publish_extra) only on 127.0.0.1 or ::1; got %s"
                       % (name, mode, _show(entry.get("address"))))
    for name in sorted(port_map):
        spec = port_map[name]
        if spec.get("public") and spec.get("service") in enabled and name not in (plan or {}):
            out.append("taylordash_port_plan.%s is missing; %s is enabled and publishes it." % (name, spec["service"]))
    for name in INFRASTRUCTURE_DURATIONS:
        value = settings.get(name)
        if not DURATION.match(str(value)):
            out.append("%s must be a Prometheus duration like 30s, 5m or 1h; got %s." % (name, _show(value)))
    for name in ("infrastructure_alert_disk_percent", "infrastructure_alert_memory_percent"):
        number = _number(settings.get(name))
        if number is None or not 0 < number < 100:
            out.append("%s must be a percentage between 0 and 100; got %s" % (name, _show(settings.get(name))))
    number = _number(settings.get("infrastructure_alert_response_time_seconds"))
    if number is None or number <= 0:
        out.append("infrastructure_alert_response_time_seconds must be a number of seconds above 0; got %s"
                   % _show(settings.get("infrastructure_alert_response_time_seconds")))
    url = settings.get("infrastructure_alertmanager_webhook_url")
    if url not in ("", None) and not (isinstance(url, str) and URL.match(url)):
        out.append("infrastructure_alertmanager_webhook_url must be empty or an http(s) URL; got %s" % _show(url))
    secrets = settings.get("infrastructure_secrets") or {}
    bad = sorted(str(key) for key in secrets if not ENV_NAME.match(str(key)))
    if bad:
        out.append("infrastructure_secrets: keys are .env names (A-Z, 0-9, _); got %s" % _show(bad))
    for name in ("infrastructure_postgres_user", "infrastructure_postgres_db"):
        value = settings.get(name)
        if not isinstance(value, str) or not SQL_NAME.match(value):
            out.append("%s must be a lowercase identifier (a-z, 0-9, _); got %s" % (name, _show(value)))
    users = [settings.get("infrastructure_mqtt_user"), settings.get("infrastructure_mqtt_monitor_user")]
    for name, value in zip(("infrastructure_mqtt_user", "infrastructure_mqtt_monitor_user"), users):
        if not isinstance(value, str) or not MQTT_USER.match(value):
            out.append("%s must use letters, digits, `_`, `.`, `-`; got %s" % (name, _show(value)))
    if users[0] == users[1]:
        out.append("infrastructure_mqtt_user and infrastructure_mqtt_monitor_user are both %s: the two MQTT users"
                   " differ" % _show(users[0]))
    return out


BASIC_AUTH_USER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def proxy_errors(tls_names, dashboard_host, tls, dashboard_user):
    """proxy_tls_names (DNS names, no wildcards), proxy_dashboard_host (one of them unless ACME issues its
    certificate) and proxy_dashboard_user (a basic-auth user name)."""
    out = []
    if not isinstance(tls_names, list) or not tls_names:
        out.append("proxy_tls_names must list the DNS names the certificate covers; got %s" % _show(tls_names))
        tls_names = []
    bad = [name for name in tls_names if not isinstance(name, str) or not DNS_NAME.match(name)]
    if bad:
        out.append("proxy_tls_names: %s are not DNS names of at least two lower-case labels (no wildcards: *.local "
                   "matches nothing)" % _show(bad))
    if not isinstance(dashboard_host, str) or not DNS_NAME.match(dashboard_host):
        out.append("proxy_dashboard_host=%s is not a DNS name of at least two lower-case labels"
                   % _show(dashboard_host))
    elif tls != "acme" and tls_names and dashboard_host not in tls_names:
        out.append("proxy_dashboard_host=%s must be one of proxy_tls_names (%s): the local CA's certificate names it"
                   % (_show(dashboard_host), ", ".join(str(name) for name in tls_names)))
    if not isinstance(dashboard_user, str) or not BASIC_AUTH_USER.match(dashboard_user):
        out.append("proxy_dashboard_user=%s is not a valid basic-auth user (1-64 letters, digits, '.', '_' or '-';"
                   " no ':' or spaces)" % _show(dashboard_user))
    return out


def application_errors(builds, apps, plugins, plan, workers, ports, kind_of):
    """The application's settings: every enabled app's source tree (application_<app>_src) is a directory
    holding what its build needs, application_backend_workers is at least 1, the backend's metrics port
    differs from its HTTP port, the frontend's port is unprivileged, and every application_dev_plugins entry
    has a name with a port in taylordash_port_plan and a source tree with package.json. `kind_of(path)` says
    what a path on the controller is ('d', 'f' or None); the filter passes the file system's answer."""
    out = []
    for app in apps:
        build = builds.get(app) or {}
        src = str(build.get("src", ""))
        if kind_of(src) != "d":
            out.append("application_%s_src=%s: not a directory on the controller" % (app, src))
            continue
        missing = [need for need in build.get("needs", []) if kind_of(src.rstrip("/") + "/" + need) != "f"]
        if missing:
            out.append("application_%s_src=%s: has no %s" % (app, src, ", ".join(missing)))
    count = _number(workers)
    if count is None or count < 1 or count != int(count):
        out.append("application_backend_workers must be a whole number >= 1; got %s" % _show(workers))
    if "backend" in apps and _number(ports.get("backend")) == _number(ports.get("backend-metrics")):
        out.append("taylordash_services.backend.ports: backend-metrics.container must differ from "
                   "backend.container (both %s)" % _show(ports.get("backend")))
    frontend = _number(ports.get("frontend"))
    if "frontend" in apps and (frontend is None or frontend < 1024):
        out.append("taylordash_services.frontend.ports.frontend.container must be unprivileged (>= 1024; the "
                   "frontend runs as a user); got %s" % _show(ports.get("frontend")))
    if not isinstance(plugins, list):
        return out + ["application_dev_plugins must be a list of {name, src}; got %s" % _show(plugins)]
    for entry in plugins:
        if not isinstance(entry, dict) or "name" not in entry or "src" not in entry:
            out.append("application_dev_plugins entry %s needs name and src" % _show(entry))
        elif entry["name"] not in plan:
            out.append("application_dev_plugins entry %s has no port in taylordash_port_plan" % entry["name"])
        elif kind_of(str(entry["src"]).rstrip("/") + "/package.json") != "f":
            out.append("application_dev_plugins entry %s: %s has no package.json" % (entry["name"], entry["src"]))
    return out


def role_options(spec_documents):
    """Every option of every entry point of the roles whose meta/argument_specs.yml documents are given, as
    one argument spec (the playbooks check them all in one task before any role runs). `required` is left
    out: an option one entry point requires is the caller's to pass when it includes that entry point (it
    may be a fact set later in the run). An option two entry points define differently is an error of the
    collection, not of the user: ValueError."""
    merged, source = {}, {}
    for document in spec_documents:
        entries = (document or {}).get("argument_specs") or {}
        for entry_name in sorted(entries):
            for name, spec in ((entries[entry_name] or {}).get("options") or {}).items():
                wanted = {key: value for key, value in spec.items() if key != "required"}
                compared = {key: value for key, value in wanted.items() if key not in ("description", "version_added")}
                if name in merged:
                    have = {key: value for key, value in merged[name].items()
                            if key not in ("description", "version_added")}
                    if have != compared:
                        raise ValueError("option %s is defined differently in %s and %s"
                                         % (name, source[name], entry_name))
                    continue
                merged[name], source[name] = wanted, entry_name
    return merged
