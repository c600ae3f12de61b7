"""Infrastructure phase on the real engine: one shared stack, real clients on the project network."""

import json
import os
import socket
import stat
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import yaml

from conftest import DEPLOY_DIR, ROOT, compose, container_ids, playbook, redeploy, read_env, sh

NETWORK = "taylordash"
PG_IMAGE = "taylordash/postgres:17"
MQTT_IMAGE = "taylordash/mosquitto:2.0"
SECRETS = ["POSTGRES_PASSWORD", "MQTT_PASSWORD", "MQTT_MONITOR_PASSWORD", "MINIO_ROOT_PASSWORD",
           "GRAFANA_ADMIN_PASSWORD", "API_KEY", "TRAEFIK_DASHBOARD_PASSWORD"]
PLAN = yaml.safe_load((ROOT / "roles/taylordash/defaults/main.yml").read_text())["taylordash_port_plan"]


def on_network(image, *cmd, env=None):
    """Run a throwaway client container on the project network (another host, as the app will be)."""
    args = ["docker", "run", "--rm", "--network", NETWORK]
    for key, value in (env or {}).items():
        args += ["-e", "%s=%s" % (key, value)]
    return subprocess.run(args + [image, *cmd], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          timeout=120, check=False)


def psql(password, sql, user=None, db=None):
    env = read_env()
    url = "postgresql://%s@postgres:5432/%s" % (user or env["POSTGRES_USER"], db or env["POSTGRES_DB"])
    return on_network(PG_IMAGE, "psql", url, "-Atqc", sql, env={"PGPASSWORD": password, "PGCONNECT_TIMEOUT": "10"})


def ip_of(service):
    out = sh("docker", "inspect", "-f", '{{(index .NetworkSettings.Networks "%s").IPAddress}}' % NETWORK,
             "%s-%s-1" % ("taylordash", service)).stdout.strip()
    assert out, "no address for %s" % service
    return out


def http_json(service, port, path):
    with urllib.request.urlopen("http://%s:%d%s" % (ip_of(service), port, path), timeout=10) as resp:
        return resp.status, json.loads(resp.read().decode() or "null")


def wait_for(predicate, timeout, step=2.0, what="condition"):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(step)
    raise AssertionError("timed out after %ss waiting for %s (last: %r)" % (timeout, what, last))


def healthy_services():
    lines = compose("ps", "--all", "--format", "json").stdout.splitlines()
    return {item["Service"]: (item["State"], item.get("Health", "")) for item in map(json.loads, filter(None, lines))}


def test_second_run_changes_nothing_and_keeps_containers_and_secrets(stack):
    ids = container_ids()
    env_bytes = (DEPLOY_DIR / ".env").read_bytes()
    again = playbook("deploy-prod.yml")
    assert again.rc == 0, again
    assert again.changed == 0, again
    assert container_ids() == ids
    assert (DEPLOY_DIR / ".env").read_bytes() == env_bytes
    # Nothing new: the app's rollout found every service as wanted and ran no migration.
    rollout = again.out.split("TASK [application : Roll the app out start-first", 1)[1].split("TASK [", 1)[0]
    assert "ok: [localhost]" in rollout and "changed:" not in rollout, rollout
    assert "Running upgrade" not in again.out


def test_every_service_healthy_and_production_publishes_only_traefik_and_mqtt(stack):
    services = healthy_services()
    expected = {"traefik", "socket-proxy", "postgres", "victoriametrics", "mosquitto", "prometheus", "alertmanager",
                "node-exporter", "postgres-exporter", "backup", "backend", "frontend", "heal-proxy", "autoheal"}
    assert set(services) == expected
    assert all(state == ("running", "healthy") for state in services.values()), services
    published = set()
    for cid in container_ids().values():
        out = sh("docker", "port", cid).stdout
        published |= {line.split(" -> ")[1] for line in out.splitlines() if " -> " in line}
    # Plain MQTT on loopback only; MQTT over TLS for other hosts.
    assert {address.rsplit(":", 1)[1] for address in published} == {"80", "443", "1883", "8883"}
    assert {address for address in published if address.endswith(":1883")} == {"127.0.0.1:1883"}


