"""Several real Docker hosts over SSH: each test host runs its own engine, started by the docker_engine role."""

import json
import re
import shutil
import socket
import subprocess
import sys
import time

import pytest
import yaml

from acme import (PEBBLE_ENV, TEST_CA_NAME, acme_vars, assert_chain_verifies, make_pebble_tls, management,
                  wait_for_issued, wait_for_pebble)
from conftest import ROOT, ansible_env, playbook
from multihost.hosts import TestHosts

sys.path.insert(0, str(ROOT / "bench"))
from loadgen import Load  # noqa: E402

GROUPS = {"core": ["proxy", "data", "monitoring"], "app1": ["app"], "app2": ["app"], "app3": ["app"]}


@pytest.fixture(scope="module")
def hosts():
    """Four test hosts and their inventory (inventory_path); removed at the end of the module."""
    started = time.monotonic()
    harness = TestHosts(GROUPS)
    try:
        harness.start()
        harness.inventory(GROUPS)
        print("4 test hosts up in %.1fs" % (time.monotonic() - started))
        yield harness
    finally:
        harness.stop()


def test_hosts_run_their_own_engine_over_ssh(hosts):
    inventory = str(hosts.inventory_path)
    # Its second run (changed=0) is part of deploy-prod.yml's second run below.
    first = playbook("playbooks/engine.yml", "-i", inventory, stack_vars=False)
    assert first.rc == 0, first
    assert set(first.recap) == set(GROUPS), first
    for name in GROUPS:
        info = hosts.exec(name, "docker", "info", "--format", "{{.Driver}} {{.ServerVersion}}").stdout.split()
        assert info[0] == "overlay2" and info[1], (name, info)
        assert hosts.exec(name, "hostname").stdout.strip() == name
    # The hosts reach each other by their taylordash_address.
    ping = hosts.exec("app1", "bash", "-c", "exec 3<>/dev/tcp/%s/22 && head -c 4 <&3" % hosts.ip("core"))
    assert ping.stdout == "SSH-", ping


# The split deploy: core runs Traefik, the data services and Prometheus; the
# three app hosts run backend and frontend. Images are built once on the
# controller (this machine's engine already has them) and shipped; secrets
# come from one file on the controller. Fewer monitoring services than the
# single-host stack, so less ships.
DOMAIN = "taylordash.local"
ARTIFACTS = ROOT / "tests" / "e2e" / "artifacts"


def deploy_vars(tmp):
    return {
        "taylordash_image_source": "build", "taylordash_minio_enabled": False, "taylordash_grafana_enabled": False,
        "taylordash_build_on_controller": True, "taylordash_secrets_source": "controller",
        "taylordash_secrets_file": str(tmp / "secrets.env"), "taylordash_lock_timeout": 600,
        "taylordash_service_overrides": {name: {"enabled": False} for name in
                                             ("victoriametrics", "alertmanager", "node-exporter", "postgres-exporter")},
        "infrastructure_healthcheck_interval": "3s", "infrastructure_healthcheck_start_period": "10s",
        "proxy_app_health_interval": "2s",
        # The 2.9 GB travel by rsync (the shipping test below uses ansible's copy).
        "release_ship_transfer": "synchronize",
        # core's backups go to app1 over SSH (encrypted to the test key, as off-host copies must be).
        "taylordash_backup_recipients": yaml.safe_load((ROOT / "tests" / "e2e" / "stack-vars.yml").read_text())[
            "taylordash_backup_recipients"],
        "taylordash_backup_offsite": ["app1"],
    }


@pytest.fixture(scope="module")
def deployed(hosts, tmp_path_factory):
    """deploy-prod.yml over SSH to the four hosts (after the engine test brought their engines up)."""
    tmp = tmp_path_factory.mktemp("multihost")
    extra = deploy_vars(tmp)
    run = keep("multihost-deploy", playbook("deploy-prod.yml", "-i", str(hosts.inventory_path), extra_vars=extra,
                                            stack_vars=False))
    assert run.rc == 0, run
    return {"run": run, "extra": extra, "tmp": tmp}


def keep(name, run):
    """The whole output of a run, kept as a CI artifact (the assertion shows only its end)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / (name + ".log")).write_text(run.out)
    return run


def core_ca(hosts):
    """The local CA of core's Traefik, as a file here."""
    ca_file = hosts.workdir / "ca.crt"
    ca_file.write_text(hosts.exec("core", "cat", "/opt/taylordash/pki/ca.crt").stdout)
    return ca_file


def under_load(hosts, run):
    """`run` while 4 clients call /api/projects through core's Traefik (bench/loadgen.py), from 2 s before
    until 2 s after it; each pauses 50 ms between requests, leaving the cores to the rollout."""
    load = Load(DOMAIN, "/api/projects", ca=str(core_ca(hosts)), address=hosts.ip("core"), concurrency=4,
                max_requests=500000, max_seconds=1500, expect="json", pause=0.05)
    return load.around(run), load


