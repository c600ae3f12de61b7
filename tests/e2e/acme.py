"""ACME test helpers: a pebble (Let's Encrypt's test server, Debian's package) with an API certificate
made here, the deploy variables that point Traefik at it, and the certificate chain Traefik serves."""

import json
import subprocess
import time

TEST_CA_NAME = "pebble-test-ca.pem"  # in config/traefik/certs, which Traefik mounts at /etc/traefik/certs
PEBBLE_ENV = ["-e", "PEBBLE_VA_NOSLEEP=1", "-e", "PEBBLE_WFE_NONCEREJECT=0"]


def acme_vars(extra=None):
    """Deploy variables for ACME against the pebble named `pebble` on the project network."""
    values = {
        "taylordash_tls": "acme",
        "taylordash_acme_email": "ops@example.com",
        "taylordash_acme_ca_server": "https://pebble:14000/dir",
        "proxy_traefik_environment": {"LEGO_CA_CERTIFICATES": "/etc/traefik/certs/" + TEST_CA_NAME},
    }
    values.update(extra or {})
    return values


def _openssl(*args, cwd):
    proc = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, "openssl %s: %s" % (args, proc.stderr)


def make_pebble_tls(workdir):
    """A throwaway CA, pebble's API certificate for the name `pebble` (the Debian package ships none)
    and its configuration, in workdir (readable by pebble's unprivileged user)."""
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
    workdir.chmod(0o755)
    for name in ("key.pem", "pebble-config.json", "cert.pem"):
        (workdir / name).chmod(0o644)


def management(address, path, workdir):
    """GET on pebble's management API at address:15000 (its own TLS, signed by the test CA)."""
    proc = subprocess.run(["curl", "-sS", "--max-time", "10", "--cacert", str(workdir / "ca.pem"), "--resolve",
                           "pebble:15000:%s" % address, "https://pebble:15000" + path],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def wait_for_pebble(address, workdir, logs, timeout=30):
    deadline = time.time() + timeout
    while True:
        try:
            return management(address, "/roots/0", workdir)
        except AssertionError:
            assert time.time() < deadline, logs()
            time.sleep(0.5)


def served_chain(address, name):
    """The certificates Traefik serves on address:443 for SNI `name`, as PEM texts (leaf first)."""
    proc = subprocess.run(["openssl", "s_client", "-connect", "%s:443" % address, "-servername", name, "-showcerts"],
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


def issuer(pem):
    return subprocess.run(["openssl", "x509", "-noout", "-issuer"], input=pem, capture_output=True, text=True,
                          check=True).stdout.strip().split("=", 1)[1].strip()


def wait_for_issued(address, name, timeout=90):
    """The chain Traefik serves for `name` once pebble has issued it (until then: Traefik's default)."""
    deadline = time.time() + timeout
    while True:
        chain = served_chain(address, name)
        if chain and "Pebble" in issuer(chain[0]):
            return chain
        assert time.time() < deadline, "no pebble certificate for %s; served issuer: %s" % (
            name, chain and issuer(chain[0]))
        time.sleep(2)


def assert_chain_verifies(chain, root, name, tmp_path):
    """The leaf names `name` and chains, through the intermediates served with it, to `root` (PEM text)."""
    leaf, rest, root_file = tmp_path / "leaf.pem", tmp_path / "chain.pem", tmp_path / "root.pem"
    leaf.write_text(chain[0])
    rest.write_text("".join(chain[1:]))
    root_file.write_text(root)
    san = subprocess.run(["openssl", "x509", "-in", str(leaf), "-noout", "-ext", "subjectAltName"],
                         capture_output=True, text=True, check=True).stdout
    assert "DNS:" + name in san, san
    verified = subprocess.run(["openssl", "verify", "-CAfile", str(root_file), "-untrusted", str(rest), str(leaf)],
                              capture_output=True, text=True, check=False)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    return root_file
