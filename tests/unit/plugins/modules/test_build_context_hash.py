# -*- coding: utf-8 -*-
"""Table-driven tests for plugins/modules/build_context_hash.py."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re

import pytest

from ansible_collections.taylordash.ops.plugins.module_utils._context_hash import context_hash
from ansible_collections.taylordash.ops.plugins.modules import build_context_hash
from ansible_collections.taylordash.ops.tests.unit.plugins.modules import harness

HEX64 = re.compile(r"^[0-9a-f]{64}$")


def run_module(args):
    """Run build_context_hash.main(); return ('exit'|'fail', result dict)."""
    return harness.run_module(build_context_hash, args)


@pytest.fixture
def context(tmp_path):
    root = tmp_path / "ctx"
    (root / "sub").mkdir(parents=True)
    (root / "Dockerfile").write_text("FROM scratch\n")
    (root / "sub" / "file.txt").write_text("payload\n")
    os.symlink("sub/file.txt", str(root / "link"))
    return root  # 4 entries: Dockerfile, link, sub, sub/file.txt


# --------------------------------------------------------------------------- success

@pytest.mark.parametrize(
    "extra",
    [
        {},
        {"build_args": {"PG_MAJOR": "17", "USER": "app"}},
        {"base_image_ids": ["sha256:" + "a" * 64, "sha256:" + "b" * 64]},
        {"build_args": {"A": "1"}, "base_image_ids": ["sha256:" + "c" * 64], "missing_ok": True},
    ],
    ids=["path-only", "with-build-args", "with-base-ids", "all-options"],
)
def test_success_returns_unchanged_hash(context, extra):
    outcome, result = run_module(dict(path=str(context), **extra))
    assert outcome == "exit", result
    assert result["changed"] is False
    assert HEX64.match(result["hash"])
    assert result["entries"] == 4
    expected, _ = context_hash(
        str(context), None, extra.get("build_args", {}), extra.get("base_image_ids", [])
    )
    assert result["hash"] == expected


@pytest.mark.parametrize(
    "first, second, same",
    [
        ({"build_args": {"A": "1", "B": "2"}}, {"build_args": {"B": "2", "A": "1"}}, True),
        ({"build_args": {"A": "1"}}, {"build_args": {"A": "2"}}, False),
        ({"base_image_ids": ["x", "y"]}, {"base_image_ids": ["y", "x"]}, False),
        ({"base_image_ids": ["x"]}, {"base_image_ids": ["z"]}, False),
        ({}, {"_ansible_check_mode": True}, True),
        ({}, {"missing_ok": True}, True),
    ],
    ids=[
        "build-args-order-ignored",
        "build-arg-value-matters",
        "base-ids-order-matters",
        "base-id-value-matters",
        "check-mode-same-hash",
        "missing-ok-irrelevant-when-present",
    ],
)
def test_hash_comparisons(context, first, second, same):
    out_a, res_a = run_module(dict(path=str(context), **first))
    out_b, res_b = run_module(dict(path=str(context), **second))
    assert (out_a, out_b) == ("exit", "exit"), (res_a, res_b)
    assert (res_a["hash"] == res_b["hash"]) is same


def test_check_mode_gives_same_hash_and_no_change(context):
    _, normal = run_module({"path": str(context)})
    outcome, checked = run_module({"path": str(context), "_ansible_check_mode": True})
    assert outcome == "exit", checked
    assert checked["changed"] is False
    assert HEX64.match(checked["hash"])
    assert checked["hash"] == normal["hash"]
    assert checked["entries"] == normal["entries"]


def test_path_of_context_does_not_matter(context, tmp_path):
    copy = tmp_path / "elsewhere" / "ctx2"
    (copy / "sub").mkdir(parents=True)
    (copy / "Dockerfile").write_text("FROM scratch\n")
    (copy / "sub" / "file.txt").write_text("payload\n")
    os.symlink("sub/file.txt", str(copy / "link"))
    _, first = run_module({"path": str(context)})
    _, second = run_module({"path": str(copy)})
    assert first["hash"] == second["hash"]
    (copy / "sub" / "file.txt").write_text("payload!\n")
    _, third = run_module({"path": str(copy)})
    assert third["hash"] != first["hash"]


@pytest.mark.parametrize(
    "mutate, same",
    [
        (lambda df: os.utime(str(df), (1, 1)), True),
        (lambda df: df.write_text("FROM debian\n"), False),
    ],
    ids=["dockerfile-utime", "dockerfile-edited"],
)
def test_dockerfile_outside_context(context, tmp_path, mutate, same):
    dockerfile = tmp_path / "Dockerfile.outside"
    dockerfile.write_text("FROM scratch\n")
    _, without = run_module({"path": str(context)})
    outcome, before = run_module({"path": str(context), "dockerfile": str(dockerfile)})
    assert outcome == "exit", before
    assert before["hash"] != without["hash"]
    mutate(dockerfile)
    _, after = run_module({"path": str(context), "dockerfile": str(dockerfile)})
    assert (after["hash"] == before["hash"]) is same


# --------------------------------------------------------------------------- missing path

@pytest.mark.parametrize(
    "extra",
    [{}, {"missing_ok": False}, {"_ansible_check_mode": True}],
    ids=["default", "missing-ok-false", "check-mode"],
)
def test_missing_path_fails(tmp_path, extra):
    missing = tmp_path / "nope"
    outcome, result = run_module(dict(path=str(missing), **extra))
    assert outcome == "fail", result
    assert str(missing) in result["msg"]
    # the parameter name is mentioned, not just (by chance) the tmp path
    assert re.search(r"\bpath\b", result["msg"].replace(str(missing), ""))


def test_path_that_is_a_file_fails(tmp_path):
    target = tmp_path / "file"
    target.write_text("x")
    outcome, result = run_module({"path": str(target)})
    assert outcome == "fail", result
    assert re.search(r"\bpath\b", result["msg"].replace(str(target), ""))


@pytest.mark.parametrize(
    "extra",
    [{"missing_ok": True}, {"missing_ok": True, "_ansible_check_mode": True}],
    ids=["missing-ok", "missing-ok-check-mode"],
)
def test_missing_path_with_missing_ok(tmp_path, extra):
    outcome, result = run_module(dict(path=str(tmp_path / "nope"), **extra))
    assert outcome == "exit", result
    assert result["hash"] is None
    assert result["changed"] is False
    assert result["entries"] == 0


def test_path_argument_is_required():
    outcome, result = run_module({})
    assert outcome == "fail", result
    assert "path" in result["msg"]


# --------------------------------------------------------------------------- other failures

@pytest.mark.parametrize(
    "make_dockerfile",
    [
        lambda tmp: tmp / "no-such-Dockerfile",
        lambda tmp: (tmp / "df-dir").mkdir() or (tmp / "df-dir"),
    ],
    ids=["dockerfile-missing", "dockerfile-is-a-directory"],
)
def test_bad_dockerfile_fails(context, tmp_path, make_dockerfile):
    dockerfile = make_dockerfile(tmp_path)
    outcome, result = run_module({"path": str(context), "dockerfile": str(dockerfile)})
    assert outcome == "fail", result
    assert str(dockerfile) in result["msg"]
    assert re.search(r"\bdockerfile\b", result["msg"].replace(str(dockerfile), ""))


def test_fifo_in_context_fails(context):
    os.mkfifo(str(context / "sub" / "pipe"))
    outcome, result = run_module({"path": str(context)})
    assert outcome == "fail", result
    assert "sub/pipe" in result["msg"]
    assert "hash" not in result


# --------------------------------------------------------------------------- base images and the image of the hash

def engine(monkeypatch, images):
    """The engine as `docker image inspect` sees it: reference -> ID."""
    from ansible.module_utils.basic import AnsibleModule
    monkeypatch.setattr(AnsibleModule, "get_bin_path", lambda self, name, required=False: "/usr/bin/" + name)

    def run_command(self, argv, **kwargs):
        assert argv[:5] == ["/usr/bin/docker", "image", "inspect", "--format", "{{.Id}}"], argv
        ref = argv[5]
        return (0, images[ref] + "\n", "") if ref in images else (1, "", "Error: No such image: " + ref)
    monkeypatch.setattr(AnsibleModule, "run_command", run_command)


BASE = {"taylordash/python:3.13": "sha256:" + "1" * 64}


def test_base_images_are_read_from_the_engine_and_hashed_like_their_ids(monkeypatch, context):
    engine(monkeypatch, BASE)
    outcome, by_name = run_module(dict(path=str(context), base_images=["taylordash/python:3.13"] * 2))
    assert outcome == "exit", by_name
    _, by_id = run_module(dict(path=str(context), base_image_ids=[BASE["taylordash/python:3.13"]]))
    assert by_name["hash"] == by_id["hash"] and by_name["missing_base_images"] == []


def test_a_missing_base_image_is_named_unless_missing_ok(monkeypatch, context):
    engine(monkeypatch, {})
    outcome, result = run_module(dict(path=str(context), base_images=["taylordash/python:3.13"], repository="r/app"))
    assert outcome == "fail" and "taylordash/python:3.13" in result["msg"], result
    outcome, result = run_module(dict(path=str(context), base_images=["taylordash/python:3.13"], repository="r/app",
                                      missing_ok=True))
    assert outcome == "exit" and result["hash"] is None and result["ref"] == "r/app:unbuilt", result
    assert result["exists"] is False and result["missing_base_images"] == ["taylordash/python:3.13"]


def test_the_image_of_the_hash_is_looked_for(monkeypatch, context):
    engine(monkeypatch, dict(BASE))
    outcome, result = run_module(dict(path=str(context), base_images=list(BASE), repository="taylordash/backend"))
    assert outcome == "exit" and result["exists"] is False, result
    assert result["tag"] == result["hash"][:12] and result["ref"] == "taylordash/backend:" + result["tag"]
    engine(monkeypatch, dict(BASE, **{result["ref"]: "sha256:" + "2" * 64}))
    outcome, again = run_module(dict(path=str(context), base_images=list(BASE), repository="taylordash/backend"))
    assert again["exists"] is True and again["ref"] == result["ref"]


def test_a_new_base_image_changes_the_hash(monkeypatch, context):
    engine(monkeypatch, BASE)
    _, before = run_module(dict(path=str(context), base_images=list(BASE)))
    engine(monkeypatch, {"taylordash/python:3.13": "sha256:" + "3" * 64})
    _, after = run_module(dict(path=str(context), base_images=list(BASE)))
    assert before["hash"] != after["hash"]
