# -*- coding: utf-8 -*-
# Copyright: taylordash-ops developers
# MIT License
"""Which Debian packages are installed, from `dpkg-query --show --showformat
'${Package} ${db:Status-Abbrev}\\n' <names>`: roles ask dpkg (milliseconds)
and run apt (seconds, even with nothing to do) only for what is missing."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError

from ansible_collections.taylordash.ops.plugins.module_utils import _engine


def dpkg_missing(wanted, dpkg_lines):
    """The names of `wanted` that dpkg does not report as installed ("ii"), in the given order.
    A package dpkg has never heard of has no line at all: it is missing too."""
    if not isinstance(wanted, (list, tuple)):
        raise AnsibleFilterError("dpkg_missing: wanted must be a list of package names, not %r" % (wanted,))
    installed = _engine.installed_packages(dpkg_lines or [])
    return [name for name in wanted if str(name) not in installed]


class FilterModule(object):
    def filters(self):
        return {"dpkg_missing": dpkg_missing}
