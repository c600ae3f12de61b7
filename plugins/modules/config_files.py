#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: taylordash-ops developers
# MIT License

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: config_files
short_description: Directories and files rendered on the controller, written only where they differ, in one call
version_added: 0.3.0
description:
  - Reads every directory and file of the set in one pass (kind, mode, owner, sha1), then creates the
    missing directories and writes only the files whose content differs, each atomically (a private
    temporary file in the same directory, checked by its O(files[].validate) command, then renamed over the
    old one with its final mode and owner); a file whose content is right but whose mode or owner is not
    only gets its attributes.
  - Check mode returns the same plan (RV(changes), per path and why) without touching anything; C(--diff)
    shows each file's old and new content with every value of O(secrets) masked.
author: taylordash-ops developers
options:
  directories:
    description: Directories, parents first.
    type: list
    elements: dict
    default: []
    suboptions:
      path: {description: The directory., type: path, required: true}
      mode: {description: Its mode., type: str, default: "0755"}
      owner: {description: Owner (name or uid); unset keeps the current one., type: str}
      group: {description: Group (name or gid); unset keeps the current one., type: str}
  absent:
    description:
      - Files that must not exist (a route file for a service that moved, for example); each one present is removed
        after the files are written, and reported as V(remove). A directory here is an error.
    type: list
    elements: path
    default: []
  files:
    description: Files and their whole content.
    type: list
    elements: dict
    default: []
    suboptions:
      path: {description: The file., type: path, required: true}
      content: {description: Its content (text)., type: str, required: true}
      mode: {description: Its mode., type: str, default: "0644"}
      owner: {description: Owner (name or uid); unset keeps the current one., type: str}
      group: {description: Group (name or gid); unset keeps the current one., type: str}
      validate:
        description:
          - Command run before the file replaces the old one, C(%s) standing for the new file; a failure
            keeps the old file and fails the module, naming the path and the command's output.
        type: str
  secrets:
    description: Values masked wherever they would show (diffs, a validate command's output).
    type: list
    elements: str
    default: []
  mask_patterns:
    description:
      - Regular expressions whose matches are masked in diffs and a validate command's output too, for values
        the controller does not know (the password hash a file on the host holds, for one).
    type: list
    elements: str
    default: []
  unsafe_writes:
    description: Allow a write in place when the atomic rename is impossible (see M(ansible.builtin.copy)).
    type: bool
    default: false
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
  idempotent:
    support: full
"""

EXAMPLES = r"""
- name: Write the configuration files
  taylordash.ops.config_files:
    directories:
      - path: /opt/taylordash/config/prometheus
    files:
      - path: /opt/taylordash/config/prometheus/prometheus.yml
        content: "{{ lookup('ansible.builtin.template', 'prometheus.yml.j2') }}"
        validate: promtool check config %s
  register: written
"""

RETURN = r"""
changes:
  description: What differed, in order, as V(path), V(action) (V(create), V(replace), V(attributes) or V(remove)) and V(why).
  returned: always
  type: list
  elements: dict
  sample: [{path: /opt/taylordash/config/prometheus/prometheus.yml, action: replace, why: content differs}]
"""

import grp
import os
import pwd
import re
import shlex

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.taylordash.ops.plugins.module_utils import _files
from ansible_collections.taylordash.ops.plugins.module_utils._path_state import path_state
from ansible_collections.taylordash.ops.plugins.module_utils._private_file import write_private

ENTRY = dict(path=dict(type="path", required=True), owner=dict(type="str"), group=dict(type="str"))


def _id(value, table, what):
    """A uid/gid from a name or a number ('' or None: not compared)."""
    if value in (None, ""):
        return None
    if str(value).isdigit():
        return int(value)
    try:
        return table(value)[2]
    except KeyError:
        raise ValueError("%s %s does not exist on this host" % (what, value))


def _wanted(module, item):
    try:
        return dict(item, uid=_id(item.get("owner"), pwd.getpwnam, "user"),
                    gid=_id(item.get("group"), grp.getgrnam, "group"))
    except ValueError as exc:
        module.fail_json(msg="%s: %s" % (item["path"], exc))


def _masked(text, secrets, patterns=()):
    """text with every secret (longest first), and every match of patterns, replaced by ********."""
    for secret in sorted((value for value in secrets if value), key=len, reverse=True):
        text = text.replace(secret, "********")
    for pattern in patterns:
        text = re.sub(pattern, "********", text)
    return text


def _attributes(mode, uid, gid):
    return "mode %s, owner %s:%s" % (mode, "-" if uid is None else uid, "-" if gid is None else gid)


def _either(wanted, seen):
    return seen if wanted is None else wanted


def _file_args(module, item):
    return dict(module.load_file_common_arguments(dict(path=item["path"], mode=item["mode"], owner=item.get("owner"),
                                                       group=item.get("group"))))


def main():
    module = AnsibleModule(
        argument_spec=dict(
            directories=dict(type="list", elements="dict", default=[],
                             options=dict(ENTRY, mode=dict(type="str", default="0755"))),
            files=dict(type="list", elements="dict", default=[],
                       options=dict(ENTRY, mode=dict(type="str", default="0644"), content=dict(type="str", required=True),
                                    validate=dict(type="str"))),
            absent=dict(type="list", elements="path", default=[]),
            secrets=dict(type="list", elements="str", default=[], no_log=True),
            mask_patterns=dict(type="list", elements="str", default=[]),
            unsafe_writes=dict(type="bool", default=False),
        ),
        supports_check_mode=True,
    )
    params = module.params
    for pattern in params["mask_patterns"]:
        try:
            re.compile(pattern)
        except re.error as exc:
            module.fail_json(msg="mask_patterns: %r is not a regular expression: %s" % (pattern, exc))
    directories = [_wanted(module, item) for item in params["directories"]]
    files = [_wanted(module, item) for item in params["files"]]
    by_path = dict((item["path"], item) for item in directories + files)
    state = path_state([item["path"] for item in directories + files] + params["absent"])
    rows = _files.plan(directories, files, state)
    gone = [path for path in params["absent"] if path in state and path not in by_path]
    diffs = []
    for row in rows:
        item = by_path[row["path"]]
        seen = state.get(row["path"]) or {}
        if "content" in item and row["action"] != "attributes":
            before, after = (_files.old_text(row["path"]) if row["action"] != "create" else ""), item["content"]
        else:
            before = "%s\n" % _attributes(seen["mode"], seen["uid"], seen["gid"]) if seen else ""
            after = "%s\n" % _attributes(_files.normal_mode(item["mode"]), _either(item["uid"], seen.get("uid")),
                                         _either(item["gid"], seen.get("gid")))
        diffs.append({"before_header": row["path"], "after_header": row["path"], "before": before, "after": after})
        if module.check_mode:
            continue
        file_args = _file_args(module, item)
        try:
            if "content" not in item:
                if row["action"] == "replace":
                    module.fail_json(msg="%s is %s: remove it, or choose another path" % (row["path"], row["why"]))
                if row["action"] == "create":
                    os.makedirs(row["path"])
                module.set_fs_attributes_if_different(file_args, False)
            elif row["action"] == "attributes":
                module.set_fs_attributes_if_different(file_args, False)
            else:
                write_private(module, row["path"], item["content"], file_args,
                              check=(lambda tmp, item=item: _validate(module, item, tmp)) if item.get("validate") else None)
                # atomic_move gives a new file the default mode and this user: the wanted ones back.
                module.set_fs_attributes_if_different(file_args, False)
        except (IOError, OSError) as exc:
            module.fail_json(msg="cannot write %s: %s" % (row["path"], exc), changes=rows)
    for path in gone:
        if state[path].get("kind") == "d":
            module.fail_json(msg="absent: %s is a directory" % path, changes=rows)
        rows.append({"path": path, "action": "remove", "why": "listed in absent"})
        diffs.append({"before_header": path, "after_header": path, "before": _files.old_text(path), "after": ""})
        if not module.check_mode:
            try:
                os.unlink(path)
            except (IOError, OSError) as exc:
                module.fail_json(msg="cannot remove %s: %s" % (path, exc), changes=rows)
    result = dict(changed=bool(rows), changes=rows)
    if module._diff and diffs:
        result["diff"] = [dict(diff, before=_masked(diff["before"], params["secrets"], params["mask_patterns"]),
                               after=_masked(diff["after"], params["secrets"], params["mask_patterns"])) for diff in diffs]
    module.exit_json(**result)


def _validate(module, item, tmp):
    argv = [tmp if word == "%s" else word.replace("%s", tmp) for word in shlex.split(item["validate"])]
    rc, out, err = module.run_command(argv)
    if rc != 0:
        module.fail_json(msg="%s: the new content fails its check (%s): %s" % (
            item["path"], item["validate"], _masked((err or out).strip()[-1500:], module.params["secrets"],
                                                    module.params["mask_patterns"])))


if __name__ == "__main__":
    main()
