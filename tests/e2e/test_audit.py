"""audit.yml on the audited host's layout, then on the same host once cleanup.yml and deploy-prod.yml fixed it.

The layout: the seed harness's dev servers (three backends, two of them on 8000; six vite servers with the
main frontend's duplicates; the decoys of another project), a `taylordashv1` compose project, configuration
files that double-book 9001 (MinIO's console in the compose file, Mosquitto's websockets in mosquitto.conf)
and repeat the database password in three files, the audit's default API key, and a native listener on
PostgreSQL's port."""

import json
import shutil
import socket
import subprocess
import sys
import textwrap
import uuid

import pytest

import seed as seedlib
from conftest import ROOT, playbook, sh

ARTIFACTS = ROOT / "tests" / "e2e" / "artifacts"
# Random per run: finding it in a report or an output is a leak, not a coincidence.
PASSWORD = "v1-db-" + uuid.uuid4().hex
DEV_KEY = "taylordash-dev-key"
V1_COMPOSE = """\
name: taylordashv1
services:
  minio:
    image: taylordash/python:3.13
    command: [python3, -m, http.server, "9001"]
    ports: ["127.0.0.1:9001:9001"]
    environment:
      POSTGRES_PASSWORD: {password}
"""
# A distribution's PostgreSQL as the kernel names it (comm `postgres`), on its port, outside Docker.
NATIVE = textwrap.dedent("""
    import ctypes, socket, sys, time
    ctypes.CDLL(None).prctl(15, b"postgres", 0, 0, 0)  # PR_SET_NAME
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", 5432))
    s.listen(1)
    print("listening", flush=True)
    time.sleep(float(sys.argv[1]))
""")


def _free(port):
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) != 0


@pytest.fixture(scope="module")
def audited(stack, tmp_path_factory):
    """The audited host's layout on this machine (everything on loopback); removed at the end."""
    base = tmp_path_factory.mktemp("audited")
    assert _free(5432) and _free(9001), "5432 or 9001 is taken on loopback"
    started = seedlib.start(base)
    root = started.root
    (root / ".env").write_text("POSTGRES_PASSWORD=%s\nAPI_KEY=%s\nMINIO_CONSOLE_PORT=9001\n" % (PASSWORD, DEV_KEY))
    (root / "docker-compose.yml").write_text(V1_COMPOSE.format(password=PASSWORD))
    (root / "mosquitto").mkdir()
    (root / "mosquitto" / "mosquitto.conf").write_text("listener 1883\nlistener 9001\nprotocol websockets\n")
    (root / "backend" / ".env").write_text(
        "DATABASE_URL=postgresql://taylordash:%s@localhost:5432/taylordash\n" % PASSWORD)
    v1 = ["docker", "compose", "--project-directory", str(root), "-f", str(root / "docker-compose.yml")]
    native = None
    try:
        sh(*v1, "up", "-d", "--wait")
        native = subprocess.Popen([sys.executable, "-c", NATIVE, "900"], stdout=subprocess.PIPE, text=True, cwd="/")
        assert native.stdout.readline().strip() == "listening"
        reports = base / "reports"
        yield {"seed": started, "root": root, "reports": reports, "vars": {
            "taylordash_project_root": str(root), "audit_scan_roots": [str(root)],
            "audit_report_dir": str(reports / "before"),
            "audit_fingerprint_key_file": str(base / "fingerprint.key")}}
    finally:
        if native is not None:
            native.kill()
            native.wait(timeout=10)
        sh(*v1, "down", "--remove-orphans", check=False)
        started.stop()


def report_of(directory, host="localhost"):
    report = json.loads((directory / "inventory.json").read_text())
    return report, report["hosts"][host]


def by_id(host_report):
    return {finding["id"]: finding for finding in host_report["findings"]}


def assert_no_secret_in(directory, *outputs):
    for path in directory.rglob("*"):
        if path.is_file():
            text = path.read_text(errors="replace")
            assert PASSWORD not in text and DEV_KEY not in text, path
            assert oct(path.stat().st_mode & 0o777) == "0o640", path
    for out in outputs:
        assert PASSWORD not in out and DEV_KEY not in out


