"""Helpers for end-to-end tests: real ansible-playbook runs against localhost."""

import json
import os
import re
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
RECAP = re.compile(r"^(\S+)\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.M)


class Run:
    def __init__(self, proc):
        self.rc = proc.returncode
        self.out = proc.stdout

    @property
    def recap(self):
        found = {m.group(1): {"ok": int(m.group(2)), "changed": int(m.group(3)), "unreachable": int(m.group(4)),
                             "failed": int(m.group(5))}
                 for m in RECAP.finditer(self.out)}
        assert found, "no PLAY RECAP in output:\n" + self.out[-3000:]
        return found

    @property
    def changed(self):
        return sum(host["changed"] for host in self.recap.values())

    def __repr__(self):
        return "rc=%s\n%s" % (self.rc, self.out[-4000:])


def ansible_env():
    env = dict(os.environ)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env["ANSIBLE_CONFIG"] = str(ROOT / "ansible.cfg")
    env["ANSIBLE_NOCOLOR"] = "1"
    env["ANSIBLE_FORCE_COLOR"] = "0"
    return env


STACK_VARS = ROOT / "tests" / "e2e" / "stack-vars.yml"


def playbook(*args, extra_vars=None, timeout=1800, stack_vars=True):
    """Run ansible-playbook against localhost. The settings of the shared test stack
    (stack-vars.yml) come first, so every run keeps that one stack as it is."""
    cmd = ["ansible-playbook", *args]
    if stack_vars:
        cmd += ["-e", "@" + str(STACK_VARS)]
    if extra_vars is not None:
        cmd += ["-e", json.dumps(extra_vars)]
    started = time.monotonic()
    proc = subprocess.run(cmd, cwd=ROOT, env=ansible_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, timeout=timeout, check=False)
    _runs.append((os.environ.get("PYTEST_CURRENT_TEST", "?").rsplit(" ", 1)[0], time.monotonic() - started,
                  " ".join([arg for arg in args if not arg.startswith("/tmp")] + sorted(extra_vars or {})),
                  proc.returncode))
    return Run(proc)


def redeploy(*args, extra_vars=None, name="deploy-prod.yml", tags=None):
    """The deploy playbook for tests that change one phase's variables on the shared stack: only that
    phase (`tags`, plus the always-run checks), or everything but the engine and images phases.
    Full runs (second run changed=0, check mode) stay in each phase's own tests."""
    selection = ["--tags", tags] if tags else ["--skip-tags", "engine,images"]
    return playbook(name, *selection, *args, extra_vars=extra_vars)


def sh(*cmd, check=True):
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, check=False)
    if check:
        assert proc.returncode == 0, "%s failed: %s" % (cmd, proc.stderr)
    return proc


def image_id(ref):
    """The ID of the image `ref` names on the engine, or None when there is none."""
    proc = sh("docker", "image", "inspect", "--format", "{{.Id}}", ref, check=False)
    return proc.stdout.strip() if proc.returncode == 0 else None


@pytest.fixture(scope="session")
def engine():
    """The real engine must answer; the tests never mock it."""
    info = sh("docker", "info", "--format", "{{json .ServerVersion}}")
    return json.loads(info.stdout)


# The images the engine's images phase builds (or keeps) on a no-op: base, runtime and two services.
IMAGES = ["taylordash/debian:13", "taylordash/python:3.13", "taylordash/mosquitto:2.0", "taylordash/postgres:17"]


@pytest.fixture(scope="session")
def mosquitto_rebuilt(engine):
    """The images phase alone (--tags images) rebuilds mosquitto with a changed build argument, then with its own
    inputs again: the build in between dangles. Built once for the two tests that read it (which images a changed
    input rebuilds; cleanup removes only the dangling images it built)."""
    before = {ref: image_id(ref) for ref in IMAGES}
    one = [{"name": "mosquitto", "from": ["base"], "args": {"TEST_ONLY_ARG": uuid.uuid4().hex}}]
    changed = playbook("deploy-prod.yml", "--tags", "images", extra_vars={"images_builds": one})
    after = {ref: image_id(ref) for ref in IMAGES}
    restored = playbook("deploy-prod.yml", "--tags", "images")
    return {"before": before, "changed": changed, "after": after, "restored": restored,
            "now": {ref: image_id(ref) for ref in IMAGES}}


