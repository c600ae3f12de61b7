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
  - Never changes anything.
author: taylordash-ops developers
options:
  etc:
    description: apt's configuration directory.
    type: path
    default: /etc/apt
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
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.taylordash.ops.plugins.module_utils import _apt


def main():
    module = AnsibleModule(argument_spec=dict(etc=dict(type="path", default="/etc/apt")), supports_check_mode=True)
    found = _apt.entries(_apt.read_sources(module.params["etc"]))
    module.exit_json(changed=False, mirror=_apt.mirror_of(found, "[a-z]+"),
                     security=_apt.mirror_of(found, "[a-z]+-security"))


if __name__ == "__main__":
    main()
