# -*- coding: utf-8 -*-
# Copyright: taylordash-ops developers
# MIT License
"""The audit's findings and report (docs/audit-design.md, layer 3): what is wrong on a host, decided from its
facts (schema taylordash.audit.facts/1) and its plan, the taylordash.audit/1 report of several hosts, the
comparison of two reports and the severity gate. Pure and standard-library only; nothing here reads a host.

Facts hold no secret value, only fingerprints (`hmac-sha256:` and 16 hex digits); nothing here adds one: a
finding names files, lines, keys and fingerprints, and the facts copied into a report keep only the documented
fields of a file and of a secret (anything else a file or secret entry carries is dropped).

Every finding is {id, severity, category, title, detail, where, fix}. Its id is stable between runs (kinds,
names, ports, paths and fingerprints; never a pid, a time or a count). Its fix is always a dict {playbook, vars,
command}; playbook and command are None when no playbook of this collection fixes it (an unreadable file, a
file's mode outside the deploy directory: the command then says what to run by hand, or is None).

Who uses a host port (the double-booked rule, `claimants` below). Each thing that claims a port counts once:
- Docker: a compose file's published entry of service S (its key `S.ports...`), a container of service S
  publishing the port and the docker-proxy listening for that container are one claimant, "service S"
  (a container without a compose service label is its own claimant, by name). The same service in two
  compose files (the old project's tree and the deploy directory) is still one claimant.
- A native listener (not Docker's): one claimant per process instance (its IPv4 and IPv6 sockets are one).
- A config or .env file's port is explained by a claimant already there when the file lies under the
  listening process's working directory, or when its path or key names the claimant (mosquitto.conf and
  the mosquitto service; BACKEND_PORT and the backend app; postgresql.conf and a native postgres); a file
  explained adds no claimant. Otherwise it claims the port itself, as the service its path or key names
  (two files naming one service are one claimant) or as the file.
A port is double-booked when it has two or more claimants of which at least one is a file or Docker. Two
native listeners alone are not a double booking: the kernel let both bind (IPv4 and IPv6 sockets of two
instances), and the duplicate-dev-server finding says what is wrong.

Files in use and leftovers. A configuration file counts while something runs where it lies: inside the
working_dir of a running container (its compose project's directory) or the cwd of a listening process. A file
elsewhere (the old stack's tree once cleanup.yml stopped it and its dev servers) is a leftover: it claims no
port, and its credentials give leftover-credential:<fp> and leftover-default-secret:<path>:<key> (info) instead
of repeated-credential and known-default-secret (critical). A credential repeated between a live file and a
leftover one stays critical: the leftover copy is a copy of something live.

Deviations from and precisions of the design document:
- exposed-data-port: a data service's port is not exposed when the plan makes it public on that address or
  on every address (port_plan entry of that port with public: true, e.g. mosquitto's 8883) or when the plan publishes it on that very address for
  callers on other hosts (plan `published`). A port counts as the data service's when the container is the
  service's (compose service label, or its image when the label is no catalogue name) or the native process
  is the service's (process name, as the plan's `processes`); any of that service's published ports counts.
- Container findings (unhealthy, restarting, unplanned public port) and exposed-data-port concern our
  containers only (`ours`); containers that are not ours still claim ports and appear in the port map.
- Processes inside containers, docker-proxy and native catalogue services (native-service) are neither dev
  servers nor foreign processes.
- Facts that are missing or of another schema give one warning, scan-error:facts, and nothing else.
- compare() compares only the hosts both reports have (a host audited only once appears in neither list).
- Report facts: files keep path, kind, mode, owner, group, world_readable, size, error, ports, secrets; a secret
  keeps line, key, fingerprint, detector, known_default (a malformed fingerprint becomes null).
- A secret found without a key (a URL's credentials) is named `line-<n>` in ids and titles
  (known-default-secret:<path>:line-2); its `where` keeps key null.
- A docker-proxy whose container the facts do not name is one claimant per port (IPv4 and IPv6 proxies of
  one published port are not a clash). Ports of another protocol than TCP claim nothing.
- Extra keys, additive only: port_map users carry pid, address, line, key, container where known;
  docker_vs_native entries are {name, project, containers, images, states, ports, ours} in Docker and
  {name, type: dev-server|native-service, kinds|processes, ports, pids, instances} outside it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import ipaddress
import json
import posixpath
import re

try:
    from shlex import quote as _shell_quote
except ImportError:  # pragma: no cover - Python 2
    from pipes import quote as _shell_quote

SEVERITIES = ("info", "warning", "critical")
LEVELS = ("none",) + SEVERITIES
SCHEMA = "taylordash.audit/1"
FACTS_SCHEMA = "taylordash.audit.facts/1"
CATEGORIES = ("processes", "containers", "ports", "configuration", "docker", "scan")
STATUSES = ("ok", "off-plan", "double-booked", "exposed")

FINGERPRINT = re.compile(r"\Ahmac-sha256:[0-9a-f]{16}\Z")
DOCKER_PROXY = "docker-proxy"
WILDCARDS = ("0.0.0.0", "::", "")
# The .env names infrastructure_secrets takes (roles/infrastructure/defaults/main.yml).
INFRASTRUCTURE_SECRETS = ("POSTGRES_PASSWORD", "MQTT_PASSWORD", "MQTT_MONITOR_PASSWORD", "MINIO_ROOT_PASSWORD",
                          "GRAFANA_ADMIN_PASSWORD", "API_KEY", "TRAEFIK_DASHBOARD_PASSWORD")
NEW_SECRET = "<a new value, from Ansible Vault>"
LOG_DRIVERS_ROTATED_BY_MAX_SIZE = ("json-file", "local")
FILE_KEYS = ("path", "kind", "mode", "owner", "group", "world_readable", "size", "error", "ports", "secrets")
# /proc/<pid>/stat's comm: at most 15 characters.
COMM_LEN = 15
SECRET_KEYS = ("line", "key", "fingerprint", "detector", "known_default")
_WORD = re.compile(r"[a-z0-9]+")
_SEPARATORS = re.compile(r"[-_.]")
_MAX_ERRORS = 25


# --------------------------------------------------------------------------- small helpers

def _dict(value):
    return value if isinstance(value, dict) else {}


def _list(value):
    return value if isinstance(value, list) else []


def _port(value):
    """An int port 1-65535, or None (bools are not ports)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, int) and 1 <= value <= 65535:
        return value
    return None


def _rank(severity):
    return SEVERITIES.index(severity) if severity in SEVERITIES else -1


def _loopback(address):
    """Whether an address only this host reaches (127.0.0.0/8, ::1, their IPv4-mapped forms, localhost)."""
    text = str(address if address is not None else "").strip().strip("[]")
    if text == "localhost":
        return True
    try:
        ip = ipaddress.ip_address(text.split("%")[0])
    except ValueError:
        return False
    mapped = getattr(ip, "ipv4_mapped", None)
    return bool(ip.is_loopback or (mapped is not None and mapped.is_loopback))


def _published_address(address):
    """A container's HostIp as an address: Docker's empty HostIp means every address."""
    text = str(address if address is not None else "").strip()
    return text or "0.0.0.0"


def _norm(name):
    return _SEPARATORS.sub("", str(name or "").lower())


