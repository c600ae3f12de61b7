# -*- coding: utf-8 -*-
"""plugins/modules/path_state.py on real paths: one read of kinds, modes and digests, nothing written."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib

from ansible_collections.taylordash.ops.plugins.modules import path_state
from ansible_collections.taylordash.ops.tests.unit.plugins.modules import harness


def test_kinds_modes_and_digests_absent_paths_left_out(tmp_path):
    (tmp_path / "d").mkdir()
    (tmp_path / "d").chmod(0o700)
    (tmp_path / "f").write_text("x\n")
    (tmp_path / "f").chmod(0o600)
    (tmp_path / "l").symlink_to(tmp_path / "f")
    paths = [str(tmp_path / name) for name in ("d", "f", "l", "absent")]
    outcome, result = harness.run_module(path_state, {"paths": paths, "_ansible_check_mode": True})
    assert outcome == "exit" and result["changed"] is False
    state = result["paths"]
    assert sorted(state) == sorted(paths[:3])
    assert (state[paths[0]]["kind"], state[paths[0]]["mode"]) == ("d", "0700")
    assert state[paths[1]] == dict(state[paths[1]], kind="f", mode="0600", sha1=hashlib.sha1(b"x\n").hexdigest())
    assert state[paths[2]]["kind"] == "l"
    outcome, result = harness.run_module(path_state, {"paths": paths[1:2], "checksum": False})
    assert "sha1" not in result["paths"][paths[1]]


def test_a_socket_is_named_as_one(tmp_path):
    import socket
    path = str(tmp_path / "docker.sock")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        server.bind(path)
        outcome, result = harness.run_module(path_state, {"paths": [path], "checksum": False})
    finally:
        server.close()
    assert result["paths"][path]["kind"] == "s"


def test_the_files_of_read_come_with_their_text_and_a_large_or_absent_one_without(tmp_path, monkeypatch):
    from ansible_collections.taylordash.ops.plugins.module_utils import _path_state
    monkeypatch.setattr(_path_state, "READ_LIMIT", 8)
    (tmp_path / "cert.pem").write_text("PEM\xe9\n")
    (tmp_path / "big").write_text("x" * 9)
    (tmp_path / "other").write_text("y")
    read = [str(tmp_path / name) for name in ("cert.pem", "big", "absent")]
    outcome, result = harness.run_module(path_state, {"paths": [str(tmp_path / "other")], "read": read,
                                                      "checksum": False})
    assert outcome == "exit"
    state = result["paths"]
    assert state[read[0]]["text"] == "PEM\xe9\n" and state[read[0]]["kind"] == "f"
    assert "text" not in state[read[1]] and read[2] not in state
    assert "text" not in state[str(tmp_path / "other")]


def test_a_refused_path_that_exists_fails_with_its_message_and_one_that_does_not_passes(tmp_path):
    marker, absent = tmp_path / "pending", tmp_path / "absent"
    marker.write_text("volume\n")
    refuse = {str(marker): "An upgrade stopped half way: finish it.", str(absent): "never shown"}
    outcome, result = harness.run_module(path_state, {"paths": [str(marker)], "refuse": refuse})
    assert outcome == "fail" and result["msg"] == "An upgrade stopped half way: finish it.", result
    assert result["refused"] == [str(marker)] and str(marker) in result["paths"]
    marker.unlink()
    outcome, result = harness.run_module(path_state, {"paths": [str(marker)], "refuse": refuse})
    assert outcome == "exit" and result["paths"] == {}
