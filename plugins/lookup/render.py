# -*- coding: utf-8 -*-
# Copyright: taylordash-ops developers
# MIT License

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
name: render
short_description: Render template files as ansible.builtin.template does, without copying every variable per file
version_added: 0.1.0
description:
  - Takes the terms and options of the P(ansible.builtin.template#lookup) lookup and returns what it returns,
    each template file found in the role's or play's C(templates/) search path, rendered with the task's variables.
  - The builtin lookup deep-copies every variable of the host for each file it renders (ansible-core's own
    FIXME asks why it is not a chain map). With the service catalogue and its plan among the variables, that copy
    cost more than the rendering, about 0.1 s per file, seconds per no-op deploy. This lookup hands the builtin a
    mapping whose deep copy is shallow. Rendering never writes into the variables, and what the builtin adds
    (C(template_path), C(template_mtime), C(ansible_managed), O(template_vars)) goes into that copy only.
author: taylordash-ops developers
options:
  _terms:
    description: Template files, as for ansible.builtin.template.
    required: true
notes:
  - Any option of ansible.builtin.template (O(template_vars), O(variable_start_string), ...) is passed through.
"""

EXAMPLES = r"""
- name: Render two configuration files on the controller
  ansible.builtin.set_fact:
    texts: "{{ query('taylordash.ops.render', 'prometheus.yml.j2', 'alertmanager.yml.j2') }}"
"""

RETURN = r"""
_raw:
  description: The rendered text of each file, in the order of the terms.
  type: list
  elements: str
"""

from ansible.plugins.loader import lookup_loader
from ansible.plugins.lookup import LookupBase


class _ShallowVariables(dict):
    """The task's variables; a deep copy of them is a shallow one (the builtin lookup only adds keys to its copy)."""

    def __deepcopy__(self, memo):
        return dict(self)


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        builtin = lookup_loader.get("template", loader=self._loader, templar=self._templar)
        return builtin.run(terms, variables=_ShallowVariables(variables or {}), **kwargs)
