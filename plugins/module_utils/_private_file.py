# -*- coding: utf-8 -*-
# Copyright: taylordash-ops developers
# MIT License
"""Read and atomically write a file that holds secrets.

Private to this collection; shared by the ``env_file``, ``mosquitto_passwd``,
``config_files`` and ``docker_user_firewall`` modules (a module without an
``unsafe_writes`` option writes safely).

``write_private`` writes through a temporary file created with mode 0600 (by
``tempfile.mkstemp``, whatever the umask) in the target's directory, so the
content is never readable by other users, not even in between:

* the temporary file gets the owner and group of the file it replaces (when the
  process may chown), so a rewritten file keeps them unless told otherwise;
* the wanted owner, group, mode and other attributes (``file_args``) are applied
  to the temporary file *before* it is renamed over the target;
* ``AnsibleModule.atomic_move`` runs with ``keep_dest_attrs=False`` (the old
  file's mode is not copied) and with umask 077, because it chmods a newly
  created file to ``0666 & ~umask`` and chowns it to the current user.

Because of that last point the caller must still run
``module.set_fs_attributes_if_different(file_args, changed)`` on the target
after the write: for a new file it puts the wanted mode, owner and group back.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import os
import tempfile

from ansible.module_utils.common.text.converters import to_bytes


def read_bytes(path):
    """The content of path as bytes, None when it does not exist; other errors are raised (OSError)."""
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except (IOError, OSError):
        if not os.path.lexists(path):
            return None
        raise


def write_private(module, target, content, file_args, check=None):
    """Write content (bytes, or text encoded as UTF-8) to target through a 0600 temporary file renamed over it.

    check, if given, is called with the temporary file's path (complete, with its final attributes) before
    it replaces target: raise to keep the old file.

    file_args is the result of ``module.load_file_common_arguments``; its ``path`` is ignored. Errors are
    raised: OSError, or a plain Exception from ``atomic_move`` (ansible-core >= 2.17); the temporary file is
    removed whatever happens.
    """
    directory = os.path.dirname(target) or "."
    fd, tmp = tempfile.mkstemp(prefix=".%s." % os.path.basename(target), suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(to_bytes(content, errors="surrogate_or_strict"))
            handle.flush()
            os.fsync(handle.fileno())
        if os.path.exists(target):  # keep the replaced file's owner and group unless told otherwise
            current = os.stat(target)
            try:
                os.chown(tmp, current.st_uid, current.st_gid)
            except OSError as exc:
                if exc.errno != errno.EPERM:
                    raise
        # final owner, group and mode on the temporary file, before it becomes visible under target
        module.set_fs_attributes_if_different(dict(file_args, path=tmp, attributes=None), False)
        if check is not None:
            check(tmp)
        # atomic_move chmods a newly created file to 0666 & ~umask: keep that private too
        umask = os.umask(0o077)
        try:
            module.atomic_move(tmp, target, unsafe_writes=module.params.get("unsafe_writes", False), keep_dest_attrs=False)
        finally:
            os.umask(umask)
    finally:
        if os.path.lexists(tmp):
            os.unlink(tmp)
