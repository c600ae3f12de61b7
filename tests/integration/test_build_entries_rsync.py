# -*- coding: utf-8 -*-
"""The application role plans its images from the source trees as rsync would copy them (build_plan);
the real rsync, with the options of roles/application/tasks/build.yml, must give a context whose
entries are exactly those (else the deploy fails its "hashes as planned" check)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re
import shutil
import subprocess

import pytest
import yaml

from ansible_collections.taylordash.ops.plugins.module_utils import _context_hash as ch

ROOT = os.path.join(os.path.dirname(__file__), os.pardir, os.pardir)
BUILD = os.path.join(ROOT, "roles", "application", "tasks", "build.yml")
DEFAULTS = os.path.join(ROOT, "roles", "application", "defaults", "main.yml")


def rsync_argv(excludes):
    text = open(BUILD).read()
    chmod = re.search(r"'(--chmod=[^']+)'", text).group(1)
    assert "links: false" in text and "recursive: true" in text and "--delete-excluded" in text
    assert "delay_updates: false" in text  # else synchronize adds --delay-updates -F (.rsync-filter files count)
    return ["rsync", "--recursive", "--checksum", "--delete", "--perms", "--no-links", "--delete-excluded", chmod] + [
        "--exclude=" + pattern for pattern in excludes]


def tricky_tree(root):
    files = {
        "app/main.py": "print('hi')\n",
        "app/__pycache__/main.cpython-313.pyc": "bytecode",
        "app/sub/x.pyc": "bytecode",
        "app/sub/keep.txt": "kept\n",
        "node_modules/dep/index.js": "x",
        "web/node_modules/dep/index.js": "x",
        "tests/test_a.py": "assert True\n",
        "app/tests/t.py": "nested tests dir\n",
        ".gitignore": "*.log\n",
        ".env.example": "A=1\n",
        "server.log": "log\n",
        "requirements.txt": "fastapi\n",
        "requirements-test.txt": "pytest\n",
        "bin/only-group-exec": "#!/bin/sh\n",
        "bin/user-exec": "#!/bin/sh\n",
    }
    for rel, text in files.items():
        path = os.path.join(root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as handle:
            handle.write(text)
    os.makedirs(os.path.join(root, "empty", "deeper"))
    os.chmod(os.path.join(root, "bin", "only-group-exec"), 0o610)
    os.chmod(os.path.join(root, "bin", "user-exec"), 0o700)
    os.chmod(os.path.join(root, "requirements.txt"), 0o600)
    os.symlink("app/main.py", os.path.join(root, "link.py"))
    os.symlink("app", os.path.join(root, "linkdir"))


@pytest.mark.skipif(shutil.which("rsync") is None, reason="rsync is not installed")
def test_rsync_copies_the_tree_build_plan_hashed(tmp_path):
    excludes = yaml.safe_load(open(DEFAULTS))["application_source_excludes"]
    src = tmp_path / "source"
    tricky_tree(str(src))
    context = tmp_path / "context"
    (context / "src").mkdir(parents=True)
    (context / "src" / "stale.txt").write_text("left by an older build\n")
    subprocess.run(rsync_argv(excludes) + [str(src) + "/", str(context / "src") + "/"], check=True,
                   capture_output=True)
    (context / "Dockerfile").write_text("FROM scratch\n")
    planned = sorted(ch.source_entries(str(src), excludes) + [ch.text_entry("Dockerfile", "FROM scratch\n")])
    assert planned == ch.tree_entries(str(context))
    paths = [entry[0] for entry in planned]
    assert "src/app/tests" not in paths and "src/link.py" not in paths and "src/empty/deeper" in paths


@pytest.mark.skipif(shutil.which("rsync") is None, reason="rsync is not installed")
def test_rsync_agrees_on_negated_classes_triple_stars_and_escapes(tmp_path):
    excludes = ["[!a]bc", "cache/***", "a\\*b", "/top.txt", "docs/"]
    src = tmp_path / "source"
    for rel in ["abc", "xbc", "cache/x", "app/cache/y", "cached/z", "a*b", "axb", "top.txt", "sub/top.txt",
                "docs/d.md", "sub/docs", ".rsync-filter"]:
        path = src / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(rel + "\n")
    (src / ".rsync-filter").write_text("- abc\n")  # honoured only with -F, which the role never passes
    context = tmp_path / "context"
    (context / "src").mkdir(parents=True)
    subprocess.run(rsync_argv(excludes) + [str(src) + "/", str(context / "src") + "/"], check=True, capture_output=True)
    assert sorted(ch.source_entries(str(src), excludes)) == ch.tree_entries(str(context))