def https(hosts, path, host=DOMAIN):
    ca_file = core_ca(hosts)
    proc = subprocess.run(["curl", "-sS", "--max-time", "15", "--resolve", "%s:443:%s" % (host, hosts.ip("core")),
                           "--cacert", str(ca_file), "-o", "-", "-w", "\n%{http_code}", "https://%s%s" % (host, path)],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    body, _, code = proc.stdout.rpartition("\n")
    return int(code), body


def test_the_app_answers_through_traefik_from_every_app_host(hosts, deployed):
    for _ in range(12):
        code, body = https(hosts, "/api/health")
        assert code == 200, body
        assert json.loads(body)["checks"] == {"database": "ok", "mqtt": "ok"}, body
    code, body = https(hosts, "/")
    assert code == 200 and "<title>TaylorDash</title>" in body, body
    # Traefik's access log names the upstream that answered: every app host did.
    logs = hosts.exec("core", "docker", "logs", "taylordash-traefik-1").stdout.splitlines()
    upstreams = {json.loads(line).get("ServiceAddr", "") for line in logs if line.startswith("{")}
    for app in ("app1", "app2", "app3"):
        assert "%s:8000" % hosts.ip(app) in upstreams, (app, upstreams)
    # Nothing but the app and autoheal (group all: every host) runs on an app host; nothing of the app on core.
    healer = {"taylordash-autoheal-1", "taylordash-heal-proxy-1"}
    for app in ("app1", "app2", "app3"):
        names = set(hosts.exec(app, "docker", "ps", "--format", "{{.Names}}").stdout.split())
        assert names == {"taylordash-backend-1", "taylordash-frontend-1"} | healer, (app, names)
    core = set(hosts.exec("core", "docker", "ps", "--format", "{{.Names}}").stdout.split())
    assert {"taylordash-postgres-1", "taylordash-traefik-1", "taylordash-prometheus-1"} | healer <= core, core
    assert not any("backend" in name or "frontend" in name for name in core), core


def test_postgres_admits_the_app_hosts_only(hosts, deployed):
    core = hosts.ip("core")
    # From an app host: the port answers.
    ok = hosts.exec("app1", "timeout", "5", "bash", "-c", "exec 3<>/dev/tcp/%s/5432" % core, check=False)
    assert ok.returncode == 0, ok
    # From this machine (the bridge's gateway, in no group): DOCKER-USER drops it.
    with pytest.raises(OSError):
        socket.create_connection((core, 5432), timeout=5).close()
    rules = hosts.exec("core", "iptables", "-S", "TAYLORDASH").stdout
    for app in ("app1", "app2", "app3"):
        assert "-s %s/32" % hosts.ip(app) in rules, rules
    # Prometheus on core scrapes the backends on the app hosts' metrics port.
    targets = hosts.exec("core", "docker", "exec", "taylordash-prometheus-1", "wget", "-qO-",
                         "http://127.0.0.1:9090/api/v1/targets").stdout
    for app in ("app1", "app2", "app3"):
        assert "%s:9101" % hosts.ip(app) in targets, targets


# Run by python in app1's backend container (psycopg and paho, the deployed .env's URLs, the internal CA at
# /etc/taylordash/tls/ca.crt); argv[1]: another CA's certificate, written to /tmp there.
DATA_CLIENTS = r"""
import json, os, sys, tempfile
from urllib.parse import unquote, urlsplit
import psycopg
import paho.mqtt.client as paho

other = tempfile.NamedTemporaryFile("w", suffix=".crt", delete=False)
other.write(sys.argv[1]); other.close()
CA = "/etc/taylordash/tls/ca.crt"
base = os.environ["DATABASE_URL"].split("?")[0]
mqtt = urlsplit(os.environ["MQTT_URL"])

def pg(params):
    try:
        with psycopg.connect(base + "?" + params, connect_timeout=5) as conn:
            return conn.execute("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()").fetchone()[0]
    except Exception as err:
        return "error: %s" % err

def broker(port, ca):
    client = paho.Client(paho.CallbackAPIVersion.VERSION2, protocol=paho.MQTTv311)
    client.username_pw_set(unquote(mqtt.username), unquote(mqtt.password))
    if ca:
        client.tls_set(ca_certs=ca)
    try:
        client.connect(mqtt.hostname, port, 5)
        for _ in range(30):
            client.loop(timeout=0.1)
            if client.is_connected():
                return "connected"
        return "no CONNACK"
    except Exception as err:
        return "error: %s" % err

print(json.dumps({"url": [os.environ["DATABASE_URL"].split("@")[1], os.environ["MQTT_URL"].split("@")[1]],
                  "mqtt_scheme": mqtt.scheme,
                  "pg_plain": pg("sslmode=disable"), "pg_tls": pg("sslmode=verify-full&sslrootcert=" + CA),
                  "pg_other_ca": pg("sslmode=verify-full&sslrootcert=" + other.name),
                  "mqtt_tls": broker(mqtt.port, CA), "mqtt_other_ca": broker(mqtt.port, other.name),
                  "mqtt_plain": broker(1883, None)}))
"""


def test_data_services_between_hosts_take_tls_only(hosts, deployed, tmp_path):
    """From an app host, PostgreSQL and MQTT on core take TLS only, with the internal CA's certificates for
    core's address: plaintext is refused (PostgreSQL's hba, plain MQTT on core's loopback only), the deployed
    clients verify the CA, and a client that trusts another CA refuses core's certificates."""
    core = hosts.ip("core")
    other_key, other_ca = tmp_path / "other.key", tmp_path / "other.crt"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-keyout", str(other_key), "-out", str(other_ca), "-days", "1", "-subj", "/CN=another CA",
                    "-addext", "subjectAltName=IP:%s" % core], check=True, capture_output=True)
    out = hosts.exec("app1", "docker", "exec", "-i", "taylordash-backend-1", "python", "-", other_ca.read_text(),
                     input=DATA_CLIENTS)
    seen = json.loads(out.stdout.strip().splitlines()[-1])
    assert seen["url"] == ["%s:5432/taylordash?sslmode=verify-full&sslrootcert=/etc/taylordash/tls/ca.crt" % core,
                           "%s:8883" % core] and seen["mqtt_scheme"] == "mqtts", seen
    assert seen["pg_tls"] is True and seen["mqtt_tls"] == "connected", seen
    assert "no encryption" in seen["pg_plain"], seen
    assert "certificate verify failed" in seen["pg_other_ca"], seen
    assert "CERTIFICATE_VERIFY_FAILED" in seen["mqtt_other_ca"], seen
    assert "Connection refused" in seen["mqtt_plain"] or "Errno 111" in seen["mqtt_plain"], seen
    # Plain MQTT listens on core's loopback only; MQTT over TLS on every address.
    listeners = hosts.exec("core", "ss", "-Hltn").stdout
    assert re.search(r"127[.]0[.]0[.]1:1883\b", listeners) and not re.search(r"0[.]0[.]0[.]0:1883\b", listeners), listeners
    assert re.search(r"(0[.]0[.]0[.]0|\*):8883\b", listeners), listeners


