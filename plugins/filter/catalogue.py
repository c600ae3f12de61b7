# -*- coding: utf-8 -*-
# Copyright: taylordash-ops developers
# MIT License
"""Thin adapters over module_utils/_catalogue.py: the merged service catalogue,
its problems, and the structures derived from it."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError

from ansible_collections.taylordash.ops.plugins.module_utils import _catalogue


def service_catalogue(services, overrides):
    """taylordash_services with taylordash_service_overrides merged over it."""
    if not isinstance(services, dict) or not isinstance(overrides or {}, dict):
        raise AnsibleFilterError("taylordash_services and taylordash_service_overrides must be mappings")
    return _catalogue.merge(services, overrides)


def catalogue_errors(catalogue, groups=None, images=None):
    """Every problem of the merged catalogue, each naming the service and the key."""
    return _catalogue.errors(catalogue, groups, list(images) if images is not None else None)


def catalogue_view(catalogue):
    """What the roles read: placement, replicable, disabled, disabled_images, images, endpoint_ports, consumers,
    local_endpoints."""
    try:
        return {"placement": _catalogue.placement(catalogue), "replicable": _catalogue.replicable(catalogue),
                "disabled": _catalogue.disabled(catalogue),
                "disabled_images": _catalogue.disabled_images(catalogue),
                "images": _catalogue.images(catalogue), "endpoint_ports": _catalogue.endpoint_ports(catalogue),
                "consumers": _catalogue.consumers(catalogue),
                "local_endpoints": _catalogue.local_endpoints(catalogue)}
    except (AttributeError, KeyError, TypeError) as exc:
        problems = _catalogue.errors(catalogue)
        raise AnsibleFilterError("; ".join(problems) if problems else "taylordash_services: %s" % exc)


def catalogue_scrape_jobs(catalogue, endpoints, enabled):
    """Prometheus' scrape jobs of the enabled services (see _catalogue.scrape_jobs)."""
    return _catalogue.scrape_jobs(catalogue, endpoints, enabled)


def catalogue_port_map(catalogue, plan, names=None):
    """The endpoints of `names` that taylordash_port_plan names, with their service, container port and publicity."""
    return _catalogue.port_map(catalogue, plan, names)


def catalogue_security(catalogue, name):
    """The Compose keys of a service's privileges (user, cap_drop/cap_add, security_opt, read_only, tmpfs)."""
    return _catalogue.security(catalogue[name])


def catalogue_labels(catalogue, name, project, enabled=True):
    """The Traefik Docker labels of a service's routes, as a dict (label provider, same host)."""
    return dict(_catalogue.traefik_labels(catalogue, name, project, enabled))


def catalogue_file_routes(catalogue, endpoints, project, enabled, interval, leave_out=()):
    """Traefik's file-provider routes to the enabled services on other hosts, without the addresses in
    `leave_out`."""
    return _catalogue.file_routes(catalogue, endpoints, project, enabled, interval, leave_out)


def routes_keep_out(kept, left_out, results):
    """The app hosts the proxy's routes keep out after a batch (see _catalogue.routes_keep_out)."""
    return _catalogue.routes_keep_out(kept, left_out, results)


def catalogue_depends(catalogue, name, present):
    """docker compose's depends_on for service `name`: its `depends` among `present` (see _catalogue.compose_depends)."""
    return _catalogue.compose_depends(catalogue, name, list(present))


def traefik_routes_pending(api_services, routes, managed):
    """What Traefik's API (/api/http/services) does not route yet as `routes` says (see _catalogue.routes_pending)."""
    return _catalogue.routes_pending(api_services, routes, managed)


def catalogue_rollout(catalogue, names, health_timeout):
    """compose_rollout's `services` for the catalogue's services `names`, in order (see _catalogue.rollout_services)."""
    return _catalogue.rollout_services(catalogue, list(names), health_timeout)


def catalogue_replica_errors(catalogue, publish, host):
    """Services of several replicas that publish a host port on `host` (see _catalogue.replica_errors)."""
    return _catalogue.replica_errors(catalogue, publish, host)


class FilterModule(object):
    def filters(self):
        return {"service_catalogue": service_catalogue, "catalogue_errors": catalogue_errors,
                "catalogue_view": catalogue_view, "catalogue_scrape_jobs": catalogue_scrape_jobs,
                "catalogue_port_map": catalogue_port_map, "catalogue_labels": catalogue_labels,
                "catalogue_security": catalogue_security,
                "catalogue_file_routes": catalogue_file_routes, "catalogue_rollout": catalogue_rollout,
                "catalogue_replica_errors": catalogue_replica_errors, "traefik_routes_pending": traefik_routes_pending,
                "catalogue_depends": catalogue_depends, "routes_keep_out": routes_keep_out}
