# -*- coding: utf-8 -*-
# Copyright: taylordash-ops developers
# MIT License
"""Filters of the images role: which images are stale (main.yml), which images a
host lacks (ship.yml) and which app images it keeps (keep.yml)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import re

from ansible.errors import AnsibleFilterError
from ansible_collections.taylordash.ops.plugins.module_utils._context_hash import build_hash, dir_entry, file_entry
from ansible_collections.taylordash.ops.plugins.module_utils import _compose

_TAGGED = re.compile(r":[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}\Z")


def image_ref_name(ref):
    """A reference as the engine lists it in RepoTags: docker.io/ and docker.io/library/ dropped."""
    return _compose.repo_tags_name(ref)


def _ids_by_tag(images):
    ids = {}
    for image in images or []:
        for tag in image.get("RepoTags") or []:
            ids[tag] = image.get("Id")
    return ids


def image_ship_plan(refs, build_images, target_images):
    """Compare the images of `refs` on the build host (docker_image_info's `images`) with the
    target's. Returns `ship` (refs whose ID differs or is absent on the target, in the given
    order), `ids` (ref -> build host ID), `missing` (refs the build host lacks), `untagged`
    (refs without a tag, or with a digest: neither can be exported by name) and `archive`
    (a name for one archive of the images to ship: a hash of their sorted IDs)."""
    if not isinstance(refs, (list, tuple)):
        raise AnsibleFilterError("image_ship_plan: refs must be a list, not %r" % (refs,))
    built, present = _ids_by_tag(build_images), _ids_by_tag(target_images)
    plan = {"ship": [], "ids": {}, "missing": [], "untagged": []}
    for ref in refs:
        name = image_ref_name(ref)
        if "@" in name or not _TAGGED.search(name.rsplit("/", 1)[-1]):
            plan["untagged"].append(ref)
            continue
        if name not in built:
            plan["missing"].append(ref)
            continue
        plan["ids"][ref] = built[name]
        if present.get(name) != built[name] and ref not in plan["ship"]:
            plan["ship"].append(ref)
    ids = sorted(set(plan["ids"][ref] for ref in plan["ship"]) | set(image_ref_name(ref) for ref in plan["ship"]))
    plan["archive"] = "images-%s.tar" % hashlib.sha256("\n".join(ids).encode("utf-8")).hexdigest()[:24]
    return plan


_EXECUTABLE = re.compile(r"\.sh(\.j2)?$")


def build_file_mode(path):
    """Mode of a rendered build file: shell scripts are executable, the rest is not."""
    return "0755" if _EXECUTABLE.search(str(path)) else "0644"


def rendered_by_image(files, contents, tree, names):
    """The shape image_build_plan takes, from one render of every build's templates: `files` are the
    template files (community.general.filetree entries under the role's templates/, path `<name>/...`),
    `contents` their rendered texts in the same order, `tree` every entry (for the directories) and
    `names` the builds. Returns name -> paths (relative to the build's directory), contents and dirs."""
    files, contents = list(files or []), list(contents or [])
    if len(files) != len(contents):
        raise AnsibleFilterError("rendered_by_image: %d files but %d contents" % (len(files), len(contents)))
    out = dict((name, {"paths": [], "contents": [], "dirs": []}) for name in names)
    for entry, content in zip(files, contents):
        name, _, rest = entry["path"].partition("/")
        if name in out and rest:
            out[name]["paths"].append(rest)
            out[name]["contents"].append(content)
    for entry in tree or []:
        name, _, rest = entry["path"].partition("/")
        if name in out and rest and entry.get("state") == "directory":
            out[name]["dirs"].append(rest)
    return out


def image_build_plan(builds, rendered, images, image_refs, labels, hash_label):
    """Which of the offline builds are stale, decided on the controller before anything is rendered
    on the host. `builds` is images_builds (name, from, args, in build order); `rendered` maps each
    build's name to `paths` (its template files, relative), `contents` (each rendered, same order)
    and `dirs`; `images` is docker_image_info's `images` for the references in `image_refs`.

    Each build's hash covers its rendered files (path without .j2, executable bit, content), its
    build arguments, the labels and its bases: an image built earlier in `builds` counts by its
    planned hash (so a base rebuilt in this run makes its dependants stale before it exists), any
    other by its image ID. Returns `hashes` (name -> hash), `stale` (names in build order whose
    image is missing or carries another hash label) and `missing_bases` (refs of absent bases)."""
    if not isinstance(builds, (list, tuple)) or not isinstance(rendered, dict):
        raise AnsibleFilterError("image_build_plan: builds must be a list and rendered a dict")
    by_tag = {}
    for image in images or []:
        for tag in image.get("RepoTags") or []:
            by_tag[tag] = image
    plan = {"hashes": {}, "stale": [], "missing_bases": []}
    for build in builds:
        name = build.get("name")
        if name not in rendered or name not in image_refs:
            raise AnsibleFilterError("image_build_plan: no rendered files or image reference for %r" % (name,))
        files = rendered[name]
        paths, contents = list(files.get("paths") or []), list(files.get("contents") or [])
        if len(paths) != len(contents):
            raise AnsibleFilterError("image_build_plan: %d paths but %d contents for %s" % (len(paths), len(contents), name))
        # The entries build_context_hash would read from the rendered context on the host.
        entries = [file_entry(re.sub(r"\.j2$", "", path), build_file_mode(path) == "0755",
                              hashlib.sha256(str(content).encode("utf-8")).hexdigest())
                   for path, content in zip(paths, contents)]
        entries += [dir_entry(path) for path in files.get("dirs") or []]
        bases = []
        for base in build.get("from") or []:
            if base in plan["hashes"]:
                bases.append("inputs:" + plan["hashes"][base])
                continue
            ref = image_ref_name(image_refs.get(base, base))
            image = by_tag.get(ref)
            if image is None and ref not in plan["missing_bases"]:
                plan["missing_bases"].append(ref)
            bases.append(image.get("Id") if image else "missing:" + ref)
        digest = build_hash(sorted(entries), None, build.get("args") or {}, bases, labels or {})
        plan["hashes"][name] = digest
        current = by_tag.get(image_ref_name(image_refs[name]))
        if current is None or ((current.get("Config") or {}).get("Labels") or {}).get(hash_label) != digest:
            plan["stale"].append(name)
    return plan


def image_keep_plan(images, containers, repos, current_refs, count=2, rollback=False):
    """Which app images a host keeps. For each repository in `repos`, its images (docker_host_info's
    `images`, verbose) are ranked: the current one (tagged as in `current_refs`; without one, the image
    tagged `<repo>:current`, else the newest), then the one that was current before (tagged
    `<repo>:current` until now), then the one tagged `<repo>:previous`, then the rest newest first.
    `<repo>:current` and `<repo>:previous` move to the first two; images ranked beyond `count` lose
    every tag of that repository, except those a container (docker_host_info's `containers`) uses.
    Returns `tag` and `remove`: lists of {repository, id, name}, one per tag (or an ID to remove an
    image that only the moved tags named).
    rollback: the current image is an older one the host returned to (rollback.yml): `<repo>:current` moves
    to it and `<repo>:previous` is removed, not moved to the newer image it left, so a second rollback finds
    nothing earlier to return to instead of moving forward again."""
    try:
        count = int(count)
    except (TypeError, ValueError):
        raise AnsibleFilterError("image_keep_plan: count must be an integer, not %r" % (count,))
    if count < 1:
        raise AnsibleFilterError("image_keep_plan: count must be at least 1 (the current image), not %d" % count)
    used = set(c.get("ImageID") or c.get("Image") for c in containers or [])
    wanted = set(image_ref_name(ref) for ref in current_refs or [])
    plan = {"tag": [], "remove": []}
    for repo in repos or []:
        repo = image_ref_name(repo)
        prefix = repo + ":"
        marks = (prefix + "current", prefix + "previous")
        mine = [image for image in images or []
                if any(tag.startswith(prefix) for tag in image.get("RepoTags") or [])]
        if not mine:
            continue
        mine.sort(key=lambda image: -_created(image))
        now = [image for image in mine if wanted & set(image.get("RepoTags") or [])]
        marked = [image for image in mine if marks[0] in (image.get("RepoTags") or [])]
        before = [image for image in mine if marks[1] in (image.get("RepoTags") or [])]
        ranked = []
        for image in (now or marked or mine)[:1] + marked + before + mine:
            if image not in ranked:
                ranked.append(image)
        limit = 1 if rollback else min(count, 2)
        for mark, image in zip(marks, ranked[:limit]):
            if mark not in (image.get("RepoTags") or []):
                plan["tag"].append({"repository": repo, "id": image["Id"], "name": mark})
        if rollback:
            for image in before:
                plan["remove"].append({"repository": repo, "id": image["Id"], "name": marks[1]})
        for index, image in enumerate(ranked):
            if index < count or image.get("Id") in used:
                continue
            tags = sorted(tag for tag in image.get("RepoTags") or [] if tag.startswith(prefix))
            # A mark that moves to a kept image is not removed by name (that would untag the kept one).
            moving = [mark for mark in marks[:limit]]
            for tag in tags:
                if tag not in moving and not (rollback and tag == marks[1]):
                    plan["remove"].append({"repository": repo, "id": image["Id"], "name": tag})
            if set(image.get("RepoTags") or []) <= set(moving):
                plan["remove"].append({"repository": repo, "id": image["Id"], "name": image["Id"]})
    return plan


def _created(image):
    """docker_host_info lists Created as epoch seconds; docker_image_info as an ISO string."""
    value = image.get("Created") or 0
    if isinstance(value, (int, float)):
        return value
    return _iso_seconds(str(value))


def _iso_seconds(text):
    import datetime
    match = re.match(r"^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(\.\d+)?", text)
    if not match:
        return 0
    parts = [int(x) for x in match.groups()[:6]]
    moment = datetime.datetime(*parts)
    return (moment - datetime.datetime(1970, 1, 1)).total_seconds() + float(match.group(7) or 0)


class FilterModule(object):
    def filters(self):
        return {
            "image_ref_name": image_ref_name,
            "image_ship_plan": image_ship_plan,
            "image_keep_plan": image_keep_plan,
            "image_build_plan": image_build_plan, "rendered_by_image": rendered_by_image,
            "build_file_mode": build_file_mode,
        }