DEPLOY_DIR = Path("/opt/taylordash")
PROJECT = "taylordash"


def compose(*args, check=True):
    """docker compose on the deployed project: docker-compose.yml, and the app's file when it is deployed."""
    files = [DEPLOY_DIR / "docker-compose.yml", DEPLOY_DIR / "docker-compose.app.yml"]
    flags = [arg for path in files if path.exists() for arg in ("-f", str(path))]
    return sh("docker", "compose", "--project-directory", str(DEPLOY_DIR), *flags, *args, check=check)


def read_env(path=None):
    """The deployed .env as a dict (values are single-quoted by the env_file module)."""
    values = {}
    for line in Path(path or DEPLOY_DIR / ".env").read_text().splitlines():
        if line and not line.startswith("#") and "=" in line:
            key, value = line.split("=", 1)
            values[key] = value[1:-1] if value[:1] == value[-1:] == "'" else value
    return values


def subscribe_once(topic, wait=30):
    """A real MQTT subscriber (mosquitto_sub in the broker's container, as the app's user) that exits after
    one message on topic; returns the process (stdout: the message). Give it a moment to subscribe."""
    env = read_env()
    return subprocess.Popen(["docker", "exec", container_ids()["mosquitto"], "mosquitto_sub", "-h", "127.0.0.1",
                             "-u", env["MQTT_USERNAME"], "-P", env["MQTT_PASSWORD"], "-t", topic, "-C", "1",
                             "-W", str(wait)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def container_ids(project=PROJECT):
    """service -> container ID of the project's containers (running or not)."""
    out = sh("docker", "ps", "-a", "--filter", "label=com.docker.compose.project=" + project,
             "--format", '{{.Label "com.docker.compose.service"}} {{.ID}}').stdout
    return dict(line.split() for line in out.splitlines() if line.strip())


@pytest.fixture(scope="session")
def stack(engine):
    """The one deployed stack every infrastructure (and later phase) test shares."""
    run = playbook("deploy-prod.yml")
    assert run.rc == 0, run
    return run


# The files run in this order, not alphabetically: the engine and images first,
# then everything on the one production stack, and last the development
# workflow (deploy-dev.yml switches the stack to development).
ORDER = ["test_collection_build", "test_ci_outputs", "test_docker_ce_source", "test_engine_and_images",
         "test_registry_pull", "test_seed_harness", "test_cleanup", "test_cleanup_dev_servers",
         "test_docker_user_firewall", "test_bad_input",
         "test_infrastructure", "test_application", "test_security", "test_proxy", "test_browser", "test_health", "test_acme", "test_compose_recovery", "test_faults", "test_zero_downtime", "test_backup", "test_audit", "test_rotation",
         "test_playbooks",
         "test_lock", "test_multihost", "test_dev"]


# The extended tier: `make e2e-extended` runs these, `make test` (CI, 90 minutes on two cores, where every
# ansible-playbook run takes most of a core) does not. Each is a variant whose mechanism a test of the CI tier
# also drives (the deploy, the lock, the start-first rollout, a backup and its restore, the proxy's PKI), or
# the slowest flows on several hosts. The README's "Tests" lists them and why.
EXTENDED = {
    # Four Docker-in-Docker hosts on two cores (each deploy ships about 3 GB of images to them): the whole
    # module. The single-host tests drive the same roles; what only several hosts have (placement, shipping,
    # file-provider routes, the backup copied over SSH) runs here.
    "test_multihost.py": ["test_"],
    # Backups: the CI tier keeps the schedule, backup and restore through the API, the refusals (corrupted,
    # encrypted, unconfirmed), retention and the alert.
    "test_backup.py": ["lost_volume", "copied_to_s3", "postgresql_15_volume", "old_stacks_database",
                       "rollback_names_the_backup"],
    "test_infrastructure.py": ["row_survives_compose_down", "failing_service_is_named"],
    "test_proxy.py": ["pki_is_left_alone"],
    "test_cleanup_dev_servers.py": ["listen_ports_facts_lacks"],
    "test_registry_pull.py": ["pull_through_the_mirror"],
    "test_zero_downtime.py": ["env_value_that_reaches_the_backend"],
}
TIER = os.environ.get("TAYLORDASH_E2E_TIER", "ci")  # ci, extended or all


# CI's budget, from the issues' texts: the redesign (issue 12) brings the whole run under 35 minutes; each later
# issue's tests may add the minutes it states on top (70 in all). The tests each later issue added, by file or by
# name (a test of an older file that a later issue added); every other test, and every stage but e2e, counts as
# the redesign's. test_rotation also carries the checks of an .env change with the app phase in the run, which
# issue 16's TLS between hosts brought (bc1864c). .ci/run prints each share against its budget
# (reports/ci-budget-e2e.json).
BUDGET_MINUTES = {12: 35, 13: 8, 14: 12, 15: 5, 16: 10}
LATER_ISSUES = {
    13: {"test_zero_downtime.py": ["test_"]},
    14: {"test_backup.py": ["test_"], "test_infrastructure.py": ["unfinished_postgres_upgrade"]},
    15: {"test_audit.py": ["test_"]},
    16: {"test_security.py": ["test_"], "test_faults.py": ["test_"], "test_rotation.py": ["test_"],
         "test_acme.py": ["acme_storage_that_root_owns"], "test_docker_user_firewall.py": ["the_guard_puts"],
         "test_proxy.py": ["pki_is_left_alone"]},
}


def issue_of(nodeid):
    """The issue whose budget a test's time counts against (12: the redesign and everything before it)."""
    path, _, name = nodeid.partition("::")
    for issue, files in LATER_ISSUES.items():
        if any(part in name for part in files.get(Path(path).name, [])):
            return issue
    return 12


def extended(item):
    return any(part in item.name for part in EXTENDED.get(Path(str(item.fspath)).name, []))


def pytest_collection_modifyitems(session, config, items):
    def rank(item):
        name = item.module.__name__.rsplit(".", 1)[-1]
        return ORDER.index(name) if name in ORDER else len(ORDER)
    items.sort(key=rank)  # stable: the order inside each file is kept
    if TIER == "all":
        return
    keep = [item for item in items if extended(item) == (TIER == "extended")]
    dropped = [item for item in items if item not in keep]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = keep
        print("\ne2e tier %s: %d tests; %d of the %s tier left out (TAYLORDASH_E2E_TIER=all runs both)"
              % (TIER, len(keep), len(dropped), "ci" if TIER == "extended" else "extended"))


# `make test` keeps every test's time, slowest first (setup, call and teardown together, so a shared
# fixture counts where it is first built) in reports/slowest-e2e.txt; .ci/run prints it.
SLOWEST = ROOT / "reports" / "slowest-e2e.txt"
# And every ansible-playbook run (test, seconds, arguments, rc), in the order they ran: how much of a test's
# time is the playbooks it runs, and which runs a change could save.
RUNS = ROOT / "reports" / "playbook-runs-e2e.txt"
# And the e2e seconds of each issue's tests (issue_of), for .ci/run's budget lines.
BUDGET = ROOT / "reports" / "ci-budget-e2e.json"
_durations = {}
_runs = []


def pytest_runtest_logreport(report):
    _durations[report.nodeid] = _durations.get(report.nodeid, 0.0) + report.duration


def pytest_sessionfinish(session, exitstatus):
    if not _durations:
        return
    SLOWEST.parent.mkdir(parents=True, exist_ok=True)
    ranked = sorted(_durations.items(), key=lambda item: -item[1])
    total = sum(_durations.values())
    lines = ["%8.1fs  %s" % (seconds, nodeid) for nodeid, seconds in ranked]
    SLOWEST.write_text("%d tests, %.0fs in all, slowest first:\n%s\n" % (len(ranked), total, "\n".join(lines)))
    shares = {}
    for nodeid, seconds in _durations.items():
        share = shares.setdefault(issue_of(nodeid), {"seconds": 0.0, "tests": 0})
        share["seconds"] += seconds
        share["tests"] += 1
    BUDGET.write_text(json.dumps({"budget_minutes": BUDGET_MINUTES, "e2e": shares}, indent=1) + "\n")
    RUNS.write_text("%d ansible-playbook runs, %.0fs in all:\n%s\n" % (
        len(_runs), sum(run[1] for run in _runs),
        "\n".join("%7.1fs rc=%s  %s  [%s]" % (seconds, rc, args, test) for test, seconds, args, rc in _runs)))
