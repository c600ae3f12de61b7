"""Faults on the shared stack, on the real engine: a deploy whose ansible-playbook dies by SIGKILL, the
database's server killed by SIGKILL while rows are written, the deploy directory's filesystem full, and the
engine restarted in the middle of a deploy."""

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
    # restart: unless-stopped brings it back (nobody stopped it), and it recovers from its WAL. The engine
    # keeps a restarted container's last health status until a check says otherwise: ask the server itself.
    wait_for(lambda: int(sh("docker", "inspect", "--format", "{{.RestartCount}}", before).stdout) >= 1
             and compose("exec", "-T", "postgres", "pg_isready", "-q", check=False).returncode == 0,
             180, "PostgreSQL to accept connections again")
    wait_for(lambda: health("postgres") == "healthy", 180, "PostgreSQL to come back healthy")
    assert container_ids()["postgres"] == before, "the same container restarted, not a new one"
    assert int(sh("docker", "inspect", "--format", "{{.RestartCount}}", before).stdout) >= 1
    count = int(psql("SELECT count(*) FROM %s WHERE n <= %d" % (table, acknowledged)))
    assert count == acknowledged, "%d of %d acknowledged commits survived" % (count, acknowledged)
    psql("DROP TABLE %s" % table)
    wait_for(lambda: health("backend") == "healthy", 120, "the backend after the database came back")


def tree_digest(root):
    """path -> sha256 of every file under the deploy directory (the state: .env, compose files, configs)."""
    out = sh("sh", "-c", "cd %s && find . -type f ! -path './backups/*' -print0 | sort -z | xargs -0 sha256sum"
             % root).stdout
    return dict(reversed(line.split(None, 1)) for line in out.splitlines())


def test_a_full_filesystem_under_the_deploy_directory_fails_the_run_naming_it_and_half_writes_nothing(stack):
    """The deploy directory on a small tmpfs (a copy of it, mounted over it) filled to the last byte: a run
    that has files to change fails naming the file it could not write, and every file, .env and the compose
    files among them, is as it was (each is written to a temporary file renamed over it, or not at all)."""
    root = Path("/opt/taylordash")
    before, ids = tree_digest(root), container_ids()
    size = int(sh("du", "-sm", str(root)).stdout.split()[0]) + 16  # all of it is copied
    staging = Path("/run/taylordash-full")
    staging.mkdir(exist_ok=True)
    sh("mount", "-t", "tmpfs", "-o", "size=%dm,mode=0755" % size, "tmpfs", str(staging))
    try:
        sh("cp", "-a", str(root) + "/.", str(staging))
        sh("mount", "--bind", str(staging), str(root))
        try:
            subprocess.run(["dd", "if=/dev/zero", "of=%s/filler" % root, "bs=1M"], capture_output=True, check=False)
            assert sh("df", "--output=avail", str(root)).stdout.split()[-1] == "0", "the filesystem is not full"
            # A changed secret (.env) and a changed alert setting (a config file): both have to be written.
            run = redeploy(tags="infrastructure", extra_vars={
                "infrastructure_secrets": {"API_KEY": "FullDisk%dKey0123456789abcdef" % os.getpid()},
                "infrastructure_alertmanager_repeat_interval": "3h"})
            assert run.rc != 0, run
            text = " ".join(run.out.split())
            assert "No space left on device" in text and "cannot write %s/" % root in text, run
            os.unlink("%s/filler" % root)
            assert tree_digest(root) == before, "a file of the deploy directory changed"
            leftovers = sh("find", str(root), "-name", ".*.tmp").stdout.split()
            assert leftovers == [], "temporary files left: %s" % leftovers
            assert container_ids() == ids, "a failed run replaced containers"
            assert not LOCK.exists(), "the failed run left its lock"
        finally:
            sh("umount", str(root))
    finally:
        sh("umount", str(staging), check=False)
        staging.rmdir()