def _words(*texts):
    words = []
    for text in texts:
        words.extend(_WORD.findall(str(text or "").lower()))
    return words


def _names(words, name):
    """Whether `words` name `name`: its parts in a row (the last may be a prefix, postgres in postgresql),
    or its parts joined as a prefix of a word (victoriametrics in victoriametrics-prod's words)."""
    parts = _words(name)
    if not parts:
        return False
    joined = "".join(parts)
    if any(word.startswith(joined) for word in words):
        return True
    n = len(parts)
    for i in range(len(words) - n + 1):
        if words[i:i + n - 1] == parts[:-1] and words[i + n - 1].startswith(parts[-1]):
            return True
    return False


def _best_service(name, services):
    """The catalogue service whose process names match a process or image name (prefix or suffix of it
    without separators, the longest match winning), or None. A name of COMM_LEN characters may be a
    process name the kernel cut short (victoria-metric for victoria-metrics-prod): a process name it begins
    matches too."""
    text = _norm(name)
    if not text:
        return None
    cut = len(str(name)) >= COMM_LEN
    best, best_len = None, 0
    for service, spec in sorted(services.items()):
        for candidate in [_norm(p) for p in _list(_dict(spec).get("processes"))] or [_norm(service)]:
            if not candidate or len(candidate) <= best_len:
                continue
            if text.startswith(candidate) or text.endswith(candidate) or (cut and candidate.startswith(text)):
                best, best_len = service, len(candidate)
    return best


def _image_name(image):
    """The repository's last path segment of an image reference, without tag or digest."""
    text = str(image or "").split("@", 1)[0]
    last = text.rsplit("/", 1)[-1]
    return last.split(":", 1)[0]


def _command(playbook, host, extra=None, tags=None):
    """The command that runs a playbook on one host; `extra` scalars go in as one JSON -e (typed, so a
    boolean stays a boolean)."""
    words = ["ansible-playbook", playbook, "--limit", _shell_quote(str(host))]
    if tags:
        words += ["--tags", tags]
    if extra:
        words += ["-e", _shell_quote(json.dumps(extra, sort_keys=True, separators=(", ", ": ")))]
    return " ".join(words)


def _fix(playbook=None, host=None, variables=None, extra=None, tags=None, command=None):
    if playbook and command is None:
        command = _command(playbook, host, extra, tags)
    return {"playbook": playbook, "vars": dict(variables or {}), "command": command}


def _finding(fid, severity, category, title, detail, where, fix):
    return {"id": fid, "severity": severity, "category": category, "title": title, "detail": detail,
            "where": where, "fix": fix}


def _sort_findings(found):
    return sorted(found, key=lambda f: (-_rank(f.get("severity")), str(f.get("category")), str(f.get("id"))))


def _fingerprint(value):
    return value if isinstance(value, str) and FINGERPRINT.match(value) else None


def _plural(n, word, plural=None):
    return "%d %s" % (n, word if n == 1 else (plural or word + "s"))


# --------------------------------------------------------------------------- the plan

def _plan(plan):
    """The plan with every documented key present and port_plan entries as {port, address, public}."""
    plan = _dict(plan)
    ports = {}
    for name, value in _dict(plan.get("port_plan")).items():
        if isinstance(value, dict):
            port = _port(value.get("port"))
            entry = {"port": port, "address": str(value.get("address") or ""), "public": value.get("public") is True}
        else:
            port = _port(value)
            entry = {"port": port, "address": "", "public": False}
        if port:
            ports[str(name)] = entry
    apps = {}
    for app, spec in _dict(plan.get("dev_apps")).items():
        port = _port(_dict(spec).get("port")) if isinstance(spec, dict) else _port(spec)
        if port is None and app in ports:
            port = ports[app]["port"]
        apps[str(app)] = port
    services = {}
    for name, spec in _dict(plan.get("docker_services")).items():
        spec = _dict(spec)
        services[str(name)] = {"ports": sorted(set(p for p in map(_port, _list(spec.get("ports"))) if p)),
                               "data": spec.get("data") is True,
                               "processes": [str(p) for p in _list(spec.get("processes")) if p] or [_norm(name)]}
    published = []
    for entry in _list(plan.get("published")):
        port = _port(_dict(entry).get("port"))
        if port:
            published.append({"name": str(entry.get("name") or ""), "port": port,
                              "address": str(entry.get("address") or "")})
    return {"project": str(plan.get("project") or ""),
            "old_projects": [str(p) for p in _list(plan.get("old_projects")) if p],
            "port_plan": ports, "dev_apps": apps, "docker_services": services, "published": published}


def _planned_names(plan, port):
    return sorted(name for name, entry in plan["port_plan"].items() if entry["port"] == port)


def _allowed(plan, port, address):
    """Whether `port` on `address` is as the plan wants it reachable: loopback, a public plan entry on every
    address or on that one (plain MQTT's 1883 is public on 127.0.0.1 only), or published on that address for
    other hosts."""
    if _loopback(address):
        return True
    if any(entry["port"] == port and entry["public"] and entry.get("address", "") in ("", "0.0.0.0", "::", address)
           for entry in plan["port_plan"].values()):
        return True
    return any(p["port"] == port and p["address"] == address for p in plan["published"])


# --------------------------------------------------------------------------- reading the facts

