# -*- coding: utf-8 -*-
# Copyright: taylordash-ops developers
# MIT License
"""The service catalogue: one entry per service, and what is derived from it.

An entry (``taylordash_services.<name>``, with ``taylordash_service_overrides``
merged over it key by key) says where a service runs and how others reach it::

    postgres:
      group: data                 # inventory group whose hosts run it (all: every host)
      image: postgres             # its key in taylordash_images (default: the service's name)
      replicable: false           # may it run on several hosts at once
      replicas: 1                 # containers per host (an app service; more than 1 only without a host port)
      drain: 10s                  # an app service's old container keeps its in-flight requests this long
                                  # after the proxy stopped routing to it (start-first upgrades)
      health_timeout: 180s        # how long a new app container may take to turn healthy
      enabled: true               # does it run at all
      user: 999                   # the uid (or uid:gid) it runs as; the files it reads are owned by it
      root: ""                    # why it must run as root (required with user 0, refused otherwise)
      cap_add: []                 # capabilities it gets back (every service drops ALL first)
      read_only: true             # read-only root filesystem (default true)
      tmpfs: [/tmp]               # where it writes besides its volumes (memory, with read_only)
      limits: {memory: 1g, cpus: 1.0, pids: 512}
      ports:                      # endpoints other services call, by a name unique in the catalogue
        postgres:
          container: 5432         # the port inside the container
          port: 5432              # published on the host's address for callers on other hosts
          callers: [backend]      # the services that call it (their hosts may connect)
          public: false           # published for everyone anyway (then no allow list)
      healthcheck:                # the container's check: {test: [CMD, ...]} or {http: /path, port: endpoint}
        test: [CMD-SHELL, pg_isready -h 127.0.0.1 -p 5432]
      routes:                     # HTTP routes through Traefik (websecure: TLS and headers from the entrypoint)
        - {name: api, host: app.example.org, path: /api, port: backend, health: /api/health}
      metrics:                    # Prometheus scrapes it
        job: postgres             # the job name
        port: postgres-exporter   # one of its ports (endpoints); or `targets`, a literal list
        path: /metrics            # when it is not /metrics

Everything here is pure: plain data in, plain data out, errors as messages
naming the service and the key. The filters in plugins/filter/catalogue.py
are thin adapters for templates and tasks.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.taylordash.ops.plugins.module_utils._settings import DNS_NAME

ENTRY_KEYS = frozenset(("group", "image", "replicable", "replicas", "drain", "health_timeout", "enabled", "limits",
                        "ports", "metrics", "healthcheck", "routes", "user", "root", "cap_add", "read_only", "tmpfs",
                        "depends"))
# Capabilities a service may get back after dropping all (Docker's default set, nothing beyond it).
CAPABILITIES = frozenset(("AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD",
                          "NET_BIND_SERVICE", "NET_RAW", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT"))
_USER = re.compile(r"\A([0-9]+)(?::([0-9]+))?\Z")
_TMPFS = re.compile(r"\A/[A-Za-z0-9._/-]*\Z")
# What a service waits for before it starts (docker compose's depends_on conditions).
DEPENDS_CONDITIONS = ("started", "healthy")
ROUTE_KEYS = frozenset(("name", "host", "path", "port", "health"))
METRICS_KEYS = frozenset(("job", "port", "path", "targets"))
PORT_KEYS = frozenset(("container", "port", "callers", "public"))
LIMIT_KEYS = frozenset(("memory", "cpus", "pids"))
_NAME = re.compile(r"\A[a-z0-9][a-z0-9-]*\Z")
_MEMORY = re.compile(r"\A[0-9]+[bkmg]\Z")
_DURATION = re.compile(r"\A(?:([0-9]+(?:\.[0-9]+)?)h)?(?:([0-9]+(?:\.[0-9]+)?)m(?!s))?(?:([0-9]+(?:\.[0-9]+)?)s)?\Z")
_VARIABLE = "taylordash_services"


# Keys an override replaces as a whole (a healthcheck is either a command or an HTTP check, never a mix).
WHOLE_KEYS = frozenset(("healthcheck", "metrics"))


def merge(services, overrides):
    """The catalogue with each override merged over its entry: dicts merged key by key, recursively, except
    `healthcheck` and `metrics`, which replace; any other value replaces; a null removes the key. An
    override may add a new service."""
    out = _copy(services or {})
    for name, override in (overrides or {}).items():
        out[name] = _merge(out.get(name, {}), override, top=True)
    return out


def _copy(value):
    """A copy of YAML-shaped data: new dicts and lists, the (immutable) scalars themselves. copy.deepcopy
    reconstructs every string the caller's data holds (ansible-core's strings carry tags, a subclass of str
    that deepcopy does not know): most of a no-op run's first check took that."""
    if isinstance(value, dict):
        return {key: _copy(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_copy(item) for item in value]
    return value


def _merge(base, override, top=False):
    if not isinstance(base, dict) or not isinstance(override, dict):
        return _copy(override)
    out = dict(base)
    for key, value in override.items():
        if value is None:
            out.pop(key, None)
        elif key in base and not (top and key in WHOLE_KEYS):
            out[key] = _merge(base[key], value)
        else:
            out[key] = _copy(value)
    return out


def _port_number(value):
    """The int value of a port, or None when it is not a whole number from 1 to 65535. A port plan entry
    ({port, address, protocol}) counts as its port: public endpoints read theirs from taylordash_port_plan."""
    if isinstance(value, dict):
        value = value.get("port")
    if isinstance(value, bool):
        return None
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        return None
    return number if 1 <= number <= 65535 else None


def _flag(value):
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in ("1", "true", "yes", "on")


def duration_seconds(value):
    """Seconds of a duration as Compose writes them (90s, 1m30s, 1.5h) or a plain number of seconds; None for
    anything else (a bool, a negative number, an empty string, an unknown unit)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value) if value >= 0 else None
    if isinstance(value, str) and re.match(r"\A[0-9]+(?:\.[0-9]+)?\Z", value.strip()):
        return float(value)
    match = _DURATION.match(str(value).strip()) if isinstance(value, str) and value.strip() else None
    if not match or not any(match.groups()):
        return None
    hours, minutes, seconds = (float(part or 0) for part in match.groups())
    return hours * 3600 + minutes * 60 + seconds


def replicas(entry):
    """How many containers of the entry run on each of its hosts (1 unless the entry says otherwise)."""
    return int(entry.get("replicas", 1))


def rollout_services(services, names, health_timeout):
    """The compose_rollout module's `services` for the catalogue's services `names`, in that order: name,
    replicas, drain and health_timeout in seconds (`health_timeout` when the entry sets none)."""
    out = []
    for name in names:
        entry = services[name]
        spec = {"name": name, "replicas": replicas(entry),
                "health_timeout": duration_seconds(entry.get("health_timeout", health_timeout))}
        if "drain" in entry:
            spec["drain"] = duration_seconds(entry["drain"])
        out.append(spec)
    return out


def replica_errors(services, publish, host):
    """Messages for services of several replicas that publish a host port on `host` (publish: the host plan's
    endpoints other hosts call): two containers cannot bind one host port."""
    found = []
    for spec in publish or []:
        entry = services.get(spec["service"]) or {}
        if replicas(entry) > 1:
            found.append("%s.%s.replicas: %d containers cannot all bind port %s on %s (%s is published there for "
                         "callers on other hosts): run 1 per host (set it in taylordash_service_overrides.%s)"
                         % (_VARIABLE, spec["service"], replicas(entry), spec["port"], host, spec["name"],
                            spec["service"]))
    return sorted(set(found))


def _update_errors(entry):
    """(key, message) for the start-first settings of an entry: replicas, drain and health_timeout."""
    found = []
    if not _flag(entry.get("replicable", False)):
        return [(key, "only an app service (replicable: true) is replaced start-first; %s is not" % key)
                for key in ("replicas", "drain", "health_timeout") if key in entry]
    count = entry.get("replicas", 1)
    if isinstance(count, bool) or not str(count).isdigit() or int(count) < 1:
        found.append(("replicas", "%r is not a whole number of containers, 1 or more" % (count,)))
    elif int(count) > 1:
        fixed = sorted(endpoint for endpoint, spec in (entry.get("ports") or {}).items()
                       if isinstance(spec, dict) and _flag(spec.get("public", False)))
        if fixed:
            found.append(("replicas", "%s containers cannot all bind the host port of %s on one host: "
                          "run 1 per host" % (count, ", ".join(fixed))))
    for key in ("drain", "health_timeout"):
        if key in entry and not duration_seconds(entry[key]):
            found.append((key, "%r is not a positive duration (such as 10s, 2m or 1m30s)" % (entry[key],)))
    return found


def errors(services, groups=None, images=None, overrides_name="taylordash_service_overrides"):
    """Every problem of the catalogue at once, each naming the service and the key.

    groups: the inventory's groups (name -> hosts); with them, an enabled service
    whose group has no host is an error while any catalogue group has hosts
    (without placement groups everything runs on every host). images: the
    names of taylordash_images; with them, an `image` must be one of them.
    """
    found = []

    def say(service, key, text):
        found.append("%s.%s.%s: %s (set it in %s.%s)" % (_VARIABLE, service, key, text, overrides_name, service))

    if not isinstance(services, dict) or not services:
        return ["%s must map each service name to its entry" % _VARIABLE]
    endpoints = {}
    for name in sorted(services):
        entry = services[name]
        if not _NAME.match(str(name)):
            found.append("%s: service name %r must be lower-case letters, digits and '-'" % (_VARIABLE, name))
        if not isinstance(entry, dict):
            say(name, "", "must be a mapping")
            continue
        for key in sorted(set(entry) - ENTRY_KEYS):
            say(name, key, "unknown key; the keys are %s" % ", ".join(sorted(ENTRY_KEYS)))
        group = entry.get("group")
        if not isinstance(group, str) or not group:
            say(name, "group", "must be an inventory group name")
            entry = dict(entry, group="")  # checked; hashable for the checks below
        if "image" in entry and (not isinstance(entry["image"], str) or not entry["image"]):
            say(name, "image", "must name an entry of taylordash_images")
        elif "image" in entry and images is not None and entry["image"] not in images:
            say(name, "image", "%r is not an entry of taylordash_images (%s)" % (entry["image"], ", ".join(sorted(images))))
        for key, text in _limit_errors(entry.get("limits")):
            say(name, key, text)
        for key, text in _update_errors(entry):
            say(name, key, text)
        for key, text in _privilege_errors(entry):
            say(name, key, text)
        for key, text in _depends_errors(name, entry.get("depends"), services):
            say(name, key, text)
        ports = entry.get("ports", {})
        if not isinstance(ports, dict):
            say(name, "ports", "must map endpoint names to {container, port, callers, public}")
            continue
        for endpoint in sorted(ports):
            spec = ports[endpoint]
            where = "ports.%s" % endpoint
            if not _NAME.match(str(endpoint)):
                say(name, where, "endpoint name must be lower-case letters, digits and '-'")
            if endpoint in endpoints:
                say(name, where, "endpoint name is also %s's; endpoint names are unique" % endpoints[endpoint])
            endpoints.setdefault(endpoint, name)
            if not isinstance(spec, dict):
                say(name, where, "must be a mapping with container and port")
                continue
            for key in sorted(set(spec) - PORT_KEYS):
                say(name, "%s.%s" % (where, key), "unknown key; the keys are %s" % ", ".join(sorted(PORT_KEYS)))
            for key in ("container", "port"):
                if key == "port" and spec.get(key) is None and _flag(spec.get("public", False)):
                    continue  # its taylordash_port_plan entry is missing: the phase that publishes it says so
                if _port_number(spec.get(key)) is None:
                    say(name, "%s.%s" % (where, key), "%r is not a port (1-65535)" % (spec.get(key),))
            callers = spec.get("callers", [])
            if not isinstance(callers, list):
                say(name, "%s.callers" % where, "must be a list of service names")
                continue
            for caller in callers:
                if not isinstance(caller, str) or caller not in services:
                    say(name, "%s.callers" % where, "%r is not a service of the catalogue" % (caller,))
    for name in sorted(services):
        entry = services[name]
        if isinstance(entry, dict) and "healthcheck" in entry:
            for key, text in _healthcheck_errors(entry["healthcheck"], entry.get("ports")):
                say(name, key, text)
    routers = {}
    for name in sorted(services):
        entry = services[name]
        if not isinstance(entry, dict) or "routes" not in entry:
            continue
        if not isinstance(entry["routes"], list):
            say(name, "routes", "must be a list of {name, host, path, port, health}")
            continue
        own = entry.get("ports") if isinstance(entry.get("ports"), dict) else {}
        for index, route in enumerate(entry["routes"]):
            where = "routes[%d]" % index
            if not isinstance(route, dict):
                say(name, where, "must be a mapping with name, host and port")
                continue
            for key in sorted(set(route) - ROUTE_KEYS):
                say(name, "%s.%s" % (where, key), "unknown key; the keys are %s" % ", ".join(sorted(ROUTE_KEYS)))
            router = route.get("name")
            if not isinstance(router, str) or not _NAME.match(router):
                say(name, "%s.name" % where, "must be a router name (lower-case letters, digits and '-')")
            elif router in routers:
                say(name, "%s.name" % where, "%s is also a route of %s" % (router, routers[router]))
            else:
                routers[router] = name
            if not isinstance(route.get("host"), str) or not DNS_NAME.match(route.get("host", "")):
                say(name, "%s.host" % where, "%r is not a host name (every route needs one)" % (route.get("host"),))
            for key in ("path", "health"):
                if key in route and not str(route[key]).startswith("/"):
                    say(name, "%s.%s" % (where, key), "must start with /")
            if not isinstance(route.get("port"), str) or route["port"] not in own:
                say(name, "%s.port" % where, "%r is not one of its ports (%s)" % (route.get("port"), ", ".join(sorted(own))))
    jobs = {}
    for name in sorted(services):
        entry = services[name]
        if not isinstance(entry, dict) or "metrics" not in entry:
            continue
        metrics = entry["metrics"]
        if not isinstance(metrics, dict):
            say(name, "metrics", "must be a mapping with job and port (or targets)")
            continue
        for key in sorted(set(metrics) - METRICS_KEYS):
            say(name, "metrics.%s" % key, "unknown key; the keys are %s" % ", ".join(sorted(METRICS_KEYS)))
        job = metrics.get("job")
        if not isinstance(job, str) or not _NAME.match(job):
            say(name, "metrics.job", "must be a job name (lower-case letters, digits and '-')")
        elif job in jobs:
            say(name, "metrics.job", "%s is also %s's job" % (job, jobs[job]))
        else:
            jobs[job] = name
        own = entry.get("ports") if isinstance(entry.get("ports"), dict) else {}
        if "targets" in metrics:
            if not isinstance(metrics["targets"], list) or not metrics["targets"]:
                say(name, "metrics.targets", "must be a non-empty list of host:port")
        elif not isinstance(metrics.get("port"), str) or metrics["port"] not in own:
            say(name, "metrics.port", "%r is not one of its ports (%s)" % (metrics.get("port"), ", ".join(sorted(own))))
    # A port is published on the host's address once: two endpoints of services in one group cannot share it.
    published = {}
    for name in sorted(services):
        entry = services[name]
        if not isinstance(entry, dict) or not isinstance(entry.get("ports", {}), dict):
            continue
        for endpoint, spec in sorted(entry.get("ports", {}).items()):
            port = _port_number(spec.get("port")) if isinstance(spec, dict) else None
            if port is None:
                continue
            key = (str(entry.get("group")), port)
            if key in published:
                say(name, "ports.%s.port" % endpoint, "%d is published twice in group %s (also by %s)"
                    % (port, entry.get("group"), published[key]))
            else:
                published[key] = "%s.ports.%s" % (name, endpoint)
    if groups is not None:
        # `all` (a service on every host) is not a placement group.
        in_use = {s["group"] for s in services.values()
                  if isinstance(s, dict) and isinstance(s.get("group"), str) and s["group"] != "all"
                  and groups.get(s["group"])}
        if in_use:
            for name in sorted(services):
                entry = services[name]
                group = entry.get("group") if isinstance(entry, dict) else None
                if (isinstance(group, str) and group != "all" and _flag(entry.get("enabled", True))
                        and not groups.get(group)):
                    say(name, "group", "no host is in group %s, while the inventory places services in %s"
                        % (entry.get("group"), ", ".join(sorted(in_use))))
    return found


def _depends_errors(name, depends, services):
    """(key, text) for each problem of a service's `depends`: a mapping of other services of the catalogue to
    started or healthy, without a cycle back to the service."""
    if depends is None:
        return []
    if not isinstance(depends, dict):
        return [("depends", "must map service names to %s" % " or ".join(DEPENDS_CONDITIONS))]
    found = []
    for other in sorted(depends, key=str):
        where = "depends.%s" % other
        if other == name:
            found.append((where, "a service cannot wait for itself"))
        elif other not in services:
            found.append((where, "%r is not a service of the catalogue" % (other,)))
        elif _waits_for(services, other, name):
            found.append((where, "%s waits for %s in turn (a cycle: neither would start)" % (other, name)))
        if depends[other] not in DEPENDS_CONDITIONS:
            found.append((where, "%r is not %s" % (depends[other], " or ".join(DEPENDS_CONDITIONS))))
    return found


def _waits_for(services, start, target):
    """Whether `start` waits, directly or through others, for `target`."""
    seen, todo = set(), [start]
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        entry = services.get(current)
        depends = entry.get("depends") if isinstance(entry, dict) else None
        for other in depends if isinstance(depends, dict) else ():
            if other == target:
                return True
            todo.append(other)
    return False


def compose_depends(services, name, present):
    """docker compose's depends_on for a service, from its `depends`: only the services in `present` (those
    of the same Compose project on this host; one on another host is reached over the network, not waited
    for), each with its condition (service_started, service_healthy)."""
    depends = services[name].get("depends") or {}
    return dict((other, {"condition": "service_%s" % depends[other]}) for other in sorted(depends) if other in present)


def _privilege_errors(entry):
    """(key, message) for each problem of an entry's user, root reason, capabilities, read_only and tmpfs."""
    found = []
    user = entry.get("user")
    match = None if isinstance(user, bool) or user is None else _USER.match(str(user))
    if "user" not in entry:
        found.append(("user", "missing: every service states the uid it runs as (0 with a `root` reason)"))
    elif match is None:
        found.append(("user", "%r is not a uid or uid:gid (whole numbers)" % (user,)))
    reason = entry.get("root", "")
    if not isinstance(reason, str):
        found.append(("root", "must be a sentence saying why it runs as root"))
    elif match is not None and int(match.group(1)) == 0 and not reason.strip():
        found.append(("root", "user 0 (root) needs the reason it cannot run as another user"))
    elif match is not None and int(match.group(1)) != 0 and reason.strip():
        found.append(("root", "set only with user 0; user is %s" % (user,)))
    caps = entry.get("cap_add", [])
    if not isinstance(caps, list):
        found.append(("cap_add", "must be a list of capability names"))
    else:
        for cap in caps:
            if str(cap).upper().replace("CAP_", "", 1) not in CAPABILITIES:
                found.append(("cap_add", "%r is not one of %s" % (cap, ", ".join(sorted(CAPABILITIES)))))
    if "read_only" in entry and not isinstance(entry["read_only"], bool):
        found.append(("read_only", "%r is not true or false" % (entry["read_only"],)))
    tmpfs = entry.get("tmpfs", [])
    if not isinstance(tmpfs, list) or not all(isinstance(p, str) and _TMPFS.match(p) and p != "/" for p in tmpfs):
        found.append(("tmpfs", "must be a list of absolute paths inside the container (not /)"))
    return found