def refused_within(address, port, seconds, what):
    """Seconds until a connection from this machine (in no group) to address:port is dropped again."""
    start = time.monotonic()
    while time.monotonic() - start < seconds:
        try:
            socket.create_connection((address, port), timeout=1).close()
        except OSError:
            return time.monotonic() - start
        time.sleep(0.2)
    raise AssertionError("%s:%d still admits a host outside the allowed groups %ss after %s" % (address, port, seconds,
                                                                                            what))


def test_the_firewall_guard_refuses_an_outsider_again_after_a_flush_and_an_engine_restart(hosts, deployed):
    """The DOCKER-USER rules outlive the deploy: the guard (start-stop-daemon here, no systemd on the test
    hosts) puts them back within 10 s (its interval is 2 s) after iptables -F of our chain and after the
    engine restarts; the app hosts keep their access. Data ports have no IPv6 listener."""
    core = hosts.ip("core")
    status = hosts.exec("core", "start-stop-daemon", "--status", "--pidfile", "/run/taylordash-firewall-guard.pid",
                        check=False)
    assert status.returncode == 0, "the firewall guard does not run on core: %s" % status
    listeners = hosts.exec("core", "ss", "-Hltn").stdout
    assert re.search(r"%s:5432\b" % re.escape(core), listeners) and not re.search(r"\[::\]:5432\b|\*:5432\b", listeners), listeners

    log = "/var/log/taylordash-firewall-guard.log"
    before = hosts.exec("core", "cat", log).stdout.count("put back")
    hosts.exec("core", "iptables", "-F", "TAYLORDASH")
    took = refused_within(core, 5432, 10, "iptables -F TAYLORDASH")
    print("dropped again %.1fs after the flush" % took)
    # The guard did it (the refusal alone could be a connection that timed out for another reason).
    assert hosts.exec("core", "cat", log).stdout.count("put back") > before

    hosts.exec("core", "start-stop-daemon", "--stop", "--oknodo", "--retry", "TERM/30/KILL/5", "--pidfile",
               "/var/run/docker-ssd.pid")
    engine = playbook("playbooks/engine.yml", "-i", str(hosts.inventory_path), "--limit", "core", stack_vars=False,
                      extra_vars=deployed["extra"])
    assert engine.rc == 0, engine
    took = refused_within(core, 5432, 10, "the engine restarted")
    print("dropped again %.1fs after the engine came back" % took)
    ok = hosts.exec("app1", "timeout", "5", "bash", "-c", "exec 3<>/dev/tcp/%s/5432" % core, check=False)
    assert ok.returncode == 0, ok
    assert "-A DOCKER-USER -j TAYLORDASH" in hosts.exec("core", "iptables", "-S", "DOCKER-USER").stdout.splitlines()[1:2]


