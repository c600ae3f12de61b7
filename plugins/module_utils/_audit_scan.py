# -*- coding: utf-8 -*-
# Copyright: taylordash-ops developers
# MIT License
"""Host-side gathering of the audit (layer 1 of docs/audit-design.md): read-only, standard library only.

Private to this collection. It reads what listens (``/proc``, through ``_devservers``), the Docker engine
(through a ``run(argv) -> (rc, out, err)`` callable: the module passes ``AnsibleModule.run_command``) and the
candidate configuration files under the scan roots. Every reader takes its inputs explicitly (a ``proc``
root, canned ``docker`` output, paths) so tests point it at fake trees.

Nothing here changes anything. Command lines are redacted (redact_cmdline) before they leave the host; the
file texts are returned as they are and dropped on the controller by the ``audit_facts`` action plugin,
which keeps only fingerprints of the values it finds in them.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import grp
import json
import os
import posixpath
import pwd
import re
import stat
import time

from ansible_collections.taylordash.ops.plugins.module_utils import _devservers

SCHEMA = "taylordash.audit.facts/1"
DAEMON_JSON = "/etc/docker/daemon.json"
MAX_FILE_BYTES = 262144
MAX_FILES = 2000
SCAN_DEPTH = 4
REDACTED = "***"
PROJECT_LABEL = "com.docker.compose.project"
WORKING_DIR_LABEL = "com.docker.compose.project.working_dir"
SERVICE_LABEL = "com.docker.compose.service"
OUR_LABEL_PREFIX = "taylordash."
STOPPED_STATES = ("created", "exited", "dead")  # what `docker container prune` removes

# Directories a file scan never enters: dependencies, caches, build output, version control.
SKIP_DIRS = frozenset(("node_modules", ".git", ".venv", "venv", "__pycache__", "dist", "build", "site-packages",
                       ".tox", ".mypy_cache", ".pytest_cache"))

# --------------------------------------------------------------------------- small helpers


def utc_iso(epoch):
    """'2026-12-02T12:00:00Z' of epoch seconds."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


def _why(exc):
    """The reason of an OSError as a person reads it ('Permission denied'), else the exception's text."""
    return getattr(exc, "strerror", None) or str(exc) or exc.__class__.__name__


def _owner(uid):
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def _group(gid):
    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return str(gid)


# --------------------------------------------------------------------------- command-line redaction

# An option or KEY whose name holds one of these (any case) carries a credential.
CREDENTIAL_WORDS = ("pass", "pwd", "secret", "token", "key", "credential")
# Tools whose short option takes a password: (option, True when the value may also be the next argument).
# mysql's `-p value` prompts and reads `value` as the database, so only the attached form `-pvalue` is one.
TOOL_PASSWORD_OPTIONS = dict(
    [(tool, ("-p", False)) for tool in ("mysql", "mysqldump", "mysqladmin", "mysqlimport", "mysqlshow",
                                        "mysqlcheck", "mysqlpump", "mysqlbinlog", "mariadb", "mariadb-dump",
                                        "mariadb-admin", "mariadb-import", "mariadb-check")]
    + [(tool, ("-p", True)) for tool in ("sshpass", "mongo", "mongosh", "mongodump", "mongorestore",
                                         "mongoexport", "mongoimport")]
    + [("redis-cli", ("-a", True))]
)
URL_PASSWORD = re.compile(r"(?P<head>\b[A-Za-z][A-Za-z0-9+.\-]*://[^:/@\s]*:)\S*@")
ENV_KEY = re.compile(r"\A[A-Za-z_][A-Za-z0-9_.\-]*\Z")
SPACES = re.compile(r"(\s+)")


def credential_name(name):
    """True when an option or variable name looks like it holds a credential (password, token, api key...)."""
    lower = name.lower()
    # `auth` only as the name's last word (--auth, --masterauth, REDIS_AUTH), not --authors or AUTH_METHOD.
    return any(word in lower for word in CREDENTIAL_WORDS) or re.search(r"auth$", lower.rstrip("-_=")) is not None


def _long_option(arg):
    """Name of `--name` or of a single-dash long option (`-storepass`, `-Dx.password`), else None."""
    if arg.startswith("--") and len(arg) > 2:
        return arg[2:]
    if arg.startswith("-") and len(arg) > 2 and arg[1] != "-":
        return arg[1:]
    return None


