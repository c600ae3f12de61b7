# -*- coding: utf-8 -*-
# Copyright: taylordash-ops developers
# MIT License
"""The internal CA's server certificates for the data services (PostgreSQL, Mosquitto): the names each one
carries and, from one read of the host's files, which are missing or stale and why.

Pure functions over PEM texts and the path_state module's answer; the certificates are parsed with the
`cryptography` library ansible-core already needs on the controller. Nothing here talks to a host.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import ipaddress

from ansible_collections.taylordash.ops.plugins.module_utils import _files


def subject_names(address, service, extra=()):
    """The subject alternative names of a data service's certificate on a host, as community.crypto writes
    them (`IP:` or `DNS:`): the address other hosts dial (taylordash_address), the extra names, the service's
    name on the project network, `localhost` and 127.0.0.1. Unique, in that order."""
    out = []
    for name in [address] + list(extra or []) + [service, "localhost", "127.0.0.1"]:
        name = str(name).strip()
        if not name:
            continue
        try:
            entry = "IP:%s" % ipaddress.ip_address(name.strip("[]"))
        except ValueError:
            entry = "DNS:%s" % name.lower()
        if entry not in out:
            out.append(entry)
    return out


def describe(pem):
    """A PEM certificate's names (as subject_names writes them), expiry (aware UTC datetime), authority key
    identifier and subject key identifier (hex, '' when absent); None when `pem` holds no certificate."""
    from cryptography import x509
    from cryptography.x509.oid import ExtensionOID

    try:
        cert = x509.load_pem_x509_certificate(pem.encode("ascii") if isinstance(pem, str) else pem)
    except (ValueError, TypeError, UnicodeError):
        return None

    def extension(oid):
        try:
            return cert.extensions.get_extension_for_oid(oid).value
        except x509.ExtensionNotFound:
            return None

    names = []
    san = extension(ExtensionOID.SUBJECT_ALTERNATIVE_NAME)
    for item in (san or []):
        if isinstance(item, x509.DNSName):
            names.append("DNS:%s" % item.value.lower())
        elif isinstance(item, x509.IPAddress):
            names.append("IP:%s" % item.value)
    aki = extension(ExtensionOID.AUTHORITY_KEY_IDENTIFIER)
    ski = extension(ExtensionOID.SUBJECT_KEY_IDENTIFIER)
    not_after = getattr(cert, "not_valid_after_utc", None) or cert.not_valid_after.replace(tzinfo=datetime.timezone.utc)
    return {"names": names, "not_after": not_after, "issuer": cert.issuer.rfc4514_string(),
            "subject": cert.subject.rfc4514_string(),
            "aki": aki.key_identifier.hex() if aki is not None and aki.key_identifier else "",
            "ski": ski.digest.hex() if ski is not None else ""}


def _file_ok(state, mode, uid=None):
    """A regular file of this mode (and owner), as disk_drift judges it."""
    return _files.change({"kind": "f", "mode": mode, "uid": uid}, state or None) is None


def files(issue, keys, signed, ca_pem, ca_copies):
    """What tls.yml writes on the host: the CA's certificate into each of `ca_copies` (0644, root's), then
    each issued service's key (0600) before its certificate (0644), both owned by its uid: due() takes a key
    newer than its certificate for an issue that did not finish. issue: the leaves issued (in order); keys,
    signed: the private keys and certificates made for them, in the same order."""
    if not len(issue) == len(keys) == len(signed):
        raise ValueError("%d leaves but %d keys and %d certificates" % (len(issue), len(keys), len(signed)))
    out = [{"path": path, "content": ca_pem, "mode": "0644", "owner": 0} for path in ca_copies]
    out += [{"path": leaf["key"], "content": key, "mode": "0600", "owner": leaf["uid"]} for leaf, key in zip(issue, keys)]
    out += [{"path": leaf["cert"], "content": cert, "mode": "0644", "owner": leaf["uid"]}
            for leaf, cert in zip(issue, signed)]
    return out


def due(leaves, ca_copies, paths, ca_pem, renew_days, now=None):
    """What the host needs from the CA.

    leaves: [{service, cert, key, uid, names}] (paths on the host, the uid owning the key, the wanted names);
    ca_copies: paths on the host that hold the CA's certificate (0644); paths: path_state's `paths` with the
    text of every cert and CA copy read; ca_pem: the CA's certificate as the CA host holds it ('' when there
    is none yet). Returns {ca: bool (the CA must be created), copies: [CA copies to write], leaves: [services
    to issue], why: {service or path: reason}, due: whether any of these}.
    """
    now = now or datetime.datetime.now(datetime.timezone.utc)
    ca = describe(ca_pem) if ca_pem else None
    out = {"ca": ca is None, "copies": [], "leaves": [], "why": {}}
    if ca is None:
        out["why"]["ca"] = "the internal CA does not exist yet" if not ca_pem else "the CA's certificate does not parse"
    for path in ca_copies:
        state = paths.get(path) or {}
        if ca is None or state.get("text", "").strip() != ca_pem.strip() or not _file_ok(state, "0644"):
            out["copies"].append(path)
            out["why"][path] = "the CA's certificate is missing or differs"
    for leaf in leaves:
        service = leaf["service"]
        cert_state = paths.get(leaf["cert"]) or {}
        found = describe(cert_state.get("text", "")) if cert_state.get("text") else None
        key_state = paths.get(leaf["key"]) or {}
        if not _file_ok(key_state, "0600", leaf.get("uid")):
            reason = "its key is missing, or not %s's with mode 0600" % leaf.get("uid")
        elif found is None or not _file_ok(cert_state, "0644", leaf.get("uid")):
            reason = "its certificate is missing or unreadable"
        elif float(key_state.get("mtime", 0)) > float(cert_state.get("mtime", 0)):
            # Keys are written before their certificates: a run stopped between the two left a key that the
            # certificate does not match.
            reason = "its key is newer than its certificate (an issue that did not finish)"
        elif ca is None or not ca["ski"] or found["aki"] != ca["ski"] or found["issuer"] != ca["subject"]:
            reason = "its certificate is not signed by the current CA"
        elif sorted(found["names"]) != sorted(leaf["names"]):
            reason = "its names are %s, not %s" % (", ".join(found["names"]), ", ".join(leaf["names"]))
        elif (found["not_after"] - now).total_seconds() <= int(renew_days) * 86400:
            reason = "it expires within %s days (%s)" % (renew_days, found["not_after"].strftime("%Y-%m-%d"))
        else:
            continue
        out["leaves"].append(service)
        out["why"][service] = reason
    out["due"] = bool(out["ca"] or out["copies"] or out["leaves"])
    return out
