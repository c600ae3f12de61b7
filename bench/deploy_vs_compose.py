#!/usr/bin/env python3
"""Benchmark (not run in CI): the playbooks against plain docker compose, on the deployed stack.

In one run, on the stack `make deploy` left in /opt/taylordash, each measured
-n times (medians), printed next to the targets of the redesign (no thresholds,
no failure: a report):

  (a) no-op: `ansible-playbook deploy-prod.yml` on the converged stack, against
      `docker compose -f docker-compose.yml -f docker-compose.app.yml up -d --wait`
      on the same rendered project (also a no-op); and the tasks of the recap
      (ok + changed + skipped, one host). Target: at most 15 s and 60 tasks.
  (b) cold: after `docker compose down` (volumes kept, images present),
      `ansible-playbook deploy-prod.yml`, against the audit's start-production.sh
      sequence on the same images and rendered files (up postgres mosquitto
      victoriametrics, poll pg_isready, up backend frontend, up prometheus,
      up traefik; MinIO and Grafana have no offline image) followed by a wait
      until every service reports healthy, with the same healthchecks.
      Target: at most 1.3 times the sequence.
  (c) `ansible-playbook health-check.yml` against `docker compose ps`.
      Target: at most 4 s.
  (d) with Mitogen's strategy (`pip install mitogen`; measured when it is
      importable, never required): the no-op deploy and the health check.

Then the slowest tasks of a no-op run (profile_tasks): where the time goes.

    .venv/bin/python bench/deploy_vs_compose.py [-n 3]
"""

import argparse
import json
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


def playbook(name="deploy-prod.yml", **extra):
    return timed(["ansible-playbook", name], env=env(**extra))


def mitogen_env():
    """The variables that switch ansible to Mitogen's linear strategy, or None without mitogen."""
    try:
        import ansible_mitogen  # noqa: F401 - only its location is needed
    except ImportError:
        return None
    plugins = Path(ansible_mitogen.__file__).parent / "plugins" / "strategy"
    return {"ANSIBLE_STRATEGY_PLUGINS": str(plugins), "ANSIBLE_STRATEGY": "mitogen_linear"}


def wait_healthy(timeout=300):
    """Poll compose ps until every service the sequence started (with the dependencies compose started for
    them) runs and every healthcheck passes; the script starts no socket proxy, Alertmanager or exporter."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        out = subprocess.run(COMPOSE + ["ps", "--all", "--format", "json"], capture_output=True, text=True).stdout
        items = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
        services = [item["Service"] for item in items]
        states = {item["Service"]: (item.get("State"), item.get("Health") or "") for item in items}
        if all(states.get(name, ("", ""))[0] == "running" and states[name][1] in ("", "healthy")
               for name in services):
            return
        time.sleep(0.5)
    sys.exit("the stack did not become healthy within %ds" % timeout)


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
    wait_healthy()
    return time.monotonic() - start


def down():
    subprocess.run(COMPOSE + ["down"], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=3, help="repetitions of each measurement")
    args = parser.parse_args()
    if not (DEPLOY / "docker-compose.app.yml").exists():
        sys.exit("deploy first (make deploy): %s/docker-compose.app.yml is missing" % DEPLOY)
    med = statistics.median

    print("converging once before measuring ...", flush=True)
    playbook()

    noop_playbook, noop_compose, tasks = [], [], None
    for _ in range(args.n):
        elapsed, out = playbook()
        noop_playbook.append(elapsed)
        ok, changed, failed, skipped = map(int, RECAP.findall(out)[-1])
        assert changed == 0, "the converged stack changed on a no-op run"
        tasks = (ok, changed, skipped)
        noop_compose.append(timed(COMPOSE + ["up", "-d", "--wait"])[0])

    health_playbook, health_compose = [], []
    for _ in range(args.n):
        health_playbook.append(playbook("health-check.yml")[0])
        health_compose.append(timed(COMPOSE + ["ps"])[0])

    mitogen = mitogen_env()
    mitogen_noop, mitogen_health = [], []
    if mitogen:
        for _ in range(args.n):
            mitogen_noop.append(playbook(**mitogen)[0])
            mitogen_health.append(playbook("health-check.yml", **mitogen)[0])

    cold_playbook, cold_script = [], []
    for _ in range(args.n):
        down()
        cold_playbook.append(playbook()[0])
        down()
        cold_script.append(audit_sequence())
    playbook()  # leave the stack as make deploy left it

    _, profiled = playbook(ANSIBLE_CALLBACKS_ENABLED="ansible.posix.profile_tasks", PROFILE_TASKS_TASK_OUTPUT_LIMIT="12")
    slowest = [line for line in profiled.splitlines() if re.search(r"-{3,}\s+\d+\.\d+s$", line)][:12]

    print()
    print("medians of %d runs each                                   target" % args.n)
    print("(a) no-op   deploy-prod.yml %6.1fs   compose up -d --wait %5.1fs   ratio %5.1fx   <= 15 s"
          % (med(noop_playbook), med(noop_compose), med(noop_playbook) / med(noop_compose)))
    print("    recap: %d tasks (%d ok, %d changed, %d skipped)                               <= 60 tasks"
          % (sum(tasks), tasks[0], tasks[1], tasks[2]))
    print("(b) cold    deploy-prod.yml %6.1fs   start-production.sh + healthy %5.1fs   ratio %4.2fx   <= 1.3x"
          % (med(cold_playbook), med(cold_script), med(cold_playbook) / med(cold_script)))
    print("(c) health  health-check.yml %5.1fs   docker compose ps %5.2fs   ratio %5.1fx   <= 4 s"
          % (med(health_playbook), med(health_compose), med(health_playbook) / med(health_compose)))
    if mitogen:
        print("(d) mitogen no-op deploy-prod.yml %5.1fs (%.2fx of linear)   health-check.yml %5.1fs (%.2fx)"
              % (med(mitogen_noop), med(mitogen_noop) / med(noop_playbook), med(mitogen_health),
                 med(mitogen_health) / med(health_playbook)))
    else:
        print("(d) mitogen: not installed (pip install mitogen), not measured")
    print()
    print("slowest tasks of a no-op deploy-prod.yml (profile_tasks):")
    for line in slowest:
        print("  " + line.strip())


if __name__ == "__main__":
    main()
