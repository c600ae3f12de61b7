# -*- coding: utf-8 -*-
"""Shared harness for the module tests in this directory.

Import it as
``ansible_collections.taylordash.ops.tests.unit.plugins.modules.harness``
(tests/unit/conftest.py puts ``collections/`` on sys.path, and
``collections/ansible_collections/taylordash/ops`` links to the repository
root), so that conftest.py and every test file share one copy of the
exception classes whatever pytest's import mode.

The ``patch_exit_fail`` autouse fixture in conftest.py makes
AnsibleModule.exit_json / fail_json raise AnsibleExitJson / AnsibleFailJson;
``run_module(module, args)`` runs ``module.main()`` with ``args`` as the module
arguments and returns ('exit'|'fail', result dict).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import json

from ansible.module_utils import basic
from ansible.module_utils.common.text.converters import to_bytes

try:  # ansible-core >= 2.19
    from ansible.module_utils.testing import patch_module_args
except ImportError:  # older ansible-core: the classic _ANSIBLE_ARGS approach
    @contextlib.contextmanager
    def patch_module_args(args=None):
        saved = basic._ANSIBLE_ARGS
        basic._ANSIBLE_ARGS = to_bytes(json.dumps({"ANSIBLE_MODULE_ARGS": args or {}}))
        try:
            yield
        finally:
            basic._ANSIBLE_ARGS = saved


class AnsibleExitJson(Exception):
    """Raised in place of AnsibleModule.exit_json."""


class AnsibleFailJson(Exception):
    """Raised in place of AnsibleModule.fail_json."""


def _exit_json(self, **kwargs):
    kwargs.setdefault("changed", False)
    raise AnsibleExitJson(kwargs)


def _fail_json(self, msg, **kwargs):
    kwargs["failed"] = True
    kwargs["msg"] = msg
    raise AnsibleFailJson(kwargs)


def patch_exit_fail(monkeypatch):
    """Make exit_json / fail_json raise (used by the autouse fixture in conftest.py)."""
    monkeypatch.setattr(basic.AnsibleModule, "exit_json", _exit_json)
    monkeypatch.setattr(basic.AnsibleModule, "fail_json", _fail_json)


def run_module(module, args):
    """Run module.main() with args; return ('exit'|'fail', result dict)."""
    with patch_module_args(args):
        try:
            module.main()
        except AnsibleExitJson as exc:
            return "exit", exc.args[0]
        except AnsibleFailJson as exc:
            return "fail", exc.args[0]
    raise AssertionError("module returned without calling exit_json or fail_json")
