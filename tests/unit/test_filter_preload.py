"""The taylordash role's preload (the first task of its validate entry point) names one filter of every filter
file of the collection in a meta task's condition, compiled in ansible-playbook's main process, so that no forked
worker loads them again; deploy-prod.yml and deploy-dev.yml run it before they gather facts."""

import ast
import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]


def _filters_of(path):
    """The names a filter plugin file's FilterModule.filters() returns."""
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.FunctionDef) and node.name == "filters":
            returned = [n for n in ast.walk(node) if isinstance(n, ast.Return)][0].value
            return {key.value for key in returned.keys}
    return set()


def test_every_filter_file_is_loaded_by_the_preload_task():
    tasks = yaml.safe_load((ROOT / "roles" / "taylordash" / "tasks" / "preload.yml").read_text())
    preload = [t for t in tasks if t.get("ansible.builtin.meta") == "flush_handlers"]
    assert len(preload) == 1 and len(tasks) == 1, "preload.yml is the one preload task"
    validate = yaml.safe_load((ROOT / "roles" / "taylordash" / "tasks" / "validate.yml").read_text())
    assert validate[0].get("ansible.builtin.import_tasks") == "preload.yml", "the preload is validate.yml's first task"
    # First the modules' imports are parsed (the lookup is called), then the filters are resolved, never called.
    modules, _, condition = preload[0]["when"].partition(" or ")
    assert modules.startswith("(lookup('taylordash.ops.module_preload', ") and modules.endswith(" and false)"), modules
    assert condition.startswith("false and "), "the filters are resolved, never called"
    named = set(re.findall(r"taylordash\.ops\.([a-z_]+)", condition))
    files = sorted((ROOT / "plugins" / "filter").glob("*.py"))
    assert files
    for path in files:
        filters = _filters_of(path)
        assert filters, path
        assert filters & named, "%s: name one of %s in the preload task" % (path.name, sorted(filters))
    every = set().union(*(_filters_of(path) for path in files))
    assert named <= every, named - every


@pytest.mark.parametrize("name", ["deploy-prod.yml", "deploy-dev.yml"])
def test_the_deploys_preload_before_their_deploy_play_gathers_facts(name):
    plays = yaml.safe_load((ROOT / "playbooks" / name).read_text())
    first, deploy = plays[0], plays[1]
    assert first["gather_facts"] is False and deploy["gather_facts"] is True
    task = first["tasks"][0]
    assert task["ansible.builtin.import_role"] == {"name": "taylordash", "tasks_from": "preload",
                                                  "rolespec_validate": False}
    assert task["tags"] == ["always"]
    # Bytecode only when every host of the inventory is reached by the local connection, whichever play calls it
    # first (its first call decides for the run).
    preload = yaml.safe_load((ROOT / "roles" / "taylordash" / "tasks" / "preload.yml").read_text())[0]["when"]
    assert "bytecode=groups['all'] | map('extract', hostvars)" in preload
