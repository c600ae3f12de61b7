# -*- coding: utf-8 -*-
"""plugins/module_utils/_firewall_guard.py: what the guard puts back, from the filter table it reads (the real
tables: tests/e2e/test_docker_user_firewall.py), and its systemd unit as the infrastructure role renders it."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import shutil
import subprocess

import pytest

from ansible_collections.taylordash.ops.plugins.module_utils._firewall_guard import parse, repair
from ansible_collections.taylordash.ops.tests.unit.roles import ROOT, load, render

RULES = ["-A TAYLORDASH -m conntrack --ctstate RELATED,ESTABLISHED -j RETURN",
         "-A TAYLORDASH -s 10.0.0.2/32 -p tcp -m conntrack --ctstate DNAT --ctorigdstport 5432 "
         "-m comment --comment postgres -j RETURN",
         "-A TAYLORDASH -p tcp -m conntrack --ctstate DNAT --ctorigdstport 5432 -m comment --comment postgres -j DROP",
         "-A TAYLORDASH -j RETURN"]
STATE = {"chain": "TAYLORDASH", "hook": "DOCKER-USER", "rules": RULES}
BUILTIN = ["-P INPUT ACCEPT", "-P FORWARD DROP", "-P OUTPUT ACCEPT"]
FORWARD = ["-A FORWARD -j DOCKER-USER", "-A FORWARD -j DOCKER-ISOLATION-STAGE-1"]
IN_PLACE = BUILTIN + ["-N DOCKER", "-N DOCKER-USER", "-N TAYLORDASH"] + FORWARD + \
    ["-A DOCKER-USER -j TAYLORDASH", "-A DOCKER-USER -j RETURN"] + RULES
REFILL = [":TAYLORDASH - [0:0]"] + RULES
JUMP = ["-I DOCKER-USER 1 -j TAYLORDASH"]


def table(lines):
    return "\n".join(lines) + "\n"


def without(lines, *drop):
    return [line for line in lines if line not in drop]


@pytest.mark.parametrize("lines, ops", [
    # Everything in place: nothing to do.
    (IN_PLACE, None),
    # The comment quoted the way some iptables versions print it compares equal.
    ([line.replace("--comment postgres", '--comment "postgres"') for line in IN_PLACE], None),
    # Our chain flushed (iptables -F TAYLORDASH): refilled; the jump is still first.
    (without(IN_PLACE, *RULES), REFILL),
    # One rule lost: the whole chain is refilled in the same commit.
    (without(IN_PLACE, RULES[1]), REFILL),
    # DOCKER-USER flushed (iptables -F DOCKER-USER): the jump comes back first.
    (without(IN_PLACE, "-A DOCKER-USER -j TAYLORDASH", "-A DOCKER-USER -j RETURN"), JUMP),
    # The engine re-inserted its RETURN above our jump.
    (BUILTIN + ["-N DOCKER-USER", "-N TAYLORDASH"] + FORWARD + ["-A DOCKER-USER -j RETURN",
                                                              "-A DOCKER-USER -j TAYLORDASH"] + RULES,
     ["-D DOCKER-USER -j TAYLORDASH"] + JUMP),
    # Two jumps (a second tool added one): one is left, first.
    (IN_PLACE + ["-A DOCKER-USER -j TAYLORDASH"],
     ["-D DOCKER-USER -j TAYLORDASH", "-D DOCKER-USER -j TAYLORDASH"] + JUMP),
    # Our chain deleted with the jump (iptables -F; iptables -X of user chains but DOCKER-USER recreated).
    (BUILTIN + ["-N DOCKER-USER"] + FORWARD + ["-A DOCKER-USER -j RETURN"], REFILL + JUMP),
    # A firewall reload that deleted every user chain: the hook and FORWARD's jump to it come back too.
    (BUILTIN, [":DOCKER-USER - [0:0]", "-I FORWARD 1 -j DOCKER-USER"] + REFILL + JUMP),
    # The hook deleted but FORWARD still jumps to it (iptables would refuse -X then; a table read mid-change).
    (BUILTIN + FORWARD, [":DOCKER-USER - [0:0]"] + REFILL + JUMP),
    # `iptables -F` without -X: every chain kept, every rule gone, FORWARD's jump to the hook too.
    (BUILTIN + ["-N DOCKER", "-N DOCKER-USER", "-N TAYLORDASH"], ["-I FORWARD 1 -j DOCKER-USER"] + REFILL + JUMP),
    # Only FORWARD flushed: its jump comes back, nothing else changes.
    (without(IN_PLACE, *FORWARD), ["-I FORWARD 1 -j DOCKER-USER"]),
])
def test_repair_puts_back_only_what_is_missing(lines, ops):
    snippet = repair(table(lines), STATE)
    if ops is None:
        assert snippet is None
    else:
        assert snippet == "\n".join(["*filter"] + ops + ["COMMIT", ""])


def test_a_state_without_rules_keeps_an_empty_chain_and_its_jump():
    state = dict(STATE, rules=[])
    assert repair(table(BUILTIN + FORWARD + ["-N DOCKER-USER", "-N TAYLORDASH", "-A DOCKER-USER -j TAYLORDASH"]),
                  state) is None
    assert repair(table(BUILTIN + FORWARD + ["-N DOCKER-USER"]), state) == \
        "*filter\n:TAYLORDASH - [0:0]\n%s\nCOMMIT\n" % JUMP[0]


def test_the_hook_defaults_to_docker_user_and_other_chains_are_left_alone():
    state = {"chain": "TAYLORDASH", "rules": RULES}
    lines = IN_PLACE + ["-N OTHER", "-A OTHER -j DROP"]
    assert repair(table(lines), state) is None
    assert parse(table(lines))["OTHER"] == [("-A", "OTHER", "-j", "DROP")]


def test_the_snippet_is_accepted_by_iptables_restore_syntax():
    """Each repair line is an iptables command line: quoted words survive the round trip through shlex."""
    state = dict(STATE, rules=RULES[:1] + ['-A TAYLORDASH -m comment --comment "two words" -j RETURN'])
    snippet = repair(table(BUILTIN + ["-N DOCKER-USER"]), state)
    assert "-A TAYLORDASH -m comment --comment 'two words' -j RETURN" in snippet.splitlines()


def _unit(tmp_path):
    program = tmp_path / "firewall-guard"
    shutil.copy(os.path.join(ROOT, "plugins", "module_utils", "_firewall_guard.py"), program)
    program.chmod(0o755)
    defaults = load("roles/infrastructure/defaults/main.yml")
    values = dict(ansible_managed="Ansible managed", _infrastructure_guard_program=str(program),
                  _infrastructure_guard_argv=[str(program), "--state", str(tmp_path / "state.json"), "--interval",
                                              str(defaults["infrastructure_firewall_guard_interval"])])
    text = render(os.path.join(ROOT, "roles", "infrastructure", "templates"),
                  "firewall-guard/taylordash-firewall-guard.service.j2", values)
    unit = tmp_path / "taylordash-firewall-guard.service"
    unit.write_text(text)
    return unit, text


def test_the_unit_starts_after_the_engine_restarts_always_and_is_enabled_at_boot(tmp_path):
    _, text = _unit(tmp_path)
    lines = text.splitlines()
    for line in ("After=docker.service", "Restart=always", "WantedBy=multi-user.target", "NoNewPrivileges=yes",
                 "CapabilityBoundingSet=CAP_NET_ADMIN CAP_NET_RAW"):
        assert line in lines, text
    assert [line for line in lines if line.startswith("ExecStart=")] == [
        "ExecStart=%s --state %s --interval 2" % (tmp_path / "firewall-guard", tmp_path / "state.json")]


def test_systemd_analyze_verifies_the_unit(tmp_path):
    unit, text = _unit(tmp_path)
    analyze = shutil.which("systemd-analyze")
    assert analyze, "systemd-analyze is missing: .ci/run installs systemd"
    run = subprocess.run([analyze, "verify", "--man=no", str(unit)], capture_output=True, text=True,
                         env=dict(os.environ, SYSTEMD_LOG_LEVEL="warning"))
    problems = [line for line in (run.stdout + run.stderr).splitlines()
                if unit.name in line or "ExecStart" in line or "firewall-guard" in line]
    assert run.returncode == 0 and not problems, run.stdout + run.stderr + text
