#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: taylordash-ops developers
# MIT License

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: stack_health
short_description: Health of a taylordash host in one call - engine, plugins, images, services, endpoints
version_added: 0.1.0
description:
  - Reads the engine's version, the Compose and buildx plugins, the images the host should have, every
    service of the Compose project (state, health, published ports) and checks the endpoints through Traefik
    (status and response time), verifying TLS against O(trust_bundle).
  - An endpoint is requested on O(address) with its own host name for SNI, certificate and Host header (what
    C(curl --resolve) does); redirects are not followed, so an expected V(301) is checked as such.
  - The dashboard's basic-auth password is read from O(env_file) on the host and never returned.
  - Writes the report as JSON to O(report_file) (output of the run, not state; not in check mode, where it only
    reads) and returns
    the rows, the names of what fails and a text table. Never changes the stack; never fails by itself (the
    caller decides what unhealthy means).
author: taylordash-ops developers
options:
  project_dir:
    description: The Compose project's directory (C(docker compose --project-directory)).
    type: path
    required: true
  files:
    description: Compose files of the project, in order; those that do not exist are left out.
    type: list
    elements: path
    required: true
  images:
    description: Image references the host should have; each missing one is a failing row.
    type: list
    elements: str
    default: []
  endpoints:
    description:
      - 'Endpoint checks: V(name), V(url), V(expect) (HTTP status, default V(200)), V(auth) (send the
        dashboard credentials).'
      - Checked only when O(check_endpoints) is true.
    type: list
    elements: dict
    default: []
  check_endpoints:
    description: Check the endpoints (false on hosts that do not run Traefik).
    type: bool
    default: true
  app_file:
    description:
      - The app's Compose file. The endpoints are checked only once the app runs - this file exists, or
        O(apps_elsewhere) is true.
    type: path
  apps_elsewhere:
    description: The app runs on other hosts that this host's Traefik routes to.
    type: bool
    default: false
  address:
    description: Address the endpoint requests go to.
    type: str
    default: 127.0.0.1
  trust_bundle:
    description: CA file TLS is verified against; empty for the system's CAs.
    type: str
    default: ""
  timeout:
    description: Seconds each endpoint check may take.
    type: int
    default: 10
  auth_user:
    description: Basic-auth user for endpoints with V(auth).
    type: str
    default: admin
  backup_status:
    description:
      - The backup service's C(status.json) on this host (it runs here); a row says how old the last successful
        backup is, failing when older than twice O(backup_interval), after a grace period of as long from the
        service's first start.
    type: path
  backup_interval:
    description: Seconds between scheduled backups (taylordash_backup_schedule).
    type: int
    default: 86400
  env_file:
    description: The project's C(.env); its C(TRAEFIK_DASHBOARD_PASSWORD) is the basic-auth password.
    type: path
  report_file:
    description: Where the JSON report is written (its directory is created).
    type: path
  host:
    description: Name of this host in the report.
    type: str
    default: ""
attributes:
  check_mode:
    support: full
    details: Reads as in a normal run; only the report file is not written.
  diff_mode:
    support: none
  idempotent:
    support: full
    details: Reports C(changed=false) always; the report file is output, not state.
"""

EXAMPLES = r"""
- name: Check the stack on this host
  taylordash.ops.stack_health:
    project_dir: /opt/taylordash
    files: [/opt/taylordash/docker-compose.yml, /opt/taylordash/docker-compose.app.yml]
    images: [taylordash/postgres:17]
    endpoints:
      - {name: https-api, url: "https://taylordash.local/api/health", expect: 200}
      - {name: dashboard-auth, url: "https://traefik.taylordash.local/api/overview", expect: 200, auth: true}
    trust_bundle: /opt/taylordash/pki/ca.crt
    env_file: /opt/taylordash/.env
    report_file: /opt/taylordash/reports/health.json
  register: health
"""

RETURN = r"""
healthy:
  description: Whether every row is ok.
  returned: always
  type: bool
  sample: true
