# The state of the paths given as arguments, as one JSON object on stdout:
# path -> {kind: d|f|l|other, mode: octal string, uid, gid, sha1 (files only)}.
# Absent paths are left out. Read-only; run with the host's Python by the
# infrastructure role, which compares it with what it would write (filter
# disk_drift) and writes only what differs.
import hashlib
import json
import os
import stat
import sys

state = {}
for path in sys.argv[1:]:
    try:
        info = os.lstat(path)
    except OSError:
        continue
    entry = {"mode": "%04o" % stat.S_IMODE(info.st_mode), "uid": info.st_uid, "gid": info.st_gid}
    if stat.S_ISDIR(info.st_mode):
        entry["kind"] = "d"
    elif stat.S_ISREG(info.st_mode):
        entry["kind"] = "f"
        digest = hashlib.sha1()
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        entry["sha1"] = digest.hexdigest()
    else:
        entry["kind"] = "l" if stat.S_ISLNK(info.st_mode) else "other"
    state[path] = entry
print(json.dumps(state, sort_keys=True))