def security(entry):
    """The Compose keys of a service's privileges (CIS Docker Benchmark, section 5): its user (uid:gid, the gid
    the uid's when not given), all capabilities dropped and only its `cap_add` back, no new privileges, a
    read-only root filesystem unless `read_only: false`, and tmpfs where it writes besides its volumes."""
    user = str(entry["user"])
    keys = {"user": user if ":" in user else "%s:%s" % (user, user), "cap_drop": ["ALL"],
            "security_opt": ["no-new-privileges:true"], "read_only": entry.get("read_only", True) is not False}
    caps = sorted(str(cap).upper().replace("CAP_", "", 1) for cap in entry.get("cap_add", []))
    if caps:
        keys["cap_add"] = caps
    if entry.get("tmpfs"):
        keys["tmpfs"] = list(entry["tmpfs"])
    return keys


def privilege_rows(services):
    """One row per service, sorted by name: what the README's privilege table shows and what a running
    container of it must match (user, capabilities added back, read-only root, tmpfs, limits, why root)."""
    rows = []
    for name in sorted(services):
        entry = services[name]
        keys, limit = security(entry), entry.get("limits") or {}
        rows.append({"service": name, "user": keys["user"], "cap_add": keys.get("cap_add", []),
                     "read_only": keys["read_only"], "tmpfs": keys.get("tmpfs", []),
                     "memory": limit.get("memory"), "cpus": limit.get("cpus"), "pids": limit.get("pids"),
                     "root": entry.get("root", "").strip()})
    return rows