def _redact_urls(arg):
    return URL_PASSWORD.sub(lambda match: match.group("head") + REDACTED + "@", arg)


def redact_cmdline(argv):
    """A copy of argv where credentials read `***`.

    Redacted: the value of any option whose name looks like a credential (CREDENTIAL_WORDS: `--password`,
    `--token`, `--api-key`, `--db-secret`, `-Dspring.datasource.password`...), in the `--x=value` form and
    in the `--x value` form (the next argument, whatever it is, except after a `--no-x` flag); a tool's
    short password option (TOOL_PASSWORD_OPTIONS: mysql's `-pvalue`, redis-cli's `-a value`); the value of a
    `KEY=value` argument whose key looks like a credential; the password of a `scheme://user:password@host`
    URL anywhere. An argument holding spaces (a `sh -c` script, a proctitle) is redacted word by word.
    """
    argv = list(argv or [])
    tool = posixpath.basename(argv[0]) if argv else ""
    short = TOOL_PASSWORD_OPTIONS.get(tool)
    out, value_next = [], False
    for index, arg in enumerate(argv):
        if value_next:
            out.append(REDACTED)
            value_next = False
            continue
        if index == 0:
            out.append(_redact_words(arg) if SPACES.search(arg) else _redact_urls(arg))
            continue
        if short and arg.startswith(short[0]) and not arg.startswith("--"):
            if len(arg) > len(short[0]):
                out.append(short[0] + REDACTED)
                continue
            if short[1]:
                out.append(arg)
                value_next = True
                continue
        name = _long_option(arg)
        if name is not None and "=" in name:
            key = name.split("=", 1)[0]
            if credential_name(key) and not key.lower().startswith("no-"):
                out.append(arg.split("=", 1)[0] + "=" + REDACTED)
                continue
        elif name is not None and credential_name(name) and not name.lower().startswith("no-"):
            out.append(arg)
            value_next = True
            continue
        if name is None and "=" in arg:
            key = arg.split("=", 1)[0]
            if ENV_KEY.match(key) and credential_name(key):
                out.append(key + "=" + REDACTED)
                continue
        out.append(_redact_words(arg) if SPACES.search(arg) else _redact_urls(arg))
    return out


def _redact_words(text):
    """redact_cmdline() of the words of one argument that holds spaces, the spaces kept as they were."""
    parts = SPACES.split(text)  # words at even indexes ('' at either end), the spaces between at odd ones
    redacted = iter(redact_cmdline([part for part in parts[0::2] if part]))
    return "".join(next(redacted) if index % 2 == 0 and part else part for index, part in enumerate(parts))


# --------------------------------------------------------------------------- processes and listeners

# A container's cgroup: docker (cgroupfs `/docker/<id>` or systemd `docker-<id>.scope`), containerd and
# CRI (`cri-containerd-<id>.scope`), podman (`libpod-<id>.scope`), CRI-O, or any Kubernetes pod. The
# daemons' own units (`docker.service`, `containerd.service`, where docker-proxy runs) are not containers.
CONTAINER_CGROUP = re.compile(r"(?:docker|containerd|libpod|crio)[-/]([0-9a-f]{12,64})\b")


def parse_cgroup(text):
    """(in_container, container id or None) of a /proc/<pid>/cgroup text."""
    for line in (text or "").splitlines():
        path = line.split(":", 2)[-1]
        match = CONTAINER_CGROUP.search(path)
        if match:
            return True, match.group(1)
        if "kubepods" in path:
            return True, None
    return False, None


def read_cgroup(pid, proc="/proc"):
    """parse_cgroup() of a pid; (False, None) when its cgroup cannot be read."""
    try:
        with open(os.path.join(proc, str(pid), "cgroup")) as handle:
            return parse_cgroup(handle.read())
    except (IOError, OSError):
        return False, None


def processes(project_root, apps, proc="/proc"):
    """Every listening instance (_devservers.scan: ours and foreign), in the audit's `processes` shape."""
    result = []
    for inst in _devservers.scan(project_root, apps, proc):
        result.append({
            "pid": inst["pid"],
            "app": inst["app"],
            "kind": inst["kind"],
            "ours": inst["app"] is not None,
            "listeners": [dict(item) for item in inst["listen"]],
            "user": inst["user"],
            "cmdline": redact_cmdline(inst["cmdline"]),
            "cwd": inst["cwd"],
            "started_at": utc_iso(inst["start_time"]),
            "in_container": read_cgroup(inst["pid"], proc)[0],
        })
    return result


