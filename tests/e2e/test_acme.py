"""ACME for real, on one host: Let's Encrypt's test server (Debian's pebble) runs on the
project network and issues the certificates Traefik serves for the app and the dashboard.

Nothing is faked: pebble validates each name over HTTP-01 on port 80 (its validation
authority reaches Traefik through the network aliases the infrastructure role gives it;
PEBBLE_VA_ALWAYS_VALID is not set), so the issued certificates also prove that the
HTTP-to-HTTPS redirect leaves the challenge path alone. Pebble's own API certificate is
made here (the package ships none) and Traefik trusts it through LEGO_CA_CERTIFICATES,
set for this test only. The served chains are verified against pebble's current root,
read from its management endpoint. The module puts the shared stack back on the local
CA when it ends, and removes pebble and the ACME storage (fresh for every run).
The same across hosts: test_multihost.py's last test."""

import json
import subprocess

import pytest

from acme import (PEBBLE_ENV, TEST_CA_NAME, acme_vars, assert_chain_verifies, make_pebble_tls, management,
                  wait_for_issued, wait_for_pebble)
from conftest import DEPLOY_DIR, PROJECT, image_id, playbook, redeploy, sh

DOMAIN = "taylordash.local"
DASHBOARD = "traefik." + DOMAIN
PEBBLE = "taylordash-test-pebble"  # container name; `pebble` is its alias on the project network
ACME_VOLUME = PROJECT + "_traefik-acme"


def _remove_acme_storage():
    """Fresh ACME storage per run: no container may hold the volume when it goes."""
    holders = sh("docker", "ps", "-aq", "--filter", "volume=" + ACME_VOLUME).stdout.split()
    if holders:
        sh("docker", "rm", "-f", *holders)
    sh("docker", "volume", "rm", "-f", ACME_VOLUME)


def _pebble_ip():
    networks = json.loads(sh("docker", "inspect", "--format", "{{json .NetworkSettings.Networks}}", PEBBLE).stdout)
    return networks[PROJECT]["IPAddress"]


@pytest.fixture(scope="module")
def acme(stack, tmp_path_factory):
    """The shared stack switched to ACME against pebble; put back on the local CA afterwards."""
    workdir = tmp_path_factory.mktemp("pebble")
    make_pebble_tls(workdir)
    base = "taylordash/debian:13"
    assert image_id(base), "the offline base image %s is missing (the images phase builds it)" % base
    sh("docker", "rm", "-f", PEBBLE, check=False)
    _remove_acme_storage()
    certs = DEPLOY_DIR / "config" / "traefik" / "certs"
    (certs / TEST_CA_NAME).write_text((workdir / "ca.pem").read_text())
    (certs / TEST_CA_NAME).chmod(0o644)
    try:
        # Debian's pebble binary (needs only libc) in the offline base image, on the project network.
        sh("docker", "run", "-d", "--name", PEBBLE, "--network", PROJECT, "--network-alias", "pebble",
           "--label", "org.taylordash.test=pebble", *PEBBLE_ENV, "-v", "/usr/bin/pebble:/usr/local/bin/pebble:ro",
           "-v", "%s:/pebble:ro" % workdir, "--user", "65534", base, "pebble", "-config", "/pebble/pebble-config.json")
        wait_for_pebble(_pebble_ip(), workdir, lambda: sh("docker", "logs", PEBBLE, check=False).stderr)
        run = redeploy(extra_vars=acme_vars())
        assert run.rc == 0, run
        yield workdir
    finally:
        back = redeploy()
        logs = sh("docker", "logs", "--tail", "60", PEBBLE, check=False)
        sh("docker", "rm", "-f", PEBBLE, check=False)
        (certs / TEST_CA_NAME).unlink(missing_ok=True)
        _remove_acme_storage()
        assert back.rc == 0, back
        print(logs.stdout[-3000:], logs.stderr[-3000:])


@pytest.mark.parametrize("name", [DOMAIN, DASHBOARD])
def test_the_app_and_the_dashboard_get_certificates_from_the_acme_ca(acme, name, tmp_path):
    chain = wait_for_issued("127.0.0.1", name)
    root = assert_chain_verifies(chain, management(_pebble_ip(), "/roots/0", acme), name, tmp_path)
    # A client that trusts only pebble's root reaches the route, with HSTS on the response.
    path = "/api/health" if name == DOMAIN else "/dashboard/"
    proc = subprocess.run(["curl", "-sS", "-o", "/dev/null", "-D", "-", "--max-time", "15", "--cacert", str(root),
                           "--resolve", "%s:443:127.0.0.1" % name, "https://%s%s" % (name, path)],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    assert int(proc.stdout.split()[1]) == (200 if name == DOMAIN else 401), proc.stdout
    assert "strict-transport-security: max-age=" in proc.stdout.lower(), proc.stdout


def test_health_check_verifies_against_the_trust_bundle_it_is_given(acme, tmp_path):
    root = tmp_path / "pebble-root.pem"
    root.write_text(management(_pebble_ip(), "/roots/0", acme))
    wait_for_issued("127.0.0.1", DOMAIN)
    wait_for_issued("127.0.0.1", DASHBOARD)
    # With ACME the default bundle is the system's: pebble's root is not in it, so every HTTPS check fails.
    run = playbook("health-check.yml", extra_vars=acme_vars())
    assert run.rc != 0, run
    failing = next((l for l in run.out.splitlines() if "Unhealthy on localhost:" in l), "")
    failing = failing.split("Unhealthy on localhost:")[-1].replace(",", " ").split()
    assert {"https-api", "https-frontend", "dashboard-auth", "dashboard-noauth"} <= set(failing), run
    run = playbook("health-check.yml", extra_vars=acme_vars({"health_trust_bundle": str(root)}))
    assert run.rc == 0, run
    assert run.changed == 0, run


def test_an_acme_storage_that_root_owns_is_handed_to_traefik_which_restarts_once(acme):
    """Traefik runs as its own uid: a host deployed before (or the official image's new volume) holds ACME
    storage that root owns, which the proxy phase gives to Traefik's uid before it restarts it once."""
    wait_for_issued("127.0.0.1", DOMAIN)
    mountpoint = sh("docker", "volume", "inspect", "--format", "{{.Mountpoint}}", ACME_VOLUME).stdout.strip()
    uid = sh("docker", "inspect", "--format", "{{.Config.User}}", PROJECT + "-traefik-1").stdout.strip().split(":")[0]
    assert uid != "0"
    owners = lambda: sh("stat", "-c", "%u %a", mountpoint, mountpoint + "/acme.json").stdout.split()  # noqa: E731
    assert owners() == [uid, "700", uid, "600"]
    sh("chown", "0:0", mountpoint, mountpoint + "/acme.json")
    started = sh("docker", "inspect", "--format", "{{.State.StartedAt}}", PROJECT + "-traefik-1").stdout
    run = redeploy(extra_vars=acme_vars(), tags="proxy")
    assert run.rc == 0, run
    assert owners() == [uid, "700", uid, "600"]
    assert sh("docker", "inspect", "--format", "{{.State.StartedAt}}", PROJECT + "-traefik-1").stdout != started
    wait_for_issued("127.0.0.1", DOMAIN)  # it still serves the certificate from its storage
    again = redeploy(extra_vars=acme_vars(), tags="proxy")
    assert again.rc == 0 and again.changed == 0, again
