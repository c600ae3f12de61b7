"""The shared `compose up --wait` step (taylordash role, compose_up.yml) on a
throwaway project of its own: `--wait` gives up at once on a container that is
already unhealthy, even one the run did not touch and that only waits for a
dependency to come back (a backend whose broker was stopped). Such a service
gets until the wait timeout to pass its healthcheck again; one that never does
is still named, with its log lines."""

import json
import subprocess
import threading

import pytest

from conftest import ROOT, ansible_env, sh

PROJECT = "tdrecovery"
COMPOSE = """\
name: %s
services:
  app:
    image: taylordash/debian:13
    command: [sh, -c, "touch /tmp/ok; echo app up, healthy while /tmp/ok exists; exec sleep infinity"]
    init: true
    healthcheck:
      test: [CMD, test, -f, /tmp/ok]
      interval: 2s
      timeout: 2s
      retries: 1
""" % PROJECT
PLAY = """\
- hosts: localhost
  gather_facts: false
  tasks:
    - ansible.builtin.include_role:
        name: taylordash
        tasks_from: compose_up
      vars:
        taylordash_deploy_dir: {dir}
        taylordash_project_name: %s
        taylordash_image_source: build
        taylordash_compose_files: [{dir}/docker-compose.yml]
        taylordash_compose_wait_timeout: 10
        taylordash_compose_log_lines: 5
""" % PROJECT


@pytest.fixture
def project(tmp_path, engine):
    (tmp_path / "docker-compose.yml").write_text(COMPOSE)
    (tmp_path / "play.yml").write_text(PLAY.format(dir=tmp_path))
    base = ["docker", "compose", "--project-directory", str(tmp_path)]
    sh(*base, "up", "-d", "--wait")
    yield tmp_path
    sh(*base, "down", "--volumes", "--timeout", "1")


def make_unhealthy():
    sh("docker", "exec", PROJECT + "-app-1", "rm", "/tmp/ok")
    sh("timeout", "30", "sh", "-c", "until [ \"$(docker inspect -f '{{.State.Health.Status}}' %s-app-1)\" = unhealthy ];"
       " do sleep 1; done" % PROJECT)


def run_play(path, on_line=None):
    """ansible-playbook on the project's play; on_line(line) sees each output line as it comes."""
    proc = subprocess.Popen(["ansible-playbook", str(path / "play.yml")], cwd=ROOT, env=ansible_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines = []
    for line in proc.stdout:
        lines.append(line)
        if on_line:
            on_line(line)
    proc.wait(timeout=300)
    recap = next((l for l in reversed(lines) if l.startswith("localhost") and "changed=" in l), "")
    return proc.returncode, "".join(lines), recap


def test_an_untouched_service_that_turns_healthy_again_is_waited_for(project):
    make_unhealthy()
    recovered = threading.Event()

    def heal(line):
        # Only once compose has given up on it and the wait has begun: the recovery path is what is tested.
        if "to turn healthy: app" in line and not recovered.is_set():
            recovered.set()
            sh("docker", "exec", PROJECT + "-app-1", "touch", "/tmp/ok")

    rc, out, recap = run_play(project, heal)
    assert recovered.is_set(), out
    assert "is unhealthy" in out, out  # compose's own fail-fast, rescued
    assert rc == 0, out
    assert "changed=0" in recap and "failed=0" in recap, recap  # nothing was started or recreated
    state = json.loads(sh("docker", "inspect", PROJECT + "-app-1").stdout)[0]["State"]
    assert state["Health"]["Status"] == "healthy"


def test_an_untouched_service_that_stays_unhealthy_is_named_with_its_logs(project):
    make_unhealthy()
    rc, out, recap = run_play(project)
    assert rc != 0, out
    assert "app did not become healthy" in out, out
    assert "last 5 log lines of app" in out and "app up, healthy while /tmp/ok exists" in out, out
