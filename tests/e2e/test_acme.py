"""ACME for real, on one host: Let's Encrypt's test server (Debian's pebble) runs on the
project network and issues the certificates Traefik serves for the app and the dashboard.

Nothing is faked: pebble validates each name over HTTP-01 on port 80 (its validation
authority reaches Traefik through the network aliases the infrastructure role gives it;
PEBBLE_VA_ALWAYS_VALID is not set), so the issued certificates also prove that the
HTTP-to-HTTPS redirect leaves the challenge path alone. Pebble's own API certificate is
made here (the package ships none) and Traefik trusts it through LEGO_CA_CERTIFICATES,
set for this test only. The served chains are verified against pebble's current root,
read from its management endpoint. The module puts the shared stack back on the local
CA when it ends, and removes pebble and the ACME storage (fresh for every run)."""

import json
import subprocess
import time
from pathlib import Path

import pytest

from conftest import DEPLOY_DIR, PROJECT, container_ids, image_id, playbook, redeploy, sh

DOMAIN = "taylordash.local"
DASHBOARD = "traefik." + DOMAIN
PEBBLE = "taylordash-test-pebble"  # container name; `pebble` is its alias on the project network
ACME_VOLUME = PROJECT + "_traefik-acme"
TEST_CA_NAME = "pebble-test-ca.pem"  # in config/traefik/certs, which Traefik mounts at /etc/traefik/certs


def _acme_vars(extra=None):
    values = {
        "taylordash_tls": "acme",
        "taylordash_acme_email": "ops@example.com",
        "taylordash_acme_ca_server": "https://pebble:14000/dir",
        "infrastructure_traefik_environment": {"LEGO_CA_CERTIFICATES": "/etc/traefik/certs/" + TEST_CA_NAME},
    }
    values.update(extra or {})
    return values


def _openssl(*args, cwd):
    proc = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, "openssl %s: %s" % (args, proc.stderr)


def _make_pebble_tls(workdir):
    """A throwaway CA and pebble's API certificate for the name `pebble` (the Debian package ships none)."""
    _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "1",
             "-subj", "/CN=taylordash test CA for pebble", "-keyout", "ca.key", "-out", "ca.pem", cwd=workdir)
    _openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj", "/CN=pebble",
             "-addext", "subjectAltName=DNS:pebble", "-keyout", "key.pem", "-out", "cert.csr", cwd=workdir)
    _openssl("x509", "-req", "-in", "cert.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
             "-days", "1", "-copy_extensions", "copy", "-out", "cert.pem", cwd=workdir)
    (workdir / "pebble-config.json").write_text(json.dumps({"pebble": {
        "listenAddress": "0.0.0.0:14000", "managementListenAddress": "0.0.0.0:15000",
        "certificate": "/pebble/cert.pem", "privateKey": "/pebble/key.pem",
        # Validate HTTP-01 on the real port 80 and TLS-ALPN-01 on 443, as Let's Encrypt does.
        "httpPort": 80, "tlsPort": 443, "ocspResponderURL": "", "externalAccountBindingRequired": False}}))
    workdir.chmod(0o755)  # read by pebble's unprivileged user in the container
    for name in ("key.pem", "pebble-config.json", "cert.pem"):
        (workdir / name).chmod(0o644)


def _remove_acme_storage():
    """Fresh ACME storage per run: no container may hold the volume when it goes."""
    holders = sh("docker", "ps", "-aq", "--filter", "volume=" + ACME_VOLUME).stdout.split()
    if holders:
        sh("docker", "rm", "-f", *holders)
    sh("docker", "volume", "rm", "-f", ACME_VOLUME)


def _pebble_ip():
    networks = json.loads(sh("docker", "inspect", "--format", "{{json .NetworkSettings.Networks}}", PEBBLE).stdout)
    return networks[PROJECT]["IPAddress"]