class _Host(object):
    """The facts of one host, indexed: processes, listeners, containers, files, and which is which."""

    def __init__(self, facts, plan):
        facts = _dict(facts)
        self.name = str(facts.get("host") or "all")
        self.plan = plan
        self.services = plan["docker_services"]
        self.processes = [p for p in _list(facts.get("processes")) if isinstance(p, dict)]
        self.listeners = [x for x in _list(facts.get("listeners")) if isinstance(x, dict) and _port(x.get("port"))]
        self.containers = [c for c in _list(facts.get("containers")) if isinstance(c, dict) and c.get("name")]
        self.files = [f for f in _list(facts.get("files")) if isinstance(f, dict) and f.get("path")]
        self.docker = _dict(facts.get("docker"))
        self.scan_errors = [e for e in _list(facts.get("scan_errors")) if isinstance(e, dict)]
        self.by_container = dict((str(c["name"]), c) for c in self.containers)
        self.by_pid = dict((p.get("pid"), p) for p in self.processes if p.get("pid") is not None)
        self.by_socket = {}
        for proc in self.processes:
            for sock in _list(proc.get("listeners")):
                if isinstance(sock, dict) and _port(sock.get("port")):
                    self.by_socket.setdefault((str(sock.get("address")), _port(sock.get("port"))), proc)
        # Where the stack's things run: a running compose project's directory, the working directory of one of
        # our dev servers or of a catalogue service running natively. A file elsewhere is a leftover (the old
        # stack's, once cleanup.yml stopped it): still listed, but it books no port and its secrets are not a
        # live credential's copies. Other processes' directories (a decoy's, /tmp, a home) prove nothing. Without
        # an engine that answered, nothing tells a leftover from a stopped project's files: every file counts.
        natives = [self.process_of(x) for x in self.listeners if self.native_service(x)]
        self.live_dirs = sorted(set(
            [str(c.get("working_dir")) for c in self.containers
             if c.get("working_dir") and c.get("state") in ("running", "restarting", "paused")]
            + [str(p.get("cwd")) for p in self.processes if p.get("cwd") and self.dev_server(p)]
            + [str(p.get("cwd")) for p in natives if p is not None and p.get("cwd")]))
        self.all_in_use = self.docker.get("available") is not True

    # ---- processes

    def process_of(self, listener):
        """The listening instance a listener belongs to (by socket, else by pid), or None."""
        found = self.by_socket.get((str(listener.get("address")), _port(listener.get("port"))))
        return found if found is not None else self.by_pid.get(listener.get("pid"))

    def listeners_of(self, proc):
        return [x for x in self.listeners if self.process_of(x) is proc]

    @staticmethod
    def dev_server(proc):
        return proc.get("ours") is True and bool(proc.get("app")) and proc.get("in_container") is not True

    def docker_listener(self, listener):
        return bool(listener.get("container")) or listener.get("process") == DOCKER_PROXY \
            or listener.get("in_container") is True

    def native_service(self, listener):
        """The catalogue service a native listener is (by its process name), or None."""
        if self.docker_listener(listener):
            return None
        proc = self.process_of(listener)
        if proc is not None and (self.dev_server(proc) or proc.get("in_container") is True):
            return None
        return _best_service(listener.get("process"), self.services)

    def instance_key(self, listener):
        proc = self.process_of(listener)
        return "pid:%s" % (proc.get("pid") if proc is not None else listener.get("pid"))

    @staticmethod
    def sockets(proc):
        """[(port, address, family)] of an instance, sorted by port."""
        found = []
        for sock in _list(proc.get("listeners")):
            if isinstance(sock, dict) and _port(sock.get("port")):
                found.append((_port(sock["port"]), str(sock.get("address") or ""), str(sock.get("family") or "")))
        return sorted(found)

    # ---- containers

    def container_service(self, container):
        """The catalogue service a container runs: its compose service when that is a catalogue name, else
        the service its image is named after, else None."""
        service = str(container.get("service") or "")
        if service in self.services:
            return service
        return _best_service(_image_name(container.get("image")), self.services)

    @staticmethod
    def container_claimant(container):
        service = str(container.get("service") or "")
        return "docker:%s" % service if service else "container:%s" % container.get("name")

    def published(self, container):
        """[(host port, address)] a container publishes over TCP."""
        found = []
        for spec in _list(container.get("ports")):
            if not isinstance(spec, dict) or str(spec.get("protocol") or "tcp") != "tcp":
                continue
            port = _port(spec.get("port"))
            if port:
                found.append((port, _published_address(spec.get("address"))))
        return sorted(set(found))

    def is_old(self, container):
        return str(container.get("project") or "") in self.plan["old_projects"]

    # ---- files

    def in_use(self, path):
        """Whether a file lies where something runs (see live_dirs)."""
        return self.all_in_use or any(_inside(str(path), directory) for directory in self.live_dirs)

    def file_ports(self, entry):
        """[(port, line, key)] a file assigns on the host: compose entries only when published."""
        found = []
        for spec in _list(entry.get("ports")):
            if not isinstance(spec, dict):
                continue
            port = _port(spec.get("port"))
            if port is None or (entry.get("kind") == "compose" and spec.get("published") is not True):
                continue
            if str(spec.get("protocol") or "tcp").lower() != "tcp":
                continue
            found.append((port, spec.get("line"), str(spec.get("key") or "")))
        return found


# --------------------------------------------------------------------------- who uses a port

def _items(host):
    """Every use of a host port: {port, type: file|container|listener, ...}, in a stable order."""
    items = []
    for entry in host.files:
        if not host.in_use(entry["path"]):
            continue
        for port, line, key in host.file_ports(entry):
            items.append({"port": port, "type": "file", "path": str(entry["path"]), "line": line, "key": key,
                          "kind": entry.get("kind"),
                          "service": key.split(".", 1)[0] if entry.get("kind") == "compose" and key else ""})
    for container in host.containers:
        for port, address in host.published(container):
            items.append({"port": port, "type": "container", "container": str(container["name"]),
                          "address": address, "claimant": host.container_claimant(container)})
    for listener in host.listeners:
        item = {"port": _port(listener["port"]), "type": "listener", "pid": listener.get("pid"),
                "address": str(listener.get("address") or ""), "process": str(listener.get("process") or ""),
                "container": listener.get("container") or None}
        if host.docker_listener(listener):
            named = host.by_container.get(str(listener.get("container") or ""))
            if named is not None:
                item["claimant"] = host.container_claimant(named)
            elif listener.get("container"):
                item["claimant"] = "container:%s" % listener["container"]
            else:  # a docker-proxy whose container is unknown: one container publishes a host port
                item["claimant"] = "container:(publishing %d)" % item["port"]
        else:
            proc = host.process_of(listener)
            item["claimant"] = host.instance_key(listener)
            item["names"] = [n for n in (listener.get("process"), host.native_service(listener),
                                         proc.get("app") if proc is not None else None,
                                         proc.get("kind") if proc is not None else None) if n]
            item["cwd"] = str(proc.get("cwd") or "") if proc is not None else ""
        items.append(item)
    return sorted(items, key=_item_order)


def _item_order(item):
    return (item["port"], ("file", "container", "listener").index(item["type"]), str(item.get("path") or ""),
            str(item.get("container") or ""), str(item.get("line") or ""), str(item.get("key") or ""),
            str(item.get("pid") or ""), str(item.get("address") or ""))


def _inside(path, directory):
    directory = posixpath.normpath(directory) if directory else ""
    return bool(directory) and directory != "/" and (
        posixpath.dirname(posixpath.normpath(path)) == directory
        or posixpath.normpath(path).startswith(directory.rstrip("/") + "/"))


def claimants(items, known_services=()):
    """{claimant: [items]} of one port's items (see the module's docstring)."""
    found = {}
    docker = {}
    native = {}
    for item in items:
        if item["type"] == "file" and item.get("service"):
            item["claimant"] = "docker:%s" % item["service"]
        if item["type"] == "file" and not item.get("service"):
            continue
        found.setdefault(item["claimant"], []).append(item)
        if item["claimant"].startswith("docker:"):
            docker[item["claimant"]] = item["claimant"].split(":", 1)[1]
        elif item["type"] == "listener":
            native.setdefault(item["claimant"], []).append(item)
    for item in items:
        if item["type"] != "file" or item.get("service"):
            continue
        words = _words(item["path"], item.get("key"))
        explained = [c for c, service in sorted(docker.items()) if _names(words, service)]
        for claimant, listeners in sorted(native.items()):
            if any(_inside(item["path"], x.get("cwd")) or any(_names(words, n) for n in x.get("names", []))
                   for x in listeners):
                explained.append(claimant)
        if explained:
            item["claimant"] = explained[0]
            found[explained[0]].append(item)
            continue
        if item.get("kind") == "env":
            # An environment file's PORT says a number, not whether it is listened on or connected to (the
            # app's MQTT_PORT, DB_PORT): it claims nothing by itself.
            continue
        named = [s for s in sorted(known_services, key=lambda s: (-len(s), s)) if _names(words, s)]
        item["claimant"] = "docker:%s" % named[0] if named else "file:%s" % item["path"]
        found.setdefault(item["claimant"], []).append(item)
    return found


def _double_booked(found):
    kinds = [c.split(":", 1)[0] for c in found]
    return len(found) > 1 and any(k != "pid" for k in kinds)


