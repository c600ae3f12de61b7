# -*- coding: utf-8 -*-
"""plugins/modules/compose_plan.py with the docker CLI answered here (the module on the real engine: every
deploy's second run in the end-to-end tests, which asserts changed=0): reads, the plan, the diff."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

from ansible.module_utils import basic

from ansible_collections.taylordash.ops.plugins.modules import compose_plan
from ansible_collections.taylordash.ops.tests.unit.plugins.modules import harness

CONFIG = json.dumps({"services": {"postgres": {"image": "docker.io/library/postgres:17"},
                                  "backend": {"image": "taylordash/backend:abc", "networks": {"default": None}}},
                     "networks": {"default": {"name": "taylordash"}}})


def container(service, image):
    return {"Config": {"Labels": {"com.docker.compose.service": service,
                                  "com.docker.compose.config-hash": "h-" + service}},
            "Image": image, "State": {"Status": "running"},
            "NetworkSettings": {"Networks": {"taylordash": {}}}}


def answers(calls, backend_image="sha256:be", fail_config=False):
    def run_command(self, argv, **kwargs):
        calls.append(argv)
        line = " ".join(argv)
        if "config --format json" in line:
            return (1, "", "no such file docker-compose.yml") if fail_config else (0, CONFIG, "")
        if "config --hash" in line:
            return 0, "backend h-backend\npostgres h-postgres\n", ""
        if line.startswith("docker ps"):
            return 0, "id1\nid2\n", ""
        if line.startswith("docker inspect"):
            return 0, json.dumps([container("postgres", "sha256:pg"), container("backend", backend_image)]), ""
        if line.startswith("docker image inspect"):
            assert "postgres:17" in argv, argv  # as the engine names it, without docker.io/library/
            return 0, '["postgres:17"] sha256:pg\n["taylordash/backend:abc"] sha256:be\n', ""
        raise AssertionError("unexpected command: " + line)
    return run_command


def run(monkeypatch, tmp_path, diff=False, **kwargs):
    calls = []
    monkeypatch.setattr(basic.AnsibleModule, "run_command", answers(calls, **kwargs))
    params = {"project_dir": str(tmp_path), "files": [str(tmp_path / "docker-compose.yml")],
              "project_name": "taylordash", "_ansible_check_mode": True, "_ansible_diff": diff}
    return harness.run_module(compose_plan, params), calls


def test_nothing_to_do_in_five_reads(monkeypatch, tmp_path):
    (outcome, result), calls = run(monkeypatch, tmp_path)
    assert outcome == "exit" and result["changed"] is False and result["changes"] == []
    assert len(calls) == 5 and "--project-name" in calls[0] and "label=com.docker.compose.project=taylordash" in calls[2]
    assert "diff" not in result


def test_a_rebuilt_image_recreates_its_service_and_diff_names_it(monkeypatch, tmp_path):
    (outcome, result), calls = run(monkeypatch, tmp_path, diff=True, backend_image="sha256:old")
    assert result["changes"] == [{"service": "backend", "action": "recreate",
                                  "why": "image taylordash/backend:abc was rebuilt"}]
    assert result["diff"] == {"prepared": "backend: recreate (image taylordash/backend:abc was rebuilt)\n"}


def test_a_broken_project_fails_with_compose_s_words(monkeypatch, tmp_path):
    (outcome, result), calls = run(monkeypatch, tmp_path, fail_config=True)
    assert outcome == "fail" and "docker compose config failed: no such file" in result["msg"]
