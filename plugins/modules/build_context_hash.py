#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: taylordash-ops developers
# MIT License

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: build_context_hash
short_description: Content hash of a Docker build's inputs
version_added: 0.1.0
description:
  - Computes one sha256 digest over every file of a build context (relative path,
    executable bit, symlink target, content), the Dockerfile, the build arguments
    the labels set at build time and the IDs of the base images.
  - Store it in an image label and compare on the next run to rebuild only when an
    input changed. Timestamps, owners and the context's own path do not count.
  - Reads only; never changes anything.
author: taylordash-ops developers
options:
  path:
    description: Build context directory.
    type: path
    required: true
  dockerfile:
    description: Dockerfile, if it is not inside O(path) (a Dockerfile inside the context is hashed with it).
    type: path
  build_args:
    description: Build arguments passed to the build.
    type: dict
    default: {}
  base_image_ids:
    description: IDs of the images the Dockerfile builds FROM, in stage order.
    type: list
    elements: str
    default: []
  labels:
    description: Labels the build sets (other than the hash label itself).
    type: dict
    default: {}
  missing_ok:
    description:
      - Return RV(hash=null) instead of failing when O(path) does not exist
        (useful in check mode, before the context has been rendered).
    type: bool
    default: false
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  idempotent:
    support: full
"""

EXAMPLES = r"""
- name: Hash the inputs of the PostgreSQL image
  taylordash.ops.build_context_hash:
    path: /opt/taylordash/build/images/postgres
    build_args:
      PG_MAJOR: "17"
    base_image_ids:
      - "{{ base_info.images[0].Id }}"
  register: postgres_inputs
"""

RETURN = r"""
hash:
  description: sha256 hex digest of all inputs; null when the context is missing and O(missing_ok=true).
  returned: always
  type: str
  sample: 3f7a0e0f6f0c5f1e9d2d3c4b5a69788796a5b4c3d2e1f00112233445566778899
entries:
  description: Number of files, directories and symlinks hashed.
  returned: always
  type: int
  sample: 4
"""

import os

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.taylordash.ops.plugins.module_utils._context_hash import context_hash


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path", required=True),
            dockerfile=dict(type="path"),
            build_args=dict(type="dict", default={}),
            base_image_ids=dict(type="list", elements="str", default=[]),
            labels=dict(type="dict", default={}),
            missing_ok=dict(type="bool", default=False),
        ),
        supports_check_mode=True,
    )
    params = module.params
    if not os.path.isdir(params["path"]):
        if params["missing_ok"]:
            module.exit_json(changed=False, hash=None, entries=0)
        module.fail_json(msg="path: build context %s is not a directory" % params["path"])
    if params["dockerfile"] and not os.path.isfile(params["dockerfile"]):
        module.fail_json(msg="dockerfile: %s is not a file" % params["dockerfile"])
    try:
        digest, entries = context_hash(
            params["path"], params["dockerfile"], params["build_args"], params["base_image_ids"], params["labels"]
        )
    except (OSError, ValueError) as exc:
        module.fail_json(msg="cannot hash build context %s: %s" % (params["path"], exc))
    module.exit_json(changed=False, hash=digest, entries=entries)


if __name__ == "__main__":
    main()