def privilege_table(services):
    """The README's table of every service's privileges, as Markdown."""
    lines = ["| Service | User (uid:gid) | Capabilities | Read-only root | Writable tmpfs | Memory | CPUs | PIDs |",
             "|---|---|---|---|---|---|---|---|"]
    notes = []
    for row in privilege_rows(services):
        user = row["user"] + (" (root: see below)" if row["root"] else "")
        lines.append("| %s | %s | %s | %s | %s | %s | %s | %s |" % (
            row["service"], user, "ALL dropped" + (", " + ", ".join(row["cap_add"]) + " added" if row["cap_add"] else ""),
            "yes" if row["read_only"] else "no", ", ".join(row["tmpfs"]) or "none",
            row["memory"] or "-", row["cpus"] if row["cpus"] is not None else "-", row["pids"] or "-"))
        if row["root"]:
            notes.append("- **%s runs as root**: %s" % (row["service"], row["root"]))
    return "\n".join(lines + ([""] + notes if notes else [])) + "\n"


def _limit_errors(limits):
    """(key, message) for each problem of an entry's limits (every service has them)."""
    if limits is None:
        return [("limits", "missing: every service has memory, cpus and pids limits")]
    if not isinstance(limits, dict):
        return [("limits", "must be a mapping with memory, cpus and pids")]
    found = [("limits.%s" % key, "unknown key; the keys are memory, cpus, pids") for key in sorted(set(limits) - LIMIT_KEYS)]
    for key in sorted(LIMIT_KEYS - set(limits)):
        found.append(("limits.%s" % key, "missing"))
    if "memory" in limits and not _MEMORY.match(str(limits["memory"])):
        found.append(("limits.memory", "%r is not a size like 512m or 1g" % (limits["memory"],)))
    if "cpus" in limits:
        try:
            ok = float(limits["cpus"]) > 0 and not isinstance(limits["cpus"], bool)
        except (TypeError, ValueError):
            ok = False
        if not ok:
            found.append(("limits.cpus", "%r is not a number above 0" % (limits["cpus"],)))
    if "pids" in limits and not (str(limits["pids"]).isdigit() and int(limits["pids"]) > 0):
        found.append(("limits.pids", "%r is not a positive integer" % (limits["pids"],)))
    return found


