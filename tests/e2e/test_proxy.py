"""Proxy phase through real Traefik on loopback: TLS from the local CA, the
redirect, routing by host, the dashboard behind basic auth, the read-only
socket proxy, and the app's round trip (PostgreSQL row, MQTT event)."""

import json
import os
import shutil
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from conftest import DEPLOY_DIR, compose, container_ids, playbook, read_env, sh, subscribe_once

DOMAIN = "taylordash.local"
DASHBOARD = "traefik." + DOMAIN
CA = DEPLOY_DIR / "pki" / "ca.crt"


def curl(url, *args, host=DOMAIN, ca=True, max_time=15):
    """curl through Traefik on 127.0.0.1 with the real host name (SNI and Host header)."""
    port = "443" if url.startswith("https") else "80"
    cmd = ["curl", "-sS", "--max-time", str(max_time), "--resolve", "%s:%s:127.0.0.1" % (host, port),
           "-o", "-", "-w", "\n%{http_code} %{time_total}"]
    cmd += ["--cacert", str(CA)] if ca else ["-k"]
    proc = subprocess.run(cmd + list(args) + [url], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, "curl %s failed (%s): %s" % (url, proc.returncode, proc.stderr)
    body, _, tail = proc.stdout.rpartition("\n")
    return int(tail.split()[0]), body


def test_api_health_over_https_verified_against_the_local_ca(stack):
    status, body = curl("https://%s/api/health" % DOMAIN)
    assert status == 200, body
    assert json.loads(body)["checks"] == {"database": "ok", "mqtt": "ok"}


def test_the_certificate_names_the_hosts_explicitly(stack):
    text = sh("openssl", "x509", "-in", str(DEPLOY_DIR / "config/traefik/certs/server.crt"), "-noout", "-ext",
              "subjectAltName").stdout
    assert "DNS:%s" % DOMAIN in text and "DNS:%s" % DASHBOARD in text and "*" not in text
    assert sh("openssl", "verify", "-CAfile", str(CA), str(DEPLOY_DIR / "config/traefik/certs/server.crt")).returncode == 0


def test_http_redirects_to_https(stack):
    status, _ = curl("http://%s/api/health" % DOMAIN, "-D", "/dev/stderr")
    assert status in (301, 308)
    proc = subprocess.run(["curl", "-sS", "-o", "/dev/null", "-w", "%{redirect_url}", "--resolve",
                           "%s:80:127.0.0.1" % DOMAIN, "http://%s/api/health" % DOMAIN],
                          capture_output=True, text=True, check=True)
    assert proc.stdout == "https://%s/api/health" % DOMAIN


@pytest.mark.parametrize("host,path,expect", [(DOMAIN, "/api/health", 200), (DOMAIN, "/", 200),
                                              (DASHBOARD, "/dashboard/", 401)])
def test_every_websecure_route_sends_hsts(stack, host, path, expect):
    """The websecure entrypoint attaches secure-headers to every router: the app's (Docker labels) and the
    dashboard's (file provider), on success and on an auth refusal alike."""
    status, head = curl("https://%s%s" % (host, path), "-D", "-", host=host)
    assert status == expect, head
    assert "strict-transport-security: max-age=300" in head.lower(), head


def test_an_unknown_host_gets_404(stack):
    status, _ = curl("https://unknown.example/", host="unknown.example", ca=False)
    assert status == 404


def test_the_frontend_is_served_on_the_domain(stack):
    status, body = curl("https://%s/" % DOMAIN)
    assert status == 200 and "<script" in body


def test_without_a_backend_the_api_gets_an_error_from_traefik_never_the_frontends_html(stack):
    """The frontend's router leaves /api to the API's: with the backend stopped, Traefik answers /api itself."""
    compose("stop", "backend")
    try:
        # Traefik drops the stopped container's route when its event arrives (throttled, 2 s by default); until
        # then a request is forwarded to an address nobody holds and hangs in the dial. Wait for the first answer.
        deadline = time.monotonic() + 30
        while True:
            try:
                curl("https://%s/api/health" % DOMAIN, max_time=3)
                break
            except AssertionError:
                assert time.monotonic() < deadline, "Traefik never answered /api after the backend stopped"
                time.sleep(0.5)
        for _ in range(3):
            status, head = curl("https://%s/api/health" % DOMAIN, "-D", "-")
            assert status in (404, 502, 503), head
            assert "text/html" not in head.lower() and "<script" not in head, head
        assert curl("https://%s/" % DOMAIN)[0] == 200
    finally:
        compose("start", "backend")
        deadline = time.monotonic() + 90
        while sh("docker", "inspect", "-f", "{{.State.Health.Status}}", container_ids()["backend"],
                 check=False).stdout.strip() != "healthy":
            assert time.monotonic() < deadline, "the backend did not turn healthy again"
            time.sleep(1)


def test_creating_a_project_through_traefik_stores_a_row_and_publishes_an_event(stack):
    env = read_env()
    topic = env["MQTT_TOPIC_PREFIX"] + "/projects/created"
    sub = subscribe_once(topic)
    time.sleep(1.5)
    name = "via-traefik-" + uuid.uuid4().hex[:8]
    status, body = curl("https://%s/api/projects" % DOMAIN, "-X", "POST", "-H", "Content-Type: application/json",
                        "-H", "X-API-Key: " + env["API_KEY"], "--data", json.dumps({"name": name}))
    assert status == 201, body
    out, err = sub.communicate(timeout=40)
    assert json.loads(out)["name"] == name, err
    rows = compose("exec", "-T", "postgres", "psql", "-U", env["POSTGRES_USER"], "-d", env["POSTGRES_DB"], "-tAc",
                   "SELECT count(*) FROM projects WHERE name = '%s'" % name).stdout.strip()
    assert rows == "1"
    status, body = curl("https://%s/api/projects" % DOMAIN)
    assert status == 200 and name in [p["name"] for p in json.loads(body)]


def test_the_dashboard_needs_credentials(stack):
    status, _ = curl("https://%s/dashboard/" % DASHBOARD, host=DASHBOARD)
    assert status == 401
    status, _ = curl("https://%s/dashboard/" % DASHBOARD, "-u", "admin:wrong-password", host=DASHBOARD)
    assert status == 401
    password = read_env()["TRAEFIK_DASHBOARD_PASSWORD"]
    status, body = curl("https://%s/api/http/routers" % DASHBOARD, "-u", "admin:" + password, host=DASHBOARD)
    assert status == 200, body
    routers = {r["name"] for r in json.loads(body)}
    assert any(name.startswith("taylordash-api@docker") for name in routers), routers


def test_the_socket_proxy_allows_reads_and_refuses_writes(stack):
    cid = container_ids()["socket-proxy"]
    ip = next(iter(json.loads(sh("docker", "inspect", "--format", "{{json .NetworkSettings.Networks}}",
                                 cid).stdout).values()))["IPAddress"]
    base = "http://%s:2375" % ip

    def call(method, path):
        proc = subprocess.run(["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "-X", method,
                               "--max-time", "10", base + path], capture_output=True, text=True, check=True)
        return int(proc.stdout)

    assert call("GET", "/version") == 200
    assert call("GET", "/containers/json") == 200
    before = container_ids()
    assert call("POST", "/containers/create?name=should-not-exist") == 403
    assert call("POST", "/containers/%s/stop" % before["postgres"]) == 403
    assert call("DELETE", "/containers/%s" % before["frontend"]) == 403
    assert call("GET", "/images/json") == 403
    assert container_ids() == before


SERVER_CERT = DEPLOY_DIR / "config/traefik/certs/server.crt"
SERVER_KEY = DEPLOY_DIR / "config/traefik/certs/server.key"


def cert_facts():
    out = sh("openssl", "x509", "-in", str(SERVER_CERT), "-noout", "-serial", "-ext", "subjectAltName").stdout
    serial = out.split("serial=", 1)[1].split()[0]
    return serial, sorted(name.strip() for name in out.split("Alternative Name:", 1)[1].split(","))


TAGS = "infrastructure,proxy"


def test_the_pki_is_left_alone_when_in_order_and_reissued_when_not(stack):
    """One read decides whether the internal CA owes this host anything: a no-op runs no PKI step; a key
    others could read gets a new key and certificate (it may have leaked), as do more names or a renewal
    window past the expiry. The infrastructure phase issues Traefik's certificate with the others'."""
    serial, names = cert_facts()
    assert names == sorted(["DNS:" + DASHBOARD, "DNS:" + DOMAIN])
    key = SERVER_KEY.read_text()
    try:
        os.chmod(SERVER_KEY, 0o644)
        run = playbook("deploy-prod.yml", "--tags", TAGS)
        assert run.rc == 0 and run.changed >= 1, run
        assert os.stat(SERVER_KEY).st_mode & 0o777 == 0o600 and SERVER_KEY.read_text() != key
        assert cert_facts()[0] != serial
        serial = cert_facts()[0]

        extra = "api." + DOMAIN
        run = playbook("deploy-prod.yml", "--tags", TAGS,
                       extra_vars={"proxy_tls_names": [DOMAIN, DASHBOARD, extra]})
        assert run.rc == 0, run
        renamed_serial, renamed = cert_facts()
        assert renamed_serial != serial and "DNS:" + extra in renamed

        run = playbook("deploy-prod.yml", "--tags", TAGS,
                       extra_vars={"proxy_tls_names": [DOMAIN, DASHBOARD, extra], "proxy_cert_renew_days": 100000})
        assert run.rc == 0 and run.changed >= 1, run
        assert cert_facts()[0] not in (serial, renamed_serial)
    finally:
        back = playbook("deploy-prod.yml", "--tags", TAGS)
    assert back.rc == 0, back
    assert cert_facts()[1] == names
    again = playbook("deploy-prod.yml", "--tags", TAGS)
    assert again.rc == 0 and again.changed == 0, again
    assert "TASK [infrastructure : Create the CA's private key (once, kept)]" not in again.out, again
