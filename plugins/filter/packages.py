# -*- coding: utf-8 -*-
# Copyright: taylordash-ops developers
# MIT License
"""Which Debian packages are installed, from `dpkg-query --show --showformat
'${Package} ${db:Status-Abbrev}\\n' <names>`: roles ask dpkg (milliseconds)
and run apt (seconds, even with nothing to do) only for what is missing."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError


def dpkg_missing(wanted, dpkg_lines):
    """The names of `wanted` that dpkg does not report as installed ("ii"), in the given order.
    A package dpkg has never heard of has no line at all: it is missing too."""
    if not isinstance(wanted, (list, tuple)):
        raise AnsibleFilterError("dpkg_missing: wanted must be a list of package names, not %r" % (wanted,))
    installed = set()
    for line in dpkg_lines or []:
        parts = str(line).split()
        if len(parts) >= 2 and parts[1].startswith("ii"):
            installed.add(parts[0].split(":", 1)[0])  # name:arch for foreign architectures
    return [name for name in wanted if str(name) not in installed]


class FilterModule(object):
    def filters(self):
        return {"dpkg_missing": dpkg_missing}
