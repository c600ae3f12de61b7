"""Start the "seed" layout of the audited host: real dev servers plus decoys.

Usage (as a fixture factory)::

    import seed as seedlib

    @pytest.fixture()
    def seed(tmp_path):
        s = seedlib.start(tmp_path)
        yield s
        s.stop()

``start(base)`` builds a throw-away project tree under ``base`` (``base/TaylorDash``
and an unrelated ``base/other-project``), starts every seed server from ONE bash
script launched in a new session (so they share a process group, like the audited
host's start script), starts the decoys separately, waits until every port answers
and returns a :class:`Seed`. ``Seed.stop()`` kills everything it started (recorded
pids, their descendants and whatever is left in the seed's session; SIGTERM, then
SIGKILL) and removes the directories it made. It never kills by name.

Everything binds to loopback only.
"""

import contextlib
import fcntl
import json
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

# The apps, their directory under the project root and their planned port. This
# mirrors taylordash_port_plan / taylordash_dev_apps in roles/taylordash/defaults.
APPS = {
    "backend": {"path": "backend", "port": 3000},
    "frontend": {"path": "frontend", "port": 5173},
    "mcp-manager": {"path": "examples/mcp-manager", "port": 5174},
    "projects-manager": {"path": "examples/projects-manager", "port": 5175},
    "midnight-hud": {"path": "examples/midnight-hud", "port": 5177},
}
PORT_PLAN = {name: app["port"] for name, app in APPS.items()}

# Ports the seed uses besides the plan: stray instances and decoys.
BACKEND_STRAY_PORT = 8000          # uvicorn twice: 127.0.0.1 (venv) and ::1 (base python)
FRONTEND_STRAY_PORTS = (5176, 5178)
DECOY_PORTS = {"other-vite": 5180, "http-server": 8090, "uvicorn-word": 8091, "plain-listener": 8092}

VITE_SPEC = "7"                    # npm dist-tag/range; the cache is keyed by it
VITE_CACHE = Path(os.environ.get("TAYLORDASH_VITE_CACHE", "/tmp/taylordash-vite-cache"))
SEED_LOCK = Path("/tmp/taylordash-seed.lock")
START_TIMEOUT = 60.0
LOCK_TIMEOUT = 300.0

ASGI_APP = '''"""Tiny ASGI app: answers 200 "ok" to every request."""


async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    elif scope["type"] == "http":
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"text/plain"), (b"content-length", b"2")]})
        await send({"type": "http.response.body", "body": b"ok"})
'''

# Exec bash on the seed script as a child subreaper (prctl PR_SET_CHILD_SUBREAPER
# survives execve): the process is `bash start-seed.sh`, session and group leader.
REAPER = ("import ctypes, os, sys\n"
          "ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)\n"
          "os.execv('/bin/bash', ['bash', sys.argv[1]])\n")

LISTEN_AND_SLEEP = (
    "import socket, time\n"
    "s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
    "s.bind(('127.0.0.1', {port})); s.listen(8)\n"
    "while True: time.sleep(3600)\n"
)


# --------------------------------------------------------------------------- /proc helpers

def _stat(pid):
    """(state, ppid, pgid, sid, starttime) of pid, or None when it does not exist."""
    try:
        with open("/proc/%d/stat" % pid, "rb") as handle:
            data = handle.read().decode("utf-8", "replace")
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    fields = data[data.rfind(")") + 2:].split()
    # fields[0] is field 3 (state) of proc(5).
    return fields[0], int(fields[1]), int(fields[2]), int(fields[3]), int(fields[19])


def alive(pid):
    """True if pid exists and is not a zombie."""
    st = _stat(pid)
    return st is not None and st[0] not in ("Z", "X")


def _ignores(pid, sig):
    """True if pid ignores signal sig (SigIgn in /proc/<pid>/status)."""
    try:
        with open("/proc/%d/status" % pid) as handle:
            for line in handle:
                if line.startswith("SigIgn:"):
                    return bool(int(line.split()[1], 16) & (1 << (int(sig) - 1)))
    except OSError:
        pass
    return False


def _all_pids():
    return [int(entry) for entry in os.listdir("/proc") if entry.isdigit()]


