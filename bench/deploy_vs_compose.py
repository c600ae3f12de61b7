#!/usr/bin/env python3
"""Benchmark (not run in CI): deploy-prod.yml against plain docker compose, on the deployed stack.

In one run, on the stack `make deploy` left in /opt/taylordash:

  (a) no-op: `ansible-playbook deploy-prod.yml` on the converged stack, against
      `docker compose -f docker-compose.yml -f docker-compose.app.yml up -d --wait`
      on the same rendered project (also a no-op);
  (b) cold: after `docker compose down` (volumes kept, images present),
      `ansible-playbook deploy-prod.yml`, against the audit's start-production.sh
      sequence on the same images and rendered files (up postgres mosquitto
      victoriametrics, poll pg_isready, up backend frontend, up prometheus,
      up traefik; MinIO and Grafana have no offline image).

It prints each median, both ratios, the task count of the no-op run and the
slowest tasks of a no-op run (profile_tasks), i.e. where the time goes. The
audit's script waits for PostgreSQL only, so it returns before the other
services are healthy; the playbook returns when every service is healthy and
the app answers. No thresholds.

    .venv/bin/python bench/deploy_vs_compose.py [-n 3]
"""

import argparse
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEPLOY = Path(os.environ.get("TAYLORDASH_DEPLOY_DIR", "/opt/taylordash"))
COMPOSE = ["docker", "compose", "--project-directory", str(DEPLOY), "-f", str(DEPLOY / "docker-compose.yml"),
           "-f", str(DEPLOY / "docker-compose.app.yml")]
RECAP = re.compile(r"ok=(\d+)\s+changed=(\d+)\s+unreachable=\d+\s+failed=(\d+)\s+skipped=(\d+)")


def env(**extra):
    result = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_NOCOLOR="1", **extra)
    result["PATH"] = str(Path(sys.executable).parent) + os.pathsep + result.get("PATH", "")
    return result


def timed(cmd, **kwargs):
    start = time.monotonic()
    proc = subprocess.run(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kwargs)
    elapsed = time.monotonic() - start
    if proc.returncode != 0:
        sys.exit("%s failed:\n%s" % (" ".join(cmd), proc.stdout[-3000:]))
    return elapsed, proc.stdout


def playbook(**extra):
    return timed(["ansible-playbook", "deploy-prod.yml"], env=env(**extra))


def audit_sequence():
    """scripts/start-production.sh of the audit, on our rendered project (MinIO/Grafana left out offline)."""
    start = time.monotonic()
    subprocess.run(COMPOSE + ["up", "-d", "postgres", "mosquitto", "victoriametrics"], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    user = subprocess.run(COMPOSE + ["exec", "-T", "postgres", "printenv", "POSTGRES_USER"], capture_output=True,
                          text=True, check=True).stdout.strip()
    while subprocess.run(COMPOSE + ["exec", "-T", "postgres", "pg_isready", "-U", user],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode != 0:
        time.sleep(1)
    for services in (["backend", "frontend"], ["prometheus"], ["traefik"]):
        subprocess.run(COMPOSE + ["up", "-d"] + services, check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
    return time.monotonic() - start


def down():
    subprocess.run(COMPOSE + ["down"], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=3, help="repetitions of each measurement")
    args = parser.parse_args()
    if not (DEPLOY / "docker-compose.app.yml").exists():
        sys.exit("deploy first (make deploy): %s/docker-compose.app.yml is missing" % DEPLOY)

    print("converging once before measuring ...", flush=True)
    playbook()

    noop_playbook, noop_compose, tasks = [], [], None
    for _ in range(args.n):
        elapsed, out = playbook()
        noop_playbook.append(elapsed)
        ok, changed, failed, skipped = map(int, RECAP.findall(out)[-1])
        assert changed == 0, "the converged stack changed on a no-op run"
        tasks = (ok, skipped)
        noop_compose.append(timed(COMPOSE + ["up", "-d", "--wait"])[0])

    cold_playbook, cold_script = [], []
    for _ in range(args.n):
        down()
        cold_playbook.append(playbook()[0])
        down()
        cold_script.append(audit_sequence())
    playbook()  # leave the stack as make deploy left it

    _, profiled = playbook(ANSIBLE_CALLBACKS_ENABLED="ansible.posix.profile_tasks", PROFILE_TASKS_TASK_OUTPUT_LIMIT="12")
    slowest = [line for line in profiled.splitlines() if re.search(r"-{3,}\s+\d+\.\d+s$", line)][:12]

    med = statistics.median
    print()
    print("(a) no-op   deploy-prod.yml %6.1fs   docker compose up -d --wait %5.1fs   ratio %5.1fx"
          % (med(noop_playbook), med(noop_compose), med(noop_playbook) / med(noop_compose)))
    print("    no-op run: %d tasks ok, %d skipped, 0 changed" % tasks)
    print("(b) cold    deploy-prod.yml %6.1fs   start-production.sh sequence %5.1fs   ratio %5.1fx"
          % (med(cold_playbook), med(cold_script), med(cold_playbook) / med(cold_script)))
    print("    (the script returns once PostgreSQL answers; the playbook once every service is healthy)")
    print()
    print("slowest tasks of a no-op deploy-prod.yml (profile_tasks):")
    for line in slowest:
        print("  " + line.strip())


if __name__ == "__main__":
    main()
