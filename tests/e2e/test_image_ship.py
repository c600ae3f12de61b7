"""roles/images/tasks/ship.yml and keep.yml against a real second engine: a Docker-in-Docker container
(tdship-target) stands in for a target host without a registry, reached with the community.docker.docker
connection; the build host is this machine's engine (localhost). Only images tagged tdship/* are shipped,
so the images of the running stack are never touched (they are tagged, never removed)."""

import json
import re
import subprocess
import time
from pathlib import Path

import pytest

from conftest import playbook, sh

TARGET = "tdship-target"
VOLUME = "tdship-docker"
IMAGE = "tdship-target:test"
CONTEXT = Path(__file__).resolve().parent / "ship-target"
# Local images that the test tags under its own names.
SOURCES = {"tdship/app:1": "taylordash/mosquitto:2.0", "tdship/proxy:1": "taylordash/haproxy:3.0"}
OTHER = "taylordash/debian:13"


def image_id(ref, inside=False):
    cmd = (["docker", "exec", TARGET] if inside else []) + ["docker", "image", "inspect", "--format", "{{.Id}}", ref]
    proc = sh(*cmd, check=False)
    return proc.stdout.strip() if proc.returncode == 0 else None


def target_docker(*args, check=True):
    return sh("docker", "exec", TARGET, "docker", *args, check=check)


@pytest.fixture(scope="module")
def target(engine, tmp_path_factory):
    """The stand-in target host with its own engine, an inventory for it, and a scratch archive cache."""
    base = tmp_path_factory.mktemp("ship")
    for name, ref in [("container", TARGET), ("volume", VOLUME)]:
        assert sh("docker", name, "inspect", ref, check=False).returncode != 0, \
            "%s %s exists already: remove it (the test creates and removes it)" % (name, ref)
    sh("docker", "build", "-q", "-t", IMAGE, str(CONTEXT))
    for ref, source in SOURCES.items():
        sh("docker", "tag", source, ref)
    try:
        sh("docker", "run", "-d", "--name", TARGET, "--cap-add", "SYS_ADMIN", "--cap-add", "NET_ADMIN",
           "--cap-add", "MKNOD", "--cap-add", "SYS_PTRACE", "--cap-add", "NET_RAW",
           "--security-opt", "seccomp=unconfined", "--security-opt", "apparmor=unconfined",
           "--device-cgroup-rule", "a *:* rwm", "--tmpfs", "/run", "-v", "/sys/fs/cgroup:/sys/fs/cgroup:rw",
           "-v", VOLUME + ":/var/lib/docker", IMAGE, "sh", "-c", "dockerd >/var/log/dockerd.log 2>&1")
        deadline = time.monotonic() + 60
        while target_docker("info", check=False).returncode != 0:
            assert time.monotonic() < deadline, sh("docker", "logs", TARGET, check=False).stdout
            time.sleep(1)
        inventory = base / "inventory.yml"
        inventory.write_text(json.dumps({"all": {"hosts": {TARGET: {
            "ansible_connection": "community.docker.docker", "ansible_host": TARGET,
            "ansible_python_interpreter": "/usr/bin/python3"}}}}))
        play = base / "ship.yml"
        play.write_text(
            "- name: Ship images to the target\n  hosts: all\n  gather_facts: false\n  tasks:\n"
            "    - name: Bring the images it needs\n      ansible.builtin.include_role:\n"
            "        name: images\n        tasks_from: ship\n")
        yield {"inventory": inventory, "play": play, "cache": base / "cache"}
    finally:
        sh("docker", "rm", "-f", "-v", TARGET, check=False)
        sh("docker", "volume", "rm", VOLUME, check=False)
        sh("docker", "rmi", IMAGE, check=False)
        # Only the test's own tags: the images they point at stay.
        for ref in SOURCES:
            sh("docker", "rmi", "--no-prune", ref, check=False)


def ship(target, refs, *args, **extra):
    settings = {"taylordash_image_source": "build", "taylordash_minio_enabled": False,
                "taylordash_grafana_enabled": False, "images_ship_refs": refs,
                "images_ship_cache_dir": str(target["cache"]), "images_keep_repos": []}
    settings.update(extra)
    return playbook("-i", str(target["inventory"]), *args, str(target["play"]), extra_vars=settings,
                    stack_vars=False)


def task_state(run, name):
    """ok/changed/skipping/failed of the first task whose name starts with `name`."""
    match = re.search(r"TASK \[images : " + re.escape(name) + r"[^\]]*\] \**\n(\w+)", run.out)
    return match.group(1).rstrip(":") if match else None


def archives(target):
    return sorted((p.name, p.stat().st_mtime_ns) for p in target["cache"].glob("*.tar"))


def test_ships_two_images_that_run_there(target):
    run = ship(target, list(SOURCES))
    assert run.rc == 0, run
    assert run.recap[TARGET]["changed"] == 1, run
    assert task_state(run, "Load the images") == "changed", run
    for ref in SOURCES:
        assert image_id(ref, inside=True) == image_id(ref)
    assert len(archives(target)) == 1
    target_docker("run", "--rm", "--network", "none", "tdship/app:1", "true")
    assert "HAProxy version" in target_docker("run", "--rm", "--network", "none", "tdship/proxy:1",
                                              "haproxy", "-v").stdout
    # The copy on the target is gone after loading.
    assert sh("docker", "exec", TARGET, "sh", "-c", "ls -A /var/tmp/taylordash-images").stdout.strip() == ""


