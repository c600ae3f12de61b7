# -*- coding: utf-8 -*-
"""Table-driven tests for plugins/module_utils/_context_hash.py."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import os
import re
import stat

import pytest

from ansible_collections.taylordash.ops.plugins.module_utils import _context_hash as ch

HEX64 = re.compile(r"^[0-9a-f]{64}$")


# --------------------------------------------------------------------------- helpers

def make_context(root):
    """A small build context: files, a subdirectory, an executable, a symlink."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "Dockerfile").write_text("FROM scratch\nCOPY . /app\n")
    (root / "a.txt").write_bytes(b"hello world\n")
    (root / "sub").mkdir()
    (root / "sub" / "b.txt").write_bytes(b"\x00\x01\x02binary")
    script = root / "run.sh"
    script.write_text("#!/bin/sh\necho hi\n")
    script.chmod(0o755)
    (root / "a.txt").chmod(0o644)
    (root / "sub" / "b.txt").chmod(0o644)
    os.symlink("a.txt", str(root / "link"))
    return root


def hash_of(root, **kwargs):
    digest, _count = ch.context_hash(str(root), **kwargs)
    return digest


# --------------------------------------------------------------------------- file_digest

@pytest.mark.parametrize(
    "content, expected",
    [
        (b"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        (b"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        (b"\x00" * 10, hashlib.sha256(b"\x00" * 10).hexdigest()),
        # bigger than one CHUNK so several reads are combined
        (b"0123456789abcdef" * (ch.CHUNK // 16 * 2 + 7), None),
    ],
    ids=["empty", "abc", "nul-bytes", "multi-chunk"],
)
def test_file_digest(tmp_path, content, expected):
    if expected is None:
        assert len(content) > ch.CHUNK
        expected = hashlib.sha256(content).hexdigest()
    target = tmp_path / "f"
    target.write_bytes(content)
    assert ch.file_digest(str(target)) == expected


# --------------------------------------------------------------------------- tree_entries

def test_tree_entries_lists_every_kind_sorted(tmp_path):
    root = make_context(tmp_path / "ctx")
    (root / "empty").mkdir()
    digest = hashlib.sha256
    assert ch.tree_entries(str(root)) == [
        ("Dockerfile", "f", "-" + digest(b"FROM scratch\nCOPY . /app\n").hexdigest()),
        ("a.txt", "f", "-" + digest(b"hello world\n").hexdigest()),
        ("empty", "d", ""),
        ("link", "l", "a.txt"),
        ("run.sh", "f", "x" + digest(b"#!/bin/sh\necho hi\n").hexdigest()),
        ("sub", "d", ""),
        ("sub/b.txt", "f", "-" + digest(b"\x00\x01\x02binary").hexdigest()),
    ]


@pytest.mark.parametrize(
    "setup, expected",
    [
        (lambda r: None, []),
        (lambda r: (r / "d").mkdir(), [("d", "d", "")]),
        (lambda r: os.symlink("/nonexistent/target", str(r / "dangling")),
         [("dangling", "l", "/nonexistent/target")]),
        (lambda r: (os.mkdir(str(r / "real")), os.symlink("real", str(r / "dirlink"))),
         [("dirlink", "l", "real"), ("real", "d", "")]),
    ],
    ids=["empty-dir", "empty-subdir", "dangling-symlink", "symlink-to-dir-not-followed"],
)
def test_tree_entries_cases(tmp_path, setup, expected):
    setup(tmp_path)
    assert ch.tree_entries(str(tmp_path)) == expected


# --------------------------------------------------------------------------- invariance

def _touch_times(root):
    for current, dirs, files in os.walk(str(root)):
        for name in dirs + files:
            full = os.path.join(current, name)
            if not os.path.islink(full):
                os.utime(full, (1000000000, 1000000000))
    os.utime(str(root), (1234567890, 987654321))


def _rewrite_same_content(root):
    data = (root / "a.txt").read_bytes()
    (root / "a.txt").write_bytes(data)


def _change_symlink_target_content_outside(root):
    # symlinks are not followed: the content behind an outside link must not count
    outside = root.parent / "outside.txt"
    outside.write_text("v2")


@pytest.mark.parametrize(
    "mutate",
    [_touch_times, _rewrite_same_content, _change_symlink_target_content_outside],
    ids=["utime-atime-mtime", "rewrite-same-content", "outside-link-target-content"],
)
def test_hash_unchanged(tmp_path, mutate):
    root = make_context(tmp_path / "ctx")
    outside = tmp_path / "outside.txt"
    outside.write_text("v1")
    os.symlink(str(outside), str(root / "out-link"))
    before = hash_of(root)
    mutate(root)
    assert hash_of(root) == before


def test_same_content_in_different_directories_gives_same_hash(tmp_path):
    first = make_context(tmp_path / "one")
    second = make_context(tmp_path / "deeper" / "two")
    _touch_times(second)  # different timestamps too
    assert str(first) != str(second)
    first_hash, first_count = ch.context_hash(str(first))
    second_hash, second_count = ch.context_hash(str(second))
    assert HEX64.match(first_hash)
    assert first_hash == second_hash
    assert first_count == second_count == 6


# --------------------------------------------------------------------------- sensitivity

def _flip_one_byte(root):
    path = root / "sub" / "b.txt"
    data = bytearray(path.read_bytes())
    data[3] ^= 0x01  # same length, one byte differs
    path.write_bytes(bytes(data))


def _add_file(root):
    (root / "new.txt").write_text("")


def _remove_file(root):
    (root / "sub" / "b.txt").unlink()


def _rename_file(root):
    os.rename(str(root / "sub" / "b.txt"), str(root / "sub" / "c.txt"))


def _move_file_to_other_dir(root):
    os.rename(str(root / "sub" / "b.txt"), str(root / "b.txt"))


def _add_empty_dir(root):
    (root / "empty").mkdir()


def _set_exec_bit(root):
    path = root / "a.txt"
    path.chmod(path.stat().st_mode | stat.S_IXUSR)


def _clear_exec_bit(root):
    path = root / "run.sh"
    path.chmod(path.stat().st_mode & ~(stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH))


def _change_symlink_target(root):
    os.unlink(str(root / "link"))
    os.symlink("sub/b.txt", str(root / "link"))


def _replace_symlink_with_copy(root):
    os.unlink(str(root / "link"))
    (root / "link").write_bytes((root / "a.txt").read_bytes())


def _edit_dockerfile_in_context(root):
    (root / "Dockerfile").write_text("FROM scratch\nCOPY . /srv\n")


@pytest.mark.parametrize(
    "mutate",
    [
        _flip_one_byte,
        _add_file,
        _remove_file,
        _rename_file,
        _move_file_to_other_dir,
        _add_empty_dir,
        _set_exec_bit,
        _clear_exec_bit,
        _change_symlink_target,
        _replace_symlink_with_copy,
        _edit_dockerfile_in_context,
    ],
    ids=[
        "one-byte-changed",
        "file-added",
        "file-removed",
        "file-renamed",
        "file-moved-to-other-dir",
        "empty-dir-added",
        "exec-bit-set",
        "exec-bit-cleared",
        "symlink-target-changed",
        "symlink-replaced-by-file-with-same-content",
        "dockerfile-in-context-edited",
    ],
)
def test_hash_changes(tmp_path, mutate):
    root = make_context(tmp_path / "ctx")
    before = hash_of(root)
    mutate(root)
    after = hash_of(root)
    assert HEX64.match(after)
    assert after != before


# --------------------------------------------------------------------------- build inputs

BASE_ARGS = {"PG_MAJOR": "17", "DEBIAN": "bookworm", "USER": "app"}
BASE_IDS = ["sha256:" + "a" * 64, "sha256:" + "b" * 64]


@pytest.mark.parametrize(
    "build_args, base_image_ids, same",
    [
        ({"USER": "app", "DEBIAN": "bookworm", "PG_MAJOR": "17"}, BASE_IDS, True),
        (dict(reversed(list(BASE_ARGS.items()))), BASE_IDS, True),
        (dict(BASE_ARGS, PG_MAJOR="16"), BASE_IDS, False),
        (dict(BASE_ARGS, EXTRA="1"), BASE_IDS, False),
        ({k: v for k, v in BASE_ARGS.items() if k != "USER"}, BASE_IDS, False),
        ({}, BASE_IDS, False),
        (BASE_ARGS, list(reversed(BASE_IDS)), False),
        (BASE_ARGS, [BASE_IDS[0], "sha256:" + "c" * 64], False),
        (BASE_ARGS, BASE_IDS[:1], False),
        (BASE_ARGS, [], False),
    ],
    ids=[
        "build-args-reordered",
        "build-args-reversed",
        "build-arg-value-changed",
        "build-arg-added",
        "build-arg-removed",
        "build-args-dropped",
        "base-ids-reordered",
        "base-id-changed",
        "base-id-removed",
        "base-ids-dropped",
    ],
)
def test_build_inputs(tmp_path, build_args, base_image_ids, same):
    root = make_context(tmp_path / "ctx")
    reference = hash_of(root, build_args=BASE_ARGS, base_image_ids=BASE_IDS)
    other = hash_of(root, build_args=build_args, base_image_ids=base_image_ids)
    assert (other == reference) is same


@pytest.mark.parametrize(
    "kwargs_a, kwargs_b, same",
    [
        (dict(), dict(dockerfile_digest=None, build_args=None, base_image_ids=None), True),
        (dict(build_args={}), dict(build_args=None), True),
        (dict(base_image_ids=[]), dict(base_image_ids=None), True),
        (dict(dockerfile_digest="0" * 64), dict(dockerfile_digest="1" * 64), False),
        (dict(dockerfile_digest=None), dict(dockerfile_digest="0" * 64), False),
        (dict(build_args={"A": "1", "B": "2"}), dict(build_args={"B": "2", "A": "1"}), True),
        (dict(build_args={"A": "1"}), dict(build_args={"A": "2"}), False),
        (dict(base_image_ids=["x", "y"]), dict(base_image_ids=["y", "x"]), False),
        (dict(labels={"a": "1", "b": "2"}), dict(labels={"b": "2", "a": "1"}), True),
        (dict(labels={"a": "1"}), dict(labels={"a": "2"}), False),
        (dict(labels={}), dict(labels={"a": "1"}), False),
        (dict(labels={"a": "1"}), dict(build_args={"a": "1"}), False),
    ],
    ids=[
        "defaults-equal-explicit-none",
        "empty-args-equal-none",
        "empty-ids-equal-none",
        "dockerfile-digest-changed",
        "dockerfile-digest-added",
        "build-args-order-ignored",
        "build-arg-value-changed",
        "base-ids-order-matters",
        "labels-order-ignored",
        "label-value-changed",
        "label-added",
        "label-is-not-a-build-arg",
    ],
)
def test_build_hash_direct(kwargs_a, kwargs_b, same):
    entries = [("a", "f", "-" + "0" * 64), ("d", "d", "")]
    first = ch.build_hash(entries, **kwargs_a)
    second = ch.build_hash(entries, **kwargs_b)
    assert HEX64.match(first) and HEX64.match(second)
    assert (first == second) is same


def test_build_hash_depends_on_entries():
    base = [("a", "f", "-" + "0" * 64)]
    assert ch.build_hash(base) != ch.build_hash(base + [("b", "d", "")])


# --------------------------------------------------------------------------- dockerfile outside

@pytest.mark.parametrize(
    "mutate, same",
    [
        (lambda df: None, True),
        (lambda df: os.utime(str(df), (1, 1)), True),
        (lambda df: df.write_text("FROM debian\n"), False),
        (lambda df: df.write_text("FROM scratch\n\n"), False),
    ],
    ids=["untouched", "utime-only", "content-replaced", "byte-appended"],
)
def test_dockerfile_outside_context_is_hashed(tmp_path, mutate, same):
    root = make_context(tmp_path / "ctx")
    dockerfile = tmp_path / "elsewhere" / "Dockerfile.custom"
    dockerfile.parent.mkdir()
    dockerfile.write_text("FROM scratch\n")
    without = hash_of(root)
    before = hash_of(root, dockerfile=str(dockerfile))
    assert before != without
    mutate(dockerfile)
    after = hash_of(root, dockerfile=str(dockerfile))
    assert (after == before) is same


def test_context_hash_counts_entries(tmp_path):
    root = make_context(tmp_path / "ctx")
    assert ch.context_hash(str(root))[1] == 6
    (root / "empty").mkdir()
    assert ch.context_hash(str(root))[1] == 7


# --------------------------------------------------------------------------- errors

def _missing(tmp_path):
    return tmp_path / "does-not-exist"


def _regular_file(tmp_path):
    path = tmp_path / "file"
    path.write_text("x")
    return path


def _fifo_top(tmp_path):
    root = make_context(tmp_path / "ctx")
    os.mkfifo(str(root / "pipe"))
    return root


def _fifo_nested(tmp_path):
    root = make_context(tmp_path / "ctx")
    os.mkfifo(str(root / "sub" / "pipe"))
    return root


@pytest.mark.parametrize(
    "make, match",
    [
        (_missing, "not a directory"),
        (_regular_file, "not a directory"),
        (_fifo_top, "unsupported file type in build context: pipe"),
        (_fifo_nested, "unsupported file type in build context: sub/pipe"),
    ],
    ids=["missing-dir", "path-is-a-file", "fifo", "fifo-in-subdir"],
)
def test_context_hash_raises_value_error(tmp_path, make, match):
    path = make(tmp_path)
    with pytest.raises(ValueError, match=re.escape(match)):
        ch.context_hash(str(path))


# --------------------------------------------------------------------------- rsync's excludes, emulated

@pytest.mark.parametrize("patterns, rel, is_dir, excluded", [
    (["node_modules"], "node_modules", True, True),
    (["node_modules"], "web/node_modules", True, True),
    (["node_modules"], "node_modules.txt", False, False),
    (["*.pyc"], "app/x.pyc", False, True),
    (["*.pyc"], "app/x.pyc.keep", False, False),
    (["tests"], "tests", True, True),
    (["tests"], "app/tests", True, True),
    (["tests/"], "tests", False, False),   # a trailing slash: directories only
    (["tests/"], "tests", True, True),
    (["/dist"], "dist", True, True),       # anchored at the root of the transfer
    (["/dist"], "web/dist", True, False),
    (["app/*.log"], "app/x.log", False, True),
    (["app/*.log"], "src/app/x.log", False, True),   # a slash: matched against the end of the path
    (["app/*.log"], "app/sub/x.log", False, False),  # `*` stops at a slash
    (["app/**.log"], "app/sub/x.log", False, True),  # `**` does not
    (["?.txt"], "a.txt", False, True),
    (["?.txt"], "ab.txt", False, False),
    (["[ab].txt"], "b.txt", False, True),
    (["[ab].txt"], "c.txt", False, False),
    (["[!a]bc"], "xbc", False, True),      # [! ...] negates, as in rsync
    (["[!a]bc"], "abc", False, False),
    (["cache/***"], "cache", True, True),  # the directory itself and all under it
    (["cache/***"], "app/cache/x", False, True),
    (["cache/***"], "cached", True, False),
    (["a\\*b"], "a*b", False, True),         # a backslash makes the next character literal
    (["a\\*b"], "axb", False, False),
    ([], "anything", False, False),
])
def test_excludes_match_as_rsync_matches_them(patterns, rel, is_dir, excluded):
    assert ch.exclude_matcher(patterns)(rel, is_dir) is excluded


def test_source_entries_leave_out_excludes_links_and_what_lies_under_an_excluded_directory(tmp_path):
    src = tmp_path / "src"
    (src / "app" / "__pycache__").mkdir(parents=True)
    (src / "app" / "__pycache__" / "m.cpython.pyc").write_bytes(b"x")
    (src / "app" / "main.py").write_text("print(1)\n")
    (src / "app" / "empty").mkdir()
    (src / "run.sh").write_text("#!/bin/sh\n")
    os.chmod(src / "run.sh", 0o750)
    os.symlink("app/main.py", str(src / "link.py"))
    entries = ch.source_entries(str(src), ["__pycache__"])
    paths = [entry[0] for entry in entries]
    assert paths == ["src", "src/app", "src/app/empty", "src/app/main.py", "src/run.sh"]
    run_sh = dict((e[0], e) for e in entries)["src/run.sh"]
    assert run_sh[2].startswith("x")  # any execute bit makes it executable in the copy (Fa+X)
    assert dict((e[0], e) for e in entries)["src/app/main.py"][2] == "-" + hashlib.sha256(b"print(1)\n").hexdigest()


def test_source_entries_equal_the_entries_of_the_context_a_copy_would_give(tmp_path):
    src = tmp_path / "tree"
    (src / "pkg").mkdir(parents=True)
    (src / "pkg" / "a.py").write_text("a\n")
    (src / "skip.log").write_text("log\n")
    context = tmp_path / "context"
    (context / "src" / "pkg").mkdir(parents=True)
    (context / "src" / "pkg" / "a.py").write_text("a\n")
    (context / "Dockerfile").write_text("FROM x\n")
    planned = sorted(ch.source_entries(str(src), ["*.log"]) + [ch.text_entry("Dockerfile", "FROM x\n")])
    assert planned == ch.tree_entries(str(context))
