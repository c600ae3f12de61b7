# -*- coding: utf-8 -*-
"""Every module's DOCUMENTATION, EXAMPLES and RETURN parse as YAML, and every option the code declares is
documented (ansible-doc and ansible-lint read them; a colon in a plain scalar broke two of them once)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ast
import os

import pytest
import yaml

MODULES = os.path.join(os.path.dirname(__file__), os.pardir, os.pardir, "plugins", "modules")
NAMES = sorted(name[:-3] for name in os.listdir(MODULES) if name.endswith(".py") and name != "__init__.py")


def _strings(path):
    tree = ast.parse(open(path).read())
    out = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            if node.targets[0].id in ("DOCUMENTATION", "EXAMPLES", "RETURN") and isinstance(node.value, ast.Constant):
                out[node.targets[0].id] = node.value.value
    return out


def _argument_spec_keys(path):
    """The top-level keys of the argument_spec=dict(...) the module passes to AnsibleModule."""
    tree = ast.parse(open(path).read())
    for node in ast.walk(tree):
        if isinstance(node, ast.keyword) and node.arg == "argument_spec" and isinstance(node.value, ast.Call):
            return sorted(kw.arg for kw in node.value.keywords if kw.arg)
    return None


@pytest.mark.parametrize("name", NAMES)
def test_module_documentation_parses_and_names_every_option(name):
    path = os.path.join(MODULES, name + ".py")
    texts = _strings(path)
    assert set(texts) == {"DOCUMENTATION", "EXAMPLES", "RETURN"}, name
    docs = {key: yaml.safe_load(text) for key, text in texts.items()}
    assert docs["DOCUMENTATION"]["module"] == name
    keys = _argument_spec_keys(path)
    if keys is not None:
        documented = sorted((docs["DOCUMENTATION"].get("options") or {}).keys())
        assert keys == documented, (name, set(keys) ^ set(documented))
