# -*- coding: utf-8 -*-
# Copyright: taylordash-ops developers
# MIT License
"""The Docker engine's wanted state (apt files, daemon.json) and the plan that compares it with what a host
has: which packages are missing, which files differ, whether dockerd runs and the engine and its two plugins
answer. Pure: the engine_state module reads the host and hands the observations in."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

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


def plan(wanted_packages, installed, files, seen_files, dockerd, running, server_version, plugins):
    """What the docker_engine role has to do on this host, as [{what, why}] (empty: nothing).

    installed: names dpkg reports installed; files: {path: wanted}; seen_files: {path: seen or None};
    dockerd: the dockerd binary found, or ''; running: whether the supervisor reports it running;
    server_version: what the engine's API answers, or ''; plugins: {compose: version or '', buildx: ...}."""
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
    return changes
