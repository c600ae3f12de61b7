# -*- coding: utf-8 -*-
"""plugins/modules/build_plan.py with `docker image ls` answered here (the module on the real engine:
every deploy, whose second run asserts changed=0 and no build)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.module_utils import basic

from ansible_collections.taylordash.ops.plugins.module_utils import _context_hash as ch
from ansible_collections.taylordash.ops.plugins.modules import build_plan
from ansible_collections.taylordash.ops.tests.unit.plugins.modules import harness

ENTRIES = [["src", "d", ""]]
TEXTS = {"Dockerfile": "FROM taylordash/python:3.13\n"}
LABELS = {"taylordash.managed": "true"}


def planned_hash(extra=(), base_ids=("sha256:py",)):
    entries = [tuple(e) for e in ENTRIES] + [ch.text_entry("Dockerfile", TEXTS["Dockerfile"])] + list(extra)
    return ch.build_hash(sorted(entries), None, None, list(base_ids), LABELS)


def run(monkeypatch, contexts, listing, missing_ok=False, diff=False, inspect=None):
    calls = []

    def run_command(self, argv, **kwargs):
        calls.append(argv)
        if argv[1:3] == ["image", "inspect"]:
            found = (inspect or {}).get(argv[-1])
            return (0, found + "\n", "") if found else (1, "", "Error: No such image: " + argv[-1])
        assert argv[1:3] == ["image", "ls"], argv
        return 0, listing, ""
    monkeypatch.setattr(basic.AnsibleModule, "run_command", run_command)
    monkeypatch.setattr(basic.AnsibleModule, "get_bin_path", lambda self, name, required=False: "/usr/bin/docker")
    outcome, result = harness.run_module(build_plan, {"contexts": contexts, "missing_ok": missing_ok,
                                                        "_ansible_diff": diff})
    return outcome, result, calls


def context(**overrides):
    spec = {"name": "backend", "repository": "taylordash/backend", "entries": ENTRIES, "texts": TEXTS,
            "base_images": ["taylordash/python:3.13", "taylordash/python:3.13"], "labels": LABELS}
    spec.update(overrides)
    return spec


def test_an_image_of_the_planned_hash_exists_in_one_read(monkeypatch):
    digest = planned_hash()
    listing = "taylordash/python:3.13 sha256:py\ntaylordash/backend:%s sha256:be\n<none>:<none> sha256:x\n" % digest[:12]
    outcome, result, calls = run(monkeypatch, [context()], listing)
    assert outcome == "exit" and result["changed"] is False and len(calls) == 1  # one read for everything
    image = result["images"]["backend"]
    assert image == {"hash": digest, "tag": digest[:12], "ref": "taylordash/backend:" + digest[:12],
                     "exists": True, "current": False, "missing_base_images": []}
    listing += "taylordash/backend:current sha256:be\n"
    outcome, result, calls = run(monkeypatch, [context()], listing)
    assert result["images"]["backend"]["current"] is True
    listing = listing.replace("backend:current sha256:be", "backend:current sha256:older")
    outcome, result, calls = run(monkeypatch, [context()], listing)
    assert result["images"]["backend"]["current"] is False


def test_another_base_image_id_or_a_host_file_changes_the_hash(monkeypatch, tmp_path):
    bundle = tmp_path / "ca.crt"
    bundle.write_text("CA\n")
    listing = "taylordash/python:3.13 sha256:py2\n"
    outcome, result, _calls = run(monkeypatch, [context(files={"build-ca.crt": str(bundle)})], listing)
    extra = [ch.file_entry("build-ca.crt", False, ch.file_digest(str(bundle)))]
    assert result["images"]["backend"]["hash"] == planned_hash(extra, ("sha256:py2",))
    assert result["images"]["backend"]["hash"] != planned_hash()
    assert result["images"]["backend"]["exists"] is False


def test_a_missing_base_image_fails_naming_it_unless_missing_ok(monkeypatch):
    outcome, result, _calls = run(monkeypatch, [context()], "")
    assert outcome == "fail" and "backend" in result["msg"] and "taylordash/python:3.13" in result["msg"]
    outcome, result, _calls = run(monkeypatch, [context()], "", missing_ok=True)
    assert outcome == "exit" and result["images"]["backend"]["hash"] is None
    assert result["images"]["backend"]["ref"] == "taylordash/backend:unbuilt"


def test_a_host_file_that_is_missing_fails_naming_it(monkeypatch, tmp_path):
    listing = "taylordash/python:3.13 sha256:py\n"
    outcome, result, _calls = run(monkeypatch, [context(files={"build-ca.crt": str(tmp_path / "nope")})], listing)
    assert outcome == "fail" and "nope" in result["msg"] and "backend" in result["msg"]


def test_untagged_base_references_are_looked_up_as_latest(monkeypatch):
    listing = "nginx:latest sha256:ng\n"
    outcome, result, _calls = run(monkeypatch, [context(base_images=["docker.io/library/nginx"])], listing)
    assert result["images"]["backend"]["hash"] == planned_hash(base_ids=("sha256:ng",))


def test_diff_shows_the_build_files_of_an_image_to_build_against_the_last_build(monkeypatch, tmp_path):
    (tmp_path / "Dockerfile").write_text("FROM old\n")
    listing = "taylordash/python:3.13 sha256:py\n"
    outcome, result, _calls = run(monkeypatch, [context(path=str(tmp_path))], listing, diff=True)
    assert result["diff"] == [{"before": "FROM old\n", "after": TEXTS["Dockerfile"],
                               "before_header": str(tmp_path / "Dockerfile"), "after_header": str(tmp_path / "Dockerfile")}]
    assert result["changed"] is False
    digest = planned_hash()
    listing += "taylordash/backend:%s sha256:be\n" % digest[:12]
    outcome, result, _calls = run(monkeypatch, [context(path=str(tmp_path))], listing, diff=True)
    assert "diff" not in result  # an image that exists is not built: nothing to show


def test_a_base_image_pinned_by_digest_is_looked_up_by_inspect(monkeypatch):
    pinned = "python:3.13-slim@sha256:" + "a" * 64
    outcome, result, calls = run(monkeypatch, [context(base_images=[pinned])], "", inspect={pinned: "sha256:py"})
    assert outcome == "exit" and result["images"]["backend"]["hash"] == planned_hash()
    assert [c[1:3] for c in calls] == [["image", "ls"], ["image", "inspect"]]
