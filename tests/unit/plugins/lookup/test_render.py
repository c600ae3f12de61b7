# -*- coding: utf-8 -*-
"""plugins/lookup/render.py: what ansible.builtin.template renders, from one shallow copy of the variables."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy

from ansible.parsing.dataloader import DataLoader
from ansible.plugins.loader import lookup_loader
from ansible.template import Templar

from ansible_collections.taylordash.ops.plugins.lookup import render

def _templar():
    loader = DataLoader()
    return {"loader": loader, "templar": Templar(loader=loader)}

def test_renders_each_file_as_the_builtin_does_and_leaves_the_variables_alone(tmp_path):
    (tmp_path / "a.j2").write_text("{{ service.ports | join(',') }} {{ template_path | basename }}\n")
    (tmp_path / "b.j2").write_text("{% set service = {'ports': []} %}n={{ service.ports | length }}\n")
    variables = {"service": {"ports": [5432, 9187]}, "ansible_search_path": [str(tmp_path)]}
    before = copy.deepcopy(variables)
    terms = [str(tmp_path / "a.j2"), str(tmp_path / "b.j2")]
    ours = render.LookupModule(**_templar()).run(terms, variables=variables)
    builtin = lookup_loader.get("template", **_templar()).run(terms, variables=variables)
    assert ours == builtin == ["5432,9187 a.j2\n", "n=0\n"]
    assert variables == before

def test_the_copy_the_builtin_takes_is_shallow():
    nested = {"catalogue": {"postgres": {"ports": [5432]}}}
    copied = copy.deepcopy(render._ShallowVariables(nested))
    assert copied == nested and copied["catalogue"] is nested["catalogue"]
    copied["template_path"] = "x"
    assert "template_path" not in nested
