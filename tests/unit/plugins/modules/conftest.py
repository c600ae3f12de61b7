# -*- coding: utf-8 -*-
"""Fixtures for every module test in this directory (the harness is in harness.py)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.taylordash.ops.tests.unit.plugins.modules import harness


@pytest.fixture(autouse=True)
def patch_exit_fail(monkeypatch):
    """AnsibleModule.exit_json / fail_json raise AnsibleExitJson / AnsibleFailJson."""
    harness.patch_exit_fail(monkeypatch)
