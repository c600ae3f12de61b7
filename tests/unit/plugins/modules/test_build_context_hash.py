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
