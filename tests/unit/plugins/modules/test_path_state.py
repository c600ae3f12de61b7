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
