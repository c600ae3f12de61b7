# -*- coding: utf-8 -*-
"""Table-driven tests for plugins/module_utils/_audit_files.py: parsing the files the audit reads, credential
keys, ports, fingerprints, known defaults, and analyse (no value ever in its output)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import hmac
import json
import sys

import pytest

from ansible_collections.taylordash.ops.plugins.module_utils import _audit_files as af

KEY = b"k" * 32
OTHER_KEY = b"o" * 32


def fp(value, key=KEY):
    return af.fingerprint(key, value)


# --------------------------------------------------------------------------- parse

@pytest.mark.parametrize(
    "kind, path, text, expected",
    [
        ("env", "/a/.env", "A=1\nexport B='x y'\n", [(1, "A", "1"), (2, "B", "x y")]),
        ("env", "/a/.env", 'A="say \\"hi\\""\n', [(1, "A", 'say "hi"')]),
        ("env", "/a/.env", "# c\n\n  # c2\nA=v # comment\nB=a#b\nC = spaced \n",
         [(4, "A", "v"), (5, "B", "a#b"), (6, "C", "spaced")]),
        ("env", "/a/.env", "A=1\r\nB=\r\n", [(1, "A", "1"), (2, "B", "")]),
        ("env", "/a/.env", 'K="-----BEGIN KEY-----\nabc\n-----END KEY-----"\nN=2\n',
         [(1, "K", "-----BEGIN KEY-----\nabc\n-----END KEY-----"), (4, "N", "2")]),
        ("env", "/a/.env", "not an assignment\nA=1\n", [(2, "A", "1")]),
        ("compose", "/a/compose.yml",
         "services:\n  db:\n    environment:\n      POSTGRES_PASSWORD: pw\n      EMPTY:\n",
         [(4, "db.environment.POSTGRES_PASSWORD", "pw")]),
        ("compose", "/a/compose.yml",
         "services:\n  db:\n    environment:\n      - POSTGRES_PASSWORD=pw\n      - PASSED_THROUGH\n"
         "    labels:\n      - a.b.c=x=y\n",
         [(4, "db.environment.POSTGRES_PASSWORD", "pw"), (7, "db.labels.a.b.c", "x=y")]),
        ("compose", "/a/compose.yml",
         "services:\n  app:\n    command: [\"uvicorn\", \"--port\",\n              \"8000\"]\n",
         [(3, "app.command", "uvicorn"), (3, "app.command", "--port"), (4, "app.command", "8000")]),
        ("compose", "/a/compose.yml",
         "x-env: &env\n  TOKEN: t\nservices:\n  a:\n    environment:\n      <<: *env\n      B: b\n",
         [(2, "x-env.TOKEN", "t"), (7, "a.environment.B", "b")]),
        ("compose", "/a/compose.yml", "---\nservices:\n  a:\n    image: x\n---\nservices:\n  b:\n    image: y\n",
         [(4, "a.image", "x"), (8, "b.image", "y")]),
        ("config", "/a/app.yaml", "db:\n  password: 's'\n  hosts: [a, b]\n",
         [(2, "db.password", "s"), (3, "db.hosts", "a"), (3, "db.hosts", "b")]),
        ("config", "/etc/app.ini", "[database]\npassword = s3 ; comment\n; skipped\nname: app\n# c\n",
         [(2, "database.password", "s3"), (4, "database.name", "app")]),
        ("config", "/etc/mosquitto/mosquitto.conf", "listener 9001\nprotocol websockets\n"
         "password_file /etc/mosquitto/passwd  # comment\n",
         [(1, "listener", "9001"), (2, "protocol", "websockets"), (3, "password_file", "/etc/mosquitto/passwd")]),
        ("config", "/etc/nginx/site.conf", "server {\n  listen 80 default_server;\n  location / {\n"
         "    proxy_pass http://app:8000;\n  }\n}\n",
         [(2, "listen", "80 default_server"), (4, "proxy_pass", "http://app:8000")]),
        ("config", "/a/settings.json", '{\n  "db": {\n    "password": "s",\n    "port": 5432\n  },\n'
         '  "cache": {"password": "c", "on": true, "none": null},\n  "list": [1, "two"]\n}\n',
         [(3, "db.password", "s"), (4, "db.port", "5432"), (6, "cache.password", "c"), (6, "cache.on", "true"),
          (7, "list", "1"), (7, "list", "two")]),
        ("config", "/a/settings.json", '{"clé": "é"}', [(1, "clé", "é")]),
        ("config", "/home/u/.npmrc", "// a comment\n//registry.npmjs.org/:_authToken=npm_x\n_auth = dXNl\n",
         [(2, "_authToken", "npm_x"), (3, "_auth", "dXNl")]),
        ("config", "/a/settings.py", 'SECRET_KEY = "dj"\nDATABASES = {\n    "default": {\n'
         '        "PASSWORD": "pw",\n}\n',
         [(1, "SECRET_KEY", "dj"), (4, "PASSWORD", "pw")]),
        ("config", "/a/vite.config.ts", "export default {\n  server: {\n    port: 5173,\n    strictPort: true,\n",
         [(3, "port", "5173"), (4, "strictPort", "true")]),
    ],
    ids=["env-plain-export-quote", "env-double-escapes", "env-comments-spaces", "env-crlf-empty",
         "env-multiline", "env-garbage", "compose-mapping-null", "compose-lists", "compose-flow-command",
         "compose-anchor-merge", "compose-documents", "yaml-config", "ini-sections", "mosquitto", "nginx",
         "json", "json-non-ascii", "npmrc", "settings-py", "vite-config"],
)
def test_parse(kind, path, text, expected):
    assert af.parse(kind, path, text) == expected


@pytest.mark.parametrize(
    "kind, path, text, expected, problem",
    [
        ("compose", "/a/compose.yml", "services:\n  a:\n    environment:\n      - PASSWORD=hunter2\n   bad: [\n",
         [(4, "PASSWORD", "hunter2"), (5, "bad", "[")], "not valid YAML (line 5)"),
        ("config", "/a/x.json", '{"password": "hunter2",\n', [], "not valid JSON (line 2)"),
    ],
    ids=["yaml", "json"],
)
def test_a_file_that_does_not_parse_is_read_line_by_line_and_the_problem_names_no_value(kind, path, text,
                                                                                        expected, problem):
    assert af.parse(kind, path, text) == expected
    result = af.analyse({"path": path, "kind": kind, "text": text, "error": None}, KEY)
    assert result["parse_error"] == problem and "hunter2" not in json.dumps(result)


# --------------------------------------------------------------------------- credential keys

@pytest.mark.parametrize("key", [
    "POSTGRES_PASSWORD", "DB_PASSWD", "SMTP_PASS", "MYSQL_PWD", "dbPassword2", "PASSWORDS", "JWT_SECRET",
    "SECRET_KEY", "SECRET_KEY_BASE", "clientSecret", "GITHUB_TOKEN", "authToken", "CSRFTOKEN", "API_KEY",
    "APIKEY", "apiKey", "MINIO_ACCESS_KEY", "AWS_SECRET_ACCESS_KEY", "PRIVATE_KEY", "ENCRYPTION_KEY",
    "SIGNING_KEY", "AUTH_KEY", "PASSPHRASE", "CREDENTIALS", "MQTT_AUTH", "BASIC_AUTH", "requirepass",
    "masterauth", "PASSWORD_HASH", "db.password", "postgres.environment.POSTGRES_PASSWORD", "users[0].password",
    "traefik.http.middlewares.auth.basicauth.users", "minio-root-password",
])
def test_credential_keys(key):
    assert af.credential_key(key) is True


@pytest.mark.parametrize("key", [
    "PASSWORD_FILE", "POSTGRES_PASSWORD_FILE", "TLS_PRIVATE_KEY_PATH", "SECRETS_DIR", "AWS_ACCESS_KEY_ID",
    "KEY_ID", "SECRET_NAME", "POSTGRES_PORT", "MQTT_PORT", "DB_HOST", "POSTGRES_USER", "MINIO_ROOT_USER",
    "TOKEN_EXPIRE_MINUTES", "PASSWORD_MIN_LENGTH", "POSTGRES_HOST_AUTH_METHOD", "AUTH_ENABLED", "KEY",
    "PUBLIC_KEY", "GPG_KEY", "PWD", "auth_basic", "auth_basic_user_file", "OAUTH_PROVIDER", "AUTHOR",
    "TOKENIZERS_PARALLELISM", "BYPASS", "COMPASS_URL", "password_file", "DATABASE_URL", "SENTRY_DSN", "",
    "minio.ports", "traefik.http.routers.app.rule",
])
def test_not_credential_keys(key):
    assert af.credential_key(key) is False


@pytest.mark.parametrize(
    "key, value, expected",
    [
        ("DATABASE_URL", "postgresql://app:pw@db:5432/app", True),
        ("DATABASE_URL", "postgresql://db:5432/app", False),
        ("DATABASE_URL", "postgresql://app:${PW}@db/app", False),
        ("SQLALCHEMY_DATABASE_URI", "mysql+pymysql://u:p@h/d", True),
        ("SENTRY_DSN", "https://publickey@sentry.example/1", False),
        ("SENTRY_DSN", "https://public:secret@sentry.example/1", True),
        ("PG_DSN", "app:pw@db:5432", True),
        ("CONNECTION_STRING", "amqp://guest:guest@rabbit/", True),
        ("MQTT_URL", "mqtt://broker:1883", False),
    ],
)
def test_locator_keys_are_credentials_only_with_a_password(key, value, expected):
    assert af.credential_key(key, value) is expected


# --------------------------------------------------------------------------- values

@pytest.mark.parametrize(
    "value, kind, expected",
    [
        ("plain", None, "plain"),
        ("${POSTGRES_PASSWORD}", None, None),
        ("$POSTGRES_PASSWORD", None, None),
        ("${POSTGRES_PASSWORD:-postgres}", None, "postgres"),
        ("${POSTGRES_PASSWORD-}", None, ""),
        ("${POSTGRES_PASSWORD:?set it in .env}", None, None),
        ("${POSTGRES_PASSWORD:+x}", None, None),
        ("pre${X}", None, "pre${X}"),
        ("admin:$$apr1$$x", "compose", "admin:$apr1$x"),
        ("admin:$$apr1$$x", "env", "admin:$$apr1$$x"),
        (None, None, None),
    ],
)
def test_literal(value, kind, expected):
    assert af.literal(value, kind) == expected


@pytest.mark.parametrize(
    "value, schemeless, expected",
    [
        ("postgresql://app:S3cret@db:5432/app", False, ["S3cret"]),
        ("redis://:only-password@cache:6379/0", False, ["only-password"]),
        ("postgresql://app:p%40ss%2Fw@db/app", False, ["p@ss/w"]),
        ("a http://u:one@h and ftp://v:two@k", False, ["one", "two"]),
        ("postgresql://app:${PW}@db/app", False, []),
        ("postgresql://app@db/app", False, []),
        ("https://example.com:8443/path", False, []),
        ("app:pw@db:5432", False, []),
        ("app:pw@db:5432", True, ["pw"]),
    ],
)
def test_url_credentials(value, schemeless, expected):
    assert af.url_credentials(value, schemeless=schemeless) == expected


# --------------------------------------------------------------------------- ports

def port_set(entries):
    return [(e["port"], e["line"], e["key"], e["published"], e.get("address"), e.get("protocol")) for e in entries]


@pytest.mark.parametrize(
    "kind, path, text, expected",
    [
        ("compose", "/a/compose.yml", 'services:\n  minio:\n    ports:\n      - "9001:9001"\n      - 9000:9000\n',
         [(9001, 4, "minio.ports", True, None, None), (9000, 5, "minio.ports", True, None, None)]),
        ("compose", "/a/compose.yml", "services:\n  db:\n    ports:\n      - 127.0.0.1:5432:5432\n"
         '      - "[::1]:6432:5432"\n      - "::1:7432:5432"\n',
         [(5432, 4, "db.ports", True, "127.0.0.1", None), (6432, 5, "db.ports", True, "::1", None),
          (7432, 6, "db.ports", True, "::1", None)]),
        ("compose", "/a/compose.yml", 'services:\n  a:\n    ports:\n      - "8000"\n      - "127.0.0.1::8001"\n'
         '      - "${NOPE}:80"\n', []),
        ("compose", "/a/compose.yml", "services:\n  a:\n    ports:\n      - target: 80\n        published: \"8080\"\n"
         "        host_ip: 0.0.0.0\n        protocol: udp\n      - target: 81\n      - target: 82\n"
         "        published: 8082\n",
         [(8080, 5, "a.ports", True, "0.0.0.0", "udp"), (8082, 10, "a.ports", True, None, None)]),
        ("compose", "/a/compose.yml", 'services:\n  vite:\n    ports: ["5173-5175:5173-5175"]\n',
         [(5173, 3, "vite.ports", True, None, None), (5174, 3, "vite.ports", True, None, None),
          (5175, 3, "vite.ports", True, None, None)]),
        ("compose", "/a/compose.yml", 'services:\n  m:\n    ports:\n      - "${MINIO_CONSOLE_PORT:-9001}:9001/tcp"\n',
         [(9001, 4, "m.ports", True, None, None)]),
        ("compose", "/a/compose.yml", "services:\n  m:\n    command: server /data --console-address \":9001\"\n"
         "    environment:\n      - PORT=8000\n    expose: ['7000']\n",
         [(9001, 3, "m.command", False, None, None), (8000, 5, "m.environment.PORT", False, None, None)]),
        ("compose", "/a/compose.yml", "services:\n  app:\n    command:\n      - uvicorn\n      - --port\n"
         "      - \"8001\"\n      - --bind=0.0.0.0:8002\n      - --web.listen-address=:9090\n",
         [(8001, 6, "app.command", False, None, None), (8002, 7, "app.command", False, "0.0.0.0", None),
          (9090, 8, "app.command", False, None, None)]),
        ("env", "/a/.env", "PORT=3000\nBACKEND_PORT=${BACKEND_PORT:-8000}\nVITE_PORT=$VITE\nSUPPORT=1\n"
         "HTTP_PORT=not-a-port\nLISTEN_ADDR=127.0.0.1:8080\nAPI_URL=http://localhost:9999\n"
         'ARGS="--port 7000 --export 7001"\n',
         [(3000, 1, "PORT", False, None, None), (8000, 2, "BACKEND_PORT", False, None, None),
          (8080, 6, "LISTEN_ADDR", False, "127.0.0.1", None), (7000, 8, "ARGS", False, None, None)]),
        ("config", "/etc/mosquitto/mosquitto.conf", "listener 1883 127.0.0.1\nlistener 9001\nprotocol websockets\n"
         "port 1884\n",
         [(1883, 1, "listener", False, "127.0.0.1", None), (9001, 2, "listener", False, None, None),
          (1884, 4, "port", False, None, None)]),
        ("config", "/etc/nginx/conf.d/a.conf", "server {\n  listen 80;\n  listen [::]:443 ssl http2;\n"
         "  listen 127.0.0.1:8080 default_server;\n  listen *:81;\n  listen unix:/run/a.sock;\n"
         "  proxy_pass http://app:8000;\n}\n",
         [(80, 2, "listen", False, None, None), (443, 3, "listen", False, "::", None),
          (8080, 4, "listen", False, "127.0.0.1", None), (81, 5, "listen", False, None, None)]),
        ("config", "/etc/grafana/grafana.ini", "[server]\nhttp_port = 3001\nhttp_addr = \n",
         [(3001, 2, "server.http_port", False, None, None)]),
        ("config", "/etc/postgresql/postgresql.conf", "listen_addresses = '*'\nport = 5433  # moved\n",
         [(5433, 2, "port", False, None, None)]),
        ("config", "/a/config.json", '{"server": {"port": 8443, "bind": "0.0.0.0:8444"}}',
         [(8443, 1, "server.port", False, None, None), (8444, 1, "server.bind", False, "0.0.0.0", None)]),
        ("config", "/a/x.conf", "PORT=70000\nPORT=0\n", []),
    ],
    ids=["compose-short", "compose-addresses", "compose-no-host-port", "compose-long", "compose-range",
         "compose-variable-default", "compose-command-and-env", "compose-command-list", "env", "mosquitto",
         "nginx", "grafana-ini", "postgresql-conf", "json", "out-of-range"],
)
def test_ports(kind, path, text, expected):
    assert sorted(port_set(af.ports(kind, path, text))) == sorted(expected)


def test_a_wide_range_lists_at_most_max_range_ports():
    found = af.ports("compose", "/a/c.yml", 'services:\n  a:\n    ports: ["10000-60000:10000-60000"]\n')
    assert len(found) == af.MAX_RANGE and found[0]["port"] == 10000


MINIO_COMPOSE = """services:
  minio:
    image: minio/minio
    command: server /data --console-address ":9001"
    ports:
      - "9000:9000"
      - "9001:9001"
