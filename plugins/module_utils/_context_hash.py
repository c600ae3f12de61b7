# -*- coding: utf-8 -*-
# Copyright: taylordash-ops developers
# MIT License
"""Content hash of a Docker build: what decides whether an image is stale.

Private to this collection. The hash covers every file of the build context
(path, executable bit, symlink target, content), the Dockerfile, the build
arguments and the IDs of the base images, so any change to any of them gives a
new hash, and nothing else (timestamps, owners, the context's own path) does.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import json
import os
import re
import stat

CHUNK = 1024 * 1024


def file_digest(path):
    """sha256 hex digest of a regular file's content."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def file_entry(rel, executable, digest):
    """The entry of one regular file: its relative path, 'f', the executable bit ('x'/'-') and digest."""
    return (rel, "f", ("x" if executable else "-") + digest)


def dir_entry(rel):
    """The entry of one directory (an empty directory counts too)."""
    return (rel, "d", "")


def tree_entries(root):
    """Sorted entries (relative path, kind, detail) of every file under root.

    kind is 'f' for a regular file (detail: 'x' or '-' executable bit and the
    content digest), 'l' for a symlink (detail: its target) and 'd' for a
    directory (so an empty directory counts too). Symlinks are not followed.
    """
    entries = []
    for current, dirs, files in os.walk(root, followlinks=False):
        dirs.sort()
        rel_dir = os.path.relpath(current, root)
        for name in sorted(dirs + files):
            full = os.path.join(current, name)
            rel = os.path.normpath(os.path.join(rel_dir, name)).replace(os.sep, "/")
            info = os.lstat(full)
            if stat.S_ISLNK(info.st_mode):
                entries.append((rel, "l", os.readlink(full)))
            elif stat.S_ISDIR(info.st_mode):
                entries.append(dir_entry(rel))
            elif stat.S_ISREG(info.st_mode):
                entries.append(file_entry(rel, info.st_mode & stat.S_IXUSR, file_digest(full)))
            else:
                raise ValueError("unsupported file type in build context: %s" % rel)
    return sorted(entries)


def text_entry(rel, text):
    """The entry of a file written with mode 0644 from a text (a build file rendered on the controller)."""
    return file_entry(rel, False, hashlib.sha256(text.encode("utf-8")).hexdigest())


def _pattern_regex(pattern):
    """rsync's wildcards as a regular expression: `*` and `?` stop at a slash, `**` does not, `[!...]`
    negates a class and a backslash makes the next character literal."""
    out = []
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if pattern.startswith("**", i):
            out.append(".*")
            i += 2
            continue
        if char == "\\" and i + 1 < len(pattern):
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        if char == "*":
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "[":
            end = pattern.find("]", i + 2)
            if end < 0:
                out.append(re.escape(char))
            else:
                body = pattern[i + 1:end]
                if body.startswith("!"):
                    body = "^" + body[1:]
                out.append("[" + body.replace("\\", "\\\\") + "]")
                i = end + 1
                continue
        else:
            out.append(re.escape(char))
        i += 1
    return "".join(out)


def exclude_matcher(patterns):
    """A function (relative path, is_dir) -> excluded?, by rsync's --exclude rules.

    A pattern ending in / matches directories only. A pattern with no other
    slash and no `**` matches a name at any depth; one starting with / is
    anchored at the root of the transfer; any other is matched against the
    end of the path."""
    rules = []
    for pattern in patterns:
        dir_only = pattern.endswith("/")
        body = pattern.rstrip("/")
        if not body:
            continue
        anchored = body.startswith("/")
        body = body.lstrip("/")
        if body.endswith("/***"):
            # dir/*** : the directory itself and everything under it
            body = body[:-4]
            rules.append((re.compile(("^" if anchored else "(?:^|/)") + _pattern_regex(body) + "(?:/.*)?$"),
                          False, True))
            continue
        whole_path = anchored or "/" in body or "**" in body
        prefix = "^" if anchored or not whole_path else "(?:^|/)"
        rules.append((re.compile(prefix + _pattern_regex(body) + "$"), dir_only, whole_path))

    def excluded(rel, is_dir):
        name = rel.rsplit("/", 1)[-1]
        for regex, dir_only, whole_path in rules:
            if dir_only and not is_dir:
                continue
            if regex.search(rel if whole_path else name):
                return True
        return False

    return excluded


def source_entries(root, excludes=(), prefix="src"):
    """Entries of root as copied under prefix by `rsync --recursive --exclude=...` without --links.

    Excluded paths (and everything under an excluded directory), symlinks and
    special files are left out, as rsync leaves them; a file is executable when
    any of its execute bits is set (the copy's modes are normalised with
    --chmod=...,Fa+X). The entries equal tree_entries() of the copied context.
    """
    if not os.path.isdir(root):
        raise OSError("%s is not a directory" % root)
    excluded = exclude_matcher(excludes)
    entries = [dir_entry(prefix)]

    def unreadable(error):
        raise error

    for current, dirs, files in os.walk(root, onerror=unreadable, followlinks=False):
        rel_dir = os.path.relpath(current, root)
        kept_dirs = []
        for name in sorted(dirs + files):
            full = os.path.join(current, name)
            rel = os.path.normpath(os.path.join(rel_dir, name)).replace(os.sep, "/")
            info = os.lstat(full)
            if stat.S_ISDIR(info.st_mode):
                if not excluded(rel, True):
                    kept_dirs.append(name)
                    entries.append(dir_entry(prefix + "/" + rel))
            elif stat.S_ISREG(info.st_mode) and not excluded(rel, False):
                entries.append(file_entry(prefix + "/" + rel, info.st_mode & 0o111, file_digest(full)))
        dirs[:] = sorted(kept_dirs)
    return sorted(entries)


def build_hash(entries, dockerfile_digest=None, build_args=None, base_image_ids=None, labels=None):
    """Combine the inputs of one build into a single sha256 hex digest.

    The order of build_args and labels does not matter; the order of
    base_image_ids does (a multi-stage Dockerfile's stages are ordered).
    """
    document = {
        "labels": sorted((str(k), str(v)) for k, v in (labels or {}).items()),
        "context": [list(entry) for entry in entries],
        "dockerfile": dockerfile_digest,
        "build_args": sorted((str(k), str(v)) for k, v in (build_args or {}).items()),
        "base_image_ids": list(base_image_ids or []),
    }
    encoded = json.dumps(document, sort_keys=True, separators=(",", ":")).encode("utf-8")
    return hashlib.sha256(encoded).hexdigest()


def context_hash(path, dockerfile=None, build_args=None, base_image_ids=None, labels=None):
    """Hash of a build context directory; dockerfile may lie outside it."""
    if not os.path.isdir(path):
        raise ValueError("build context %s is not a directory" % path)
    entries = tree_entries(path)
    dockerfile_digest = None
    if dockerfile:
        dockerfile_digest = file_digest(dockerfile)
    return build_hash(entries, dockerfile_digest, build_args, base_image_ids, labels), len(entries)
