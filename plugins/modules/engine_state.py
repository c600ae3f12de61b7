#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: taylordash-ops developers
# MIT License

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: engine_state
short_description: Plan of the docker_engine role in one read - packages, apt and daemon files, dockerd, plugins
version_added: 0.2.0
description:
  - Reads, in one call, what the docker_engine role manages on a host - which packages dpkg reports installed,
    the apt source and pin files and C(daemon.json) (content and mode), whether dockerd runs under its
    supervisor, whether the engine answers on its socket and whether Compose v2 and buildx answer - and
    returns what differs from the wanted state, and why; and the running containers a restart of the engine
    left behind (see engine_reattach).
  - Renders the wanted files itself (the helper suite's pin and source, Docker's repository, C(daemon.json))
    and returns their text, so the role writes exactly what was compared.
  - An empty O(helper_suite.mirror) is the mirror this host already uses for the helper suite's base
    release, read from its apt sources (else the one the helper suite's own sources file names).
  - Files and their directories are wanted owned by root, with their modes; a downloaded key is compared by
    presence only.
  - Never changes anything.
author: taylordash-ops developers
options:
  packages:
    description: Debian packages the engine needs (engine, plugins, Python libraries of community.docker).
    type: list
    elements: str
    required: true
  daemon:
    description: The settings C(daemon.json) holds.
    type: dict
    required: true
  daemon_json_path:
    description: Where C(daemon.json) lives.
    type: path
    default: /etc/docker/daemon.json
  helper_suite:
    description:
      - The newer release the plugins come from (Debian 12), as V(name), V(codename) (the host's release),
        V(plugin_packages), V(priority), V(mirror), V(pin_path), V(sources_path). Omit when not used.
    type: dict
  docker_ce:
    description:
      - Docker's own repository, as V(url), V(distribution), V(codename), V(channel), V(architecture),
        V(key_path), V(key) (ASCII-armoured; empty means downloaded, so only its presence is compared),
        V(sources_path). Omit with the distribution's packages.
    type: dict
  dockerd_candidates:
    description: Where dockerd may be installed; the first that exists is used.
    type: list
    elements: path
    default: [/usr/sbin/dockerd, /usr/bin/dockerd]
  manager:
    description: How dockerd is supervised.
    type: str
    choices: [systemd, start-stop-daemon]
    required: true
  pidfiles:
    description: Pidfiles of a dockerd run by start-stop-daemon (any one naming a live dockerd counts).
    type: list
    elements: path
    default: [/var/run/docker-ssd.pid, /var/run/docker.pid]
  socket:
    description: The engine's API socket.
    type: path
    default: /var/run/docker.sock
  engine_pidfile:
    description: The running dockerd's own pidfile, whose process's start is when the engine last started.
    type: path
    default: /var/run/docker.pid
attributes:
  check_mode:
    support: full
    details: Reads the same in check mode; it never writes.
  diff_mode:
    support: none
  idempotent:
    support: full
    details: Always C(changed=false).
"""

EXAMPLES = r"""
- name: Read the engine's state and what differs
  taylordash.ops.engine_state:
    packages: [docker.io, docker-cli, docker-compose, docker-buildx, python3-requests, python3-yaml]
    daemon: {log-driver: json-file, live-restore: true}
    manager: start-stop-daemon
  register: engine
"""

RETURN = r"""
changes:
  description: What differs, each with why; empty when the engine is as wanted.
  returned: always
  type: list
  elements: dict
  sample: [{what: /etc/docker/daemon.json, why: content differs}]
files:
  description: The wanted files by path, each with V(content) (null for a downloaded key) and V(mode).
  returned: always
  type: dict
missing_packages:
  description: Wanted packages dpkg does not report installed.
  returned: always
  type: list
  elements: str
mirror:
  description: The helper suite's mirror used (empty without a helper suite).
  returned: always
  type: str
dockerd:
  description: The dockerd binary found (empty when none).
  returned: always
  type: str
running:
  description: Whether dockerd runs under its supervisor.
  returned: always
  type: bool
server_version:
  description: The engine's version as its API answers (empty when it does not).
  returned: always
  type: str
reattach:
  description:
    - The running containers a restart of the engine left behind, as engine_reattach would act on them
      (V(restart) one holding the replaced socket, V(resume-health) one whose health checks stopped), each
      with why; also a change named V(containers).
  returned: always
  type: list
  elements: dict
plugins:
  description: Versions of the Compose and buildx plugins (empty when one does not answer).
  returned: always
  type: dict
  sample: {compose: 2.26.1, buildx: v0.13.1}
"""

import json
import os
import re
import stat

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.taylordash.ops.plugins.module_utils import _apt, _engine, _engine_api

read_apt_sources = _apt.read_sources  # replaced in the unit tests



def _server_version(path):
    try:
        return str(_engine_api.get_json(path, "/version").get("Version", ""))
    except (_engine_api.EngineApiError, ValueError, AttributeError):
        return ""


def _read(path):
    try:
        st = os.stat(path)
        seen = {"kind": "d" if stat.S_ISDIR(st.st_mode) else "f", "mode": st.st_mode & 0o7777,
                "uid": st.st_uid, "gid": st.st_gid}
        if seen["kind"] == "f":
            with open(path, "rb") as handle:
                seen["content"] = handle.read().decode("utf-8", "replace")
    except (IOError, OSError):
        return None
    return seen


def _running_ssd(pidfiles, dockerd):
    """What `start-stop-daemon --status --pidfile F --exec D` answers, for any of the pidfiles."""
    for pidfile in pidfiles:
        try:
            with open(pidfile) as handle:
                pid = int(handle.read().strip())
            if os.path.realpath("/proc/%d/exe" % pid) == os.path.realpath(dockerd):
                return True
        except (IOError, OSError, ValueError):
            continue
    return False


ROOT = {"uid": 0, "gid": 0}


def _mirror(helper):
    """The helper suite's mirror: the setting, else the host's mirror of its own release, else the one the
    helper suite's sources file already names (a host whose sources call its release `oldstable`)."""
    if helper.get("mirror"):
        return helper["mirror"]
    files = read_apt_sources()
    mirror = _apt.mirror_of(_apt.entries(files), re.escape(helper["codename"]))
    if not mirror:
        own = [(name, text) for name, text in files if name == helper["sources_path"]]
        mirror = _apt.mirror_of(_apt.entries(own), re.escape(helper["name"]))
    return mirror


def _wanted_files(module, params):
    daemon_dir = os.path.dirname(params["daemon_json_path"])
    files = {daemon_dir: dict(ROOT, kind="d", mode="0755"),
             params["daemon_json_path"]: dict(ROOT, content=_engine.daemon_json(params["daemon"]), mode="0644")}
    mirror = ""
    helper = params.get("helper_suite")
    if helper:
        mirror = _mirror(helper)
        if not mirror:
            module.fail_json(msg="No apt source of this host serves %s; set docker_engine_debian_mirror to the "
                                 "Debian mirror to take the plugins from." % helper["codename"])
        files[helper["pin_path"]] = dict(ROOT, content=_engine.helper_pin(helper["name"], helper["codename"],
                                                                          helper["plugin_packages"],
                                                                          helper["priority"]), mode="0644")
        files[helper["sources_path"]] = dict(ROOT, content=_engine.helper_sources(helper["name"], mirror,
                                                                                  helper["pin_path"]), mode="0644")
    ce = params.get("docker_ce")
    if ce:
        files[os.path.dirname(ce["key_path"])] = dict(ROOT, kind="d", mode="0755")
        files[ce["sources_path"]] = dict(ROOT, content=_engine.docker_ce_sources(ce["url"], ce["distribution"],
                                                                                 ce["codename"], ce["channel"],
                                                                                 ce["architecture"], ce["key_path"]),
                                         mode="0644")
        files[ce["key_path"]] = dict(ROOT, content=ce.get("key") or None, mode="0644")
    return files, mirror


def _plugin(module, docker, argv, buildx=False):
    """A plugin's version, or '' when it (or the docker CLI itself) does not answer."""
    if not docker:
        return ""
    rc, out, err = module.run_command([docker] + argv)
    if rc != 0:
        return ""
    words = out.strip().split()
    if buildx:
        return words[1] if len(words) > 1 else out.strip()
    return out.strip()


def main():
    module = AnsibleModule(
        argument_spec=dict(
            packages=dict(type="list", elements="str", required=True),
            daemon=dict(type="dict", required=True),
            daemon_json_path=dict(type="path", default="/etc/docker/daemon.json"),
            helper_suite=dict(type="dict"),
            docker_ce=dict(type="dict"),
            dockerd_candidates=dict(type="list", elements="path", default=["/usr/sbin/dockerd", "/usr/bin/dockerd"]),
            manager=dict(type="str", required=True, choices=["systemd", "start-stop-daemon"]),
            pidfiles=dict(type="list", elements="path",
                          default=["/var/run/docker-ssd.pid", "/var/run/docker.pid"]),
            socket=dict(type="path", default="/var/run/docker.sock"),
            engine_pidfile=dict(type="path", default="/var/run/docker.pid"),
        ),
        supports_check_mode=True,
    )
    params = module.params
    files, mirror = _wanted_files(module, params)
    seen = {path: _read(path) for path in files}

    rc, out, err = module.run_command(["dpkg-query", "--show", "--showformat", "${Package} ${db:Status-Abbrev}\n"]
                                      + params["packages"])
    installed = _engine.installed_packages(out.splitlines())

    dockerd = next((path for path in params["dockerd_candidates"] if os.path.exists(path)), "")
    if not dockerd:
        running = False
    elif params["manager"] == "systemd":
        running = module.run_command(["systemctl", "is-active", "--quiet", "docker"])[0] == 0 and \
            module.run_command(["systemctl", "is-enabled", "--quiet", "docker"])[0] == 0
    else:
        running = _running_ssd(params["pidfiles"], dockerd)
    server = _server_version(params["socket"]) if running else ""
    # A fresh host has no docker CLI yet: its plugins do not answer.
    docker = module.get_bin_path("docker") or ""
    plugins = {"compose": _plugin(module, docker, ["compose", "version", "--short"]),
               "buildx": _plugin(module, docker, ["buildx", "version"], buildx=True)}

    # What a restart of the engine (this role's, a package upgrade's, anyone's) left for engine_reattach.
    try:
        reattach = _engine_api.reattach_observed(params["socket"], params["engine_pidfile"], server) if server else []
    except (_engine_api.EngineApiError, OSError, ValueError) as exc:
        module.fail_json(msg="Reading the engine's running containers failed: %s" % exc)
    changes = _engine.plan(params["packages"], installed, files, seen, dockerd, running, server, plugins, reattach)
    module.exit_json(changed=False, changes=changes, files=files, mirror=mirror, dockerd=dockerd,
                     running=running, server_version=server, plugins=plugins, reattach=reattach,
                     missing_packages=[name for name in params["packages"] if name not in installed])


if __name__ == "__main__":
    main()
