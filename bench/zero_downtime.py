#!/usr/bin/env python3
"""Benchmark (not run in CI): a backend upgrade under load, on the stack `make deploy` left in /opt/taylordash.

In one run: at least -n requests (10,000 by default) at a concurrency of -c (50) against /api/projects through
Traefik on loopback (bench/loadgen.py, bounded in requests and seconds), from before a backend upgrade starts
until after the old container is gone. The upgrade is `ansible-playbook deploy-prod.yml --tags application`
with a copy of the example backend that differs by one comment (a new image); the run ends by upgrading back
to the original source (the cached image), also measured. Printed: failed requests (target 0), the versions
that answered, p50/p99 latency before and during the upgrade, and the seconds from the start of the playbook
to the first answer of the new version.

    .venv/bin/python bench/zero_downtime.py [-n 10000] [-c 50]
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEPLOY = Path(os.environ.get("TAYLORDASH_DEPLOY_DIR", "/opt/taylordash"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from loadgen import Load  # noqa: E402


def env():
    result = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_NOCOLOR="1")
    result["PATH"] = str(Path(sys.executable).parent) + os.pathsep + result.get("PATH", "")
    return result


def upgrade(extra):
    cmd = ["ansible-playbook", "deploy-prod.yml", "--tags", "application"]
    if extra:
        cmd += ["-e", json.dumps(extra)]
    started = time.monotonic()
    proc = subprocess.run(cmd, cwd=REPO, env=env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if proc.returncode != 0:
        sys.exit("the upgrade failed:\n" + proc.stdout[-3000:])
    return started, time.monotonic()


def backend_version():
    out = subprocess.run(["docker", "ps", "--filter", "label=com.docker.compose.project=taylordash", "--filter",
                          "label=com.docker.compose.service=backend", "--format", "{{.Image}}"],
                         capture_output=True, text=True, check=True).stdout.split()
    return out[0].rsplit(":", 1)[1] if out else None


def measure(args, extra, label):
    load = Load("taylordash.local", "/api/projects", ca=str(DEPLOY / "pki" / "ca.crt"), concurrency=args.c,
                max_requests=10 ** 9, max_seconds=args.max_seconds, expect="json")
    before = backend_version()
    load.start()
    time.sleep(args.warmup)
    started, ended = upgrade(extra)
    # Keep the load on until the requests reach -n (at least 2 s after the old container is gone).
    time.sleep(2)
    while len(load.records) < args.n and time.monotonic() - load.started < args.max_seconds:
        time.sleep(0.5)
    load.stop()
    after = backend_version()
    summary = load.summary()
    start_at, end_at = started - load.started, ended - load.started
    p50_before, p99_before = load.latency(0, start_at)
    p50_during, p99_during = load.latency(start_at, end_at)
    first = load.first_answer_of(after)
    print("%s: %s -> %s" % (label, before, after))
    print("  requests %d, failed %d (target 0), concurrency %d" % (summary["requests"], summary["failed"], args.c))
    print("  versions that answered: %s" % summary["versions"])
    print("  latency before: p50 %.1f ms, p99 %.1f ms; during the upgrade: p50 %.1f ms, p99 %.1f ms"
          % (p50_before or 0, p99_before or 0, p50_during or 0, p99_during or 0))
    print("  the new version answered %.1f s after the playbook started; the playbook took %.1f s"
          % ((first - start_at) if first is not None else float("nan"), end_at - start_at))
    for failure in summary["first_failures"]:
        print("  failure: %s" % failure)
    return summary["failed"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=10000, help="requests at least, per upgrade")
    parser.add_argument("-c", type=int, default=50, help="concurrency")
    parser.add_argument("--warmup", type=float, default=5, help="seconds of load before the upgrade starts")
    parser.add_argument("--max-seconds", type=float, default=900)
    args = parser.parse_args()
    if not (DEPLOY / "docker-compose.app.yml").exists():
        sys.exit("deploy first (make deploy): %s/docker-compose.app.yml is missing" % DEPLOY)
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "backend"
        shutil.copytree(REPO / "examples" / "taylordash" / "backend", copy,
                        ignore=shutil.ignore_patterns("__pycache__", ".venv", ".pytest_cache"))
        main_py = copy / "app" / "main.py"
        main_py.write_text(main_py.read_text() + "\n# bench/zero_downtime.py\n")
        failed = measure(args, {"application_backend_src": str(copy)}, "upgrade")
        failed += measure(args, None, "and back")
    print("failed requests in all: %d (target 0)" % failed)


if __name__ == "__main__":
    main()
