#!/usr/bin/env python3
"""Benchmark (not run in CI): dev_server_facts' /proc scan versus the old `ps | grep` pipeline, and
audit.yml's process scan versus the `ps`/`ss` pipeline an admin would run for the same picture.

Spawns many idle processes (`sleep 600`) so /proc is as busy as a real host, starts
a couple of loopback listeners (a real uvicorn and a plain socket listener whose
arguments contain "uvicorn"), then times, N times each:

  (a) the dev_server_facts logic from plugins/module_utils/_devservers.py
      (``scan_instances(project_root, apps)`` if the module has it, otherwise what
      the module does: validate_apps + scan + analyse);
  (b) ``ps aux | grep -E 'uvicorn|vite' | grep -v grep | awk '{print $2}'``.

  (c) audit.yml's process scan (plugins/module_utils/_audit_scan.py: every listening
      instance with its user, command line, working directory and start time, plus
      every listener with its holder): ``processes(...)`` + ``listeners()``;
  (d) ``ss -ltnpH; ps -eo pid,user,lstart,args``: the listeners with their pids and
      every process's user, start time and command line, which an admin would then
      join by hand (no working directory, no grouping into instances).

It prints the timings and the ratios (a)/(b) and (c)/(d) measured in this one run;
no thresholds.

    .venv/bin/python bench/dev_server_facts_vs_ps.py [--procs 2000] [-n 20]
"""

import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "collections"))  # collections/ansible_collections/taylordash/ops -> repo

from ansible_collections.taylordash.ops.plugins.module_utils import _audit_scan, _devservers  # noqa: E402

PS_PIPELINE = "ps aux | grep -E 'uvicorn|vite' | grep -v grep | awk '{print $2}'"
SS_PS_PIPELINE = "ss -ltnpH; ps -eo pid,user,lstart,args"

ASGI_APP = '''async def app(scope, receive, send):
    if scope["type"] == "http":
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})
'''

LISTENER = ("import socket, time\n"
            "s = socket.socket(); s.bind(('127.0.0.1', %d)); s.listen(8)\n"
            "while True: time.sleep(3600)\n")


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_port(port, proc, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("listener on %d exited with %s" % (port, proc.returncode))
        with socket.socket() as sock:
            sock.settimeout(0.3)
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError("nothing listens on %d after %ss" % (port, timeout))


def facts_function():
    """A callable(project_root, apps) -> result, and a description of what it runs."""
    if hasattr(_devservers, "scan_instances"):
        return _devservers.scan_instances, "_devservers.scan_instances"

    def facts(project_root, apps):
        checked = _devservers.validate_apps(apps)
        instances = _devservers.scan(os.path.realpath(project_root), checked)
        result = {"instances": instances}
        result.update(_devservers.analyse(instances, checked))
        return result

    return facts, "_devservers.validate_apps + scan + analyse (dev_server_facts' logic)"


def timed(func, n):
    times, result = [], None
    for _ in range(n):
        start = time.perf_counter()
        result = func()
        times.append(time.perf_counter() - start)
    return times, result


def kill_all(procs):
    for proc in procs:
        if proc.poll() is None:
            try:
                proc.send_signal(signal.SIGKILL)
            except ProcessLookupError:
                pass
    for proc in procs:
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--procs", type=int, default=2000, help="idle processes to spawn (default 2000)")
    parser.add_argument("-n", type=int, default=20, help="timed runs of each side (default 20)")
    args = parser.parse_args()

    facts, what = facts_function()
    idle, listeners = [], []
    with tempfile.TemporaryDirectory(prefix="devserver-bench-") as tmp:
        root = Path(tmp) / "TaylorDash"
        (root / "backend" / "app").mkdir(parents=True)
        (root / "backend" / "app" / "__init__.py").write_text("")
        (root / "backend" / "app" / "main.py").write_text(ASGI_APP)
        uvicorn_port, decoy_port = free_port(), free_port()
        apps = {"backend": {"path": "backend", "port": uvicorn_port, "kinds": ["uvicorn"]}}
        try:
            t0 = time.perf_counter()
            for _ in range(args.procs):
                idle.append(subprocess.Popen(["sleep", "600"], stdin=subprocess.DEVNULL,
                                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            spawn = time.perf_counter() - t0
            listeners.append(subprocess.Popen(
                [sys.executable, "-m", "uvicorn", "app.main:app", "--host", "127.0.0.1", "--port", str(uvicorn_port),
                 "--log-level", "warning"], cwd=root / "backend", stdin=subprocess.DEVNULL))
            listeners.append(subprocess.Popen(
                [sys.executable, "-c", LISTENER % decoy_port, "uvicorn", "app.main:app"], cwd=root / "backend",
                stdin=subprocess.DEVNULL))
            wait_port(uvicorn_port, listeners[0])
            wait_port(decoy_port, listeners[1])
            nprocs = sum(1 for entry in os.listdir("/proc") if entry.isdigit())
            print("spawned %d idle processes in %.2fs; %d processes in /proc; listeners on %d (uvicorn), %d (decoy)"
                  % (args.procs, spawn, nprocs, uvicorn_port, decoy_port))

            facts_times, facts_result = timed(lambda: facts(str(root), apps), args.n)
            ps_times, ps_result = timed(lambda: subprocess.run(PS_PIPELINE, shell=True, stdout=subprocess.PIPE,
                                                               stderr=subprocess.DEVNULL, text=True, check=False),
                                        args.n)
            audit_times, audit_result = timed(
                lambda: (_audit_scan.processes(str(root), apps), _audit_scan.listeners()), args.n)
            ss_times, ss_result = timed(lambda: subprocess.run(SS_PS_PIPELINE, shell=True, stdout=subprocess.PIPE,
                                                               stderr=subprocess.DEVNULL, text=True, check=False),
                                        args.n)
        finally:
            kill_all(listeners + idle)

    instances = facts_result["instances"] if isinstance(facts_result, dict) else facts_result
    ours = [inst for inst in instances if isinstance(inst, dict) and inst.get("app")]
    print("(a) %s: %d listening instances, %d attributed to an app" % (what, len(instances), len(ours)))
    print("(b) %s: %d pids" % (PS_PIPELINE, len(ps_result.stdout.split())))
    print("(c) audit scan: %d listening instances, %d listeners" % (len(audit_result[0]), len(audit_result[1])))
    print("(d) %s: %d lines" % (SS_PS_PIPELINE, len(ss_result.stdout.splitlines())))
    for label, times in (("(a) /proc scan", facts_times), ("(b) ps pipeline", ps_times),
                         ("(c) audit scan", audit_times), ("(d) ss+ps", ss_times)):
        print("%-16s n=%d  median %8.2f ms  mean %8.2f ms  min %8.2f ms  max %8.2f ms"
              % (label, len(times), 1000 * statistics.median(times), 1000 * statistics.mean(times),
                 1000 * min(times), 1000 * max(times)))
    ratio = statistics.median(facts_times) / statistics.median(ps_times)
    print("ratio (a)/(b), medians, this run: %.2f" % ratio)
    ratio = statistics.median(audit_times) / statistics.median(ss_times)
    print("ratio (c)/(d), medians, this run: %.2f" % ratio)


if __name__ == "__main__":
    main()