failing:
  description: Names of the rows that are not ok.
  returned: always
  type: list
  elements: str
  sample: [mosquitto]
rows:
  description: One row per plugin, image, service and endpoint.
  returned: always
  type: list
  elements: dict
  sample: [{name: postgres, kind: service, state: running, health: healthy, ports: [], ok: true, detail: Up}]
images:
  description: The images of O(images) this host has and those it lacks (each missing one is also a failing row).
  returned: always
  type: dict
  sample: {present: [taylordash/postgres:17], missing: []}
engine:
  description: The engine's version and storage driver, and the plugins' versions (V(MISSING) when absent).
  returned: always
  type: dict
  sample: {server: 20.10.24, driver: overlay2, compose: 2.26.1, buildx: v0.13.1}
table:
  description: The report as fixed-width text lines.
  returned: always
  type: list
  elements: str
"""

import json
import os
import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.taylordash.ops.plugins.module_utils import _health
from ansible_collections.taylordash.ops.plugins.module_utils._envfile import EnvFileError, parse_env


def _run(module, argv):
    rc, out, err = module.run_command(argv)
    return rc, out, err


def _engine(module):
    # One call for both (docker info answers the server's version too).
    rc, out, err = _run(module, ["docker", "info", "--format", "{{.ServerVersion}} {{.Driver}}"])
    words = out.split() if rc == 0 else []
    info = {"server": words[0] if words else "UNREACHABLE", "driver": words[1] if len(words) > 1 else "?"}
    rows = []
    for plugin, argv in (("compose", ["docker", "compose", "version", "--short"]),
                         ("buildx", ["docker", "buildx", "version"])):
        rc, out, err = _run(module, argv)
        version = out.strip().split()[1] if plugin == "buildx" and rc == 0 and len(out.split()) > 1 else out.strip()
        info[plugin] = version if rc == 0 else "MISSING"
        if rc != 0:
            rows.append({"name": plugin + "-plugin", "kind": "service", "state": "missing", "health": "-",
                         "ports": [], "ok": False, "detail": (err or out).strip()[-200:]})
    return info, rows


def _images(module, refs):
    """Which of `refs` the engine has, from one listing (not one inspect per image)."""
    if not refs:
        return {"present": [], "missing": []}, []
    rc, out, err = _run(module, ["docker", "image", "ls", "--format", "{{.Repository}}:{{.Tag}}"])
    have = set(out.split()) if rc == 0 else set()
    images = _health.image_presence(refs, have)
    rows = [{"name": ref, "kind": "service", "state": "missing", "health": "-", "ports": [], "ok": False,
             "detail": "image not on this host"} for ref in images["missing"]]
    return images, rows


def main():
    module = AnsibleModule(
        argument_spec=dict(
            project_dir=dict(type="path", required=True),
            files=dict(type="list", elements="path", required=True),
            images=dict(type="list", elements="str", default=[]),
            endpoints=dict(type="list", elements="dict", default=[]),
            check_endpoints=dict(type="bool", default=True),
            app_file=dict(type="path"),
            apps_elsewhere=dict(type="bool", default=False),
            address=dict(type="str", default="127.0.0.1"),
            trust_bundle=dict(type="str", default=""),
            timeout=dict(type="int", default=10),
            auth_user=dict(type="str", default="admin"),
            env_file=dict(type="path"),
            backup_status=dict(type="path"),
            backup_interval=dict(type="int", default=86400),
            report_file=dict(type="path"),
            host=dict(type="str", default=""),
        ),
        supports_check_mode=True,
    )
    p = module.params
    for index, check in enumerate(p["endpoints"]):
        if not check.get("name") or not str(check.get("url", "")).startswith(("http://", "https://")):
            module.fail_json(msg="endpoints[%d] needs a name and an http:// or https:// url: %r" % (index, check))
    if p["check_endpoints"] and p["trust_bundle"] and not os.path.isfile(p["trust_bundle"]):
        module.fail_json(msg="trust_bundle=%s: no such file on %s (health_trust_bundle)"
                         % (p["trust_bundle"], p["host"] or "this host"))

    engine, rows = _engine(module)
    images, image_rows = _images(module, p["images"])
    rows += image_rows
    if p["files"] and not os.path.isfile(p["files"][0]):
        rows.append({"name": os.path.basename(p["files"][0]), "kind": "service", "state": "missing", "health": "-",
                     "ports": [], "ok": False, "detail": "no %s: nothing deployed here yet" % p["files"][0]})
    files = [path for path in p["files"] if os.path.isfile(path)]
    compose = ["docker", "compose", "--project-directory", p["project_dir"]]
    for path in files:
        compose += ["-f", path]
    expected, items = [], []
    if files:
        rc, out, err = _run(module, compose + ["config", "--services"])
        if rc != 0:
            module.fail_json(msg="docker compose config failed in %s: %s" % (p["project_dir"], err.strip()))
        expected = [line for line in out.splitlines() if line.strip()]
        rc, out, err = _run(module, compose + ["ps", "--all", "--format", "json"])
        if rc != 0:
            module.fail_json(msg="docker compose ps failed in %s: %s" % (p["project_dir"], err.strip()))
        items = _health.parse_ps(out.splitlines())
    rows += _health.service_rows(items, expected)

    app_runs = p["apps_elsewhere"] or not p["app_file"] or os.path.isfile(p["app_file"])
    if p["check_endpoints"] and app_runs and p["endpoints"]:
        credentials = None
        if any(check.get("auth") for check in p["endpoints"]):
            try:
                with open(p["env_file"] or os.path.join(p["project_dir"], ".env")) as handle:
                    password = parse_env(handle.read()).get("TRAEFIK_DASHBOARD_PASSWORD", "")
            except (IOError, OSError, EnvFileError) as exc:
                module.fail_json(msg="cannot read the dashboard password: %s" % exc)
            if password:
                module.no_log_values.add(password)
                credentials = "%s:%s" % (p["auth_user"], password)
        try:
            context = _health.tls_context(p["trust_bundle"])
        except (IOError, OSError, ValueError) as exc:
            module.fail_json(msg="trust_bundle=%s is not a CA file this host can read: %s (health_trust_bundle)"
                             % (p["trust_bundle"], exc))
        for check in p["endpoints"]:
            if check.get("auth") and not credentials:
                rows.append(_health.endpoint_row(check, 0, None, "no TRAEFIK_DASHBOARD_PASSWORD in the .env file"))
                continue
            rows.append(_health.check_endpoint(check, p["address"], p["timeout"], context,
                                               credentials if check.get("auth") else None))

    if p["backup_status"]:
        status = None
        try:
            with open(p["backup_status"]) as handle:
                status = json.load(handle)
        except (IOError, OSError, ValueError):
            first = os.path.join(os.path.dirname(p["backup_status"]), ".first-start")
            if os.path.isfile(first):
                status = {"first_start": os.path.getmtime(first)}
        rows.append(_health.backup_row(status, p["backup_interval"], time.time()))

    failing = [row["name"] for row in rows if not row["ok"]]
    report = {"host": p["host"], "healthy": not failing, "failing": failing, "engine": engine, "images": images,
              "checks": rows}
    if p["report_file"] and not module.check_mode:
        directory = os.path.dirname(p["report_file"])
        if directory and not os.path.isdir(directory):
            os.makedirs(directory, 0o755)
        temp = p["report_file"] + ".tmp"
        with open(temp, "w") as handle:
            json.dump(report, handle, indent=2, sort_keys=True)
            handle.write("\n")
        os.chmod(temp, 0o644)
        os.rename(temp, p["report_file"])
    module.exit_json(changed=False, healthy=not failing, failing=failing, rows=rows, engine=engine,
                     images=images, table=_health.table(rows).split("\n"))


if __name__ == "__main__":
    main()