def _known_services(host):
    names = set(host.services) | set(host.plan["dev_apps"])
    for container in host.containers:
        if container.get("service"):
            names.add(str(container["service"]))
    for entry in host.files:
        if entry.get("kind") == "compose" and host.in_use(entry["path"]):
            for _port_, _line, key in host.file_ports(entry):
                if "." in key:
                    names.add(key.split(".", 1)[0])
    return sorted(n for n in names if n)


def _ports(host):
    """{port: (items, claimants)} of every port in use."""
    by_port = {}
    for item in _items(host):
        by_port.setdefault(item["port"], []).append(item)
    known = _known_services(host)
    return dict((port, (items, claimants(items, known))) for port, items in by_port.items())


def _where(item):
    if item["type"] == "file":
        return {"path": item["path"], "line": item.get("line"), "key": item.get("key"), "port": item["port"]}
    if item["type"] == "container":
        return {"container": item["container"], "port": item["port"], "address": item["address"]}
    where = {"pid": item.get("pid"), "port": item["port"], "address": item["address"], "process": item["process"]}
    if item.get("container"):
        where["container"] = item["container"]
    return where


def _describe(item):
    if item["type"] == "file":
        return "%s%s%s" % (item["path"], ":%s" % item["line"] if item.get("line") not in (None, "") else "",
                            " (%s)" % item["key"] if item.get("key") else "")
    if item["type"] == "container":
        return "container %s on %s" % (item["container"], item["address"])
    return "%s listening on %s (pid %s)" % (item["process"] or "a process", item["address"], item.get("pid"))


def _claimant_name(claimant):
    kind, _, name = claimant.partition(":")
    return {"docker": "service %s", "container": "container %s", "pid": "process %s",
            "file": "%s"}.get(kind, "%s") % name


# --------------------------------------------------------------------------- findings

def findings(facts, plan):
    """The findings of one host from its facts and its plan, sorted (critical first, then category, id)."""
    plan = _plan(plan)
    facts = _dict(facts)
    name = str(facts.get("host") or "all")
    if facts.get("schema") != FACTS_SCHEMA:
        return [_finding("scan-error:facts", "warning", "scan", "no audit facts of %s" % name,
                         "the facts are %s, not %s: nothing else could be checked on this host"
                         % ("missing" if not facts else "of schema %r" % (facts.get("schema"),), FACTS_SCHEMA),
                         [], _fix())]
    host = _Host(facts, plan)
    found = []
    found += _dev_server_findings(host)
    found += _foreign_findings(host)
    found += _native_findings(host)
    ports = _ports(host)
    found += _port_findings(host, ports)
    found += _secret_findings(host)
    found += _container_findings(host)
    found += _docker_findings(host)
    found += _scan_findings(host)
    return _sort_findings(found)


def _instance_text(proc):
    sockets = _Host.sockets(proc)
    if not sockets:
        return "%s (pid %s)" % (proc.get("kind") or "a process", proc.get("pid"))
    first = sockets[0]
    family = "/ipv6" if first[2] == "ipv6" or ":" in first[1] else ""
    return "%s on %d%s (pid %s)" % (proc.get("kind") or "a process", first[0], family, proc.get("pid"))


def _instance_where(proc):
    sockets = _Host.sockets(proc)
    where = {"pid": proc.get("pid"), "port": sockets[0][0] if sockets else None,
             "address": sockets[0][1] if sockets else None, "kind": proc.get("kind"), "app": proc.get("app")}
    if len(set(s[0] for s in sockets)) > 1:
        where["ports"] = sorted(set(s[0] for s in sockets))
    return where


def _dev_server_findings(host):
    found = []
    apps = {}
    for proc in host.processes:
        if _Host.dev_server(proc):
            apps.setdefault(str(proc["app"]), []).append(proc)
    for app, group in sorted(apps.items()):
        group = sorted(group, key=lambda p: (_Host.sockets(p)[:1], str(p.get("pid"))))
        planned = host.plan["dev_apps"].get(app)
        if len(group) > 1:
            found.append(_finding(
                "duplicate-dev-server:%s" % app, "critical", "processes", "%s runs %d times" % (app, len(group)),
                ", ".join(_instance_text(p) for p in group) + ". cleanup.yml keeps one instance (the one on its "
                "planned port%s) and stops the others by pid." % (" %d" % planned if planned else ""),
                [_instance_where(p) for p in group], _fix("cleanup.yml", host.name)))
        off = {}
        for proc in group:
            ports = [s[0] for s in _Host.sockets(proc)]
            if ports and planned not in ports:
                off.setdefault(ports[0], []).append(proc)
        on_plan = any(planned in [s[0] for s in _Host.sockets(p)] for p in group)
        for port, procs in sorted(off.items()):
            if planned is None:
                title = "%s runs on %d and has no planned port" % (app, port)
            else:
                title = "%s runs on %d, not on its planned port %d" % (app, port, planned)
            if on_plan:
                fix = _fix("cleanup.yml", host.name)
                how = "cleanup.yml stops it (another instance of %s is kept)." % app
            else:
                fix = _fix("cleanup.yml", host.name, {"cleanup_stop_all_dev_servers": True},
                           {"cleanup_stop_all_dev_servers": True})
                how = ("cleanup.yml keeps the only instance of an app, so stop every instance of our apps with "
                       "cleanup_stop_all_dev_servers, then start them on their planned ports (deploy-dev.yml).")
            found.append(_finding(
                "off-plan-dev-server:%s:%d" % (app, port), "warning", "processes", title,
                "%s. %s" % (", ".join(_instance_text(p) for p in procs), how),
                [_instance_where(p) for p in procs], fix))
    return found


def _foreign_findings(host):
    grouped = {}
    for proc in host.processes:
        if _Host.dev_server(proc) or proc.get("in_container") is True:
            continue
        own = host.listeners_of(proc)
        if any(host.docker_listener(x) or host.native_service(x) for x in own):
            continue
        if any(str(arg).rsplit("/", 1)[-1] == DOCKER_PROXY for arg in _list(proc.get("cmdline"))[:1]):
            continue
        sockets = _Host.sockets(proc)
        if not sockets:
            continue
        kind = str(proc.get("kind") or "other")
        grouped.setdefault((kind, sockets[0][0]), []).append(proc)
    found = []
    for (kind, port), procs in sorted(grouped.items()):
        names = sorted(set(str(x.get("process")) for p in procs for x in host.listeners_of(p) if x.get("process")))
        what = kind if kind != "other" or not names else "%s (%s)" % (", ".join(names), kind)
        found.append(_finding(
            "foreign-process:%s:%d" % (kind, port), "info", "processes",
            "%s on %d is not ours" % (what, port),
            "%s: not a dev server of the project, never counted as ours and never stopped by cleanup.yml."
            % ", ".join("%s (user %s, cwd %s)" % (_instance_text(p), p.get("user") or "?", p.get("cwd") or "?")
                        for p in procs),
            [dict(_instance_where(p), user=p.get("user")) for p in procs], _fix()))
    return found


