# -*- coding: utf-8 -*-
# Copyright: taylordash-ops developers
# MIT License
"""The Docker engine's wanted state (apt files, daemon.json) and the plan that compares it with what a host
has: which packages are missing, which files differ, whether dockerd runs and the engine and its two plugins
answer. Pure: the engine_state module reads the host and hands the observations in."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import calendar
import json
import re

HEADER = "# Managed by taylordash.ops (docker_engine role); local changes are overwritten.\n"


def daemon_json(settings):
    """daemon.json's text: sorted keys, two-space indent, a final newline (what to_nice_json writes)."""
    return json.dumps(settings, indent=2, sort_keys=True, separators=(",", ": "), ensure_ascii=False) + "\n"


def helper_pin(helper_suite, codename, plugin_packages, priority):
    """The apt preferences that take nothing from `helper_suite` but the plugin packages."""
    return (HEADER
            + "# Nothing is taken from %s but the Compose v2 and buildx plugins, which %s lacks.\n"
            % (helper_suite, codename)
            + "Package: *\nPin: release n=%s\nPin-Priority: %d\n\n" % (helper_suite, int(priority))
            + "Package: %s\nPin: release n=%s\nPin-Priority: 990\n" % (" ".join(plugin_packages), helper_suite))


def helper_sources(helper_suite, mirror, pin_path):
    """The deb822 source of `helper_suite` on `mirror`, signed by Debian's archive keyring."""
    return (HEADER + "# Pinned by %s.\n" % pin_path
            + "Types: deb\nURIs: %s\nSuites: %s\nComponents: main\n" % (mirror, helper_suite)
            + "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n")


def docker_ce_sources(url, distribution, codename, channel, architecture, keyring):
    """The deb822 source of Docker's own repository."""
    arch = "arm64" if architecture in ("aarch64", "arm64") else "amd64"
    return (HEADER + "Types: deb\nURIs: %s/%s\nSuites: %s\nComponents: %s\nArchitectures: %s\nSigned-By: %s\n"
            % (url.rstrip("/"), distribution.lower(), codename, channel, arch, keyring))


def installed_packages(dpkg_lines):
    """Names dpkg reports as installed ("ii") in `dpkg-query --showformat '${Package} ${db:Status-Abbrev}'`."""
    names = set()
    for line in dpkg_lines:
        parts = str(line).split()
        if len(parts) >= 2 and parts[1].startswith("ii"):
            names.add(parts[0].split(":", 1)[0])
    return names


def file_change(path, wanted, seen):
    """Why the path `path` differs from `wanted` ({kind: f (default) or d, content (None: not compared),
    mode, uid, gid (None: not compared)}), or None. `seen` is None for a missing path, else {kind,
    content (files), mode (an int), uid, gid} as read."""
    if seen is None:
        return "missing"
    if seen.get("kind", "f") != wanted.get("kind", "f"):
        return "not a %s" % ("directory" if wanted.get("kind") == "d" else "file")
    reasons = []
    if wanted.get("content") is not None and seen.get("content") != wanted["content"]:
        reasons.append("content differs")
    if wanted.get("mode") is not None and seen.get("mode") != int(str(wanted["mode"]), 8):
        reasons.append("mode %04o, wanted %s" % (seen.get("mode"), wanted["mode"]))
    for key in ("uid", "gid"):
        if wanted.get(key) is not None and seen.get(key) != wanted[key]:
            reasons.append("%s %s, wanted %s" % (key, seen.get(key), wanted[key]))
    return ", ".join(reasons) or None


def plan(wanted_packages, installed, files, seen_files, dockerd, running, server_version, plugins, reattach=()):
    """What the docker_engine role has to do on this host, as [{what, why}] (empty: nothing).

    installed: names dpkg reports installed; files: {path: wanted}; seen_files: {path: seen or None};
    dockerd: the dockerd binary found, or ''; running: whether the supervisor reports it running;
    server_version: what the engine's API answers, or ''; plugins: {compose: version or '', buildx: ...};
    reattach: reattach_plan's actions for the running containers a live restore left behind."""
    changes = []
    missing = [name for name in wanted_packages if name not in installed]
    if missing:
        changes.append({"what": "packages", "why": "not installed: " + ", ".join(missing)})
    for path in sorted(files):
        why = file_change(path, files[path], seen_files.get(path))
        if why:
            changes.append({"what": path, "why": why})
    if not dockerd:
        changes.append({"what": "dockerd", "why": "no dockerd binary"})
    elif not running:
        changes.append({"what": "dockerd", "why": "not running"})
    elif not server_version:
        changes.append({"what": "engine", "why": "does not answer on its socket"})
    compose = plugins.get("compose") or ""
    if not compose:
        changes.append({"what": "compose", "why": "the Compose plugin does not answer"})
    elif not compose.lstrip("v").startswith("2."):
        changes.append({"what": "compose", "why": "Compose %s is not v2" % compose})
    if not plugins.get("buildx"):
        changes.append({"what": "buildx", "why": "the buildx plugin does not answer"})
    if reattach:
        changes.append({"what": "containers", "why": "outlived the engine's restart: " + ", ".join(
            "%s (%s)" % (item["name"], item["action"]) for item in reattach)})
    return changes



