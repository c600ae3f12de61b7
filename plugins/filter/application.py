# -*- coding: utf-8 -*-
# Copyright: taylordash-ops developers
# MIT License
"""Filters of the application role: the .env values dev servers need, port plan entries."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError
from ansible_collections.taylordash.ops.plugins.module_utils._envfile import EnvFileError, parse_env


def dotenv(text):
    """NAME -> value of a .env text (the env_file module's format); errors name the line, never a value."""
    try:
        return parse_env(text)
    except EnvFileError as exc:
        raise AnsibleFilterError(str(exc))


def port_of(entry):
    """The port number of a taylordash_port_plan entry (a number or a dict with `port`)."""
    return int(entry["port"] if isinstance(entry, dict) else entry)


class FilterModule(object):
    def filters(self):
        return {"dotenv": dotenv, "port_of": port_of}
