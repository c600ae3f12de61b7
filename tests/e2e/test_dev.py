"""The development workflow on the real host: deploy-dev.yml keeps exactly one
uvicorn --reload backend and one vite frontend, however often it runs; a killed
server comes back; --reload picks up an edit; a foreign process on a dev port
is reported, not killed, before anything changes."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from conftest import DEPLOY_DIR, ROOT, container_ids, playbook, redeploy

sys.path.insert(0, str(ROOT / "collections"))
from ansible_collections.taylordash.ops.plugins.module_utils import _devservers  # noqa: E402

APP_ROOT = str(ROOT / "examples" / "taylordash")
APPS = _devservers.validate_apps({"backend": {"path": "backend", "port": 3000, "kinds": ["uvicorn"]},
                                  "frontend": {"path": "frontend", "port": 5173, "kinds": ["vite"]}})
DEV_DIR = DEPLOY_DIR / "dev"


def ours():
    """app -> instances of our dev servers now listening (scanned from /proc, like cleanup does)."""
    found = {}
    for instance in _devservers.scan(APP_ROOT, APPS):
        if instance["app"]:
            found.setdefault(instance["app"], []).append(instance)
    return found


def http(url, timeout=5):
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return response.status, response.read().decode()


def wait_for(predicate, timeout=60, what="condition"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            if predicate():
                return
        except OSError:
            pass
        time.sleep(0.5)
    raise AssertionError("timed out waiting for " + what)


# The application role's own stop (production runs it too): the recorded dev servers, by their pidfiles.
STOP_PLAY = """\
- hosts: localhost
  gather_facts: false
  tasks:
    - name: Stop the dev servers deploy-dev.yml started
      ansible.builtin.include_role:
        name: application
        tasks_from: dev_stop
"""


MODE_FILE = Path("/var/lib/taylordash/taylordash.mode")


@pytest.fixture(scope="module")
def dev_stack(engine, tmp_path_factory):
    recorded = MODE_FILE.read_text() if MODE_FILE.exists() else None
    if recorded == "production\n":
        # The shared stack is deployed for production: deploy-dev.yml refuses it before anything changes
        # (it would replace the app's containers with dev servers), then switches it when confirmed.
        before = container_ids()
        refused = playbook("deploy-dev.yml", "--skip-tags", "engine,images")
        assert refused.rc != 0, refused
        text = " ".join(refused.out.split())
        assert "localhost is deployed for production (%s); this playbook deploys it for development" % MODE_FILE in text
        assert "taylordash_mode_change_confirm=true" in text, refused
        # (Its recap counts the dev servers' check-mode precheck as changes it would make; it made none.)
        assert container_ids() == before and ours() == {}
        # The refusal gave the lock back: the next run from another controller need not wait for it.
        assert not Path("/var/lib/taylordash/deploy.lock").exists(), "the refused run kept its lock"
    first = playbook("deploy-dev.yml", extra_vars={"taylordash_mode_change_confirm": True})
    try:
        assert first.rc == 0, first
        assert MODE_FILE.read_text() == "development\n"
        yield first
    finally:
        # The host goes back to what it was recorded as (the next deploy-prod.yml turns it back into production).
        if recorded is None:
            MODE_FILE.unlink(missing_ok=True)
        else:
            MODE_FILE.write_text(recorded)
    # Leave nothing running: a backend on 3000 or a vite on 5173 left behind collides with the next run.
    play = tmp_path_factory.mktemp("dev-stop") / "stop.yml"
    play.write_text(STOP_PLAY)
    stopped = playbook(str(play))
    assert stopped.rc == 0, stopped
    assert ours() == {}, "dev servers still running after the tests: %s" % ours()


def test_three_runs_leave_one_backend_and_one_frontend(dev_stack):
    second = playbook("deploy-dev.yml")
    assert second.rc == 0, second
    assert second.changed == 0, second
    # The engine and image phases' check mode is deploy-prod.yml's (test_infrastructure).
    third = playbook("deploy-dev.yml", "--check", "--diff", "--skip-tags", "engine,images")
    assert third.rc == 0, third
    assert third.changed == 0, third
    found = ours()
    assert sorted(found) == ["backend", "frontend"], found
    assert [i["ports"] for i in found["backend"]] == [[3000]]
    assert [i["ports"] for i in found["frontend"]] == [[5173]]
    assert "backend" not in container_ids() and "frontend" not in container_ids(), "dev mode runs no app containers"


def test_the_dev_servers_serve_the_app_with_the_infrastructure(dev_stack):
    status, body = http("http://127.0.0.1:3000/api/health")
    assert status == 200 and json.loads(body)["checks"] == {"database": "ok", "mqtt": "ok"}
    status, body = http("http://127.0.0.1:5173/api/projects")  # vite's proxy to the backend
    assert status == 200 and isinstance(json.loads(body), list)
    status, body = http("http://127.0.0.1:5173/")
    assert status == 200 and "/src/main.js" in body


def test_a_killed_dev_server_is_back_after_the_next_run(dev_stack):
    record = json.loads((DEV_DIR / "backend.pid").read_text())
    # The whole server dies: uvicorn's reloader and the worker it spawned.
    for pid in [record["pid"]] + _devservers.descendants(_devservers.process_table(), record["pid"]):
        os.kill(pid, signal.SIGKILL)
    wait_for(lambda: "backend" not in ours(), 20, "the killed backend to let go of its port")
    run = redeploy(name="deploy-dev.yml", tags="application")
    assert run.rc == 0, run
    assert run.changed >= 1
    found = ours()
    assert len(found["backend"]) == 1 and found["backend"][0]["pid"] != record["pid"]
    assert http("http://127.0.0.1:3000/api/health")[0] == 200


def test_reload_picks_up_a_backend_edit(dev_stack):
    main = Path(APP_ROOT) / "backend" / "app" / "main.py"
    original = main.read_text()
    marker = "dev-reload-%d" % os.getpid()
    route = '\n\n@app.get("/api/__reload_probe")\ndef _reload_probe():\n    return {"marker": "%s"}\n' % marker
    try:
        main.write_text(original + route)
        wait_for(lambda: marker in http("http://127.0.0.1:3000/api/__reload_probe")[1], 60, "uvicorn --reload")
    finally:
        main.write_text(original)
    wait_for(lambda: http("http://127.0.0.1:3000/api/health")[0] == 200, 60, "the backend after the revert")


def test_a_foreign_process_on_a_dev_port_is_named_and_not_killed(dev_stack):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    foreign = subprocess.Popen([sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: socket.create_connection(("127.0.0.1", port), 1).close() is None, 10, "the foreign server")
        before = container_ids()
        plugin = {"name": "projects-manager", "src": str(Path(APP_ROOT) / "frontend")}
        run = playbook("deploy-dev.yml", extra_vars={
            "application_dev_plugins": [plugin],
            "taylordash_port_plan": dict(_port_plan(), **{"projects-manager": port})})
        assert run.rc != 0, run
        assert str(foreign.pid) in run.out and "http.server" in run.out, run
        assert foreign.poll() is None, "the foreign process was killed"
        assert container_ids() == before, "the stack was touched"
    finally:
        foreign.kill()
        foreign.wait()


def _port_plan():
    import yaml
    return yaml.safe_load((ROOT / "roles" / "taylordash" / "defaults" / "main.yml").read_text())["taylordash_port_plan"]
