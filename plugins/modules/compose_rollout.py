#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: taylordash-ops developers
# MIT License

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: compose_rollout
short_description: Replace a Compose project's services start-first - the new containers serve only once healthy
version_added: 0.3.0
description:
  - For each service of O(services), in order, compares its containers with what the compose files describe
    (Compose's configuration hash, the image's ID, the networks) and replaces the stale ones start-first - new
    containers start beside the old, and once every new one is healthy the old ones are drained and removed by
    their ID. Unchanged services are not touched.
  - Draining an old container creates the marker file O(drain_marker) in it; the app images'
    healthcheck fails while it exists, so the engine reports the container unhealthy (waited for, within the
    healthcheck's interval times retries plus one, and its timeout) and Traefik's Docker provider, which routes
    healthy containers only, drops it. The container then keeps its in-flight requests for the service's
    C(drain) period, is stopped with its C(grace) period and removed.
  - A new container that exits, restarts, turns unhealthy or is not healthy within the service's
    C(health_timeout) is removed with the others this run started, the old ones keep serving untouched, and the
    module fails naming the service with the new containers' last log lines. O(app_file) replaces the live compose
    file only when every service succeeded. When a later service fails after an earlier one was replaced, the
    earlier one keeps its new containers and the message names it; the next run finds it as wanted.
  - A service that publishes a host port cannot run two containers on one host - it is recreated in place
    (stop-first), health-gated. A service without a container is created. A run interrupted half-way is finished
    by the next one (C(converge)). Containers of services that no compose file names any more are drained and
    removed (C(remove)).
  - The migration of O(migrate) runs on every host that rolls out a new backend; when several hosts do at once
    (a batch), the migration tool must serialize them (the example app's Alembic environment takes a PostgreSQL
    advisory lock), or roll out one host at a time.
author: taylordash-ops developers
options:
  project_dir:
    description: The Compose project directory.
    type: path
    required: true
  project_name:
    description: The Compose project name.
    type: str
    required: true
  files:
    description: The compose files in force, in order (with O(app_file), its candidate comes after them).
    type: list
    elements: path
    required: true
  app_file:
    description:
      - The compose file of the services rolled out, as it should be. Its candidate (a hidden file beside
        O(app_file.path)) is what the rollout reads; it replaces O(app_file.path) atomically only once every
        service is healthy, and is removed otherwise - also in check mode, where it is only read.
    type: dict
    suboptions:
      path:
        description: The compose file's path.
        type: path
        required: true
      content:
        description: Its content.
        type: str
        required: true
      mode:
        description: Its mode.
        type: str
        default: "0644"
  migrate:
    description:
      - A one-off service (the database migration) run from the candidate before any new container starts, when
        O(migrate.before) is created or replaced or O(migrate.database) started after it. A failing migration fails
        the module before anything that runs or is rendered changed.
    type: dict
    suboptions:
      service:
        description: The one-off service.
        type: str
        required: true
      before:
        description: The service whose change makes the migration due.
        type: str
        required: true
      database:
        description: The database service; a database started after O(migrate.before) makes the migration due.
        type: str
      backup:
        description:
          - A command (argv) run just before a due migration - the backup service's C(taylordash-backup run).
            Its failure fails the module before the migration, with nothing changed. Its output (JSON) is
            returned as RV(backup).
        type: list
        elements: str
  services:
    description: The services to roll out, in order.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: The service.
        type: str
        required: true
      replicas:
        description: Containers of the service on this host.
        type: int
        default: 1
      drain:
        description: Seconds an old container keeps its in-flight requests after it left the routing.
        type: float
        default: 5
      health_timeout:
        description: Seconds the new containers have to turn healthy.
        type: float
        default: 180
      grace:
        description: Seconds between the stop signal and a kill, for an old container.
        type: int
        default: 10
  in_place:
    description:
      - The services a plan (this module in check mode, just before) said are replaced stop-first - the services a
        proxy on another host was told about (it left the host out of its routes). When given, a service that would
        now be replaced stop-first without being in this list fails the run before anything is stopped.
      - Omitted, any service may be replaced stop-first. Not checked in check mode (nothing is replaced).
    type: list
    elements: str
  wait_for:
    description:
      - Services of the project an earlier phase started without waiting for their health (the core services on a
        cold start, see the infrastructure role), with the seconds they have. Once the rollout's own services are
        healthy, every container of these must be healthy too (running without a healthcheck counts) within
        O(wait_for.timeout) of the module's start, or the module fails naming them with their last log lines, before
        O(app_file) replaces the live file. Their containers are never touched. Not waited for in check mode.
      - Services created in this run whose C(depends_on) waits for a dependency to be healthy do not wait for the
        engine's first healthcheck of it (an interval after its start - Docker 20.10 has no C(start_interval));
        the dependency's own healthcheck command is run (C(docker exec)) until it passes, then they are created by
        Compose and started. Not when one of them depends on another (Compose's C(up) orders those). Their other
        dependencies must run already (the earlier phase started them), as C(docker start) does not start those.
    type: dict
    suboptions:
      services:
        description: The services.
        type: list
        elements: str
        required: true
      timeout:
        description: Seconds they have, counted from the module's start.
        type: float
        default: 180
  drain_marker:
    description: The file created in an old container to make its healthcheck fail (the app images' HEALTHCHECK tests it).
    type: path
    default: /tmp/taylordash-drain
  throttle:
    description: Seconds the proxy takes to apply a health change it was told about (Traefik's providers throttle).
    type: float
    default: 2
  log_lines:
    description: Log lines of each failed new container in the failure message.
    type: int
    default: 40
attributes:
  check_mode:
    support: full
    details: Returns each service's step without touching anything.
  diff_mode:
    support: full
    details: One line per service that would change, and the compose file's diff.
  idempotent:
    support: full
    details: A second run finds every service as wanted and changes nothing.
"""

EXAMPLES = r"""
- name: Roll the app out start-first
  taylordash.ops.compose_rollout:
    project_dir: /opt/taylordash
    project_name: taylordash
    files: [/opt/taylordash/docker-compose.yml]
    app_file:
      path: /opt/taylordash/docker-compose.app.yml
      content: "{{ lookup('ansible.builtin.template', 'docker-compose.app.yml.j2') }}"
    migrate: {service: migrate, before: backend, database: postgres}
    services:
      - {name: backend, drain: 5, health_timeout: 180}
      - {name: frontend}
"""

RETURN = r"""
services:
  description: One row per service - V(service), V(action) (V(none), V(wait), V(create), V(start-first),
    V(converge), V(stop-first), V(remove)), V(why), the container IDs kept, started and retired.
  returned: always
  type: list
  elements: dict
  sample: [{service: backend, action: start-first, why: image rebuilt, keep: [], started: [3f2a], retired: [9c1d]}]
applied:
  description: Whether the rollout was carried out (false in check mode, where it is a plan).
  returned: always
  type: bool
migration_due:
  description: Whether the migration was due (in check mode, would run).
  returned: always
  type: bool
migrated:
  description: Whether the migration applied a revision (its output named one).
  returned: always
  type: bool
backup:
  description: What O(migrate.backup) printed (the backup taken before the migration), parsed as JSON.
  returned: when a due migration ran after a backup
  type: dict
file_changed:
  description: Whether O(app_file.path) was (in check mode, would be) replaced.
  returned: always
  type: bool
in_place:
  description: The services replaced (in check mode, to be replaced) stop-first, in place on their fixed host
    port - the host serves none of them for a while, so a proxy on another host should leave it out first.
  returned: success
  type: list
  elements: str
in_place_begun:
  description: After a failure - the services whose old containers a stop-first step stopped and whose new ones did
    not turn healthy (nothing of them serves on this host, so a proxy on another host should keep it out of its
    routes). Empty when every service serves (a failed migration, a start-first service whose old containers still
    serve, a stop-first one that came back healthy before another failed).
  returned: failure
  type: list
  elements: str
"""

import json
import os
import subprocess
import tempfile
import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.taylordash.ops.plugins.module_utils import _compose, _rollout


class RolloutFailed(Exception):
    pass


class Engine(object):
    """The docker and docker compose calls of a rollout."""

    def __init__(self, module, compose):
        self.module = module
        self.compose = compose

    def run(self, argv, what, check=True):
        rc, out, err = self.module.run_command(argv)
        if rc != 0 and check:
            raise RolloutFailed("%s failed (rc %d): %s" % (what, rc, (err or out).strip()))
        return out

    def inspect(self, ids):
        return json.loads(self.run(["docker", "inspect"] + list(ids), "docker inspect")) if ids else []

    def containers(self, project):
        ids = self.run(["docker", "ps", "--all", "--quiet", "--no-trunc", "--filter",
                        "label=%s=%s" % (_compose.PROJECT, project)], "docker ps").split()
        return self.inspect(ids)

    def logs(self, ids, lines):
        """The last log lines of each container, under a header naming it."""
        text = ""
        for container in self.inspect(ids):
            rc, out, err = self.module.run_command(["docker", "logs", "--tail", str(lines), container["Id"]])
            text += "\n---- last %d log lines of %s ----\n%s" % (lines, (container.get("Name") or "").lstrip("/")
                                                                or container["Id"][:12], (out + err).strip())
        return text


def _wanted(engine, services):
    """Compose's view of the services: {service: (hash, image ID, networks, publishes a host port)}."""
    config = json.loads(engine.run(engine.compose + ["config", "--format", "json"], "docker compose config"))
    engine.config = config
    images, networks = _compose.parse_config(json.dumps(config))
    hashes = _compose.parse_hashes(engine.run(engine.compose + ["config", "--hash", ",".join(services)],
                                              "docker compose config --hash").splitlines())
    refs = sorted(set(_compose.engine_name(images[name]) for name in services if images.get(name)))
    ids = _compose.parse_image_ids(engine.module.run_command(_compose.image_inspect_argv(refs))[1]) if refs else {}
    wanted = {"*": sorted(config.get("services") or {})}
    for name in services:
        spec = (config.get("services") or {}).get(name)
        if spec is None:
            raise RolloutFailed("%s is not a service of the compose files" % name)
        published = any(port.get("published") for port in spec.get("ports") or [] if isinstance(port, dict))
        wanted[name] = (hashes.get(name, ""), ids.get(_compose.engine_name(images.get(name, "")), ""),
                        networks.get(name, []), published)
    return wanted


def _wait(engine, ids, timeout):
    """Poll the containers until every one is healthy; their verdict (healthy, failed or waiting)."""
    deadline = time.monotonic() + timeout
    while True:
        verdict = _rollout.wait_verdict(engine.inspect(ids))
        if verdict != "waiting" or time.monotonic() >= deadline:
            return verdict
        # One `docker inspect` a poll: a short pause, so that a healthy container is seen soon after it is.
        time.sleep(0.25)


def _retire(engine, ids, spec, throttle, marker):
    """Drain the running ones among `ids` (out of the routing, then their in-flight requests), stop and remove
    all. Returns the names of running containers the drain did not take out of the routing in time (their
    healthcheck does not test the marker, or the marker could not be written): they were stopped anyway."""
    if not ids:
        return []
    running = [c for c in engine.inspect(ids) if (c.get("State") or {}).get("Status") == "running"]
    undrained = []
    if running:
        marked = []
        for container in running:
            rc, out, err = engine.module.run_command(["docker", "exec", container["Id"], "touch", marker])
            (marked if rc == 0 else undrained).append(container)
        checked = [c for c in marked if _rollout.health_bound(c)]
        undrained += [c for c in marked if not _rollout.health_bound(c)]
        deadline = time.monotonic() + max([_rollout.health_bound(c) for c in checked] or [0])
        while checked:
            states = dict((c["Id"], ((c.get("State") or {}).get("Health") or {}).get("Status"))
                          for c in engine.inspect([c["Id"] for c in checked]))
            if all(state == "unhealthy" for state in states.values()) or time.monotonic() >= deadline:
                undrained += [c for c in checked if states.get(c["Id"]) != "unhealthy"]
                break
            time.sleep(1)
        time.sleep(throttle + spec["drain"])
        engine.run(["docker", "stop", "--time", str(spec["grace"])] + [c["Id"] for c in running], "docker stop")
    engine.run(["docker", "rm", "--force"] + list(ids), "docker rm")
    return sorted((c.get("Name") or c["Id"][:12]).lstrip("/") for c in undrained)


def _fail_new(engine, spec, new, verdict, lines):
    logs = engine.logs(new, lines)
    if new:
        engine.run(["docker", "rm", "--force"] + new, "docker rm", check=False)
    what = {"waiting": "did not become healthy within %gs" % spec["health_timeout"],
            "failed": "failed its healthcheck, exited or restarted"}.get(verdict, "could not start (%s)" % verdict)
    raise RolloutFailed("%s: the new container(s) %s; removed them, the old ones keep serving.%s"
                        % (spec["name"], what, logs))


def _apply(engine, step, spec, throttle, lines, marker, undrained, begun):
    """Carry one service's step out; returns the IDs started. Containers the drain missed go to `undrained`;
    a service whose old containers a stop-first step stops goes to `begun` first."""
    name = spec["name"]
    if step["action"] == "none":
        return []

    def mine():
        return [c["Id"] for c in _rollout.service_containers(engine.containers(engine.project), name)]

    if step["action"] in ("converge", "wait"):
        if _wait(engine, step["keep"], spec["health_timeout"]) != "healthy":
            raise RolloutFailed("%s: its current container(s) are not healthy within %gs.%s"
                                % (name, spec["health_timeout"], engine.logs(step["keep"], lines)))
        undrained += _retire(engine, step["retire"], spec, throttle, marker)
        return []
    if step["action"] in ("create", "stop-first"):
        if step["action"] == "stop-first" and step["retire"]:
            # Two containers cannot bind its host port: the old ones go first (a proxy on another host was
            # told to leave this host out before, see O(in_place)), then the new ones start in their place.
            begun.append(name)
            engine.run(["docker", "stop", "--time", str(spec["grace"])] + step["retire"], "docker stop")
            engine.run(["docker", "rm", "--force"] + step["retire"], "docker rm")
        before = set(mine())
        # Not --no-deps: Compose hashes a service without its depends_on then, and every later plan would
        # find it changed. --no-recreate: a dependency (the infrastructure phase's) is at most started.
        engine.run(engine.compose + ["up", "--detach", "--no-recreate", "--scale", "%s=%d" % (name, spec["replicas"]),
                                     name], "docker compose up %s" % name)
        new = [cid for cid in mine() if cid not in before]
        verdict = _wait(engine, mine(), spec["health_timeout"])
        if verdict != "healthy":
            # Nothing older is left to serve: keep what was created for the operator to inspect.
            raise RolloutFailed("%s did not become healthy within %gs (%s).%s" % (
                name, spec["health_timeout"], "a container exited, restarted or turned unhealthy"
                if verdict == "failed" else "still starting", engine.logs(mine(), lines)))
        if name in begun:
            begun.remove(name)  # it serves again
        return new
    # start-first: stopped leftovers first (compose would start them), then the new beside the running.
    stopped = [c["Id"] for c in engine.inspect(step["retire"]) if (c.get("State") or {}).get("Status") != "running"]
    if stopped:
        engine.run(["docker", "rm", "--force"] + stopped, "docker rm")
    before = mine()
    try:
        engine.run(engine.compose + ["up", "--detach", "--no-recreate", "--scale",
                                     "%s=%d" % (name, len(before) + step["start"]), name],
                   "docker compose up %s" % name)
    except RolloutFailed as error:
        _fail_new(engine, spec, [cid for cid in mine() if cid not in before], str(error), lines)
    new = [cid for cid in mine() if cid not in before]
    if len(new) != step["start"]:
        _fail_new(engine, spec, new, "started %d container(s) instead of %d" % (len(new), step["start"]), lines)
    verdict = _wait(engine, new + step["keep"], spec["health_timeout"])
    if verdict != "healthy":
        _fail_new(engine, spec, new, verdict, lines)
    undrained += _retire(engine, [cid for cid in step["retire"] if cid not in stopped], spec, throttle, marker)
    return new


def _found(engine, services, missing_why):
    """service -> the `docker inspect` objects of its containers (one-off ones aside); a service without any fails
    the module, `missing_why` saying why one was expected."""
    containers = engine.containers(engine.project)
    found = dict((name, _rollout.service_containers(containers, name)) for name in services)
    missing = [name for name in services if not found[name]]
    if missing:
        raise RolloutFailed("%s: no container, %s" % (", ".join(missing), missing_why))
    return found


def _ready(engine, services, deadline, lines):
    """Run the own healthcheck of each container of `services` (docker exec) until it passes once, or the engine
    already reports it healthy: the engine's first probe comes only an interval after a start (Docker 20.10 has
    no start_interval). A container that exits or restarts, or is not ready by `deadline`, fails the module."""
    found = _found(engine, services, "though the app depends on it")
    pending = [c for name in services for c in found[name]]
    while pending:
        waiting = []
        for container in engine.inspect([c["Id"] for c in pending]):
            verdict = _rollout.wait_verdict([container])
            if verdict == "failed":
                raise RolloutFailed("%s exited, restarted or turned unhealthy before the app started.%s"
                                    % (container["Name"].lstrip("/"), engine.logs([container["Id"]], lines)))
            argv = _rollout.probe_argv(container)
            if verdict == "healthy" or argv is None:
                continue
            try:
                passed = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False,
                                        timeout=_rollout.probe_timeout(container)).returncode == 0
            except subprocess.TimeoutExpired:
                passed = False
            if not passed:
                waiting.append(container)
        pending = waiting
        if pending and time.monotonic() >= deadline:
            raise RolloutFailed("%s did not pass its own healthcheck in time, before the app started.%s" % (
                ", ".join(c["Name"].lstrip("/") for c in pending), engine.logs([c["Id"] for c in pending], lines)))
        if pending:
            time.sleep(0.25)


def _create(engine, fresh, lines, ready_by=None):
    """Start the services of `fresh` ((spec, step) pairs, none of which has a container) in one `up`, and wait
    for all of them; returns service -> the IDs started. A failure names every service that is not healthy.
    With `ready_by` (a cold start, see O(wait_for)): the dependencies Compose would wait for until the engine
    reports them healthy are probed with their own healthchecks instead, then the new containers are created
    by Compose and started at once."""
    names = [spec["name"] for spec, _step in fresh]
    scales = []
    for spec, _step in fresh:
        scales += ["--scale", "%s=%d" % (spec["name"], spec["replicas"])]
    awaited = _rollout.awaited_dependencies(engine.config, names) if ready_by else None
    if awaited is None:
        engine.run(engine.compose + ["up", "--detach", "--no-recreate"] + scales + names,
                   "docker compose up %s" % " ".join(names))
    else:
        _ready(engine, awaited, ready_by, lines)
        engine.run(engine.compose + ["up", "--no-start", "--no-recreate"] + scales + names,
                   "docker compose up --no-start %s" % " ".join(names))
        created = [c["Id"] for own in _found(engine, names, "though Compose just created it").values() for c in own
                   if (c.get("State") or {}).get("Status") == "created"]
        if created:
            engine.run(["docker", "start"] + created, "docker start %s" % " ".join(names))
    found = dict((name, [c["Id"] for c in _rollout.service_containers(engine.containers(engine.project), name)])
                 for name in names)
    timeout = max(spec["health_timeout"] for spec, _step in fresh)
    if _wait(engine, [cid for ids in found.values() for cid in ids], timeout) != "healthy":
        sick = [name for name in names if _rollout.wait_verdict(engine.inspect(found[name])) != "healthy"]
        raise RolloutFailed("%s did not become healthy within %gs.%s" % (
            ", ".join(sick), timeout, engine.logs([cid for name in sick for cid in found[name]], lines)))
    return found


def _wait_for_started(engine, services, deadline, lines):
    """The services an earlier phase started without waiting (O(wait_for)): healthy by `deadline`, or fail naming
    those that are not, with their last log lines."""
    found = dict((name, [c["Id"] for c in containers]) for name, containers in
                 _found(engine, services, "though the infrastructure phase started it without waiting").items())
    ids = [cid for name in services for cid in found[name]]
    if _wait(engine, ids, max(0, deadline - time.monotonic())) != "healthy":
        verdicts = dict((name, _rollout.wait_verdict(engine.inspect(found[name]))) for name in services)
        sick = [name for name in services if verdicts[name] != "healthy"]
        raise RolloutFailed("%s (started without waiting by the infrastructure phase).%s"
                            % (_rollout.unhealthy_report(verdicts, services),
                               engine.logs([cid for name in sick for cid in found[name]], lines)))


def _write_candidate(app_file, private):
    """The candidate compose file: hidden beside the live one, or (check mode) in a directory of its own."""
    directory = tempfile.mkdtemp(prefix="compose-rollout-") if private else os.path.dirname(app_file["path"]) or "."
    handle, path = tempfile.mkstemp(prefix=".%s." % os.path.basename(app_file["path"]), suffix=".next",
                                    dir=directory)
    with os.fdopen(handle, "w") as out:
        out.write(app_file["content"])
    os.chmod(path, int(app_file["mode"], 8))
    return path


def _migration_due(migrate, steps, containers):
    actions = {"create": "create", "start-first": "recreate", "stop-first": "recreate"}
    rows = [{"service": step["service"], "action": actions.get(step["action"], "none")} for step in steps]
    if not any(row["service"] == migrate["before"] for row in rows):
        return False
    return _compose.migration_due(_compose.started(containers), rows, migrate["before"], migrate.get("database"))


# A service's drain period and stop grace period unless it sets its own (an orphan has none).
DRAIN = 5
GRACE = 10

# Steps that change something (a `wait` only waits for containers that already run as wanted).
CHANGES = ("create", "start-first", "stop-first", "converge", "remove")


def main():
    module = AnsibleModule(
        argument_spec=dict(
            project_dir=dict(type="path", required=True),
            project_name=dict(type="str", required=True),
            files=dict(type="list", elements="path", required=True),
            app_file=dict(type="dict", options=dict(
                path=dict(type="path", required=True),
                content=dict(type="str", required=True),
                mode=dict(type="str", default="0644"),
            )),
            migrate=dict(type="dict", options=dict(
                service=dict(type="str", required=True),
                before=dict(type="str", required=True),
                database=dict(type="str"),
                backup=dict(type="list", elements="str"),
            )),
            services=dict(type="list", elements="dict", required=True, options=dict(
                name=dict(type="str", required=True),
                replicas=dict(type="int", default=1),
                drain=dict(type="float", default=DRAIN),
                health_timeout=dict(type="float", default=180),
                grace=dict(type="int", default=GRACE),
            )),
            in_place=dict(type="list", elements="str"),
            wait_for=dict(type="dict", options=dict(
                services=dict(type="list", elements="str", required=True),
                timeout=dict(type="float", default=180),
            )),
            drain_marker=dict(type="path", default=_rollout.DRAIN_MARKER),
            throttle=dict(type="float", default=2),
            log_lines=dict(type="int", default=40),
        ),
        supports_check_mode=True,
    )
    params = module.params
    started_at = time.monotonic()
    for spec in params["services"]:
        if spec["replicas"] < 1:
            module.fail_json(msg="services: %s's replicas must be 1 or more" % spec["name"])
        for key in ("drain", "health_timeout"):
            if spec[key] <= 0:
                module.fail_json(msg="services: %s's %s must be a positive number of seconds" % (spec["name"], key))
    app_file = params["app_file"]
    before = None
    if app_file and os.path.exists(app_file["path"]):
        with open(app_file["path"]) as handle:
            before = handle.read()
    file_changed = bool(app_file) and before != app_file["content"]
    result = dict(changed=False, services=[], migration_due=False, migrated=False, file_changed=file_changed,
                  applied=not module.check_mode)
    if module.check_mode and not all(os.path.exists(path) for path in params["files"]):
        # A fresh host in check mode: the infrastructure phase has not written the project yet.
        result["services"] = [{"service": spec["name"], "action": "create", "why": "the project is not written yet",
                               "keep": [], "started": [], "retired": []} for spec in params["services"]]
        module.exit_json(**dict(result, changed=True, in_place=[]))
    engine = Engine(module, None)
    engine.project = params["project_name"]
    candidate, rows, undrained, begun = None, [], [], []
    try:
        if file_changed:
            candidate = _write_candidate(app_file, private=module.check_mode)
        live = [app_file["path"]] if app_file and not candidate and before is not None else []
        engine.compose = ["docker", "compose", "--project-directory", params["project_dir"], "--project-name",
                          params["project_name"]]
        for path in params["files"] + live + ([candidate] if candidate else []):
            engine.compose += ["-f", path]
        wanted = _wanted(engine, [spec["name"] for spec in params["services"]])
        containers = engine.containers(params["project_name"])
        steps = []
        for spec in params["services"]:
            config_hash, image_id, networks, published = wanted[spec["name"]]
            steps.append(_rollout.plan(spec["name"], containers, config_hash, image_id, spec["replicas"], networks,
                                       published))
        unannounced = [step["service"] for step in steps if step["action"] == "stop-first"
                       and params["in_place"] is not None and step["service"] not in params["in_place"]]
        if unannounced and not module.check_mode:
            raise RolloutFailed("%s would now be replaced in place, which the plan before did not say (its containers "
                                "changed since): nothing was stopped; run again" % ", ".join(unannounced))
        migrate = params["migrate"]
        if migrate and _migration_due(migrate, steps, containers):
            result["migration_due"] = True
            if not module.check_mode and migrate.get("backup"):
                rc, out, err = module.run_command(migrate["backup"])
                if rc != 0:
                    raise RolloutFailed("The backup before the migration failed (rc %d); nothing was migrated or "
                                        "changed:\n%s" % (rc, (out + err).strip()[-4000:]))
                try:
                    result["backup"] = json.loads(out)
                except ValueError:
                    result["backup"] = {"output": out.strip()[-4000:]}
            if not module.check_mode:
                rc, out, err = module.run_command(engine.compose + ["run", "--rm", "--no-deps", migrate["service"]])
                if rc != 0:
                    raise RolloutFailed("The migration (%s) failed (rc %d); nothing that runs or is rendered changed:\n%s"
                                        % (migrate["service"], rc, (out + err).strip()[-4000:]))
                result["migrated"] = "Running upgrade" in out + err
        # Services without any container (a first deploy, a stack brought down) have nothing serving to
        # protect: created together, in one `up`, and waited for together.
        created = {}
        fresh = [(spec, step) for spec, step in zip(params["services"], steps) if step["action"] == "create"]
        if fresh and not module.check_mode:
            created = _create(engine, fresh, params["log_lines"], ready_by=started_at + params["wait_for"]["timeout"]
                              if params["wait_for"] and params["wait_for"]["services"] else None)
        for spec, step in zip(params["services"], steps):
            row = {"service": spec["name"], "action": step["action"], "why": step["why"], "keep": step["keep"],
                   "started": created.get(spec["name"], []), "retired": step["retire"]}
            if not module.check_mode and step["action"] != "create":
                row["started"] = _apply(engine, step, spec, params["throttle"], params["log_lines"],
                                        params["drain_marker"], undrained, begun)
            rows.append(row)
        # Containers of app services no longer in the files (a service switched off): drained and removed.
        for name, ids in sorted(_rollout.orphans(containers, wanted["*"]).items()):
            rows.append({"service": name, "action": "remove", "why": "no longer a service", "keep": [],
                         "started": [], "retired": ids})
            if not module.check_mode:
                undrained += _retire(engine, ids, {"drain": DRAIN, "grace": GRACE}, params["throttle"],
                                     params["drain_marker"])
        # The core services a cold start brought up without waiting: healthy before the new file is live.
        if params["wait_for"] and params["wait_for"]["services"] and not module.check_mode:
            _wait_for_started(engine, params["wait_for"]["services"], started_at + params["wait_for"]["timeout"],
                              params["log_lines"])
        if file_changed and not module.check_mode:
            os.rename(candidate, app_file["path"])
            candidate = None
    except RolloutFailed as error:
        done = [row["service"] for row in rows if row["action"] in CHANGES]
        module.fail_json(msg=str(error) + ("\nAlready replaced in this run: %s (docker-compose file not updated)."
                                           % ", ".join(done) if done else ""),
                         services=rows, migrated=result["migrated"], file_changed=False, in_place_begun=begun,
                         applied=True)
    finally:
        if candidate and os.path.exists(candidate):
            os.unlink(candidate)
            if module.check_mode:
                os.rmdir(os.path.dirname(candidate))
    for name in undrained:
        module.warn("%s was stopped while the proxy may still have routed to it: its healthcheck did not fail on "
                    "the drain marker %s in time (a healthcheck of your own should test it)"
                    % (name, params["drain_marker"]))
    result.update(services=rows, changed=file_changed or result["migrated"]
                  or any(row["action"] in CHANGES for row in rows),
                  in_place=[row["service"] for row in rows if row["action"] == "stop-first"])
    if module._diff and result["changed"]:
        result["diff"] = [{"prepared": "".join("%s: %s (%s)\n" % (row["service"], row["action"], row["why"])
                                               for row in rows if row["action"] in CHANGES)}]
        if file_changed:
            result["diff"].append({"before_header": app_file["path"], "after_header": app_file["path"],
                                   "before": before or "", "after": app_file["content"]})
    module.exit_json(**result)


if __name__ == "__main__":
    main()
