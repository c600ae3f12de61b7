#!/usr/bin/python3
# -*- coding: utf-8 -*-
# Copyright: taylordash-ops developers
# MIT License
"""Keep the DOCKER-USER rules the ``docker_user_firewall`` module applied in place.

The module applies our chain on every deploy, but nothing keeps it: a
firewall reload or ``iptables -F`` empties it, and an engine that recreates
its chains may drop the jump to it, and then every data port is open until
the next deploy. This program runs on the host (under systemd where systemd
runs, detached with start-stop-daemon otherwise) and checks the filter table
every few seconds against the state file the deploy writes next to the
module's run::

    {"chain": "TAYLORDASH", "hook": "DOCKER-USER", "rules": ["-A TAYLORDASH ...", ...]}

When our chain's rules differ, the chain is missing, or the jump to it is not
the single first rule of the hook chain, one ``iptables-restore --noflush``
commit puts them back (creating the hook chain, and FORWARD's jump to it,
if a flush removed them), exactly as the module would.

It is installed as a file of its own, so it imports only the standard
library; the pure part (parse(), repair()) is unit-tested like every other
module_utils file. The module's own module_utils (_docker_user_firewall)
takes HOOK and jump_target() from here.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import argparse
import json
import os
import shlex
import shutil
import subprocess
import sys
import time

HOOK = "DOCKER-USER"


def parse(text):
    """Chain name -> its rule lines (as token tuples), from ``iptables -S`` output."""
    chains = {}
    for line in text.splitlines():
        words = shlex.split(line)
        if len(words) >= 2 and words[0] in ("-P", "-N"):
            chains.setdefault(words[1], [])
        elif len(words) >= 2 and words[0] == "-A":
            chains.setdefault(words[1], []).append(tuple(words))
    return chains


def jump_target(words):
    """The chain or target a rule (its tokens) jumps (-j) or goes (-g) to, None without one."""
    for flag in ("-j", "--jump", "-g", "--goto"):
        if flag in words[:-1]:
            return words[words.index(flag) + 1]
    return None


def repair(text, state):
    """The ``iptables-restore --noflush`` input that puts the state's rules back, or None when they are
    in place. ``text`` is ``iptables -t filter -S``; ``state`` the deploy's state file (chain, hook, rules)."""
    chain, hook = state["chain"], state.get("hook") or HOOK
    wanted = [tuple(shlex.split(line)) for line in state["rules"]]
    chains = parse(text)
    ops = []
    if hook not in chains:
        # A flush that deleted the chains (a firewall reload): the engine recreates them only when it starts.
        ops.append(":%s - [0:0]" % hook)
    if not any(jump_target(words) == hook for words in chains.get("FORWARD", [])):
        # `iptables -F` empties FORWARD too: without its jump no packet reaches the hook chain.
        ops.append("-I FORWARD 1 -j %s" % hook)
    if chains.get(chain) != wanted or chain not in chains:
        ops.append(":%s - [0:0]" % chain)  # with --noflush: creates the chain, or flushes it
        ops.extend(" ".join(shlex.quote(word) for word in words) for words in wanted)
    jump = ("-A", hook, "-j", chain)
    hook_rules = chains.get(hook, [])
    jumps = [words for words in hook_rules if jump_target(words) == chain]
    if len(jumps) != 1 or hook_rules[:1] != [jump]:
        ops.extend("-D" + " " + " ".join(shlex.quote(word) for word in words[1:]) for words in jumps)
        ops.append("-I %s 1 -j %s" % (hook, chain))
    return "\n".join(["*filter"] + ops + ["COMMIT", ""]) if ops else None


def _log(message):
    sys.stderr.write("%s taylordash-firewall-guard: %s\n" % (time.strftime("%Y-%m-%dT%H:%M:%S"), message))
    sys.stderr.flush()


def check_once(state_file, iptables, restore):
    """Read the state and the table; repair when needed. Returns what it did (or None), and the state's
    interval (None when it names none): the deploy can change it without restarting the guard."""
    try:
        with open(state_file) as handle:
            state = json.load(handle)
    except FileNotFoundError:
        return None, None
    interval = state.get("interval")
    table = subprocess.run([iptables, "-w", "-t", "filter", "-S"], capture_output=True, text=True, check=True)
    snippet = repair(table.stdout, state)
    if snippet is None:
        return None, interval
    subprocess.run([restore, "-w", "--noflush"], input=snippet, capture_output=True, text=True, check=True)
    return ("put back %d rules of chain %s and its jump from %s" % (len(state["rules"]), state["chain"],
                                                                    state.get("hook") or HOOK), interval)


def main(argv=None):
    parser = argparse.ArgumentParser(description="Keep the DOCKER-USER rules of the state file in place.")
    parser.add_argument("--state", required=True, help="the state file the deploy writes")
    parser.add_argument("--interval", type=float, default=2.0, help="seconds between checks")
    parser.add_argument("--iptables", default="iptables")
    args = parser.parse_args(argv)
    iptables = shutil.which(args.iptables) or args.iptables
    restore = os.path.join(os.path.dirname(iptables), os.path.basename(iptables) + "-restore")
    _log("watching %s every %ss with %s" % (args.state, args.interval, iptables))
    interval = args.interval
    while True:
        try:
            done, wanted = check_once(args.state, iptables, restore)
            if done:
                _log(done)
            if wanted and float(wanted) > 0 and float(wanted) != interval:
                interval = float(wanted)
                _log("checking every %ss (the state's interval)" % interval)
        except (OSError, ValueError, KeyError, TypeError, subprocess.CalledProcessError) as exc:
            detail = getattr(exc, "stderr", None) or exc
            _log("check failed, retrying: %s" % str(detail).strip())
        time.sleep(interval)


if __name__ == "__main__":
    main()
