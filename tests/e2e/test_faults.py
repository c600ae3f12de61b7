"""Faults on the shared stack, on the real engine: a deploy whose ansible-playbook dies by SIGKILL, and the
database's server killed by SIGKILL while rows are written."""

import json
import os
import signal
import subprocess
import threading
import time
import uuid
from pathlib import Path

from conftest import ROOT, ansible_env, compose, container_ids, redeploy, sh

LOCK = Path("/var/lib/taylordash/deploy.lock")


def wait_for(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.5)
    raise AssertionError("timed out after %ss waiting for %s" % (timeout, what))


def psql(sql):
    return compose("exec", "-T", "postgres", "sh", "-c",
                   'psql -v ON_ERROR_STOP=1 -U "$POSTGRES_USER" -d "$POSTGRES_DB" -tAc "$0"', sql).stdout.strip()


def health(service):
    return sh("docker", "inspect", "--format", "{{.State.Health.Status}}", container_ids()[service],
              check=False).stdout.strip()


def test_a_deploy_killed_by_sigkill_leaves_a_lock_the_next_run_takes_and_converges(stack):
    """The killed run cannot release its lock; the next run of this controller sees its holder is gone, takes
    the lock without waiting for taylordash_lock_timeout, and converges."""
    stack_vars = ["-e", "@" + str(ROOT / "tests" / "e2e" / "stack-vars.yml")]
    doomed = subprocess.Popen(["ansible-playbook", "deploy-prod.yml", "--skip-tags", "engine,images", *stack_vars],
                              cwd=ROOT, env=ansible_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True, start_new_session=True)
    try:
        wait_for(lambda: LOCK.exists() or doomed.poll() is not None, 120, "the deploy to take its lock")
        assert doomed.poll() is None, "the deploy ended before it could be killed:\n" + doomed.stdout.read()[-3000:]
        holder = json.loads(LOCK.read_text())
        time.sleep(3)  # into the run's first phase
        os.killpg(doomed.pid, signal.SIGKILL)
        doomed.wait(timeout=30)
    finally:
        if doomed.poll() is None:
            os.killpg(doomed.pid, signal.SIGKILL)
            doomed.wait()
    assert LOCK.exists() and json.loads(LOCK.read_text()) == holder, "the killed run's lock is left behind"
    started = time.monotonic()
    run = redeploy(extra_vars={"taylordash_lock_timeout": 600})
    assert run.rc == 0, run
    assert time.monotonic() - started < 300, "the next run waited for the dead run's lock"
    assert not LOCK.exists(), "the run that took the lock over released it"
    for service in ("postgres", "backend", "traefik"):
        assert health(service) == "healthy", service


def test_postgres_killed_by_sigkill_under_writes_comes_back_without_losing_a_committed_row(stack, tmp_path):
    table = "fault_%s" % uuid.uuid4().hex[:8]
    psql("CREATE TABLE %s (n integer PRIMARY KEY)" % table)
    before = container_ids()["postgres"]
    # One psql session inserting row after row, each committed on its own; its "INSERT 0 1" lines are the
    # commits the server acknowledged (written to a file: a pipe nobody reads would stop it writing).
    acks = (tmp_path / "acks").open("w")
    writer = subprocess.Popen(["docker", "exec", "-i", before, "sh", "-c", 'psql -U "$POSTGRES_USER" -d "$POSTGRES_DB"'],
                              stdin=subprocess.PIPE, stdout=acks, stderr=subprocess.DEVNULL, text=True)

    def feed():
        try:
            for n in range(1, 500001):
                writer.stdin.write("INSERT INTO %s VALUES (%d);\n" % (table, n))
            writer.stdin.close()
        except (BrokenPipeError, OSError, ValueError):
            pass  # the session died with the server

    feeder = threading.Thread(target=feed, daemon=True)
    feeder.start()
    try:
        time.sleep(3)  # a few thousand commits in
        pid = int(sh("docker", "inspect", "--format", "{{.State.Pid}}", before).stdout)
        os.kill(pid, signal.SIGKILL)  # the server's postmaster, as the kernel would on an OOM kill
        writer.wait(timeout=60)
    finally:
        if writer.poll() is None:
            writer.kill()
            writer.wait()
    feeder.join(10)
    acks.close()
    out = (tmp_path / "acks").read_text()
    acknowledged = out.count("INSERT 0 1")
    assert 0 < acknowledged < 500000, "the kill came while rows were written: %d acknowledged" % acknowledged
    # restart: unless-stopped brings it back (nobody stopped it), and it recovers from its WAL.
    wait_for(lambda: health("postgres") == "healthy", 180, "PostgreSQL to come back healthy")
    assert container_ids()["postgres"] == before, "the same container restarted, not a new one"
    assert int(sh("docker", "inspect", "--format", "{{.RestartCount}}", before).stdout) >= 1
    count = int(psql("SELECT count(*) FROM %s WHERE n <= %d" % (table, acknowledged)))
    assert count == acknowledged, "%d of %d acknowledged commits survived" % (count, acknowledged)
    psql("DROP TABLE %s" % table)
    wait_for(lambda: health("backend") == "healthy", 120, "the backend after the database came back")
