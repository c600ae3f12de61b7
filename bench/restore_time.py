#!/usr/bin/env python3
"""Benchmark (not run in CI): how long a backup and a restore of a database of a stated size take.

On the stack `make deploy` left in /opt/taylordash (the test stack's settings, tests/e2e/stack-vars.yml: every
backup encrypted to fixtures/backup-identity.txt), in one run:

  1. fills a scratch table `bench_rows` with --rows rows of ~200 bytes (the database's size is printed, as
     pg_database_size reports it);
  2. times `ansible-playbook backup.yml` and, inside it, the backup service's own duration (its status);
  3. times `ansible-playbook restore.yml` of that backup (checks, backend stopped, roles and database restored,
     then the deploy that re-applies the secrets and starts the app, health-gated), and its restore task alone
     (ansible.posix.profile_tasks);
  4. drops the table and takes a backup again, so the newest backup is the stack's own.

A report, no thresholds:

    .venv/bin/python bench/restore_time.py [--rows 1000000]
"""

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEPLOY = Path(os.environ.get("TAYLORDASH_DEPLOY_DIR", "/opt/taylordash"))
IDENTITY = REPO / "tests" / "e2e" / "fixtures" / "backup-identity.txt"
STACK_VARS = REPO / "tests" / "e2e" / "stack-vars.yml"


def env():
    values = {}
    for line in (DEPLOY / ".env").read_text().splitlines():
        if "=" in line and not line.startswith("#"):
            key, _, value = line.partition("=")
            values[key] = value.strip().strip("'\"")
    return values


def psql(sql):
    e = env()
    return subprocess.run(["docker", "exec", "taylordash-postgres-1", "psql", "-U", e["POSTGRES_USER"], "-d",
                           e["POSTGRES_DB"], "-XAtqc", sql], check=True, capture_output=True, text=True).stdout.strip()


def playbook(*args):
    environ = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_NOCOLOR="1",
                   ANSIBLE_CALLBACKS_ENABLED="ansible.posix.profile_tasks",
                   PATH=str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", ""))
    started = time.monotonic()
    proc = subprocess.run(["ansible-playbook", *args, "-e", "@" + str(STACK_VARS)], cwd=REPO, env=environ,
                          capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit("%s failed:\n%s" % (args[0], proc.stdout[-3000:]))
    return time.monotonic() - started, proc.stdout


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1000000)
    args = parser.parse_args()
    psql("DROP TABLE IF EXISTS bench_rows; CREATE TABLE bench_rows (id bigint PRIMARY KEY, payload text); "
         "INSERT INTO bench_rows SELECT i, repeat(md5(i::text), 6) FROM generate_series(1, %d) i;" % args.rows)
    size = int(psql("SELECT pg_database_size(current_database())"))
    backup_s, _ = playbook("backup.yml")
    status = json.loads((DEPLOY / "backups" / "status.json").read_text())
    name, backup_size, service_s = status["last_id"], status["last_size"], status["last_duration"]
    restore_s, out = playbook("restore.yml", "-e", "backup_restore_confirm=true", "-e", "backup_restore_id=" + name,
                              "-e", "backup_identity_file=" + str(IDENTITY))
    rows = int(psql("SELECT count(*) FROM bench_rows"))
    psql("DROP TABLE bench_rows")
    playbook("backup.yml")
    print("database: %.0f MB (%d rows of ~200 bytes in bench_rows, plus the app's tables)" % (size / 1e6, args.rows))
    print("backup %s: %.1f MB encrypted; backup.yml %.1f s, of which the backup service's work %.1f s"
          % (name, backup_size / 1e6, backup_s, service_s))
    task = [line for line in out.splitlines() if line.startswith("backup : Restore ")]
    step = float(task[-1].rstrip("s").split()[-1]) if task else float("nan")
    print("restore.yml: %.1f s (checks, backend stopped, restore, then the deploy that starts the app "
          "health-gated), of which the restore itself %.1f s; rows back: %d" % (restore_s, step, rows))


if __name__ == "__main__":
    main()