def _healthcheck_errors(check, ports):
    if not isinstance(check, dict):
        return [("healthcheck", "must be {test: [CMD, ...]} or {http: /path, port: <one of its ports>}")]
    if "test" in check:
        test = check["test"]
        extra = sorted(set(check) - {"test"})
        if extra:
            return [("healthcheck.%s" % extra[0], "unknown key next to test")]
        if (not isinstance(test, list) or len(test) < 2 or test[0] not in ("CMD", "CMD-SHELL")
                or not all(isinstance(part, str) for part in test)):
            return [("healthcheck.test", "must be a list starting with CMD or CMD-SHELL, then the command")]
        return []
    found = [("healthcheck.%s" % key, "unknown key; the keys are test, or http and port")
             for key in sorted(set(check) - {"http", "port"})]
    if not str(check.get("http", "")).startswith("/"):
        found.append(("healthcheck.http", "must be a path starting with /"))
    if not isinstance(check.get("port"), str) or check["port"] not in (ports if isinstance(ports, dict) else {}):
        found.append(("healthcheck.port", "%r is not one of its ports" % (check.get("port"),)))
    return found


def healthcheck_test(entry):
    """The Compose healthcheck `test` of an entry: its own, or an HTTP GET (wget, as in the project's images)
    on its port inside the container. None without a healthcheck."""
    check = entry.get("healthcheck")
    if not check:
        return None
    if "test" in check:
        return list(check["test"])
    container = _port_number(entry["ports"][check["port"]]["container"])
    return ["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:%d%s" % (container, check["http"])]


