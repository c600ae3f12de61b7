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
  base_images:
    description:
      - References of the images the Dockerfile builds FROM, in stage order; their IDs are read from the
        engine and hashed after O(base_image_ids). A missing one fails the
        module, naming it, unless O(missing_ok=true) (then RV(hash) is null).
    type: list
    elements: str
    default: []
  repository:
    description:
      - Repository of the image these inputs build. When set, the module also returns RV(tag) (the first
        12 hex digits of RV(hash)), RV(ref) (C(repository:tag)) and RV(exists), whether the engine has that
        image already, so a build runs only when it does not.
    type: str
  missing_ok:
    description:
      - Return RV(hash=null) instead of failing when O(path) does not exist or a base image is missing
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
tag:
  description: First 12 hex digits of RV(hash) (C(unbuilt) when RV(hash) is null).
  returned: when O(repository) is set
  type: str
  sample: 3f7a0e0f6f0c
ref:
  description: O(repository) and RV(tag).
  returned: when O(repository) is set
  type: str
  sample: taylordash/backend:3f7a0e0f6f0c
exists:
  description: Whether the engine has RV(ref).
  returned: when O(repository) is set
  type: bool
  sample: true
missing_base_images:
  description: The O(base_images) the engine does not have.
  returned: always
  type: list
  elements: str
  sample: []
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


def _image_ids(module, refs):
    """The engine's ID of each reference (None for a missing one)."""
    if not refs:
        return []
    docker = module.get_bin_path("docker", required=True)
    ids = []
    for ref in refs:
        rc, out, err = module.run_command([docker, "image", "inspect", "--format", "{{.Id}}", ref])
        ids.append(out.strip() if rc == 0 and out.strip() else None)
    return ids


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path", required=True),
            dockerfile=dict(type="path"),
            build_args=dict(type="dict", default={}),
            base_image_ids=dict(type="list", elements="str", default=[]),
            base_images=dict(type="list", elements="str", default=[]),
            repository=dict(type="str"),
            labels=dict(type="dict", default={}),
            missing_ok=dict(type="bool", default=False),
        ),
        supports_check_mode=True,
    )
    params = module.params
    bases = list(dict.fromkeys(params["base_images"]))
    base_ids = _image_ids(module, bases)
    missing = [ref for ref, image_id in zip(bases, base_ids) if image_id is None]
    result = dict(changed=False, hash=None, entries=0, missing_base_images=missing)
    if params["repository"]:
        result.update(tag="unbuilt", ref="%s:unbuilt" % params["repository"], exists=False)
    if missing and not params["missing_ok"]:
        module.fail_json(msg="base_images: missing on this host: %s (the images role builds or pulls them)"
                         % ", ".join(missing), **result)
    if not os.path.isdir(params["path"]):
        if params["missing_ok"]:
            module.exit_json(**result)
        module.fail_json(msg="path: build context %s is not a directory" % params["path"])
    if params["dockerfile"] and not os.path.isfile(params["dockerfile"]):
        module.fail_json(msg="dockerfile: %s is not a file" % params["dockerfile"])
    if missing:
        module.exit_json(**result)
    try:
        digest, entries = context_hash(
            params["path"], params["dockerfile"], params["build_args"],
            list(params["base_image_ids"]) + base_ids, params["labels"]
        )
    except (OSError, ValueError) as exc:
        module.fail_json(msg="cannot hash build context %s: %s" % (params["path"], exc))
    result.update(hash=digest, entries=entries)
    if params["repository"]:
        tag = digest[:12]
        ref = "%s:%s" % (params["repository"], tag)
        result.update(tag=tag, ref=ref, exists=_image_ids(module, [ref]) != [None])
    module.exit_json(**result)


if __name__ == "__main__":
    main()
