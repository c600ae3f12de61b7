# -*- coding: utf-8 -*-
"""plugins/module_utils/_engine_api.py: what the docker_engine role reads of the engine's running containers,
with the engine's answers given here (the real engine: tests/e2e/test_engine_and_images.py)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import time
from urllib.parse import parse_qs, urlparse

from ansible_collections.taylordash.ops.plugins.module_utils import _engine, _engine_api

RESTART = 1796240319.0  # 2026-12-02T19:38:39Z
BEFORE, AFTER = "2026-12-02T19:37:34.7Z", "2026-12-02T19:38:40Z"


def inspect(cid, name, mounts=(), health=None, started=BEFORE):
    state = {"Running": True, "Paused": False, "StartedAt": started}
    if health is not None:
        state["Health"] = {"Status": "healthy", "Log": [{"Start": when} for when in health]}
    return {"Id": cid, "Name": "/" + name, "State": state,
            "Mounts": [{"Type": "bind", "Source": source} for source in mounts]}


def engine(socket, containers, unpaused=(), gone=()):
    """A get_text answering as the engine would, recording the paths asked."""
    asked = []

    def get_text(socket_path, path, timeout=5):
        assert socket_path == socket
        asked.append(path)
        if path == "/containers/json":
            return json.dumps([{"Id": item["Id"]} for item in containers])
        if path.startswith("/containers/"):
            cid = path.split("/")[2]
            if cid in gone:
                raise _engine_api.EngineApiError("no such container", 404)
            return json.dumps([item for item in containers if item["Id"] == cid][0])
        if path.startswith("/events?"):
            query = parse_qs(urlparse(path).query)
            assert json.loads(query["filters"][0]) == {"type": ["container"], "event": ["unpause"]}
            assert float(query["since"][0]) == RESTART
            return "".join(json.dumps({"id": cid, "status": "unpause"}) + "\n" for cid in unpaused)
        raise AssertionError(path)
    return get_text, asked


def socket_file(tmp_path):
    path = tmp_path / "docker.sock"
    path.write_text("")
    os.utime(str(path), (RESTART, RESTART))
    return str(path)


def test_the_plan_of_a_restarted_engine_names_what_it_left_behind(tmp_path):
    socket = socket_file(tmp_path)
    proxy = inspect("a1", "proxy", mounts=[socket], health=[BEFORE])
    db = inspect("b2", "db", health=[BEFORE])
    fresh = inspect("c3", "fresh", mounts=[socket], health=[AFTER], started=AFTER)
    get_text, asked = engine(socket, [proxy, db, fresh])
    plan = _engine_api.reattach_observed(socket, str(tmp_path / "no-pidfile"), "20.10.24", get_text=get_text,
                                         now=lambda: RESTART + 60)
    assert [(item["name"], item["action"]) for item in plan] == [("db", "resume-health"), ("proxy", "restart")]
    assert asked[0] == "/containers/json" and len(asked) == 5


def test_a_container_gone_since_the_list_and_one_unpaused_since_are_left_out(tmp_path):
    socket = socket_file(tmp_path)
    get_text, _ = engine(socket, [inspect("a1", "gone", mounts=[socket]), inspect("b2", "db", health=[BEFORE])],
                         unpaused=["b2"], gone=["a1"])
    assert _engine_api.reattach_observed(socket, str(tmp_path / "none"), "20.10.24", get_text=get_text,
                                         now=lambda: RESTART + 60) == []


def test_another_answer_than_404_fails_the_read(tmp_path):
    socket = socket_file(tmp_path)

    def get_text(socket_path, path, timeout=5):
        if path == "/containers/json":
            return json.dumps([{"Id": "a1"}])
        raise _engine_api.EngineApiError("HTTP 500", 500)
    try:
        _engine_api.reattach_observed(socket, str(tmp_path / "none"), "20.10.24", get_text=get_text)
    except _engine_api.EngineApiError as exc:
        assert exc.status == 500
    else:
        raise AssertionError("an HTTP 500 was taken for an answer")


def test_the_engine_start_is_its_pidfiles_process_start_else_the_fallback(tmp_path):
    pidfile = tmp_path / "docker.pid"
    pidfile.write_text("%d\n" % os.getpid())
    started = _engine_api.engine_started(str(pidfile), fallback=0)
    assert 0 < started <= time.time()
    assert _engine_api.engine_started(str(tmp_path / "none"), fallback=42.0) == 42.0
    pidfile.write_text("not a pid\n")
    assert _engine_api.engine_started(str(pidfile), fallback=42.0) == 42.0


def test_the_engine_plan_names_the_containers_a_restart_left_behind():
    reattach = [{"name": "db", "action": "resume-health", "why": "w"}, {"name": "proxy", "action": "restart",
                                                                          "why": "w"}]
    changes = _engine.plan(["docker.io"], {"docker.io"}, {}, {}, "/usr/sbin/dockerd", True, "20.10.24",
                           {"compose": "2.26.1", "buildx": "0.13.1"}, reattach)
    assert changes == [{"what": "containers",
                        "why": "outlived the engine's restart: db (resume-health), proxy (restart)"}]
    assert _engine.plan(["docker.io"], {"docker.io"}, {}, {}, "/usr/sbin/dockerd", True, "20.10.24",
                        {"compose": "2.26.1", "buildx": "0.13.1"}) == []
