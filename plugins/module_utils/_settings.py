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

import ipaddress
import json
import posixpath
import re

# Every pattern is anchored with \A and \Z: `$` also matches before a trailing newline, so "name\n" would pass.
# A Docker image reference: [registry[:port]/]name[/name...][:tag][@sha256:digest].
IMAGE_REF = re.compile(
    r"\A((?:[a-zA-Z0-9-]+\.)*[a-zA-Z0-9-]+(?::[0-9]+)?/)?[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
    r"(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@sha256:[a-f0-9]{64})?\Z")
TAG = re.compile(r":[A-Za-z0-9_][A-Za-z0-9_.-]*\Z")
# A DNS name of at least two lower-case labels (no wildcards, no underscores).
DNS_NAME = re.compile(r"\A(?=.{1,253}\Z)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,61}[a-z0-9]\Z")
PROJECT_NAME = re.compile(r"\A[a-z0-9][a-z0-9_-]*\Z")
DEV_KINDS = ("uvicorn", "gunicorn", "hypercorn", "vite", "http.server", "node")
DURATION = re.compile(r"\A([0-9]+(ms|s|m|h|d|w|y))+\Z")
ENV_NAME = re.compile(r"\A[A-Z_][A-Z0-9_]*\Z")
SQL_NAME = re.compile(r"\A[a-z_][a-z0-9_]*\Z")
MQTT_USER = re.compile(r"\A[A-Za-z0-9_.-]+\Z")
URL = re.compile(r"\Ahttps?://\S+\Z")
LOOPBACK = ("127.0.0.1", "::1")
# Refused as taylordash_deploy_dir (after normalising): the run would write the stack's files into them and
# set their modes. Their subdirectories (/opt/taylordash, /srv/taylordash) are fine.
SYSTEM_DIRS = ("/", "/bin", "/boot", "/dev", "/etc", "/home", "/lib", "/opt", "/proc", "/root", "/run", "/sbin",
               "/srv", "/sys", "/tmp", "/usr", "/var")
# A character no one-line value (a path, a name, a secret) may hold: it would end or split its line in a file.
CONTROL = re.compile(r"[\x00-\x1f\x7f]")
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


def normal_path(path):
    """An absolute path as the file system reads it: `//`, `/./`, `..` and a trailing `/` resolved on the text
    (posixpath.normpath keeps a leading `//`, which POSIX leaves to the system: folded to `/` here)."""
    return posixpath.normpath(re.sub(r"/+", "/", path))


def directory_errors(name, path, kind="a directory of its own"):
    """A directory the collection takes over (creates, owns, sets the mode of): an absolute path on one line
    that is not one of SYSTEM_DIRS (their subdirectories are fine)."""
    if not isinstance(path, str) or not path.startswith("/") or CONTROL.search(path):
        return ["%s must be an absolute path on one line; got %s" % (name, _show(path))]
    normal = normal_path(path)
    if normal in SYSTEM_DIRS:
        return ["%s: '%s' is a system directory%s; the stack needs %s, such as /opt/taylordash"
                % (name, path, "" if normal == path else " (%s)" % normal, kind)]
    return []


def shared_errors(deploy_dir, project_name, domain):
    """taylordash_deploy_dir (an absolute path, not a system directory), taylordash_project_name and
    taylordash_domain."""
    out = directory_errors("taylordash_deploy_dir", deploy_dir,
                           "a directory of its own for its files (they are written there and their modes set)")
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


BASIC_AUTH_USER = re.compile(r"\A[A-Za-z0-9][A-Za-z0-9._-]{0,63}\Z")


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


