"""plugins/lookup/module_preload.py: the parse of a module's imports is remembered, and with the ansible-core
this collection pins the workers' packing goes through the remembered parse."""

import json
import os
import subprocess
import sys
import types

from ansible.executor import module_common

from ansible_collections.taylordash.ops.plugins.lookup import module_preload


def test_a_parse_is_remembered_by_name_and_text_and_the_wrapper_is_installed_once():
    calls = []
    fake = types.SimpleNamespace(_compile_module_ast=lambda name, source: calls.append((name, source)) or object())
    assert module_preload.remember_parses(fake) is True
    wrapper = fake._compile_module_ast
    first = wrapper("ansible.module_utils.basic", b"x = 1\n")
    assert wrapper("ansible.module_utils.basic", b"x = 1\n") is first
    assert wrapper("ansible.module_utils.basic", b"x = 2\n") is not first  # other text: parsed again
    assert len(calls) == 2
    assert module_preload.remember_parses(fake) is True and fake._compile_module_ast is wrapper


def test_without_the_parse_function_it_does_nothing():
    assert module_preload.remember_parses(types.SimpleNamespace()) is False


def test_the_pinned_ansible_core_packs_modules_through_the_function_it_replaces():
    # recursive_finder finds _compile_module_ast as a module global at each call, so replacing the global
    # takes effect; should a release bind it otherwise, this fails and the preload is dead weight.
    assert callable(module_common._compile_module_ast)
    assert "_compile_module_ast" in module_common.recursive_finder.__code__.co_names


def test_the_lookup_parses_a_modules_imports_once_for_the_process_and_its_forks():
    # In a child process: the test process keeps ansible-core unpatched.
    script = """
import json, sys
from ansible.plugins.loader import init_plugin_loader
init_plugin_loader([sys.argv[1]])  # as ansible-playbook does at its start
from ansible.executor import module_common
from ansible_collections.taylordash.ops.plugins.lookup.module_preload import LookupModule
print(json.dumps({"result": LookupModule().run(["ansible.builtin.ping"]),
                  "trees": sorted(name for name, _ in module_common._compile_module_ast.trees)}))
"""
    collections = os.path.join(os.path.dirname(__file__), *[os.pardir] * 4, "collections")
    env = dict(os.environ, PYTHONPATH=os.path.abspath(collections))
    proc = subprocess.run([sys.executable, "-c", script, os.path.abspath(collections)], capture_output=True, text=True, env=env, check=False)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    found = json.loads(out.strip().splitlines()[-1])
    assert found["result"] == [True]
    assert "ansible.module_utils.basic" in found["trees"], found
