"""Backups on the shared stack: the backup service (catalogue entry `backup`), backup.yml and restore.yml
against the real PostgreSQL, age and the API. The stack encrypts every backup to the key in
fixtures/backup-identity.txt (stack-vars.yml)."""

import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from conftest import ROOT, compose, container_ids, playbook, read_env, sh
from test_application import container_ip, get
from test_infrastructure import NETWORK, SINK, healthy_services

BACKUPS = Path("/opt/taylordash/backups")
IDENTITY = ROOT / "tests" / "e2e" / "fixtures" / "backup-identity.txt"
CONTAINER = "taylordash-backup-1"


def wait_for(check, timeout, step=1.0, what="the condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, "timed out after %ss waiting for %s" % (timeout, what)
        time.sleep(step)


def backups():
    return sorted(p.name for p in BACKUPS.iterdir() if p.is_dir() and not p.name.startswith("."))


def status():
    return json.loads((BACKUPS / "status.json").read_text())


def api_projects():
    status_code, body = get("http://%s:8000/api/projects" % container_ip("backend"))
    assert status_code == 200, body
    return {row["id"]: row["name"] for row in json.loads(body)}


def add_projects(count):
    env = read_env()
    made = {}
    for _ in range(count):
        name = "backup-" + uuid.uuid4().hex[:8]
        code, body = get("http://%s:8000/api/projects" % container_ip("backend"), {"name": name},
                         headers={"X-API-Key": env["API_KEY"]})
        assert code == 201, body
        made[json.loads(body)["id"]] = name
    return made


def psql(sql):
    env = read_env()
    return compose("exec", "-T", "postgres", "psql", "-U", env["POSTGRES_USER"], "-d", env["POSTGRES_DB"], "-tAc",
                   sql).stdout.strip()


def take_backup():
    run = playbook("backup.yml")
    assert run.rc == 0, run
    assert run.changed == 1, run
    (name,) = [line.split("Backup ", 1)[1].split(" ", 1)[0] for line in run.out.splitlines() if "msg: 'Backup " in line]
    return name, run


def restore(name, **extra):
    settings = {"backup_restore_confirm": True, "backup_restore_id": name, "backup_identity_file": str(IDENTITY)}
    settings.update(extra)
    return playbook("restore.yml", extra_vars={k: v for k, v in settings.items() if v is not None})


def test_the_schedule_takes_a_backup_with_no_one_present(stack):
    """The service's loop, not a playbook: its last success set two days back makes one due at its next look."""
    before = set(backups())
    current = status()
    current["last_success"] = time.time() - 2 * 86400 - 60
    (BACKUPS / ".status.test").write_text(json.dumps(current))
    os.replace(BACKUPS / ".status.test", BACKUPS / "status.json")
    new = wait_for(lambda: set(backups()) - before, 30, what="a scheduled backup")
    (name,) = new
    assert "-" not in name  # no label: the schedule's
    wait_for(lambda: status().get("last_id") == name, 10, what="the status of the scheduled backup")
    assert "took %s" % name in sh("docker", "logs", CONTAINER).stdout
    manifest = json.loads((BACKUPS / name / "manifest.json").read_text())
    assert manifest["encrypted"] and manifest["secrets"] and manifest["databases"] == ["taylordash"]
    # Encrypted files only, never a clear dump, and every file private to root.
    files = sorted(p.name for p in (BACKUPS / name).iterdir())
    assert files == ["SHA256SUMS", "globals.sql.age", "manifest.json", "secrets.tar.age", "taylordash.dump.age"]
    assert all(oct((BACKUPS / name / f).stat().st_mode & 0o777) == "0o600" for f in files)
    assert oct(BACKUPS.stat().st_mode & 0o777) == "0o700"
    assert b"PGDMP" not in (BACKUPS / name / "taylordash.dump.age").read_bytes()[:200]


def test_rows_written_through_the_api_survive_a_backup_and_a_restore(stack):
    made = add_projects(3)
    name, _ = take_backup()
    psql("DELETE FROM projects WHERE id IN (%s)" % ",".join(str(i) for i in made))
    assert not set(made) & set(api_projects())
    backend_before = container_ids()["backend"]
    run = restore(name)
    assert run.rc == 0, run
    assert "Restored %s" % name in run.out
    rows = api_projects()
    assert {i: rows.get(i) for i in made} == made  # the same ids and names
    assert container_ids()["backend"] != backend_before  # stopped for the restore, started again health-gated
    assert healthy_services()["backend"] == ("running", "healthy")
    again = playbook("deploy-prod.yml")
    assert again.rc == 0 and again.changed == 0, again


def test_a_lost_volume_comes_back_from_a_backup(stack):
    made = add_projects(2)
    name, _ = take_backup()
    compose("stop", "backend", "postgres-exporter", "backup", "postgres")
    compose("rm", "-f", "postgres")
    sh("docker", "volume", "rm", "taylordash_postgres-data")
    deployed = playbook("deploy-prod.yml")  # a new, empty database
    assert deployed.rc == 0, deployed
    assert not set(made) & set(api_projects())
    run = restore(name)
    assert run.rc == 0, run
    rows = api_projects()
    assert {i: rows.get(i) for i in made} == made


def test_a_corrupted_backup_is_refused_before_anything_stops(stack):
    name, _ = take_backup()
    copy = "20200101T000000Z"
    shutil.copytree(BACKUPS / name, BACKUPS / copy)
    try:
        dump = BACKUPS / copy / "taylordash.dump.age"
        data = bytearray(dump.read_bytes())
        data[len(data) // 2] ^= 0xFF
        dump.write_bytes(bytes(data))
        backend = container_ids()["backend"]
        run = restore(copy)
        assert run.rc != 0, run
        assert "taylordash.dump.age does not match its checksum" in run.out, run
        assert container_ids()["backend"] == backend
        assert healthy_services()["backend"] == ("running", "healthy")
        assert not Path("/var/lib/taylordash/deploy.lock").exists(), "the refused restore left its lock"
    finally:
        shutil.rmtree(BACKUPS / copy)


def test_an_encrypted_backup_restores_only_with_its_key(stack, tmp_path):
    backend = container_ids()["backend"]
    run = restore("latest", backup_identity_file=None)
    assert run.rc != 0, run
    assert "is encrypted: give the age private key" in run.out and "backup_identity" in run.out, run
    other = tmp_path / "other.key"
    other.write_text(sh("docker", "run", "--rm", "--entrypoint", "age-keygen", "taylordash/postgres-backup:17").stdout)
    run = restore("latest", backup_identity_file=str(other))
    assert run.rc != 0, run
    assert "could not be decrypted" in run.out and "backup_identity" in run.out, run
    assert container_ids()["backend"] == backend


@pytest.mark.parametrize("settings,message", [
    ({"backup_restore_confirm": False}, "-e backup_restore_confirm=true"),
    ({"backup_restore_id": "20200101T000000Z"}, "backup_restore_id: there is no backup '20200101T000000Z'"),
])
def test_a_restore_without_confirmation_or_of_a_missing_backup_is_refused(stack, settings, message):
    backend = container_ids()["backend"]
    run = restore(settings.pop("backup_restore_id", "latest"), **settings)
    assert run.rc != 0, run
    assert message in run.out, run
    assert container_ids()["backend"] == backend


def test_retention_keeps_the_counts_and_the_newest(stack):
    """stack: 7 days, 4 weeks, 12 months, 5 pre-migration. Earlier today's backups go (the new one is today's
    newest); one of three days ago stays (7 days); of six pre-migration ones the oldest goes."""
    today = time.strftime("%Y%m%d", time.gmtime())
    three_days_ago = time.strftime("%Y%m%d", time.gmtime(time.time() - 3 * 86400))
    earlier_today = ["%sT00000%dZ" % (today, i) for i in (1, 2)]
    kept_day = three_days_ago + "T120000Z"
    pre = ["201901%02dT000000Z-pre-migration" % day for day in range(1, 7)]
    for fake in earlier_today + [kept_day] + pre:
        (BACKUPS / fake).mkdir()
        (BACKUPS / fake / "manifest.json").write_text(json.dumps({"id": fake}))
    existing_pre = [n for n in backups() if n.endswith("-pre-migration") and n not in pre]
    try:
        name, run = take_backup()
        left = set(backups())
        assert name in left
        assert not set(earlier_today) & left, run
        assert kept_day in left
        all_pre = sorted(pre + existing_pre)
        assert [n for n in sorted(left) if n.endswith("-pre-migration")] == all_pre[-5:]
        assert "pruned" in run.out
    finally:
        for fake in earlier_today + [kept_day] + pre:
            shutil.rmtree(BACKUPS / fake, ignore_errors=True)


def test_an_old_last_backup_fires_the_alert_and_fails_health_until_the_next_one(stack):
    sh("docker", "rm", "-f", "alert-sink", check=False)
    sh("docker", "run", "-d", "--name", "alert-sink", "--network", NETWORK, "taylordash/python:3.13",
       "python3", "-u", "-c", SINK)
    saved = (BACKUPS / "status.json").read_text()
    try:
        # Two days without a success, a failure just now (the loop retries in 5 minutes), a service that
        # has run for three days: older than twice the daily schedule, past the grace period.
        old = dict(json.loads(saved), last_success=time.time() - 2 * 86400 - 600, last_failure=time.time(),
                   first_start=time.time() - 3 * 86400, last_error="test: no backup")
        (BACKUPS / ".status.test").write_text(json.dumps(old))
        os.replace(BACKUPS / ".status.test", BACKUPS / "status.json")

        def notified():
            for line in sh("docker", "logs", "alert-sink").stdout.splitlines():
                if line.startswith("{"):
                    for alert in json.loads(line).get("alerts", []):
                        if alert["status"] == "firing" and alert["labels"].get("alertname") == "TaylordashBackupTooOld":
                            return alert
            return None
        alert = wait_for(notified, 120, step=3, what="TaylordashBackupTooOld at the webhook")
        assert alert["labels"]["job"] == "backup"
        health = playbook("health-check.yml")
        assert health.rc != 0, health
        assert "FAIL backup" in health.out and "test: no backup" in health.out, health
        take_backup()
        health = playbook("health-check.yml")
        assert health.rc == 0, health
        assert "ok   backup" in health.out, health
    finally:
        sh("docker", "rm", "-f", "alert-sink", check=False)


S3_PORT = 9555


@pytest.fixture
def s3_server():
    """moto in server mode on the project network's gateway (the host, reachable from the backup container
    and from here; nowhere else), with an empty bucket. The stack goes back to no off-host target after."""
    gateway = json.loads(sh("docker", "network", "inspect", NETWORK, "--format", "{{json .IPAM.Config}}").stdout)[0]["Gateway"]
    endpoint = "http://%s:%d" % (gateway, S3_PORT)
    server = subprocess.Popen([str(Path(sys.executable).parent / "moto_server"), "-H", gateway, "-p", str(S3_PORT)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        import boto3
        client = boto3.client("s3", endpoint_url=endpoint, aws_access_key_id="test", aws_secret_access_key="test",
                              region_name="us-east-1")
        wait_for(lambda: _answers(client), 30, step=0.3, what="moto_server")
        client.create_bucket(Bucket="taylordash-backups")
        yield endpoint, client
    finally:
        server.terminate()
        server.wait(timeout=10)
        restored = playbook("deploy-prod.yml")
        assert restored.rc == 0, restored


def _answers(client):
    try:
        client.list_buckets()
        return True
    except Exception:
        return False


def test_each_backup_is_copied_to_s3_and_a_restore_fetches_it_from_there(stack, s3_server):
    endpoint, client = s3_server
    offsite = {"taylordash_backup_offsite": ["s3://taylordash-backups/ci/host1"],
               "taylordash_backup_s3": {"endpoint": endpoint, "access_key": "test", "secret_key": "not-shown-s3-secret",
                                        "region": "us-east-1", "provider": "Other"}}
    deployed = playbook("deploy-prod.yml", "--diff", extra_vars=offsite)
    assert deployed.rc == 0, deployed
    assert "backup.json" in deployed.out and "not-shown-s3-secret" not in deployed.out, deployed
    assert oct((Path("/opt/taylordash/config/backup/backup.json")).stat().st_mode & 0o777) == "0o600"
    made = add_projects(1)
    run = playbook("backup.yml", extra_vars=offsite)
    assert run.rc == 0, run
    assert "copied to s3://taylordash-backups/ci/host1" in " ".join(run.out.split()), run
    name = status()["last_id"]
    listed = client.list_objects_v2(Bucket="taylordash-backups", Prefix="ci/host1/%s/" % name)
    keys = sorted(item["Key"].rsplit("/", 1)[1] for item in listed.get("Contents", []))
    assert keys == sorted(p.name for p in (BACKUPS / name).iterdir())
    remote = client.get_object(Bucket="taylordash-backups", Key="ci/host1/%s/taylordash.dump.age" % name)["Body"].read()
    assert remote == (BACKUPS / name / "taylordash.dump.age").read_bytes()
    assert b"age-encryption.org" in remote[:40]  # encrypted before it left the host
    # Lost on the host: the restore fetches it from S3.
    shutil.rmtree(BACKUPS / name)
    psql("DELETE FROM projects WHERE id = %d" % next(iter(made)))
    settings = {"backup_restore_confirm": True, "backup_restore_id": name, "backup_identity_file": str(IDENTITY)}
    back = playbook("restore.yml", extra_vars=dict(offsite, **settings))
    assert back.rc == 0, back
    assert (BACKUPS / name / "SHA256SUMS").exists()
    rows = api_projects()
    assert {i: rows.get(i) for i in made} == made


PG_VOLUME = "taylordash_postgres-data"


def pg15_image():
    run = playbook("tests/e2e/fixtures/postgres-image.yml", extra_vars={"images_postgres_major": 15})
    assert run.rc == 0, run
    return "taylordash/postgres:15"


def drop_the_stacks_database():
    compose("stop", "backend", "postgres-exporter", "backup", "postgres")
    compose("rm", "-f", "postgres")
    sh("docker", "volume", "rm", PG_VOLUME)


def pg_version(volume):
    return sh("docker", "run", "--rm", "-v", "%s:/data:ro" % volume, "--entrypoint", "cat", "taylordash/postgres:17",
              "/data/PG_VERSION").stdout.strip()


def seeded_pg15(name, volume, env, sql, network="none"):
    """A PostgreSQL 15 container on `volume` with .env's role and database, after `sql` ran in it."""
    sh("docker", "rm", "-f", name, check=False)
    sh("docker", "run", "-d", "--name", name, "--network", network, "-v", "%s:/var/lib/postgresql/data" % volume,
       "-e", "POSTGRES_USER=" + env["POSTGRES_USER"], "-e", "POSTGRES_PASSWORD=" + env["POSTGRES_PASSWORD"],
       "-e", "POSTGRES_DB=" + env["POSTGRES_DB"], "taylordash/postgres:15")
    wait_for(lambda: sh("docker", "exec", name, "pg_isready", "-h", "127.0.0.1", "-U", env["POSTGRES_USER"],
                        check=False).returncode == 0, 60, what="PostgreSQL 15 up")
    sh("docker", "exec", name, "psql", "-v", "ON_ERROR_STOP=1", "-U", env["POSTGRES_USER"], "-d", env["POSTGRES_DB"],
       "-c", sql)


def test_a_postgresql_15_volume_is_refused_before_the_container_changes_then_upgraded_with_its_rows(stack):
    image = pg15_image()
    assert image
    env = read_env()
    drop_the_stacks_database()
    seeded_pg15("pg15-seed", PG_VOLUME, env, "CREATE TABLE upgrade_probe (id int PRIMARY KEY, note text); "
                "INSERT INTO upgrade_probe SELECT i, 'row ' || i FROM generate_series(1, 500) i;")
    sh("docker", "rm", "-f", "pg15-seed")
    refused = playbook("deploy-prod.yml")
    assert refused.rc != 0, refused
    said = " ".join(refused.out.split())
    assert "made by PostgreSQL 15" in said and "runs PostgreSQL 17" in said, refused
    assert "taylordash_postgres_upgrade=true" in said, refused
    assert "postgres" not in container_ids()  # never created on the old data
    assert pg_version(PG_VOLUME) == "15"

    upgraded = playbook("deploy-prod.yml", extra_vars={"taylordash_postgres_upgrade": True})
    assert upgraded.rc == 0, upgraded
    assert "PostgreSQL upgraded from 15 to 17" in " ".join(upgraded.out.split()), upgraded
    assert pg_version(PG_VOLUME) == "17"
    assert pg_version(PG_VOLUME + "-pg15") == "15"  # the old data, kept
    assert psql("SELECT count(*), sum(id) FROM upgrade_probe") == "500|125250"
    assert healthy_services()["backend"] == ("running", "healthy")
    assert add_projects(1)  # the app writes into the upgraded database

    removed = playbook("deploy-prod.yml", extra_vars={"taylordash_postgres_upgrade_remove_old": True})
    assert removed.rc == 0 and removed.changed == 1, removed
    assert sh("docker", "volume", "inspect", PG_VOLUME + "-pg15", check=False).returncode != 0


V1_COMPOSE = """
name: taylordashv1
services:
  postgres:
    image: taylordash/postgres:15
    environment: {POSTGRES_USER: taylordash, POSTGRES_PASSWORD: v1-password, POSTGRES_DB: taylordash}
    volumes: [postgres_data:/var/lib/postgresql/data]
volumes:
  postgres_data: {}
"""


def test_the_old_stacks_database_is_not_ignored_silently_and_is_imported(stack, tmp_path):
    """The audited layout: compose project taylordashv1, its PostgreSQL 15 holding rows of the app's tables."""
    pg15_image()
    (tmp_path / "docker-compose.yml").write_text(V1_COMPOSE)
    v1 = ["docker", "compose", "--project-directory", str(tmp_path), "-f", str(tmp_path / "docker-compose.yml")]
    sh(*v1, "up", "-d", "--wait")
    try:
        backend_image = sh("docker", "inspect", "--format", "{{.Config.Image}}", container_ids()["backend"]).stdout.strip()
        sh("docker", "run", "--rm", "--network", "taylordashv1_default", "-e",
           "DATABASE_URL=postgresql://taylordash:v1-password@postgres:5432/taylordash", backend_image,
           "alembic", "upgrade", "head")
        names = ["v1-project-%d" % i for i in range(1, 4)]
        sh(*v1, "exec", "-T", "postgres", "psql", "-v", "ON_ERROR_STOP=1", "-U", "taylordash", "-d", "taylordash", "-c",
           "INSERT INTO projects (id, name, description) VALUES %s" % ", ".join(
               "(%d, '%s', 'from v1')" % (1000 + i, n) for i, n in enumerate(names)))
        sh(*v1, "stop")
        drop_the_stacks_database()
        refused = playbook("deploy-prod.yml")
        assert refused.rc != 0, refused
        said = " ".join(refused.out.split())
        assert "taylordashv1_postgres_data" in said and "taylordash_v1_data=import" in said \
            and "taylordash_v1_data=ignore" in said, refused
        assert "postgres" not in container_ids()
        imported = playbook("deploy-prod.yml", extra_vars={"taylordash_v1_data": "import"})
        assert imported.rc == 0, imported
        rows = api_projects()
        assert {1000 + i: rows.get(1000 + i) for i in range(3)} == {1000 + i: n for i, n in enumerate(names)}
        assert sh("docker", "volume", "inspect", "taylordashv1_postgres_data").returncode == 0  # kept
    finally:
        sh(*v1, "down", "-v", check=False)


def test_rollback_names_the_backup_taken_before_the_migration_and_restores_it_when_confirmed(stack, tmp_path):
    from conftest import redeploy
    from test_zero_downtime import backend_copy, image_of
    before_image = image_of("backend")
    kept = add_projects(1)
    copy = backend_copy(tmp_path)
    revision = psql("SELECT version_num FROM alembic_version")
    (copy / "migrations" / "versions" / "0098_rollback_probe.py").write_text(
        '"""A table the release adds."""\nimport sqlalchemy as sa\nfrom alembic import op\n\n'
        'revision = "0098_rollback_probe"\ndown_revision = "%s"\nbranch_labels = None\ndepends_on = None\n\n\n'
        'def upgrade():\n    op.create_table("rollback_probe", sa.Column("id", sa.Integer, primary_key=True))\n\n\n'
        'def downgrade():\n    op.drop_table("rollback_probe")\n' % revision)
    try:
        up = redeploy(extra_vars={"application_backend_src": str(copy)}, tags="application")
        assert up.rc == 0, up
        new_image = image_of("backend")
        pre = max(n for n in backups() if n.endswith("-pre-migration")
                  and json.loads((BACKUPS / n / "manifest.json").read_text())["release"] == new_image)
        assert "after backup %s/%s" % (BACKUPS, pre) in " ".join(up.out.split()), up
        later = add_projects(1)  # written after the backup: a restore of it loses this row
        back = playbook("rollback.yml", extra_vars={"backup_restore_confirm": True,
                                                     "backup_identity_file": str(IDENTITY)})
        assert back.rc == 0, back
        said = " ".join(back.out.split())
        assert "the backup taken just before: localhost:%s/%s" % (BACKUPS, pre) in said, back
        assert image_of("backend") == before_image
        assert psql("SELECT version_num FROM alembic_version") == revision  # the schema before the release
        rows = api_projects()
        assert {i: rows.get(i) for i in kept} == kept and not set(later) & set(rows)
    finally:
        forward = redeploy(tags="application")
        assert forward.rc == 0, forward