def test_env_and_password_file_are_private_and_secrets_strong(stack):
    env_file = DEPLOY_DIR / ".env"
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
    env = read_env()
    for name in SECRETS:
        assert len(env[name]) >= 32 and env[name].isalnum(), name
    assert len({env[name] for name in SECRETS}) == len(SECRETS)
    # Derived in one place from the secrets.
    assert env["DATABASE_URL"] == "postgresql://%s:%s@postgres:5432/%s" % (
        env["POSTGRES_USER"], env["POSTGRES_PASSWORD"], env["POSTGRES_DB"])
    passwd = DEPLOY_DIR / "config/mosquitto/passwd"
    assert stat.S_IMODE(passwd.stat().st_mode) == 0o600 and passwd.stat().st_uid == 1883
    assert env["MQTT_PASSWORD"] not in passwd.read_text()
    compose_file = (DEPLOY_DIR / "docker-compose.yml").read_text()
    assert not any(env[name] in compose_file for name in SECRETS)


def test_postgres_accepts_the_generated_password_and_refuses_a_wrong_one(stack):
    env = read_env()
    ok = psql(env["POSTGRES_PASSWORD"], "select current_user")
    assert ok.returncode == 0 and ok.stdout.strip() == env["POSTGRES_USER"], ok.stderr
    wrong = psql(env["POSTGRES_PASSWORD"] + "x", "select 1")
    assert wrong.returncode != 0
    assert "password authentication failed" in wrong.stderr


def test_postgres_row_survives_compose_down_and_redeploy(stack):
    password = read_env()["POSTGRES_PASSWORD"]
    marker = "survivor-%d" % os.getpid()
    made = psql(password, "create table if not exists e2e_survival (note text); insert into e2e_survival values ('%s')"
                % marker)
    assert made.returncode == 0, made.stderr
    compose("down")
    assert container_ids() == {}
    again = redeploy()
    assert again.rc == 0, again
    rows = psql(password, "select note from e2e_survival")
    assert marker in rows.stdout.split(), rows.stderr
    # A cold start: the core services came up without waiting for their first healthchecks, the backup and the
    # migration ran once PostgreSQL accepted connections, and the app's rollout waited for every core service.
    said = " ".join(again.out.split())  # the reports, unwrapped
    assert "12 services started (a cold start:" in said and "migration: ran, nothing to apply after backup" in said, again
    assert all(state == ("running", "healthy") for state in healthy_services().values()), healthy_services()


def test_a_cold_start_names_a_core_service_that_never_turns_healthy(stack):
    """On a cold start the app's rollout, not `up --wait`, is the core services' health gate: one that never
    turns healthy fails the run, named with its last log lines, before the app's compose file is replaced."""
    broken = {"taylordash_service_overrides": {"alertmanager": {"image": "node-exporter"}},
              "infrastructure_wait_timeout": 20}
    compose("down")
    try:
        run = redeploy(extra_vars=broken)
        assert run.rc != 0, run
        assert "services started (a cold start:" in " ".join(run.out.split()), run
        assert "alertmanager exited, restarted or turned unhealthy" in " ".join(run.out.split()), run
        assert "last 40 log lines of taylordash-alertmanager-1" in run.out, run
        assert "unknown long flag" in run.out, run
        assert "(docker-compose file not updated)" in run.out, run
    finally:
        restored = redeploy()
    assert restored.rc == 0, restored
    assert "services healthy in project" in " ".join(restored.out.split()), restored
    assert all(state == ("running", "healthy") for state in healthy_services().values()), healthy_services()