"""
MOSQUITTO_CONF = """listener 1883
listener 9001
protocol websockets
"""


def test_the_audit_case_minio_console_and_mosquitto_websockets_both_assign_9001():
    """MinIO's console is published on 9001 by a compose file while mosquitto.conf has its websockets
    listener on 9001: both files say so, each on its line."""
    by_file = {
        "/srv/minio/docker-compose.yml": af.ports("compose", "/srv/minio/docker-compose.yml", MINIO_COMPOSE),
        "/etc/mosquitto/mosquitto.conf": af.ports("config", "/etc/mosquitto/mosquitto.conf", MOSQUITTO_CONF),
    }
    users = dict((path, [e for e in entries if e["port"] == 9001]) for path, entries in by_file.items())
    assert {"port": 9001, "line": 7, "key": "minio.ports", "published": True} in users["/srv/minio/docker-compose.yml"]
    assert users["/etc/mosquitto/mosquitto.conf"] == [
        {"port": 9001, "line": 2, "key": "listener", "published": False}]


# --------------------------------------------------------------------------- fingerprints, defaults

def test_fingerprint_is_the_first_16_hex_digits_of_hmac_sha256():
    expected = "hmac-sha256:" + hmac.new(KEY, "pässword".encode("utf-8"), hashlib.sha256).hexdigest()[:16]
    assert af.fingerprint(KEY, "pässword") == expected
    assert len(expected) == len("hmac-sha256:") + 16


def test_fingerprints_depend_on_the_value_and_the_key():
    assert fp("a") == fp("a") and fp("a") != fp("b") and fp("a") != fp("a", OTHER_KEY)


@pytest.mark.parametrize("value", ["taylordash-dev-key", "postgres", "Password", " changeme ", "ADMIN", "secret",
                                   "minioadmin", "root", "example", "test", "123456", "default", "guest"])
def test_known_defaults(value):
    assert af.known_default(value) is True


@pytest.mark.parametrize("value", ["hunter2", "s3cr3t-Value", "postgres1", "my-admin", "", None, "x" * 40,
                                   "taylordash-dev-key-2"])
def test_not_known_defaults(value):
    """Exact values only, and no length rule: short is weak, but not a known default."""
    assert af.known_default(value) is False


def test_known_defaults_are_listed_in_lower_case_once():
    assert len(set(af.KNOWN_DEFAULTS)) == len(af.KNOWN_DEFAULTS)
    assert all(value == value.lower().strip() for value in af.KNOWN_DEFAULTS)


# --------------------------------------------------------------------------- analyse

ENV_TEXT = """# the stack
POSTGRES_USER=app
POSTGRES_PASSWORD='Xq7-env-pw'
MINIO_ROOT_PASSWORD=minioadmin
JWT_SECRET="jwt-Secret-Value"
DATABASE_URL=postgresql://app:Xq7-env-pw@db:5432/app
REDIS_URL=redis://cache:6379/0
EMPTY_PASSWORD=
REF_PASSWORD=${FROM_ELSEWHERE}
BACKEND_PORT=8000
"""
COMPOSE_TEXT = """services:
  db:
    environment:
      - POSTGRES_PASSWORD=Xq7-env-pw
      - POSTGRES_DB=app
    ports:
      - 127.0.0.1:5432:5432
  backend:
    command: ["sh", "-c", "wait-for postgresql://app:p%40ss@db:5432/app && run"]
    environment:
      MQTT_PASSWORD: ${MQTT_PASSWORD:-changeme}
