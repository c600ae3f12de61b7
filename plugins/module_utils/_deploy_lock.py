# -*- coding: utf-8 -*-
# Copyright: taylordash-ops developers
# MIT License
"""Take, release and break the deploy lock of a host.

Private to this collection; the logic behind the ``deploy_lock`` module, free of
AnsibleModule so it can be unit-tested. The lock is one JSON file on the target
holding the *record* of its holder: ``controller``, ``user``, ``playbook``,
``run_id`` and ``since`` (UTC, ISO 8601). Runs are told apart by ``run_id``
alone: the same run (every play, every host of one ansible-playbook run) may
take the lock again, any other run waits.

The file appears atomically with its full content: the record is written to a
private temporary file (mode 0600) in the lock's directory, which is then
hard-linked to the lock path; ``link`` fails when the path exists, so exactly
one of two racing runs wins and nobody ever reads a half-written lock. Where
hard links are not supported the file is created with O_CREAT|O_EXCL instead.

A lock file that cannot be read or parsed counts as held by an unknown run.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import calendar
import datetime
import errno
import json
import os
import tempfile
import time

OWNER_KEYS = ("controller", "user", "playbook", "run_id")
UNKNOWN = "unknown"
BREAK_HINT = "If that run is gone, break the lock: -e taylordash_lock_break=true"


class LockHeld(Exception):
    """Another run held the lock for the whole timeout; the message names it."""

    def __init__(self, message, holder, waited):
        super(LockHeld, self).__init__(message)
        self.holder = holder
        self.waited = waited


# --------------------------------------------------------------------------- records

def utc_iso(epoch):
    """``2025-06-01T12:00:00Z`` for a POSIX time."""
    return datetime.datetime.fromtimestamp(int(epoch), tz=datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(text):
    """POSIX time of a utc_iso() string, None when it is not one."""
    try:
        moment = datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ")
    except (TypeError, ValueError):
        return None
    return calendar.timegm(moment.timetuple())


def make_record(owner, now):
    """The record this run writes: the owner's keys (as text, '' when missing) and ``since``."""
    record = dict((key, "" if (owner or {}).get(key) is None else str(owner[key])) for key in OWNER_KEYS)
    record["since"] = utc_iso(now)
    return record


def unknown_holder(reason, mtime=None):
    """The holder of a lock file that cannot be read or parsed."""
    holder = dict((key, UNKNOWN) for key in OWNER_KEYS)
    holder.update(since=utc_iso(mtime) if mtime is not None else UNKNOWN, corrupt=reason)
    return holder


def parse_record(data, mtime=None):
    """The holder recorded in the lock file's bytes; unknown_holder() when they are no such record."""
    try:
        record = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return unknown_holder("not a JSON lock record", mtime)
    if not isinstance(record, dict) or not isinstance(record.get("run_id"), str) or not record["run_id"]:
        return unknown_holder("no run_id in the lock record", mtime)
    return record


def read_holder(path):
    """The current holder of the lock at path, None when there is no lock file."""
    try:
        mtime = os.stat(path).st_mtime
        with open(path, "rb") as handle:
            data = handle.read()
    except (IOError, OSError) as exc:
        if exc.errno == errno.ENOENT:
            return None
        return unknown_holder("cannot read it: %s" % (exc.strerror or exc))
    return parse_record(data, mtime)


def is_ours(holder, run_id):
    return holder is not None and "corrupt" not in holder and bool(run_id) and holder.get("run_id") == run_id


# --------------------------------------------------------------------------- messages