def test_changed_postgres_password_is_applied_to_the_database(stack):
    """The infrastructure phase alone (--tags infrastructure): the database takes the supplied password, and the
    backend, whose DATABASE_URL carries it, is replaced by this phase (no app phase follows) and works with it.
    The new value stays in .env (a secret is kept once set): later runs and tests read it from there. (With the
    app phase in the run, the app phase replaces the app instead: test_rotation.py.)"""
    old = read_env()["POSTGRES_PASSWORD"]
    new = "Rotated%dPassword0123456789abcdef" % os.getpid()
    backend = container_ids()["backend"]
    run = redeploy(extra_vars={"infrastructure_secrets": {"POSTGRES_PASSWORD": new}}, tags="infrastructure")
    assert run.rc == 0, run
    assert read_env()["POSTGRES_PASSWORD"] == new
    assert psql(new, "select 1").returncode == 0
    assert "password authentication failed" in psql(old, "select 1").stderr
    assert new not in run.out and old not in run.out
    core = run.out.split("TASK [infrastructure : Replace the app containers start-first when .env changed", 1)[1]
    assert core.split("TASK [", 1)[0].split("\n", 1)[1].lstrip().startswith("changed:"), run
    assert container_ids()["backend"] != backend
    wait_for(lambda: healthy_services()["backend"] == ("running", "healthy"), 60, what="the replaced backend healthy")


def test_mosquitto_refuses_anonymous_and_carries_publish_subscribe(stack):
    env = read_env()
    anonymous = on_network(MQTT_IMAGE, "mosquitto_pub", "-h", "mosquitto", "-t", "taylordash/e2e", "-m", "x")
    assert anonymous.returncode != 0
    assert "not authorised" in (anonymous.stderr + anonymous.stdout).lower()
    topic = "%s/e2e/%d" % (env["MQTT_TOPIC_PREFIX"], os.getpid())
    name = "taylordash-e2e-sub-%d" % os.getpid()
    sh("docker", "run", "-d", "--name", name, "--network", NETWORK, MQTT_IMAGE, "mosquitto_sub", "-h", "mosquitto",
       "-u", env["MQTT_USERNAME"], "-P", env["MQTT_PASSWORD"], "-t", topic, "-C", "1", "-W", "60")
    try:
        def delivered():
            on_network(MQTT_IMAGE, "mosquitto_pub", "-h", "mosquitto", "-u", env["MQTT_USERNAME"],
                       "-P", env["MQTT_PASSWORD"], "-t", topic, "-m", "hello-from-e2e")
            return sh("docker", "inspect", "-f", "{{.State.Running}}", name).stdout.strip() == "false"
        wait_for(delivered, 60, step=1, what="the subscriber to receive the message")
        assert sh("docker", "logs", name).stdout.strip() == "hello-from-e2e"
        assert sh("docker", "inspect", "-f", "{{.State.ExitCode}}", name).stdout.strip() == "0"
    finally:
        sh("docker", "rm", "-f", name, check=False)


def test_victoriametrics_prometheus_healthy_targets_up_rules_loaded(stack):
    with urllib.request.urlopen("http://%s:8428/health" % ip_of("victoriametrics"), timeout=10) as resp:
        assert resp.status == 200 and resp.read().strip() == b"OK"
    with urllib.request.urlopen("http://%s:9090/-/healthy" % ip_of("prometheus"), timeout=10) as resp:
        assert resp.status == 200

    def all_up():
        _, body = http_json("prometheus", 9090, "/api/v1/targets")
        targets = {t["labels"]["job"]: t["health"] for t in body["data"]["activeTargets"]}
        return targets if targets and set(targets.values()) == {"up"} else None
    targets = wait_for(all_up, 90, what="every target up")
    assert set(targets) == {"prometheus", "traefik", "victoriametrics", "alertmanager", "node", "postgres", "backend",
                            "backup"}

    _, rules = http_json("prometheus", 9090, "/api/v1/rules")
    names = {rule["name"] for group in rules["data"]["groups"] for rule in group["rules"]}
    assert names == {"TaylordashServiceDown", "TaylordashSlowResponses", "TaylordashDatabaseDown",
                     "TaylordashDiskFull", "TaylordashMemoryHigh", "TaylordashBackupTooOld"}

    # Prometheus remote-writes into VictoriaMetrics.
    def in_victoriametrics():
        _, body = http_json("victoriametrics", 8428, "/api/v1/query?query=up")
        return body["data"]["result"]
    wait_for(in_victoriametrics, 60, what="samples in VictoriaMetrics")