def dockerd_restart():
    """Stop dockerd as the docker_engine role's restart does, then let the role start it again (and
    reattach what its live restore kept running)."""
    sh("start-stop-daemon", "--stop", "--oknodo", "--retry", "TERM/30/KILL/5", "--pidfile", "/var/run/docker-ssd.pid")
    # The deploy that the engine died under still holds the lock: break it, as an operator would.
    started = subprocess.run(["ansible-playbook", "playbooks/engine.yml", "-e", "taylordash_lock_break=true"],
                             cwd=ROOT, env=ansible_env(),
                             capture_output=True, text=True, timeout=600, check=False)
    assert started.returncode == 0, started.stdout[-3000:]


def test_an_engine_restarted_in_the_middle_of_a_deploy_fails_it_clearly_and_the_next_run_converges(stack):
    """dockerd stops while Compose recreates a service: the run fails naming the phase (or finishes, if the
    engine was back in time), nothing is lost, and the next run with the same settings converges."""
    marker = "fault_engine_%s" % uuid.uuid4().hex[:8]
    psql("CREATE TABLE %s (note text)" % marker)
    psql("INSERT INTO %s VALUES ('%s')" % (marker, marker))
    change = {"taylordash_service_overrides": {"victoriametrics": {"limits": {"memory": "700m"}}}}
    old = container_ids()["victoriametrics"]
    stack_vars = ["-e", "@" + str(ROOT / "tests" / "e2e" / "stack-vars.yml"), "-e", json.dumps(change)]
    deploy = subprocess.Popen(["ansible-playbook", "deploy-prod.yml", "--tags", "infrastructure", *stack_vars],
                              cwd=ROOT, env=ansible_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True, start_new_session=True)
    lines = []
    reader = threading.Thread(target=lambda: lines.extend(deploy.stdout), daemon=True)
    reader.start()
    try:
        wait_for(lambda: any("Bring the project up (docker compose up --wait" in line for line in lines)
                 or deploy.poll() is not None, 300, "the deploy to bring up the changed service")
        # Into the recreation itself: the old container is stopped, the new one not yet started.
        wait_for(lambda: sh("docker", "inspect", "--format", "{{.State.Running}}", old,
                            check=False).stdout.strip() != "true" or deploy.poll() is not None,
                 120, "Compose to stop the old VictoriaMetrics container")
        assert deploy.poll() is None, "the deploy ended before the engine stopped:\n" + "".join(lines)[-3000:]
        dockerd_restart()
        deploy.wait(timeout=600)
    finally:
        if deploy.poll() is None:
            os.killpg(deploy.pid, signal.SIGKILL)
            deploy.wait()
        reader.join(10)
    out = " ".join("".join(lines).split())
    if deploy.returncode != 0:
        assert "localhost failed in " in out, out[-3000:]
    assert not LOCK.exists(), "the run left its lock"
    try:
        run = redeploy(tags="infrastructure", extra_vars=change)
        assert run.rc == 0, run
        memory = sh("docker", "inspect", "--format", "{{.HostConfig.Memory}}", container_ids()["victoriametrics"])
        assert memory.stdout.strip() == str(700 * 1024 * 1024)
        for service in ("postgres", "victoriametrics", "traefik", "socket-proxy"):
            assert health(service) == "healthy", service
        assert psql("SELECT note FROM %s" % marker) == marker, "a row written before the restart was lost"
    finally:
        psql("DROP TABLE IF EXISTS %s" % marker)
        restored = redeploy(tags="infrastructure")
    assert restored.rc == 0, restored


PROBE_IMAGE = "taylordash/debian:13"


def proxy_status(method, path):
    """The HTTP status heal-proxy answers autoheal with, for one call made from inside the autoheal container."""
    script = ("import http.client; c = http.client.HTTPConnection('heal-proxy', 2375, timeout=10); "
              "c.request(%r, %r); print(c.getresponse().status)" % (method, path))
    return int(sh("docker", "exec", container_ids()["autoheal"], "python3", "-c", script).stdout.strip())


