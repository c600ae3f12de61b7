"""Start-first upgrades on the shared stack, under load through the real Traefik: a bounded client
(bench/loadgen.py) calls the app from before each upgrade starts until after the old container is gone,
and every answer names the version and the container that gave it."""

import hashlib
import json
import shutil
import sys
import uuid

from conftest import DEPLOY_DIR, ROOT, compose, container_ids, redeploy, sh

sys.path.insert(0, str(ROOT / "bench"))
from loadgen import Load  # noqa: E402

DOMAIN = "taylordash.local"
CA = str(DEPLOY_DIR / "pki" / "ca.crt")
BACKEND_SRC = ROOT / "examples" / "taylordash" / "backend"
FRONTEND_SRC = ROOT / "examples" / "taylordash" / "frontend"
APP_FILE = DEPLOY_DIR / "docker-compose.app.yml"


def under_load(path, expect, upgrade, markers=()):
    """Run `upgrade` while 4 clients call `path` (from 2 s before until 2 s after it: the run removed the old
    container before it returned). Each client pauses 50 ms between requests: about 60 requests a second
    still finds any gap of the routes, and leaves the two cores to the upgrade it observes. The load's own
    limits are a safety net only."""
    load = Load(DOMAIN, path, ca=CA, concurrency=4, max_requests=500000, max_seconds=1200, expect=expect,
                markers=markers, pause=0.05)
    return load.around(upgrade), load


def containers(service):
    """IDs of the project's containers of `service` (found by their labels)."""
    return sh("docker", "ps", "-aq", "--filter", "label=com.docker.compose.project=taylordash", "--filter",
              "label=com.docker.compose.service=" + service).stdout.split()


def image_of(service):
    return sh("docker", "inspect", "--format", "{{.Config.Image}}", container_ids()[service]).stdout.strip()


def digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def backend_copy(tmp_path):
    copy = tmp_path / "backend"
    shutil.copytree(BACKEND_SRC, copy, ignore=shutil.ignore_patterns("__pycache__", ".venv", ".pytest_cache"))
    return copy


def test_a_backend_change_serves_every_request_and_recreates_the_backend_only(stack, tmp_path):
    before_ids, before_image, frontend_image = container_ids(), image_of("backend"), image_of("frontend")
    copy = backend_copy(tmp_path)
    (copy / "app" / "main.py").write_text((copy / "app" / "main.py").read_text() + "\n# changed by the e2e test\n")
    change = {"application_backend_src": str(copy)}
    run, load = under_load("/api/projects", "json", lambda: redeploy(extra_vars=change, tags="application"))
    try:
        assert run.rc == 0, run
        summary = load.summary()
        assert summary["failed"] == 0 and summary["requests"] > 20, summary
        old, new = before_image.rsplit(":", 1)[1], image_of("backend").rsplit(":", 1)[1]
        assert old != new and list(load.versions()) == [old, new], summary
        assert "backend: start-first (configuration changed)" in run.out and "frontend: none" in run.out, run
        after_ids = container_ids()
        assert image_of("frontend") == frontend_image
        assert sorted(s for s in before_ids if before_ids[s] != after_ids.get(s)) == ["backend"]
        assert len(containers("backend")) == 1
        again = redeploy(extra_vars=change, tags="application")
        assert again.rc == 0 and again.changed == 0, again
        assert container_ids() == after_ids
    finally:
        back, load = under_load("/api/projects", "json", lambda: redeploy(tags="application"))
    assert back.rc == 0, back
    assert load.summary()["failed"] == 0, load.summary()
    assert image_of("backend") == before_image, "the original source maps back to the cached image"


def test_a_frontend_change_serves_every_page_and_recreates_the_frontend_only(stack, tmp_path):
    before, before_image = container_ids(), image_of("frontend")
    copy = tmp_path / "frontend"
    shutil.copytree(FRONTEND_SRC, copy, ignore=shutil.ignore_patterns("node_modules", "dist"))
    marker = "zd-%s" % uuid.uuid4().hex[:8]
    index = copy / "index.html"
    index.write_text(index.read_text().replace("<head>", '<head>\n    <meta name="e2e" content="%s">' % marker, 1))
    change = {"application_frontend_src": str(copy)}
    run, load = under_load("/", "html", lambda: redeploy(extra_vars=change, tags="application"), markers=(marker,))
    try:
        assert run.rc == 0, run
        summary = load.summary()
        assert summary["failed"] == 0, summary
        old_answers = [r for r in load.records if r["version"] is None]
        assert old_answers and summary["versions"].get(marker), summary
        after = container_ids()
        assert sorted(s for s in before if before[s] != after.get(s)) == ["frontend"]
        assert len(containers("frontend")) == 1
    finally:
        back, load = under_load("/", "html", lambda: redeploy(tags="application"))
    assert back.rc == 0 and load.summary()["failed"] == 0, (back, load.summary())
    assert image_of("frontend") == before_image