def test_secrets_have_one_source_on_the_controller(hosts, deployed):
    controller = dict(line.split("=", 1) for line in (deployed["tmp"] / "secrets.env").read_text().splitlines()
                      if line and not line.startswith("#"))
    assert oct((deployed["tmp"] / "secrets.env").stat().st_mode & 0o777) == "0o600"
    for name in ("core", "app1", "app3"):
        env = dict(line.split("=", 1) for line in hosts.exec(name, "cat", "/opt/taylordash/.env").stdout.splitlines()
                   if line and not line.startswith("#"))
        assert env["POSTGRES_PASSWORD"] == controller["POSTGRES_PASSWORD"], name
    assert controller["POSTGRES_PASSWORD"] not in deployed["run"].out


def test_a_controller_without_the_secrets_file_stops_then_seeds_it_from_a_host(hosts, deployed):
    """A fresh controller (a CI runner) has no secrets file while the hosts hold their .env: the run stops,
    naming them, instead of pushing new secrets; seeded from core, the file holds core's and no host changes."""
    secrets, inventory = deployed["tmp"] / "secrets.env", str(hosts.inventory_path)
    saved = secrets.read_text()
    envs = {name: hosts.exec(name, "cat", "/opt/taylordash/.env").stdout for name in ("core", "app1")}
    secrets.unlink()
    try:
        refused = playbook("deploy-prod.yml", "-i", inventory, "--tags", "infrastructure", stack_vars=False,
                           extra_vars=deployed["extra"])
        assert refused.rc != 0, refused
        text = " ".join(refused.out.split())
        assert "taylordash_secrets_file (%s) does not exist on this controller, but" % secrets in text, refused
        assert "core, app1, app2, app3 already hold secrets" in text, refused
        assert "-e taylordash_secrets_seed_from=core" in text and not secrets.exists(), refused
        seeded = playbook("deploy-prod.yml", "-i", inventory, "--tags", "infrastructure", stack_vars=False,
                          extra_vars=dict(deployed["extra"], taylordash_secrets_seed_from="core"))
        assert seeded.rc == 0, seeded
        assert {name: hosts.exec(name, "cat", "/opt/taylordash/.env").stdout for name in envs} == envs
        parse = lambda text: dict(line.split("=", 1) for line in text.splitlines() if line and not line.startswith("#"))  # noqa: E731
        assert parse(secrets.read_text()) == parse(saved) and oct(secrets.stat().st_mode & 0o777) == "0o600"
        assert "POSTGRES_PASSWORD" not in seeded.out or saved.split("POSTGRES_PASSWORD=", 1)[1][:20] not in seeded.out
    finally:
        if not secrets.exists():
            secrets.write_text(saved)
            secrets.chmod(0o600)


def test_a_second_run_changes_nothing_and_a_concurrent_one_waits_then_names_the_holder(hosts, deployed):
    inventory = str(hosts.inventory_path)
    cmd = ["ansible-playbook", "deploy-prod.yml", "-i", inventory, "-e", json.dumps(deployed["extra"])]
    first = subprocess.Popen(cmd, cwd=ROOT, env=ansible_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             text=True)
    second = None
    try:
        deadline = time.monotonic() + 300
        while hosts.exec("core", "test", "-f", "/var/lib/taylordash/deploy.lock", check=False).returncode != 0:
            if first.poll() is not None or time.monotonic() > deadline:
                break
            time.sleep(1)
        else:
            second = playbook("deploy-prod.yml", "-i", inventory, "--limit", "core", stack_vars=False,
                              extra_vars=dict(deployed["extra"], taylordash_lock_timeout=5))
        out, _ = first.communicate(timeout=1500)
    finally:
        if first.poll() is None:
            first.kill()
    keep("multihost-second-run", type("R", (), {"out": out})())
    assert second is not None, "the first run never took the lock:\n" + out[-3000:]
    assert second.rc != 0, second
    holder = second.out.split("is held by", 1)[-1][:400]
    assert "is held by" in second.out and "Deploy taylordash (production)" in holder, second
    assert socket.gethostname() in holder, second
    assert first.returncode == 0, out[-4000:]
    recap = out.rsplit("PLAY RECAP", 1)[1]
    for name in ("core", "app1", "app2", "app3"):
        line = [row for row in recap.splitlines() if row.startswith(name + " ")][0]
        assert " changed=0 " in line, recap
    assert hosts.exec("core", "test", "-f", "/var/lib/taylordash/deploy.lock", check=False).returncode != 0


def test_check_mode_with_diff_changes_nothing_and_shows_no_secret(hosts, deployed):
    # The engine and the core images were checked by the full second run.
    run = playbook("deploy-prod.yml", "-i", str(hosts.inventory_path), "--check", "--diff", "--skip-tags", "engine,images",
                   extra_vars=deployed["extra"], stack_vars=False)
    assert run.rc == 0, run
    for name in ("core", "app1", "app2", "app3"):
        assert run.recap[name]["changed"] == 0, (name, run)
    secrets = [line.split("=", 1)[1].strip("'") for line in (deployed["tmp"] / "secrets.env").read_text().splitlines()
               if "=" in line and not line.startswith("#")]
    assert secrets and not [s for s in secrets if s in run.out], "a secret appears in the check-mode output"


KEPT_OUT = "/opt/taylordash/state/proxy-routes-kept-out"