def limits(services):
    """service -> {memory, cpus, pids} (services without limits are left out)."""
    return {name: dict(entry["limits"]) for name, entry in services.items() if entry.get("limits")}


def placement(services):
    """service -> its inventory group."""
    return {name: entry["group"] for name, entry in services.items()}


def replicable(services):
    """Services that may run on several hosts at once."""
    return sorted(name for name, entry in services.items() if _flag(entry.get("replicable", False)))


def disabled(services):
    """Services switched off in the catalogue (enabled: false)."""
    return sorted(name for name, entry in services.items() if not _flag(entry.get("enabled", True)))


def disabled_images(services):
    """taylordash_images entries that only disabled services use (not built, not pulled, not checked)."""
    used = {entry.get("image", name) for name, entry in services.items() if _flag(entry.get("enabled", True))}
    return sorted({entry.get("image", name) for name, entry in services.items()
                   if not _flag(entry.get("enabled", True))} - used)


def images(services):
    """service -> its key in taylordash_images."""
    return {name: entry.get("image", name) for name, entry in services.items()}


def endpoint_ports(services):
    """endpoint -> {service, target, port, public}: the container port, and the port it is published
    on for callers on other hosts (see the placement filters' cross_host)."""
    out = {}
    for name, entry in services.items():
        for endpoint, spec in (entry.get("ports") or {}).items():
            out[endpoint] = {"service": name, "target": _port_number(spec["container"]),
                             "port": _port_number(spec["port"])}
            if _flag(spec.get("public", False)):
                out[endpoint]["public"] = True
    return out


