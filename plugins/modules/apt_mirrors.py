#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: taylordash-ops developers
# MIT License

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: apt_mirrors
short_description: The Debian mirrors a host's apt sources name
version_added: 0.2.0
description:
  - Reads the host's apt sources (C(sources.list), and the C(.list) and deb822 C(.sources) files of
    C(sources.list.d), in apt's order) and returns the first http(s) mirror of a release and of its security
    suite, with a final slash as C(apt-get indextargets) prints them (which parses every downloaded index and
    takes seconds).
  - Also returns the sha256 of the files in O(sha256_of) (the files an image built from these mirrors copies,
    such as a CA bundle), so the inputs of a Debian base image are read in one call.
  - Never changes anything.
author: taylordash-ops developers
options:
  etc:
    description: apt's configuration directory.
    type: path
    default: /etc/apt
  sha256_of:
    description: Files whose sha256 to return in RV(sha256); a missing one is left out.
    type: list
    elements: path
    default: []
  no_mirror_message:
    description:
      - When set and the sources name no mirror of a release, fail with this message (naming the variable that
        would supply one, for example).
    type: str
  missing_file_message:
    description: When set and a file of O(sha256_of) is not a regular file, fail with this message.
    type: str
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  idempotent:
    support: full
    details: Always C(changed=false).
"""

EXAMPLES = r"""
- name: Find the Debian mirrors this host uses
  taylordash.ops.apt_mirrors:
  register: mirrors
"""

RETURN = r"""
mirror:
  description: The first mirror of a release (a suite without a hyphen), or empty.
  returned: always
  type: str
  sample: http://deb.debian.org/debian/
security:
  description: The first mirror of a security suite, or empty.
  returned: always
  type: str
  sample: http://deb.debian.org/debian-security/
sha256:
  description: Path -> sha256 of each regular file of O(sha256_of) (missing or other kinds left out).
  returned: always
  type: dict
  sample: {/etc/ssl/certs/ca-certificates.crt: 3f7a0e0f6f0c5f1e9d2d3c4b5a69788796a5b4c3d2e1f00112233445566778899}
"""

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.taylordash.ops.plugins.module_utils import _apt
from ansible_collections.taylordash.ops.plugins.module_utils._context_hash import file_digest


def main():
    module = AnsibleModule(argument_spec=dict(etc=dict(type="path", default="/etc/apt"),
                                              sha256_of=dict(type="list", elements="path", default=[]),
                                              no_mirror_message=dict(type="str"),
                                              missing_file_message=dict(type="str")),
                           supports_check_mode=True)
    params = module.params
    found = _apt.entries(_apt.read_sources(params["etc"]))
    digests = dict((path, file_digest(path)) for path in params["sha256_of"] if os.path.isfile(path))
    result = dict(changed=False, mirror=_apt.mirror_of(found, "[a-z]+"),
                  security=_apt.mirror_of(found, "[a-z]+-security"), sha256=digests)
    problems = []
    if params["no_mirror_message"] and not result["mirror"]:
        problems.append(params["no_mirror_message"])
    if params["missing_file_message"] and len(digests) < len(set(params["sha256_of"])):
        problems.append(params["missing_file_message"])
    if problems:
        module.fail_json(msg=" ".join(problems), **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
