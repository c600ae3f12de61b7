# -*- coding: utf-8 -*-
"""module_utils/_health.check_endpoint over real sockets: a TLS server on 127.0.0.1 with a certificate
for svc.test from a throwaway CA. The check connects to the address it is given while speaking to the
URL's host (SNI, certificate name, Host header), verifies against the bundle it is given, does not
follow redirects and sends basic auth only when asked."""

import base64
import http.server
import ssl
import subprocess
import threading

import pytest

from ansible_collections.taylordash.ops.plugins.module_utils import _health as h

NAME = "svc.test"
USER, PASSWORD = "admin", "s3cret"


def _openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - http.server's name
        seen = self.headers.get("Host", "")
        if self.path == "/moved":
            self.send_response(301)
            self.send_header("Location", "https://%s/" % NAME)
        elif self.path == "/private":
            wanted = "Basic " + base64.b64encode(("%s:%s" % (USER, PASSWORD)).encode()).decode()
            self.send_response(200 if self.headers.get("Authorization") == wanted else 401)
        else:
            self.send_response(200 if seen.split(":")[0] == NAME else 421)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    work = tmp_path_factory.mktemp("tls")
    _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "1",
             "-subj", "/CN=health test CA", "-keyout", "ca.key", "-out", "ca.pem", cwd=work)
    _openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj", "/CN=" + NAME,
             "-addext", "subjectAltName=DNS:" + NAME, "-keyout", "key.pem", "-out", "cert.csr", cwd=work)
    _openssl("x509", "-req", "-in", "cert.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-days", "1",
             "-copy_extensions", "copy", "-out", "cert.pem", cwd=work)
    names = []
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(work / "cert.pem"), str(work / "key.pem"))
    context.sni_callback = lambda sock, name, ctx: names.append(name)
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield {"port": httpd.server_address[1], "ca": str(work / "ca.pem"), "names": names}
    httpd.shutdown()
    httpd.server_close()


def check(server, path, bundle="ca", credentials=None, expect=200):
    url = "https://%s:%d%s" % (NAME, server["port"], path)
    context = h.tls_context(server["ca"] if bundle == "ca" else "")
    return h.check_endpoint({"name": "t", "url": url, "expect": expect}, "127.0.0.1", 5, context, credentials)


def test_the_url_host_is_sent_as_sni_and_host_while_the_address_is_dialled(server):
    row = check(server, "/")
    assert row["ok"] and row["status"] == 200 and row["ms"] is not None, row
    assert server["names"][-1] == NAME


def test_a_certificate_outside_the_bundle_fails_verification(server):
    row = check(server, "/", bundle="system")
    assert not row["ok"] and row["status"] == 0 and "CERTIFICATE_VERIFY_FAILED" in row["detail"], row


def test_a_redirect_is_reported_not_followed(server):
    assert check(server, "/moved", expect=301)["ok"]


@pytest.mark.parametrize("credentials,status", [(None, 401), ("%s:%s" % (USER, PASSWORD), 200), ("admin:x", 401)])
def test_basic_auth_is_sent_only_when_given(server, credentials, status):
    assert check(server, "/private", credentials=credentials, expect=status)["ok"]


def test_nothing_listening_is_a_failed_row():
    row = h.check_endpoint({"name": "t", "url": "http://%s:1/" % NAME}, "127.0.0.1", 2, h.tls_context(""))
    assert not row["ok"] and "Refused" in row["detail"], row