def scrape_jobs(services, endpoints, enabled, skip=()):
    """Prometheus' scrape jobs of the enabled services with `metrics` (catalogue order): job, targets (where
    the Prometheus host reaches the endpoint: `endpoints` from the placement filters' cross_host, else the
    service name on the Compose network) or, for a service of several replicas on the Compose network, `dns`
    (a DNS service discovery of every container of the service), and metrics_path when set."""
    jobs = []
    for name, entry in services.items():
        metrics = entry.get("metrics")
        if not metrics or name not in enabled or name in skip:
            continue
        job = {"job": metrics["job"]}
        if metrics.get("targets"):
            job["targets"] = list(metrics["targets"])
        elif endpoints.get(metrics["port"]):
            job["targets"] = list(endpoints[metrics["port"]])
        else:
            container = _port_number(entry["ports"][metrics["port"]]["container"])
            if replicas(entry) > 1:
                # Each replica: the service's name on the Compose network resolves to every container.
                job["dns"] = {"names": [name], "type": "A", "port": container}
            else:
                job["targets"] = ["%s:%s" % (name, container)]
        if metrics.get("path"):
            job["metrics_path"] = metrics["path"]
        jobs.append(job)
    return jobs


def port_map(services, plan, names=None):
    """endpoint -> {service, target, public} for the endpoints of the services `names` (default all) that
    taylordash_port_plan (plan) names, and every public one (whose plan entry the infrastructure role then
    requires): what the infrastructure role publishes on the host (public ones always, the others in
    development). The plan's dev-server entries (the app's) are not these."""
    out = {}
    for name, entry in services.items():
        if names is not None and name not in names:
            continue
        for endpoint, spec in (entry.get("ports") or {}).items():
            if endpoint in plan or _flag(spec.get("public", False)):
                out[endpoint] = {"service": name, "target": _port_number(spec["container"]),
                                 "public": _flag(spec.get("public", False))}
    return out


