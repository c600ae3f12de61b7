# -*- coding: utf-8 -*-
# Copyright: taylordash-ops developers
# MIT License
"""Where each build file's template comes from: the first operator template directory that has it
(taylordash_template_dirs), else the role's own templates/."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


def template_sources(builds, apps, template_dirs, role_templates, is_file):
    """For every enabled app (in `apps` order) and each of its build files (`builds[app]['templates']`, e.g.
    Dockerfile), the template to render: ``<dir>/<app>/<name>.j2`` from the first of `template_dirs` that has
    it, else `role_templates`/<app>/<name>.j2. Returns a list of {app, name, path}; `is_file(path)` says
    whether a path on the controller is a file."""
    out = []
    for app in apps:
        for name in (builds.get(app) or {}).get("templates") or []:
            relative = "%s/%s.j2" % (app, name)
            candidates = [str(directory).rstrip("/") + "/" + relative for directory in template_dirs or []]
            path = next((candidate for candidate in candidates if is_file(candidate)),
                        str(role_templates).rstrip("/") + "/" + relative)
            out.append({"app": app, "name": name, "path": path})
    return out


def texts_by_app(sources, texts):
    """{app: {name: rendered text}} from template_sources' list and the texts rendered in the same order."""
    sources, texts = list(sources or []), list(texts or [])
    if len(sources) != len(texts):
        raise ValueError("%d build templates but %d rendered texts" % (len(sources), len(texts)))
    out = {}
    for source, text in zip(sources, texts):
        out.setdefault(source["app"], {})[source["name"]] = text
    return out
