# -*- coding: utf-8 -*-
# Copyright: taylordash-ops developers
# MIT License
"""Filters of the application role: the .env values dev servers need, port plan entries."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError
import os

from ansible_collections.taylordash.ops.plugins.module_utils import _templates
from ansible_collections.taylordash.ops.plugins.module_utils._context_hash import source_entries as _source_entries
from ansible_collections.taylordash.ops.plugins.module_utils._envfile import EnvFileError, parse_env


def dotenv(text):
    """NAME -> value of a .env text (the env_file module's format); errors name the line, never a value."""
    try:
        return parse_env(text)
    except EnvFileError as exc:
        raise AnsibleFilterError(str(exc))


def build_context_spec(build, excludes, texts, labels, files, build_dir):
    """One context of the build_plan module for an app's build (its _application_builds entry): name,
    repository, the entries of its source tree read here as rsync copies it under src/ (without excludes,
    links or special files), its build files rendered here (texts: app -> {file: text}), the files on the
    target (context path -> host path), the base images (stage order), labels, and its directory there."""
    try:
        entries = _source_entries(build["src"], excludes or [])
    except OSError as exc:
        raise AnsibleFilterError("cannot read the source tree %s: %s" % (build["src"], exc))
    return {
        "name": build["name"],
        "repository": build["repository"],
        "entries": [list(entry) for entry in entries],
        "texts": dict((texts or {}).get(build["name"], {})),
        "path": "%s/%s" % (build_dir, build["name"]),
        "files": dict(files or {}),
        "base_images": list(build.get("from") or []),
        "labels": dict(labels or {}),
    }


def port_of(entry):
    """The port number of a taylordash_port_plan entry (a number or a dict with `port`)."""
    return int(entry["port"] if isinstance(entry, dict) else entry)


def _tags(image):
    return image.get("RepoTags") or []


def rollback_refs(kept, running, repos):
    """The image each app returns to on rollback.

    kept: docker_image_info's images for `<repo>:current` and `<repo>:previous`; running: the project's
    containers as docker_host_info lists them (verbose: Labels, ImageID, Image, State), each app's found by
    its Compose service label, whatever its name (a start-first upgrade numbers them on); repos: app -> image
    repository.
    An app whose container does not run its `current` image (a failed rollout left another one) returns
    to `current`; otherwise to `previous`; an app without either keeps what it runs. The reference is the
    image's content-hash tag, so the compose file never names a tag that moves.
    Returns {refs: app -> reference, back: [apps returning to another image], kept: [apps that keep theirs],
    from: app -> the reference its container ran, for those in `back` (the release a pre-migration backup names)}.
    """
    out = {"refs": {}, "back": [], "kept": [], "from": {}}
    runs = {}
    for container in running or []:
        labels = container.get("Labels") or {}
        app = labels.get("com.docker.compose.service")
        if app and labels.get("com.docker.compose.oneoff") != "True" \
                and (app not in runs or container.get("State") == "running"):
            runs[app] = container
    for app, repo in repos.items():
        marks = {"%s:current" % repo, "%s:previous" % repo}
        current = next((i for i in kept or [] if "%s:current" % repo in _tags(i)), None)
        previous = next((i for i in kept or [] if "%s:previous" % repo in _tags(i)), None)
        container = runs.get(app) or {}
        running_id = container.get("ImageID")
        if current and running_id != current.get("Id"):
            target = current
        elif previous:
            target = previous
        else:
            target = None
        if target is None:
            ref = container.get("Image")
            if not ref:
                raise AnsibleFilterError("%s has no kept image and no running container to keep" % app)
            out["refs"][app] = ref
            out["kept"].append(app)
            continue
        named = sorted(t for t in _tags(target) if t.startswith(repo + ":") and t not in marks)
        out["refs"][app] = named[0] if named else "%s:%s" % (repo, "current" if target is current else "previous")
        out["back"].append(app)
        out["from"][app] = container.get("Image") or ""
    return out


def build_templates(builds, apps, template_dirs, role_templates):
    """The template of each enabled app's build files, first found in the operator's template directories."""
    return _templates.template_sources(builds, apps, template_dirs, role_templates, os.path.isfile)


def build_texts(sources, texts):
    try:
        return _templates.texts_by_app(sources, texts)
    except ValueError as exc:
        raise AnsibleFilterError("build_texts: %s" % exc)


class FilterModule(object):
    def filters(self):
        return {"build_templates": build_templates, "build_texts": build_texts, "build_context_spec": build_context_spec, "dotenv": dotenv, "port_of": port_of, "rollback_refs": rollback_refs}