def _native_findings(host):
    grouped = {}
    for listener in host.listeners:
        service = host.native_service(listener)
        if service:
            grouped.setdefault(service, []).append(listener)
    found = []
    for service, listeners in sorted(grouped.items()):
        listeners = sorted(listeners, key=lambda x: (_port(x["port"]), str(x.get("address")), str(x.get("pid"))))
        where = [{"pid": x.get("pid"), "port": _port(x["port"]), "address": str(x.get("address") or ""),
                  "process": x.get("process"), "user": x.get("user")} for x in listeners]
        found.append(_finding(
            "native-service:%s" % service, "warning", "processes", "%s runs outside Docker" % service,
            "%s. The catalogue runs %s in Docker: move its data into the stack, stop and disable the native "
            "service, and let deploy-prod.yml run it." % (", ".join(
                "%s listening on %s:%d (pid %s, user %s)" % (x.get("process"), x.get("address"), _port(x["port"]),
                                                           x.get("pid"), x.get("user") or "?")
                for x in listeners), service),
            where, _fix("deploy-prod.yml", host.name)))
    return found


def _port_findings(host, ports):
    found = []
    for port, (items, claims) in sorted(ports.items()):
        if not _double_booked(claims):
            continue
        planned = _planned_names(host.plan, port)
        parts = []
        for claimant, members in sorted(claims.items()):
            parts.append("%s (%s)" % (_claimant_name(claimant), "; ".join(_describe(m) for m in members)))
        variables = {}
        if planned:
            entry = host.plan["port_plan"][planned[0]]
            value = {"port": port, "address": entry["address"]} if entry["address"] else port
            variables = {"taylordash_port_plan": {planned[0]: value}}
        found.append(_finding(
            "double-booked-port:%d" % port, "critical", "ports",
            "host port %d is double-booked (%d users)" % (port, len(claims)),
            "%s. %s" % (", ".join(parts),
                        "taylordash_port_plan gives %d to %s only; deploy-prod.yml checks the plan for clashes and the "
                        "host for holders before it starts anything" % (port, planned[0]) if planned else
                        "taylordash_port_plan gives every port of the stack to one service only; deploy-prod.yml "
                        "checks it for clashes and the host for holders before it starts anything"),
            [_where(m) for m in items], _fix("deploy-prod.yml", host.name, variables)))
    found += _exposure_findings(host)
    return found


def _exposure_findings(host):
    exposed = {}
    for container in host.containers:
        if container.get("ours") is not True:
            continue
        service = host.container_service(container)
        for port, address in host.published(container):
            if _allowed(host.plan, port, address):
                continue
            if service and host.services[service]["data"]:
                exposed.setdefault((service, port), []).append(
                    {"container": str(container["name"]), "port": port, "address": address})
    for listener in host.listeners:
        service = host.native_service(listener)
        port, address = _port(listener["port"]), str(listener.get("address") or "")
        if service and host.services[service]["data"] and not _allowed(host.plan, port, address):
            exposed.setdefault((service, port), []).append(
                {"pid": listener.get("pid"), "port": port, "address": address, "process": listener.get("process")})
    found = []
    for (service, port), where in sorted(exposed.items()):
        addresses = sorted(set(w["address"] for w in where))
        planned = _planned_names(host.plan, port)
        entry = service if service in planned else (planned[0] if planned else service)
        containers = sorted(set(w["container"] for w in where if w.get("container")))
        natives = sorted(set("%s (pid %s)" % (w.get("process"), w.get("pid")) for w in where if not w.get("container")))
        old = [c for c in containers if host.is_old(host.by_container.get(c, {}))]
        if natives:
            fix = _fix("deploy-prod.yml", host.name)
            how = ("%s runs outside Docker (native-service:%s): stop it once its data is in the stack, which "
                   "publishes %s on 127.0.0.1 only, and only in development" % (service, service, service))
        elif old and len(old) == len(containers):
            project = str(host.by_container[old[0]].get("project"))
            fix = _fix("cleanup.yml", host.name, {"cleanup_compose_projects": [{"name": project}]})
            how = "the old project %s publishes it; cleanup.yml brings that project down (volumes kept)" % project
        else:
            fix = _fix("deploy-prod.yml", host.name, {"taylordash_port_plan": {entry: {"port": port,
                                                                                       "address": "127.0.0.1"}}})
            how = ("the stack publishes its data services on 127.0.0.1 only (taylordash_port_plan), and only in "
                   "development; deploy-prod.yml publishes none of them")
        found.append(_finding(
            "exposed-data-port:%s:%d" % (service, port), "critical", "ports",
            "%s's port %d is reachable on %s" % (service, port, ", ".join(addresses)),
            "%s: %s." % (", ".join(["container %s" % c for c in containers] + natives), how),
            where, fix))
    data = set(k[1] for k in exposed)
    public = {}
    for container in host.containers:
        if container.get("ours") is not True:
            continue
        for port, address in host.published(container):
            if port in data or _allowed(host.plan, port, address):
                continue
            public.setdefault(port, []).append({"container": str(container["name"]), "port": port,
                                                "address": address})
    for port, where in sorted(public.items()):
        names = sorted(set(w["container"] for w in where))
        old = [n for n in names if host.is_old(host.by_container[n])]
        if old and len(old) == len(names):
            project = str(host.by_container[old[0]].get("project"))
            fix = _fix("cleanup.yml", host.name, {"cleanup_compose_projects": [{"name": project}]})
        else:
            fix = _fix("deploy-prod.yml", host.name)
        found.append(_finding(
            "unplanned-public-port:%d" % port, "warning", "ports",
            "port %d is published on %s but the plan does not make it public"
            % (port, ", ".join(sorted(set(w["address"] for w in where)))),
            "%s publish%s it; taylordash_port_plan makes only %s public." % (
                ", ".join(names), "es" if len(names) == 1 else "",
                ", ".join("%s (%d)" % (n, e["port"]) for n, e in sorted(host.plan["port_plan"].items()) if e["public"])
                or "no port"),
            where, fix))
    return found