SINK = r"""
import http.server
class Sink(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        print(body.decode(), flush=True)
        self.send_response(200)
        self.end_headers()
http.server.HTTPServer(("", 8080), Sink).serve_forever()
"""


def test_stopping_a_service_fires_its_alert_to_the_webhook(stack):
    sh("docker", "rm", "-f", "alert-sink", check=False)
    sh("docker", "run", "-d", "--name", "alert-sink", "--network", NETWORK, "taylordash/python:3.13",
       "python3", "-u", "-c", SINK)
    try:
        compose("stop", "node-exporter")

        def notified():
            for line in sh("docker", "logs", "alert-sink").stdout.splitlines():
                if not line.startswith("{"):
                    continue
                payload = json.loads(line)
                for alert in payload.get("alerts", []):
                    labels = alert["labels"]
                    if (alert["status"] == "firing" and labels.get("alertname") == "TaylordashServiceDown"
                            and labels.get("job") == "node"):
                        return alert
            return None
        alert = wait_for(notified, 240, step=3, what="TaylordashServiceDown for job node at the webhook")
        assert alert["labels"]["severity"] == "critical"
        assert alert["labels"]["project"] == "taylordash"
    finally:
        compose("start", "node-exporter")
        sh("docker", "rm", "-f", "alert-sink", check=False)
    wait_for(lambda: healthy_services()["node-exporter"] == ("running", "healthy"), 60, what="node-exporter healthy")


def test_check_diff_run_predicts_nothing_and_prints_no_secret(stack):
    run = playbook("deploy-prod.yml", "--check", "--diff")
    assert run.rc == 0, run
    assert run.changed == 0, run
    env = read_env()
    for name in SECRETS + ["DATABASE_URL", "POSTGRES_EXPORTER_DSN", "MQTT_URL"]:
        assert env[name] not in run.out, name


def test_check_diff_of_a_new_secret_shows_its_name_only(stack):
    secret = "NotShown%dValue0123456789abcdefgh" % os.getpid()
    # The .env is the infrastructure phase's (the full check-mode run is the test above).
    run = playbook("deploy-prod.yml", "--check", "--diff", "--tags", "infrastructure",
                   extra_vars={"infrastructure_secrets": {"API_KEY": secret}})
    assert run.rc == 0, run
    assert "API_KEY" in run.out
    assert secret not in run.out
    assert read_env()["API_KEY"] != secret


def test_one_variable_recreates_exactly_its_service(stack):
    before = container_ids()
    # The backend depends_on mosquitto: the infrastructure phase recreates mosquitto and leaves the app's
    # containers alone (only the app phase replaces them, start-first).
    changed = {"taylordash_service_overrides": {"victoriametrics": {"limits": {"memory": "600m"}},
                                                "mosquitto": {"limits": {"pids": 129}}},
               "infrastructure_alertmanager_repeat_interval": "3h"}
    try:
        run = redeploy(extra_vars=changed, tags="infrastructure")
        assert run.rc == 0, run
        after = container_ids()
        assert {name for name in before if before[name] != after.get(name)} == {
            "victoriametrics", "alertmanager", "mosquitto"}
        limit = sh("docker", "inspect", "-f", "{{.HostConfig.Memory}}", after["victoriametrics"]).stdout.strip()
        assert limit == str(600 * 1024 * 1024)
        assert "repeat_interval: 3h" in (DEPLOY_DIR / "config/alertmanager/alertmanager.yml").read_text()
    finally:
        restored = redeploy(tags="infrastructure")
    assert restored.rc == 0, restored
    final = container_ids()
    assert {name for name in before if final[name] != after[name]} == {"victoriametrics", "alertmanager", "mosquitto"}


