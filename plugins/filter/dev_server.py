# -*- coding: utf-8 -*-
# Copyright: taylordash-ops developers
# MIT License

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
name: dev_server_line
short_description: One readable line for a dev-server instance
version_added: 0.1.0
description:
  - Formats an instance returned by M(taylordash.ops.dev_server_facts) or
    M(taylordash.ops.dev_server_stop) as C(app pid=N ports=[...] kind), for reports.
positional: _input
options:
  _input:
    description: An instance dictionary.
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: Report the stopped servers
  ansible.builtin.debug:
    msg: "{{ result.stopped | map('taylordash.ops.dev_server_line') | list }}"
"""

RETURN = r"""
_value:
  description: The line.
  type: str
"""


def dev_server_line(instance):
    """'frontend pid=123 ports=[5176] vite' from an instance dictionary."""
    ports = instance.get("ports") or sorted({item["port"] for item in instance.get("listen", [])})
    parts = [
        str(instance.get("app") or "-"),
        "pid=%s" % instance.get("pid"),
        "ports=%s" % list(ports),
    ]
    if instance.get("kind"):
        parts.append(str(instance["kind"]))
    if instance.get("signal"):
        parts.append("signal=%s" % instance["signal"])
    return " ".join(parts)


class FilterModule(object):
    def filters(self):
        return {"dev_server_line": dev_server_line}
