# -*- coding: utf-8 -*-
# Copyright: taylordash-ops developers
# MIT License
"""Action plugin of taylordash.ops.plan_facts (documented in plugins/modules/plan_facts.py)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from collections.abc import Mapping

from ansible.errors import AnsibleActionFail
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.module_utils.common.text.converters import to_native
from ansible.plugins.action import ActionBase

from ansible_collections.taylordash.ops.plugins.module_utils import _inputs


def _plain(value):
    """The value as plain containers: templating returns lazy ones that would render their items again (with
    everything they derive from) at every later read."""
    if isinstance(value, Mapping):
        return dict((key, _plain(item)) for key, item in value.items())
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    return value


class ActionModule(ActionBase):
    """Templates variables in order, each one seeing those before it as plain data (facts), and fails on the
    first check that lists a message; runs on the controller only."""

    TRANSFERS_FILES = False
    _requires_connection = False
    _VALID_ARGS = frozenset(("steps",))

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        steps = self._task.args.get("steps")
        if not isinstance(steps, list) or not steps:
            raise AnsibleActionFail("steps must be a non-empty list of {fact: name} or {check: name}")
        variables = dict(task_vars or {})
        facts = {}
        for step in steps:
            if not isinstance(step, dict) or len(step) != 1 or list(step)[0] not in ("fact", "check", "checks", "arguments"):
                raise AnsibleActionFail("each step is {fact: name}, {check: name}, {checks: [names]} or "
                                        "{arguments: spec}; got %r" % (step,))
            kind, names = list(step.items())[0]
            if kind == "arguments":
                messages = self._arguments(names, variables)
                if messages:
                    result.update(failed=True, msg="; ".join(messages), planned=facts)
                    return result
                continue
            names = names if isinstance(names, list) else [names]
            templar = self._templar.copy_with_new_env(available_variables=variables)
            if kind == "fact":
                for name in names:
                    if name not in variables:
                        raise AnsibleActionFail("plan_facts: no variable %s to plan" % name)
                    facts[name] = variables[name] = _plain(templar.template(variables[name]))
                continue
            messages = []
            for name in names:
                if name not in variables:  # its role is not loaded in this play (see the documentation)
                    continue
                value = _plain(templar.template(variables[name]))
                if not isinstance(value, list):
                    raise AnsibleActionFail("plan_facts: check %s must be a list of messages, got %r" % (name, value))
                messages.extend(to_native(message) for message in value)
            if messages:
                result.update(failed=True, msg="; ".join(messages), planned=facts)
                return result
        result.update(changed=False, planned=facts)
        return result

    def _arguments(self, spec, variables):
        """Messages for the variables an argument spec names that do not render, do not match it, or break
        their option's rule (module_utils/_inputs.py)."""
        if not isinstance(spec, dict):
            raise AnsibleActionFail("arguments must be an argument spec (option name -> its spec)")
        templar = self._templar.copy_with_new_env(available_variables=variables)
        provided, messages = {}, []
        for name in sorted(spec):
            if name not in variables:
                continue
            try:
                provided[name] = _plain(templar.template(variables[name]))
            except Exception as exc:  # any template error: name the variable
                messages.append("%s cannot be rendered: %s" % (name, to_native(exc)))
        if messages:
            return messages
        outcome = ArgumentSpecValidator(spec).validate(provided)
        if outcome.error_messages:
            return ["Validation of arguments failed: %s" % message for message in outcome.error_messages]
        # Then each option's own rule (ranges, durations, paths, names, secrets), on the values as the spec
        # converted them; only the options the spec names and the play has.
        validated = dict((name, outcome.validated_parameters.get(name)) for name in provided)
        return _inputs.option_errors(validated)
