# -*- coding: utf-8 -*-
# Copyright: taylordash-ops developers
# MIT License
"""Filters of audit.yml: thin adapters over module_utils/_audit_plan.py."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError

from ansible_collections.taylordash.ops.plugins.module_utils import _audit_plan


def audit_plan(catalogue, port_plan, dev_apps, project, old_projects, published=None):
    """The plan audit.yml compares a host with (docs/audit-design.md, "The plan")."""
    try:
        return _audit_plan.audit_plan(dict(catalogue or {}), dict(port_plan or {}), dict(dev_apps or {}), project,
                                      list(old_projects or []), list(published or []))
    except (KeyError, TypeError, ValueError) as exc:
        raise AnsibleFilterError("taylordash_port_plan or the catalogue cannot be audited against: %s" % exc)


class FilterModule(object):
    def filters(self):
        return {"audit_plan": audit_plan}
