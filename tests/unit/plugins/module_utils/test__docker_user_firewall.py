# -*- coding: utf-8 -*-
"""Table-driven tests for plugins/module_utils/_docker_user_firewall.py: options, lines, table parsing, plans.

The table texts are what ``iptables -t filter -S`` printed (iptables v1.8.9, nft) in a network namespace.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.taylordash.ops.plugins.module_utils import _docker_user_firewall as fw

POLICIES = "-P INPUT ACCEPT\n-P FORWARD ACCEPT\n-P OUTPUT ACCEPT\n"
DOCKER = POLICIES + "-N DOCKER-USER\n-A FORWARD -j DOCKER-USER\n"
PG = {"name": "postgres", "port": 5432, "address": "10.0.0.10", "allow": ["10.0.0.21", "10.0.1.5/24"]}
PG_MATCH = "-p tcp -m conntrack --ctstate DNAT --ctorigdst 10.0.0.10 --ctorigdstport 5432 -m comment --comment postgres"
PG_LINES = [
    "-A TAYLORDASH -m conntrack --ctstate RELATED,ESTABLISHED -j RETURN",
    "-A TAYLORDASH -s 10.0.0.21/32 %s -j RETURN" % PG_MATCH,
    "-A TAYLORDASH -s 10.0.1.0/24 %s -j RETURN" % PG_MATCH,
    "-A TAYLORDASH %s -j DROP" % PG_MATCH,
    "-A TAYLORDASH -j RETURN",
]
APPLIED = DOCKER.replace("-N DOCKER-USER\n", "-N DOCKER-USER\n-N TAYLORDASH\n") + "\n".join(
    ["-A DOCKER-USER -j TAYLORDASH"] + PG_LINES) + "\n"


def table(text):
    return fw.parse_table(text)


# --------------------------------------------------------------------------- options

def test_check_rules_normalizes():
    rules = fw.check_rules([PG, {"name": "mqtt", "port": "1883", "protocol": "udp", "address": "0.0.0.0",
                                 "allow": ["10.0.0.21", "10.0.0.21/32", "10.0.0.22"]},
                            {"name": "vm", "port": 8428, "allow": None}])
    assert rules == [
        {"name": "postgres", "port": 5432, "protocol": "tcp", "address": "10.0.0.10",
         "allow": ["10.0.0.21/32", "10.0.1.0/24"]},
        {"name": "mqtt", "port": 1883, "protocol": "udp", "address": None, "allow": ["10.0.0.21/32", "10.0.0.22/32"]},
        {"name": "vm", "port": 8428, "protocol": "tcp", "address": None, "allow": []},
    ]


@pytest.mark.parametrize(
    "rules, expected",
    [
        ([{"name": "a b", "port": 1, "allow": []}], "rules[0].name: 'a b' is not a valid name"),
        ([{"name": "a.b", "port": 1, "allow": []}], "rules[0].name: 'a.b' is not a valid name"),
        ([{"name": "a", "port": 0, "allow": []}], "rules[0] (a).port: 0 is not a port number"),
        ([{"name": "a", "port": True, "allow": []}], "rules[0] (a).port: True is not a port number"),
        ([{"name": "a", "port": 1, "protocol": "icmp", "allow": []}], "rules[0] (a).protocol: 'icmp' is not one of"),
        ([{"name": "a", "port": 1, "address": "host", "allow": []}], "rules[0] (a).address: 'host' is not an IPv4"),
        ([{"name": "a", "port": 1, "address": "::1", "allow": []}], "rules[0] (a).address: ::1 is IPv6"),
        ([{"name": "a", "port": 1, "allow": ["10.0.0.300"]}], "rules[0] (a).allow: '10.0.0.300' is not an IPv4"),
        ([{"name": "a", "port": 1, "allow": ["fd00::/64"]}], "rules[0] (a).allow: fd00::/64 is IPv6"),
        ([{"name": "a", "port": 1, "allow": {"x": 1}}], "rules[0] (a).allow: must be a list"),
        ([{"name": "a", "port": 1, "allow": [], "from": 1}], "rules[0] (a): unknown key(s) from"),
        (["x"], "rules[0]: must be a dict"),
        ("x", "rules: must be a list"),
        ([{"name": "a", "port": 1, "allow": []}, {"name": "a", "port": 2, "allow": []}],
         "the name a is used by more than one rule"),
        ([{"name": "a", "port": 1, "allow": []}, {"name": "b", "port": 1, "address": "10.0.0.1", "allow": []}],
         "rules a and b: both match tcp port 1 on 10.0.0.1"),
        ([{"name": "a", "port": 1, "address": "10.0.0.1", "allow": []},
          {"name": "b", "port": 1, "address": "10.0.0.1", "allow": []}], "rules a and b: both match tcp port 1"),
    ],
    ids=["name-space", "name-dot", "port-0", "port-bool", "protocol", "address", "address-v6", "allow-bad",
         "allow-v6", "allow-dict", "unknown-key", "not-dict", "not-list", "name-twice", "overlap-any",
         "overlap-same"],
)
def test_check_rules_problems(rules, expected):
    with pytest.raises(fw.FirewallError) as err:
        fw.check_rules(rules)
    assert expected in str(err.value)


@pytest.mark.parametrize(
    "rules",
    [
        [{"name": "a", "port": 1, "allow": []}, {"name": "b", "port": 1, "protocol": "udp", "allow": []}],
        [{"name": "a", "port": 1, "address": "10.0.0.1", "allow": []},
         {"name": "b", "port": 1, "address": "10.0.0.2", "allow": []}],
    ],
    ids=["other-protocol", "other-address"],
)
def test_check_rules_no_overlap(rules):
    assert len(fw.check_rules(rules)) == 2


def test_check_rules_reports_every_problem():
    with pytest.raises(fw.FirewallError) as err:
        fw.check_rules([{"name": "a", "port": 0, "allow": ["x"]}, {"name": "", "port": 1, "allow": []}])
    assert len(err.value.problems) == 3


@pytest.mark.parametrize("chain", ["", "DOCKER-USER", "FORWARD", "docker", "a b", "a.b", "X" * 29])
def test_check_chain_refuses(chain):
    with pytest.raises(fw.FirewallError):
        fw.check_chain(chain)


# --------------------------------------------------------------------------- lines and table

def test_desired_lines():
    assert fw.desired_lines("TAYLORDASH", fw.check_rules([PG])) == PG_LINES


def test_desired_lines_without_address_and_rules():
    lines = fw.desired_lines("FW", fw.check_rules([{"name": "mqtt", "port": 1883, "protocol": "udp", "allow": []}]))
    assert lines == ["-A FW -m conntrack --ctstate RELATED,ESTABLISHED -j RETURN",
                     "-A FW -p udp -m conntrack --ctstate DNAT --ctorigdstport 1883 -m comment --comment mqtt -j DROP",
                     "-A FW -j RETURN"]
    assert fw.desired_lines("FW", []) == [lines[0], lines[-1]]


def test_parse_table():
    parsed = table(APPLIED)
    assert parsed["chains"] == ["INPUT", "FORWARD", "OUTPUT", "DOCKER-USER", "TAYLORDASH"]
    assert parsed["rules"]["TAYLORDASH"] == PG_LINES
    assert parsed["rules"]["DOCKER-USER"] == ["-A DOCKER-USER -j TAYLORDASH"]
    assert parsed["rules"]["INPUT"] == []


def test_parse_table_refuses_other_lines():
    with pytest.raises(fw.FirewallError, match="line 2"):
        table("-P INPUT ACCEPT\niptables: oops\n")


@pytest.mark.parametrize(
    "line, expected",
    [("-A DOCKER-USER -j TAYLORDASH", "TAYLORDASH"), ("-A X -i eth0 -g TAYLORDASH", "TAYLORDASH"),
     ("-A X -s 10.0.0.1/32", None), ('-A X -m comment --comment "a b" -j DROP', "DROP")],
)
def test_target(line, expected):
    assert fw.target(line) == expected


def test_same_ignores_quoting():
    assert fw.same(['-A X -m comment --comment "pg" -j DROP'], ["-A X -m comment --comment pg -j DROP"])
    assert not fw.same(["-A X -j DROP"], ["-A X -j RETURN"])
    assert not fw.same(["-A X -j DROP"], [])


# --------------------------------------------------------------------------- plans

def test_plan_fresh():
    result = fw.plan(table(DOCKER), rules=[PG])
    assert result["changed"] is True
    assert result["restore"] == "\n".join(["*filter", ":TAYLORDASH - [0:0]"] + PG_LINES
                                          + ["-I DOCKER-USER 1 -j TAYLORDASH", "COMMIT", ""])
    assert result["rules"] == PG_LINES
    assert result["diff"]["before"] == ""
    assert result["diff"]["after"] == "\n".join(["-N TAYLORDASH"] + PG_LINES + ["-A DOCKER-USER -j TAYLORDASH"]) + "\n"
    assert fw.same(fw.view(result["expected"], "TAYLORDASH"), fw.view(table(APPLIED), "TAYLORDASH"))


def test_plan_unchanged_also_with_quoted_comments():
    quoted = APPLIED.replace("--comment postgres", '--comment "postgres"')
    for text in (APPLIED, quoted):
        result = fw.plan(table(text), rules=[PG])
        assert result["changed"] is False and result["restore"] is None
        assert result["diff"]["before"] == result["diff"]["after"]


def test_plan_changed_allow_list_refills_the_chain_only():
    rules = [dict(PG, allow=["10.0.0.21"])]
    result = fw.plan(table(APPLIED), rules=rules)
    assert result["changed"] is True
    assert result["restore"] == "\n".join(["*filter", ":TAYLORDASH - [0:0]"] + PG_LINES[:2] + PG_LINES[3:]
                                          + ["COMMIT", ""])
    assert "10.0.1.0/24" in result["diff"]["before"] and "10.0.1.0/24" not in result["diff"]["after"]


def test_plan_moves_the_jump_to_the_top_and_drops_extra_jumps():
    text = APPLIED.replace("-A DOCKER-USER -j TAYLORDASH\n", "-A DOCKER-USER -j RETURN\n-A DOCKER-USER -j TAYLORDASH\n"
                           "-A DOCKER-USER -i eth0 -j TAYLORDASH\n")
    result = fw.plan(table(text), rules=[PG])
    assert result["restore"] == ("*filter\n-D DOCKER-USER -j TAYLORDASH\n-D DOCKER-USER -i eth0 -j TAYLORDASH\n"
                                 "-I DOCKER-USER 1 -j TAYLORDASH\nCOMMIT\n")
    assert result["expected"]["rules"]["DOCKER-USER"] == ["-A DOCKER-USER -j TAYLORDASH", "-A DOCKER-USER -j RETURN"]


def test_plan_two_jumps_at_the_top():
    text = APPLIED.replace("-A DOCKER-USER -j TAYLORDASH\n", "-A DOCKER-USER -j TAYLORDASH\n" * 2)
    result = fw.plan(table(text), rules=[PG])
    assert result["restore"] == ("*filter\n-D DOCKER-USER -j TAYLORDASH\n-D DOCKER-USER -j TAYLORDASH\n"
                                 "-I DOCKER-USER 1 -j TAYLORDASH\nCOMMIT\n")


def test_plan_without_docker_user_fails_clearly():
    with pytest.raises(fw.FirewallError, match="chain DOCKER-USER does not exist.*start the engine"):
        fw.plan(table(POLICIES), rules=[PG])


def test_plan_absent():
    text = APPLIED + "-A INPUT -j TAYLORDASH\n"
    result = fw.plan(table(text), state="absent")
    assert result["restore"] == ("*filter\n-D INPUT -j TAYLORDASH\n-D DOCKER-USER -j TAYLORDASH\n-F TAYLORDASH\n"
                                 "-X TAYLORDASH\nCOMMIT\n")
    assert result["rules"] == [] and result["diff"]["after"] == ""
    assert fw.same(fw.view(result["expected"], "TAYLORDASH"), fw.view(table(DOCKER), "TAYLORDASH"))


@pytest.mark.parametrize("text", [DOCKER, POLICIES], ids=["docker", "no-docker-user"])
def test_plan_absent_unchanged(text):
    result = fw.plan(table(text), state="absent")
    assert result["changed"] is False and result["restore"] is None


def test_plan_absent_ignores_rules():
    assert fw.plan(table(DOCKER), rules="not even a list", state="absent")["changed"] is False


def test_plan_other_chain_name():
    result = fw.plan(table(DOCKER), chain="DATA-FW", rules=[])
    assert ":DATA-FW - [0:0]" in result["restore"] and "-I DOCKER-USER 1 -j DATA-FW" in result["restore"]
