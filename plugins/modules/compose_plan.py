#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: taylordash-ops developers
# MIT License

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: compose_plan
short_description: What C(docker compose up) would do to each service of a project, and why
version_added: 0.2.0
description:
  - Compares what Compose itself compares - each service's configuration hash (C(docker compose config --hash))
    and the ID of its image, and the networks each container should be on - with the project's containers, and
    returns one row per service - V(create),
    V(recreate), V(start), V(wait) (running, its healthcheck not passed yet), V(remove) (an orphan) or
    V(none) - with why.
  - Five reads (the configuration, its hashes, the containers and their details, the images); never changes
    anything, so the
    same plan comes back in check mode.
author: taylordash-ops developers
options:
  project_dir:
    description: The project's directory (C(docker compose --project-directory)).
    type: path
    required: true
  files:
    description: The project's Compose files, in order.
    type: list
    elements: path
    required: true
  project_name:
    description: The Compose project's name (its containers carry it as a label).
    type: str
    required: true
  services:
    description:
      - Plan only these services (and the orphan containers); the others are another phase's (the app's, which
        M(taylordash.ops.compose_rollout) replaces start-first). Unset, every service of the files.
    type: list
    elements: str
attributes:
  check_mode:
    support: full
    details: Reads the same in check mode.
  diff_mode:
    support: full
    details: With C(--diff), the services that would change are printed, one line each with why.
  idempotent:
    support: full
    details: Always C(changed=false).
"""

EXAMPLES = r"""
- name: Plan the project
  taylordash.ops.compose_plan:
    project_dir: /opt/taylordash
    files: [/opt/taylordash/docker-compose.yml]
    project_name: taylordash
  register: plan
"""

RETURN = r"""
files:
  description: The compose files planned, as given (a later role may reuse the plan of the same files).
  returned: always
  type: list
  elements: str
services:
  description: One row per service and orphan container, V(service), V(action), V(why).
  returned: always
  type: list
  elements: dict
  sample: [{service: postgres, action: none, why: as wanted}, {service: backend, action: recreate,
            why: image taylordash/backend:abc was rebuilt}]
changes:
  description: The rows whose action is not V(none); empty when C(up) has nothing to do.
  returned: always
  type: list
  elements: dict
started:
  description: When each service's container last started (State.StartedAt, the fraction padded to
    nanoseconds so that the strings compare as times); services without a container are left out.
  returned: always
  type: dict
  sample: {postgres: "2026-12-01T10:00:00.500000000Z", backend: "2026-12-01T10:00:03.120000000Z"}
"""

import json

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.taylordash.ops.plugins.module_utils import _compose


def _run(module, argv, what):
    rc, out, err = module.run_command(argv)
    if rc != 0:
        module.fail_json(msg="%s failed: %s" % (what, (err or out).strip()[-500:]), cmd=argv)
    return out


def main():
    module = AnsibleModule(
        argument_spec=dict(
            project_dir=dict(type="path", required=True),
            files=dict(type="list", elements="path", required=True),
            project_name=dict(type="str", required=True),
            services=dict(type="list", elements="str"),
        ),
        supports_check_mode=True,
    )
    params = module.params
    compose = ["docker", "compose", "--project-directory", params["project_dir"], "--project-name",
               params["project_name"]]
    for path in params["files"]:
        compose += ["-f", path]
    images, networks = _compose.parse_config(_run(module, compose + ["config", "--format", "json"],
                                                  "docker compose config"))
    hashes = _compose.parse_hashes(_run(module, compose + ["config", "--hash", "*"],
                                        "docker compose config --hash").splitlines())
    ids = _run(module, ["docker", "ps", "--all", "--quiet", "--no-trunc", "--filter",
                        "label=%s=%s" % (_compose.PROJECT, params["project_name"])], "docker ps").split()
    containers = json.loads(_run(module, ["docker", "inspect"] + ids, "docker inspect")) if ids else []
    refs = sorted(set(_compose.engine_name(ref) for ref in images.values() if ref))
    image_ids = _compose.parse_image_ids(module.run_command(_compose.image_inspect_argv(refs))[1]) if refs else {}
    rows = _compose.service_plan(hashes, images, image_ids, containers, networks)
    if params["services"] is not None:
        rows = [row for row in rows if row["service"] in params["services"] or row["action"] == "remove"]
    todo = _compose.changes(rows)
    result = dict(changed=False, services=rows, changes=todo, started=_compose.started(containers),
                  files=params["files"])
    if module._diff and todo:
        result["diff"] = {"prepared": "".join("%s: %s (%s)\n" % (row["service"], row["action"], row["why"])
                                              for row in todo)}
    module.exit_json(**result)


if __name__ == "__main__":
    main()
