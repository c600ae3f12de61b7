# -*- coding: utf-8 -*-
"""Tests for plugins/modules/dev_server.py with real servers on free ports of 127.0.0.1.

The module runs in-process through the shared harness (so the servers it
starts are children of pytest until it exits) except in the test that proves
a server outlives the module: that one runs the module as a script.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import re
import signal
import socket
import stat
import subprocess
import sys
import time

import pytest

from ansible_collections.taylordash.ops.plugins.module_utils import _devservers as ds
from ansible_collections.taylordash.ops.plugins.modules import dev_server
from ansible_collections.taylordash.ops.tests.unit.plugins.modules import harness

MODULE = os.path.abspath(dev_server.__file__)
COLLECTIONS = os.path.abspath(os.path.join(os.path.dirname(MODULE), os.pardir, os.pardir, "collections"))
# a parent that does not hold the socket and a child that does, as uvicorn --reload (reloader and worker)
FORKING = ("import subprocess, sys; "
           "sys.exit(subprocess.call([sys.executable, '-m', 'http.server', sys.argv[1], '--bind', '127.0.0.1']))")


def free_port():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


def http_server(port, bind="127.0.0.1"):
    return [sys.executable, "-m", "http.server", str(port), "--bind", bind]


def holders_of(port):
    """pids holding a listening socket on port (any address)."""
    inodes = set(s["inode"] for s in ds.read_listeners() if s["port"] == port)
    return set(pid for pids in ds.socket_holders(inodes).values() for pid in pids) if inodes else set()


def running(pid):
    stat_ = ds.read_stat(pid)
    return stat_ is not None and stat_["state"] not in ("Z", "X")


def reap(pid):
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass  # not our child (any more)


def kill_tree(pid):
    for one in [pid] + ds.descendants(ds.process_table(), pid):
        try:
            os.kill(one, signal.SIGKILL)
        except ProcessLookupError:
            pass
        reap(one)


def wait_gone(pid, timeout=5.0):
    deadline = time.time() + timeout
    while running(pid) and time.time() < deadline:
        reap(pid)
        time.sleep(0.05)
    return not running(pid)


class Env(object):
    """A port, an app directory and a state directory; every pid it was told of is killed at teardown."""

    def __init__(self, tmp_path):
        self.port = free_port()
        self.chdir = str(tmp_path / "app")
        self.state_dir = str(tmp_path / "state")
        os.mkdir(self.chdir)
        self.pidfile = os.path.join(self.state_dir, "web.pid")
        self.pids = []

    def args(self, **extra):
        args = dict(name="web", command=http_server(self.port), chdir=self.chdir, port=self.port,
                    state_dir=self.state_dir, startup_timeout=20, stop_timeout=5)
        args.update(extra)
        return args

    def run(self, **extra):
        outcome, result = harness.run_module(dev_server, self.args(**extra))
        if result.get("pid"):
            self.pids.append(result["pid"])
        return outcome, result

    def ok(self, **extra):
        outcome, result = self.run(**extra)
        assert outcome == "exit", result
        return result

    def record(self):
        with open(self.pidfile) as handle:
            return json.load(handle)

    def cleanup(self):
        if os.path.exists(self.pidfile):
            self.pids.append(self.record()["pid"])
        for pid in self.pids:
            kill_tree(pid)


@pytest.fixture
def env(tmp_path):
    env = Env(tmp_path)
    yield env
    env.cleanup()


@pytest.fixture
def foreign(env):
    """Start a listener on env.port not through the module; kill it at teardown. Call with the bind address."""
    started = []

    def start(bind="127.0.0.1"):
        server = subprocess.Popen(http_server(env.port, bind), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        started.append(server)
        deadline = time.time() + 10
        while server.pid not in holders_of(env.port):
            assert time.time() < deadline and server.poll() is None, "foreign listener did not come up"
            time.sleep(0.05)
        return server

    yield start
    for server in started:
        server.kill()
        server.wait()


# --------------------------------------------------------------------------- started

def test_start_listens_and_records_the_instance(env):
    result = env.ok(_ansible_diff=True)
    assert result["changed"] is True and result["action"] == "started"
    pid = result["pid"]
    assert holders_of(env.port) == {pid}
    assert os.getsid(pid) == pid  # its own session: no SIGHUP when the connection goes
    record = env.record()
    assert record["pid"] == pid and record["port"] == env.port and record["command"] == http_server(env.port)
    assert record["start_ticks"] == ds.read_stat(pid)["starttime"] and record["chdir"] == env.chdir
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", record["started_at"])
    assert stat.S_IMODE(os.stat(env.pidfile).st_mode) == 0o644
    assert result["pidfile"] == env.pidfile and result["log_file"] == os.path.join(env.state_dir, "web.log")
    assert os.path.exists(result["log_file"])
    assert result["diff"] == {"before": {"running": False, "pid": None, "command": None},
                              "after": {"running": True, "pid": pid, "command": http_server(env.port)}}


def test_second_start_changes_nothing(env):
    first = env.ok()
    second = env.ok(_ansible_diff=True)
    assert second["changed"] is False and second["action"] == "none" and "diff" not in second
    assert second["pid"] == first["pid"] and holders_of(env.port) == {first["pid"]}


def test_killed_server_is_started_again(env):
    first = env.ok()
    os.kill(first["pid"], signal.SIGKILL)
    assert wait_gone(first["pid"])
    again = env.ok()
    assert again["changed"] is True and again["action"] == "started"
    assert again["pid"] != first["pid"] and holders_of(env.port) == {again["pid"]}
    assert env.record()["pid"] == again["pid"]


def test_changed_command_restarts(env):
    first = env.ok()
    command = http_server(env.port) + ["--directory", env.chdir]
    again = env.ok(command=command)
    assert again["changed"] is True and again["action"] == "restarted"
    assert wait_gone(first["pid"]) and holders_of(env.port) == {again["pid"]}
    assert env.record()["command"] == command


def test_env_is_minimal_plus_the_given_variables(env):
    script = ("import json, os, sys; json.dump(dict(os.environ), open('env.json', 'w')); "
              "os.execv(sys.executable, [sys.executable, '-m', 'http.server', sys.argv[1], '--bind', '127.0.0.1'])")
    os.environ["DEV_SERVER_TEST_LEAK"] = "1"
    try:
        env.ok(command=[sys.executable, "-c", script, str(env.port)], env={"APP_MODE": "dev", "WORKERS": 2})
    finally:
        del os.environ["DEV_SERVER_TEST_LEAK"]
    with open(os.path.join(env.chdir, "env.json")) as handle:
        seen = json.load(handle)
    assert seen["APP_MODE"] == "dev" and seen["WORKERS"] == "2" and "PATH" in seen
    assert "DEV_SERVER_TEST_LEAK" not in seen


def test_secret_env_reaches_the_server_and_wins_over_env(env):
    script = ("import json, os, sys; json.dump(dict(os.environ), open('env.json', 'w')); "
              "os.execv(sys.executable, [sys.executable, '-m', 'http.server', sys.argv[1], '--bind', '127.0.0.1'])")
    result = env.ok(command=[sys.executable, "-c", script, str(env.port)], env={"DATABASE_URL": "plain"},
                    secret_env={"DATABASE_URL": "postgresql://u:s3cret@127.0.0.1/db", "API_KEY": "k3y"})
    with open(os.path.join(env.chdir, "env.json")) as handle:
        seen = json.load(handle)
    assert seen["DATABASE_URL"] == "postgresql://u:s3cret@127.0.0.1/db" and seen["API_KEY"] == "k3y"
    assert "s3cret" not in json.dumps(result) and "k3y" not in json.dumps(result)


def test_pidfile_is_written_before_the_server_listens(env):
    """A run killed while it waits must leave a server the next run recognises: the record comes first."""
    script = ("import json, os, sys, time; time.sleep(0.3); "
              "print('recorded', json.load(open(sys.argv[2]))['pid'] == os.getpid(), flush=True); "
              "os.execv(sys.executable, [sys.executable, '-m', 'http.server', sys.argv[1], '--bind', '127.0.0.1'])")
    result = env.ok(command=[sys.executable, "-c", script, str(env.port), env.pidfile])
    with open(result["log_file"]) as handle:
        assert "recorded True" in handle.read()


def test_descendant_holding_the_socket_counts(env):
    command = [sys.executable, "-c", FORKING, str(env.port)]
    first = env.ok(command=command)
    parent = first["pid"]
    workers = ds.descendants(ds.process_table(), parent)
    assert len(workers) == 1 and holders_of(env.port) == set(workers)  # only the child holds the socket
    second = env.ok(command=command)
    assert second["changed"] is False and second["pid"] == parent
    stopped = env.ok(command=command, state="stopped")
    assert stopped["changed"] is True and stopped["action"] == "stopped"
    assert wait_gone(parent) and wait_gone(workers[0]) and holders_of(env.port) == set()


def test_server_outlives_the_module_process(env):
    args_file = os.path.join(env.chdir, "args.json")
    with open(args_file, "w") as handle:
        json.dump({"ANSIBLE_MODULE_ARGS": env.args()}, handle)
    run = subprocess.run([sys.executable, MODULE, args_file], capture_output=True, text=True, timeout=60,
                         env=dict(os.environ, PYTHONPATH=COLLECTIONS))
    result = json.loads(run.stdout)
    env.pids.append(result.get("pid"))
    assert run.returncode == 0 and result["changed"] is True, run.stdout + run.stderr
    pid = result["pid"]
    assert running(pid) and os.getsid(pid) == pid and holders_of(env.port) == {pid}
    assert ds.read_stat(pid)["ppid"] != os.getpid()  # reparented: its parent, the module, is gone
    assert env.ok()["changed"] is False


# --------------------------------------------------------------------------- failures

def test_server_that_exits_fails_with_its_log(env):
    command = [sys.executable, "-c", "import sys; print('boom: no config found', flush=True); sys.exit(3)"]
    outcome, result = env.run(command=command)
    assert outcome == "fail"
    assert "exited with status 3" in result["msg"] and "boom: no config found" in result["msg"]
    assert "dev_server: starting" not in result["msg"]  # only what the server wrote
    assert not os.path.exists(env.pidfile)
    assert (result["pidfile"], result["port"], result["command"]) == (env.pidfile, env.port, command)


def test_server_that_never_listens_is_stopped_after_the_timeout(env):
    command = [sys.executable, "-c", "import time; print('still compiling', flush=True); time.sleep(120)"]
    outcome, result = env.run(command=command, startup_timeout=1)
    assert outcome == "fail" and "did not listen on port %d within 1" % env.port in result["msg"]
    assert "still compiling" in result["msg"]
    pid = int(re.search(r"\(pid (\d+)\)", result["msg"]).group(1))
    env.pids.append(pid)
    assert wait_gone(pid) and not os.path.exists(env.pidfile)


def test_missing_executable_fails(env):
    outcome, result = env.run(command=["/nonexistent/dev-server"])
    assert outcome == "fail" and "cannot start /nonexistent/dev-server" in result["msg"]


@pytest.mark.parametrize("bind", ["127.0.0.1", "0.0.0.0"])
@pytest.mark.parametrize("state", ["started", "restarted"])
def test_foreign_holder_fails_and_is_left_alone(env, foreign, bind, state):
    server = foreign(bind)
    outcome, result = env.run(state=state)
    assert outcome == "fail", result
    assert "pid %d" % server.pid in result["msg"] and "http.server" in result["msg"]
    assert result["holder"]["pid"] == server.pid and result["holder"]["cmdline"] == http_server(env.port, bind)
    assert result["holder"]["user"]
    assert server.poll() is None and holders_of(env.port) == {server.pid}
    assert not os.path.exists(env.pidfile)


def test_foreign_holder_does_not_fail_stopped(env, foreign):
    server = foreign()
    result = env.ok(state="stopped")
    assert result["changed"] is False and server.poll() is None


def test_reused_pid_is_never_signalled(env, foreign):
    """A pidfile naming a live process with other start ticks is stale: removed, the process untouched."""
    server = foreign()
    os.makedirs(env.state_dir)
    ticks = ds.read_stat(server.pid)["starttime"]
    with open(env.pidfile, "w") as handle:
        json.dump({"pid": server.pid, "start_ticks": ticks - 1, "command": http_server(env.port),
                   "chdir": env.chdir, "port": env.port}, handle)
    assert env.run()[0] == "fail"  # it is not ours, so the port is taken
    result = env.ok(state="stopped")
    assert result["changed"] is True and result["action"] == "none"
    assert not os.path.exists(env.pidfile) and server.poll() is None


def test_invalid_name_fails_before_acting(env):
    outcome, result = env.run(name="../web")
    assert outcome == "fail" and result["msg"].startswith("name:")
    assert not os.path.exists(env.state_dir)


def test_command_is_required_to_start(env):
    outcome, result = env.run(command=None)
    assert outcome == "fail" and "command" in result["msg"]


# --------------------------------------------------------------------------- stopped, restarted

def test_stop_then_stop_again(env):
    pid = env.ok()["pid"]
    stopped = env.ok(state="stopped", _ansible_diff=True)
    assert stopped["changed"] is True and stopped["action"] == "stopped" and stopped["pid"] is None
    assert stopped["diff"]["before"]["pid"] == pid and stopped["diff"]["after"]["running"] is False
    assert wait_gone(pid) and not os.path.exists(env.pidfile) and holders_of(env.port) == set()
    again = env.ok(state="stopped")
    assert again["changed"] is False and again["action"] == "none"


def test_stopped_removes_a_stale_pidfile(env):
    pid = env.ok()["pid"]
    os.kill(pid, signal.SIGKILL)
    assert wait_gone(pid)
    result = env.ok(state="stopped")
    assert result["changed"] is True and result["action"] == "none" and not os.path.exists(env.pidfile)


def test_restarted_always_starts_a_new_instance(env):
    first = env.ok()
    second = env.ok(state="restarted")
    assert second["changed"] is True and second["action"] == "restarted" and second["pid"] != first["pid"]
    assert wait_gone(first["pid"]) and holders_of(env.port) == {second["pid"]}
    env.ok(state="stopped")
    third = env.ok(state="restarted")
    assert third["changed"] is True and third["action"] == "started"


# --------------------------------------------------------------------------- check mode

def test_check_mode_never_acts(env):
    would_start = env.ok(_ansible_check_mode=True)
    assert would_start["changed"] is True and would_start["action"] == "started" and would_start["pid"] is None
    assert holders_of(env.port) == set() and not os.path.exists(env.state_dir)

    pid = env.ok()["pid"]
    before = env.record()
    for state, action in (("started", "none"), ("restarted", "restarted"), ("stopped", "stopped")):
        result = env.ok(state=state, _ansible_check_mode=True)
        assert result["action"] == action and result["changed"] is (action != "none")
        assert running(pid) and env.record() == before and holders_of(env.port) == {pid}
    changed_command = env.ok(command=http_server(env.port) + ["--directory", "."], _ansible_check_mode=True)
    assert changed_command["changed"] is True and changed_command["action"] == "restarted"
    assert running(pid) and env.record() == before