def age(seconds):
    """``1h 2m 3s`` / ``2m 5s`` / ``7s``."""
    seconds = max(0, int(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return "%dh %dm %ds" % (hours, minutes, secs)
    if minutes:
        return "%dm %ds" % (minutes, secs)
    return "%ds" % secs


def describe(holder, now):
    """``user@controller running playbook since <since> (<age> ago)``, or the unknown holder's reason."""
    since = holder.get("since", UNKNOWN)
    started = parse_iso(since)
    ago = " (%s ago)" % age(now - started) if started is not None else ""
    if "corrupt" in holder:
        return "unknown (the lock file is unreadable or corrupt: %s; last written %s%s)" % (
            holder["corrupt"], since, ago)
    return "%s@%s running %s since %s%s" % (holder.get("user") or UNKNOWN, holder.get("controller") or UNKNOWN,
                                             holder.get("playbook") or UNKNOWN, since, ago)


def held_message(path, host, holder, waited, now):
    return "deploy lock %s on %s is held by %s; waited %ds. %s" % (path, host, describe(holder, now),
                                                                   int(round(waited)), BREAK_HINT)


# --------------------------------------------------------------------------- file operations

def ensure_directory(path):
    """Create the lock's parent directories (mode 0700) when missing."""
    missing = []
    directory = os.path.dirname(os.path.abspath(path))
    while not os.path.isdir(directory):
        missing.append(directory)
        directory = os.path.dirname(directory)
    for directory in reversed(missing):  # os.makedirs gives the mode to the last directory only
        try:
            os.mkdir(directory, 0o700)
        except OSError as exc:
            if exc.errno != errno.EEXIST:
                raise
            continue
        os.chmod(directory, 0o700)


def _create_exclusive(path, data):
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as exc:
        if exc.errno == errno.EEXIST:
            return False
        raise
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, data)
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        os.unlink(path)
        raise
    os.close(fd)
    return True


def try_create(path, record):
    """Create the lock file holding record (mode 0600); False when a lock file is already there."""
    data = (json.dumps(record, sort_keys=True) + "\n").encode("utf-8")
    directory = os.path.dirname(path) or "."
    fd, tmp = tempfile.mkstemp(prefix=".%s." % os.path.basename(path), suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(tmp, path)
        except OSError as exc:
            if exc.errno == errno.EEXIST:
                return False
            if exc.errno in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK):
                return _create_exclusive(path, data)
            raise
        return True
    finally:
        os.unlink(tmp)


def _remove(path):
    try:
        os.unlink(path)
    except OSError as exc:
        if exc.errno != errno.ENOENT:
            raise


# --------------------------------------------------------------------------- the three states

def same_controller(run_id, other):
    """Whether the run id other names another run of run_id's controller since its last boot (both ids of
    the form host:boot:pid:ticks; a TAYLORDASH_RUN_ID of another form never matches)."""
    mine, theirs = str(run_id or "").split(":"), str(other or "").split(":")
    return len(mine) == 4 and len(theirs) == 4 and mine[:2] == theirs[:2] and mine != theirs


def acquire(path, record, timeout, poll, host, check_mode=False, clock=time.time, sleep=time.sleep, defer=False):
    """Take the lock for record's run, waiting up to timeout seconds for another run's lock to go.

    Returns a dict ``action`` (``taken``; ``kept`` when this run already holds it; in check mode ``taken``
    means it would be; ``deferred`` when defer is set and another run of this controller holds it: the
    caller, on the controller, tells whether that run has ended), ``holder`` (the record in the file) and
    ``waited`` (seconds). Raises LockHeld
    when another run (or an unreadable lock file) still holds it after timeout seconds; check mode waits
    and fails the same way but never creates the file.
    """
    start = clock()
    while True:
        if not check_mode and try_create(path, record):
            return {"action": "taken", "holder": record, "waited": int(round(clock() - start))}
        holder = read_holder(path)
        waited = clock() - start
        if holder is None:
            if check_mode:
                return {"action": "taken", "holder": record, "waited": int(round(waited))}
            continue  # removed between our attempt and the read: try again at once
        if is_ours(holder, record["run_id"]):
            return {"action": "kept", "holder": holder, "waited": int(round(waited))}
        if defer and "corrupt" not in holder and same_controller(record["run_id"], holder.get("run_id")):
            return {"action": "deferred", "holder": holder, "waited": int(round(waited))}
        if waited >= timeout:
            raise LockHeld(held_message(path, host, holder, waited, clock()), holder, int(round(waited)))
        sleep(max(0, min(poll, timeout - waited)))


def release(path, run_id, check_mode=False):
    """Remove the lock when this run (run_id) holds it.

    Returns ``action``: ``released`` (in check mode: would be), ``absent`` (no lock file) or ``foreign``
    (another run holds it; left in place), and ``holder`` (the lock's record before, or None).
    """
    holder = read_holder(path)
    if holder is None:
        return {"action": "absent", "holder": None}
    if not is_ours(holder, run_id):
        return {"action": "foreign", "holder": holder}
    if not check_mode:
        _remove(path)
    return {"action": "released", "holder": holder}


def break_lock(path, run_id=None, check_mode=False, only_holder=None):
    """Remove whatever lock is there, except one held by run_id (when given); with only_holder, only a lock
    that run still holds (another run may have broken and taken it meanwhile).

    Returns ``action``: ``broken`` (in check mode: would be), ``absent``, ``kept`` (this run holds it) or
    ``foreign`` (not only_holder's), and ``holder`` (the lock's record before, or None).
    """
    holder = read_holder(path)
    if holder is None:
        return {"action": "absent", "holder": None}
    if is_ours(holder, run_id):
        return {"action": "kept", "holder": holder}
    if only_holder and holder.get("run_id") != only_holder:
        return {"action": "foreign", "holder": holder}
    if not check_mode:
        _remove(path)
    return {"action": "broken", "holder": holder}