def _table():
    table = {}
    for pid in _all_pids():
        st = _stat(pid)
        if st is not None:
            table[pid] = st
    return table


def descendants(pid):
    """Every live-or-zombie descendant of pid (pid itself excluded)."""
    children = {}
    for child, st in _table().items():
        children.setdefault(st[1], []).append(child)
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), ()):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def _listen_inodes(port, family, host=None):
    """Socket inodes in LISTEN state on port (family 'ipv4' or 'ipv6')."""
    path = "/proc/net/tcp" if family == "ipv4" else "/proc/net/tcp6"
    want_host = None
    if host is not None:
        packed = socket.inet_pton(socket.AF_INET if family == "ipv4" else socket.AF_INET6, host)
        # /proc prints each 32-bit word in host (little-endian) order.
        want_host = "".join(packed[i:i + 4][::-1].hex().upper() for i in range(0, len(packed), 4))
    inodes = set()
    with open(path) as handle:
        next(handle)
        for line in handle:
            parts = line.split()
            addr, hexport = parts[1].rsplit(":", 1)
            if parts[3] == "0A" and int(hexport, 16) == port and (want_host is None or addr == want_host):
                inodes.add(int(parts[9]))
    return inodes


def listening(port, family="ipv4", host=None):
    """True if some socket listens on TCP port in that family (optionally on host)."""
    return bool(_listen_inodes(port, family, host))


def owners(port, family="ipv4", host=None):
    """Pids holding a listening socket on port (read from /proc/*/fd)."""
    inodes = _listen_inodes(port, family, host)
    targets = {"socket:[%d]" % inode for inode in inodes}
    found = set()
    if not targets:
        return found
    for pid in _all_pids():
        try:
            fds = os.listdir("/proc/%d/fd" % pid)
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink("/proc/%d/fd/%s" % (pid, fd)) in targets:
                    found.add(pid)
                    break
            except OSError:
                continue
    return found


def _connects(host, port, timeout=0.5):
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        try:
            sock.connect((host, port))
            return True
        except OSError:
            return False


def _tail(path, lines=25):
    try:
        return "\n".join(Path(path).read_text(errors="replace").splitlines()[-lines:])
    except OSError as exc:
        return "(no log: %s)" % exc


@contextlib.contextmanager
def _flock(path, timeout):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as handle:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise TimeoutError("could not lock %s within %ss" % (path, timeout))
                time.sleep(0.2)
        try:
            yield handle
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


# --------------------------------------------------------------------------- toolchain

def venv_dir():
    """The venv the tests run in (falls back to the repo's .venv)."""
    if sys.prefix != sys.base_prefix:
        return Path(sys.prefix)
    return Path(__file__).resolve().parents[2] / ".venv"


def base_python():
    """The base ("second install") interpreter: a different executable from the venv's."""
    ver = "python%d.%d" % sys.version_info[:2]
    for candidate in (Path(sys.base_prefix) / "bin" / ver, Path(sys.base_prefix) / "bin" / "python3"):
        if candidate.exists():
            return candidate
    raise RuntimeError("no base interpreter under %s" % sys.base_prefix)


def vite_install(spec=VITE_SPEC, cache=VITE_CACHE):
    """Install vite@spec once into cache/vite-<spec> (reused when present); return that dir.

    The directory holds node_modules/ with vite and its dependencies. Concurrent
    callers serialise on a lock file; the install goes to a temp dir first and is
    renamed into place, so a half-done install is never reused.
    """
    target = cache / ("vite-%s" % spec)
    marker = target / ".installed"
    if marker.exists() and (target / "node_modules/vite/bin/vite.js").exists():
        return target
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError("npm is not on PATH")
    with _flock(cache / ".lock", timeout=600):
        if marker.exists() and (target / "node_modules/vite/bin/vite.js").exists():
            return target
        tmp = cache / ("vite-%s.tmp-%d" % (spec, os.getpid()))
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        (tmp / "package.json").write_text(json.dumps({"name": "taylordash-vite-cache", "private": True}))
        proc = subprocess.run([npm, "install", "--no-audit", "--no-fund", "vite@%s" % spec], cwd=tmp,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=600,
                              check=False)
        if proc.returncode != 0 or not (tmp / "node_modules/vite/bin/vite.js").exists():
            shutil.rmtree(tmp, ignore_errors=True)
            raise RuntimeError("npm install vite@%s failed:\n%s" % (spec, proc.stdout[-3000:]))
        version = json.loads((tmp / "node_modules/vite/package.json").read_text())["version"]
        (tmp / ".installed").write_text(version + "\n")
        shutil.rmtree(target, ignore_errors=True)
        os.rename(tmp, target)
    return target


