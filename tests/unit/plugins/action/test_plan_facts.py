# -*- coding: utf-8 -*-
"""plugins/action/plan_facts.py with a real Templar: variables rendered in order, each seeing those before
it as plain data; checks fail with their messages before anything after them is rendered; argument specs
name the variable."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from types import SimpleNamespace

import pytest

from ansible.errors import AnsibleActionFail
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template

from ansible_collections.taylordash.ops.plugins.action.plan_facts import ActionModule


def run(steps, variables):
    task = SimpleNamespace(args={"steps": steps}, async_val=0, check_mode=False, action="taylordash.ops.plan_facts")
    connection = SimpleNamespace(_shell=SimpleNamespace(tmpdir="/nonexistent"))
    loader = DataLoader()
    action = ActionModule(task, connection, None, loader, Templar(loader=loader, variables=variables), None)
    return action.run(task_vars=variables)


def lazy(text):
    return trust_as_template(text)


VARIABLES = {
    "base": {"a": 1},
    "doubled": lazy("{{ base | dict2items | map(attribute='value') | map('int') | map('string') | list }}"),
    "no_errors": lazy("{{ [] }}"),
    "some_errors": lazy("{{ ['x_port must be a port; got ' ~ base.a] }}"),
    "broken": lazy("{{ base.missing.deeper }}"),
}


def test_facts_are_rendered_in_order_as_plain_data():
    result = run([{"fact": "base"}, {"check": "no_errors"}, {"fact": ["doubled"]}], VARIABLES)
    assert result.get("failed") is not True and result["changed"] is False
    assert result["planned"] == {"base": {"a": 1}, "doubled": ["1"]}
    assert type(result["planned"]["doubled"]) is list


def test_a_check_with_messages_fails_before_the_steps_after_it():
    result = run([{"fact": "base"}, {"checks": ["no_errors", "some_errors", "not_in_this_play"]}, {"fact": "broken"}],
                 VARIABLES)
    assert result["failed"] is True and result["msg"] == "x_port must be a port; got 1"
    assert result["planned"] == {"base": {"a": 1}}


def test_an_argument_spec_names_the_variable():
    spec = {"base": {"type": "dict"}, "doubled": {"type": "list", "elements": "int"}, "x_mode": {"type": "str",
                                                                                             "choices": ["a"]}}
    assert run([{"arguments": spec}], dict(VARIABLES, x_mode="a")).get("failed") is not True
    result = run([{"arguments": spec}], dict(VARIABLES, x_mode="b"))
    assert result["failed"] is True and "x_mode" in result["msg"] and "Validation of arguments failed" in result["msg"]
    result = run([{"arguments": {"broken": {"type": "str"}}}], VARIABLES)
    assert result["failed"] is True and result["msg"].startswith("broken cannot be rendered")


@pytest.mark.parametrize("steps", [[], [{"fact": "base", "check": "no_errors"}], [{"render": "base"}], "base"])
def test_malformed_steps_are_refused(steps):
    with pytest.raises(AnsibleActionFail):
        run(steps, VARIABLES)


def test_a_fact_that_is_not_defined_is_refused():
    with pytest.raises(AnsibleActionFail, match="no variable nowhere"):
        run([{"fact": "nowhere"}], VARIABLES)


def test_the_arguments_step_then_runs_each_options_own_rule():
    """After the argument spec's types (which stop first), module_utils/_inputs.py's rules run on the converted
    values: here a port as a string of digits, then a system directory and a short supplied secret."""
    spec = {"taylordash_backup_offsite_port": {"type": "int"}, "taylordash_backup_dir": {"type": "path"},
            "infrastructure_secrets": {"type": "dict"}, "taylordash_secret_min_length": {"type": "int"},
            "taylordash_lock_timeout": {"type": "int"}}
    good = {"taylordash_backup_dir": "/opt/taylordash/backups", "infrastructure_secrets": {"API_KEY": "k" * 20},
            "taylordash_secret_min_length": "16", "taylordash_lock_timeout": "600"}
    assert run([{"arguments": spec}], good).get("failed") is not True
    result = run([{"arguments": spec}], dict(good, taylordash_lock_timeout="soon", taylordash_backup_dir="/var/"))
    assert result["failed"] is True and result["msg"].startswith("Validation of arguments failed: argument "
                                                                 "'taylordash_lock_timeout'")
    result = run([{"arguments": spec}], dict(good, taylordash_backup_dir="/var/", infrastructure_secrets={"API_KEY": "x"}))
    assert result["failed"] is True
    assert "taylordash_backup_dir: '/var/' is a system directory (/var)" in result["msg"]
    assert "infrastructure_secrets.API_KEY: the supplied value is shorter than taylordash_secret_min_length" in result["msg"]
