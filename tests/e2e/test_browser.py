"""The frontend in headless Chromium (Debian's package) through real Traefik:
the local CA is imported into Chromium's NSS database with certutil, so the
page loads over verified HTTPS; the test reads the rendered DOM and keeps a
screenshot as an artifact (TAYLORDASH_ARTIFACTS, default tests/e2e/artifacts)."""

import json
import os
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest

from conftest import DEPLOY_DIR, ROOT, read_env

DOMAIN = "taylordash.local"
CA = DEPLOY_DIR / "pki" / "ca.crt"
ARTIFACTS = Path(os.environ.get("TAYLORDASH_ARTIFACTS", ROOT / "tests" / "e2e" / "artifacts"))
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--host-resolver-rules=MAP %s 127.0.0.1" % DOMAIN]


@pytest.fixture
def browser_home(tmp_path):
    """A HOME whose NSS database trusts the local CA (and nothing else was added)."""
    for tool in ("chromium", "certutil"):
        assert shutil.which(tool), "%s is not installed (.ci/run installs chromium and libnss3-tools)" % tool
    nssdb = tmp_path / ".pki" / "nssdb"
    nssdb.mkdir(parents=True)
    subprocess.run(["certutil", "-N", "-d", "sql:%s" % nssdb, "--empty-password"], check=True)
    subprocess.run(["certutil", "-A", "-d", "sql:%s" % nssdb, "-n", "taylordash local CA", "-t", "C,,",
                    "-i", str(CA)], check=True)
    return tmp_path


def chromium(home, *args):
    env = dict(os.environ, HOME=str(home))
    proc = subprocess.run(["chromium", *FLAGS, "--user-data-dir=%s" % (home / "profile"), *args],
                          capture_output=True, text=True, env=env, timeout=120, check=False)
    return proc


def create_project(name):
    proc = subprocess.run(["curl", "-sS", "--fail", "--cacert", str(CA), "--resolve", "%s:443:127.0.0.1" % DOMAIN,
                           "-H", "Content-Type: application/json", "-H", "X-API-Key: " + read_env()["API_KEY"],
                           "--data", json.dumps({"name": name, "description": "made for the browser test"}),
                           "https://%s/api/projects" % DOMAIN], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr


def test_the_page_loads_over_verified_https_and_shows_a_project(stack, browser_home):
    name = "browser-" + uuid.uuid4().hex[:8]
    create_project(name)
    page = chromium(browser_home, "--virtual-time-budget=15000", "--dump-dom", "https://%s/" % DOMAIN)
    assert page.returncode == 0, page.stderr[-2000:]
    dom = page.stdout
    assert "TaylorDash projects" in dom, dom[:2000]
    assert 'id="projects"' in dom and name in dom, dom[:4000]
    assert "ERR_CERT" not in page.stderr, page.stderr[-2000:]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / "frontend.png"
    if shot.exists():
        shot.unlink()
    taken = chromium(browser_home, "--virtual-time-budget=15000", "--window-size=1200,800",
                     "--screenshot=%s" % shot, "https://%s/" % DOMAIN)
    assert taken.returncode == 0 and shot.stat().st_size > 1000, taken.stderr[-2000:]


def test_without_the_ca_the_browser_refuses_the_certificate(stack, tmp_path):
    """The trust comes from the imported CA, not from a lax browser: an empty NSS database fails."""
    page = chromium(tmp_path, "--virtual-time-budget=8000", "--dump-dom", "https://%s/" % DOMAIN)
    assert "TaylorDash projects" not in page.stdout
