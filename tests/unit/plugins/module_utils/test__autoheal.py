# -*- coding: utf-8 -*-
"""plugins/module_utils/_autoheal.py: which unhealthy containers the autoheal service restarts (the real engine
and heal-proxy: tests/e2e/test_faults.py)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.taylordash.ops.plugins.module_utils._autoheal import decide, fresh

NOW = 1000000.0


def container(ident="a" * 64, name="/taylordash-mosquitto-1", running=True, status="unhealthy",
              output="Connection refused\n", labels=None, streak=5):
    return {"Id": ident, "Name": name, "Config": {"Labels": labels or {}},
            "State": {"Running": running, "Health": {"Status": status, "FailingStreak": streak,
                                                     "Log": [{"Output": "ok"}, {"Output": output}]}}}


@pytest.mark.parametrize("item, locked, restarted, expected", [
    (container(), False, {}, ("restart", "unhealthy for 5 checks: Connection refused")),
    # While a deploy holds the lock, nothing is restarted.
    (container(), True, {}, ("skip", "a deploy holds the lock")),
    # An old app container that is draining fails its check on purpose.
    (container(output="draining\n"), False, {}, ("skip", "draining")),
    (container(output="Traceback ...\nSystemExit: draining"), False, {}, ("skip", "draining")),
    # Opted out by label.
    (container(labels={"taylordash.autoheal": "false"}), False, {}, ("skip", "labelled taylordash.autoheal=false")),
    (container(labels={"taylordash.autoheal": "true"}), False, {}, ("restart", "unhealthy for 5 checks: Connection refused")),
    # Restarted 100 s ago (backoff 300): left alone; 400 s ago: restarted again.
    (container(), False, {"a" * 64: NOW - 100}, ("skip", "restarted less than 300s ago")),
    (container(), False, {"a" * 64: NOW - 400}, ("restart", "unhealthy for 5 checks: Connection refused")),
    (container(output=""), False, {}, ("restart", "unhealthy for 5 checks: no output")),
])
def test_decide(item, locked, restarted, expected):
    assert decide([item], locked, NOW, restarted, 300, "taylordash") == [("a" * 64, "taylordash-mosquitto-1") + expected]


@pytest.mark.parametrize("item", [
    container(running=False),                  # stopped: its restart policy's business
    container(status="healthy"),
    container(status="starting"),
    {"Id": "b" * 64, "State": {"Running": True}},  # no healthcheck at all
])
def test_only_running_unhealthy_containers_are_considered(item):
    assert decide([item], False, NOW, {}, 300, "taylordash") == []


@pytest.mark.parametrize("text, now, ok", [
    ("1000 10\n", 1000, True),
    ("1000 10\n", 1060, True),      # 3 x 10 + 30
    ("1000 10\n", 1061, False),
    ("1000 60\n", 1200, True),      # a longer interval, a longer grace
    ("", 1000, False),
    ("garbage", 1000, False),
])
def test_the_heartbeat_is_fresh_within_three_intervals_and_30_seconds(text, now, ok):
    assert fresh(text, now) is ok