def version(hosts, app):
    """The backend version an app host serves, asked from core (the only host its firewall admits)."""
    out = hosts.exec("core", "curl", "-sS", "--max-time", "5", "http://%s:8000/api/health" % hosts.ip(app), check=False)
    return json.loads(out.stdout)["version"] if out.returncode == 0 and out.stdout.startswith("{") else None


def failing_inventory(hosts, host, healthcheck):
    data = yaml.safe_load(hosts.inventory_path.read_text())
    data["all"]["hosts"][host]["application_backend_healthcheck"] = healthcheck
    path = hosts.workdir / "inventory-failing.yml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_a_failing_batch_stops_the_rollout_and_rollback_returns_the_hosts(hosts, deployed, tmp_path):
    before = {app: version(hosts, app) for app in ("app1", "app2", "app3")}
    assert len(set(before.values())) == 1 and None not in before.values(), before
    src = tmp_path / "backend"
    shutil.copytree(ROOT / "examples" / "taylordash" / "backend", src,
                    ignore=shutil.ignore_patterns(".venv", "__pycache__", ".pytest_cache"))
    (src / "app" / "rollout.py").write_text('"""A change that makes a new backend image."""\n')
    failing = failing_inventory(hosts, "app2", {"test": ["CMD", "false"], "interval": "2s", "retries": 2,
                                                "start_period": "0s"})
    rollout = dict(deployed["extra"], application_backend_src=str(src), taylordash_serial=1, application_wait_timeout=60)
    # Under load through core's Traefik: app1 is replaced in place (out of the routes first, back once
    # healthy), app2's new version never turns healthy (it stays out), app3 is not reached. No request fails.
    run, load = under_load(hosts, lambda: keep("multihost-rollout", playbook(
        "deploy-prod.yml", "-i", str(failing), "--skip-tags", "engine,images", extra_vars=rollout, stack_vars=False)))
    assert run.rc != 0, run
    summary = load.summary()
    assert summary["failed"] == 0 and summary["requests"] > 50, summary
    assert run.out.count("Leave the batch's hosts replaced in place out of the proxy's routes") == 2, run
    assert "Write the routes to the app on other hosts without app1" in run.out, run
    assert "Write the routes to the app on other hosts, every host" in run.out, run
    assert "Write the routes to the app on other hosts without app2" in run.out, run
    routes = hosts.exec("core", "cat", "/opt/taylordash/config/traefik/dynamic/apps.yml").stdout
    assert hosts.ip("app2") not in routes and hosts.ip("app1") in routes and hosts.ip("app3") in routes, routes
    # app2's old backend was stopped and its new one failed: the proxy keeps it out until a rollout succeeds there.
    assert json.loads(hosts.exec("core", "cat", KEPT_OUT).stdout) == ["app2"]
    assert "app2 failed in" in run.out and "the hosts after it keep" in run.out, run
    assert "taylordash-backend-1" in run.out or "backend-1" in run.out, "no container logs of the failing backend"
    after = {app: version(hosts, app) for app in ("app1", "app2", "app3")}
    assert after["app1"] != before["app1"], after
    assert after["app3"] == before["app3"], after
    # Both versions answered through Traefik while app1 was replaced.
    assert set(summary["versions"]) == {before["app1"], after["app1"]}, summary
    for _ in range(6):
        code, body = https(hosts, "/api/health")
        assert code == 200, body

    back, load = under_load(hosts, lambda: keep("multihost-rollback", playbook(
        "rollback.yml", "-i", str(hosts.inventory_path), "--limit", "app1,app2",
        extra_vars=dict(deployed["extra"], taylordash_serial=1), stack_vars=False)))
    assert back.rc == 0, back
    summary = load.summary()
    assert summary["failed"] == 0 and summary["requests"] > 50, summary
    routes = hosts.exec("core", "cat", "/opt/taylordash/config/traefik/dynamic/apps.yml").stdout
    assert all(hosts.ip(app) in routes for app in ("app1", "app2", "app3")), routes
    # app2 stayed out while app1 was replaced, and came back with its own successful rollback.
    writes = re.findall(r"TASK \[proxy : Write the routes to the app on other hosts(.*?)\]", back.out)
    assert writes == [" without app1, app2", " without app2", " without app2", ", every host"], writes
    assert json.loads(hosts.exec("core", "cat", KEPT_OUT).stdout) == []
    assert {app: version(hosts, app) for app in ("app1", "app2", "app3")} == before
    for app in ("app1", "app2"):
        ids = hosts.exec(app, "docker", "ps", "-q", "--filter", "label=com.docker.compose.service=backend").stdout.split()
        assert len(ids) == 1, (app, ids)
        state = hosts.exec(app, "docker", "inspect", "-f", "{{.State.Health.Status}}", ids[0]).stdout
        assert state.strip() == "healthy", (app, state)
    # A second rollback does not move forward again: nothing earlier is kept.
    twice = playbook("rollback.yml", "-i", str(hosts.inventory_path), "--limit", "app1,app2",
                     extra_vars=dict(deployed["extra"], taylordash_serial=1), stack_vars=False)
    assert twice.rc == 0 and twice.changed == 0, twice
    assert twice.out.count("already run the earliest image kept here") == 2, twice
    assert {app: version(hosts, app) for app in ("app1", "app2", "app3")} == before


