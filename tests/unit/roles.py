# -*- coding: utf-8 -*-
"""Role files for unit tests: their YAML, and templates rendered as the roles render them.

A role's template task renders with Ansible's Jinja2 defaults (trim_blocks,
keep_trailing_newline, undefined variables fail); plain Jinja2 with the same
settings renders the templates that use no Ansible filters the same way.
"""

import os

import jinja2
import yaml

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), os.pardir, os.pardir))


def load(path):
    """A YAML file of the repository, by its path from the repository root."""
    with open(os.path.join(ROOT, path), encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def render(templates, name, values):
    """Template ``name`` under the directory ``templates`` rendered with ``values``."""
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(templates), trim_blocks=True,
                             keep_trailing_newline=True, undefined=jinja2.StrictUndefined)
    return env.get_template(name).render(**values)
