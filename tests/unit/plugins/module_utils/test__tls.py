# -*- coding: utf-8 -*-
"""The data services' certificates: their names, and which are due from one read of a host's files (real
certificates made here with cryptography, as the CA host's community.crypto would make them)."""

import datetime
import ipaddress

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from ansible_collections.taylordash.ops.plugins.module_utils import _tls

NOW = datetime.datetime(2026, 12, 3, tzinfo=datetime.timezone.utc)


def _ca(name="test CA", key=None):
    key = key or ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(NOW - datetime.timedelta(days=1))
            .not_valid_after(NOW + datetime.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256()))
    return key, cert


def _leaf(ca, names, days=397):
    ca_key, ca_cert = ca
    key = ec.generate_private_key(ec.SECP256R1())
    sans = [x509.IPAddress(ipaddress.ip_address(n[3:])) if n.startswith("IP:") else x509.DNSName(n[4:]) for n in names]
    cert = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "leaf")]))
            .issuer_name(ca_cert.subject).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(NOW - datetime.timedelta(days=1)).not_valid_after(NOW + datetime.timedelta(days=days))
            .add_extension(x509.SubjectAlternativeName(sans), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def _pem(cert):
    return cert.public_bytes(serialization.Encoding.PEM).decode()


CA = _ca()
CA_PEM = _pem(CA[1])
NAMES = _tls.subject_names("10.0.0.5", "postgres")
LEAF = {"service": "postgres", "cert": "/d/postgres/tls/server.crt", "key": "/d/postgres/tls/server.key", "uid": 999,
        "names": NAMES}
COPY = "/d/tls/ca.crt"


def _paths(cert_text, key=None, cert=None, copy=None):
    return {LEAF["key"]: dict({"kind": "f", "mode": "0600", "uid": 999, "mtime": 100.0}, **(key or {})),
            LEAF["cert"]: dict({"kind": "f", "mode": "0644", "uid": 999, "mtime": 100.5, "text": cert_text},
                               **(cert or {})),
            COPY: dict({"kind": "f", "mode": "0644", "uid": 0, "text": CA_PEM}, **(copy or {}))}


@pytest.mark.parametrize("address,extra,service,expect", [
    ("10.0.0.5", [], "postgres", ["IP:10.0.0.5", "DNS:postgres", "DNS:localhost", "IP:127.0.0.1"]),
    ("db.example.com", ["10.0.0.5"], "mosquitto",
     ["DNS:db.example.com", "IP:10.0.0.5", "DNS:mosquitto", "DNS:localhost", "IP:127.0.0.1"]),
    ("127.0.0.1", ["LOCALHOST", ""], "postgres", ["IP:127.0.0.1", "DNS:localhost", "DNS:postgres"]),
    ("fd00::5", [], "postgres", ["IP:fd00::5", "DNS:postgres", "DNS:localhost", "IP:127.0.0.1"]),
])
def test_the_names_are_the_dialled_address_the_extras_the_service_and_loopback_once_each(address, extra, service, expect):
    assert _tls.subject_names(address, service, extra) == expect


def test_a_current_certificate_and_copy_need_nothing():
    out = _tls.due([LEAF], [COPY], _paths(_leaf(CA, NAMES)), CA_PEM, 30, NOW)
    assert out == {"ca": False, "copies": [], "leaves": [], "why": {}, "due": False}


@pytest.mark.parametrize("case,paths,fragment", [
    ("no certificate", _paths(""), "its certificate is missing"),
    ("no key", dict((k, v) for k, v in _paths(_leaf(CA, NAMES)).items() if k != LEAF["key"]), "its key is missing"),
    ("key of root", _paths(_leaf(CA, NAMES), key={"uid": 0}), "not 999's with mode 0600"),
    ("key readable by all", _paths(_leaf(CA, NAMES), key={"mode": "0644"}), "not 999's with mode 0600"),
    ("garbage", _paths("-----BEGIN CERTIFICATE-----\nxx\n-----END CERTIFICATE-----\n"), "missing or unreadable"),
    ("another CA", _paths(_leaf(_ca("other"), NAMES)), "not signed by the current CA"),
    # The CA's key kept, its subject changed (proxy_ca_common_name): same key identifier, another issuer.
    ("CA renamed", _paths(_leaf((CA[0], _ca("renamed", CA[0])[1]), NAMES)), "not signed by the current CA"),
    # A run stopped between writing the key and writing its certificate.
    ("key newer", _paths(_leaf(CA, NAMES), key={"mtime": 101.0}), "its key is newer than its certificate"),
    ("other names", _paths(_leaf(CA, ["IP:10.0.0.6", "DNS:postgres"])), "its names are IP:10.0.0.6, DNS:postgres"),
    ("expires soon", _paths(_leaf(CA, NAMES, days=20)), "expires within 30 days"),
])
def test_a_leaf_is_due_with_its_reason(case, paths, fragment):
    out = _tls.due([LEAF], [COPY], paths, CA_PEM, 30, NOW)
    assert out["leaves"] == ["postgres"] and fragment in out["why"]["postgres"], (case, out)
    assert out["copies"] == [] and out["ca"] is False and out["due"] is True


def test_names_in_another_order_are_the_same_names():
    assert _tls.due([LEAF], [COPY], _paths(_leaf(CA, list(reversed(NAMES)))), CA_PEM, 30, NOW)["leaves"] == []


@pytest.mark.parametrize("copy", [{"text": ""}, {"text": _pem(_ca("other")[1])}, {"mode": "0600"}])
def test_a_missing_or_other_or_private_ca_copy_is_written(copy):
    out = _tls.due([LEAF], [COPY], _paths(_leaf(CA, NAMES), copy=copy), CA_PEM, 30, NOW)
    assert out["copies"] == [COPY] and out["leaves"] == []


def test_without_a_ca_everything_is_due_and_the_ca_is_created():
    out = _tls.due([LEAF], [COPY], _paths(_leaf(CA, NAMES)), "", 30, NOW)
    assert out["ca"] is True and out["copies"] == [COPY] and out["leaves"] == ["postgres"]
    assert out["why"]["ca"] == "the internal CA does not exist yet"


def test_describe_reads_names_expiry_and_key_identifiers():
    found = _tls.describe(_leaf(CA, NAMES, days=10))
    assert found["names"] == NAMES and found["aki"] == _tls.describe(CA_PEM)["ski"] != ""
    assert found["not_after"] == NOW + datetime.timedelta(days=10)
    assert _tls.describe("not a certificate") is None


def test_the_files_are_the_ca_copies_then_every_key_before_every_certificate():
    mosquitto = dict(LEAF, service="mosquitto", cert="/d/mosquitto/tls/server.crt", key="/d/mosquitto/tls/server.key",
                     uid=1883)
    out = _tls.files([LEAF, mosquitto], ["K1", "K2"], ["C1", "C2"], CA_PEM, [COPY])
    assert [(f["path"], f["content"], f["mode"], f["owner"]) for f in out] == [
        (COPY, CA_PEM, "0644", 0), (LEAF["key"], "K1", "0600", 999), (mosquitto["key"], "K2", "0600", 1883),
        (LEAF["cert"], "C1", "0644", 999), (mosquitto["cert"], "C2", "0644", 1883)]
    with pytest.raises(ValueError):
        _tls.files([LEAF], [], ["C1"], CA_PEM, [COPY])
