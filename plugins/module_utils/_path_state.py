# -*- coding: utf-8 -*-
# Copyright: taylordash-ops developers
# MIT License
"""The state of many paths in one read: kind, mode, owner and (for files) content digest. The roles compare it
with what they would write (filter disk_drift) and write only what differs."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import os
import stat


# A file read whole for the controller (a certificate, a pidfile) is small; a larger one is not read.
READ_LIMIT = 1 << 20


def path_state(paths, checksum=True, read=()):
    """{path: {kind: d|f|l|s|other, mode: "0644", uid, gid, mtime and sha1 (files; sha1 with checksum), text (the regular files
    of `read` up to READ_LIMIT bytes, decoded as UTF-8 with replacement)}}; absent paths left out; l is a
    symbolic link (not followed), s a socket. A path of `read` is read even when `paths` does not name it."""
    state = {}
    read = list(read or [])
    paths = list(paths) + [path for path in read if path not in paths]
    for path in paths:
        try:
            info = os.lstat(path)
        except OSError:
            continue
        entry = {"mode": "%04o" % stat.S_IMODE(info.st_mode), "uid": info.st_uid, "gid": info.st_gid}
        if stat.S_ISDIR(info.st_mode):
            entry["kind"] = "d"
        elif stat.S_ISREG(info.st_mode):
            entry["kind"] = "f"
            entry["mtime"] = info.st_mtime
            if checksum:
                digest = hashlib.sha1()
                with open(path, "rb") as handle:
                    for block in iter(lambda: handle.read(1 << 20), b""):
                        digest.update(block)
                entry["sha1"] = digest.hexdigest()
            if path in read and info.st_size <= READ_LIMIT:
                with open(path, "rb") as handle:
                    entry["text"] = handle.read(READ_LIMIT).decode("utf-8", "replace")
        else:
            entry["kind"] = "l" if stat.S_ISLNK(info.st_mode) else "s" if stat.S_ISSOCK(info.st_mode) else "other"
        state[path] = entry
    return state
