"""The engine restarts once on a daemon.json change; images rebuild only when an input changes."""

import json
import re
import time

from conftest import playbook, sh


def dockerd_pid():
    return open("/var/run/docker-ssd.pid", encoding="utf-8").read().strip()


# Asks the engine through the bind-mounted socket, as a socket proxy does.
PING = ("import socket; s = socket.socket(socket.AF_UNIX); s.connect('/var/run/docker.sock'); "
        "s.sendall(b'GET /_ping HTTP/1.0\\r\\n\\r\\n'); assert b' 200 ' in s.recv(64)")


def last_health_check(name):
    log = json.loads(sh("docker", "inspect", "--format", "{{json .State.Health.Log}}", name).stdout) or []
    return max(entry["Start"] for entry in log) if log else ""


def test_daemon_json_change_restarts_the_engine_once_and_containers_survive(engine):
    """live-restore keeps containers running through the restart; the role then restarts the one holding the
    replaced socket and resumes the health checks Docker 20.10 stops (moby/moby#41871)."""
    name, proxy = "taylordash-test-live-restore", "taylordash-test-socket-user"
    sh("docker", "rm", "-f", name, proxy, check=False)
    sh("docker", "run", "-d", "--name", name, "--health-cmd", "true", "--health-interval", "1s",
       "taylordash/debian:13", "sleep", "600")
    sh("docker", "run", "-d", "--name", proxy, "-v", "/var/run/docker.sock:/var/run/docker.sock:ro",
       "taylordash/python:3.13", "sleep", "600")
    try:
        pid_before = dockerd_pid()
        proxy_started = sh("docker", "inspect", "--format", "{{.State.StartedAt}}", proxy).stdout
        changed = playbook("playbooks/engine.yml", extra_vars={"docker_engine_log_max_file": 5})
        assert changed.rc == 0, changed
        assert "RUNNING HANDLER [docker_engine : Stop dockerd for a restart]" in changed.out
        assert changed.out.count("RUNNING HANDLER [docker_engine : Start dockerd again]") == 1
        assert dockerd_pid() != pid_before
        assert json.loads(open("/etc/docker/daemon.json", encoding="utf-8").read())["log-opts"]["max-file"] == "5"
        running = sh("docker", "inspect", "--format", "{{.State.Running}}", name).stdout.strip()
        assert running == "true", "live-restore should keep containers running across the restart"
        report = " ".join(changed.out.split())
        restarted = re.search(r"restarted, as they held the socket the engine replaced: ([^;]*);", report)
        resumed = re.search(r"health checks resumed, which this engine stops on a live restore: ([^']*)'", report)
        assert restarted and proxy in restarted.group(1).split(", ") and name not in restarted.group(1), report
        if int(engine.split(".")[0]) < 23:  # later engines resume the health checks themselves
            assert resumed and name in resumed.group(1).split(", ") and proxy not in resumed.group(1), report
        assert sh("docker", "inspect", "--format", "{{.State.StartedAt}}", proxy).stdout != proxy_started
        assert sh("docker", "exec", proxy, "python3", "-c", PING, check=False).returncode == 0, \
            "the restarted container should reach the new engine through its socket"
        restarted_at = sh("stat", "-c", "%y", "/var/run/docker.sock").stdout.replace(" ", "T")[:26]
        deadline = time.monotonic() + 20
        while last_health_check(name)[:26] < restarted_at:
            assert time.monotonic() < deadline, "no health check ran since the restart"
            time.sleep(1)
        pid_after = dockerd_pid()
        steady = playbook("playbooks/engine.yml", extra_vars={"docker_engine_log_max_file": 5})
        assert steady.rc == 0 and steady.changed == 0, steady
        assert dockerd_pid() == pid_after
    finally:
        restored = playbook("playbooks/engine.yml")
        sh("docker", "rm", "-f", name, proxy, check=False)
    assert restored.rc == 0, restored
    assert sh("pgrep", "-c", "-x", "dockerd").stdout.strip() == "1"


def test_a_changed_build_argument_rebuilds_exactly_that_image(mosquitto_rebuilt):
    run, before, after = mosquitto_rebuilt["changed"], mosquitto_rebuilt["before"], mosquitto_rebuilt["after"]
    assert run.rc == 0, run
    assert after["taylordash/mosquitto:2.0"] != before["taylordash/mosquitto:2.0"]
    assert {k: v for k, v in after.items() if "mosquitto" not in k} == {
        k: v for k, v in before.items() if "mosquitto" not in k}
    restored = mosquitto_rebuilt["restored"]
    assert restored.rc == 0, restored
    assert restored.changed >= 1, "the original inputs must rebuild mosquitto again"
    assert mosquitto_rebuilt["now"]["taylordash/mosquitto:2.0"] != after["taylordash/mosquitto:2.0"]
    again = playbook("deploy-prod.yml", "--tags", "images")
    assert again.rc == 0 and again.changed == 0, again
