# -*- coding: utf-8 -*-
# Copyright: taylordash-ops developers
# MIT License
"""Filter of the health role: a thin adapter over module_utils/_health.py (the stack_health module does
the rest)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.taylordash.ops.plugins.module_utils import _health


def health_summary(failing):
    """One host's line of the summary: healthy, or what fails there."""
    return _health.summary(failing)


class FilterModule(object):
    def filters(self):
        return {"health_summary": health_summary}