def _topmost(pids, proc):
    """The holder of a socket that has no other holder among its ancestors (the lowest pid on a tie)."""
    pids = set(pids)
    roots = [pid for pid in sorted(pids) if not pids.intersection(_devservers.ancestors(pid, proc))]
    return (roots or sorted(pids))[0]


def _published_by(listener, containers):
    """Name of the container that publishes a listener's port (same address first, then any address)."""
    candidates = []
    for container in containers:
        for port in container.get("ports") or []:
            if port["port"] == listener["port"] and port["protocol"] == "tcp":
                candidates.append((port["address"] != listener["address"], container["name"]))
    return min(candidates)[1] if candidates else None


def listeners(containers=(), proc="/proc"):
    """Every TCP listener of the reader's network namespace, sorted by port, family, address.

    Each: address, port, family, then pid, process (comm), user and in_container of the topmost process
    holding it (all None when no readable process holds it), and container: for a docker-proxy, the
    container that publishes the port; for a process in a container's cgroup (host networking), that
    container; else None. containers are the audit's `containers` entries (with `id`).
    """
    sockets = _devservers.read_listeners(proc)
    holders = _devservers.socket_holders(set(sock["inode"] for sock in sockets), proc)
    btime = _devservers.boot_time(proc)
    by_id = dict((c["id"], c["name"]) for c in containers if c.get("id"))
    known = {}
    result = []
    for sock in sockets:
        row = {"address": sock["address"], "port": sock["port"], "family": sock["family"], "pid": None,
               "process": None, "user": None, "in_container": None, "container": None}
        pids = holders.get(sock["inode"])
        if pids:
            pid = _topmost(pids, proc)
            if pid not in known:
                stat_ = _devservers.read_stat(pid, proc)
                info = _devservers.read_process(pid, proc, btime)
                known[pid] = (stat_ and stat_["comm"], info and info["user"], read_cgroup(pid, proc))
            name, user, (inside, cid) = known[pid]
            row.update(pid=pid, process=name, user=user, in_container=inside)
            if name == "docker-proxy":
                row["container"] = _published_by(sock, containers)
            elif cid:
                row["container"] = next((cname for full, cname in by_id.items()
                                         if cid.startswith(full) or full.startswith(cid)), None)
        result.append(row)
    result.sort(key=lambda r: (r["port"], r["family"], r["address"], r["pid"] or 0))
    return result


# --------------------------------------------------------------------------- docker

def parse_json_list(text):
    """The list of a `docker inspect` answer; [] for empty output. ValueError when it is not one."""
    text = (text or "").strip()
    if not text:
        return []
    value = json.loads(text)
    if not isinstance(value, list):
        raise ValueError("expected a JSON list")
    return value


def projects_of(project, old_projects):
    """Our Compose projects: the stack's and its old ones, without blanks, each once."""
    seen = []
    for name in [project] + list(old_projects or []):
        if name and name not in seen:
            seen.append(name)
    return seen


def _container_ports(obj):
    ports = []
    for key, bindings in sorted(((obj.get("NetworkSettings") or {}).get("Ports") or {}).items()):
        target, _, protocol = key.partition("/")
        for binding in bindings or []:
            try:
                host_port = int(binding.get("HostPort") or 0)
                container_port = int(target)
            except (TypeError, ValueError):
                continue
            if host_port:
                ports.append({"address": binding.get("HostIp") or "0.0.0.0", "port": host_port,
                              "container_port": container_port, "protocol": protocol or "tcp"})
    ports.sort(key=lambda p: (p["port"], p["protocol"], p["address"], p["container_port"]))
    return ports


