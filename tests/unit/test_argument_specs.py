"""Every role's defaults are declared in its meta/argument_specs.yml (the public interface), and each
spec parses; a default nobody documented, or a spec Ansible cannot read, fails here in seconds."""

import os

import pytest

from roles import ROOT, load

ROLES = sorted(name for name in os.listdir(os.path.join(ROOT, "roles"))
               if os.path.isfile(os.path.join(ROOT, "roles", name, "defaults", "main.yml")))


@pytest.mark.parametrize("role", ROLES)
def test_every_default_is_declared_in_an_entry_point(role):
    defaults = load("roles/%s/defaults/main.yml" % role) or {}
    entry_points = load("roles/%s/meta/argument_specs.yml" % role)["argument_specs"]
    spec = {}
    for entry in entry_points.values():
        spec.update(entry.get("options") or {})
    assert sorted(set(defaults) - set(spec)) == []
    for name, option in spec.items():
        assert option.get("description"), "%s: %s has no description" % (role, name)
        assert option.get("type"), "%s: %s has no type" % (role, name)