def _secret_findings(host):
    found = []
    places = {}
    defaults = {}
    for entry in host.files:
        path = str(entry["path"])
        secrets = [s for s in _list(entry.get("secrets")) if isinstance(s, dict)]
        for secret in secrets:
            where = {"path": path, "line": secret.get("line"), "key": secret.get("key"),
                     "fingerprint": _fingerprint(secret.get("fingerprint"))}
            if where["fingerprint"]:
                places.setdefault(where["fingerprint"], []).append(where)
            if secret.get("known_default") is True:
                defaults.setdefault((path, _secret_name(secret)), []).append(where)
        readable = entry.get("world_readable")
        if readable is None:
            try:
                readable = bool(int(str(entry.get("mode")), 8) & 0o004)
            except ValueError:
                readable = False
        if secrets and readable is True:
            found.append(_finding(
                "readable-secret-file:%s" % path, "warning", "configuration",
                "%s holds secrets and is readable by other users" % path,
                "mode %s, owner %s, group %s; %s: %s." % (
                    entry.get("mode"), entry.get("owner"), entry.get("group"), _plural(len(secrets), "secret"),
                    ", ".join(sorted(set(_secret_name(s) for s in secrets)))),
                [{"path": path, "mode": entry.get("mode"), "owner": entry.get("owner")}],
                _fix(command="chmod 0600 %s" % _shell_quote(path))))
    for fingerprint, where in sorted(places.items()):
        files = sorted(set(w["path"] for w in where))
        if len(files) < 2:
            continue
        where = sorted(where, key=lambda w: (w["path"], _line_order(w["line"]), str(w["key"])))
        keys = sorted(set(_secret_name(w) for w in where))
        if not any(host.in_use(path) for path in files):
            found.append(_finding(
                "leftover-credential:%s" % fingerprint, "info", "configuration",
                "one credential is in %d leftover files" % len(files),
                "%s (%s) hold the same value (fingerprint %s), and nothing running uses them: remove them, or "
                "rotate that credential wherever it is still valid." % (
                    ", ".join("%s:%s" % (w["path"], w["line"]) for w in where), ", ".join(keys), fingerprint),
                where, _fix()))
            continue
        found.append(_finding(
            "repeated-credential:%s" % fingerprint, "critical", "configuration",
            "one credential is in %d files" % len(files),
            "%s (%s) hold the same value (fingerprint %s). Give each its own: the stack's .env holds the "
            "generated ones (deploy-prod.yml) or infrastructure_secrets' (Ansible Vault); remove the copies." % (
                ", ".join("%s:%s" % (w["path"], w["line"]) for w in where), ", ".join(keys), fingerprint),
            where, _fix("deploy-prod.yml", host.name, _secret_vars(keys))))
    for (path, key), where in sorted(defaults.items()):
        if not host.in_use(path):
            found.append(_finding(
                "leftover-default-secret:%s:%s" % (path, key), "info", "configuration",
                "%s in %s is a known default, in a leftover file" % (key, path),
                "nothing running uses %s (line%s %s): remove it." % (
                    path, "s" if len(where) > 1 else "", ", ".join(str(w["line"]) for w in where)),
                where, _fix()))
            continue
        found.append(_finding(
            "known-default-secret:%s:%s" % (path, key), "critical", "configuration",
            "%s in %s is a known default" % (key, path),
            "a published default value anyone can try (line%s %s); set a new one." % (
                "s" if len(where) > 1 else "", ", ".join(str(w["line"]) for w in where)),
            where, _fix("deploy-prod.yml", host.name, _secret_vars([key]))))
    return found


def _secret_name(secret):
    """A secret's key, or `line-<n>` for one found without a key (a URL's credentials on a line of its own)."""
    return str(secret.get("key") or "line-%s" % secret.get("line"))


def _line_order(line):
    return (0, line, "") if isinstance(line, int) and not isinstance(line, bool) else (1, 0, str(line))


def _secret_vars(keys):
    named = sorted(k for k in keys if k in INFRASTRUCTURE_SECRETS)
    return {"infrastructure_secrets": dict((k, NEW_SECRET) for k in named)} if named else {}


def _container_findings(host):
    found = []
    old = {}
    for container in sorted(host.containers, key=lambda c: str(c["name"])):
        if container.get("ours") is not True:
            continue
        name = str(container["name"])
        where = [{"container": name, "project": container.get("project"), "service": container.get("service"),
                  "image": container.get("image")}]
        if host.is_old(container):
            old.setdefault(str(container.get("project")), []).append(container)
            fix = _fix("cleanup.yml", host.name, {"cleanup_compose_projects": [{"name": container.get("project")}]})
        else:
            fix = _fix("deploy-prod.yml", host.name)
        if container.get("health") == "unhealthy":
            found.append(_finding(
                "container-unhealthy:%s" % name, "warning", "containers", "container %s is unhealthy" % name,
                "state %s, health unhealthy (image %s): its healthcheck fails." % (container.get("state"),
                                                                                   container.get("image")),
                where, fix))
        restarts = container.get("restart_count")
        restarts = restarts if isinstance(restarts, int) and not isinstance(restarts, bool) else 0
        if container.get("state") == "restarting" or restarts > 0:
            found.append(_finding(
                "container-restarting:%s" % name, "warning", "containers",
                "container %s %s" % (name, "is restarting" if container.get("state") == "restarting"
                                     else "has restarted"),
                "state %s, restarted %s by the engine (image %s)." % (
                    container.get("state"), _plural(restarts, "time"), container.get("image")),
                where, fix))
    for project, containers in sorted(old.items()):
        names = [str(c["name"]) for c in containers]
        found.append(_finding(
            "old-project:%s" % project, "info", "containers",
            "%s of the old project %s still present" % (_plural(len(names), "container"), project),
            "%s. cleanup.yml brings the project down and keeps its volumes." % ", ".join(names),
            [{"container": n, "project": project} for n in names],
            _fix("cleanup.yml", host.name, {"cleanup_compose_projects": [{"name": project}]})))
    return found


def _docker_findings(host):
    docker = host.docker
    if docker.get("available") is not True:
        return []
    found = []
    opts = _dict(docker.get("log_opts"))
    if docker.get("log_driver") in LOG_DRIVERS_ROTATED_BY_MAX_SIZE and not opts.get("max-size"):
        found.append(_finding(
            "no-log-rotation", "warning", "docker", "container logs are not rotated",
            "log driver %s without max-size: a busy container fills the disk." % docker.get("log_driver"),
            [{"log_driver": docker.get("log_driver")}],
            _fix("deploy-prod.yml", host.name, {"docker_engine_log_max_size": "10m", "docker_engine_log_max_file": 3},
                 tags="engine")))
    if docker.get("live_restore") is False:
        found.append(_finding(
            "live-restore-off", "info", "docker", "live-restore is off",
            "every container stops while dockerd restarts (an engine upgrade).", [],
            _fix("deploy-prod.yml", host.name, {"docker_engine_live_restore": True}, tags="engine")))
    stopped = {}
    for entry in _list(docker.get("stopped_ours")):
        entry = entry if isinstance(entry, dict) else {"name": entry}
        if entry.get("name"):
            stopped[str(entry["name"])] = entry.get("project")
    for container in host.containers:
        if container.get("ours") is True and container.get("state") in ("created", "exited", "dead"):
            stopped.setdefault(str(container["name"]), container.get("project"))
    for name, project in sorted(stopped.items()):
        found.append(_finding(
            "stopped-container:%s" % name, "info", "docker", "stopped container %s" % name,
            "a stopped container of ours (project %s); cleanup.yml removes it." % (project or "?"),
            [{"container": name, "project": project}], _fix("cleanup.yml", host.name)))
    dangling = docker.get("dangling_images")
    if isinstance(dangling, int) and not isinstance(dangling, bool) and dangling > 0:
        found.append(_finding(
            "dangling-images", "info", "docker", "%s" % _plural(dangling, "dangling image"),
            "untagged images; cleanup.yml removes those this collection built or labelled.", [],
            _fix("cleanup.yml", host.name)))
    for network in sorted(set(str(n) for n in _list(docker.get("unused_networks_ours")) if n)):
        found.append(_finding(
            "unused-network:%s" % network, "info", "docker", "unused network %s" % network,
            "a network of ours no container uses; cleanup.yml removes it.", [{"network": network}],
            _fix("cleanup.yml", host.name)))
    return found


def _scan_findings(host):
    errors = {}
    listed = [(e.get("what"), e.get("path"), e.get("error")) for e in host.scan_errors]
    listed += [("file", e["path"], e["error"]) for e in host.files if e.get("error")]
    for what, path, error in listed:
        where = str(path or what or "?")
        entry = {"what": str(what or "path"), "path": path, "error": str(error or "unknown error")}
        if entry not in errors.setdefault(where, []):
            errors[where].append(entry)
    found = []
    for where, entries in sorted(errors.items()):
        found.append(_finding(
            "scan-error:%s" % where, "warning", "scan", "%s could not be read" % where,
            "%s. What it holds is not in this report." % "; ".join(
                "%s %s: %s" % (e["what"], where, e["error"]) for e in entries),
            [dict((k, v) for k, v in e.items() if v is not None) for e in entries], _fix()))
    return found


