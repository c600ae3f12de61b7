# -*- coding: utf-8 -*-
# Copyright: taylordash-ops developers
# MIT License
"""Filters of the images role: which images a host lacks (ship.yml) and which
app images it keeps (keep.yml)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import re

from ansible.errors import AnsibleFilterError

_TAGGED = re.compile(r":[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")


def image_ref_name(ref):
    """A reference as the engine lists it in RepoTags: docker.io/ and docker.io/library/ dropped."""
    return re.sub(r"^docker\.io/(library/)?", "", str(ref))


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


def image_keep_plan(images, containers, repos, current_refs, count=2):
    """Which app images a host keeps. For each repository in `repos`, its images (docker_host_info's
    `images`, verbose) are ranked: the current one (tagged as in `current_refs`; without one, the image
    tagged `<repo>:current`, else the newest), then the one that was current before (tagged
    `<repo>:current` until now), then the one tagged `<repo>:previous`, then the rest newest first.
    `<repo>:current` and `<repo>:previous` move to the first two; images ranked beyond `count` lose
    every tag of that repository, except those a container (docker_host_info's `containers`) uses.
    Returns `tag` and `remove`: lists of {repository, id, name}, one per tag (or an ID to remove an
    image that only the moved tags named)."""
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
        for mark, image in zip(marks, ranked[:min(count, 2)]):
            if mark not in (image.get("RepoTags") or []):
                plan["tag"].append({"repository": repo, "id": image["Id"], "name": mark})
        for index, image in enumerate(ranked):
            if index < count or image.get("Id") in used:
                continue
            tags = sorted(tag for tag in image.get("RepoTags") or [] if tag.startswith(prefix))
            # A mark that moves to a kept image is not removed by name (that would untag the kept one).
            moving = [mark for mark in marks[:min(count, 2)]]
            for tag in tags:
                if tag not in moving:
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
        }
