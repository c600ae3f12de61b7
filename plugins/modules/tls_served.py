#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: taylordash-ops developers
# MIT License

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: tls_served
short_description: Whether a TLS endpoint serves the certificate of a file
version_added: 0.3.0
description:
  - Opens a TLS connection to O(host):O(port) with O(server_name) as SNI, takes the certificate the server
    presents (without verifying it) and compares it with the first certificate of O(cert_file).
  - Traefik applies a changed file of its file provider only after its throttle (two seconds by default), so
    a deploy that has just written its certificate and TLS options waits with this module (C(until)) before
    it reports the proxy in order.
  - A connection that fails is reported in RV(error), not as a failure, so that C(until) can retry; only an
    unreadable O(cert_file) fails the module. Never changes anything.
author: taylordash-ops developers
options:
  host:
    description: Address to connect to.
    type: str
    default: 127.0.0.1
  port:
    description: TCP port of the TLS endpoint.
    type: int
    required: true
  server_name:
    description: The name sent as SNI.
    type: str
    required: true
  cert_file:
    description: PEM file whose (first) certificate the endpoint should present.
    type: path
    required: true
  timeout:
    description: Seconds for the connection and the handshake.
    type: int
    default: 5
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  idempotent:
    support: full
    details: Always C(changed=false).
"""

EXAMPLES = r"""
- name: Wait until Traefik serves the new certificate
  taylordash.ops.tls_served:
    port: 443
    server_name: taylordash.local
    cert_file: /opt/taylordash/config/traefik/certs/server.crt
  register: served
  until: served.matches
  retries: 30
  delay: 1
"""

RETURN = r"""
matches:
  description: Whether the presented certificate is the one of O(cert_file).
  returned: always
  type: bool
  sample: true
served_sha256:
  description: sha256 of the presented certificate (DER), null when no handshake took place.
  returned: always
  type: str
wanted_sha256:
  description: sha256 of the certificate of O(cert_file) (DER).
  returned: always
  type: str
error:
  description: Why no certificate was presented (connection refused, handshake failed), else null.
  returned: always
  type: str
"""

import hashlib
import socket
import ssl

from ansible.module_utils.basic import AnsibleModule

PEM_BEGIN = "-----BEGIN CERTIFICATE-----"
PEM_END = "-----END CERTIFICATE-----"


def first_certificate_der(pem_text):
    """The DER bytes of the first certificate of a PEM text; ValueError when there is none."""
    start = pem_text.find(PEM_BEGIN)
    end = pem_text.find(PEM_END, start)
    if start < 0 or end < 0:
        raise ValueError("no PEM certificate")
    return ssl.PEM_cert_to_DER_cert(pem_text[start:end + len(PEM_END)])


def served_der(host, port, server_name, timeout):
    """The certificate (DER) the endpoint presents for server_name, unverified."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with socket.create_connection((host, port), timeout=timeout) as raw:
        with context.wrap_socket(raw, server_hostname=server_name) as tls:
            return tls.getpeercert(binary_form=True)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            host=dict(type="str", default="127.0.0.1"),
            port=dict(type="int", required=True),
            server_name=dict(type="str", required=True),
            cert_file=dict(type="path", required=True),
            timeout=dict(type="int", default=5),
        ),
        supports_check_mode=True,
    )
    params = module.params
    try:
        with open(params["cert_file"]) as handle:
            wanted = hashlib.sha256(first_certificate_der(handle.read())).hexdigest()
    except (IOError, OSError, ValueError) as exc:
        module.fail_json(msg="cert_file %s: %s" % (params["cert_file"], exc))
    served, error = None, None
    try:
        served = hashlib.sha256(served_der(params["host"], params["port"], params["server_name"],
                                           params["timeout"])).hexdigest()
    except (socket.error, ssl.SSLError, OSError) as exc:
        error = "%s:%s: %s" % (params["host"], params["port"], exc)
    module.exit_json(changed=False, matches=served == wanted, served_sha256=served, wanted_sha256=wanted,
                     error=error)


if __name__ == "__main__":
    main()