# --------------------------------------------------------------------------- port map and placement

def port_map(facts, plan):
    """[{port, address, users: [{type, name, ...}], planned, status}] of every port a file, a container or a
    listener uses, by port; status is double-booked, exposed, off-plan (no plan entry) or ok."""
    plan = _plan(plan)
    facts = _dict(facts)
    if facts.get("schema") != FACTS_SCHEMA:
        return []
    host = _Host(facts, plan)
    flagged = set()
    for finding in _exposure_findings(host):
        flagged.add(int(finding["id"].rsplit(":", 1)[1]))
    rows = []
    for port, (items, claims) in sorted(_ports(host).items()):
        addresses = [i["address"] if i["type"] == "listener" else i.get("address")
                     for i in items if i["type"] != "file"]
        planned = _planned_names(plan, port)
        entry = plan["port_plan"][planned[0]] if planned else None
        wide = [a for a in addresses if not _loopback(a)]
        if _double_booked(claims):
            status = "double-booked"
        elif port in flagged or (entry is not None and entry["address"] and _loopback(entry["address"])
                                 and any(not _allowed(plan, port, a) for a in wide)):
            status = "exposed"
        elif entry is None:
            status = "off-plan"
        else:
            status = "ok"
        rows.append({"port": port, "address": _widest(addresses), "users": _users(items),
                     "planned": planned[0] if planned else None, "status": status})
    return rows


def _widest(addresses):
    if not addresses:
        return ""
    for wildcard in ("0.0.0.0", "::"):
        if wildcard in addresses:
            return wildcard
    wide = sorted(a for a in addresses if not _loopback(a))
    return wide[0] if wide else sorted(addresses)[0]


def _users(items):
    users = []
    seen = {}
    for item in items:
        if item["type"] == "file":
            key = ("file", item["path"], item.get("key"))
            user = {"type": "file", "name": item["path"], "line": item.get("line"), "key": item.get("key")}
        elif item["type"] == "container":
            key = ("container", item["container"])
            user = {"type": "container", "name": item["container"], "address": item["address"]}
        else:
            key = ("listener", item.get("pid"))
            user = {"type": "listener", "name": item["process"] or ("pid %s" % item["pid"] if item.get("pid")
                                                                     else "an unreadable process"),
                    "pid": item.get("pid"), "address": item["address"]}
            if item.get("container"):
                user["container"] = item["container"]
        if key in seen:
            known = seen[key]
            if user.get("address") and user["address"] not in known["address"].split(", "):
                known["address"] += ", " + user["address"]
            continue
        seen[key] = user
        users.append(user)
    return users


def docker_vs_native(facts, plan):
    """{in_docker: [...], native: [...]}: the services in Docker (containers by project and service) and
    outside it (our dev servers by app, native listeners of catalogue services)."""
    plan = _plan(plan)
    facts = _dict(facts)
    if facts.get("schema") != FACTS_SCHEMA:
        return {"in_docker": [], "native": []}
    host = _Host(facts, plan)
    services = {}
    for container in host.containers:
        key = (str(container.get("project") or ""), str(container.get("service") or container["name"]))
        entry = services.setdefault(key, {"name": key[1], "project": key[0], "containers": [], "images": [],
                                          "states": [], "ports": [], "ours": False})
        entry["containers"].append(str(container["name"]))
        for field, value in (("images", container.get("image")), ("states", container.get("state"))):
            if value and value not in entry[field]:
                entry[field].append(value)
        entry["ports"] = sorted(set(entry["ports"]) | set(p for p, _a in host.published(container)))
        entry["ours"] = entry["ours"] or container.get("ours") is True
    in_docker = []
    for key in sorted(services):
        entry = services[key]
        entry["containers"].sort()
        in_docker.append(entry)
    native = {}
    for proc in host.processes:
        if _Host.dev_server(proc):
            entry = native.setdefault(("dev-server", str(proc["app"])), {
                "name": str(proc["app"]), "type": "dev-server", "kinds": [], "ports": [], "pids": []})
            if proc.get("kind") and proc["kind"] not in entry["kinds"]:
                entry["kinds"].append(proc["kind"])
            entry["ports"] = sorted(set(entry["ports"]) | set(s[0] for s in _Host.sockets(proc)))
            entry["pids"].append(proc.get("pid"))
    for listener in host.listeners:
        service = host.native_service(listener)
        if service:
            entry = native.setdefault(("native-service", service), {
                "name": service, "type": "native-service", "processes": [], "ports": [], "pids": []})
            if listener.get("process") and listener["process"] not in entry["processes"]:
                entry["processes"].append(listener["process"])
            entry["ports"] = sorted(set(entry["ports"]) | set([_port(listener["port"])]))
            if listener.get("pid") not in entry["pids"]:
                entry["pids"].append(listener.get("pid"))
    for entry in native.values():
        entry["instances"] = len(entry["pids"])
        entry["pids"] = sorted(entry["pids"], key=str)
    return {"in_docker": in_docker, "native": [native[key] for key in sorted(native)]}


# --------------------------------------------------------------------------- reports

def _clean_facts(facts):
    """The facts as a report keeps them: files and secrets with their documented fields only."""
    facts = copy.deepcopy(_dict(facts))
    files = []
    for entry in _list(facts.get("files")):
        if not isinstance(entry, dict):
            continue
        kept = dict((k, entry[k]) for k in FILE_KEYS if k in entry)
        kept["secrets"] = [dict((k, s.get(k)) for k in SECRET_KEYS if k in s)
                           for s in _list(entry.get("secrets")) if isinstance(s, dict)]
        for secret in kept["secrets"]:
            if "fingerprint" in secret:
                secret["fingerprint"] = _fingerprint(secret["fingerprint"])
        files.append(kept)
    if "files" in facts:
        facts["files"] = files
    return facts


def _summary(found):
    return dict((severity, sum(1 for f in found if f.get("severity") == severity))
                for severity in reversed(SEVERITIES))


def _total(hosts):
    total = {"hosts": len(hosts)}
    for severity in reversed(SEVERITIES):
        total[severity] = sum(_dict(h.get("summary")).get(severity, 0) for h in hosts.values())
    return total


def report(hosts_facts, plans, generated_at, previous=None):
    """The taylordash.audit/1 report of several hosts: `hosts_facts` and `plans` map each host to its facts
    and its plan (hosts_facts may also be a list of facts, each naming its host); `previous`, an earlier
    report, adds the comparison. Raises ValueError for a host without a plan or an invalid `previous`."""
    if isinstance(hosts_facts, list):
        hosts_facts = dict((str(_dict(f).get("host")), f) for f in hosts_facts)
    hosts_facts = _dict(hosts_facts)
    plans = _dict(plans)
    missing = sorted(str(h) for h in hosts_facts if h not in plans)
    if missing:
        raise ValueError("no plan for host(s) %s" % ", ".join(missing))
    if previous is not None:
        problems = report_errors(previous)
        if problems:
            raise ValueError("the previous report is not a %s report: %s" % (SCHEMA, "; ".join(problems)))
    hosts = {}
    for name in sorted(hosts_facts, key=str):
        facts = dict(_dict(hosts_facts[name]))
        if facts:
            facts["host"] = str(name)
        found = findings(facts, plans[name])
        hosts[str(name)] = {
            "summary": _summary(found),
            "findings": found,
            "docker_vs_native": docker_vs_native(facts, plans[name]),
            "port_map": port_map(facts, plans[name]),
            "facts": _clean_facts(facts),
        }
    current = {"schema": SCHEMA, "generated_at": str(generated_at), "summary": _total(hosts), "hosts": hosts,
               "comparison": None}
    if previous is not None:
        current["comparison"] = compare(previous, current)
    return current


