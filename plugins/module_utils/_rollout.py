# -*- coding: utf-8 -*-
# Copyright: taylordash-ops developers
# MIT License
"""Start-first replacement of a Compose service's containers, planned from what the engine reports.

For one service: which of its containers already run the wanted configuration (Compose's configuration
hash, the image's ID, the networks), how many new ones to start beside them, and which to retire once the
new ones are healthy. A service that publishes a host port cannot run two containers on one host: it is
replaced stop-first (the playbook takes the host out of the proxy's routes first). Pure: the
compose_rollout module reads the engine, hands the answers in, and carries the steps out."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.taylordash.ops.plugins.module_utils import _compose

# A marker file in the container: the app images' HEALTHCHECK fails while it exists, so the engine reports
# the container unhealthy and Traefik's Docker provider stops routing to it (it routes healthy containers
# only) before the container is stopped.
DRAIN_MARKER = "/tmp/taylordash-drain"


def _labels(container):
    return (container.get("Config") or {}).get("Labels") or {}


def _health(container):
    state = container.get("State") or {}
    return (state.get("Health") or {}).get("Status", "")


def service_containers(containers, service):
    """The service's containers among `docker inspect` objects (one-off containers left out), oldest first."""
    found = [c for c in containers if _labels(c).get(_compose.SERVICE) == service
             and _labels(c).get(_compose.ONEOFF) != "True"]
    # The engine trims the fraction's trailing zeros: compared padded, as Compose's plan does.
    return sorted(found, key=lambda c: (_compose._instant(c.get("Created")), c.get("Id") or ""))


def orphans(containers, services):
    """service -> IDs of its containers (one-off ones aside, oldest first) for each service among the project's
    `docker inspect` objects that no compose file names any more (`services`: those the files name)."""
    found = {}
    for container in sorted(containers, key=lambda c: (_compose._instant(c.get("Created")), c.get("Id") or "")):
        labels = _labels(container)
        name = labels.get(_compose.SERVICE)
        if name is not None and labels.get(_compose.ONEOFF) != "True" and name not in services:
            found.setdefault(name, []).append(container["Id"])
    return found


def is_current(container, config_hash, image_id, networks=()):
    """Whether a container runs the wanted configuration: Compose's hash, the image's ID, every network."""
    attached = (container.get("NetworkSettings") or {}).get("Networks") or {}
    return (_labels(container).get(_compose.CONFIG_HASH) == config_hash and bool(image_id)
            and container.get("Image") == image_id and all(name in attached for name in networks))


def plan(service, containers, config_hash, image_id, replicas=1, networks=(), host_port=False):
    """The step for one service: {service, action, why, keep, start, retire}.

    containers: the project's `docker inspect` objects. Actions:
      none        `replicas` current containers run and are healthy (or have no healthcheck);
      wait        they run as wanted but are still starting: waited for, nothing changes;
      create      no container at all: start `replicas` (nothing serves yet, nothing to drain);
      start-first start `start` new containers beside the running ones, wait until every current one is
                  healthy, then drain and remove `retire`;
      converge    enough current containers run: drain and remove `retire` (an interrupted run's leftovers,
                  or more containers than `replicas`);
      stop-first  the service publishes a host port: `docker compose up` recreates it in place.
    keep: current running containers kept (not unhealthy), newest first up to `replicas`; retire: every
    other container of the service (stale, stopped, unhealthy, or beyond `replicas`), oldest first."""
    replicas = int(replicas)
    mine = service_containers(containers, service)
    if not mine:
        return {"service": service, "action": "create", "why": "no container", "keep": [], "start": replicas,
                "retire": []}
    current = [c for c in mine if is_current(c, config_hash, image_id, networks)
               and (c.get("State") or {}).get("Status") == "running" and _health(c) != "unhealthy"]
    keep = list(reversed(current))[:replicas]
    kept = set(c["Id"] for c in keep)
    retire = [c["Id"] for c in mine if c["Id"] not in kept]
    start = replicas - len(keep)
    step = {"service": service, "keep": [c["Id"] for c in keep], "start": start, "retire": retire}
    if not retire and not start:
        if all(_health(c) in ("", "healthy") for c in keep):
            return dict(step, action="none", why="as wanted")
        return dict(step, action="wait", why="health starting")
    if host_port and start:
        return dict(step, action="stop-first", why="publishes a host port: replaced in place")
    if start:
        stale = [c for c in mine if c["Id"] not in kept]
        why = _why(stale[0], config_hash, image_id, networks) if stale else "fewer containers than %d" % replicas
        return dict(step, action="start-first", why=why)
    return dict(step, action="converge", why="%d container(s) to retire" % len(retire))


