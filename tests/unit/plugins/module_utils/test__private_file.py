# -*- coding: utf-8 -*-
"""Tests for plugins/module_utils/_private_file.py: real files in tmp_path, with a real AnsibleModule."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import stat

import pytest

from ansible.module_utils import basic

from ansible_collections.taylordash.ops.plugins.module_utils import _private_file as pf
from ansible_collections.taylordash.ops.tests.unit.plugins.modules import harness


def make_module(path, **params):
    """An AnsibleModule with the file common arguments, as env_file and mosquitto_passwd build theirs."""
    args = dict(path=str(path))
    args.update(params)
    with harness.patch_module_args(args):
        return basic.AnsibleModule(argument_spec=dict(path=dict(type="path", required=True),
                                                      mode=dict(type="raw")),
                                   add_file_common_args=True)


def write(path, content, **params):
    """write_private through a module built for path; returns the module's file_args."""
    module = make_module(path, **params)
    file_args = module.load_file_common_arguments(module.params)
    pf.write_private(module, str(path), content, file_args)
    return file_args


def mode_of(path):
    return stat.S_IMODE(os.stat(str(path)).st_mode)


@pytest.fixture
def moves(monkeypatch):
    """Record (mode, uid, gid, directory, dest) of the source of every atomic_move."""
    seen = []
    real_move = basic.AnsibleModule.atomic_move

    def recording_move(self, src, dest, *args, **kwargs):
        st = os.stat(src)
        seen.append((stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid, os.path.dirname(src), dest))
        return real_move(self, src, dest, *args, **kwargs)

    monkeypatch.setattr(basic.AnsibleModule, "atomic_move", recording_move)
    return seen


# --------------------------------------------------------------------------- read_bytes

def test_read_bytes_of_a_missing_file_is_none(tmp_path):
    assert pf.read_bytes(str(tmp_path / "nope")) is None


def test_read_bytes_returns_the_content(tmp_path):
    path = tmp_path / "f"
    path.write_bytes(b"a\x00\xffb")
    assert pf.read_bytes(str(path)) == b"a\x00\xffb"


def test_read_bytes_of_a_directory_raises(tmp_path):
    with pytest.raises((IOError, OSError)):
        pf.read_bytes(str(tmp_path))


# --------------------------------------------------------------------------- write_private

def test_new_file_is_0600_even_with_umask_0(tmp_path, moves):
    path = tmp_path / "secret"
    old = os.umask(0)
    try:
        write(path, b"s3cret\n")  # no mode given: only the helper keeps the file private
        assert os.umask(0) == 0  # umask restored
    finally:
        os.umask(old)
    assert path.read_bytes() == b"s3cret\n"
    assert mode_of(path) == 0o600
    assert [seen[0] for seen in moves] == [0o600]
    assert [seen[3:] for seen in moves] == [(str(tmp_path), str(path))]
    assert os.listdir(str(tmp_path)) == ["secret"]  # no temporary file left


def test_text_content_is_written_as_utf8(tmp_path):
    path = tmp_path / "secret"
    write(path, u"KEY='\u00fcmlaut'\n", mode="0600")
    assert path.read_bytes() == u"KEY='\u00fcmlaut'\n".encode("utf-8")


@pytest.mark.parametrize("old_mode, wanted", [(0o644, 0o640), (0o666, 0o600)], ids=["0644-to-0640", "0666-to-0600"])
def test_wanted_mode_is_on_the_temporary_file_before_the_move(tmp_path, moves, old_mode, wanted):
    path = tmp_path / "secret"
    path.write_bytes(b"old\n")
    os.chmod(str(path), old_mode)
    write(path, b"new\n", mode="%04o" % wanted)
    assert [seen[0] for seen in moves] == [wanted]  # the old file's mode is never copied
    # a replaced file gets the temporary file's mode: no fix-up needed after the write
    assert mode_of(path) == wanted and path.read_bytes() == b"new\n"


def test_replaced_file_keeps_owner_and_group_when_none_given(tmp_path, monkeypatch, moves):
    """The temporary file is chowned to the replaced file's owner and group before the move."""
    path = tmp_path / "secret"
    path.write_bytes(b"old\n")
    st = os.stat(str(path))
    chowns = []
    real_chown = os.chown

    def recording_chown(target, uid, gid, *args, **kwargs):
        chowns.append((os.path.dirname(str(target)), uid, gid))
        return real_chown(target, uid, gid, *args, **kwargs)

    monkeypatch.setattr(os, "chown", recording_chown)
    write(path, b"new\n", mode="0600")
    assert chowns[0] == (str(tmp_path), st.st_uid, st.st_gid)
    assert [seen[1:3] for seen in moves] == [(st.st_uid, st.st_gid)]


@pytest.mark.skipif(os.geteuid() != 0, reason="chown needs root")
def test_replaced_file_keeps_a_foreign_owner_when_none_given(tmp_path, moves):
    path = tmp_path / "secret"
    path.write_bytes(b"old\n")
    os.chown(str(path), 4321, 4322)
    write(path, b"new\n", mode="0600")
    st = os.stat(str(path))
    assert (st.st_uid, st.st_gid) == (4321, 4322) and mode_of(path) == 0o600
    assert [seen[:3] for seen in moves] == [(0o600, 4321, 4322)]


@pytest.mark.skipif(os.geteuid() != 0, reason="chown needs root")
def test_wanted_owner_and_group_are_on_the_temporary_file_before_the_move(tmp_path, moves):
    path = tmp_path / "secret"
    path.write_bytes(b"old\n")
    os.chown(str(path), 4321, 4322)
    write(path, b"new\n", owner="1883", group="1884", mode="0640")
    assert [seen[:3] for seen in moves] == [(0o640, 1883, 1884)]
    st = os.stat(str(path))
    assert (st.st_uid, st.st_gid, mode_of(path)) == (1883, 1884, 0o640)


def test_new_file_needs_the_attributes_applied_again_after_the_write(tmp_path, moves):
    """atomic_move chmods a created file to 0666 & ~umask (0600 here): the caller re-applies file_args."""
    path = tmp_path / "secret"
    module = make_module(path, mode="0640")
    file_args = module.load_file_common_arguments(module.params)
    pf.write_private(module, str(path), b"new\n", file_args)
    assert [seen[0] for seen in moves] == [0o640]
    assert mode_of(path) == 0o600  # never more open than 0600 in between
    assert module.set_fs_attributes_if_different(file_args, False) is True
    assert mode_of(path) == 0o640
    assert module.set_fs_attributes_if_different(file_args, False) is False


def test_failed_move_leaves_no_temporary_file_and_keeps_the_old_one(tmp_path, monkeypatch):
    path = tmp_path / "secret"
    path.write_bytes(b"old\n")

    def failing_move(self, src, dest, *args, **kwargs):
        raise Exception("Could not replace %r" % dest)

    monkeypatch.setattr(basic.AnsibleModule, "atomic_move", failing_move)
    umask = os.umask(0o022)
    try:
        with pytest.raises(Exception, match="Could not replace"):
            write(path, b"new\n", mode="0600")
        assert os.umask(0o022) == 0o022  # umask restored on failure too
    finally:
        os.umask(umask)
    assert os.listdir(str(tmp_path)) == ["secret"] and path.read_bytes() == b"old\n"


def test_missing_directory_raises(tmp_path):
    with pytest.raises(OSError):
        write(tmp_path / "nope" / "secret", b"x\n", mode="0600")
