"""The engine restarts once on a daemon.json change; images rebuild only when an input changes."""

import json

from conftest import image_id, playbook, sh

IMAGES = ["taylordash/debian:13", "taylordash/python:3.13", "taylordash/mosquitto:2.0", "taylordash/postgres:17"]


def dockerd_pid():
    return open("/var/run/docker-ssd.pid", encoding="utf-8").read().strip()


def test_daemon_json_change_restarts_the_engine_once_and_containers_survive(engine):
    name = "taylordash-test-live-restore"
    sh("docker", "rm", "-f", name, check=False)
    sh("docker", "run", "-d", "--name", name, "taylordash/debian:13", "sleep", "600")
    try:
        pid_before = dockerd_pid()
        changed = playbook("playbooks/engine.yml", extra_vars={"docker_engine_log_max_file": 5})
        assert changed.rc == 0, changed
        assert "RUNNING HANDLER [docker_engine : Stop dockerd for a restart]" in changed.out
        assert changed.out.count("RUNNING HANDLER [docker_engine : Start dockerd again]") == 1
        assert dockerd_pid() != pid_before
        assert json.loads(open("/etc/docker/daemon.json", encoding="utf-8").read())["log-opts"]["max-file"] == "5"
        running = sh("docker", "inspect", "--format", "{{.State.Running}}", name).stdout.strip()
        assert running == "true", "live-restore should keep containers running across the restart"
        pid_after = dockerd_pid()
        steady = playbook("playbooks/engine.yml", extra_vars={"docker_engine_log_max_file": 5})
        assert steady.rc == 0 and steady.changed == 0, steady
        assert dockerd_pid() == pid_after
    finally:
        restored = playbook("playbooks/engine.yml")
        sh("docker", "rm", "-f", name, check=False)
    assert restored.rc == 0, restored
    assert sh("pgrep", "-c", "-x", "dockerd").stdout.strip() == "1"


def test_a_changed_build_argument_rebuilds_exactly_that_image(engine):
    before = {ref: image_id(ref) for ref in IMAGES}
    one = [{"name": "mosquitto", "from": ["base"], "args": {"TEST_ONLY_ARG": "changed"}}]
    # The images phase alone (--tags images): this is about which images are rebuilt.
    run = playbook("deploy-prod.yml", "--tags", "images", extra_vars={"images_builds": one})
    assert run.rc == 0, run
    after = {ref: image_id(ref) for ref in IMAGES}
    assert after["taylordash/mosquitto:2.0"] != before["taylordash/mosquitto:2.0"]
    assert {k: v for k, v in after.items() if "mosquitto" not in k} == {
        k: v for k, v in before.items() if "mosquitto" not in k}
    restored = playbook("deploy-prod.yml", "--tags", "images")
    assert restored.rc == 0, restored
    assert restored.changed >= 1, "the original inputs must rebuild mosquitto again"
    again = playbook("deploy-prod.yml", "--tags", "images")
    assert again.rc == 0 and again.changed == 0, again