# --------------------------------------------------------------------------- the seed

def _make_tree(base, vite_dir):
    root = base / "TaylorDash"
    other = base / "other-project"
    app_dir = root / "backend" / "app"
    app_dir.mkdir(parents=True)
    (app_dir / "__init__.py").write_text("")
    (app_dir / "main.py").write_text(ASGI_APP)
    vite_projects = [root / APPS[name]["path"] for name in APPS if name != "backend"] + [other / "frontend"]
    for project in vite_projects:
        project.mkdir(parents=True)
        (project / "node_modules").symlink_to(vite_dir / "node_modules", target_is_directory=True)
        (project / "package.json").write_text(json.dumps(
            {"name": project.name, "private": True, "type": "module", "scripts": {"dev": "vite"}}, indent=2))
        (project / "index.html").write_text(
            "<!doctype html>\n<html><head><title>%s</title></head><body><h1>%s</h1></body></html>\n"
            % (project.name, project.name))
        # node_modules is a shared symlink, so vite's default cache (node_modules/.vite)
        # would be shared and its concurrent re-optimisations race (ENOTEMPTY).
        (project / "vite.config.mjs").write_text(
            "export default { cacheDir: process.env.TD_VITE_CACHE_DIR || '.vite-cache' };\n")
    return root, other


