# -*- coding: utf-8 -*-
# Copyright: taylordash-ops developers
# MIT License
"""Filters that place services on inventory groups and say how hosts reach each other.

Every service runs on the hosts of one inventory group (its catalogue `group`:
service -> group). A host runs the services of every group it is in; one host
in every group is the single-host case, where everything talks over the
Compose network by service name. When a service a host needs runs elsewhere,
the host reaches it on the other host's `taylordash_address` and the port the
service publishes there, on that address only, for the hosts that need it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError


EVERY_HOST = "all"


def _used(groups, placement):
    """The placement groups the inventory has; `all` (services that run on every host) is not one."""
    return [g for g in set(placement.values()) if g != EVERY_HOST and groups.get(g)]


def _placed(groups, placement):
    """service -> sorted hosts. Without any placement group in the inventory every host runs everything;
    a service of group `all` runs on every host in any case."""
    used = _used(groups, placement)
    every = sorted(groups.get("all", []) or groups.get("ungrouped", []))
    hosts = {}
    for service, group in placement.items():
        hosts[service] = sorted(groups.get(group, [])) if used else list(every)
    return hosts


def placement_hosts(groups, placement):
    """service -> the hosts that run it (see the module docstring)."""
    if not isinstance(placement, dict) or not all(isinstance(g, str) and g for g in placement.values()):
        raise AnsibleFilterError("every service of taylordash_services needs a group (an inventory group name)")
    return _placed(groups, placement)


def placement_errors(groups, placement, replicable, play_hosts):
    """Messages for hosts in no placement group and for non-replicable services on several hosts."""
    errors = []
    used = _used(groups, placement)
    if not used:
        return errors
    members = set()
    for group in used:
        members.update(groups.get(group, []))
    for host in sorted(play_hosts):
        if host not in members:
            errors.append("host %s is in none of the groups %s, so it would run nothing; add it to one or leave "
                          "it out of the play (--limit)" % (host, ", ".join(sorted(used))))
    for service, hosts in sorted(_placed(groups, placement).items()):
        if len(hosts) > 1 and service not in replicable and placement[service] != EVERY_HOST:
            errors.append("%s runs on one host only, but group %s (taylordash_services.%s.group) has %d: %s"
                          % (service, placement[service], service, len(hosts), ", ".join(hosts)))
    return errors


def cross_host(hosts_of, host, addresses, ports, consumers, enabled):
    """How `host` reaches every placed service, and what it publishes for the others.

    hosts_of: service -> hosts; addresses: host -> address others reach it by;
    ports: endpoint -> {service, target, port, public}; consumers: endpoint ->
    services that call it; enabled: services switched on at all.
    Returns {local, endpoints, publish, apps_via_file, callers}: endpoints
    maps each endpoint to a list of host:port strings (the Compose service
    name when it runs here); publish lists this host's endpoints other hosts
    call, with the address to publish on and the addresses allowed to connect
    (public ones are published anyway, so they are not listed); callers are
    the other hosts that call any endpoint of this host, public ones included.
    """
    enabled = set(enabled)
    local = sorted(s for s, hs in hosts_of.items() if host in hs and s in enabled)
    endpoints, publish, calling = {}, [], set()
    for name, spec in sorted(ports.items()):
        service = spec["service"]
        if service not in enabled or not hosts_of.get(service):
            continue
        targets = []
        for other in hosts_of[service]:
            if other == host:
                targets.append("%s:%s" % (service, spec["target"]))
            else:
                address = addresses.get(other)
                if not address:
                    raise AnsibleFilterError("%s runs %s but has no taylordash_address (nor ansible_host) that "
                                             "other hosts reach it by" % (other, service))
                targets.append("%s:%s" % (address, spec["port"]))
        endpoints[name] = targets
        if host not in hosts_of[service]:
            continue
        callers = sorted({h for c in consumers.get(name, []) if c in enabled for h in hosts_of.get(c, [])} - {host})
        calling.update(callers)
        if callers and not spec.get("public"):
            publish.append({"name": name, "service": service, "target": int(spec["target"]), "port": int(spec["port"]),
                            "address": addresses.get(host), "allow": sorted({addresses[h] for h in callers})})
    traefik = hosts_of.get("traefik", [])
    apps = set(hosts_of.get("backend", [])) | set(hosts_of.get("frontend", []))
    apps_via_file = "traefik" in enabled and bool(apps) and not apps <= set(traefik)
    return {"local": local, "endpoints": endpoints, "publish": publish, "apps_via_file": apps_via_file,
            "callers": sorted(calling)}


def host_addresses(hosts, hostvars):
    """host -> the address other hosts reach it by: taylordash_address, else ansible_host, else its name."""
    out = {}
    for host in hosts:
        variables = hostvars[host]
        out[host] = str(variables.get("taylordash_address") or variables.get("ansible_host") or host)
    return out


def enabled_services(placement, disabled):
    """Placed services that are switched on: not in `disabled` (the catalogue's `enabled: false`, and the
    MinIO, Grafana and app switches)."""
    return sorted(service for service in placement if service not in set(disabled))


def image_refs_for(services, image_refs, app_refs, images_of=None):
    """The image references a host needs for the services it runs: app images from app_refs, the others
    from image_refs under each service's catalogue `image` key (images_of: service -> key; default its name)."""
    out = []
    for service in services:
        ref = app_refs.get(service) or image_refs.get((images_of or {}).get(service, service))
        if ref and ref not in out:
            out.append(ref)
    return out


def endpoint(endpoints, name, part=None):
    """The first host:port of an endpoint (or its `host` / `port` part)."""
    if name not in endpoints or not endpoints[name]:
        raise AnsibleFilterError("no host runs %s (see the groups in taylordash_services)" % name)
    value = endpoints[name][0]
    if part is None:
        return value
    host, _, port = value.rpartition(":")
    return host if part == "host" else port


class FilterModule(object):
    def filters(self):
        return {
            "placement_hosts": placement_hosts,
            "placement_errors": placement_errors,
            "cross_host": cross_host,
            "endpoint": endpoint,
            "host_addresses": host_addresses,
            "image_refs_for": image_refs_for,
            "enabled_services": enabled_services,
        }