def whole(value):
    """value as a whole number (an int, a float without a fraction or a string of digits), else None; a bool
    is not a number here."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() else None
    if isinstance(value, str) and re.match(r"\A\s*-?[0-9]+\s*\Z", value):
        return int(value)
    return None


def _flag(value):
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on", "y", "t")
    return bool(value)


# What a supplied secret may not hold: .env writes it single-quoted (KEY='value'), where a backslash is
# taken as it is but a single quote, a newline, a carriage return or NUL cannot be written (the env_file
# module refuses them too, but only when it writes .env, after the engine, images and cleanup phases);
# a double quote is refused as well, for the configurations and commands that quote the value in turn.
SECRET_FORBIDDEN = (("'", "a single quote"), ('"', "a double quote"), ("\n", "a newline"),
                    ("\r", "a carriage return"), ("\0", "a NUL character"))


ROTATION_ID = re.compile(r"\A[A-Za-z0-9][A-Za-z0-9._-]{0,63}\Z")


def rotation_errors(names, rotation_id, known):
    """rotate-secrets.yml's inputs: taylordash_rotate_secrets names secrets of .env (`known`; empty: not
    checked) once each, and taylordash_rotation_id, which a host records once the rotation is applied, is
    set with them (a name of letters, digits, . _ and -)."""
    out = []
    names = names if names is not None else []
    if not isinstance(names, list) or any(not isinstance(name, str) for name in names):
        return ["taylordash_rotate_secrets must be a list of secret names; got %s" % _show(names)]
    unknown = [name for name in names if known and name not in known]
    if unknown:
        out.append("taylordash_rotate_secrets: %s unknown; the secrets are %s" % (_show(unknown), ", ".join(known)))
    twice = sorted(set(name for name in names if names.count(name) > 1))
    if twice:
        out.append("taylordash_rotate_secrets names %s more than once" % _show(twice))
    if names and not (isinstance(rotation_id, str) and ROTATION_ID.match(rotation_id)):
        out.append("taylordash_rotation_id must name the rotation (letters, digits, . _ and -, at most 64, such as "
                   "2026-12-q4), so a second run with it changes nothing; got %s" % _show(rotation_id))
    elif rotation_id and not names:
        out.append("taylordash_rotation_id is %s but taylordash_rotate_secrets names no secret" % _show(rotation_id))
    return out


def secret_problem(where, value, min_length):
    """Why a supplied secret cannot be used (a message naming `where`, never showing the value), else None.
    Empty (or None) is not supplied: the secret is generated."""
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        return "%s: a supplied secret must be a string (the value is not shown)" % where
    text = str(value)
    found = [label for char, label in SECRET_FORBIDDEN if char in text]
    if found:
        return ("%s: the supplied value contains %s; secrets cannot hold quotes (' or \"), newlines, carriage returns "
                "or NUL characters (the value is not shown)" % (where, " and ".join(found)))
    minimum = whole(min_length)
    if minimum is not None and len(text) < minimum:
        return ("%s: the supplied value is shorter than taylordash_secret_min_length (%d characters; the value is "
                "not shown)" % (where, minimum))
    return None


def address_errors(addresses):
    """taylordash_address of every host that sets it (host -> value): an IPv4 address other hosts can dial
    (not 0.0.0.0); data ports are published on it and the firewall rules name it. IPv6 is refused: the
    rules are IPv4, so data ports are never published on an IPv6 address."""
    out = []
    for host in sorted(addresses):
        value = addresses[host]
        if value is None or value == "":
            continue
        try:
            address = ipaddress.ip_address(value if isinstance(value, str) else str(value))
        except ValueError:
            address = None
        if isinstance(value, bool) or address is None:
            out.append("taylordash_address of %s: %s is not an IPv4 or IPv6 address" % (host, _show(value)))
        elif address.is_unspecified or address.is_multicast:
            out.append("taylordash_address of %s: %s cannot be dialled (give the address other hosts reach it by)"
                       % (host, _show(value)))
        elif address.version == 6:
            out.append("taylordash_address of %s: %s is an IPv6 address, but the rules that admit only the calling "
                       "hosts to its data ports are IPv4 (iptables' DOCKER-USER): published there, they would be "
                       "open to every IPv6 host; give its IPv4 address" % (host, _show(value)))
    return out


def cleanup_errors(settings, dev_apps, project_name):
    """The cleanup role's settings (`settings`: its variables by name) that depend on each other or on the
    dev-server apps (`dev_apps`) and the project (`project_name`)."""
    out = []
    known = list(dev_apps or {})
    keep = settings.get("cleanup_keep_apps") or []
    unknown = [app for app in keep if app not in known]
    if unknown:
        out.append("cleanup_keep_apps names unknown app(s) %s (known: %s)" % (", ".join(map(str, unknown)),
                                                                              ", ".join(known)))
    if _flag(settings.get("cleanup_stop_all_dev_servers")) and keep:
        out.append("cleanup_keep_apps overlaps cleanup_stop_all_dev_servers=true (keep some or stop all, not both)")
    timeout = whole(settings.get("cleanup_stop_timeout"))
    if timeout is None or timeout < 0:
        out.append("cleanup_stop_timeout must be a whole number of seconds, 0 or more (got %s)"
                   % _show(settings.get("cleanup_stop_timeout")))
    projects = settings.get("cleanup_compose_projects") or []
    names = [entry.get("name") if isinstance(entry, dict) else entry for entry in projects]
    if any(not isinstance(entry, dict) or "name" not in entry for entry in projects):
        out.append("cleanup_compose_projects entries are mappings with a `name` (and an optional `project_src`); got %s"
                   % _show(projects))
    elif any(not isinstance(name, str) or not PROJECT_NAME.match(name) for name in names):
        out.append("cleanup_compose_projects names must be compose project names (got %s)"
                   % ", ".join(_show(name) for name in names))
    if project_name in names:
        out.append("cleanup_compose_projects must not name taylordash_project_name (%s): that is the stack the deploy "
                   "playbooks run" % project_name)
    confirmed = settings.get("cleanup_remove_volumes_confirm") == "delete-volumes"
    if _flag(settings.get("cleanup_remove_volumes")) and not confirmed:
        out.append("cleanup_remove_volumes=true deletes the data volumes of %s; also set "
                   "cleanup_remove_volumes_confirm=delete-volumes to confirm. Nothing was changed"
                   % ", ".join(str(name) for name in names))
    return out


LOG_SIZE = re.compile(r"\A[0-9]+[kmg]\Z")
APT_URL = re.compile(r"\A(?:https?|file)://\S+\Z")
DEB_PACKAGE = re.compile(r"\A[a-z0-9][a-z0-9+.-]+\Z")
PGP_KEY = "-----BEGIN PGP PUBLIC KEY BLOCK-----"


def docker_engine_errors(settings, platforms, facts):
    """The docker_engine role's checks (`settings`: its variables by name): the host's platform
    (`facts`: ansible_facts, empty when not gathered) is one of `platforms`, and the values have their shapes.
    The role checks these itself too, for a playbook that uses it without the taylordash role's checks."""
    out = []
    facts = facts or {}
    platforms = platforms or {}
    distribution = facts.get("distribution")
    if distribution is None:
        out.append("docker_engine reads ansible_facts: gather them first (gather_facts: true, gather_subset: "
                   "[distribution, platform, service_mgr] at least)")
    elif distribution not in platforms or facts.get("distribution_major_version", "") not in platforms[distribution]:
        codenames = [str((entry or {}).get("codename")) for releases in platforms.values()
                     for entry in (releases or {}).values()]
        out.append("docker_engine supports %s (%s); this host reports ansible_facts.distribution=%s and "
                   "ansible_facts.distribution_major_version=%s"
                   % (", ".join(platforms), ", ".join(codenames), distribution,
                      facts.get("distribution_major_version", "(not gathered)")))
    size = settings.get("docker_engine_log_max_size")
    if not isinstance(size, str) or not LOG_SIZE.match(size):
        out.append("docker_engine_log_max_size must look like 10m (a number and k, m or g; got %s)" % _show(size))
    for name in ("docker_engine_log_max_file", "docker_engine_wait_timeout"):
        number = whole(settings.get(name))
        if number is None or number < 1:
            out.append("%s must be a whole number of at least 1 (got %s)" % (name, _show(settings.get(name))))
    number = whole(settings.get("docker_engine_apt_cache_valid_time"))
    if number is None or number < 0:
        out.append("docker_engine_apt_cache_valid_time must be a whole number of seconds, 0 or more (got %s)"
                   % _show(settings.get("docker_engine_apt_cache_valid_time")))
    priority = whole(settings.get("docker_engine_helper_suite_priority"))
    if priority is None or priority >= 100:
        out.append("docker_engine_helper_suite_priority must stay below 100 so that nothing but the plugins comes from "
                   "the helper suite (got %s)" % _show(settings.get("docker_engine_helper_suite_priority")))
    mirror = settings.get("docker_engine_debian_mirror")
    if mirror not in ("", None) and not (isinstance(mirror, str) and APT_URL.match(mirror)):
        out.append("docker_engine_debian_mirror must be empty or an http(s):// or file:// URL (got %s)" % _show(mirror))
    url = settings.get("docker_engine_docker_ce_url")
    if not isinstance(url, str) or not URL.match(url):
        out.append("docker_engine_docker_ce_url must be an http(s) URL (got %s)" % _show(url))
    key = settings.get("docker_engine_docker_ce_gpg_key")
    if key not in ("", None) and not (isinstance(key, str) and PGP_KEY in key):
        out.append("docker_engine_docker_ce_gpg_key must be empty (downloaded) or an ASCII-armoured key (%s ...)"
                   % PGP_KEY)
    for name in ("docker_engine_apt_sources_dir", "docker_engine_apt_preferences_dir", "docker_engine_apt_keyrings_dir",
                 "docker_engine_pidfile", "docker_engine_log_file"):
        value = settings.get(name)
        if not isinstance(value, str) or not value.startswith("/") or CONTROL.search(value):
            out.append("%s must be an absolute path on one line (got %s)" % (name, _show(value)))
    options = settings.get("docker_engine_daemon_options")
    if isinstance(options, dict) and options.get("iptables") in (False, "false"):
        out.append("docker_engine_daemon_options.iptables=false: published ports would reach containers through "
                   "docker-proxy from the network's gateway, so PostgreSQL's host rules would take every other host "
                   "for the project network (plaintext) and DOCKER-USER would admit no one by address")
    packages = settings.get("docker_engine_python_packages")
    bad = [package for package in packages or [] if not isinstance(package, str) or not DEB_PACKAGE.match(package)]
    if not isinstance(packages, list) or bad:
        out.append("docker_engine_python_packages must list Debian package names (got %s)"
                   % _show(bad if isinstance(packages, list) else packages))
    return out


