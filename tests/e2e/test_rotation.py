"""rotate-secrets.yml on the running stack: the named secrets, and only they, get new values, each is applied
where it is used (the old value refused there, the new one taken), nothing is printed, and a second run with the
same rotation id changes nothing."""

import json
import os

from conftest import compose, container_ids, playbook, read_env, sh
from test_infrastructure import MQTT_IMAGE, SECRETS, on_network, psql
from test_proxy import DASHBOARD, DOMAIN, curl

ROTATED = ["API_KEY", "MQTT_PASSWORD", "POSTGRES_PASSWORD", "TRAEFIK_DASHBOARD_PASSWORD"]


NAME = "rotation-%d" % os.getpid()


def create_project(key):
    body = json.dumps({"name": NAME, "description": "rotate-secrets.yml"})
    return curl("https://%s/api/projects" % DOMAIN, "-X", "POST", "-H", "Content-Type: application/json",
                "-H", "X-API-Key: " + key, "-d", body)[0]


def publish(env, password):
    return on_network(MQTT_IMAGE, "mosquitto_pub", "-h", "mosquitto", "-u", env["MQTT_USERNAME"], "-P", password,
                      "-t", "%s/rotation" % env["MQTT_TOPIC_PREFIX"], "-m", "x")


def dashboard(password):
    return curl("https://%s/api/http/routers" % DASHBOARD, "-u", "admin:" + password, host=DASHBOARD)[0]


def test_a_rotation_changes_the_named_secrets_where_they_are_used_and_only_once(stack):
    before, backend = read_env(), container_ids()["backend"]
    rotation = {"taylordash_rotate_secrets": ROTATED, "taylordash_rotation_id": "e2e-%d" % os.getpid()}
    run = playbook("rotate-secrets.yml", extra_vars=rotation)
    assert run.rc == 0, run
    after = read_env()
    assert sorted(name for name in SECRETS if before[name] != after[name]) == sorted(ROTATED)
    for name in ROTATED:
        assert before[name] not in run.out and after[name] not in run.out, "%s was printed" % name
    assert "rotated %s under %s" % (", ".join(ROTATED), rotation["taylordash_rotation_id"]) in " ".join(run.out.split())

    # Values of .env the app reads changed (on the upgrade to TLS between hosts, the database and MQTT URLs,
    # whose CA the old compose file does not mount): with the app phase in the run the core phase leaves the
    # app alone (infrastructure_app_follows) and the app phase replaces it once, start-first, with this
    # release's compose file. (The core phase alone replaces it: test_infrastructure.py.)
    core = run.out.split("TASK [infrastructure : Replace the app containers start-first when .env changed", 1)[1]
    assert core.split("TASK [", 1)[0].split("\n", 1)[1].lstrip().startswith("skipping:"), run
    rollout = run.out.split("TASK [application : Roll the app out start-first", 1)[1].split("TASK [", 1)[0]
    assert "changed:" in rollout, run
    after_ids = container_ids()
    assert after_ids["backend"] != backend, "the backend should have been replaced with the new key"
    environment = sh("docker", "inspect", "-f", "{{json .Config.Env}}", after_ids["backend"]).stdout
    assert '"API_KEY=%s"' % after["API_KEY"] in environment
    assert '"MQTT_CA_FILE=/etc/taylordash/tls/ca.crt"' in environment

    # Each where it is used: the old value is refused there, the new one taken.
    assert create_project(after["API_KEY"]) == 201
    assert create_project(before["API_KEY"]) in (401, 403)
    assert psql(after["POSTGRES_PASSWORD"], "select 1").returncode == 0
    assert "password authentication failed" in psql(before["POSTGRES_PASSWORD"], "select 1").stderr
    assert publish(after, after["MQTT_PASSWORD"]).returncode == 0
    refused = publish(after, before["MQTT_PASSWORD"])
    assert refused.returncode != 0 and "not authorised" in (refused.stdout + refused.stderr).lower()
    assert dashboard(after["TRAEFIK_DASHBOARD_PASSWORD"]) == 200
    assert dashboard(before["TRAEFIK_DASHBOARD_PASSWORD"]) == 401

    compose("exec", "-T", "postgres", "sh", "-c", 'psql -U "$POSTGRES_USER" -d "$POSTGRES_DB" -c "$0"',
            "DELETE FROM projects WHERE name = '%s'" % NAME)

    again = playbook("rotate-secrets.yml", extra_vars=rotation)
    assert again.rc == 0 and again.changed == 0, again
    assert "was applied before" in again.out
    assert read_env() == after