def _entry(host, finding):
    return {"host": host, "id": finding.get("id"), "severity": finding.get("severity"), "title": finding.get("title")}


def _entry_order(entry):
    return (str(entry.get("host")), -_rank(entry.get("severity")), str(entry.get("id")))


def compare(previous, current):
    """{previous_generated_at, appeared, disappeared}: the findings (host, id, severity, title) only in
    `current` and only in `previous`, by (host, id), over the hosts both reports have."""
    before = _dict(_dict(previous).get("hosts"))
    after = _dict(_dict(current).get("hosts"))
    appeared, disappeared = [], []
    for host in sorted(set(before) & set(after), key=str):
        old = dict((f.get("id"), f) for f in _list(_dict(before[host]).get("findings")) if isinstance(f, dict))
        new = dict((f.get("id"), f) for f in _list(_dict(after[host]).get("findings")) if isinstance(f, dict))
        appeared += [_entry(host, new[i]) for i in new if i not in old]
        disappeared += [_entry(host, old[i]) for i in old if i not in new]
    return {"previous_generated_at": _dict(previous).get("generated_at"),
            "appeared": sorted(appeared, key=_entry_order), "disappeared": sorted(disappeared, key=_entry_order)}


def host_report(report_, host):
    """The report restricted to one host: same schema, summary recomputed, comparison restricted."""
    hosts = _dict(_dict(report_).get("hosts"))
    if host not in hosts:
        raise ValueError("host %s is not in the report (it has %s)" % (host, ", ".join(sorted(hosts)) or "none"))
    one = copy.deepcopy(hosts[host])
    one["summary"] = _summary(_list(one.get("findings")))
    restricted = {host: one}
    result = {"schema": report_.get("schema", SCHEMA), "generated_at": report_.get("generated_at"),
              "summary": _total(restricted), "hosts": restricted, "comparison": None}
    comparison = report_.get("comparison")
    if isinstance(comparison, dict):
        result["comparison"] = {
            "previous_generated_at": comparison.get("previous_generated_at"),
            "appeared": [dict(e) for e in _list(comparison.get("appeared")) if _dict(e).get("host") == host],
            "disappeared": [dict(e) for e in _list(comparison.get("disappeared")) if _dict(e).get("host") == host]}
    return result


def _type_name(value):
    if value is None:
        return "null"
    return {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean", int: "a number",
            float: "a number"}.get(type(value), type(value).__name__)


def report_errors(obj):
    """Why `obj` is not a taylordash.audit/1 report: [] when it is one, else messages each starting with a
    lowercase description (the caller puts the variable's name in front)."""
    if not isinstance(obj, dict):
        return ["not a %s report but %s" % (SCHEMA, _type_name(obj))]
    if obj.get("schema") != SCHEMA:
        return ["schema is %s, not %s" % (json.dumps(obj.get("schema")), SCHEMA)]
    errors = []
    if not isinstance(obj.get("generated_at"), str) or not obj["generated_at"]:
        errors.append("generated_at must be a time as text, not %s" % _type_name(obj.get("generated_at")))
    summary = obj.get("summary")
    if not isinstance(summary, dict):
        errors.append("summary must be a mapping, not %s" % _type_name(summary))
    else:
        for key in ("hosts",) + SEVERITIES:
            value = summary.get(key)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                errors.append("summary.%s must be a count, not %s" % (key, json.dumps(value)))
    hosts = obj.get("hosts")
    if not isinstance(hosts, dict):
        errors.append("hosts must be a mapping of host names to their findings, not %s" % _type_name(hosts))
        hosts = {}
    for host in sorted(hosts, key=str):
        entry = hosts[host]
        where = "hosts.%s" % host
        if not isinstance(entry, dict):
            errors.append("%s must be a mapping, not %s" % (where, _type_name(entry)))
            continue
        found = entry.get("findings")
        if not isinstance(found, list):
            errors.append("%s.findings must be a list, not %s" % (where, _type_name(found)))
            continue
        seen = set()
        for index, finding in enumerate(found):
            at = "%s.findings[%d]" % (where, index)
            if not isinstance(finding, dict):
                errors.append("%s must be a mapping, not %s" % (at, _type_name(finding)))
                continue
            fid = finding.get("id")
            if not isinstance(fid, str) or not fid:
                errors.append("%s.id must be a non-empty string, not %s" % (at, json.dumps(fid)))
            elif fid in seen:
                errors.append("%s.id %s is there twice" % (at, fid))
            else:
                seen.add(fid)
            if finding.get("severity") not in SEVERITIES:
                errors.append("%s.severity must be one of %s, not %s" % (at, ", ".join(SEVERITIES),
                                                                         json.dumps(finding.get("severity"))))
            for key in ("category", "title"):
                if not isinstance(finding.get(key), str):
                    errors.append("%s.%s must be a string, not %s" % (at, key, _type_name(finding.get(key))))
    comparison = obj.get("comparison")
    if comparison is not None:
        if not isinstance(comparison, dict):
            errors.append("comparison must be a mapping or null, not %s" % _type_name(comparison))
        else:
            for key in ("appeared", "disappeared"):
                entries = comparison.get(key)
                if not isinstance(entries, list) or any(not isinstance(e, dict) or not e.get("host")
                                                        or not e.get("id") for e in entries):
                    errors.append("comparison.%s must be a list of {host, id, severity, title}" % key)
    if len(errors) > _MAX_ERRORS:
        errors = errors[:_MAX_ERRORS] + ["and %d more problems" % (len(errors) - _MAX_ERRORS)]
    return errors


def severity_errors(level, variable):
    """[] for a level gate() takes, else one message naming `variable` and the allowed levels."""
    if isinstance(level, str) and level in LEVELS:
        return []
    return ["%s must be one of %s, not %s" % (variable, ", ".join(LEVELS), json.dumps(level))]


def gate(report_, level):
    """The findings at or above `level` (none: never any), each with its host, most severe first. Raises
    ValueError naming the allowed levels for any other level."""
    problems = severity_errors(level, "level")
    if problems:
        raise ValueError(problems[0])
    if level == "none":
        return []
    failing = []
    for host, entry in sorted(_dict(_dict(report_).get("hosts")).items(), key=lambda kv: str(kv[0])):
        for finding in _list(_dict(entry).get("findings")):
            if isinstance(finding, dict) and _rank(finding.get("severity")) >= _rank(level):
                failing.append(dict(finding, host=host))
    return sorted(failing, key=lambda f: (-_rank(f.get("severity")), str(f["host"]), str(f.get("category")),
                                          str(f.get("id"))))
