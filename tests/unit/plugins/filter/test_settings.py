"""port_plan_errors: the port plan's own problems in the port_plan module's words, without a module run; the
adapters that read the inventory or the controller; and the role variables that call them."""

import os

import pytest
import yaml

from ansible_collections.taylordash.ops.plugins.filter import settings
from ansible_collections.taylordash.ops.plugins.filter.settings import port_plan_errors

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), os.pardir, os.pardir, os.pardir, os.pardir))


def test_a_sound_plan_has_no_errors():
    assert port_plan_errors({"backend": 3000, "frontend": {"port": 5173, "address": "127.0.0.1"}}) == []


@pytest.mark.parametrize("plan,fragments", [
    ({"backend": 3000, "frontend": 3000}, ["taylordash_port_plan cannot be used, 1 plan error(s)",
                                           "also planned for"]),
    ({"backend": 70000}, ["taylordash_port_plan.backend"]),
])
def test_each_problem_is_named_once_in_one_message(plan, fragments):
    errors = port_plan_errors(plan, "taylordash_port_plan")
    assert len(errors) == 1
    for fragment in fragments:
        assert fragment in errors[0], errors


def test_every_host_that_sets_an_address_is_checked_from_every_host():
    hostvars = {"app1": {"taylordash_address": "10.0.1.21"}, "db1": {"taylordash_address": "10.0.1"},
                "proxy1": {"ansible_host": "proxy1.example.com"}}
    assert settings.host_address_errors(["app1", "db1", "proxy1"], hostvars) == [
        'taylordash_address of db1: "10.0.1" is not an IPv4 or IPv6 address']
    assert settings.host_address_errors(["app1", "proxy1"], hostvars) == []


def test_the_backup_identity_file_is_looked_for_on_the_controller(tmp_path):
    key = tmp_path / "key.txt"
    key.write_text("AGE-SECRET-KEY-1...\n")
    assert settings.backup_role_errors("", str(key)) == []
    assert settings.backup_role_errors("", str(tmp_path)) == [
        "backup_identity_file: %s is not a file on the controller" % tmp_path]
    assert settings.backup_role_errors("", None) == []


def load(path):
    with open(os.path.join(ROOT, path), encoding="utf-8") as handle:
        return yaml.safe_load(handle)


@pytest.mark.parametrize("role,variable,expression", [
    ("cleanup", "cleanup_settings_errors", "_cleanup_settings | taylordash.ops.cleanup_errors("),
    ("docker_engine", "docker_engine_settings_errors", "_docker_engine_settings | taylordash.ops.docker_engine_errors("),
    ("backup", "backup_settings_errors", "backup_label | taylordash.ops.backup_role_errors(backup_identity_file)"),
    ("audit", "audit_settings_errors", "audit_fail_on | taylordash.ops.audit_errors(audit_scan_roots)"),
])
def test_the_roles_call_the_pure_checks_with_their_own_variables(role, variable, expression):
    """Each <role>_settings_errors hands its variables by name to one pure function (tested with
    test__settings.py's and test__inputs.py's rows); a `_<role>_settings` mapping names each variable as itself."""
    variables = load("roles/%s/vars/main.yml" % role)
    assert expression in variables[variable]
    defaults = load("roles/%s/defaults/main.yml" % role)
    mapping = variables.get("_%s_settings" % role)
    if mapping is not None:
        for name, value in mapping.items():
            assert value == "{{ %s }}" % name and name in defaults, name


def test_the_first_check_reads_every_hosts_address():
    assert "groups['all'] | taylordash.ops.host_address_errors(hostvars)" in \
        load("roles/taylordash/vars/main.yml")["_taylordash_input_errors"]