class Seed:
    """A running seed layout. Build it with :func:`start`."""

    def __init__(self, base):
        self.base = Path(base)
        self.root = self.base / "TaylorDash"          # the project root
        self.other = self.base / "other-project"      # an unrelated project
        self.logs = self.base / "logs"
        self.servers = []    # dicts: name, app, kind, port, host, family, pid, cwd, log, argv
        self.decoys = []     # dicts: name, port, host, family, pid, cwd, log, argv
        self.port_plan = dict(PORT_PLAN)
        self.vite_dir = None
        self.shell = None    # Popen of the seed script (session + process group leader)
        self.pgid = None     # process group (and session) of every seed server
        self.startup_seconds = None
        self._popens = []
        self._starttimes = {}
        self._lock = None
        self._stopped = False
        self._killed = set()

    # -- queries ---------------------------------------------------------------------------
    listening = staticmethod(listening)
    owners = staticmethod(owners)
    alive = staticmethod(alive)
    descendants = staticmethod(descendants)

    def server(self, name):
        return next(entry for entry in self.servers if entry["name"] == name)

    def decoy(self, name):
        return next(entry for entry in self.decoys if entry["name"] == name)

    def pids(self):
        """Every recorded root pid: seed servers and decoys."""
        return [entry["pid"] for entry in self.servers + self.decoys]

    def extra_vars(self):
        """Variables for the playbook under test: this project root and the port plan."""
        return {"taylordash_project_root": str(self.root), "taylordash_port_plan": dict(self.port_plan)}

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    def __repr__(self):
        rows = ["%-32s pid=%-7s %s:%s" % (e["name"], e["pid"], e["host"], e["port"])
                for e in self.servers + self.decoys]
        return "Seed(%s)\n  %s" % (self.root, "\n  ".join(rows))

    # -- start -----------------------------------------------------------------------------
    def _plan(self):
        venv = venv_dir()
        venv_python = venv / "bin" / "python"
        purelib = sysconfig.get_paths(vars={"base": str(venv), "platbase": str(venv)})["purelib"]
        node = shutil.which("node")
        if node is None:
            raise RuntimeError("node is not on PATH")
        vite_js = str(self.vite_dir / "node_modules" / "vite" / "bin" / "vite.js")
        backend = self.root / "backend"
        uvicorn_app = ["app.main:app"]
        servers = [
            dict(name="backend-uvicorn-reload-3000", app="backend", kind="uvicorn", host="127.0.0.1",
                 port=APPS["backend"]["port"], cwd=backend,
                 argv=[str(venv_python), "-m", "uvicorn", *uvicorn_app, "--host", "127.0.0.1",
                       "--port", str(APPS["backend"]["port"]), "--reload"]),
            dict(name="backend-uvicorn-8000", app="backend", kind="uvicorn", host="127.0.0.1",
                 port=BACKEND_STRAY_PORT, cwd=backend,
                 argv=[str(venv / "bin" / "uvicorn"), *uvicorn_app, "--host", "127.0.0.1",
                       "--port", str(BACKEND_STRAY_PORT)]),
            dict(name="backend-uvicorn-basepython-8000-v6", app="backend", kind="uvicorn", host="::1",
                 port=BACKEND_STRAY_PORT, cwd=backend, env={"PYTHONPATH": purelib},
                 argv=[str(base_python()), "-m", "uvicorn", *uvicorn_app, "--host", "::1",
                       "--port", str(BACKEND_STRAY_PORT)]),
        ]
        vite_ports = [(name, APPS[name]["port"]) for name in APPS if name != "backend"]
        vite_ports += [("frontend", port) for port in FRONTEND_STRAY_PORTS]
        for name, port in sorted(vite_ports, key=lambda item: item[1]):
            servers.append(dict(name="%s-vite-%d" % (name, port), app=name, kind="vite", host="127.0.0.1",
                                port=port, cwd=self.root / APPS[name]["path"],
                                env={"TD_VITE_CACHE_DIR": ".vite-cache-%d" % port},
                                argv=[node, vite_js, "--host", "127.0.0.1", "--port", str(port), "--strictPort"]))
        decoys = [
            dict(name="other-project-vite-5180", host="127.0.0.1", port=DECOY_PORTS["other-vite"],
                 cwd=self.other / "frontend",
                 argv=[node, vite_js, "--host", "127.0.0.1", "--port", str(DECOY_PORTS["other-vite"]),
                       "--strictPort"]),
            dict(name="http-server-8090", host="127.0.0.1", port=DECOY_PORTS["http-server"],
                 cwd=self.root / APPS["frontend"]["path"],
                 argv=["python3", "-m", "http.server", str(DECOY_PORTS["http-server"]), "--bind", "127.0.0.1"]),
            dict(name="uvicorn-word-8091", host="127.0.0.1", port=DECOY_PORTS["uvicorn-word"], cwd=backend,
                 argv=["python3", "-c", LISTEN_AND_SLEEP.format(port=DECOY_PORTS["uvicorn-word"]),
                       "uvicorn", "app.main:app"]),
            dict(name="plain-listener-8092", host="127.0.0.1", port=DECOY_PORTS["plain-listener"], cwd="/tmp",
                 argv=["python3", "-c", LISTEN_AND_SLEEP.format(port=DECOY_PORTS["plain-listener"])]),
        ]
        for entry in servers + decoys:
            entry["family"] = "ipv6" if ":" in entry["host"] else "ipv4"
            entry["cwd"] = str(entry["cwd"])
            entry["log"] = str(self.logs / (entry["name"] + ".log"))
        return servers, decoys

    def _write_script(self, servers, pidfile):
        lines = ["#!/bin/bash", "# Seed start script: every dev server backgrounded from one shell.", ""]
        for entry in servers:
            env = "".join("%s=%s " % (key, shlex.quote(value)) for key, value in entry.get("env", {}).items())
            lines += ["cd %s || exit 1" % shlex.quote(entry["cwd"]),
                      "%s%s >%s 2>&1 </dev/null &" % (env, shlex.join(entry["argv"]), shlex.quote(entry["log"])),
                      "echo %s $! >>%s" % (shlex.quote(entry["name"]), shlex.quote(str(pidfile)))]
        # Then stay, reaping: this shell is a child subreaper (set before exec, see
        # REAPER), so workers orphaned when a server dies are reaped here rather than
        # left as zombies under pid 1. Builtins only: the loop forks nothing.
        fifo = self.base / "seed.fifo"
        os.mkfifo(fifo)
        lines += ["echo READY >>%s" % shlex.quote(str(pidfile)),
                  "exec 3<>%s" % shlex.quote(str(fifo)),
                  "while :; do wait; read -t 1 -u 3 || :; done", ""]
        script = self.base / "start-seed.sh"
        script.write_text("\n".join(lines))
        script.chmod(0o755)
        return script

    def _busy_ports(self, entries):
        busy = []
        for entry in entries:
            if listening(entry["port"], entry["family"], entry["host"]) or _connects(entry["host"], entry["port"]):
                busy.append("%s:%s (held by pids %s)" % (entry["host"], entry["port"],
                                                         sorted(owners(entry["port"], entry["family"]))))
        return busy

    def _record(self, pid):
        st = _stat(pid)
        if st is not None:
            self._starttimes[pid] = st[4]

    def _start(self):
        t0 = time.monotonic()
        self._lock = open(SEED_LOCK, "a+")
        deadline = time.monotonic() + LOCK_TIMEOUT
        while True:
            try:
                fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise TimeoutError("another seed holds %s" % SEED_LOCK)
                time.sleep(0.5)
        self.vite_dir = vite_install()
        _make_tree(self.base, self.vite_dir)
        self.logs.mkdir()
        servers, decoys = self._plan()
        busy = self._busy_ports(servers + decoys)
        if busy:
            raise RuntimeError("seed ports already in use: " + "; ".join(busy))

        env = dict(os.environ)
        env.pop("PYTHONPATH", None)
        env["NO_COLOR"] = "1"
        pidfile = self.base / "seed.pids"
        script = self._write_script(servers, pidfile)
        # A new session: the script and every server it backgrounds share one
        # process group (= session), distinct from pytest's, like `setsid ./start.sh`.
        with open(self.logs / "start-seed.log", "w") as log:
            self.shell = subprocess.Popen([sys.executable, "-c", REAPER, str(script)], cwd=str(self.base), env=env,
                                          stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                          start_new_session=True)
        self._popens.append(self.shell)
        self._record(self.shell.pid)
        self.pgid = self.shell.pid

        for entry in decoys:
            with open(entry["log"], "w") as log:
                proc = subprocess.Popen(entry["argv"], cwd=entry["cwd"], env=env, stdin=subprocess.DEVNULL,
                                        stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
            self._popens.append(proc)
            entry["pid"] = proc.pid
            self._record(proc.pid)
            self.decoys.append(entry)

        # Pids written by the script ($! of each background job).
        deadline = t0 + START_TIMEOUT
        recorded = {}
        while time.monotonic() < deadline:
            text = pidfile.read_text() if pidfile.exists() else ""
            if "READY" in text.split():
                recorded = dict(line.split() for line in text.splitlines() if line.strip() and line != "READY")
                break
            if self.shell.poll() is not None:
                break
            time.sleep(0.05)
        for entry in servers:
            if entry["name"] in recorded:
                entry["pid"] = int(recorded[entry["name"]])
                self._record(entry["pid"])
            else:
                entry["pid"] = None
            entry.pop("env", None)
            self.servers.append(entry)
        if len(recorded) != len(servers):
            self._fail("seed script did not start every server (rc=%s)" % self.shell.poll())

        pending = list(self.servers + self.decoys)
        while pending and time.monotonic() < deadline:
            for entry in list(pending):
                if not alive(entry["pid"]):
                    self._fail("%s (pid %s) exited before listening" % (entry["name"], entry["pid"]))
                if _connects(entry["host"], entry["port"]) and listening(entry["port"], entry["family"], entry["host"]):
                    pending.remove(entry)
            if pending:
                time.sleep(0.2)
        if pending:
            self._fail("not listening after %ss: %s" % (START_TIMEOUT, ", ".join(e["name"] for e in pending)))

        # Each listener must belong to the process tree we recorded.
        for entry in self.servers + self.decoys:
            tree = {entry["pid"]} | descendants(entry["pid"])
            holders = owners(entry["port"], entry["family"], entry["host"])
            if not tree & holders:
                self._fail("%s:%s is held by %s, not by %s's tree %s"
                           % (entry["host"], entry["port"], sorted(holders), entry["name"], sorted(tree)))
        self.startup_seconds = time.monotonic() - t0

    def _fail(self, message):
        report = [message]
        for entry in self.servers + self.decoys:
            report.append("---- %s (pid %s) %s" % (entry["name"], entry.get("pid"), entry["log"]))
            report.append(_tail(entry["log"]))
        report.append("---- seed script: " + _tail(self.logs / "start-seed.log"))
        raise RuntimeError("\n".join(report))

    # -- stop ------------------------------------------------------------------------------
    def _ours(self, pid):
        """pid still names the process we started (guards against pid reuse)."""
        st = _stat(pid)
        return st is not None and self._starttimes.get(pid) == st[4]

    def _targets(self):
        roots = [pid for pid in self._starttimes if self._ours(pid)]
        targets = set(roots)
        for pid in roots:
            targets |= descendants(pid)
        # Orphans left in the seed's session (e.g. a reloader worker whose parent died).
        seed_start = self._starttimes.get(self.pgid)
        if self.pgid is not None and seed_start is not None:
            for pid, st in _table().items():
                if st[3] == self.pgid and st[4] >= seed_start and pid != os.getpid():
                    targets.add(pid)
        targets.discard(os.getpid())
        return {pid for pid in targets if alive(pid)}

    def _gone(self, pids):
        """Reap our direct children; True once none of pids is left in /proc (not even as a zombie)."""
        for proc in self._popens:
            proc.poll()
        for pid in pids:
            st = _stat(pid)
            # A zombie already handed to pid 1 will never be reaped by us: count it as gone.
            if st is not None and not (st[0] in ("Z", "X") and st[1] == 1):
                return False
        return True

    def _kill_bottom_up(self, targets, sig, timeout):
        """Signal leaves first and wait for each layer to be reaped by its (still living) parent.

        Killing a parent before its children would orphan them to pid 1, which on
        some hosts (this VM's init) never reaps, leaving zombies behind.
        """
        table = _table()
        height = {}

        def measure(pid, seen=()):
            if pid not in height:
                kids = [c for c, st in table.items() if st[1] == pid and c in targets and c not in seen]
                height[pid] = 1 + max((measure(c, seen + (pid,)) for c in kids), default=-1)
            return height[pid]

        self._killed |= set(targets)
        for pid in targets:
            measure(pid)
        for level in sorted(set(height.values())):
            layer = [pid for pid in targets if height[pid] == level]
            for pid in layer:
                if alive(pid):
                    with contextlib.suppress(ProcessLookupError, PermissionError):
                        os.kill(pid, sig)
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                for proc in self._popens:
                    proc.poll()
                # Done when each is dead (a zombie counts) or ignores the signal (e.g.
                # multiprocessing's resource tracker, which exits once its parent has gone).
                if not [pid for pid in layer if alive(pid) and not _ignores(pid, sig)]:
                    break
                time.sleep(0.05)

    def stop(self, timeout=10.0):
        """Kill everything this seed started (SIGTERM, then SIGKILL) and remove its directories."""
        if self._stopped:
            return
        self._stopped = True
        try:
            shell = {self.shell.pid} if self.shell is not None else set()
            # Servers and decoys first, while the reaping seed shell still lives; the shell last.
            for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 5.0)):
                targets = self._targets() - shell
                if targets:
                    self._kill_bottom_up(targets, sig, wait)
            for sig in (signal.SIGTERM, signal.SIGKILL):
                targets = self._targets()
                if targets:
                    self._kill_bottom_up(targets, sig, 5.0)
            for proc in self._popens:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(timeout=5)
            # Give parents/the subreaper a moment to reap the last zombies.
            deadline = time.monotonic() + 3.0
            while not self._gone(self._killed) and time.monotonic() < deadline:
                time.sleep(0.05)
        finally:
            for path in (self.root, self.other, self.logs):
                shutil.rmtree(path, ignore_errors=True)
            for name in ("start-seed.sh", "seed.pids", "seed.fifo"):
                with contextlib.suppress(FileNotFoundError):
                    (self.base / name).unlink()
            if self._lock is not None:
                self._lock.close()      # releases the flock
                self._lock = None


def start(base):
    """Build and start the seed layout under base (e.g. pytest's tmp_path); return a Seed.

    On any failure everything already started is stopped before the error propagates.
    """
    seed = Seed(base)
    try:
        seed._start()
    except BaseException:
        seed.stop()
        raise
    return seed
