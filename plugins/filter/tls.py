# -*- coding: utf-8 -*-
# Copyright: taylordash-ops developers
# MIT License
"""tls_names, tls_leaves, tls_current, tls_files, tls_due: the data services' certificates from the internal CA (module_utils/_tls.py)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError
from ansible_collections.taylordash.ops.plugins.module_utils import _tls


def tls_names(address, service, extra=None):
    """The subject alternative names of `service`'s certificate on the host other hosts reach at `address`."""
    return _tls.subject_names(address, service, extra or [])


def tls_leaves(services, config_dir, uids, address, extra=None, traefik_names=None):
    """The keys and certificates the internal CA signs on a host: [{service, cert, key, uid, names}], owned
    by each service's uid. A data service's sit under `config_dir`/<service>/tls and name what other hosts
    dial; Traefik's (`traefik` in services: taylordash_tls local) under `config_dir`/traefik/certs, for exactly
    `traefik_names` (the app's and the dashboard's DNS names)."""
    out = []
    try:
        for service in services:
            folder = "%s/%s/%s" % (config_dir, service, "certs" if service == "traefik" else "tls")
            names = (["DNS:%s" % name for name in traefik_names or []] if service == "traefik"
                     else _tls.subject_names(address, service, extra or []))
            out.append({"service": service, "cert": folder + "/server.crt", "key": folder + "/server.key",
                        "uid": int(uids[service]), "names": names})
    except (KeyError, TypeError, ValueError) as err:
        raise AnsibleFilterError("tls_leaves: no uid for %s" % err)
    return out


def tls_current(leaves, paths, signed=None):
    """service -> its certificate's text: the one signed in this run (the x509_certificate_pipe loop's
    results), else the one read from the host (''): what its configuration fingerprint covers."""
    out = dict((leaf["service"], (paths.get(leaf["cert"]) or {}).get("text", "")) for leaf in leaves)
    for result in (signed or {}).get("results", []) if isinstance(signed, dict) else []:
        if result.get("certificate") and isinstance(result.get("item"), dict):
            out[result["item"].get("service")] = result["certificate"]
    return out


def tls_files(issue, keys, signed, ca_pem, ca_copies):
    """The files tls.yml writes (see _tls.files): `keys` and `signed` are the registered results of the
    openssl_privatekey_pipe and x509_certificate_pipe loops over `issue`."""
    try:
        return _tls.files(issue, [r["privatekey"] for r in keys.get("results", [])],
                          [r["certificate"] for r in signed.get("results", [])], ca_pem, ca_copies)
    except (KeyError, TypeError, ValueError, AttributeError) as err:
        raise AnsibleFilterError("tls_files: %s" % err)


def tls_due(leaves, ca_copies, paths, ca_pem, renew_days):
    """What a host needs from the CA (see _tls.due): {ca, copies, leaves, why}."""
    if not isinstance(leaves, list) or not isinstance(ca_copies, list) or not isinstance(paths, dict):
        raise AnsibleFilterError("tls_due: leaves and ca_copies must be lists, paths path_state's dict")
    try:
        return _tls.due(leaves, ca_copies, paths, ca_pem or "", int(renew_days))
    except (KeyError, ValueError) as err:
        raise AnsibleFilterError("tls_due: %s" % err)


class FilterModule(object):
    def filters(self):
        return {"tls_names": tls_names, "tls_leaves": tls_leaves, "tls_current": tls_current, "tls_files": tls_files, "tls_due": tls_due}
