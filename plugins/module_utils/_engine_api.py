# -*- coding: utf-8 -*-
# Copyright: taylordash-ops developers
# MIT License
"""The engine's API on its unix socket, read-only (GET), and what the docker_engine role reads through it: the
running containers a live restore left behind (engine_state plans them, engine_reattach acts; the decision is
_engine.reattach_plan's)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import http.client
import json
import os
import socket
import time
from urllib.parse import quote

from ansible_collections.taylordash.ops.plugins.module_utils import _engine


class EngineApiError(Exception):
    def __init__(self, message, status=None):
        Exception.__init__(self, message)
        self.status = status


class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path, timeout=5):
        http.client.HTTPConnection.__init__(self, "localhost", timeout=timeout)
        self._path = path

    def connect(self):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        sock.connect(self._path)
        self.sock = sock


def get_text(socket_path, path, timeout=5):
    """The body of GET `path` on the engine's socket; EngineApiError when it does not answer 200."""
    try:
        conn = UnixHTTPConnection(socket_path, timeout=timeout)
        conn.request("GET", path)
        response = conn.getresponse()
        body = response.read().decode("utf-8", "replace")
        conn.close()
    except (OSError, http.client.HTTPException) as exc:
        raise EngineApiError("GET %s on %s: %s" % (path, socket_path, exc))
    if response.status != 200:
        raise EngineApiError("GET %s on %s: HTTP %d %s" % (path, socket_path, response.status, body.strip()),
                             response.status)
    return body


def get_json(socket_path, path, timeout=5):
    return json.loads(get_text(socket_path, path, timeout))


def engine_started(pidfile, fallback):
    """When the running dockerd started (the process its pidfile names), else `fallback`."""
    try:
        with open(pidfile) as handle:
            pid = int(handle.read().strip())
        with open("/proc/%d/stat" % pid) as handle:
            stat = handle.read()
        with open("/proc/stat") as handle:
            boot = [line.split()[1] for line in handle if line.startswith("btime ")][0]
    except (IOError, OSError, ValueError, IndexError):
        return fallback
    started = _engine.process_started(stat, boot, os.sysconf("SC_CLK_TCK"))
    return started if started is not None else fallback


def reattach_observed(socket_path, pidfile, server_version, get_text=get_text, now=time.time):
    """_engine.reattach_plan for this host's engine: its running containers as it reports them, the socket's
    creation (its mtime), the running dockerd's start and the containers unpaused since."""
    socket_since = os.stat(socket_path).st_mtime
    engine_since = engine_started(pidfile, socket_since)
    states = []
    for summary in json.loads(get_text(socket_path, "/containers/json")):
        try:
            states.append(json.loads(get_text(socket_path, "/containers/%s/json" % summary["Id"])))
        except EngineApiError as exc:
            if exc.status != 404:  # gone since the list: the others stand
                raise
    filters = quote(json.dumps({"type": ["container"], "event": ["unpause"]}))
    stream = get_text(socket_path, "/events?since=%.3f&until=%.3f&filters=%s" % (engine_since, now(), filters))
    resumed = set()
    for line in stream.splitlines():
        if line.strip():
            event = json.loads(line)
            resumed.add(event.get("id") or (event.get("Actor") or {}).get("ID"))
    return _engine.reattach_plan(states, {socket_path, os.path.realpath(socket_path)}, socket_since, engine_since,
                                 server_version, resumed)
