# -*- coding: utf-8 -*-
# Copyright: taylordash-ops developers
# MIT License
"""Plan the rules of our own iptables chain hooked into Docker's DOCKER-USER chain.

Private to this collection; the logic behind the ``docker_user_firewall``
module, free of AnsibleModule so it can be unit-tested. Nothing here runs
iptables: the module reads the filter table with ``iptables -S`` (parsed by
parse_table()), plan() compares it with the wanted state and returns an
``iptables-restore --noflush`` snippet that applies the difference in one
atomic commit.

Docker's DOCKER-USER chain (filter table, jumped to from FORWARD before
Docker's own rules) sees the packets of a published port after Docker's DNAT,
so the rules match the connection's ORIGINAL destination with the conntrack
match. Our chain (default TAYLORDASH) holds, in this order::

    -A TAYLORDASH -m conntrack --ctstate RELATED,ESTABLISHED -j RETURN
    # per rule, per allowed source:
    -A TAYLORDASH -s SRC/LEN -p PROTO -m conntrack --ctstate DNAT [--ctorigdst ADDR]
        --ctorigdstport PORT -m comment --comment NAME -j RETURN
    # per rule, then:
    -A TAYLORDASH -p PROTO -m conntrack --ctstate DNAT [--ctorigdst ADDR]
        --ctorigdstport PORT -m comment --comment NAME -j DROP
    -A TAYLORDASH -j RETURN

The first rule lets the packets of connections already admitted through (the
replies carry the same original tuple and would otherwise hit the DROP).
``--ctstate DNAT`` restricts the port rules to connections whose destination
was translated, that is to published ports: a container's own outgoing
connection to port 5432 of some other host is never matched.

Lines are written the way ``iptables -S`` prints them (``-s`` as a network with
its prefix length, matches in iptables' order; rule names are restricted to
characters iptables prints its comments without quotes) and compared as
shell-like token lists, so that a quoted comment compares equal too.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import re
import shlex

from ansible_collections.taylordash.ops.plugins.module_utils._firewall_guard import HOOK, jump_target
from ansible_collections.taylordash.ops.plugins.module_utils._port_plan import DEFAULT_PROTOCOL, PROTOCOLS, _port

DEFAULT_CHAIN = "TAYLORDASH"
RULE_KEYS = ("name", "port", "protocol", "address", "allow")
CHAIN_NAME = re.compile(r"\A[A-Za-z0-9_][A-Za-z0-9_-]{0,27}\Z")
RULE_NAME = re.compile(r"\A[A-Za-z0-9][A-Za-z0-9_-]{0,63}\Z")
# Chains of the filter table that are not ours to flush: the built-in ones and Docker's.
RESERVED = ("INPUT", "FORWARD", "OUTPUT", HOOK, "DOCKER", "DOCKER-ISOLATION-STAGE-1", "DOCKER-ISOLATION-STAGE-2",
            "DOCKER-FORWARD", "DOCKER-BRIDGE", "DOCKER-CT", "DOCKER-INTERNAL", "ACCEPT", "DROP", "RETURN",
            "REJECT", "QUEUE")
ESTABLISHED = "-m conntrack --ctstate RELATED,ESTABLISHED -j RETURN"
MISSING_HOOK = ("chain %s does not exist in the filter table: the Docker engine creates it when it starts (with "
                "its iptables integration enabled); start the engine before this task")


class FirewallError(ValueError):
    """A problem with the options or the current table; lists every problem found."""

    def __init__(self, problems):
        if isinstance(problems, str):
            problems = [problems]
        self.problems = list(problems)
        super(FirewallError, self).__init__("; ".join(self.problems))


# --------------------------------------------------------------------------- options

def check_chain(chain):
    """The chain name, checked: 1-28 characters of letters, digits, _ - and not a built-in or Docker chain."""
    if not isinstance(chain, str) or not CHAIN_NAME.match(chain):
        raise FirewallError("chain: %r is not a valid chain name (1-28 letters, digits, '_', '-')" % (chain,))
    if chain.upper() in RESERVED:
        raise FirewallError("chain: %s is a built-in or Docker chain; name a chain of our own" % chain)
    return chain


def _address(value, where, problems):
    """The published address as text, None for any address (omitted, empty or 0.0.0.0)."""
    if value is None or value == "":
        return None
    try:
        address = ipaddress.ip_address(str(value).strip())
    except ValueError:
        problems.append("%s.address: %r is not an IPv4 address" % (where, value))
        return None
    if address.version != 4:
        problems.append("%s.address: %s is IPv6; this module manages iptables (IPv4) only" % (where, value))
        return None
    if address.is_unspecified:
        return None
    return str(address)


def _source(value, where, problems):
    """An allowed source as iptables prints it: the network address with its prefix length (10.0.0.1/32)."""
    try:
        network = ipaddress.ip_network(str(value).strip(), strict=False)
    except ValueError:
        problems.append("%s.allow: %r is not an IPv4 address or CIDR" % (where, value))
        return None
    if network.version != 4:
        problems.append("%s.allow: %s is IPv6; this module manages iptables (IPv4) only" % (where, value))
        return None
    return str(network)


def check_rules(rules):
    """The rules option checked and normalized: a list of dicts with keys name, port (int), protocol,
    address (text or None for any) and allow (normalized sources, duplicates dropped, order kept).

    Raises FirewallError listing every problem: unknown keys, bad names, ports, protocols, addresses or
    sources, a name used twice, and two rules for the same port and protocol whose addresses overlap
    (equal, or one of them any address) - the first rule's DROP would swallow the second's sources.
    """
    if rules is None:
        rules = []
    if not isinstance(rules, list):
        raise FirewallError("rules: must be a list, got %s" % type(rules).__name__)
    problems = []
    out = []
    names = set()
    for index, rule in enumerate(rules):
        where = "rules[%d]" % index
        if not isinstance(rule, dict):
            problems.append("%s: must be a dict, got %s" % (where, type(rule).__name__))
            continue
        name = rule.get("name")
        if isinstance(name, str) and RULE_NAME.match(name):
            where = "rules[%d] (%s)" % (index, name)
            if name in names:
                problems.append("%s: the name %s is used by more than one rule" % (where, name))
            names.add(name)
        else:
            problems.append("%s.name: %r is not a valid name (1-64 letters, digits, '_', '-', starting "
                            "with a letter or digit)" % (where, name))
        unknown = sorted(set(rule) - set(RULE_KEYS), key=str)
        if unknown:
            problems.append("%s: unknown key(s) %s (allowed: %s)"
                            % (where, ", ".join(str(key) for key in unknown), ", ".join(RULE_KEYS)))
        port = _port(rule.get("port"))
        if port is None:
            problems.append("%s.port: %r is not a port number (1-65535)" % (where, rule.get("port")))
        protocol = rule.get("protocol") or DEFAULT_PROTOCOL
        if protocol not in PROTOCOLS:
            problems.append("%s.protocol: %r is not one of %s" % (where, protocol, ", ".join(PROTOCOLS)))
        address = _address(rule.get("address"), where, problems)
        allow = rule.get("allow")
        if allow is None:
            allow = []
        if isinstance(allow, str):
            allow = [allow]
        sources = []
        if not isinstance(allow, list):
            problems.append("%s.allow: must be a list of addresses, got %s" % (where, type(allow).__name__))
        else:
            for value in allow:
                source = _source(value, where, problems)
                if source is not None and source not in sources:
                    sources.append(source)
        out.append({"name": name, "port": port, "protocol": protocol, "address": address, "allow": sources})
    for later, rule in enumerate(out):
        for earlier in out[:later]:
            if (rule["port"] is not None and (rule["port"], rule["protocol"]) == (earlier["port"], earlier["protocol"])
                    and (rule["address"] is None or earlier["address"] is None
                         or rule["address"] == earlier["address"])):
                problems.append("rules %s and %s: both match %s port %d on %s; give each port one rule (list every "
                                "allowed source in its allow)"
                                % (earlier["name"], rule["name"], rule["protocol"], rule["port"],
                                   rule["address"] or earlier["address"] or "any address"))
    if problems:
        raise FirewallError(problems)
    return out


# --------------------------------------------------------------------------- lines

def tokens(line):
    """A rule line as a tuple of shell-like tokens, the form lines are compared in."""
    return tuple(shlex.split(line))


def _match(rule):
    parts = ["-p", rule["protocol"], "-m", "conntrack", "--ctstate", "DNAT"]
    if rule["address"]:
        parts += ["--ctorigdst", rule["address"]]
    parts += ["--ctorigdstport", str(rule["port"]), "-m", "comment", "--comment", rule["name"]]
    return " ".join(parts)


def desired_lines(chain, rules):
    """The ``-A`` lines our chain must hold, in order, as iptables -S prints them; rules already checked."""
    lines = ["-A %s %s" % (chain, ESTABLISHED)]
    for rule in rules:
        match = _match(rule)
        for source in rule["allow"]:
            lines.append("-A %s -s %s %s -j RETURN" % (chain, source, match))
        lines.append("-A %s %s -j DROP" % (chain, match))
    lines.append("-A %s -j RETURN" % chain)
    return lines


def jump_line(chain, hook=HOOK):
    return "-A %s -j %s" % (hook, chain)


def parse_table(text):
    """The ``iptables -t filter -S`` output as {'chains': [names in order], 'rules': {chain: [-A lines]}}.

    Policy lines (``-P``) of the built-in chains count as chains too. Other lines fail.
    """
    chains = []
    rules = {}
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        words = line.split()
        if words[0] in ("-P", "-N") and len(words) >= 2:
            if words[1] not in rules:
                chains.append(words[1])
                rules[words[1]] = []
        elif words[0] == "-A" and len(words) >= 2:
            if words[1] not in rules:
                chains.append(words[1])
                rules[words[1]] = []
            rules[words[1]].append(line)
        else:
            raise FirewallError("cannot read line %d of iptables -S: %r" % (number, line))
    return {"chains": chains, "rules": rules}


def target(line):
    """The chain or target a rule line jumps (-j) or goes (-g) to, None without one."""
    return jump_target(tokens(line))


def references(table, chain):
    """(chain, line) of every rule of the table, outside chain itself, that jumps or goes to chain."""
    return [(name, line) for name in table["chains"] for line in table["rules"][name]
            if name != chain and target(line) == chain]


def view(table, chain, hook=HOOK):
    """The lines the diff shows: our chain (``-N`` then its rules, nothing when it does not exist), then
    every rule of the hook chain, then any other rule of the table that jumps to our chain."""
    lines = []
    if chain in table["rules"]:
        lines.append("-N %s" % chain)
        lines.extend(table["rules"][chain])
    lines.extend(table["rules"].get(hook, []))
    lines.extend(line for name, line in references(table, chain) if name != hook)
    return lines


def same(first, second):
    """Whether two lists of lines are equal token for token."""
    return [tokens(line) for line in first] == [tokens(line) for line in second]


def _delete(line):
    """The -D line deleting the rule an ``-A`` line of iptables -S describes."""
    return "-D" + line[2:]


def plan(table, chain=DEFAULT_CHAIN, rules=None, state="present", hook=HOOK):
    """What must change, from the parsed table (parse_table()) and the options.

    Returns a dict: ``changed``; ``restore``, the ``iptables-restore --noflush`` input applying the change
    (None when nothing changes); ``rules``, the -A lines of our chain afterwards ([] when absent);
    ``expected``, the table afterwards (same shape as parse_table()'s); and ``diff``, before and after
    view() texts. Raises FirewallError for bad options, and when state is present and the hook chain
    does not exist.
    """
    chain = check_chain(chain)
    if state not in ("present", "absent"):
        raise FirewallError("state: %r is not present or absent" % (state,))
    checked = check_rules(rules) if state == "present" else []
    expected = {"chains": list(table["chains"]), "rules": dict((name, list(lines)) for name, lines in
                                                               table["rules"].items())}
    ops = []
    if state == "present":
        if hook not in table["rules"]:
            raise FirewallError(MISSING_HOOK % hook)
        wanted = desired_lines(chain, checked)
        if chain not in table["rules"] or not same(table["rules"][chain], wanted):
            ops.append(":%s - [0:0]" % chain)  # with --noflush: creates the chain, or flushes it
            ops.extend(wanted)
            if chain not in expected["rules"]:
                expected["chains"].append(chain)
            expected["rules"][chain] = wanted
        hook_rules = table["rules"][hook]
        jumps = [line for line in hook_rules if target(line) == chain]
        jump = jump_line(chain, hook)
        if len(jumps) != 1 or not same(hook_rules[:1], [jump]):
            ops.extend(_delete(line) for line in jumps)
            ops.append("-I %s 1 -j %s" % (hook, chain))
            expected["rules"][hook] = [jump] + [line for line in hook_rules if target(line) != chain]
        after_rules = expected["rules"][chain]
    else:
        for name, line in references(table, chain):
            ops.append(_delete(line))
            expected["rules"][name] = [other for other in expected["rules"][name] if other != line]
        if chain in table["rules"]:
            ops.extend(["-F %s" % chain, "-X %s" % chain])
            expected["chains"].remove(chain)
            del expected["rules"][chain]
        after_rules = []
    before, after = view(table, chain, hook), view(expected, chain, hook)
    return {
        "changed": bool(ops),
        "restore": "\n".join(["*filter"] + ops + ["COMMIT", ""]) if ops else None,
        "rules": after_rules,
        "expected": expected,
        "diff": {"before": "\n".join(before) + "\n" if before else "",
                 "after": "\n".join(after) + "\n" if after else ""},
    }
