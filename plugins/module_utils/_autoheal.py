#!/usr/bin/env python3
# -*- coding: utf-8 -*-
# Copyright: taylordash-ops developers
# MIT License
"""Restart the project's containers that stay unhealthy while running.

Docker marks a container unhealthy after its healthcheck failed `retries`
times in a row, and does nothing about it (restart policies act on exits
only). This program runs in the project (service ``autoheal``, one per host)
and restarts such containers, except:

* while a deploy holds the lock (the deploy replaces, drains and waits for
  containers itself; a restart in the middle would race it);
* a container whose last health check said ``draining``: an old app
  container the start-first rollout is taking out of the routing on purpose;
* a container labelled ``<prefix>.autoheal=false``;
* a container it restarted less than ``--backoff`` seconds ago (one that
  comes back unhealthy is restarted again after that, never in a loop).

It reaches the Docker API through its own proxy (service ``heal-proxy``),
which passes only the calls made here: GET of the container list and of one
container, and POST of a restart. It imports only the standard library (it
runs in the python image, mounted read-only); decide() is pure and
unit-tested.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import argparse
import http.client
import json
import os
import sys
import time
from urllib.parse import quote, urlparse

DRAINING = "draining"


def decide(containers, locked, now, restarted, backoff, prefix):
    """What to do with each unhealthy container: a list of (id, name, action, reason), action "restart" or
    "skip". containers: the engine's inspect documents; locked: whether a deploy holds the lock;
    restarted: id -> when this program last restarted it."""
    out = []
    for container in containers:
        ident = container.get("Id", "")
        name = (container.get("Name") or ident[:12]).lstrip("/")
        state = container.get("State") or {}
        health = state.get("Health") or {}
        if not state.get("Running") or health.get("Status") != "unhealthy":
            continue
        labels = (container.get("Config") or {}).get("Labels") or {}
        last = (health.get("Log") or [{}])[-1].get("Output") or ""
        if locked:
            out.append((ident, name, "skip", "a deploy holds the lock"))
        elif str(labels.get("%s.autoheal" % prefix, "")).lower() == "false":
            out.append((ident, name, "skip", "labelled %s.autoheal=false" % prefix))
        elif DRAINING in last.lower():
            out.append((ident, name, "skip", "draining"))
        elif ident in restarted and now - restarted[ident] < backoff:
            out.append((ident, name, "skip", "restarted less than %ds ago" % int(backoff)))
        else:
            out.append((ident, name, "restart", "unhealthy for %s checks: %s" % (health.get("FailingStreak", "?"),
                                                                             last.strip()[:200] or "no output")))
    return out


class Api(object):
    """The Docker API through the heal proxy (plain HTTP)."""

    def __init__(self, url, timeout=30):
        parsed = urlparse(url)
        self.host, self.port, self.timeout = parsed.hostname, parsed.port or 80, timeout

    def call(self, method, path):
        connection = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        try:
            connection.request(method, path)
            response = connection.getresponse()
            body = response.read()
        finally:
            connection.close()
        if response.status >= 300:
            raise OSError("%s %s: HTTP %d %s" % (method, path, response.status, body[:200].decode("utf-8", "replace")))
        return json.loads(body) if body else None


def unhealthy(api, project):
    filters = json.dumps({"label": ["com.docker.compose.project=%s" % project], "health": ["unhealthy"]})
    listed = api.call("GET", "/containers/json?filters=%s" % quote(filters))
    return [api.call("GET", "/containers/%s/json" % item["Id"]) for item in listed]


def _log(message):
    sys.stdout.write("%s autoheal: %s\n" % (time.strftime("%Y-%m-%dT%H:%M:%S"), message))
    sys.stdout.flush()


def run(args):
    api = Api(args.api)
    restarted, said = {}, {}
    _log("watching project %s every %ss through %s (lock: %s)" % (args.project, args.interval, args.api, args.lock))
    while True:
        try:
            now = time.time()
            for ident, name, action, reason in decide(unhealthy(api, args.project), os.path.exists(args.lock), now,
                                                      restarted, args.backoff, args.label_prefix):
                if action == "restart":
                    api.call("POST", "/containers/%s/restart?t=%d" % (ident, args.stop_timeout))
                    restarted[ident] = now
                    _log("restarted %s: %s" % (name, reason))
                elif said.get(ident) != reason:
                    _log("left %s alone: %s" % (name, reason))
                said[ident] = reason
            with open(args.heartbeat, "w") as handle:
                handle.write("%d %s\n" % (now, args.interval))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            _log("check failed, retrying: %s" % exc)
        time.sleep(args.interval)


def fresh(text, now):
    """Whether a heartbeat ("<time> <interval>") is recent: within three intervals and 30 s."""
    try:
        when, interval = (float(part) for part in text.split())
    except ValueError:
        return False
    return now - when <= 3 * interval + 30


def ping(args):
    """The container's healthcheck: the loop wrote its heartbeat recently."""
    try:
        with open(args.heartbeat) as handle:
            return 0 if fresh(handle.read(), time.time()) else 1
    except OSError:
        return 1


def main(argv=None):
    parser = argparse.ArgumentParser(description="Restart the project's containers that stay unhealthy.")
    parser.add_argument("--api", default="http://heal-proxy:2375")
    parser.add_argument("--project", default="")
    parser.add_argument("--label-prefix", default="taylordash")
    parser.add_argument("--lock", default="", help="the deploy lock's path inside this container")
    parser.add_argument("--interval", type=float, default=10.0)
    parser.add_argument("--backoff", type=float, default=300.0)
    parser.add_argument("--stop-timeout", type=int, default=10)
    parser.add_argument("--heartbeat", default="/tmp/autoheal.beat")
    parser.add_argument("--ping", action="store_true", help="exit 0 when the loop ran recently")
    args = parser.parse_args(argv)
    if args.ping:
        sys.exit(ping(args))
    if not args.project or not args.lock:
        parser.error("--project and --lock are required")
    run(args)


if __name__ == "__main__":
    main()
