# -*- coding: utf-8 -*-
"""plugins/modules/apt_mirrors.py on real apt directories in tmp_path: the mirrors, the digests, and the two
refusals (no mirror to debootstrap from, no CA bundle) with the caller's messages."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib

from ansible_collections.taylordash.ops.plugins.modules import apt_mirrors
from ansible_collections.taylordash.ops.tests.unit.plugins.modules import harness

NO_MIRROR = "set images_debian_mirror"
NO_FILE = "images_ca_bundle is not a file"


def etc(tmp_path, sources):
    directory = tmp_path / "apt"
    (directory / "sources.list.d").mkdir(parents=True, exist_ok=True)
    (directory / "sources.list").write_text(sources)
    return str(directory)


def run(tmp_path, sources, files, **messages):
    args = dict({"etc": etc(tmp_path, sources), "sha256_of": files}, **messages)
    return harness.run_module(apt_mirrors, args)


def test_mirrors_and_digests_without_messages_never_fail(tmp_path):
    bundle = tmp_path / "ca.crt"
    bundle.write_text("pem\n")
    sources = "deb http://deb.example/debian trixie main\ndeb http://deb.example/debian-security trixie-security main\n"
    outcome, result = run(tmp_path, sources, [str(bundle), str(tmp_path / "absent")])
    assert outcome == "exit" and result["changed"] is False
    assert (result["mirror"], result["security"]) == ("http://deb.example/debian/", "http://deb.example/debian-security/")
    assert result["sha256"] == {str(bundle): hashlib.sha256(b"pem\n").hexdigest()}
    outcome, result = run(tmp_path, "", [])
    assert outcome == "exit" and result["mirror"] == ""


def test_each_refusal_with_its_message_and_both_together(tmp_path):
    bundle = tmp_path / "ca.crt"
    bundle.write_text("pem\n")
    messages = {"no_mirror_message": NO_MIRROR, "missing_file_message": NO_FILE}
    outcome, result = run(tmp_path, "deb http://deb.example/debian trixie main\n", [str(bundle)], **messages)
    assert outcome == "exit", result
    outcome, result = run(tmp_path, "", [str(bundle)], **messages)
    assert (outcome, result["msg"]) == ("fail", NO_MIRROR)
    outcome, result = run(tmp_path, "deb http://deb.example/debian trixie main\n", [str(tmp_path / "no")], **messages)
    assert (outcome, result["msg"]) == ("fail", NO_FILE)
    outcome, result = run(tmp_path, "", [str(tmp_path / "no")], **messages)
    assert (outcome, result["msg"]) == ("fail", NO_MIRROR + " " + NO_FILE)
