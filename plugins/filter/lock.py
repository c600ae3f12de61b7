# -*- coding: utf-8 -*-
# Copyright: taylordash-ops developers
# MIT License
"""Filters of the deploy lock, evaluated on the controller."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.taylordash.ops.plugins.module_utils._run_id import run_is_gone


def run_gone(run_id):
    """True when the deploy lock's run id names a run of this controller that has ended (see _run_id)."""
    return run_is_gone(run_id)


class FilterModule(object):
    def filters(self):
        return {"run_gone": run_gone}
