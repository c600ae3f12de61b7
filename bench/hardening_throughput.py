#!/usr/bin/env python3
"""Benchmark (not run in CI): throughput through Traefik before and after least privilege, in one run.

On the stack `make deploy` left in /opt/taylordash: the services that serve a request (Traefik, the backend,
PostgreSQL) are deployed first as they ran before the hardening (root, writable root filesystem: catalogue
overrides), then as the catalogue ships them (their own uid, read-only root, every capability dropped). Each
time, -r runs of -n requests (10,000 by default) at a concurrency of -c (50) against /api/projects through
Traefik on loopback (bench/loadgen.py, bounded in requests and seconds). Printed per configuration: the median
of the runs' requests per second, p50/p99 latency and errors (target 0), then the ratio after/before (least
privilege must keep at least 0.90 of the throughput). The stack is left as shipped.

    .venv/bin/python bench/hardening_throughput.py [-n 10000] [-c 50] [-r 3]
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEPLOY = Path(os.environ.get("TAYLORDASH_DEPLOY_DIR", "/opt/taylordash"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from loadgen import Load  # noqa: E402

# As the services that serve a request ran before the hardening: Traefik as root, every root filesystem
# writable (the backend already ran as its own uid, PostgreSQL's server as postgres).
BEFORE = {"traefik": {"user": 0, "root": "the bench's before", "read_only": False},
          "backend": {"read_only": False}, "postgres": {"read_only": False}}


def deploy(overrides):
    env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_NOCOLOR="1")
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    cmd = ["ansible-playbook", "deploy-prod.yml", "--skip-tags", "engine,images", "-e",
           "@" + str(REPO / "tests" / "e2e" / "stack-vars.yml")]
    if overrides:
        cmd += ["-e", json.dumps({"taylordash_service_overrides": overrides})]
    proc = subprocess.run(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if proc.returncode != 0:
        sys.exit("the deploy failed:\n" + proc.stdout[-3000:])


def measure(args):
    results = []
    for _ in range(args.r):
        load = Load("taylordash.local", "/api/projects", ca=str(DEPLOY / "pki" / "ca.crt"), concurrency=args.c,
                    max_requests=args.n, max_seconds=600, expect="json")
        load.start()
        load.wait()
        summary = load.summary()
        results.append({"rps": summary["requests"] / summary["seconds"], "p50": summary["p50_ms"],
                        "p99": summary["p99_ms"], "errors": summary["failed"], "requests": summary["requests"]})
    return {key: statistics.median(r[key] for r in results) for key in ("rps", "p50", "p99")} | {
        "errors": sum(r["errors"] for r in results), "requests": sum(r["requests"] for r in results)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=10000)
    parser.add_argument("-c", type=int, default=50)
    parser.add_argument("-r", type=int, default=3)
    args = parser.parse_args()
    figures = {}
    try:
        for label, overrides in (("before (root, writable root)", BEFORE), ("after (least privilege)", {})):
            deploy(overrides)
            figures[label] = measure(args)
            f = figures[label]
            print("%-30s %8.1f req/s  p50 %6.1f ms  p99 %7.1f ms  errors %d of %d"
                  % (label, f["rps"], f["p50"], f["p99"], f["errors"], f["requests"]), flush=True)
    finally:
        if len(figures) < 2:
            deploy({})  # leave the stack as shipped
    before, after = figures.values()
    print("throughput after/before: %.2f (median of %d runs of %d requests at concurrency %d; target >= 0.90)"
          % (after["rps"] / before["rps"], args.r, args.n, args.c))
    return 0 if after["errors"] == before["errors"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