# Docker fixed in 23.0 that a live-restored container's health checks stop (moby/moby#41871); a pause and an
# unpause start them again without touching the container's processes.
HEALTH_RESUMED_SINCE = 23


def _major(version):
    head = str(version or "").split(".", 1)[0]
    return int(head) if head.isdigit() else None


def docker_time(text):
    """Seconds since the epoch of an engine timestamp (RFC 3339 up to nanoseconds, in UTC or with the offset of
    the engine's local time, as health checks are recorded), or None."""
    match = re.match(r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d+))?(?:(Z)|([+-])(\d\d):(\d\d))\Z",
                     str(text or ""))
    if not match:
        return None
    parts = [int(part) for part in match.groups()[:6]]
    if parts[0] < 1971:  # the engine's zero time: never
        return None
    fraction = float("0." + match.group(7)) if match.group(7) else 0.0
    offset = 0 if match.group(8) else (int(match.group(10)) * 3600 + int(match.group(11)) * 60) * (
        -1 if match.group(9) == "-" else 1)
    return calendar.timegm(tuple(parts) + (0, 0, 0)) + fraction - offset


def reattach_plan(containers, socket_paths, socket_since, engine_since, server_version, resumed=()):
    """What the running containers that outlived the engine's last start need, as [{name, action, why}].

    A live restore keeps containers running while dockerd restarts. One started before the engine's socket
    was last created (`socket_since`, seconds since the epoch; under systemd the socket outlives dockerd) and
    bind-mounting it holds the old socket, through which every call fails until it restarts: action
    `restart`. Before Docker 23 the containers dockerd restored (started before `engine_since`, the start of
    the running dockerd) have no health checks any more; each other such container with a health check that
    has not run since, and that was not unpaused since (`resumed`: ids or names; its first check comes one
    interval after), gets `resume-health` (a pause and an unpause). `containers` are `docker inspect`
    results; `socket_paths` the socket's path and what it resolves to. In name order."""
    old = (_major(server_version) or 0) < HEALTH_RESUMED_SINCE
    actions = []
    for state in containers:
        status = state.get("State") or {}
        started = docker_time(status.get("StartedAt"))
        if not status.get("Running") or status.get("Paused") or started is None:
            continue
        name = str(state.get("Name") or state.get("Id") or "").lstrip("/")
        sources = [mount["Source"] for mount in state.get("Mounts") or []
                   if mount.get("Type") == "bind" and mount.get("Source") in socket_paths]
        checks = [docker_time(entry.get("Start")) for entry in (status.get("Health") or {}).get("Log") or []]
        if sources and started < socket_since:
            actions.append({"name": name, "action": "restart",
                            "why": "bind-mounts the engine's socket %s, which the engine replaced" % sources[0]})
        elif old and status.get("Health") and started < engine_since \
                and max([0] + [when or 0 for when in checks]) < engine_since \
                and name not in resumed and state.get("Id") not in resumed:
            actions.append({"name": name, "action": "resume-health",
                            "why": "no health check since the engine restarted (Docker %s stops them)"
                            % server_version})
    return sorted(actions, key=lambda item: item["name"])


def process_started(stat_text, boot_time, ticks_per_second):
    """Seconds since the epoch when a process started, from its /proc/<pid>/stat line, the kernel's boot time
    (/proc/stat's btime) and the clock ticks per second; None when the line cannot be read."""
    try:
        # The command (field 2) is in parentheses and may hold spaces: count from the last ')'.
        fields = str(stat_text).rsplit(")", 1)[1].split()
        return float(boot_time) + int(fields[19]) / float(ticks_per_second)
    except (IndexError, ValueError, ZeroDivisionError):
        return None
