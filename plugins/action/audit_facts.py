# -*- coding: utf-8 -*-
# Copyright: taylordash-ops developers
# MIT License
"""Action plugin of taylordash.ops.audit_facts (docs/audit-design.md, layer 2).

Runs the module on the host, then, on the controller, turns every file it returns into ports and
fingerprints (``module_utils/_audit_files.analyse``) and drops the file texts: what this action returns,
and so what a callback, ``-v`` or ``register`` sees, never holds a file's text or a secret value. The
HMAC key of the fingerprints is read from (or created in) ``fingerprint_key_file`` on the controller and
never leaves it: the option is removed before the module runs.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import os
import stat
import tempfile

from ansible.errors import AnsibleActionFail
from ansible.module_utils.common.text.converters import to_native
from ansible.plugins.action import ActionBase

from ansible_collections.taylordash.ops.plugins.module_utils import _audit_files

MODULE = "taylordash.ops.audit_facts"
KEY_OPTION = "fingerprint_key_file"
KEY_VARIABLE = "audit_fingerprint_key_file"
KEY_BYTES = 32
WITHHELD = "(withheld by the audit_facts action: the module's raw output may hold file texts)"


def _fail(path, problem):
    raise AnsibleActionFail("%s (the %s option) %s %s" % (KEY_VARIABLE, KEY_OPTION, to_native(path), problem))


def _make_directories(directory):
    """Create directory and its missing parents, each 0700."""
    missing = []
    while directory and not os.path.isdir(directory):
        missing.append(directory)
        parent = os.path.dirname(directory)
        if parent == directory:
            break
        directory = parent
    for path in reversed(missing):
        try:
            os.mkdir(path, 0o700)
        except OSError as exc:
            if exc.errno != errno.EEXIST:  # another fork may have created it
                raise
        else:
            os.chmod(path, 0o700)


def _create_key(path):
    """Write a new random key to path (0600, atomically: through a temporary file hard-linked to path,
    so that forks running at once all end with the first key). False when path exists already."""
    _make_directories(os.path.dirname(path))
    fd, tmp = tempfile.mkstemp(prefix=".%s." % os.path.basename(path), dir=os.path.dirname(path) or ".")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(os.urandom(KEY_BYTES))
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o600)
        try:
            os.link(tmp, path)
        except OSError as exc:
            if exc.errno == errno.EEXIST:
                return False
            raise
        return True
    finally:
        os.unlink(tmp)


def fingerprint_key(path, warnings=None):
    """The HMAC key in path (bytes), created (32 random bytes, 0600, parents 0700) when path does not
    exist; AnsibleActionFail naming audit_fingerprint_key_file when it cannot be read, made or is empty.
    A key that other users may read or write adds a message to warnings (a list), if given."""
    if not path or not isinstance(path, str):
        _fail(repr(path), "must be the path of a file on the controller")
    path = os.path.abspath(os.path.expanduser(path))
    if not os.path.lexists(path):
        try:
            _create_key(path)
        except OSError as exc:
            _fail(path, "cannot be created: %s" % to_native(exc.strerror or exc))
    try:
        with open(path, "rb") as handle:
            key = handle.read()
            mode = stat.S_IMODE(os.fstat(handle.fileno()).st_mode)
    except (IOError, OSError) as exc:
        _fail(path, "cannot be read: %s" % to_native(exc.strerror or exc))
    if mode & 0o077 and warnings is not None:
        warnings.append("%s %s is open to other users (mode %04o): chmod 0600 it" % (KEY_VARIABLE, path, mode))
    if not key:
        _fail(path, "is empty: remove it to have a new key made (earlier reports' fingerprints will then differ)")
    return key


def _without_texts(value):
    """value without any ``text`` field in its dicts (the module's file texts)."""
    if isinstance(value, dict):
        return dict((name, _without_texts(item)) for name, item in value.items() if name != "text")
    if isinstance(value, list):
        return [_without_texts(item) for item in value]
    return value


class ActionModule(ActionBase):
    """Runs taylordash.ops.audit_facts, then fingerprints the secrets of the files it read and drops the
    files' texts, on the controller."""

    TRANSFERS_FILES = False

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        task_vars = task_vars or {}
        args = dict(self._task.args)
        key_file = args.pop(KEY_OPTION, None)
        if not isinstance(key_file, str) or not key_file:
            raise AnsibleActionFail("%s is required: the path of a file on the controller that holds the HMAC key "
                                    "of the fingerprints (%s), got %r" % (KEY_OPTION, KEY_VARIABLE, key_file))
        try:
            _audit_files.load_detect_secrets()  # fail before anything runs on the host
        except _audit_files.MissingDetectSecrets as exc:
            raise AnsibleActionFail(to_native(exc))
        warnings = []
        key = fingerprint_key(to_native(key_file), warnings)

        raw = self._execute_module(module_name=MODULE, module_args=args, task_vars=task_vars)
        if raw.get("failed") or not isinstance(raw.get("audit"), dict):
            raw = _without_texts(raw)
            for name in ("module_stdout", "module_stderr"):
                if name in raw and "text" in to_native(raw[name]):
                    raw[name] = WITHHELD
            result.update(raw)
            result.setdefault("failed", True)
            result.setdefault("msg", "%s returned no audit facts" % MODULE)
            return result

        result.update(raw)
        result["audit"] = self._analyse(raw["audit"], key, task_vars.get("inventory_hostname"))
        result["changed"] = False
        if warnings:
            result["warnings"] = list(result.get("warnings") or []) + warnings
        return result

    @staticmethod
    def _analyse(audit, key, host):
        """The module's audit facts with every file analysed (ports, fingerprints, no text) and host set."""
        files, errors = [], list(audit.get("scan_errors") or [])
        for entry in audit.get("files") or []:
            path = entry.get("path")

            def detector(lines, path=path):
                return _audit_files.detect_secrets_lines(lines, path)
            try:
                analysed = _audit_files.analyse(entry, key, detector)
            except Exception as exc:  # never a crash, and never a message that could quote the file
                analysed = _without_texts(entry)
                analysed.update(ports=[], secrets=[])
                errors.append({"what": "parse", "path": path,
                               "error": "could not be analysed (%s)" % type(exc).__name__})
            problem = analysed.pop("parse_error", None)
            if problem:
                errors.append({"what": "parse", "path": path, "error": problem})
            files.append(analysed)
        facts = {"schema": audit.get("schema"), "host": host}
        facts.update((name, value) for name, value in audit.items() if name not in ("schema", "host"))
        facts.update(scan_errors=errors, files=files)
        return _without_texts(facts)