def _under(path, prefix):
    """Whether the path prefix `path` lies strictly under `prefix` (None or "" is the whole host)."""
    prefix = (prefix or "").rstrip("/")
    return bool(path) and path.rstrip("/") != prefix and (path + "/").startswith(prefix + "/")


def route_rule(route, services=None):
    """Traefik's rule of a route: its host, its path prefix when it has one, and, when `services` (the
    catalogue) is given, the exclusion of every other route's path prefix under it on the same host. So
    the frontend's catch-all never answers /api: while no backend is healthy, Traefik answers /api
    itself (404 or 503), never with the frontend's index.html."""
    rule = "Host(`%s`)" % route["host"]
    if route.get("path"):
        rule += " && PathPrefix(`%s`)" % route["path"]
    deeper = sorted({other["path"] for entry in (services or {}).values() for other in entry.get("routes") or []
                     if other.get("host") == route["host"] and _under(other.get("path"), route.get("path"))})
    for path in deeper:
        rule += " && !PathPrefix(`%s`)" % path
    return rule


def traefik_labels(services, name, project, enabled=True):
    """The Docker labels that route a service through Traefik on its own host (label provider), as
    (key, value) pairs; an empty list for a service without routes."""
    entry = services[name]
    if not entry.get("routes"):
        return []
    labels = [("traefik.enable", "true" if enabled else "false"), ("traefik.docker.network", project)]
    for route in entry["routes"]:
        router = "%s-%s" % (project, route["name"])
        labels += [("traefik.http.routers.%s.rule" % router, route_rule(route, services)),
                   ("traefik.http.routers.%s.entrypoints" % router, "websecure"),
                   ("traefik.http.routers.%s.service" % router, router),
                   ("traefik.http.services.%s.loadbalancer.server.port" % router,
                    str(_port_number(entry["ports"][route["port"]]["container"])))]
    return labels


