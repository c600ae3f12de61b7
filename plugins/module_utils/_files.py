# -*- coding: utf-8 -*-
# Copyright: taylordash-ops developers
# MIT License
"""What a set of directories and files rendered on the controller needs on the target, from one read of
their state (_path_state): create, replace the content, or only set the mode and owner."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib


def sha1_text(text):
    """The sha1 _path_state reports for a file holding text, encoded as UTF-8."""
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


def old_text(path):
    """The text a file holds now, for a diff ('' when it cannot be read)."""
    try:
        with open(path, "rb") as handle:
            return handle.read().decode("utf-8", "replace")
    except (IOError, OSError):
        return ""


def normal_mode(mode):
    """A mode as _path_state writes it: four octal digits ("644", 0o644 and "0644" give "0644")."""
    if isinstance(mode, int):
        return "%04o" % mode
    return "%04o" % int(str(mode), 8)


def change(wanted, seen):
    """(action, why) for one path, or None when it is as wanted.

    wanted: {kind: d or f, mode, and optionally uid, gid, sha1}; seen: its _path_state entry, None when
    absent. Actions: create (absent), replace (another content, or not of the wanted kind), attributes
    (only the mode or the owner differ)."""
    if seen is None:
        return "create", "absent"
    kinds = {"d": "a directory", "f": "a file", "l": "a link", "s": "a socket"}
    if seen.get("kind") != wanted["kind"]:
        return "replace", "%s, not %s" % (kinds.get(seen.get("kind"), "something else"), kinds[wanted["kind"]])
    if wanted.get("sha1") not in (None, "") and seen.get("sha1") != wanted["sha1"]:
        return "replace", "content differs"
    reasons = []
    if wanted.get("mode") not in (None, "") and seen.get("mode") != normal_mode(wanted["mode"]):
        reasons.append("mode %s, wanted %s" % (seen.get("mode"), normal_mode(wanted["mode"])))
    for key in ("uid", "gid"):
        if wanted.get(key) not in (None, "") and str(seen.get(key)) != str(wanted[key]):
            reasons.append("%s %s, wanted %s" % (key, seen.get(key), wanted[key]))
    if reasons:
        return "attributes", ", ".join(reasons)
    return None


def plan(directories, files, state):
    """[{path, action, why}] for the directories ({path, mode, uid, gid}) then the files ({path, content,
    mode, uid, gid}) that differ from state (_path_state's result), in order."""
    rows = []
    for item in directories:
        found = change(dict(item, kind="d", sha1=None), state.get(item["path"]))
        if found:
            rows.append({"path": item["path"], "action": found[0], "why": found[1]})
    for item in files:
        found = change(dict(item, kind="f", sha1=sha1_text(item["content"])), state.get(item["path"]))
        if found:
            rows.append({"path": item["path"], "action": found[0], "why": found[1]})
    return rows
