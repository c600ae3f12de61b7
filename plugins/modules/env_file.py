#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: taylordash-ops developers
# MIT License

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: env_file
short_description: Manage a Docker Compose .env file holding generated and supplied secrets
version_added: 0.1.0
description:
  - Writes a Docker Compose C(.env) file from three dicts - O(secrets), O(values) and O(derived) - one
    C(KEY='value') line per key after a C(#) header comment, in that order and each in the order given.
  - Values are single-quoted because Docker Compose does not interpolate C(${...}) inside single-quoted
    C(.env) values. A value therefore cannot contain a single quote, a newline, a carriage return or a NUL
    character; such a value fails the task with a message naming the key, never the value.
  - A secret's value is, in order of preference, the non-empty C(value) supplied in O(secrets) (for example
    from Ansible Vault), the non-empty value the existing file already holds, or a new random string of
    C(length) ASCII letters and digits drawn with Python's C(secrets) module. Generated secrets are
    therefore kept across runs - the second run with the same options changes nothing.
  - Reads the existing file, if any, accepting C(KEY=value), C(KEY='value'), C(KEY="value"), an C(export)
    prefix, blank lines and C(#) comments. Any other line fails the task naming its line number, not its
    content. Keys of the file no longer wanted are dropped and listed in RV(removed).
  - The file is written atomically - a temporary file created with mode C(0600) in the same directory,
    given its final owner, group and mode, then renamed over O(path) - so the secrets are never readable
    by other users in between. Comments and formatting of an existing file are not preserved.
  - "B(The calling task must use no_log.) Set C(no_log: true) on it. O(secrets) is not marked C(no_log) in the module (that
    would mask the values the module returns), so without C(no_log) on the task the supplied and generated
    secrets appear in the output and in the logs of the target host."
  - With C(--diff), the diff shows key names only, C(KEY=<hidden>), with C(KEY=<hidden, changed>) for a key
    whose value changes, so a run shows which keys are added, changed or removed without any value. A line of
    the old file written differently from how this module writes it shows as C(KEY=<hidden, rewritten>),
    and a comment other than the current header as C(# <comment hidden>). Changes of owner, group or mode
    make the task changed but are not part of the diff.
author: taylordash-ops developers
extends_documentation_fragment:
  - ansible.builtin.files
options:
  path:
    description:
      - The C(.env) file. Its directory must exist. A symbolic link is followed and its target written.
    type: path
    required: true
  secrets:
    description:
      - Secret name to a dict with optional keys C(value) and C(length) (or to null, meaning all defaults).
      - C(value) (string) is the user-supplied secret; when set and non-empty it wins over the file's value.
      - C(length) (integer, default V(32), at least V(16)) is the length of a generated secret.
      - The task must use C(no_log) - see the description.
    type: dict
    default: {}
  values:
    description:
      - Plain settings written as given, for example C(POSTGRES_USER). Numbers are written as text, null as
        an empty value.
    type: dict
    default: {}
  derived:
    description:
      - Name to a template string built from the final values of O(secrets) and O(values).
      - C(${OTHER}) is replaced with the raw value of C(OTHER), C(${OTHER:url}) with its percent-encoding
        (as Python C(urllib.parse.quote) with an empty C(safe)), fit for a URL such as
        C(postgresql://${POSTGRES_USER:url}:${POSTGRES_PASSWORD:url}@postgres:5432/${POSTGRES_DB:url}).
      - A placeholder naming no key of O(secrets) or O(values) (derived keys cannot reference each other),
        or with a modifier other than C(:url), fails the task naming the derived key and the placeholder.
    type: dict
    default: {}
  header:
    description:
      - Text of the comment line written as C(# <header>) at the top of the file. An empty string writes no
        header. Must be a single line.
    type: str
    default: "Managed by Ansible (taylordash.ops.env_file): secrets are kept across runs; edit the inventory, not this file."
  mode:
    description:
      - Permissions of the file, as for M(ansible.builtin.file), applied before the file becomes visible.
      - Keep it private; a more permissive mode exposes the secrets.
    type: raw
    default: "0600"
notes:
  - Names must match C(^[A-Za-z_][A-Za-z0-9_]*$) and be unique across O(secrets), O(values) and O(derived).
  - Without O(owner) or O(group), a rewritten file keeps the owner and group of the file it replaces.
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details: Key names only, never values; owner, group and mode changes are not shown.
  idempotent:
    support: full
"""

EXAMPLES = r"""
- name: Write the compose .env file, keeping generated secrets across runs
  taylordash.ops.env_file:
    path: /opt/taylordash/.env
    owner: root
    group: root
    mode: "0600"
    secrets:
      POSTGRES_PASSWORD: {}
      MINIO_ROOT_PASSWORD: {length: 40}
      JWT_SECRET: {value: "{{ vault_jwt_secret | default('') }}"}
    values:
      POSTGRES_USER: taylordash
      POSTGRES_DB: taylordash
    derived:
      DATABASE_URL: "postgresql://${POSTGRES_USER:url}:${POSTGRES_PASSWORD:url}@postgres:5432/${POSTGRES_DB:url}"
  no_log: true
  register: env

- name: Show which secrets were generated, without any value
  ansible.builtin.debug:
    msg: "generated {{ env.generated }}, kept {{ env.kept }}, removed {{ env.removed }}"
"""

RETURN = r"""
path:
  description: The O(path) option, as given.
  returned: always
  type: str
  sample: /opt/taylordash/.env
generated:
  description: Names of the secrets generated this run (in check mode, those that would be).
  returned: always
  type: list
  elements: str
  sample: [POSTGRES_PASSWORD]
kept:
  description: Names of the secrets whose value was kept from the existing file.
  returned: always
  type: list
  elements: str
  sample: [MINIO_ROOT_PASSWORD]
overridden:
  description: Names of the secrets whose supplied C(value) replaced a different value of the existing file.
  returned: always
  type: list
  elements: str
  sample: [JWT_SECRET]
removed:
  description: Keys of the existing file that are no longer wanted and were dropped, in file order.
  returned: always
  type: list
  elements: str
  sample: [OLD_API_KEY]
values:
  description:
    - Every final value written to the file - secrets, values and derived - by name.
    - "B(Secret.) Register the result only in a task with C(no_log: true)."
  returned: always
  type: dict
  sample:
    POSTGRES_USER: taylordash
    POSTGRES_PASSWORD: Xq3...
    DATABASE_URL: postgresql://taylordash:Xq3...@postgres:5432/taylordash
"""

import os

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_native
from ansible_collections.taylordash.ops.plugins.module_utils._envfile import (
    DEFAULT_HEADER,
    EnvFileError,
    build,
)
from ansible_collections.taylordash.ops.plugins.module_utils._private_file import read_bytes, write_private


def read_current(module, target):
    """Text of the existing file, None when there is none; fails without ever showing its content."""
    if os.path.isdir(target):
        module.fail_json(msg="%s is a directory" % target)
    try:
        data = read_bytes(target)
    except (IOError, OSError) as exc:
        module.fail_json(msg="cannot read %s: %s" % (target, to_native(exc.strerror or exc)))
    if data is None:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        module.fail_json(msg="cannot read %s: it is not UTF-8 text" % target)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path", required=True),
            secrets=dict(type="dict", default={}),
            values=dict(type="dict", default={}),
            derived=dict(type="dict", default={}),
            header=dict(type="str", default=DEFAULT_HEADER),
            mode=dict(type="raw", default="0600"),
        ),
        add_file_common_args=True,
        supports_check_mode=True,
    )
    params = module.params
    path = params["path"]
    target = os.path.realpath(path)
    directory = os.path.dirname(target)

    current = read_current(module, target)
    try:
        plan = build(params["secrets"], params["values"], params["derived"],
                     params["header"] if params["header"] is not None else DEFAULT_HEADER, current)
    except EnvFileError as exc:
        module.fail_json(msg="%s: %s" % (path, exc), path=path)

    changed = plan["changed"]
    if not module.check_mode:
        if not os.path.isdir(directory):
            module.fail_json(msg="cannot write %s: directory %s does not exist" % (path, directory), path=path)
        file_args = module.load_file_common_arguments(params, path=target)
        if changed:
            try:
                write_private(module, target, plan["content"], file_args)
            except Exception as exc:  # atomic_move raises plain Exception on ansible-core >= 2.17
                module.fail_json(msg="cannot write %s: %s" % (path, to_native(exc)), path=path)
        changed = module.set_fs_attributes_if_different(file_args, changed)
    elif current is not None:
        changed = module.set_fs_attributes_if_different(module.load_file_common_arguments(params, path=target),
                                                        changed)

    result = dict(
        changed=changed,
        path=path,
        generated=plan["generated"],
        kept=plan["kept"],
        overridden=plan["overridden"],
        removed=plan["removed"],
        values=plan["values"],
    )
    if module._diff:
        result["diff"] = dict(plan["diff"], before_header="%s (values hidden)" % path,
                              after_header="%s (values hidden)" % path)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