def test_second_run_changes_nothing_and_exports_nothing(target):
    before = archives(target)
    run = ship(target, list(SOURCES))
    assert run.rc == 0, run
    assert run.changed == 0, run
    assert task_state(run, "Export one archive") == "skipping", run
    assert archives(target) == before


def test_a_changed_image_under_the_same_ref_ships_again(target):
    sh("docker", "tag", OTHER, "tdship/app:1")
    run = ship(target, list(SOURCES))
    assert run.rc == 0, run
    assert run.recap[TARGET]["changed"] == 1, run
    assert image_id("tdship/app:1", inside=True) == image_id(OTHER)
    # Only the changed ref travelled: its own archive, beside the first.
    assert len(archives(target)) == 2
    assert "tdship/proxy:1" not in re.search(r"TASK \[images : Load the images\].*?\n\n", run.out, re.S).group(0)


def test_too_little_free_space_fails_before_copying(target):
    sh("docker", "tag", SOURCES["tdship/app:1"], "tdship/app:1")
    run = ship(target, list(SOURCES), images_ship_min_free_mb=50_000_000)
    assert run.rc != 0, run
    message = re.search(r"Not enough disk space on (\S+) to load (.+?): (\d+) MB needed.*?, (\d+) MB available",
                        run.out.replace("\n", " "))
    assert message, run
    assert message.group(1) == TARGET and "tdship/app:1" in message.group(2)
    assert int(message.group(3)) > 50_000_000 > int(message.group(4)) > 0
    assert task_state(run, "Copy the archive here") is None, run
    assert image_id("tdship/app:1", inside=True) == image_id(OTHER)


def test_check_mode_reports_and_ships_nothing(target):
    before = archives(target)
    run = ship(target, list(SOURCES), "--check")
    assert run.rc == 0, run
    assert run.recap[TARGET]["changed"] == 1, run
    assert "would receive: tdship/app:1" in run.out
    assert image_id("tdship/app:1", inside=True) == image_id(OTHER)
    assert archives(target) == before


def test_keep_tags_the_previous_app_image_and_removes_older_ones(target):
    """tdship/app:1 (mosquitto) is current on the target; :2 and :3 arrive one after the other."""
    run = ship(target, ["tdship/app:1"], images_keep_repos=["tdship/app"])
    assert run.rc == 0, run
    try:
        sh("docker", "tag", OTHER, "tdship/app:2")
        run = ship(target, ["tdship/app:2"], images_keep_repos=["tdship/app"])
        assert run.rc == 0, run
        assert image_id("tdship/app:previous", inside=True) == image_id("tdship/app:1")
        sh("docker", "tag", "taylordash/haproxy:3.0", "tdship/app:3")
        run = ship(target, ["tdship/app:3"], images_keep_repos=["tdship/app"])
        assert run.rc == 0, run
        tags = target_docker("images", "--format", "{{.Repository}}:{{.Tag}}", "tdship/app").stdout.split()
        assert sorted(tags) == ["tdship/app:2", "tdship/app:3", "tdship/app:current", "tdship/app:previous"]
        # The previous is the one current before (:2), not the newest build (:1, mosquitto, is newer).
        assert image_id("tdship/app:previous", inside=True) == image_id(OTHER)
        assert image_id("tdship/app:current", inside=True) == image_id("tdship/app:3")
        # The image of tdship/app:1 is gone from the target (no other tag, no container).
        assert image_id(image_id(SOURCES["tdship/app:1"]), inside=True) is None
        again = ship(target, ["tdship/app:3"], images_keep_repos=["tdship/app"])
        assert again.rc == 0 and again.changed == 0, again
    finally:
        for ref in ("tdship/app:2", "tdship/app:3"):
            subprocess.run(["docker", "rmi", "--no-prune", ref], capture_output=True, check=False)


def test_synchronize_transfer_ships_too(target):
    sh("docker", "tag", OTHER, "tdship/proxy:1")
    run = ship(target, list(SOURCES), images_ship_transfer="synchronize")
    assert run.rc == 0, run
    assert run.recap[TARGET]["changed"] == 1, run
    assert task_state(run, "Rsync the archive here from the controller") == "ok", run
    assert image_id("tdship/proxy:1", inside=True) == image_id(OTHER)


def test_registry_source_pulls_through_the_mirror_in_check_mode(target):
    """No registry is reachable here: check mode shows the mirrored reference the host would pull."""
    run = ship(target, ["tdship/app:9"], "--check", "-v", taylordash_image_source="registry",
               images_registry_mirror="mirror.invalid/")
    assert run.rc == 0, run
    assert run.recap[TARGET]["changed"] == 1, run
    assert "mirror.invalid/tdship/app:9" in run.out
    assert task_state(run, "Export one archive") == "skipping", run