def container_facts(inspected, projects):
    """The audit's `containers` of `docker inspect` objects, sorted by name.

    ports are the published ones (NetworkSettings.Ports: a stopped container publishes none); ours when the
    Compose project label is one of projects or a label starts with `taylordash.`; id is the short id.
    """
    result = []
    for obj in inspected:
        config = obj.get("Config") or {}
        labels = config.get("Labels") or {}
        state = obj.get("State") or {}
        project = labels.get(PROJECT_LABEL) or ""
        result.append({
            "id": (obj.get("Id") or "")[:12],
            "name": (obj.get("Name") or "").lstrip("/"),
            "project": project,
            "service": labels.get(SERVICE_LABEL) or "",
            # Its compose project's directory: the files there are in use while it runs.
            "working_dir": labels.get(WORKING_DIR_LABEL) or "",
            "image": config.get("Image") or obj.get("Image") or "",
            "state": state.get("Status") or "",
            "health": (state.get("Health") or {}).get("Status") or "none",
            "restart_count": int(obj.get("RestartCount") or 0),
            "ports": _container_ports(obj),
            "networks": sorted(((obj.get("NetworkSettings") or {}).get("Networks") or {}).keys()),
            "ours": project in projects or any(key.startswith(OUR_LABEL_PREFIX) for key in labels),
        })
    result.sort(key=lambda c: (c["name"], c["id"]))
    return result


# The log options the audit judges rotation by; others (a logging driver's URL or token) never leave the host.
LOG_OPTS = ("max-size", "max-file", "compress", "mode")


def log_opts(daemon_json_text):
    """The rotation options (LOG_OPTS) of "log-opts" in a daemon.json text ({} when absent or not JSON)."""
    try:
        opts = json.loads(daemon_json_text or "{}").get("log-opts") or {}
    except (ValueError, AttributeError):
        return {}
    if not isinstance(opts, dict):
        return {}
    return dict((str(key), str(value)) for key, value in opts.items() if key in LOG_OPTS)


def read_text(path):
    """The text of a small file, None when it cannot be read."""
    try:
        with open(path) as handle:
            return handle.read()
    except (IOError, OSError, UnicodeDecodeError):
        return None


def docker_unavailable(error):
    """The `docker` facts when no engine answers."""
    return {"available": False, "error": error, "log_driver": None, "log_opts": {}, "live_restore": None,
            "stopped_ours": [], "dangling_images": 0, "unused_networks_ours": []}


def _our_network(network, projects):
    name = network.get("Name") or ""
    labels = network.get("Labels") or {}
    return labels.get(PROJECT_LABEL) in projects or any(name.startswith(p + "_") for p in projects)


def docker_facts(info, daemon_json_text, dangling_ids, containers, networks, projects):
    """The `docker` facts of an engine that answered (pure).

    info: `docker info` JSON object; daemon_json_text: /etc/docker/daemon.json (None when unreadable);
    dangling_ids: lines of `docker images -qf dangling=true`; containers: container_facts(); networks:
    `docker network inspect` objects. Our unused networks: ours by name (`<project>_`) or Compose label,
    and neither any container (whatever its state) nor the engine lists a container on them.
    """
    used = set()
    for container in containers:
        used.update(container["networks"])
    unused = sorted(set(
        net.get("Name") for net in networks
        if _our_network(net, projects) and net.get("Name") not in used and not net.get("Containers")
    ))
    return {
        "available": True,
        "error": None,
        "log_driver": info.get("LoggingDriver"),
        "log_opts": log_opts(daemon_json_text),
        "live_restore": bool(info.get("LiveRestoreEnabled")),
        "stopped_ours": [{"name": c["name"], "project": c["project"]} for c in containers
                         if c["ours"] and c["state"] in STOPPED_STATES],
        "dangling_images": len(set(line.strip() for line in dangling_ids if line.strip())),
        "unused_networks_ours": unused,
    }


class _DockerFailed(Exception):
    pass


def _docker(run, what, argv, json_list=False):
    """stdout of a docker command (parsed when json_list). An inspect that failed still counts when its
    stdout is the JSON of the objects it found (one removed between `ls` and `inspect`)."""
    rc, out, err = run(argv)
    if json_list:
        try:
            found = parse_json_list(out)
        except ValueError as exc:
            if rc == 0:
                raise _DockerFailed("%s: unreadable output (%s)" % (what, exc))
        else:
            if rc == 0 or found:
                return found
    if rc != 0:
        raise _DockerFailed("%s failed: %s" % (what, (err or out or "").strip()[-300:] or "rc=%s" % rc))
    return out