def test_the_report_lists_the_chaos_by_fingerprint_and_changes_nothing(audited):
    before = audited["reports"] / "before"
    run = playbook("audit.yml", "-v", extra_vars=audited["vars"])
    assert run.rc == 0, run
    assert run.changed == 0, run
    report, host = report_of(before)
    found = by_id(host)
    root = audited["root"]

    # Duplicate servers of one app: critical; the strays are named by port.
    assert found["duplicate-dev-server:backend"]["severity"] == "critical"
    assert found["duplicate-dev-server:frontend"]["severity"] == "critical"
    assert "mcp-manager" not in " ".join(i for i in found if i.startswith("duplicate-dev-server"))
    assert {5176, 5178} <= {w.get("port") for w in found["duplicate-dev-server:frontend"]["where"]}
    # The 9001 clash: the old project's compose file (and its container) against mosquitto.conf.
    clash = found["double-booked-port:9001"]
    assert clash["severity"] == "critical"
    assert str(root / "mosquitto" / "mosquitto.conf") in json.dumps(clash["where"])
    # The password in three files, by file, line, key and one fingerprint; the default API key.
    (repeated,) = [f for i, f in found.items() if i.startswith("repeated-credential:")]
    assert repeated["severity"] == "critical"
    paths = {w["path"] for w in repeated["where"]}
    assert paths == {str(root / ".env"), str(root / "docker-compose.yml"), str(root / "backend" / ".env")}
    assert len({w["fingerprint"] for w in repeated["where"]}) == 1
    assert all(w["fingerprint"].startswith("hmac-sha256:") and w.get("line") for w in repeated["where"])
    assert any(i.startswith("known-default-secret:") and f["severity"] == "critical" and "API_KEY" in json.dumps(f)
               for i, f in found.items())
    # PostgreSQL's port held outside Docker.
    assert found["native-service:postgres"]["severity"] == "warning"
    # The decoys are listed, never as ours.
    decoy_pids = {d["pid"] for d in audited["seed"].decoys}
    listed = {p["pid"]: p for p in host["facts"]["processes"]}
    assert decoy_pids <= set(listed) and not any(listed[pid]["ours"] for pid in decoy_pids)
    assert report["summary"]["critical"] >= 5
    assert_no_secret_in(before, run.out)

    # Check mode changes nothing on the host and still writes the report; a gate fails the run.
    checked = playbook("audit.yml", "--check", extra_vars=dict(audited["vars"], audit_report_dir=str(
        audited["reports"] / "checked")))
    assert checked.rc == 0 and checked.changed == 0, checked
    assert (audited["reports"] / "checked" / "inventory.md").exists()
    gated = playbook("audit.yml", extra_vars=dict(audited["vars"], audit_fail_on="critical",
                                                   audit_report_dir=str(audited["reports"] / "gated")))
    assert gated.rc != 0 and "(audit_fail_on)" in " ".join(gated.out.split()), gated

    # The Markdown is shaped like the original audit; the HTML page shows the same in a browser.
    markdown = (before / "inventory.md").read_text()
    for section in ("Summary", "Critical", "Docker", "Port", "Environment", "Recommendations"):
        assert section in markdown, section
    assert "ansible-playbook cleanup.yml" in markdown
    page = subprocess.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--dump-dom",
                           (before / "inventory.html").as_uri()], capture_output=True, text=True, timeout=120,
                          check=False)
    assert page.returncode == 0, page.stderr[-2000:]
    assert "duplicate" in page.stdout.lower() and "backend" in page.stdout and "9001" in page.stdout
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / "audit-report.png"
    taken = subprocess.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--window-size=1280,2000",
                            "--screenshot=%s" % shot, (before / "inventory.html").as_uri()], capture_output=True,
                           text=True, timeout=120, check=False)
    assert taken.returncode == 0 and shot.stat().st_size > 1000, taken.stderr[-2000:]


def test_after_cleanup_and_deploy_no_critical_finding_is_left_and_the_comparison_says_what_was_fixed(audited):
    before = audited["reports"] / "before" / "inventory.json"
    assert before.exists(), "the first test writes it"
    previous = audited["reports"] / "previous.json"
    shutil.copy(before, previous)
    seed_vars = audited["seed"].extra_vars()
    cleaned = playbook("cleanup.yml", extra_vars=seed_vars)
    assert cleaned.rc == 0, cleaned
    deployed = playbook("deploy-prod.yml", extra_vars={"taylordash_project_root": str(audited["root"])})
    assert deployed.rc == 0, deployed
    after = audited["reports"] / "after"
    run = playbook("audit.yml", extra_vars=dict(audited["vars"], audit_report_dir=str(after),
                                                audit_previous_report=str(previous), audit_fail_on="critical"))
    assert run.rc == 0, run
    assert run.changed == 0, run
    report, host = report_of(after)
    assert host["summary"]["critical"] == 0, [f for f in host["findings"] if f["severity"] == "critical"]
    gone = {entry["id"] for entry in report["comparison"]["disappeared"]}
    assert {"duplicate-dev-server:backend", "duplicate-dev-server:frontend", "double-booked-port:9001"} <= gone
    assert any(i.startswith("repeated-credential:") for i in gone)
    assert "disappeared" in " ".join(run.out.split())
    assert_no_secret_in(after, run.out)


def test_a_previous_report_that_is_not_one_is_refused_naming_the_variable(audited, tmp_path):
    bogus = tmp_path / "bogus.json"
    bogus.write_text(json.dumps({"schema": "something/else"}))
    run = playbook("audit.yml", extra_vars=dict(audited["vars"], audit_previous_report=str(bogus),
                                                audit_report_dir=str(tmp_path / "r")))
    assert run.rc != 0 and "audit_previous_report" in run.out, run
    assert not (tmp_path / "r").exists()


def test_a_wrong_severity_or_scan_root_is_refused_naming_the_variable(audited, tmp_path):
    run = playbook("audit.yml", extra_vars=dict(audited["vars"], audit_fail_on="severe",
                                                audit_report_dir=str(tmp_path / "r")))
    assert run.rc != 0 and "audit_fail_on" in run.out and "severe" in run.out, run
    missing = tmp_path / "no-such-root"
    run = playbook("audit.yml", extra_vars=dict(audited["vars"], audit_scan_roots=[str(missing)],
                                                audit_report_dir=str(tmp_path / "r")))
    assert run.rc != 0 and "audit_scan_roots: %s" % missing in " ".join(run.out.split()), run
    assert not (tmp_path / "r").exists()