def test_an_env_value_that_reaches_the_backend_replaces_it_start_first(stack):
    """.env is the infrastructure phase's; the backend reads MQTT_TOPIC_PREFIX from it. The infrastructure
    phase leaves the app's containers alone; the app phase replaces the backend beside the old one."""
    before = container_ids()
    prefix = {"infrastructure_mqtt_topic_prefix": "zd-%s" % uuid.uuid4().hex[:6]}
    run, load = under_load("/api/projects", "json", lambda: redeploy(extra_vars=prefix))
    try:
        assert run.rc == 0, run
        summary = load.summary()
        assert summary["failed"] == 0, summary
        assert len(summary["instances"]) == 2, summary
        after = container_ids()
        # Mosquitto's ACL names the prefix too: the infrastructure phase recreates it, in place.
        assert sorted(s for s in before if before[s] != after.get(s)) == ["backend", "mosquitto"]
        env = sh("docker", "inspect", "--format", "{{json .Config.Env}}", after["backend"]).stdout
        assert "MQTT_TOPIC_PREFIX=" + prefix["infrastructure_mqtt_topic_prefix"] in json.loads(env)
    finally:
        back, load = under_load("/api/projects", "json", lambda: redeploy())
    assert back.rc == 0 and load.summary()["failed"] == 0, (back, load.summary())


def test_a_new_version_that_never_turns_healthy_never_serves_and_changes_nothing(stack):
    before, app_file = container_ids(), digest(APP_FILE)
    current = sh("docker", "image", "inspect", "-f", "{{.Id}}", image_of("backend").rsplit(":", 1)[0] + ":current",
                 check=False).stdout.strip()
    failing = {"application_backend_healthcheck": {"test": ["CMD", "false"], "interval": "1s", "retries": 1},
               "taylordash_service_overrides": {"backend": {"health_timeout": "40s"}}}
    run, load = under_load("/api/projects", "json", lambda: redeploy(extra_vars=failing, tags="application"))
    assert run.rc != 0, run
    assert "backend: the new container(s) failed its healthcheck" in run.out, run
    assert "---- last 40 log lines of taylordash-backend-" in run.out, run
    summary = load.summary()
    assert summary["failed"] == 0 and list(summary["versions"]) == [image_of("backend").rsplit(":", 1)[1]], summary
    # Only the old container answered (the instance header is its host name, the short container ID).
    assert list(summary["instances"]) == [before["backend"][:12]], summary
    assert container_ids() == before and len(containers("backend")) == 1
    assert digest(APP_FILE) == app_file, "docker-compose.app.yml no longer describes what runs"
    assert sh("docker", "image", "inspect", "-f", "{{.Id}}", image_of("backend").rsplit(":", 1)[0] + ":current",
              check=False).stdout.strip() == current
    again = redeploy(tags="application")
    assert again.rc == 0 and again.changed == 0, again


def test_a_failing_migration_changes_nothing_that_runs_or_is_rendered(stack, tmp_path):
    before, app_file = container_ids(), digest(APP_FILE)
    revision = compose("exec", "-T", "postgres", "sh", "-c",
                       'psql -U "$POSTGRES_USER" -d "$POSTGRES_DB" -tAc "SELECT version_num FROM alembic_version"'
                       ).stdout.strip()
    copy = backend_copy(tmp_path)
    (copy / "migrations" / "versions" / "0099_broken.py").write_text(
        '"""A migration that fails half-way."""\nimport sqlalchemy as sa\nfrom alembic import op\n\n'
        'revision = "0099_broken"\ndown_revision = "%s"\nbranch_labels = None\ndepends_on = None\n\n\n'
        'def upgrade():\n    op.create_table("zd_half_way", sa.Column("id", sa.Integer, primary_key=True))\n'
        '    op.execute("SELECT no_such_function()")\n\n\ndef downgrade():\n    pass\n' % revision)
    run = redeploy(extra_vars={"application_backend_src": str(copy)}, tags="application")
    assert run.rc != 0, run
    assert "The migration (migrate) failed" in run.out and "nothing that runs or is rendered changed" in run.out, run
    assert container_ids() == before and digest(APP_FILE) == app_file
    tables = compose("exec", "-T", "postgres", "sh", "-c",
                     'psql -U "$POSTGRES_USER" -d "$POSTGRES_DB" -tAc "SELECT to_regclass(\'zd_half_way\')"'
                     ).stdout.strip()
    assert tables == "", "the failed migration's first step was not rolled back: %s" % tables