def gather_docker(run, projects, daemon_json=None):
    """(docker facts, containers) from the engine through run(argv) -> (rc, out, err); run None: no CLI.

    Reads `docker info`, `docker ps -aq` + `docker inspect`, `docker images -qf dangling=true`,
    `docker network ls -q` + `docker network inspect`. Any failure makes the engine unavailable; it never raises.
    """
    if run is None:
        return docker_unavailable("docker CLI not found"), []
    try:
        out = _docker(run, "docker info", ["docker", "info", "--format", "{{json .}}"])
        try:
            info = json.loads(out or "{}")
        except ValueError:
            raise _DockerFailed("docker info: unreadable output")
        if not isinstance(info, dict):
            raise _DockerFailed("docker info: unreadable output")
        if info.get("ServerErrors"):
            raise _DockerFailed("docker info: %s" % "; ".join(str(e) for e in info["ServerErrors"]))
        ids = _docker(run, "docker ps", ["docker", "ps", "--all", "--quiet", "--no-trunc"]).split()
        inspected = _docker(run, "docker inspect", ["docker", "inspect"] + ids, True) if ids else []
        dangling = _docker(run, "docker images",
                           ["docker", "images", "--quiet", "--no-trunc", "--filter", "dangling=true"])
        net_ids = _docker(run, "docker network ls", ["docker", "network", "ls", "--quiet", "--no-trunc"]).split()
        networks = _docker(run, "docker network inspect", ["docker", "network", "inspect"] + net_ids,
                           True) if net_ids else []
    except _DockerFailed as exc:
        return docker_unavailable(str(exc)), []
    containers = container_facts(inspected, projects)
    text = read_text(DAEMON_JSON if daemon_json is None else daemon_json)
    return docker_facts(info, text, dangling.splitlines(), containers, networks, projects), containers


# --------------------------------------------------------------------------- files

ENV_NAME = re.compile(r"^(?:\.env|\.env\..+|.+\.env)$")
# docker-compose.yml, docker-compose.prod.yml, docker-compose-dev.yaml, compose.yaml, compose.override.yml;
# not compose_up.yml (an Ansible task file is no Compose file).
COMPOSE_NAME = re.compile(r"^(?:docker-compose.*|compose|compose\..+)\.ya?ml$")
CONFIG_NAME = re.compile(
    r"^(?:.+\.(?:conf|ini|cfg|toml|properties)"  # mosquitto.conf, nginx.conf, setup.cfg, pyproject.toml
    r"|config\.(?:json|ya?ml)"                      # config.json, config.yml, config.yaml
    r"|settings\..+"                                # settings.py, settings.json, settings.local.yaml
    r"|vite\.config\.(?:js|ts|mjs|cjs|mts|cts)"     # the dev server's port
    r"|\.npmrc|\.pypirc)$"                          # registry tokens and passwords
)


def file_kind(name):
    """'env', 'compose' or 'config' for a candidate file name (case-insensitive), None otherwise.

    env: `.env`, `.env.*`, `*.env`; compose: `docker-compose*.yml|yaml`, `compose.yml|yaml`,
    `compose.*.yml|yaml`; config:
    `*.conf`, `*.ini`, `*.cfg`, `*.toml`, `*.properties`, `config.json|yml|yaml`, `settings.*`,
    `vite.config.*`, `.npmrc`, `.pypirc`.
    """
    lower = name.lower()
    if ENV_NAME.match(lower):
        return "env"
    if COMPOSE_NAME.match(lower):
        return "compose"
    if CONFIG_NAME.match(lower):
        return "config"
    return None


def _walk(root, depth_limit, errors, seen):
    """(path, kind) of the candidate files under root, depth first in name order.

    Directories up to depth_limit levels below root are read; SKIP_DIRS and symlinked directories are not
    entered (a symlinked file is a candidate). A directory that cannot be read is a scan error (the root:
    what=scan_root, below it: what=directory). seen holds the (device, inode) of the directories walked, so
    that overlapping roots read each directory once.
    """
    stack = [(root, 0)]
    while stack:
        directory, depth = stack.pop()
        try:
            st = os.stat(directory)
            if (st.st_dev, st.st_ino) in seen:
                continue
            seen.add((st.st_dev, st.st_ino))
            with os.scandir(directory) as found:
                entries = sorted(found, key=lambda entry: entry.name)
        except OSError as exc:
            errors.append({"what": "scan_root" if directory == root else "directory", "path": directory,
                           "error": _why(exc)})
            continue
        subdirs = []
        for entry in entries:
            try:
                is_dir = entry.is_dir(follow_symlinks=False)
            except OSError:
                continue
            if is_dir:
                if depth < depth_limit and entry.name not in SKIP_DIRS:
                    subdirs.append((entry.path, depth + 1))
                continue
            kind = file_kind(entry.name)
            if kind is not None:
                yield entry.path, kind
        stack.extend(reversed(subdirs))