def _management(path, workdir):
    """GET on pebble's management API (its own TLS, signed by the test CA)."""
    proc = subprocess.run(["curl", "-sS", "--max-time", "10", "--cacert", str(workdir / "ca.pem"), "--resolve",
                           "pebble:15000:%s" % _pebble_ip(), "https://pebble:15000" + path],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def _served_chain(name):
    """The certificates Traefik serves on 127.0.0.1:443 for SNI `name`, as PEM text (leaf first)."""
    proc = subprocess.run(["openssl", "s_client", "-connect", "127.0.0.1:443", "-servername", name, "-showcerts"],
                          input="", capture_output=True, text=True, timeout=20, check=False)
    pems, inside = [], None
    for line in proc.stdout.splitlines():
        if line.startswith("-----BEGIN CERTIFICATE-----"):
            inside = [line]
        elif inside is not None:
            inside.append(line)
            if line.startswith("-----END CERTIFICATE-----"):
                pems.append("\n".join(inside) + "\n")
                inside = None
    return pems


def _subject(pem, field="-subject"):
    return subprocess.run(["openssl", "x509", "-noout", field], input=pem, capture_output=True, text=True,
                          check=True).stdout.strip().split("=", 1)[1].strip()


@pytest.fixture(scope="module")
def acme(stack, tmp_path_factory):
    """The shared stack switched to ACME against pebble; put back on the local CA afterwards."""
    workdir = tmp_path_factory.mktemp("pebble")
    _make_pebble_tls(workdir)
    base = "taylordash/debian:13"
    assert image_id(base), "the offline base image %s is missing (the images phase builds it)" % base
    sh("docker", "rm", "-f", PEBBLE, check=False)
    _remove_acme_storage()
    certs = DEPLOY_DIR / "config" / "traefik" / "certs"
    (certs / TEST_CA_NAME).write_text((workdir / "ca.pem").read_text())
    (certs / TEST_CA_NAME).chmod(0o644)
    # Debian's pebble binary (needs only libc) in the offline base image, on the project network.
    sh("docker", "run", "-d", "--name", PEBBLE, "--network", PROJECT, "--network-alias", "pebble",
       "--label", "org.taylordash.test=pebble", "-e", "PEBBLE_VA_NOSLEEP=1", "-e", "PEBBLE_WFE_NONCEREJECT=0",
       "-v", "/usr/bin/pebble:/usr/local/bin/pebble:ro", "-v", "%s:/pebble:ro" % workdir, "--user", "65534",
       base, "pebble", "-config", "/pebble/pebble-config.json")
    try:
        deadline = time.time() + 30
        while True:
            try:
                _management("/roots/0", workdir)
                break
            except AssertionError:
                assert time.time() < deadline, sh("docker", "logs", PEBBLE, check=False).stderr
                time.sleep(0.5)
        run = redeploy(extra_vars=_acme_vars())
        assert run.rc == 0, run
        yield {"workdir": workdir, "run": run}
    finally:
        back = redeploy()
        logs = sh("docker", "logs", "--tail", "60", PEBBLE, check=False)
        sh("docker", "rm", "-f", PEBBLE, check=False)
        (certs / TEST_CA_NAME).unlink(missing_ok=True)
        _remove_acme_storage()
        assert back.rc == 0, back
        print(logs.stdout[-3000:], logs.stderr[-3000:])


def _wait_for_issued(name, root_pem, timeout=90):
    """The chain Traefik serves for `name` once pebble has issued it (until then: Traefik's default)."""
    deadline = time.time() + timeout
    while True:
        chain = _served_chain(name)
        if chain and "Pebble" in _subject(chain[0], "-issuer"):
            return chain
        assert time.time() < deadline, "no pebble certificate for %s; served issuer: %s" % (
            name, chain and _subject(chain[0], "-issuer"))
        time.sleep(2)


@pytest.mark.parametrize("name", [DOMAIN, DASHBOARD])
def test_the_app_and_the_dashboard_get_certificates_from_the_acme_ca(acme, name, tmp_path):
    root = _management("/roots/0", acme["workdir"])
    chain = _wait_for_issued(name, root)
    leaf = tmp_path / "leaf.pem"
    leaf.write_text(chain[0])
    (tmp_path / "root.pem").write_text(root)
    (tmp_path / "chain.pem").write_text("".join(chain[1:]))
    # The leaf names the host and chains, through what Traefik serves, to pebble's current root.
    san = sh("openssl", "x509", "-in", str(leaf), "-noout", "-ext", "subjectAltName").stdout
    assert "DNS:" + name in san, san
    verified = sh("openssl", "verify", "-CAfile", str(tmp_path / "root.pem"), "-untrusted",
                  str(tmp_path / "chain.pem"), str(leaf), check=False)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    # And a client that trusts only that root reaches the route, with HSTS on the response.
    path = "/api/health" if name == DOMAIN else "/dashboard/"
    proc = subprocess.run(["curl", "-sS", "-o", "/dev/null", "-D", "-", "--max-time", "15", "--cacert",
                           str(tmp_path / "root.pem"), "--resolve", "%s:443:127.0.0.1" % name,
                           "https://%s%s" % (name, path)], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    status = int(proc.stdout.split()[1])
    assert status == (200 if name == DOMAIN else 401), proc.stdout
    assert "strict-transport-security: max-age=" in proc.stdout.lower(), proc.stdout


def test_health_check_verifies_against_the_trust_bundle_it_is_given(acme, tmp_path):
    root = tmp_path / "pebble-root.pem"
    root.write_text(_management("/roots/0", acme["workdir"]))
    _wait_for_issued(DOMAIN, None)
    _wait_for_issued(DASHBOARD, None)
    # With ACME the default bundle is the system's: pebble's root is not in it, so every HTTPS check fails.
    run = playbook("health-check.yml", extra_vars=_acme_vars())
    assert run.rc != 0, run
    assert "https-api" in run.out and "dashboard-auth" in run.out
    run = playbook("health-check.yml", extra_vars=_acme_vars({"health_trust_bundle": str(root)}))
    assert run.rc == 0, run
    assert run.changed == 0, run

