"""Least privilege on the running stack: every container of the project is inspected on the real engine and
held to its row of the README's privilege table (generated from the catalogue; a unit test keeps the two
equal), and its main process to what the kernel says it really has."""

import json
import re
import sys

from conftest import ROOT, sh

sys.path.insert(0, str(ROOT / "collections"))
sys.path.insert(0, str(ROOT / "tests" / "unit"))
sys.path.insert(0, str(ROOT / "tests" / "unit" / "plugins" / "module_utils"))
from test__catalogue import DEFAULTS, SHIPPED, _rendered  # noqa: E402  (the shipped catalogue, rendered as Ansible does)
from ansible_collections.taylordash.ops.plugins.module_utils import _catalogue  # noqa: E402

# The catalogue as the test stack renders it (the build image source: one row differs from the README's,
# which shows the default registry source; a unit test keeps the README's table the catalogue's).
BUILD = _rendered(DEFAULTS["taylordash_services"], taylordash_image_source="build", taylordash_minio_enabled=False,
                  taylordash_grafana_enabled=False)

# What the shared test stack runs (MinIO and Grafana are off: no image of theirs offline).
RUNNING = {"traefik", "socket-proxy", "postgres", "mosquitto", "victoriametrics", "prometheus", "alertmanager",
           "node-exporter", "postgres-exporter", "backup", "backend", "frontend", "heal-proxy", "autoheal"}
SIZES = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30}


def readme_table():
    """service -> its row of the privilege table (the README's, generated from the catalogue as the build source
    renders it): user, capabilities, read-only root, tmpfs, memory, cpus, pids."""
    table = _catalogue.privilege_table(BUILD)
    rows = {}
    for line in table.splitlines()[2:]:
        if not line.startswith("| "):
            continue
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        rows[cells[0]] = dict(zip(("user", "caps", "read_only", "tmpfs", "memory", "cpus", "pids"), cells[1:]))
    return rows


def containers():
    """service -> `docker inspect` of each running container of the project (the catalogue's services)."""
    ids = sh("docker", "ps", "-q", "--filter", "label=com.docker.compose.project=taylordash").stdout.split()
    found = {}
    for state in json.loads(sh("docker", "inspect", *ids).stdout):
        service = state["Config"]["Labels"].get("com.docker.compose.service")
        if service in SHIPPED:
            found.setdefault(service, []).append(state)
    return found


def process_status(pid):
    """The Uid, Gid, CapEff, CapBnd and NoNewPrivs lines of /proc/<pid>/status (the kernel's word)."""
    with open("/proc/%d/status" % pid) as handle:
        lines = dict(line.split(":", 1) for line in handle.read().splitlines() if ":" in line)
    return {key: lines[key].split() for key in ("Uid", "Gid", "CapEff", "CapBnd", "NoNewPrivs")}


def test_every_container_holds_its_row_of_the_privilege_table(stack):
    table, running = readme_table(), containers()
    assert RUNNING <= set(running), "not running: %s" % sorted(RUNNING - set(running))
    assert set(running) <= set(table), "running without a row in the table: %s" % sorted(set(running) - set(table))
    problems = []
    for service, states in sorted(running.items()):
        row, entry = table[service], BUILD[service]
        uid, gid = row["user"].split()[0].split(":")
        for state in states:
            host, config = state["HostConfig"], state["Config"]
            name = state["Name"].lstrip("/")
            seen = {
                "user": config["User"],
                "cap_drop": host["CapDrop"],
                "cap_add": host["CapAdd"] or [],
                "read_only": host["ReadonlyRootfs"],
                "no_new_privileges": "no-new-privileges:true" in (host["SecurityOpt"] or []),
                "tmpfs": sorted(host.get("Tmpfs") or {}),
                "memory": host["Memory"],
                "nano_cpus": host["NanoCpus"],
                "pids": host["PidsLimit"],
            }
            size = re.fullmatch(r"([0-9]+)([kmg])", row["memory"])
            wanted = {
                "user": "%s:%s" % (uid, gid),
                "cap_drop": ["ALL"],
                "cap_add": [] if row["caps"] == "ALL dropped" else row["caps"].split(", ", 1)[1][:-len(" added")].split(", "),
                "read_only": row["read_only"] == "yes",
                "no_new_privileges": True,
                "tmpfs": [] if row["tmpfs"] == "none" else sorted(row["tmpfs"].split(", ")),
                "memory": int(size.group(1)) * SIZES[size.group(2)],
                "nano_cpus": int(round(float(row["cpus"]) * 1e9)),
                "pids": int(row["pids"]),
            }
            problems += ["%s: %s is %r, the table says %r" % (name, key, seen[key], wanted[key])
                         for key in wanted if seen[key] != wanted[key]]
            # The kernel's view of its main process: the uid it runs as, no capability at all, no new privileges.
            status = process_status(state["State"]["Pid"])
            if status["Uid"][:2] != [uid, uid] or status["Gid"][:2] != [gid, gid]:
                problems.append("%s: its process runs as uid %s gid %s" % (name, status["Uid"], status["Gid"]))
            if int(status["CapEff"][0], 16) or int(status["CapBnd"][0], 16):
                problems.append("%s: its process holds capabilities %s (bounding %s)"
                                % (name, status["CapEff"][0], status["CapBnd"][0]))
            if status["NoNewPrivs"] != ["1"]:
                problems.append("%s: no_new_privs is not set on its process" % name)
            if uid == "0" and not entry.get("root"):
                problems.append("%s runs as root with no reason in the catalogue" % name)
    assert problems == [], "\n".join(problems)
    # Traefik, facing the internet, is not root, and still serves on 443.
    assert table["traefik"]["user"].split(":")[0] != "0"
    assert sh("curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "--resolve", "taylordash.local:443:127.0.0.1",
              "--cacert", "/opt/taylordash/pki/ca.crt", "https://taylordash.local/api/health").stdout == "200"


def test_a_container_cannot_write_its_root_filesystem_or_gain_privileges(stack):
    """A probe inside the backend (the app, which answers the internet through Traefik) and inside Traefik."""
    for service, shell in (("backend", ["python3", "-c"]), ("traefik", None)):
        ident = sh("docker", "ps", "-q", "--filter", "label=com.docker.compose.project=taylordash", "--filter",
                   "label=com.docker.compose.service=" + service).stdout.split()[0]
        if shell:
            probe = ("import os\ntry:\n    open('/etc/probe', 'w')\n    print('wrote')\nexcept OSError as e:\n"
                     "    print('refused', e.errno)\nopen('/tmp/probe', 'w').write('ok')\nprint(os.getuid())")
            out = sh("docker", "exec", ident, *shell, probe).stdout.split("\n")
            assert out[0] == "refused 30", out  # EROFS: the root filesystem is read-only
            assert out[1] != "0", out
        else:
            proc = sh("docker", "exec", ident, "sh", "-c", "id -u; touch /etc/probe", check=False)
            assert proc.stdout.split()[0] != "0", proc.stdout
            assert proc.returncode != 0 and "Read-only file system" in proc.stderr, proc.stderr
