# -*- coding: utf-8 -*-
import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.taylordash.ops.plugins.filter.application import build_sources, dotenv, port_of, stale_paths

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


def test_modes_are_normalised_to_executable_or_not():
    tree = [dict(entry("run.sh"), mode="0775"), dict(entry("a.py"), mode="0664"), entry("d", "directory")]
    assert {e["path"]: e["mode"] for e in build_sources(tree, EXCLUDES)} == {"a.py": "0644", "d": "0755",
                                                                            "run.sh": "0755"}


def test_dotenv_reads_the_env_file_format():
    assert dotenv("# managed\nA='x y'\nexport B=2\n\nC=\"q\"\n") == {"A": "x y", "B": "2", "C": "q"}


def test_dotenv_errors_name_the_line_not_the_value():
    with pytest.raises(AnsibleFilterError) as err:
        dotenv("A=1\nthis-is-s3cret\n")
    assert "2" in str(err.value) and "s3cret" not in str(err.value)


@pytest.mark.parametrize("entry, port", [(3000, 3000), ("5173", 5173), ({"port": 5432, "address": "127.0.0.1"}, 5432)])
def test_port_of_plan_entries(entry, port):
    assert port_of(entry) == port
