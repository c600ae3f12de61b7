#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: taylordash-ops developers
# MIT License

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: mosquitto_passwd
short_description: Manage a Mosquitto 2.0 password file idempotently
version_added: 0.1.0
description:
  - Makes the Mosquitto password file O(path) hold exactly the users of O(users), each with its
    password hashed the way C(mosquitto_passwd) of Mosquitto 2.0 does.
  - Mosquitto salts every hash, so hashing the passwords again would change the file on every run.
    Instead each existing hash is verified against the wanted password, and the line of a user whose
    hash verifies is kept byte for byte. Only users that are new, or whose password changed, get a
    fresh hash; the file is rewritten only when a user or a password changed.
  - Verifies C($7$) hashes (PBKDF2-HMAC-SHA512, the Mosquitto 2.0 default) and C($6$) hashes (salted
    SHA-512, Mosquitto 1.6 and C(mosquitto_passwd -H sha512)). A hash in any other format, plain text
    included, counts as not matching and its user gets a fresh hash.
  - New hashes are C($7$) hashes of O(iterations) rounds with a random 12-byte salt.
  - Users in the file but not in O(users) are removed. The file is written sorted by user name, one
    C(user:hash) line each. Blank lines and comment lines (starting with C(#)) are not kept; a user
    listed twice keeps only its last line, the one Mosquitto uses.
  - Writes atomically - a temporary file created with mode C(0600) in the same directory, given its final
    owner, group and mode, then renamed over O(path) - so the file is never readable by other users in
    between. Without O(owner) or O(group), a rewritten file keeps the owner and group of the file it replaces.
  - Passwords are never returned, logged or shown in a diff or an error message.
author: taylordash-ops developers
options:
  path:
    description:
      - The password file, the C(password_file) of the broker's configuration.
      - Its directory must exist. Created when missing.
    type: path
    required: true
  users:
    description:
      - User name to password (a string; quote digits-only passwords in YAML).
      - User names must be non-empty, without C(:), whitespace or NUL, and not start with C(#).
        Passwords must be non-empty, without newline, carriage return or NUL.
      - An empty dict leaves the file without users, so nobody can log in with a password.
    type: dict
    required: true
  iterations:
    description:
      - PBKDF2 rounds of the hashes this module makes (C(mosquitto_passwd) uses 101).
      - Existing hashes that verify are kept whatever their rounds, so changing this rehashes nothing by itself.
    type: int
    default: 101
  mode:
    description:
      - The permissions of the password file, as for M(ansible.builtin.file) (for example V(0640) or V(u=rw,g=r)).
      - The broker must be able to read the file. The C(taylordash/mosquitto) image (like C(eclipse-mosquitto))
        runs it as uid and gid 1883, so set O(owner) to V(1883), or O(group) to V(1883) with a mode such as V(0640).
    type: raw
    default: '0600'
extends_documentation_fragment:
  - ansible.builtin.files
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details: The diff lists user names only, with C((added)) or C((new password)); never hashes or passwords.
  idempotent:
    support: full
notes:
  - Ansible hides every occurrence of a password in the task's output (C(no_log) of O(users)), so a
    password that also appears in a user name or in O(path) masks that part of it too.
seealso:
  - name: mosquitto_passwd manual
    description: The password file format of Mosquitto.
    link: https://mosquitto.org/man/mosquitto_passwd-1.html
"""

EXAMPLES = r"""
- name: Password file of the broker, readable by the mosquitto user of the container
  taylordash.ops.mosquitto_passwd:
    path: /srv/broker/config/mosquitto/passwd
    users:
      backend: "{{ vault_mqtt_backend_password }}"
      sensors: "{{ vault_mqtt_sensors_password }}"
    owner: "1883"
    group: "1883"
    mode: "0600"
  register: mqtt_passwd

- name: Recreate the broker when its credentials change
  community.docker.docker_container:
    name: mosquitto
    image: taylordash/mosquitto:2.0
    labels:
      taylordash.passwd-checksum: "{{ mqtt_passwd.checksum }}"
    volumes:
      - /srv/broker/config/mosquitto:/mosquitto/config:ro

- name: Show which users changed, without their passwords
  ansible.builtin.debug:
    msg: "added {{ mqtt_passwd.added }}, new password {{ mqtt_passwd.updated }}, removed {{ mqtt_passwd.removed }}"
"""

RETURN = r"""
path:
  description: The password file.
  returned: always
  type: str
  sample: /srv/broker/config/mosquitto/passwd
added:
  description: Users that were not in the file and got a fresh hash, sorted.
  returned: always
  type: list
  elements: str
  sample: [sensors]
updated:
  description:
    - Users already in the file whose hash did not verify the wanted password (a new password, or a
      hash in an unknown format), and got a fresh hash; sorted.
  returned: always
  type: list
  elements: str
  sample: [backend]
removed:
  description: Users in the file but not in O(users), dropped from it; sorted.
  returned: always
  type: list
  elements: str
  sample: [olduser]
unchanged:
  description: Users whose existing line was kept byte for byte, sorted.
  returned: always
  type: list
  elements: str
  sample: [admin]
checksum:
  description:
    - sha256 hex digest of the file content after the task (in check mode, of the content that would be written).
    - Changes whenever the file does; use it in a label to recreate the broker when its credentials change.
  returned: always
  type: str
  sample: 6f0c1c2a9d3b5b0e4f2a7c8d9e0f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b
"""

import os

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_native
from ansible_collections.taylordash.ops.plugins.module_utils._mosquitto_passwd import (
    DEFAULT_ITERATIONS,
    PasswdError,
    checksum,
    plan_passwd,
    validate_users,
)
from ansible_collections.taylordash.ops.plugins.module_utils._private_file import read_bytes, write_private


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path", required=True),
            users=dict(type="dict", required=True, no_log=True),
            iterations=dict(type="int", default=DEFAULT_ITERATIONS),
            mode=dict(type="raw", default="0600"),
        ),
        add_file_common_args=True,
        supports_check_mode=True,
    )
    path = module.params["path"]
    result = dict(changed=False, path=path, added=[], updated=[], removed=[], unchanged=[])
    if module.params["iterations"] < 1:
        module.fail_json(msg="iterations must be >= 1, got %d" % module.params["iterations"], **result)
    if os.path.isdir(path):
        module.fail_json(msg="%s is a directory" % path, **result)
    directory = os.path.dirname(path) or "."
    if not os.path.isdir(directory):
        module.fail_json(msg="the directory of %s does not exist" % path, **result)

    try:
        validate_users(module.params["users"])
    except PasswdError as exc:
        module.fail_json(msg=str(exc), **result)
    try:
        current = read_bytes(path)
    except (IOError, OSError) as exc:
        module.fail_json(msg="cannot read %s: %s" % (path, to_native(exc)), **result)
    try:
        plan = plan_passwd(current, module.params["users"], module.params["iterations"])
    except PasswdError as exc:
        module.fail_json(msg="%s: %s" % (path, exc), **result)

    result.update((key, plan[key]) for key in ("added", "updated", "removed", "unchanged"))
    result["checksum"] = checksum(plan["content"])
    file_args = module.load_file_common_arguments(module.params)
    if plan["changed"] and not module.check_mode:
        try:  # the wanted owner, group and mode are set on the temporary file before it replaces path
            write_private(module, path, plan["content"], file_args)
        except Exception as exc:  # atomic_move raises plain Exception on ansible-core >= 2.17
            module.fail_json(msg="cannot write %s: %s" % (path, to_native(exc)), **result)
    result["changed"] = plan["changed"]

    attributes_diff = dict(before={}, after={}, before_header=path, after_header=path)
    if os.path.lexists(path):  # in check mode a missing file stays missing: created with the wanted attributes
        result["changed"] = module.set_fs_attributes_if_different(file_args, result["changed"],
                                                                  diff=attributes_diff)
    if module._diff:
        result["diff"] = []
        if plan["changed"]:
            result["diff"].append(dict(before=plan["before_users"], after=plan["after_users"],
                                       before_header=path if current is not None else "%s (absent)" % path,
                                       after_header=path))
        if attributes_diff["before"] or attributes_diff["after"]:
            result["diff"].append(attributes_diff)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