def probe(name, health_cmd):
    """A container of the project (its compose label) with a 1 s healthcheck, /tmp on tmpfs."""
    sh("docker", "run", "-d", "--name", name, "--label", "com.docker.compose.project=taylordash",
       "--tmpfs", "/tmp", "--health-cmd", health_cmd, "--health-interval", "1s", "--health-retries", "1",
       "--health-timeout", "2s", PROBE_IMAGE, "sleep", "infinity")


def state(name):
    return json.loads(sh("docker", "inspect", "--format", "{{json .State}}", name).stdout)


def test_autoheal_restarts_what_stays_unhealthy_except_under_a_deploy_and_what_drains(stack):
    """autoheal (interval 2 s in the test stack) restarts a running container of the project that turned
    unhealthy, leaves it alone while a deploy holds the lock and leaves an old app container that says it is
    draining; its Docker API passes only the list, inspect and restart calls."""
    ident = container_ids()["autoheal"]
    assert proxy_status("GET", "/v1.41/containers/json") == 200
    assert proxy_status("GET", "/containers/%s/json" % ident) == 200
    for method, path in [("POST", "/containers/%s/kill" % ident), ("POST", "/containers/%s/exec" % ident),
                         ("POST", "/containers/create"), ("DELETE", "/containers/%s" % ident),
                         ("GET", "/images/json"), ("GET", "/containers/%s/logs" % ident),
                         ("POST", "/containers/%s/stop" % ident), ("GET", "/secrets")]:
        assert proxy_status(method, path) == 403, (method, path)

    tag = uuid.uuid4().hex[:8]
    sick, draining = "taylordash-heal-sick-%s" % tag, "taylordash-heal-draining-%s" % tag
    assert not LOCK.exists(), "a deploy holds the lock"
    try:
        probe(sick, "test ! -e /tmp/sick")
        probe(draining, "test ! -e /tmp/drain || { echo draining; exit 1; }")
        wait_for(lambda: state(sick).get("Health", {}).get("Status") == "healthy", 30, "the probe to turn healthy")
        started, drain_started = state(sick)["StartedAt"], state(draining)["StartedAt"]

        # A deploy holds the lock: the unhealthy container is left alone for 5 intervals.
        LOCK.write_text(json.dumps({"controller": "test", "user": "test", "playbook": "test_faults", "since": 0}))
        sh("docker", "exec", sick, "touch", "/tmp/sick")
        sh("docker", "exec", draining, "touch", "/tmp/drain")
        wait_for(lambda: state(sick)["Health"]["Status"] == "unhealthy"
                 and state(draining)["Health"]["Status"] == "unhealthy", 30, "the probes to turn unhealthy")
        time.sleep(10)
        assert state(sick)["StartedAt"] == started, "restarted while a deploy held the lock"
        LOCK.unlink()

        # The lock gone: restarted (its /tmp is a tmpfs, so it comes back healthy); the draining one is not.
        wait_for(lambda: state(sick)["StartedAt"] != started, 30, "autoheal to restart the unhealthy probe")
        wait_for(lambda: state(sick)["Health"]["Status"] == "healthy", 30, "the restarted probe to turn healthy")
        time.sleep(6)
        assert state(draining)["Health"]["Status"] == "unhealthy" and state(draining)["Running"]
        assert state(draining)["StartedAt"] == drain_started, "the draining container was restarted"
        logs = sh("docker", "logs", "--since", "5m", ident).stdout
        assert "left %s alone: a deploy holds the lock" % sick in logs, logs[-2000:]
        assert "restarted %s: unhealthy" % sick in logs, logs[-2000:]
        assert "left %s alone: draining" % draining in logs, logs[-2000:]
        assert "restarted %s" % draining not in logs, logs[-2000:]
    finally:
        if LOCK.exists() and "test_faults" in LOCK.read_text():
            LOCK.unlink()
        sh("docker", "rm", "-f", sick, draining, check=False)