BACKUP_LABEL = re.compile(r"\A([a-z0-9][a-z0-9._-]{0,60})?\Z")


def backup_errors(label, identity_file, kind_of):
    """The backup role's settings: backup_label (it goes into the backup's name) and backup_identity_file (a
    file on the controller; `kind_of(path)` says what a path there is: 'd', 'f' or None)."""
    out = []
    if label is not None and not (isinstance(label, str) and BACKUP_LABEL.match(label)):
        out.append("backup_label: %s may hold lower-case letters, digits, dots, underscores and dashes only (at most "
                   "61, the first a letter or digit)" % _show(label))
    if identity_file not in ("", None) and kind_of(str(identity_file)) != "f":
        out.append("backup_identity_file: %s is not a file on the controller" % identity_file)
    return out


AUDIT_LEVELS = ("none", "info", "warning", "critical")


def audit_errors(fail_on, scan_roots):
    """The audit role's audit_fail_on (a severity) and audit_scan_roots (absolute paths)."""
    out = []
    if fail_on not in AUDIT_LEVELS:
        out.append("audit_fail_on must be one of %s, not %s" % (", ".join(AUDIT_LEVELS), _show(fail_on)))
    if isinstance(scan_roots, (str, dict)) or not isinstance(scan_roots, (list, tuple)) \
            or any(not str(root).startswith("/") or CONTROL.search(str(root)) for root in scan_roots):
        out.append("audit_scan_roots must be a list of absolute paths, not %s" % _show(scan_roots))
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
