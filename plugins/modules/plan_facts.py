# -*- coding: utf-8 -*-
# Copyright: taylordash-ops developers
# MIT License
"""Documentation of the plan_facts action (plugins/action/plan_facts.py); it runs on the controller only."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: plan_facts
short_description: Check a run's inputs and freeze what is derived from them, in order, in one task
description:
  - Role variables are lazy - every task that reads one renders it again, with all it derives from. This action
    renders the named variables once each, in the order given, each seeing those before it as plain data, and
    returns them (RV(planned)) for one M(ansible.builtin.set_fact) to set - only set_fact's facts take
    precedence over role variables; between them, checks (variables holding lists of messages) fail the task with every
    message of the first check that has any, before anything derived from a broken input is rendered.
  - Runs on the controller; never reports a change.
author: taylordash-ops developers
options:
  steps:
    description:
      - "In order, each one of C(fact: name) or C(fact: [names]) (render, return in RV(planned)), C(check: name) or
        C(checks: [names]) (render; fail with the messages when the list is not empty), or C(arguments: spec) (render
        every variable an argument spec names and check it as a role's argument spec does, naming the variable;
        then each option's own rule of the collection, module_utils/_inputs.py - ranges, durations, paths, names,
        image references, supplied secrets)."
      - A check variable that is not defined is passed over - that phase's role is not loaded in this play yet. The
        playbooks load every phase role in their first play (imported, listed, or an entry point without tasks) or
        check it before the play that runs it.
    type: list
    elements: raw
    required: true
attributes:
  check_mode:
    support: full
    details: It changes nothing.
  diff_mode:
    support: none
  idempotent:
    support: full
"""

EXAMPLES = r"""
- name: Check the catalogue, then render what is derived from it
  taylordash.ops.plan_facts:
    steps:
      - check: _taylordash_input_errors
      - fact: [taylordash_catalogue, taylordash_image_refs]
      - check: _taylordash_catalogue_errors
      - fact: taylordash_catalogue_view
  register: plan

- name: Freeze them
  ansible.builtin.set_fact:
    taylordash_catalogue: "{{ plan.planned.taylordash_catalogue }}"
    taylordash_image_refs: "{{ plan.planned.taylordash_image_refs }}"
    taylordash_catalogue_view: "{{ plan.planned.taylordash_catalogue_view }}"
"""

RETURN = r"""
planned:
  description: Every variable of a C(fact) step, rendered (those rendered before a failed check when it fails).
  returned: always
  type: dict
"""
