#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: taylordash-ops developers
# MIT License

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: audit_report
short_description: Write the infrastructure audit report (JSON, Markdown, HTML) from the hosts' audit facts
version_added: 0.1.0
description:
  - Decides the findings of each host from its facts (the C(audit_facts) action's C(audit)) and its plan (the
    C(audit_plan) filter's), builds the C(taylordash.audit/1) report, compares it with O(previous) when given,
    and writes it under O(dest) as C(inventory.json), C(inventory.md) and C(inventory.html) (every host) and
    C(hosts/<host>.json), C(.md) and C(.html), with mode O(mode).
  - The report is this run's output, not state; it is written in check mode too and the module never reports a
    change (audit.yml changes nothing on any host). Run it on the controller.
  - With O(validate_only) it only checks O(previous) and writes nothing.
author: taylordash-ops developers
options:
  facts:
    description: Host name to its audit facts (schema C(taylordash.audit.facts/1)).
    type: dict
    default: {}
  plans:
    description: Host name to its plan (the C(taylordash.ops.audit_plan) filter's).
    type: dict
    default: {}
  dest:
    description: The directory the reports are written to (created with mode 0750).
    type: path
  previous:
    description: A JSON report of an earlier run to compare with; empty for none.
    type: str
    default: ""
  fail_on:
    description: The severity at or above which findings are returned in RV(failing) (V(none) for never).
    type: str
    default: none
    choices: [none, info, warning, critical]
  validate_only:
    description: Only check O(previous); write nothing.
    type: bool
    default: false
  mode:
    description: The mode of the report files.
    type: str
    default: "0640"
attributes:
  check_mode:
    support: full
    details: The report is written in check mode too (it changes nothing on any host).
  diff_mode:
    support: none
  idempotent:
    support: full
    details: Never reports a change.
"""

EXAMPLES = r"""
- name: Write the reports on the controller
  taylordash.ops.audit_report:
    facts: "{{ dict(ansible_play_hosts | zip(ansible_play_hosts | map('extract', hostvars, ['audit_gathered', 'audit']))) }}"
    plans: "{{ dict(ansible_play_hosts | zip(ansible_play_hosts | map('extract', hostvars, ['audit_plan']))) }}"
    dest: ./reports/audit
    previous: ./reports/audit-before/inventory.json
    fail_on: critical
  run_once: true
  delegate_to: localhost
"""

RETURN = r"""
paths:
  description: Where the reports are - json, markdown, html (the whole run) and hosts (each host's).
  returned: unless validate_only
  type: dict
summary:
  description: Hosts and findings by severity, for the whole run.
  returned: unless validate_only
  type: dict
failing:
  description: The findings at or above O(fail_on) - host, id, severity, title.
  returned: unless validate_only
  type: list
  elements: dict
comparison:
  description: With O(previous) - what appeared and what disappeared since (host, id, severity, title).
  returned: unless validate_only
  type: dict
lines:
  description: What the report says, in a few lines for the terminal.
  returned: unless validate_only
  type: list
  elements: str
"""

import datetime
import json
import os

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_native

from ansible_collections.taylordash.ops.plugins.module_utils import _audit, _audit_render


def read_previous(module, path):
    """The earlier report, or a failure naming audit_previous_report."""
    try:
        with open(path) as handle:
            previous = json.load(handle)
    except (IOError, OSError) as exc:
        module.fail_json(msg="audit_previous_report: %s cannot be read: %s" % (path, to_native(exc)))
    except ValueError as exc:
        module.fail_json(msg="audit_previous_report: %s is not JSON: %s" % (path, to_native(exc)))
    problems = _audit.report_errors(previous)
    if problems:
        module.fail_json(msg="audit_previous_report: %s is not a %s report: %s"
                         % (path, _audit.SCHEMA, "; ".join(problems)))
    return previous


def write(path, text, mode):
    """Write text to path atomically with mode."""
    partial = path + ".partial"
    with open(partial, "w") as handle:
        handle.write(text)
    os.chmod(partial, mode)
    os.rename(partial, path)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            facts=dict(type="dict", default={}),
            plans=dict(type="dict", default={}),
            dest=dict(type="path"),
            previous=dict(type="str", default=""),
            fail_on=dict(type="str", default="none", choices=["none"] + list(_audit.SEVERITIES)),
            validate_only=dict(type="bool", default=False),
            mode=dict(type="str", default="0640"),
        ),
        required_if=[("validate_only", False, ("dest",))],
        supports_check_mode=True,
    )
    p = module.params
    previous = read_previous(module, os.path.expanduser(p["previous"])) if p["previous"] else None
    if p["validate_only"]:
        module.exit_json(changed=False)
    try:
        mode = int(p["mode"], 8)
    except ValueError:
        module.fail_json(msg="mode must be octal, not %r" % p["mode"])
    missing = sorted(set(p["facts"]) ^ set(p["plans"]))
    if missing:
        module.fail_json(msg="facts and plans must name the same hosts; only one names %s" % ", ".join(missing))

    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    report = _audit.report(p["facts"], p["plans"], now, previous=previous)
    dest = p["dest"]
    hosts_dir = os.path.join(dest, "hosts")
    paths = {"json": os.path.join(dest, "inventory.json"), "markdown": os.path.join(dest, "inventory.md"),
             "html": os.path.join(dest, "inventory.html"), "hosts": {}}
    try:
        for directory in (dest, hosts_dir):
            if not os.path.isdir(directory):
                os.makedirs(directory, 0o750)
        write(paths["json"], json.dumps(report, indent=2, sort_keys=True) + "\n", mode)
        write(paths["markdown"], _audit_render.markdown(report), mode)
        write(paths["html"], _audit_render.html(report), mode)
        for host in sorted(report["hosts"]):
            one = _audit.host_report(report, host)
            base = os.path.join(hosts_dir, host)
            paths["hosts"][host] = {"json": base + ".json", "markdown": base + ".md", "html": base + ".html"}
            write(base + ".json", json.dumps(one, indent=2, sort_keys=True) + "\n", mode)
            write(base + ".md", _audit_render.markdown(one, host=host), mode)
            write(base + ".html", _audit_render.html(one), mode)
    except (IOError, OSError) as exc:
        module.fail_json(msg="audit_report_dir: cannot write the report under %s: %s" % (dest, to_native(exc)))

    failing = [] if p["fail_on"] == "none" else [
        {"host": f.get("host"), "id": f["id"], "severity": f["severity"], "title": f["title"]}
        for f in _audit.gate(report, p["fail_on"])]
    summary = report["summary"]
    lines = ["%d host(s): %d critical, %d warning, %d info finding(s)"
             % (summary["hosts"], summary["critical"], summary["warning"], summary["info"])]
    for host in sorted(report["hosts"]):
        counts = report["hosts"][host]["summary"]
        lines.append("%s: %d critical, %d warning, %d info" % (host, counts["critical"], counts["warning"],
                                                               counts["info"]))
    comparison = report.get("comparison") or {}
    if comparison:
        lines.append("since %s: %d appeared, %d disappeared" % (
            comparison.get("previous_generated_at"), len(comparison.get("appeared", [])),
            len(comparison.get("disappeared", []))))
    lines.append("report: %s (also %s, %s; per host under %s)" % (paths["markdown"], paths["html"], paths["json"],
                                                                   hosts_dir))
    module.exit_json(changed=False, paths=paths, summary=summary, failing=failing, comparison=comparison,
                     lines=lines)


if __name__ == "__main__":
    main()