"""
VALUES = ["Xq7-env-pw", "minioadmin", "jwt-Secret-Value", "p%40ss", "p@ss", "changeme"]


def entry(path, kind, text, **extra):
    value = {"path": path, "kind": kind, "mode": "0644", "owner": "root", "group": "root", "world_readable": True,
             "error": None, "text": text}
    value.update(extra)
    return value


def secrets_by_key(result):
    return dict((s["key"], s) for s in result["secrets"])


def test_analyse_keeps_the_entry_drops_the_text_and_holds_no_value():
    result = af.analyse(entry("/srv/.env", "env", ENV_TEXT), KEY)
    assert "text" not in result
    assert dict((k, result[k]) for k in ("path", "kind", "mode", "owner", "group", "world_readable", "error")) == {
        "path": "/srv/.env", "kind": "env", "mode": "0644", "owner": "root", "group": "root",
        "world_readable": True, "error": None}
    dumped = json.dumps(result)
    for value in VALUES:
        assert value not in dumped
    assert result["ports"] == [{"port": 8000, "line": 10, "key": "BACKEND_PORT", "published": False}]
    assert result["secrets"] == [
        {"line": 3, "key": "POSTGRES_PASSWORD", "fingerprint": fp("Xq7-env-pw"), "detector": "keyword",
         "known_default": False},
        {"line": 4, "key": "MINIO_ROOT_PASSWORD", "fingerprint": fp("minioadmin"), "detector": "keyword",
         "known_default": True},
        {"line": 5, "key": "JWT_SECRET", "fingerprint": fp("jwt-Secret-Value"), "detector": "keyword",
         "known_default": False},
        {"line": 6, "key": "DATABASE_URL", "fingerprint": fp("Xq7-env-pw"), "detector": "url-credentials",
         "known_default": False},
    ]


def test_analyse_a_compose_file_same_value_same_fingerprint_url_passwords_decoded_defaults_used():
    env = secrets_by_key(af.analyse(entry("/srv/.env", "env", ENV_TEXT), KEY))
    result = af.analyse(entry("/srv/docker-compose.yml", "compose", COMPOSE_TEXT), KEY)
    found = secrets_by_key(result)
    assert found["db.environment.POSTGRES_PASSWORD"]["fingerprint"] == env["POSTGRES_PASSWORD"]["fingerprint"]
    assert found["backend.command"] == {"line": 9, "key": "backend.command", "fingerprint": fp("p@ss"),
                                        "detector": "url-credentials", "known_default": False}
    assert found["backend.environment.MQTT_PASSWORD"]["known_default"] is True
    assert found["backend.environment.MQTT_PASSWORD"]["fingerprint"] == fp("changeme")
    assert result["ports"] == [{"port": 5432, "line": 7, "key": "db.ports", "published": True,
                                "address": "127.0.0.1"}]
    for value in VALUES:
        assert value not in json.dumps(result)


def test_compose_dollar_escapes_are_undone_before_fingerprinting():
    text = ("services:\n  app:\n    command: sh -c 'psql postgresql://app:pa$$word@db/app'\n"
            "    environment:\n      DB_PASSWORD: pa$$word\n      REF_PASSWORD: ${REF:?required}\n")
    result = af.analyse(entry("/srv/compose.yml", "compose", text), KEY)
    assert [(s["line"], s["key"], s["fingerprint"], s["detector"]) for s in result["secrets"]] == [
        (3, "app.command", fp("pa$word"), "url-credentials"),
        (5, "app.environment.DB_PASSWORD", fp("pa$word"), "keyword"),
    ]


def test_analyse_fingerprints_differ_with_the_key():
    one = af.analyse(entry("/srv/.env", "env", ENV_TEXT), KEY)["secrets"]
    two = af.analyse(entry("/srv/.env", "env", ENV_TEXT), OTHER_KEY)["secrets"]
    assert [s["fingerprint"] for s in one] != [s["fingerprint"] for s in two]
    assert [dict(s, fingerprint=None) for s in one] == [dict(s, fingerprint=None) for s in two]


@pytest.mark.parametrize("extra", [{"text": None, "error": "Permission denied"}, {"error": "too large"},
                                   {"text": "PASSWORD=x\n", "error": "truncated"}])
def test_a_file_without_text_or_with_an_error_has_no_ports_nor_secrets(extra):
    raw = entry("/srv/.env", "env", None)
    del raw["text"]
    raw.update(extra)
    result = af.analyse(raw, KEY)
    assert result["ports"] == [] and result["secrets"] == [] and "text" not in result


def test_url_credentials_outside_assignments_are_found_too():
    text = "# old: postgresql://app:c0mment-pw@db/app\nlistener 1883\n"
    result = af.analyse(entry("/etc/mosquitto/mosquitto.conf", "config", text), KEY)
    assert result["secrets"] == [{"line": 1, "key": None, "fingerprint": fp("c0mment-pw"),
                                  "detector": "url-credentials", "known_default": False}]


def fake_detector(findings):
    calls = []

    def detect(lines):
        calls.append(list(lines))
        return findings
    detect.calls = calls
    return detect


def test_detector_findings_are_merged_deduplicated_and_widened():
    text = ("POSTGRES_PASSWORD=Xq7-env-pw\n"                                  # 1 keyword already
            "GITHUB=ghp_abcdefghijklmnopqrstuvwxyz0123456789\n"               # 2 whole value
            "CMD=run --with ghp_zyxwvutsrqponmlkjihgfedcba9876543210 now\n"   # 3 widened token
            "# eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl\n"           # 4 widened, no key
            "-----BEGIN RSA PRIVATE KEY-----\nMIIBOgIBAAJBAKj34GkxFhD90vcNLYLInFEX6Ppy1tPf9Cnzj4p4WGeKLs1Pt8Qu\n"
            "-----END RSA PRIVATE KEY-----\n")
    detector = fake_detector([
        (1, "Secret Keyword", "Xq7-env-pw"),
        (2, "GitHub Token", "ghp"),
        (3, "GitHub Token", "ghp"),
        (3, "Base64 High Entropy String", "ghp_zyxwvutsrqponmlkjihgfedcba9876543210"),
        (4, "JSON Web Token", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0."),
        (5, "Private Key", "BEGIN RSA PRIVATE KEY"),
        (99, "Secret Keyword", "out of range"),
        (2, "Secret Keyword", ""),
    ])
    result = af.analyse(entry("/srv/.env", "env", text), KEY, detector)
    assert detector.calls == [text.split("\n")]
    pem = "\n".join(text.split("\n")[4:7])
    assert result["secrets"] == [
        {"line": 1, "key": "POSTGRES_PASSWORD", "fingerprint": fp("Xq7-env-pw"), "detector": "keyword",
         "known_default": False},
        {"line": 2, "key": "GITHUB", "fingerprint": fp("ghp_abcdefghijklmnopqrstuvwxyz0123456789"),
         "detector": "detect-secrets:GitHub Token", "known_default": False},
        {"line": 3, "key": "CMD", "fingerprint": fp("ghp_zyxwvutsrqponmlkjihgfedcba9876543210"),
         "detector": "detect-secrets:GitHub Token", "known_default": False},
        {"line": 4, "key": None, "fingerprint": fp("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl"),
         "detector": "detect-secrets:JSON Web Token", "known_default": False},
        {"line": 5, "key": None, "fingerprint": fp(pem), "detector": "detect-secrets:Private Key",
         "known_default": False},
    ]


def test_a_detector_finding_inside_a_multiline_value_already_fingerprinted_is_not_repeated():
    text = 'TLS_PRIVATE_KEY="-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIBkg\n-----END EC PRIVATE KEY-----"\n'
    result = af.analyse(entry("/srv/.env", "env", text), KEY,
                        fake_detector([(1, "Private Key", "BEGIN EC PRIVATE KEY"), (2, "Base64", "MHcCAQEEIBkg")]))
    assert [(s["line"], s["detector"]) for s in result["secrets"]] == [(1, "keyword")]


# --------------------------------------------------------------------------- detect-secrets

def test_detect_secrets_lines_uses_the_line_scanner_not_the_eager_adhoc_one():
    lines = ["PORT=9001", "AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE", "", 'password: "hunter2xyz"',
             "DATABASE_URL=postgresql://app:S3cretPw@db:5432/app"]
    found = af.detect_secrets_lines(lines, "/srv/docker-compose.yml")
    assert (2, "AWS Access Key", "AKIAIOSFODNN7EXAMPLE") in found
    assert (4, "Secret Keyword", "hunter2xyz") in found
    assert (5, "Basic Auth Credentials", "S3cretPw") in found
    assert not [item for item in found if item[0] == 1]


def test_detect_secrets_lines_names_the_package_when_it_is_missing(monkeypatch):
    monkeypatch.setitem(sys.modules, "detect_secrets.core.scan", None)
    with pytest.raises(af.MissingDetectSecrets, match=r"detect-secrets==1\.5\.0"):
        af.detect_secrets_lines(["A=1"])


def test_analyse_with_detect_secrets_holds_no_value():
    text = (ENV_TEXT + "AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE\n"
            "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n")
    result = af.analyse(entry("/srv/.env", "env", text), KEY,
                        lambda lines: af.detect_secrets_lines(lines, "/srv/.env"))
    dumped = json.dumps(result)
    for value in VALUES + ["AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"]:
        assert value not in dumped
    found = dict((s["line"], s["detector"]) for s in result["secrets"])
    assert found[11] == "detect-secrets:AWS Access Key" and found[12] == "keyword"


def test_digests_are_not_secrets_however_high_their_entropy():
    text = 'services:\n  traefik:\n    labels:\n      org.taylordash.config-hash: "9f2c4e1a7b3d5c8e0f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f70"\n'

    def detector(lines):
        return [(4, "Hex High Entropy String", "9f2c4e1a7b3d5c8e0f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f70")]
    entry = {"path": "/opt/taylordash/docker-compose.yml", "kind": "compose", "text": text}
    assert af.analyse(entry, b"k" * 32, detector)["secrets"] == []
    token = dict(entry, text=text.replace("config-hash", "webhook-token"))
    assert len(af.analyse(token, b"k" * 32, detector)["secrets"]) == 1
