# -*- coding: utf-8 -*-
"""plugins/modules/tls_served.py against a TLS server of its own on loopback (certificates made here)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import socket
import ssl
import threading

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from ansible_collections.taylordash.ops.plugins.modules import tls_served
from ansible_collections.taylordash.ops.tests.unit.plugins.modules import harness


def make_cert(tmp_path, name):
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=1)).sign(key, hashes.SHA256()))
    crt, pem_key = tmp_path / (name + ".crt"), tmp_path / (name + ".key")
    crt.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    pem_key.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    return str(crt), str(pem_key)


@pytest.fixture
def server(tmp_path):
    crt, key = make_cert(tmp_path, "served.test")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(crt, key)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    stop = threading.Event()

    def serve():
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _addr = listener.accept()
            except socket.timeout:
                continue
            try:
                with context.wrap_socket(conn, server_side=True):
                    pass
            except (ssl.SSLError, OSError):
                pass
    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield listener.getsockname()[1], crt
    stop.set()
    thread.join(2)
    listener.close()


def run(args):
    return harness.run_module(tls_served, dict(args, _ansible_check_mode=True))


def test_the_served_certificate_matches_its_file_and_another_does_not(server, tmp_path):
    port, crt = server
    outcome, result = run({"port": port, "server_name": "served.test", "cert_file": crt})
    assert outcome == "exit" and result["matches"] is True and result["error"] is None
    assert result["served_sha256"] == result["wanted_sha256"]
    other, _key = make_cert(tmp_path, "other.test")
    outcome, result = run({"port": port, "server_name": "served.test", "cert_file": other})
    assert result["matches"] is False and result["served_sha256"] != result["wanted_sha256"]


def test_a_closed_port_is_an_error_to_retry_and_an_unreadable_file_fails(tmp_path):
    crt, _key = make_cert(tmp_path, "x.test")
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()
    outcome, result = run({"port": port, "server_name": "x.test", "cert_file": crt, "timeout": 2})
    assert outcome == "exit" and result["matches"] is False and str(port) in result["error"]
    (tmp_path / "empty.crt").write_text("no certificate here\n")
    outcome, result = run({"port": port, "server_name": "x.test", "cert_file": str(tmp_path / "empty.crt")})
    assert outcome == "fail" and "empty.crt" in result["msg"]
