#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: taylordash-ops developers
# MIT License

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: postgres_version
short_description: The PostgreSQL major version of the data in a volume, and of an image
version_added: 0.5.0
description:
  - Reads C(PG_VERSION) in the volume's data directory (on the engine's host, where the volume lives) and
    C(PG_MAJOR) in the image's environment (the official images and the offline builds set it, else the tag).
  - Returns V(problem) when the data is of another major than the image - the text that stops a deploy before
    the container is replaced.
  - Never changes anything.
author: taylordash-ops developers
options:
  volume:
    description: The volume of the data directory.
    type: str
    required: true
  image:
    description: The image that would run on it.
    type: str
    required: true
  project:
    description: Also list the volumes of this Compose project (its label) that hold PostgreSQL data (the old stack's).
    type: str
attributes:
  check_mode:
    support: full
    details: It only reads (the volume's C(PG_VERSION), the image's environment).
  diff_mode:
    support: none
    details: Nothing is changed, so there is nothing to show.
  idempotent:
    support: full
    details: Always C(changed=false).
"""

EXAMPLES = r"""
- name: Read the major version of the data and of the image
  taylordash.ops.postgres_version:
    volume: taylordash_postgres-data
    image: taylordash/postgres:17
  register: found
"""

RETURN = r"""
volume_exists:
  description: Whether the volume exists.
  returned: always
  type: bool
data_major:
  description: The major version that made the data, or null for a volume that is missing or empty.
  returned: always
  type: int
image_major:
  description: The image's major version (null when the image is not on the host).
  returned: always
  type: int
problem:
  description: Why the image must not run on the data, or an empty string.
  returned: always
  type: str
project_volumes:
  description: The volumes of O(project) holding PostgreSQL data, as V(name) and V(data_major).
  returned: always
  type: list
  elements: dict
"""

import json
import os
import re

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.taylordash.ops.plugins.module_utils import _backup


def _data_major(module, volume):
    """(exists, major of the data or None) of a volume."""
    rc, out, err = module.run_command(["docker", "volume", "inspect", volume])
    if rc != 0:
        return False, None
    path = os.path.join(json.loads(out)[0].get("Mountpoint") or "", "PG_VERSION")
    if not os.path.isfile(path):
        return True, None
    with open(path) as handle:
        return True, _backup.major_version(handle.read())


def main():
    module = AnsibleModule(argument_spec=dict(volume=dict(type="str", required=True),
                                              image=dict(type="str", required=True),
                                              project=dict(type="str")),
                           supports_check_mode=True)
    volume, image = module.params["volume"], module.params["image"]
    exists, data_major = _data_major(module, volume)
    project_volumes = []
    if module.params["project"]:
        rc, out, err = module.run_command(["docker", "volume", "ls", "-q", "--filter",
                                           "label=com.docker.compose.project=%s" % module.params["project"]])
        for name in sorted(out.split()) if rc == 0 else []:
            major = _data_major(module, name)[1]
            if major is not None:
                project_volumes.append({"name": name, "data_major": major})
    image_major = None
    rc, out, err = module.run_command(["docker", "image", "inspect", "--format", "{{json .Config.Env}}", image])
    if rc == 0:
        for line in json.loads(out) or []:
            if line.startswith("PG_MAJOR="):
                image_major = _backup.major_version(line.split("=", 1)[1])
    if image_major is None:
        found = re.search(r":(\d+)(?:[.-][^:/]*)?$", image)
        image_major = int(found.group(1)) if found else None
    problem = ""
    if data_major is not None and image_major is not None:
        problem = _backup.data_version_problem(data_major, image_major, volume, image) or ""
    module.exit_json(changed=False, volume_exists=exists, data_major=data_major, image_major=image_major,
                     problem=problem, project_volumes=project_volumes)


if __name__ == "__main__":
    main()