def file_routes(services, endpoints, project, enabled, interval, leave_out=()):
    """Traefik's file-provider configuration routing the enabled services' routes to the hosts that run
    them (endpoints: endpoint -> host:port list), each server health-checked on the route's `health`.

    leave_out: addresses whose servers are left out (hosts whose app is about to be replaced in place); a
    route left with no server is left out whole (Traefik then answers 404, never a stale host)."""
    routers, backends = {}, {}
    gone = set(leave_out or ())
    for name, entry in services.items():
        if name not in enabled:
            continue
        for route in entry.get("routes") or []:
            targets = [t for t in endpoints.get(route["port"]) or [] if t.rsplit(":", 1)[0] not in gone]
            if not targets:
                continue
            router = "%s-%s" % (project, route["name"])
            routers[router] = {"rule": route_rule(route, services), "entryPoints": ["websecure"], "service": router}
            balancer = {"servers": [{"url": "http://%s" % target} for target in targets]}
            if route.get("health"):
                balancer["healthCheck"] = {"path": route["health"], "interval": interval, "timeout": "3s"}
            backends[router] = {"loadBalancer": balancer}
    return {"http": {"routers": routers, "services": backends}} if routers else {}


def routes_pending(api_services, routes, managed):
    """What Traefik does not route yet as `routes` (file_routes' configuration) says, from its API's
    /api/http/services list: one line per service whose servers differ (missing, or still there after
    being left out); an empty list once Traefik has applied the file. managed: the names of every service
    the file can define (a route left with no server is no longer in `routes` and must be gone)."""
    wanted = dict((name, sorted(s["url"] for s in backend["loadBalancer"]["servers"]))
                  for name, backend in ((routes or {}).get("http") or {}).get("services", {}).items())
    if not isinstance(api_services, list):
        return ["Traefik's API did not list its services (no answer yet, or not the list it gives)"]
    served = {}
    for service in api_services:
        if not isinstance(service, dict):
            continue
        name = (service.get("name") or "").rsplit("@", 1)
        if len(name) == 2 and name[1] == "file" and "loadBalancer" in service:
            served[name[0]] = sorted(s.get("url", "") for s in service["loadBalancer"].get("servers") or [])
    pending = []
    for name in sorted(set(managed) | set(wanted)):
        if name not in wanted:
            if name in served:
                pending.append("%s: still routed to %s" % (name, ", ".join(served[name])))
        elif served.get(name) != wanted[name]:
            pending.append("%s: Traefik routes to %s, the file to %s" % (
                name, ", ".join(served.get(name) or ["nothing"]), ", ".join(wanted[name])))
    return pending


def routes_keep_out(kept, left_out, results):
    """The app hosts the proxy's file-provider routes keep out after a batch: those kept out before that the
    batch did not roll out successfully, and those it left out whose rollout did not succeed - unless its
    result says no old container was stopped (in_place_begun empty: a failed migration, say, leaves the old
    app serving), or the rollout did not run (its result is still the plan, `applied` false). A host left out
    without a result (unreachable, dropped from the batch) stays out: what runs there is unknown. A plan is no
    success: a host kept out before stays out. results: host -> its compose_rollout
    result in this batch."""
    def succeeded(result):
        return (isinstance(result, dict) and result.get("applied") is True and not result.get("failed")
                and not result.get("unreachable") and not result.get("skipped"))

    def untouched(result):
        # Nothing stopped: the rollout failed before (or did not run: its result is still the plan).
        return isinstance(result, dict) and ((result.get("failed") and result.get("in_place_begun") == [])
                                             or result.get("applied") is False)

    done = set(host for host, result in (results or {}).items() if succeeded(result))
    out = set(kept or ()) - done
    out |= set(host for host in left_out or () if host not in done and not untouched((results or {}).get(host)))
    return sorted(out)


def local_endpoints(services):
    """endpoint -> ["<service>:<container port>"]: how a service on the same Compose network reaches each
    endpoint (what the placement filters' cross_host says for services on this host)."""
    return {endpoint: ["%s:%d" % (name, _port_number(spec["container"]))]
            for name, entry in services.items() for endpoint, spec in (entry.get("ports") or {}).items()}


def consumers(services):
    """endpoint -> the services that call it."""
    return {endpoint: list(spec.get("callers", []))
            for entry in services.values() for endpoint, spec in (entry.get("ports") or {}).items()}
