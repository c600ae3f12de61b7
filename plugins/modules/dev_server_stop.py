#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: taylordash-ops developers
# MIT License

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: dev_server_stop
short_description: Stop exactly the duplicate dev servers of a project
version_added: 0.1.0
description:
  - Scans C(/proc) the way M(taylordash.ops.dev_server_facts) does, selects instances of O(apps)
    by O(policy) and stops them. Instances that belong to no app are never touched.
  - Each selected instance's root (only if it is still the scanned process, with the same start time)
    and its current descendants get SIGTERM, root first; whatever still runs after O(timeout)
    seconds gets SIGKILL. Single pids only, never a process group, never a pattern match.
  - Fails without signalling anything when the selection holds pid 1, this module's own
    process or one of its ancestors.
author: taylordash-ops developers
options:
  project_root:
    description: Source tree whose dev servers are ours.
    type: path
    required: true
  apps:
    description:
      - App name to a dict with V(path) (directory relative to O(project_root), no V(..)),
        V(port) (planned port, 1-65535) and V(kinds) (list among V(uvicorn), V(gunicorn),
        V(hypercorn), V(vite), V(http.server), V(node)).
    type: dict
    required: true
  policy:
    description:
      - V(duplicates) keeps, per app, the oldest instance listening on its planned port and stops the
        others; an app with no instance on its planned port keeps its oldest instance (with a warning).
      - V(all) stops every instance of every app.
    type: str
    choices: [duplicates, all]
    default: duplicates
  keep_apps:
    description: Apps (keys of O(apps)) whose instances are all kept, whatever O(policy) says.
    type: list
    elements: str
    default: []
  timeout:
    description: Seconds between SIGTERM and SIGKILL.
    type: int
    default: 10
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
  idempotent:
    support: full
"""

EXAMPLES = r"""
- name: Stop the duplicated backends and frontends, keep one of each
  taylordash.ops.dev_server_stop:
    project_root: /opt/taylordash/src
    apps:
      backend:
        path: backend
        port: 8000
        kinds: [uvicorn]
      frontend:
        path: frontend
        port: 5173
        kinds: [vite]
    timeout: 15

- name: Stop every dev server of the tree except the MCP manager
  taylordash.ops.dev_server_stop:
    project_root: /opt/taylordash/src
    apps:
      backend: {path: backend, port: 8000, kinds: [uvicorn]}
      mcp_manager: {path: examples/mcp-manager, port: 8010, kinds: [uvicorn, node]}
    policy: all
    keep_apps: [mcp_manager]
"""

RETURN = r"""
dev_servers:
  description:
    - What the scan found before anything was stopped, as M(taylordash.ops.dev_server_facts) returns it without
      C(instances) - C(ours) (the instances that belong to an app), C(duplicates), C(conflicts) and the rest of
      its analysis.
  returned: success
  type: dict
  sample: {ours: [], duplicates: {}, conflicts: []}
stopped:
  description:
    - One entry per stopped instance (in check mode, per instance that would be stopped).
    - C(signal) is the strongest signal sent (V(SIGTERM) or V(SIGKILL)); null in check mode and
      for an instance that had exited by itself. C(descendants) are the pids signalled besides the root.
      C(ports_freed) are the instance's ports no stopped process listens on any more (in check mode,
      the ports that would be freed). C(survivors) are pids that even SIGKILL did not end.
  returned: always
  type: list
  elements: dict
  sample:
    - {pid: 5120, app: backend, ports: [8001], descendants: [5131], signal: SIGTERM, ports_freed: [8001], survivors: []}
kept:
  description: The instances of O(apps) left running.
  returned: always
  type: list
  elements: dict
  sample:
    - {pid: 4242, app: backend, ports: [8000]}
ports_freed:
  description: Sorted ports freed by all stopped instances (would be freed, in check mode).
  returned: always
  type: list
  elements: int
  sample: [8001, 8002]
"""

import os

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.taylordash.ops.plugins.module_utils._devservers import (
    StopRefused,
    analyse,
    check_stoppable,
    scan,
    select,
    stop,
    validate_apps,
)


def _listing(instances):
    return "".join(
        "%s %d %s\n" % (inst["app"], inst["pid"], ",".join(str(port) for port in inst["ports"]))
        for inst in sorted(instances, key=lambda i: (i["app"], i["pid"]))
    )


def main():
    module = AnsibleModule(
        argument_spec=dict(
            project_root=dict(type="path", required=True),
            apps=dict(type="dict", required=True),
            policy=dict(type="str", choices=["duplicates", "all"], default="duplicates"),
            keep_apps=dict(type="list", elements="str", default=[]),
            timeout=dict(type="int", default=10),
        ),
        supports_check_mode=True,
    )
    params = module.params
    try:
        apps = validate_apps(params["apps"])
    except ValueError as exc:
        module.fail_json(msg=str(exc))
    unknown = sorted(set(params["keep_apps"]) - set(apps))
    if unknown:
        module.fail_json(msg="keep_apps: %s not among apps" % ", ".join(unknown))
    if params["timeout"] < 0:
        module.fail_json(msg="timeout: must be >= 0, got %d" % params["timeout"])

    try:
        instances = scan(os.path.realpath(params["project_root"]), apps)
        found = dict(ours=[inst for inst in instances if inst["app"] is not None], **analyse(instances, apps))
        to_stop, to_keep = select(instances, apps, params["policy"], params["keep_apps"])
        check_stoppable(to_stop, os.getpid())
        if module.check_mode:
            stopped = [dict(pid=inst["pid"], app=inst["app"], ports=inst["ports"], descendants=inst["descendants"],
                            signal=None, ports_freed=inst["ports"], survivors=[]) for inst in to_stop]
        else:
            stopped = stop(to_stop, params["timeout"], os.getpid())
    except StopRefused as exc:
        module.fail_json(msg=str(exc))
    except (OSError, ValueError) as exc:
        module.fail_json(msg="cannot stop dev servers: %s" % exc)

    for inst in to_keep:
        if apps[inst["app"]]["port"] not in inst["ports"]:
            module.warn("%s: kept pid %d listens on %s, not on its planned port %d"
                        % (inst["app"], inst["pid"], inst["ports"], apps[inst["app"]]["port"]))
    result = dict(
        changed=bool(to_stop) if module.check_mode else any(item["signal"] for item in stopped),
        stopped=stopped,
        kept=[dict(pid=inst["pid"], app=inst["app"], ports=inst["ports"]) for inst in to_keep],
        ports_freed=sorted(set(port for item in stopped for port in item["ports_freed"])),
        dev_servers=found,
    )
    survivors = sorted(pid for item in stopped for pid in item["survivors"])
    if survivors:
        module.fail_json(msg="pids %s survived SIGKILL" % survivors, **result)
    if result["changed"] and module._diff:
        ours = to_stop + to_keep
        gone = set(inst["pid"] for inst in to_stop)
        result["diff"] = dict(before=_listing(ours), after=_listing(i for i in ours if i["pid"] not in gone))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