def _why(container, config_hash, image_id, networks):
    state = container.get("State") or {}
    if _labels(container).get(_compose.CONFIG_HASH) != config_hash:
        return "configuration changed"
    if container.get("Image") != image_id:
        return "image rebuilt"
    attached = (container.get("NetworkSettings") or {}).get("Networks") or {}
    if any(name not in attached for name in networks):
        return "not on every network"
    if state.get("Status") != "running":
        return "container %s" % state.get("Status", "?")
    return "container unhealthy"


def health_bound(container):
    """Seconds within which the engine must report a drained container unhealthy: its healthcheck's
    interval times (retries + 1) plus the check's timeout (Compose's defaults: 30 s, 3, 30 s); 0 without a
    healthcheck (then nothing routes by its health, and only the drain period is waited)."""
    check = (container.get("Config") or {}).get("Healthcheck") or {}
    test = check.get("Test") or []
    if not test or test[0] == "NONE":
        return 0
    nanos = 1e9
    interval = (check.get("Interval") or 30 * nanos) / nanos
    timeout = (check.get("Timeout") or 30 * nanos) / nanos
    retries = check.get("Retries") or 3
    return interval * (retries + 1) + timeout


def wait_verdict(containers):
    """From the `docker inspect` objects of the containers a step started: V(healthy) when every one is
    healthy (or running without a healthcheck), V(failed) when one exited, restarted (a crash loop under a
    restart policy) or turned unhealthy (it will not serve), else V(waiting)."""
    verdict = "healthy"
    for container in containers:
        state = container.get("State") or {}
        if state.get("Status") in ("exited", "dead", "restarting") or _health(container) == "unhealthy" \
                or (container.get("RestartCount") or 0) > 0:
            return "failed"
        if state.get("Status") != "running" or _health(container) not in ("", "healthy"):
            verdict = "waiting"
    return verdict


def awaited_dependencies(config, names):
    """The services that the services `names` depend on with condition service_healthy, outside `names`, sorted;
    None when one of `names` depends on another of them (Compose's own `up` orders those). `config`: the
    project's `docker compose config --format json`."""
    services = config.get("services") or {}
    found = set()
    for name in names:
        for dependency, spec in sorted(((services.get(name) or {}).get("depends_on") or {}).items()):
            if dependency in names:
                return None
            if (spec or {}).get("condition") == "service_healthy":
                found.add(dependency)
    return sorted(found)


def probe_argv(container):
    """`docker exec` of a container's own healthcheck command (its `docker inspect` object), or None when it has
    none: CMD runs as given, CMD-SHELL through /bin/sh -c, as the engine runs them."""
    test = ((container.get("Config") or {}).get("Healthcheck") or {}).get("Test") or []
    if len(test) < 2 or test[0] not in ("CMD", "CMD-SHELL"):
        return None
    command = list(test[1:]) if test[0] == "CMD" else ["/bin/sh", "-c", test[1]]
    return ["docker", "exec", container["Id"]] + command


def probe_timeout(container, default=30.0):
    """Seconds one run of the healthcheck may take (its Timeout, in nanoseconds; 30 s unset, as the engine)."""
    nanos = ((container.get("Config") or {}).get("Healthcheck") or {}).get("Timeout") or 0
    return nanos / 1e9 if nanos > 0 else default


def unhealthy_report(verdicts, services):
    """What is wrong with the services (in the order of `services`) whose wait_verdict is not healthy: those that
    exited, restarted or turned unhealthy apart from those still starting. `verdicts`: service -> verdict."""
    failed = [name for name in services if verdicts.get(name) == "failed"]
    waiting = [name for name in services if verdicts.get(name) == "waiting"]
    parts = []
    if failed:
        parts.append("%s exited, restarted or turned unhealthy" % ", ".join(failed))
    if waiting:
        parts.append("%s did not become healthy in time" % ", ".join(waiting))
    return "; ".join(parts)