def test_health_check_across_hosts_summarises_each_host(hosts, deployed):
    inventory = str(hosts.inventory_path)
    run = playbook("health-check.yml", "-i", inventory, extra_vars=deployed["extra"], stack_vars=False)
    assert run.rc == 0, run
    assert run.changed == 0, run
    for name in ("core", "app1", "app2", "app3"):
        assert "%s: healthy" % name in run.out, (name, run)
    hosts.exec("app3", "docker", "stop", "taylordash-backend-1")
    try:
        sick = playbook("health-check.yml", "-i", inventory, extra_vars=deployed["extra"], stack_vars=False)
    finally:
        hosts.exec("app3", "docker", "start", "taylordash-backend-1")
    assert sick.rc != 0, sick
    assert "app3: UNHEALTHY" in sick.out and "app1: healthy" in sick.out, sick
    assert "backend" in sick.out.split("app3: UNHEALTHY", 1)[1][:200], sick


def test_cleanup_across_hosts_stops_the_duplicates_on_each(hosts, deployed):
    """Two dev servers of one app on two hosts: cleanup keeps the one on the planned port, per host."""
    root = "/srv/devproject"
    apps = {"backend": {"path": "backend", "kinds": ["http.server"]}}
    for host in ("app1", "app2"):
        hosts.exec(host, "mkdir", "-p", root + "/backend")
        for port in (3000, 8001):
            hosts.exec(host, "sh", "-c", "cd %s/backend && setsid nohup python3 -m http.server %d "
                       "> /dev/null 2>&1 < /dev/null &" % (root, port))
    deadline = time.monotonic() + 20
    while any(hosts.exec(h, "sh", "-c", "ss -ltn | grep -c ':8001 '", check=False).stdout.strip() != "1"
              for h in ("app1", "app2")):
        assert time.monotonic() < deadline, "the dev servers did not start"
        time.sleep(0.5)
    extra = {"taylordash_project_root": root, "taylordash_dev_apps": apps,
             "taylordash_port_plan": dict(yaml.safe_load((ROOT / "roles" / "taylordash" / "defaults" / "main.yml")
                                                          .read_text())["taylordash_port_plan"])}
    run = playbook("cleanup.yml", "-i", str(hosts.inventory_path), extra_vars=extra, stack_vars=False)
    assert run.rc == 0, run
    for host in ("app1", "app2"):
        assert run.recap[host]["changed"] >= 1, run
        assert "%s: stopped 1 dev server(s), kept 1, freed ports 8001" % host in run.out, run
        listening = hosts.exec(host, "ss", "-ltn").stdout
        assert ":3000 " in listening and ":8001 " not in listening, (host, listening)
    for host in ("core", "app3"):
        assert run.recap[host]["changed"] == 0, run
    again = playbook("cleanup.yml", "-i", str(hosts.inventory_path), extra_vars=extra, stack_vars=False)
    assert again.rc == 0 and again.changed == 0, again


def test_an_unreachable_host_is_named_and_does_not_stop_the_others(hosts, deployed):
    data = yaml.safe_load(hosts.inventory_path.read_text())
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    data["all"]["hosts"]["ghost"] = dict(data["all"]["hosts"]["app3"], ansible_port=closed,
                                         taylordash_address=str(hosts.subnet[99]))
    data["all"]["children"]["app"]["hosts"]["ghost"] = None
    inventory = hosts.workdir / "inventory-ghost.yml"
    inventory.write_text(yaml.safe_dump(data))
    run = playbook("cleanup.yml", "-i", str(inventory), stack_vars=False)
    assert run.rc == 4, run
    assert run.recap["ghost"]["unreachable"] == 1, run
    for name in ("core", "app1", "app2", "app3"):
        assert run.recap[name]["failed"] == 0 and run.recap[name]["unreachable"] == 0, run
    assert "ghost: no result (failed or unreachable)" in run.out and "app3: stopped 0" in run.out, run


def ship_to(hosts, host, refs, *args, **extra):
    """roles/release tasks_from ship alone, to one host."""
    play = hosts.workdir / "ship.yml"
    play.write_text("- name: Ship images\n  hosts: all\n  gather_facts: false\n  tasks:\n"
                    "    - name: Bring the images it needs\n      ansible.builtin.include_role:\n"
                    "        name: release\n        tasks_from: ship\n")
    settings = dict(taylordash_image_source="build", taylordash_minio_enabled=False, taylordash_grafana_enabled=False,
                    release_ship_refs=refs, release_keep_repos=[], **extra)
    return playbook("-i", str(hosts.inventory_path), "--limit", host, *args, str(play), extra_vars=settings,
                    stack_vars=False)


