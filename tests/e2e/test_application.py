"""Application phase on the real engine: the reference app built as images and
run in the shared stack (deployed once by the `stack` fixture)."""

import json
import subprocess
import time
import urllib.request
import uuid

import pytest

from conftest import ROOT, compose, container_ids, playbook, read_env, sh, subscribe_once



def container_ip(service):
    cid = container_ids()[service]
    nets = json.loads(sh("docker", "inspect", "--format", "{{json .NetworkSettings.Networks}}", cid).stdout)
    return next(iter(nets.values()))["IPAddress"]


def get(url, data=None, headers=None, timeout=10):
    request = urllib.request.Request(url, data=json.dumps(data).encode() if data is not None else None,
                                     headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def image_of(service):
    return sh("docker", "inspect", "--format", "{{.Config.Image}}", container_ids()[service]).stdout.strip()


def test_backend_and_frontend_run_healthy_as_unprivileged_users(stack):
    for service in ("backend", "frontend"):
        cid = container_ids()[service]
        state = json.loads(sh("docker", "inspect", "--format", "{{json .State}}", cid).stdout)
        assert state["Health"]["Status"] == "healthy", (service, state["Health"]["Log"][-1:])
        user = sh("docker", "inspect", "--format", "{{.Config.User}}", cid).stdout.strip()
        assert user and not user.startswith("0") and user != "root", (service, user)
        assert sh("docker", "exec", cid, "id", "-u").stdout.strip() != "0"
    tag = image_of("backend").rsplit(":", 1)[1]
    assert len(tag) == 12 and all(c in "0123456789abcdef" for c in tag), tag


def test_migrations_ran_and_projects_round_trip_through_postgres_and_mqtt(stack):
    env = read_env()
    backend = "http://%s:8000" % container_ip("backend")
    status, body = get(backend + "/api/health")
    assert status == 200, body
    assert json.loads(body)["checks"] == {"database": "ok", "mqtt": "ok"}
    topic = env["MQTT_TOPIC_PREFIX"] + "/projects/created"
    sub = subscribe_once(topic, wait=20)
    time.sleep(1.5)
    name = "e2e-" + uuid.uuid4().hex[:8]
    status, body = get(backend + "/api/projects", {"name": name, "description": "from the e2e test"},
                       headers={"X-API-Key": env["API_KEY"]})
    assert status == 201, body
    out, err = sub.communicate(timeout=30)
    assert json.loads(out)["name"] == name, (out, err)
    rows = compose("exec", "-T", "postgres", "psql", "-U", env["POSTGRES_USER"], "-d", env["POSTGRES_DB"], "-tAc",
                   "SELECT count(*) FROM projects WHERE name = '%s'" % name).stdout.strip()
    assert rows == "1"
    version = compose("exec", "-T", "postgres", "psql", "-U", env["POSTGRES_USER"], "-d", env["POSTGRES_DB"],
                      "-tAc", "SELECT version_num FROM alembic_version").stdout.strip()
    assert version, "alembic_version is empty: migrations did not run"
    status, body = get(backend + "/api/projects", {"name": "no key"})
    assert status in (401, 403), body


def test_frontend_serves_the_built_page(stack):
    status, body = get("http://%s:8080/" % container_ip("frontend"))
    assert status == 200 and "<script" in body and "/assets/" in body, body[:500]


def test_prometheus_scrapes_the_backend(stack):
    deadline = time.time() + 60
    while True:
        status, body = get("http://%s:9090/api/v1/targets?state=active" % container_ip("prometheus"))
        targets = [t for t in json.loads(body)["data"]["activeTargets"] if t["labels"]["job"] == "backend"]
        if targets and targets[0]["health"] == "up":
            break
        assert time.time() < deadline, targets
        time.sleep(3)


# One run for the app's checks (the matrix: tests/unit/plugins/module_utils/test__settings.py): a source tree
# without its manifest, a source directory that does not exist and a malformed dashboard user are all named
# before the stack is touched. (A malformed domain: test_bad_input.py.)
def test_bad_sources_and_a_malformed_user_fail_before_the_stack_is_touched(stack, tmp_path):
    before = container_ids()
    (tmp_path / "app").mkdir()
    run = playbook("deploy-prod.yml", extra_vars={"application_backend_src": str(tmp_path),
                                                   "application_frontend_src": str(tmp_path / "nowhere"),
                                                   "proxy_dashboard_user": "admin:x"})
    assert run.rc != 0
    text = " ".join(run.out.split())
    for message in ["application_backend_src=%s" % tmp_path, "requirements.txt",
                    "application_frontend_src=%s: not a directory on the controller" % (tmp_path / "nowhere"),
                    'proxy_dashboard_user="admin:x" is not a valid basic-auth user']:
        assert message in text, run
    assert "Take the deploy lock" not in run.out and run.changed == 0, run
    assert container_ids() == before


def test_an_operator_template_wins_over_the_roles_and_check_mode_shows_it(stack, tmp_path):
    """taylordash_template_dirs: an adapted backend Dockerfile replaces the role's (the frontend's, absent
    there, still comes from the role); --check --diff shows it without building or changing anything."""
    role_file = ROOT / "roles/application/templates/backend/Dockerfile.j2"
    marker = "# adapted by the operator %s" % uuid.uuid4().hex[:8]
    (tmp_path / "backend").mkdir()
    (tmp_path / "backend" / "Dockerfile.j2").write_text(marker + "\n" + role_file.read_text())
    before = container_ids()
    run = playbook("deploy-prod.yml", "--check", "--diff", "--tags", "application",
                   extra_vars={"taylordash_template_dirs": [str(tmp_path), str(tmp_path / "absent")]})
    assert run.rc == 0, run
    assert "+" + marker in run.out, run
    lint = run.out.split("TASK [application : Lint with hadolint the Dockerfile of each image to build]", 1)[1].split("TASK [", 1)[0]
    assert "(item=backend)" in lint and "(item=frontend)" not in lint, lint
    assert container_ids() == before
    plain = playbook("deploy-prod.yml", "--check", "--diff", "--tags", "application")
    assert plain.rc == 0 and plain.changed == 0 and marker not in plain.out, plain