def file_entry(path, kind, max_bytes):
    """The audit's entry of one candidate file, None when it is not a regular file (a FIFO, a dangling link).

    text is the file's text (UTF-8, undecodable bytes replaced) when it is readable and at most max_bytes
    long, else None and error says why ('Permission denied', 'larger than 262144 bytes').
    """
    try:
        st = os.stat(path)
    except OSError as exc:
        if isinstance(exc, FileNotFoundError):
            return None  # a dangling symlink, or gone since the directory was read
        return {"path": path, "kind": kind, "mode": None, "owner": None, "group": None, "world_readable": None,
                "size": None, "error": _why(exc), "text": None}
    if not stat.S_ISREG(st.st_mode):
        return None  # never open a FIFO, socket or device: it could block or never end
    entry = {"path": path, "kind": kind, "mode": "%04o" % stat.S_IMODE(st.st_mode), "owner": _owner(st.st_uid),
             "group": _group(st.st_gid), "world_readable": bool(st.st_mode & stat.S_IROTH), "size": st.st_size,
             "error": None, "text": None}
    if st.st_size > max_bytes:
        entry["error"] = "larger than %d bytes" % max_bytes
        return entry
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
        with os.fdopen(fd, "rb") as handle:
            if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
                return None  # replaced by something else since the stat
            raw = handle.read(max_bytes + 1)
    except OSError as exc:
        entry["error"] = _why(exc)
        return entry
    if len(raw) > max_bytes:
        entry["error"] = "larger than %d bytes" % max_bytes
        return entry
    entry["text"] = raw.decode("utf-8", "replace")
    return entry


def files(scan_roots, max_file_bytes=MAX_FILE_BYTES, max_files=MAX_FILES, scan_depth=SCAN_DEPTH):
    """(entries, scan_errors) of the candidate files under scan_roots.

    At most max_files entries in all; when there are more, the scan stops with a scan error (what=limit).
    Every entry with an error has a scan error (what=file) too.
    """
    entries, errors, seen_dirs = [], [], set()
    for root in scan_roots:
        root = posixpath.normpath(root)
        try:
            st = os.stat(root)
        except OSError as exc:
            errors.append({"what": "scan_root", "path": root, "error": _why(exc)})
            continue
        if not stat.S_ISDIR(st.st_mode):
            errors.append({"what": "scan_root", "path": root, "error": "Not a directory"})
            continue
        for path, kind in _walk(root, scan_depth, errors, seen_dirs):
            if len(entries) >= max_files:
                errors.append({"what": "limit", "path": root,
                               "error": "more than %d candidate files; the rest were not read" % max_files})
                return entries, errors
            entry = file_entry(path, kind, max_file_bytes)
            if entry is None:
                continue
            entries.append(entry)
            if entry["error"]:
                errors.append({"what": "file", "path": path, "error": entry["error"]})
    return entries, errors


# --------------------------------------------------------------------------- everything

def gather(project_root, apps, scan_roots=(), project=None, old_projects=(), run=None, proc="/proc",
           daemon_json=None, max_file_bytes=MAX_FILE_BYTES, max_files=MAX_FILES, scan_depth=SCAN_DEPTH, now=None):
    """The `audit` facts of this host (without `host`: the action plugin adds it). Never raises on what
    it reads: what could not be read is a scan error (what: proc, scan_root, directory, file, limit)."""
    errors = []
    docker, containers = gather_docker(run, projects_of(project, old_projects), daemon_json)
    try:
        procs = processes(project_root, apps, proc)
    except (IOError, OSError, ValueError) as exc:
        errors.append({"what": "proc", "path": proc, "error": _why(exc)})
        procs = []
    try:
        socks = listeners(containers, proc)
    except (IOError, OSError, ValueError) as exc:
        if not errors:  # the same cause as the processes' error: one scan error is enough
            errors.append({"what": "proc", "path": proc, "error": _why(exc)})
        socks = []
    found, file_errors = files(scan_roots, max_file_bytes, max_files, scan_depth)
    return {
        "schema": SCHEMA,
        "collected_at": utc_iso(time.time() if now is None else now),
        "scan_errors": errors + file_errors,
        "processes": procs,
        "listeners": socks,
        "containers": containers,
        "files": found,
        "docker": docker,
    }