def test_shipping_checks_free_space_first_check_mode_ships_nothing_and_an_image_ships_once(hosts, deployed):
    base = "taylordash/debian:13"
    assert hosts.exec("app3", "docker", "image", "inspect", base, check=False).returncode != 0
    check = ship_to(hosts, "app3", [base], "--check")
    assert check.rc == 0 and check.recap["app3"]["changed"] == 1, check
    assert "app3 would receive: %s" % base in check.out, check
    full = ship_to(hosts, "app3", [base], release_ship_min_free_mb=50_000_000)
    assert full.rc != 0, full
    assert re.search(r"Not enough disk space on app3 to load .*?\d+ MB needed.*?\d+ MB available",
                     full.out.replace("\n", " ")), full
    assert "TASK [release : Copy the archive here]" not in full.out, full
    assert hosts.exec("app3", "docker", "image", "inspect", base, check=False).returncode != 0
    # Shipped by ansible's copy: the same image ID arrives, and only while the host lacks it.
    shipped = ship_to(hosts, "app3", [base], release_ship_transfer="copy")
    assert shipped.rc == 0 and shipped.recap["app3"]["changed"] >= 1, shipped
    assert "TASK [release : Copy the archive here]" in shipped.out, shipped
    local_id = subprocess.run(["docker", "image", "inspect", "-f", "{{.Id}}", base], capture_output=True, text=True,
                              check=True).stdout.strip()
    assert hosts.exec("app3", "docker", "image", "inspect", "-f", "{{.Id}}", base).stdout.strip() == local_id
    again = ship_to(hosts, "app3", [base], release_ship_transfer="copy")
    assert again.rc == 0 and again.recap["app3"]["changed"] == 0, again


def test_one_audit_run_writes_a_report_per_host_and_one_for_the_inventory(hosts, deployed, tmp_path):
    out = tmp_path / "audit"
    run = playbook("audit.yml", "-i", str(hosts.inventory_path), stack_vars=False, extra_vars=dict(
        deployed["extra"], audit_report_dir=str(out), audit_fingerprint_key_file=str(tmp_path / "audit.key")))
    assert run.rc == 0 and run.changed == 0, run
    report = json.loads((out / "inventory.json").read_text())
    assert set(report["hosts"]) == set(GROUPS)
    for name in GROUPS:
        one = json.loads((out / "hosts" / (name + ".json")).read_text())
        assert set(one["hosts"]) == {name}
        assert (out / "hosts" / (name + ".html")).stat().st_size > 0
    # core publishes PostgreSQL on its own address for the app hosts: planned, not an exposed data port.
    core = report["hosts"]["core"]
    assert not [f["id"] for f in core["findings"] if f["severity"] == "critical"], core["findings"]
    services = {c["service"] for c in report["hosts"]["app1"]["facts"]["containers"] if c["project"] == "taylordash"}
    assert {"backend", "frontend"} <= services


OFFSITE = "/var/backups/taylordash"
BACKUP_SSH = ("ssh -i /opt/taylordash/backup-ssh/id_ed25519 -o UserKnownHostsFile=/opt/taylordash/backup-ssh/known_hosts "
              "-o StrictHostKeyChecking=yes -o BatchMode=yes")


def test_a_backup_is_copied_to_another_host_whose_key_only_runs_rsync_in_its_directory(hosts, deployed):
    run = playbook("backup.yml", "-i", str(hosts.inventory_path), extra_vars=deployed["extra"], stack_vars=False)
    assert run.rc == 0, run
    text = " ".join(run.out.split())
    found = re.search(r"Backup (\S+) on core: [^']*?, copied to app1", text)
    assert found, text[-3000:]
    name = found.group(1)
    here = hosts.exec("core", "cat", "/opt/taylordash/backups/%s/SHA256SUMS" % name).stdout
    there = hosts.exec("app1", "sh", "-c", "cd %s/%s && cat SHA256SUMS && sha256sum --quiet -c SHA256SUMS" % (OFFSITE, name))
    assert here and there.stdout == here, (here, there)
    owner = hosts.exec("app1", "stat", "-c", "%U %a", "%s/%s" % (OFFSITE, name)).stdout.split()
    assert owner == ["taylordash-backup", "700"], owner
    # The key pinned app1's host key (strict checking passes) and lists the directory through rrsync ...
    remote = "taylordash-backup@%s:" % hosts.ip("app1")
    listed = hosts.exec("core", "rsync", "--list-only", "-e", BACKUP_SSH, remote)
    assert name in listed.stdout, listed
    # ... but runs nothing else, and reads nothing outside it.
    shell = hosts.exec("core", *BACKUP_SSH.split(), "taylordash-backup@" + hosts.ip("app1"), "cat /etc/hostname",
                       check=False)
    assert shell.returncode != 0 and "app1" not in shell.stdout, shell
    outside = hosts.exec("core", "rsync", "-e", BACKUP_SSH, remote + "/etc/hostname", "/tmp/stolen", check=False)
    assert hosts.exec("core", "test", "-e", "/tmp/stolen", check=False).returncode != 0, outside


