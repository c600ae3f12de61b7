# -*- coding: utf-8 -*-
# Copyright: taylordash-ops developers
# MIT License
"""The Debian mirrors a host uses, read from its apt sources (one-line `.list` and deb822 `.sources`) rather
than from `apt-get indextargets`, which parses every downloaded index and takes seconds. Pure, but for
read_sources (which reads them)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re

SOURCES_DIR = "/etc/apt/sources.list.d"
SOURCES_LIST = "/etc/apt/sources.list"


def _uri(uri):
    """A repository URI as apt names it ($(REPO_URI)): with a final slash."""
    return uri if uri.endswith("/") else uri + "/"


def _one_line(text):
    entries = []
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line.startswith("deb "):
            continue
        line = re.sub(r"\[[^\]]*\]", " ", line[4:])
        words = line.split()
        if len(words) >= 2:
            entries.append((_uri(words[0]), [words[1]]))
    return entries


def _deb822(text):
    entries = []
    for stanza in re.split(r"\n\s*\n", text):
        fields, key = {}, None
        for line in stanza.splitlines():
            if line.startswith("#") or not line.strip():
                continue
            if line[0] in " \t" and key:
                fields[key] += " " + line.strip()
                continue
            key, _sep, value = line.partition(":")
            key = key.strip().lower()
            fields[key] = value.strip()
        if "deb" not in fields.get("types", "").split() or fields.get("enabled", "yes").lower() in ("no", "false", "off", "0"):
            continue
        for uri in fields.get("uris", "").split():
            entries.append((_uri(uri), fields.get("suites", "").split()))
    return entries


def entries(files):
    """[(uri, [suite])] of every `deb` source in `files` ([(name, text)] in apt's reading order)."""
    found = []
    for name, text in files:
        if name.endswith(".sources"):
            found.extend(_deb822(text))
        elif name.endswith(".list"):
            found.extend(_one_line(text))
    return found


def reading_order(names):
    """The names of sources.list.d that apt reads (.list and .sources), in its order."""
    return sorted(name for name in names if name.endswith(".list") or name.endswith(".sources"))


def mirror_of(found, suite_pattern):
    """The first http(s) URI serving a suite that matches `suite_pattern` (a regular expression), or ''."""
    for uri, suites in found:
        if uri.startswith(("http://", "https://")) and any(re.match(suite_pattern + "$", s) for s in suites):
            return uri
    return ""


def read_sources(etc="/etc/apt"):
    """[(name, text)] of the host's apt sources in apt's reading order."""
    files = []
    paths = [os.path.join(etc, "sources.list")]
    try:
        names = os.listdir(os.path.join(etc, "sources.list.d"))
    except OSError:
        names = []
    paths += [os.path.join(etc, "sources.list.d", name) for name in reading_order(names)]
    for path in paths:
        try:
            with open(path) as handle:
                files.append((path, handle.read()))
        except (IOError, OSError):
            continue
    return files
