#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: taylordash-ops developers
# MIT License

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: build_plan
short_description: Which app images must be built, from their inputs hashed on the controller, in one call
version_added: 0.3.0
description:
  - For each build context, completes the content hash of its inputs (the entries the controller computed
    from the source tree and the rendered build files, the files that live on this host such as a CA
    bundle, the labels and the IDs of the base images on this engine) and says whether the engine has the
    image of that hash already.
  - The hash equals the one M(taylordash.ops.build_context_hash) computes over the context once it is
    written, so an image is built only when an input changed, and no context is written otherwise.
  - One C(docker image ls) answers for every context (a base image pinned by digest is looked up with
    C(docker image inspect)). Reads only; never changes anything.
  - With C(--diff), shows how the build files of each image to build differ from the last build's.
author: taylordash-ops developers
options:
  contexts:
    description: The build contexts.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: The context's name (an app).
        type: str
        required: true
      repository:
        description: Repository of its image; the tag is the first 12 hex digits of the hash.
        type: str
        required: true
      entries:
        description: Entries C([path, kind, detail]) of the source tree, read on the controller.
        type: list
        elements: list
        required: true
      texts:
        description: Context path -> text of a build file rendered on the controller (written with mode 0644).
        type: dict
        default: {}
      path:
        description:
          - The context's directory on this host. With C(--diff), each build file of an image to build is
            compared with the one the last build wrote there.
        type: path
      files:
        description: Context path -> path on this host of a file copied into the context with mode 0644.
        type: dict
        default: {}
      base_images:
        description: References of the images its Dockerfile builds FROM, in stage order.
        type: list
        elements: str
        default: []
      labels:
        description: Labels the build sets (other than the hash label).
        type: dict
        default: {}
  missing_ok:
    description: Plan a missing base image as unbuilt (RV(images.hash=null)) instead of failing, for check mode.
    type: bool
    default: false
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
  idempotent:
    support: full
    details: Always C(changed=false).
"""

EXAMPLES = r"""
- name: Plan the app images
  taylordash.ops.build_plan:
    contexts:
      - name: backend
        repository: taylordash/backend
        entries: [[src, d, ""], [src/main.py, f, "-3f7a0e0f6f0c5f1e9d2d3c4b5a69788796a5b4c3d2e1f00112233445566778899"]]
        texts:
          Dockerfile: "{{ lookup('ansible.builtin.template', 'backend/Dockerfile.j2') }}"
        path: /opt/taylordash/build/app/backend
        base_images: [taylordash/python:3.13, taylordash/python:3.13]
  register: plan
"""

RETURN = r"""
images:
  description:
    - Per context, RV(images.hash), RV(images.tag), RV(images.ref), RV(images.exists), RV(images.current) (whether
      C(<repository>:current) names that image already) and the missing base images.
  returned: always
  type: dict
  sample:
    backend:
      hash: 3f7a0e0f6f0c5f1e9d2d3c4b5a69788796a5b4c3d2e1f00112233445566778899
      tag: 3f7a0e0f6f0c
      ref: taylordash/backend:3f7a0e0f6f0c
      exists: true
      current: true
      missing_base_images: []
"""

import os

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.taylordash.ops.plugins.module_utils import _compose, _files
from ansible_collections.taylordash.ops.plugins.module_utils._context_hash import build_hash, file_digest, file_entry
from ansible_collections.taylordash.ops.plugins.module_utils._context_hash import text_entry


def _text_diffs(context):
    """Diffs of the build files against the ones the last build wrote into the context on this host."""
    diffs = []
    for rel, text in sorted(context["texts"].items()):
        path = "%s/%s" % (context["path"], rel)
        before = _files.old_text(path)
        if before != text:
            diffs.append({"before": before, "after": text, "before_header": path, "after_header": path})
    return diffs


def main():
    module = AnsibleModule(
        argument_spec=dict(
            contexts=dict(type="list", elements="dict", required=True, options=dict(
                name=dict(type="str", required=True),
                repository=dict(type="str", required=True),
                entries=dict(type="list", elements="list", required=True),
                texts=dict(type="dict", default={}),
                path=dict(type="path"),
                files=dict(type="dict", default={}),
                base_images=dict(type="list", elements="str", default=[]),
                labels=dict(type="dict", default={}),
            )),
            missing_ok=dict(type="bool", default=False),
        ),
        supports_check_mode=True,
    )
    docker = module.get_bin_path("docker", required=True)
    rc, out, err = module.run_command([docker, "image", "ls", "--no-trunc", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}"])
    if rc != 0:
        module.fail_json(msg="docker image ls failed: %s" % (err or out).strip()[-500:])
    ids = {}
    for line in out.splitlines():
        ref, _sep, image_id = line.strip().rpartition(" ")
        if ref and not ref.endswith(":<none>"):
            ids[ref] = image_id
    # References the listing cannot name (pinned by digest): the engine's own answer.
    unnamed = sorted(set(ref for context in module.params["contexts"] for ref in context["base_images"]
                         if _compose.engine_name(ref) not in ids))
    for ref in unnamed:
        rc, out, err = module.run_command([docker, "image", "inspect", "--format", "{{.Id}}", ref])
        if rc == 0 and out.strip():
            ids[_compose.engine_name(ref)] = out.strip()
    images = {}
    diffs = []
    for context in module.params["contexts"]:
        bases = list(dict.fromkeys(context["base_images"]))
        base_ids = [ids.get(_compose.engine_name(ref)) for ref in bases]
        missing = [ref for ref, image_id in zip(bases, base_ids) if image_id is None]
        plan = dict(hash=None, tag="unbuilt", ref="%s:unbuilt" % context["repository"], exists=False,
                    current=False, missing_base_images=missing)
        images[context["name"]] = plan
        if missing:
            if module.params["missing_ok"]:
                continue
            module.fail_json(msg="base_images of %s: missing on this host: %s (the images role builds them)"
                             % (context["name"], ", ".join(missing)), images=images)
        entries = [tuple(entry) for entry in context["entries"]]
        entries += [text_entry(rel, text) for rel, text in context["texts"].items()]
        for rel, path in sorted(context["files"].items()):
            if not os.path.isfile(path):
                module.fail_json(msg="files of %s: %s is not a file on this host" % (context["name"], path))
            entries.append(file_entry(rel, False, file_digest(path)))
        digest = build_hash(sorted(entries), None, None, base_ids, context["labels"])
        ref = "%s:%s" % (context["repository"], digest[:12])
        image_id = ids.get(_compose.engine_name(ref))
        plan.update(hash=digest, tag=digest[:12], ref=ref, exists=image_id is not None,
                    current=image_id is not None
                    and ids.get(_compose.engine_name("%s:current" % context["repository"])) == image_id)
        if module._diff and context["path"] and not plan["exists"]:
            diffs += _text_diffs(context)
    result = dict(changed=False, images=images)
    if diffs:
        result["diff"] = diffs
    module.exit_json(**result)


if __name__ == "__main__":
    main()
