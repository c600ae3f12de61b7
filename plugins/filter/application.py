# -*- coding: utf-8 -*-
# Copyright: taylordash-ops developers
# MIT License
"""Filters of the application role: which source files go into a build context."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import fnmatch

from ansible.errors import AnsibleFilterError
from ansible_collections.taylordash.ops.plugins.module_utils._envfile import EnvFileError, parse_env


def _excluded(path, excludes):
    return any(fnmatch.fnmatchcase(part, pattern) for part in path.split("/") for pattern in excludes)


def build_sources(tree, excludes):
    """Files and directories of a community.general.filetree listing that belong in a build context.

    An entry is dropped when any component of its relative path matches one of
    ``excludes`` (fnmatch patterns such as ``node_modules`` or ``*.pyc``), so
    nothing below an excluded directory is copied either. Symlinks are refused:
    a build context must not depend on what a link points at on the controller.
    Modes are normalised (0755 for directories and executables, 0644 otherwise)
    so the controller's umask never changes an image's content hash.
    """
    if not isinstance(tree, list) or not isinstance(excludes, list):
        raise AnsibleFilterError("build_sources expects a filetree list and a list of patterns")
    kept = []
    for item in tree:
        path = item.get("path", "")
        if not path or _excluded(path, excludes):
            continue
        if item.get("state") == "link":
            raise AnsibleFilterError("%s is a symlink; build contexts take regular files only" % item.get("src", path))
        if item.get("state") in ("file", "directory"):
            executable = int(str(item.get("mode", "0644")), 8) & 0o100
            kept.append({"path": path, "src": item.get("src"), "state": item["state"],
                         "mode": "0755" if executable or item["state"] == "directory" else "0644"})
    return sorted(kept, key=lambda entry: entry["path"])


def stale_paths(found, kept, root):
    """Paths under ``root`` (from ansible.builtin.find) that are not in ``kept`` (relative paths), deepest first."""
    wanted = set(entry["path"] for entry in kept)
    prefix = root.rstrip("/") + "/"
    stale = [f["path"] for f in found if f["path"].startswith(prefix) and f["path"][len(prefix):] not in wanted]
    return sorted(stale, key=lambda p: (-p.count("/"), p))


def dotenv(text):
    """NAME -> value of a .env text (the env_file module's format); errors name the line, never a value."""
    try:
        return parse_env(text)
    except EnvFileError as exc:
        raise AnsibleFilterError(str(exc))


def port_of(entry):
    """The port number of a taylordash_port_plan entry (a number or a dict with `port`)."""
    return int(entry["port"] if isinstance(entry, dict) else entry)


class FilterModule(object):
    def filters(self):
        return {"build_sources": build_sources, "stale_paths": stale_paths, "dotenv": dotenv, "port_of": port_of}
