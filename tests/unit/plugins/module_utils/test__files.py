# -*- coding: utf-8 -*-
"""Table-driven tests for plugins/module_utils/_files.py: what a file or directory needs."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.taylordash.ops.plugins.module_utils import _files

SHA = _files.sha1_text("x\n")


@pytest.mark.parametrize("wanted, seen, expected", [
    ({"kind": "f", "mode": "0644", "sha1": SHA}, None, ("create", "absent")),
    ({"kind": "f", "mode": "0644", "sha1": SHA}, {"kind": "f", "mode": "0644", "sha1": SHA}, None),
    ({"kind": "f", "mode": "0644", "sha1": SHA}, {"kind": "f", "mode": "0644", "sha1": "0" * 40}, ("replace", "content differs")),
    ({"kind": "f", "mode": "0644", "sha1": SHA}, {"kind": "d", "mode": "0755"}, ("replace", "a directory, not a file")),
    ({"kind": "d", "mode": "0755"}, {"kind": "f", "mode": "0644", "sha1": SHA}, ("replace", "a file, not a directory")),
    ({"kind": "f", "mode": "0600", "sha1": SHA}, {"kind": "f", "mode": "0644", "sha1": SHA}, ("attributes", "mode 0644, wanted 0600")),
    ({"kind": "f", "mode": "600", "sha1": SHA, "uid": 1883}, {"kind": "f", "mode": "0600", "sha1": SHA, "uid": 0},
     ("attributes", "uid 0, wanted 1883")),
    ({"kind": "f", "mode": "0600", "sha1": SHA, "uid": None}, {"kind": "f", "mode": "0600", "sha1": SHA, "uid": 7}, None),
    ({"kind": "d", "mode": "0755", "gid": 5}, {"kind": "d", "mode": "0700", "gid": 0},
     ("attributes", "mode 0700, wanted 0755, gid 0, wanted 5")),
    ({"kind": "f", "mode": "0644"}, {"kind": "f", "mode": "0644", "sha1": SHA}, None),  # content not compared
])
def test_change_names_the_action_and_why(wanted, seen, expected):
    assert _files.change(wanted, seen) == expected


def test_plan_lists_directories_then_files_that_differ():
    state = {"/c": {"kind": "d", "mode": "0755"}, "/c/a.yml": {"kind": "f", "mode": "0644", "sha1": SHA}}
    rows = _files.plan([{"path": "/c", "mode": "0755"}, {"path": "/c/sub", "mode": "0755"}],
                       [{"path": "/c/a.yml", "content": "x\n", "mode": "0644"},
                        {"path": "/c/b.yml", "content": "y\n", "mode": "0644"},
                        {"path": "/c/sub/z", "content": "z\n", "mode": "0600"}], state)
    assert rows == [{"path": "/c/sub", "action": "create", "why": "absent"},
                    {"path": "/c/b.yml", "action": "create", "why": "absent"},
                    {"path": "/c/sub/z", "action": "create", "why": "absent"}]


@pytest.mark.parametrize("mode, normal", [("644", "0644"), ("0644", "0644"), (0o600, "0600"), ("2775", "2775")])
def test_normal_mode(mode, normal):
    assert _files.normal_mode(mode) == normal