def test_disaster_recovery_on_a_fresh_host_brings_back_the_data_and_the_old_api_key(hosts, deployed):
    """A backup of the single-host stack (its rows, its secrets, encrypted to the test key) restored on core, a
    host this run deployed from nothing: the app behind core's Traefik serves those rows, and the old stack's API
    key writes again (the restored secrets went through the controller's secrets file to every host)."""
    from conftest import read_env
    from test_backup import BACKUPS, IDENTITY, add_projects, take_backup
    rows = add_projects(2)
    name, _ = take_backup()
    old_key = read_env()["API_KEY"]
    # Only app1 holds it, as the off-host copy of a host that is gone: the restore fetches it over SSH.
    subprocess.run(["docker", "cp", str(BACKUPS / name), "tdmh-app1:%s/%s" % (OFFSITE, name)], check=True)
    hosts.exec("app1", "chown", "-R", "taylordash-backup:", "%s/%s" % (OFFSITE, name))
    assert hosts.exec("core", "test", "-e", "/opt/taylordash/backups/" + name, check=False).returncode != 0
    run = keep("multihost-restore", playbook(
        "restore.yml", "-i", str(hosts.inventory_path), stack_vars=False,
        extra_vars=dict(deployed["extra"], backup_restore_confirm=True, backup_restore_id=name,
                        backup_identity_file=str(IDENTITY))))
    assert run.rc == 0, run
    assert "fetched from app1" in " ".join(run.out.split()), run
    code, body = https(hosts, "/api/projects")
    assert code == 200, body
    served = {row["id"]: row["name"] for row in json.loads(body)}
    assert {i: served.get(i) for i in rows} == rows
    proc = subprocess.run(["curl", "-sS", "--max-time", "15", "--resolve", "%s:443:%s" % (DOMAIN, hosts.ip("core")),
                           "--cacert", str(core_ca(hosts)), "-H", "X-API-Key: " + old_key, "-H",
                           "Content-Type: application/json", "-d", '{"name": "after-recovery"}', "-o", "/dev/null",
                           "-w", "%{http_code}", "https://%s/api/projects" % DOMAIN],
                          capture_output=True, text=True, check=False)
    assert proc.stdout == "201", proc
    # The engine and images phases' second run is the second-run test's.
    again = playbook("deploy-prod.yml", "-i", str(hosts.inventory_path), "--skip-tags", "engine,images",
                     extra_vars=deployed["extra"], stack_vars=False)
    assert again.rc == 0 and again.changed == 0, again


def test_acme_certificates_for_app_hosts_routed_by_file_and_the_dashboard(hosts, deployed, tmp_path):
    """Last in the module (it leaves core on ACME): pebble on core's project network issues, over
    HTTP-01, the certificates core's Traefik serves for the app, whose routes to the app hosts
    come from the file provider, and for the dashboard; both chain to pebble's current root."""
    workdir = tmp_path / "pebble"
    workdir.mkdir()
    make_pebble_tls(workdir)
    hosts.exec("core", "mkdir", "-p", "/opt/pebble")
    subprocess.run(["docker", "cp", "%s/." % workdir, "tdmh-core:/opt/pebble/"], check=True)
    subprocess.run(["docker", "cp", "/usr/bin/pebble", "tdmh-core:/opt/pebble/pebble"], check=True)
    hosts.exec("core", "chmod", "-R", "a+rX", "/opt/pebble")
    hosts.exec("core", "cp", "/opt/pebble/ca.pem", "/opt/taylordash/config/traefik/certs/" + TEST_CA_NAME)
    # Debian's pebble binary in the Debian-based image core already runs Traefik from; its management
    # API published on core's address for this test to read the root from.
    hosts.exec("core", "docker", "run", "-d", "--name", "pebble", "--network", "taylordash", *PEBBLE_ENV,
               "-p", "15000:15000", "-v", "/opt/pebble:/pebble:ro", "--user", "65534", "--entrypoint",
               "/pebble/pebble", "taylordash/traefik:3.7", "-config", "/pebble/pebble-config.json")
    core = hosts.ip("core")
    wait_for_pebble(core, workdir, lambda: hosts.exec("core", "docker", "logs", "pebble", check=False).stderr)
    run = keep("multihost-acme", playbook("deploy-prod.yml", "-i", str(hosts.inventory_path), "--limit", "core",
                                          "--tags", "infrastructure,proxy",
                                          extra_vars=dict(deployed["extra"], **acme_vars()), stack_vars=False))
    assert run.rc == 0, run
    apps = hosts.exec("core", "cat", "/opt/taylordash/config/traefik/dynamic/apps.yml").stdout
    assert all("http://%s:" % hosts.ip(app) in apps for app in ("app1", "app2", "app3")), apps
    root = management(core, "/roots/0", workdir)
    for name in (DOMAIN, "traefik." + DOMAIN):
        chain = wait_for_issued(core, name)
        (tmp_path / name).mkdir()
        assert_chain_verifies(chain, root, name, tmp_path / name)
    code = subprocess.run(["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "15", "--cacert",
                           str(tmp_path / DOMAIN / "root.pem"), "--resolve", "%s:443:%s" % (DOMAIN, core),
                           "https://%s/api/health" % DOMAIN], capture_output=True, text=True, check=False)
    assert code.stdout == "200", code
