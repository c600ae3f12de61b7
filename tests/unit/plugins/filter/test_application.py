# -*- coding: utf-8 -*-
import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.taylordash.ops.plugins.filter.application import build_sources, stale_paths

EXCLUDES = ["node_modules", "dist", "__pycache__", "*.pyc", "tests"]


def entry(path, state="file"):
    return {"path": path, "src": "/src/" + path, "state": state, "mode": "0644"}


def test_excluded_directories_drop_everything_below_them():
    tree = [entry("package.json"), entry("node_modules", "directory"), entry("node_modules/vite/index.js"),
            entry("src", "directory"), entry("src/main.js"), entry("app/__pycache__/main.cpython-313.pyc"),
            entry("app/main.pyc"), entry("tests/test_api.py"), entry("dist/index.html")]
    assert [e["path"] for e in build_sources(tree, EXCLUDES)] == ["package.json", "src", "src/main.js"]


def test_a_pattern_matches_whole_components_only():
    tree = [entry("distribution.txt"), entry("contests/a.py")]
    assert [e["path"] for e in build_sources(tree, EXCLUDES)] == ["contests/a.py", "distribution.txt"]


def test_symlinks_are_refused_by_name():
    with pytest.raises(AnsibleFilterError, match="/src/app/link is a symlink"):
        build_sources([entry("app/link", "link")], EXCLUDES)


def test_bad_arguments_fail_clearly():
    with pytest.raises(AnsibleFilterError):
        build_sources("nope", EXCLUDES)


def test_stale_paths_are_the_ones_not_kept_deepest_first():
    kept = [entry("app", "directory"), entry("app/main.py")]
    found = [{"path": "/b/src/app"}, {"path": "/b/src/app/main.py"}, {"path": "/b/src/app/old.py"},
             {"path": "/b/src/gone"}, {"path": "/b/src/gone/x.py"}, {"path": "/elsewhere/x"}]
    assert stale_paths(found, kept, "/b/src/") == ["/b/src/app/old.py", "/b/src/gone/x.py", "/b/src/gone"]