def test_a_failing_service_is_named_with_its_last_log_lines(stack):
    broken = {"taylordash_service_overrides": {"alertmanager": {"image": "node-exporter"}},
              "infrastructure_wait_timeout": 20}
    try:
        run = redeploy(extra_vars=broken, tags="infrastructure")
        assert run.rc != 0, run
        assert "alertmanager did not become healthy" in run.out, run
        assert "last 40 log lines of alertmanager" in run.out, run
        assert "unknown long flag" in run.out, run
    finally:
        restored = redeploy(tags="infrastructure")
    assert restored.rc == 0, restored
    assert healthy_services()["alertmanager"] == ("running", "healthy")


def test_a_port_held_by_a_foreign_process_is_named_and_the_stack_untouched(stack):
    holder = socket.socket()
    holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    holder.bind(("0.0.0.0", 0))
    holder.listen()
    port = holder.getsockname()[1]
    ids = container_ids()
    try:
        plan = dict(PLAN, **{"traefik-websecure": port})
        run = redeploy(extra_vars={"taylordash_port_plan": plan}, tags="infrastructure")
    finally:
        holder.close()
    assert run.rc != 0, run
    assert "traefik-websecure" in run.out and str(port) in run.out, run
    assert "pid %d" % os.getpid() in run.out or str(os.getpid()) in run.out, run
    assert Path(sys.executable).name in run.out, run
    assert container_ids() == ids
    assert "TASK [infrastructure : Write .env" not in run.out


def test_render_only_with_minio_and_grafana_validates_their_configuration(tmp_path, stack):
    deploy_dir = tmp_path / "render"
    ids = container_ids()
    extra = {
        # Same project name: images carry it as a label, so another name would rebuild them.
        "taylordash_deploy_dir": str(deploy_dir),
        "taylordash_minio_enabled": True, "taylordash_grafana_enabled": True,
        "taylordash_images": dict(yaml.safe_load((ROOT / "roles/taylordash/defaults/main.yml").read_text())[
            "taylordash_images"], minio={"registry": "minio/minio:latest", "build": "taylordash/debian:13"},
            grafana={"registry": "grafana/grafana:latest", "build": "taylordash/debian:13"}),
        "infrastructure_start": False,
    }
    # Render only: the application and proxy phases (which would start the app) are skipped too.
    run = playbook("deploy-prod.yml", "--skip-tags", "engine,images,application,proxy", extra_vars=extra)
    assert run.rc == 0, run
    config = sh("docker", "compose", "--project-directory", str(deploy_dir), "--profile", "jobs", "config", "--format", "json").stdout
    services = json.loads(config)["services"]
    assert {"minio", "grafana", "minio-init"} <= set(services)
    assert services["minio-init"]["profiles"] == ["jobs"]
    # The bucket job is a client: nobody, no capabilities, read-only, mc's configuration in its tmpfs.
    job = services["minio-init"]
    assert (job["user"], job["cap_drop"], job["read_only"], job["tmpfs"]) == ("65534:65534", ["ALL"], True, ["/tmp"])
    assert job["security_opt"] == ["no-new-privileges:true"] and "--config-dir /tmp/.mc" in job["command"][0]
    assert services["grafana"]["healthcheck"]["test"][-1].endswith("/api/health")
    datasources = yaml.safe_load((deploy_dir / "config/grafana/provisioning/datasources/datasources.yml").read_text())
    assert {d["name"] for d in datasources["datasources"]} == {"VictoriaMetrics", "Prometheus"}
    # Nothing started from the rendered directory: the shared stack is untouched.
    assert container_ids() == ids


def test_an_unfinished_postgres_upgrade_stops_the_run_before_any_change(stack):
    """The marker an upgrade or import leaves until its data is carried over stops the next run in the phase's
    first read (before .env, the configuration files or any container), naming the marker."""
    marker = DEPLOY_DIR / "state" / "postgres-upgrade-pending"
    ids = container_ids()
    marker.write_text("taylordash_pgdata_old\n")
    try:
        run = redeploy(tags="infrastructure")
    finally:
        marker.unlink()
    assert run.rc != 0, run
    assert "A PostgreSQL upgrade or import stopped before its data was carried over (%s" % marker in run.out, run
    assert "TASK [infrastructure : Write .env" not in run.out and container_ids() == ids, run
