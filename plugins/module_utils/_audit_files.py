# -*- coding: utf-8 -*-
# Copyright: taylordash-ops developers
# MIT License
"""Secrets and ports of the configuration files the audit read (docs/audit-design.md, layer 2).

Private to this collection. Runs on the controller only, inside the ``audit_facts`` action: the host
module returns each candidate file with its text, and ``analyse`` turns that into what the facts may
hold (the ports the file assigns, and a fingerprint for every secret value), dropping the text. Nothing
returned here ever holds a value; the messages of the few errors name a line, never its content.

Pure: the standard library and PyYAML (which ansible-core requires); PyPI's detect-secrets is imported
lazily by ``detect_secrets_lines`` only, and ``analyse`` takes any detector as an argument.

* ``parse(kind, path, text)``: the ``(line, key, value)`` assignments of a file. ``.env`` files
  (``KEY=value``, quotes, ``export``, comments, multi-line quoted values); compose and other YAML files
  (every scalar under its dotted path, with ``services.`` left out of compose keys, so
  ``postgres.environment.POSTGRES_PASSWORD``; ``environment``/``args``/``labels`` lists of ``KEY=value``
  are split); JSON (dotted keys, the line is the first line holding the key after its parent's); INI and
  ``.conf`` (``key = value``, ``key: value``, and ``key value`` as mosquitto, redis and nginx write it,
  ``[section]`` prefixing its keys). List items keep their list's key (``minio.command``), no index.
* ``credential_key(key, value=None)``: whether a key names a credential (see its table below).
* ``ports(kind, path, text)``: the host ports a file assigns.
* ``fingerprint(key_bytes, value)``, ``KNOWN_DEFAULTS``, ``known_default(value)``.
* ``analyse(entry, key_bytes, detector=None)``: a host module's file entry -> the facts' file entry.
* ``detect_secrets_lines(lines, filename=None)``: detect-secrets' findings for a file's lines.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import hmac
import json
import os
import re
import shlex
from collections import OrderedDict

try:
    from urllib.parse import unquote
except ImportError:  # pragma: no cover - Python 2
    from urllib import unquote

import yaml

FINGERPRINT_PREFIX = "hmac-sha256:"
DETECT_SECRETS_REQUIREMENT = "detect-secrets==1.5.0"
MAX_RANGE = 1024  # a published range wider than this lists its first MAX_RANGE ports only

# --------------------------------------------------------------------------- known defaults

# Values that are published somewhere as a default or a documentation example, so anybody may try them.
# Exact matches only (case-insensitive, surrounding blanks ignored): a finding marked known_default is
# critical, so the list holds clear defaults, not every weak password. No length rule either: a short
# value is weak, but calling "hunter2" a *known default* would make the critical finding meaningless
# (and a length rule would also flag every short non-secret that a keyword rule happens to catch).
KNOWN_DEFAULTS = (
    "taylordash-dev-key",  # this project's development key, published in its examples
    "postgres",  # the postgres image's documented user, and the password of countless examples
    "mysecretpassword",  # the postgres image's documented example password
    "minioadmin",  # MinIO's root user and password when none is set
    "guest",  # RabbitMQ's default user and password
    "root",
    "toor",
    "admin",  # Grafana's, and many web consoles', first password
    "administrator",
    "password",
    "password1",
    "password123",
    "passw0rd",
    "pass",
    "changeme",  # Elasticsearch's former default, and a classic placeholder
    "change-me",
    "changeit",  # the Java keystore default
    "secret",
    "supersecret",
    "default",
    "example",
    "test",
    "testing",
    "foobared",  # redis.conf's requirepass example
    "letmein",
    "qwerty",
    "123456",
    "12345678",
)
_KNOWN_DEFAULTS = frozenset(value.lower() for value in KNOWN_DEFAULTS)


def known_default(value):
    """Whether value is one of KNOWN_DEFAULTS (case-insensitive, surrounding blanks ignored)."""
    return value is not None and str(value).strip().lower() in _KNOWN_DEFAULTS


def fingerprint(key_bytes, value):
    """``hmac-sha256:`` and the first 16 hex digits of HMAC-SHA256(key_bytes, value as UTF-8)."""
    if not isinstance(value, bytes):
        value = str(value).encode("utf-8", "surrogatepass")
    return FINGERPRINT_PREFIX + hmac.new(key_bytes, value, hashlib.sha256).hexdigest()[:16]


# --------------------------------------------------------------------------- credential keys

# credential_key(key, value) decides on the last dotted component of key (list indexes dropped), cut
# into upper-case words at "_", "-", blanks and camelCase (apiKey -> API KEY). Positive cases:
#
#   POSTGRES_PASSWORD, DB_PASSWD, SMTP_PASS, MYSQL_PWD, dbPassword2  a password word (PASS and PWD whole
#                                                                    words only: BYPASS, COMPASS are not)
#   JWT_SECRET, SECRET_KEY, SECRET_KEY_BASE, clientSecret            a word ending in SECRET
#   GITHUB_TOKEN, authToken, CSRFTOKEN                               a word ending in TOKEN (TOKENIZERS is not)
#   API_KEY, apiKey, MINIO_ACCESS_KEY, PRIVATE_KEY,                  KEY after API ACCESS PRIVATE SECRET
#   ENCRYPTION_KEY, SIGNING_KEY, AUTH_KEY                            ENCRYPTION SIGNING MASTER AUTH SESSION
#                                                                    HMAC SHARED JWT CIPHER
#   APIKEY, ACCESSKEY, privatekey, AUTHKEY                           the same in one word
#   PASSPHRASE, CREDENTIALS, MQTT_AUTH, BASIC_AUTH                   ...; AUTH as the last word
#   requirepass, masterauth                                          redis.conf's names
#   traefik...basicauth.users                                        htpasswd lines in Traefik labels
#   DATABASE_URL, SENTRY_DSN, SQLALCHEMY_DATABASE_URI, MQTT_URL      only when the value carries
#                                                                    user:password@ (else a locator)
#
# Negative cases (decided here, see the tests):
#
#   PASSWORD_FILE, TLS_PRIVATE_KEY_PATH, SECRETS_DIR   a file or a path: its content is elsewhere
#   AWS_ACCESS_KEY_ID, KEY_ID, SECRET_NAME             a public identifier or a name
#   *_PORT, *_HOST, *_USER, *_USERNAME                 locators and user names are not secrets
#   TOKEN_EXPIRE_MINUTES, PASSWORD_MIN_LENGTH,         settings about a credential, not one: the last
#   POSTGRES_HOST_AUTH_METHOD, AUTH_ENABLED            word is a descriptor (_DESCRIPTORS)
#   KEY, PUBLIC_KEY, GPG_KEY, SSH_KEY                  a bare or public KEY is too often a name or a path
#   PWD                                                alone, the shell's working directory
#   auth_basic (nginx), OAUTH_PROVIDER, AUTHOR         AUTH not last, or not a word
_STEMS = ("PASSWORD", "PASSWD", "PASSPHRASE", "SECRET", "TOKEN", "APIKEY", "ACCESSKEY", "PRIVATEKEY",
          "SECRETKEY", "AUTHKEY", "CREDENTIAL", "CREDENTIALS")
_WHOLE_WORDS = ("PASS", "PWD")
_KEY_QUALIFIERS = frozenset(("API", "ACCESS", "PRIVATE", "SECRET", "ENCRYPTION", "SIGNING", "MASTER", "AUTH",
                             "SESSION", "HMAC", "SHARED", "JWT", "CIPHER"))
_NAMES = frozenset(("REQUIREPASS", "MASTERAUTH", "MASTERPASS"))
_HTPASSWD_PARENTS = ("basicauth", "digestauth")
_DESCRIPTORS = frozenset((
    "PORT", "PORTS", "FILE", "FILES", "PATH", "PATHS", "DIR", "DIRS", "DIRECTORY", "FOLDER", "HOST", "HOSTS",
    "HOSTNAME", "USER", "USERS", "USERNAME", "LOGIN", "NAME", "NAMES", "ID", "IDS", "TYPE", "KIND", "METHOD",
    "MODE", "ENABLED", "ENABLE", "DISABLED", "DISABLE", "REQUIRED", "LENGTH", "LEN", "TTL", "EXPIRY", "EXPIRE",
    "EXPIRES", "EXPIRATION", "TIMEOUT", "LIFETIME", "SECONDS", "SEC", "MINUTES", "MIN", "HOURS", "DAYS", "MS",
    "ALGORITHM", "ALGORITHMS", "ALGO", "ALG", "HEADER", "FORMAT", "VERSION", "ISSUER", "AUDIENCE", "REALM",
    "PROVIDER", "ENDPOINT", "REGION", "COUNT", "SIZE", "POLICY", "PREFIX", "SUFFIX", "HINT", "LOCATION",
    "NAMESPACE", "ROTATION", "SCOPE", "SCOPES", "FIELD", "PARAM", "VAR", "ENV", "COMMAND", "CMD",
))
_LOCATOR_WORDS = ("URL", "URI", "DSN")
_CAMEL = re.compile(r"([a-z0-9])([A-Z])")
_INDEX = re.compile(r"\[\d*\]$")


def _components(key):
    """The dotted components of key, list indexes dropped."""
    parts = []
    for part in str(key or "").split("."):
        part = _INDEX.sub("", part.strip())
        if part and not part.isdigit():
            parts.append(part)
    return parts


def _words(name):
    return [word for word in re.split(r"[^A-Z0-9]+", _CAMEL.sub(r"\1_\2", name).upper()) if word]


def _credential_word(words, index):
    word = words[index].rstrip("0123456789") or words[index]
    if word in _WHOLE_WORDS:
        return True
    if word.endswith(_STEMS) or (word.endswith("S") and word[:-1].endswith(_STEMS)):
        return True
    if word == "KEY" and index > 0 and words[index - 1] in _KEY_QUALIFIERS:
        return True
    return word == "AUTH" and index == len(words) - 1


def _locator(words):
    """Whether the words name a URL, URI, DSN or connection string."""
    return bool(words) and (words[-1] in _LOCATOR_WORDS or words[-2:] == ["CONNECTION", "STRING"])


def _key_words(key):
    parts = _components(key)
    return _words(parts[-1]) if parts else []


def credential_key(key, value=None):
    """Whether key names a credential (the table above); value matters for URL, URI and DSN keys only,
    which name a credential when the value carries ``user:password@``."""
    parts = _components(key)
    if not parts:
        return False
    last = parts[-1]
    if last.lower() == "users" and len(parts) > 1 and parts[-2].lower() in _HTPASSWD_PARENTS:
        return True
    words = _words(last)
    if not words or words == ["PWD"]:
        return False
    if _locator(words):
        return value is not None and bool(url_credentials(value, schemeless=True))
    if words[-1] in _DESCRIPTORS:
        return False
    if "".join(words) in _NAMES:
        return True
    return any(_credential_word(words, index) for index in range(len(words)))


# --------------------------------------------------------------------------- values

_REFERENCE = re.compile(r"^\$(?:\{[A-Za-z_][A-Za-z0-9_]*(?::?[?+][^}]*)?\}|[A-Za-z_][A-Za-z0-9_]*)$")
_REFERENCE_DEFAULT = re.compile(r"^\$\{[A-Za-z_][A-Za-z0-9_]*:?[-=]([^}]*)\}$")
_INNER_DEFAULT = re.compile(r"\$\{[A-Za-z_][A-Za-z0-9_]*:?[-=]([^}]*)\}")
_INNER_REFERENCE = re.compile(r"(?<!\$)\$(?:\{[^}]*\}|[A-Za-z_][A-Za-z0-9_]*)")
_URL_CREDENTIALS = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*)://([^\s:/@'\"`]*):([^\s@/'\"`]*)@")
_SCHEMELESS_CREDENTIALS = re.compile(r"^([^\s:/@'\"`]+):([^\s@/'\"`]+)@[^\s@]+$")


def literal(value, kind=None):
    """The value a file really assigns: None for a plain ``${VAR}``/``$VAR`` reference (also ``${VAR:?error}``
    and ``${VAR:+other}``: the value is elsewhere), the default of ``${VAR:-default}``; in compose files ``$$``
    is a literal ``$``. A value with a reference inside (``pre${VAR}``) is taken as written."""
    if value is None:
        return None
    value = str(value)
    match = _REFERENCE_DEFAULT.match(value)
    if match:
        return match.group(1)
    if _REFERENCE.match(value):
        return None
    if kind == "compose":
        value = value.replace("$$", "$")
    return value


def url_credentials(value, schemeless=False):
    """The passwords of the ``scheme://user:password@`` URLs in value (percent-decoded), without those that
    are a ``${VAR}`` reference; schemeless: also a whole value ``user:password@host``."""
    found = []
    text = str(value)
    for match in _URL_CREDENTIALS.finditer(text):
        found.append(match.group(3))
    if schemeless and not found:
        match = _SCHEMELESS_CREDENTIALS.match(text.strip())
        if match:
            found.append(match.group(2))
    return [unquote(password) for password in found if password and literal(password) is not None
            and not _INNER_REFERENCE.search(password)]


# --------------------------------------------------------------------------- parsing

class _Record(object):
    """One assignment: line (1-based), key, value (as written), end (last line), seq (the id of the list it
    is an item of, or None)."""

    __slots__ = ("line", "key", "value", "end", "seq")

    def __init__(self, line, key, value, end=None, seq=None):
        self.line, self.key, self.value, self.end, self.seq = line, key, value, end or line, seq


class ParseError(ValueError):
    """A file that is not what its kind says; the message names a line, never a value."""


def _lines(text):
    return [line[:-1] if line.endswith("\r") else line for line in str(text).split("\n")]


def _unquote_double(raw):
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "r": "\r", "t": "\t"}.get(m.group(1), m.group(1)), raw)


_ENV_ASSIGN = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_.\-]*)\s*=\s*(.*)$")


def _closing(text, quote):
    """Index of the closing quote in text (after the opening one), or -1."""
    index = 0
    while index < len(text):
        char = text[index]
        if quote == '"' and char == "\\":
            index += 2
            continue
        if char == quote:
            return index
        index += 1
    return -1


def _strip_comment(raw, markers=("#",)):
    """An unquoted value without its inline comment (a marker after a blank), stripped."""
    for marker in markers:
        match = re.search(r"\s" + re.escape(marker), raw)
        if match:
            raw = raw[:match.start()]
    return raw.strip()


def _parse_env(text):
    records, lines, index = [], _lines(text), 0
    while index < len(lines):
        line = lines[index]
        index += 1
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = _ENV_ASSIGN.match(line)
        if not match:
            continue
        key, raw = match.group(1), match.group(2)
        first = index
        if raw[:1] in ("'", '"'):
            quote, body = raw[0], raw[1:]
            end = _closing(body, quote)
            while end < 0 and index < len(lines):  # a quoted value over several lines
                body += "\n" + lines[index]
                index += 1
                end = _closing(body, quote)
            value = body[:end] if end >= 0 else body
            value = _unquote_double(value) if quote == '"' else value
        else:
            value = _strip_comment(raw)
        records.append(_Record(first, key, value, end=index))
    return records


_SECTION = re.compile(r"^\[([^\]]*)\]\s*(?:[#;].*)?$")
# an optional ``//registry/path:`` scope as .npmrc writes it (//registry.npmjs.org/:_authToken=...)
_INI_ASSIGN = re.compile(r"^(?://[^\s=]*:)?[\"']?([A-Za-z_][\w.\-]*)[\"']?\s*[=:]\s*(.*)$")
_NPM_SCOPE = re.compile(r"^//[^\s=]*:[A-Za-z_][\w.\-]*\s*=")
_SPACE_ASSIGN = re.compile(r"^([A-Za-z_][\w.\-]*)\s+(.+)$")


def _clean_conf_value(raw):
    raw = raw.strip()
    if raw[:1] in ("'", '"'):
        end = _closing(raw[1:], raw[0])
        if end >= 0:
            return _unquote_double(raw[1:end + 1]) if raw[0] == '"' else raw[1:end + 1]
    value = _strip_comment(raw, ("#", ";"))
    return value[:-1].rstrip() if value.endswith((";", ",")) else value


def _parse_conf(text, list_items=False):
    """INI, .conf and anything line-based: key = value, key: value, key value; [section] prefixes keys.
    list_items: also ``- key: value`` and ``- KEY=value`` (the line fallback of a YAML file)."""
    records, section = [], ""
    for number, line in enumerate(_lines(text), 1):
        stripped = line.strip()
        if list_items and stripped.startswith("- "):
            stripped = stripped[2:].strip()
            if stripped[:1] in ("'", '"') and stripped[-1:] == stripped[:1]:
                stripped = stripped[1:-1]
        if not stripped or stripped.startswith(("#", ";")) or stripped in ("{", "}", "};"):
            continue
        if stripped.startswith("//") and not _NPM_SCOPE.match(stripped):  # a // comment
            continue
        match = _SECTION.match(stripped)
        if match and not list_items:
            section = match.group(1).strip()
            continue
        if stripped.endswith("{"):  # nginx block openings: server {, location / {
            continue
        match = _INI_ASSIGN.match(stripped) or _SPACE_ASSIGN.match(stripped)
        if not match:
            continue
        key = "%s.%s" % (section, match.group(1)) if section else match.group(1)
        value = _clean_conf_value(match.group(2))
        if value:
            records.append(_Record(number, key, value))
    return records


def _yaml_null(node):
    return node.tag == "tag:yaml.org,2002:null" or (node.style is None and node.value in ("", "~", "null",
                                                                                          "Null", "NULL"))


def _walk_yaml(node, path, records, seen, seq=None):
    if id(node) in seen:  # an alias of a node already walked
        return
    seen.add(id(node))
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                continue
            child = path if key_node.value == "<<" else path + [key_node.value]
            if isinstance(value_node, yaml.ScalarNode):
                if id(value_node) not in seen and not _yaml_null(value_node):
                    seen.add(id(value_node))
                    end = value_node.end_mark.line + (1 if value_node.end_mark.column else 0)
                    records.append(_Record(key_node.start_mark.line + 1, child, value_node.value,
                                           end=max(end, key_node.start_mark.line + 1)))
            else:
                _walk_yaml(value_node, child, records, seen)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            if isinstance(item, yaml.ScalarNode):
                if id(item) not in seen and not _yaml_null(item):
                    seen.add(id(item))
                    records.append(_Record(item.start_mark.line + 1, path, item.value, seq=id(node)))
            else:
                _walk_yaml(item, path, records, seen)


def _yaml_documents(text):
    try:
        return [document for document in yaml.compose_all(text, Loader=yaml.SafeLoader) if document is not None]
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise ParseError("not valid YAML (line %s)" % (mark.line + 1 if mark else "?"))
    except yaml.YAMLError:
        raise ParseError("not valid YAML")


_SPLIT_LISTS = ("environment", "args", "labels")


def _parse_yaml(text, kind):
    records, seen = [], set()
    for document in _yaml_documents(text):
        _walk_yaml(document, [], records, seen)
    for record in records:
        path = list(record.key)
        if kind == "compose" and len(path) > 1 and path[0] == "services":
            path = path[1:]
        if record.seq is not None and kind == "compose" and path and path[-1] in _SPLIT_LISTS:
            name, sign, value = record.value.partition("=")
            if not sign:  # a pass-through variable: no value here
                record.value = None
                continue
            path, record.value, record.seq = path + [name.strip()], value, None
        record.key = ".".join(path)
    return [record for record in records if record.value is not None]


def _json_text(value):
    return value if isinstance(value, str) else json.dumps(value)


def _parse_json(text):
    try:
        data = json.loads(text, object_pairs_hook=OrderedDict)
    except ValueError as exc:
        raise ParseError("not valid JSON (line %s)" % getattr(exc, "lineno", "?"))
    lines, records, cursor = _lines(text), [], [0]

    def find(needle):
        for index in range(cursor[0], len(lines)):
            if needle in lines[index]:
                cursor[0] = index
                return index + 1
        return cursor[0] + 1

    def walk(value, path, seq=None):
        if isinstance(value, dict):
            for key, item in value.items():
                line = find(json.dumps(key, ensure_ascii=False))
                if isinstance(item, (dict, list)):
                    walk(item, path + [key])
                elif item is not None:
                    records.append(_Record(line, ".".join(path + [key]), _json_text(item)))
        elif isinstance(value, list):
            for item in value:
                if isinstance(item, (dict, list)):
                    walk(item, path)
                elif item is not None:
                    records.append(_Record(find(json.dumps(item, ensure_ascii=False)), ".".join(path),
                                           _json_text(item), seq=id(value)))
    walk(data, [])
    return records


def _syntax(kind, path):
    """env, compose, yaml, json or conf: how a file of that kind and name is read."""
    if kind in ("env", "compose"):
        return kind
    extension = os.path.splitext(str(path or ""))[1].lower()
    if extension == ".json":
        return "json"
    if extension in (".yml", ".yaml"):
        return "yaml"
    if extension == ".env" or os.path.basename(str(path or "")).startswith(".env"):
        return "env"
    return "conf"


def _records(kind, path, text):
    """(records, problem): problem is why the file could not be read as its kind says (then its lines were
    read one by one, as a .conf file), or None."""
    syntax = _syntax(kind, path)
    try:
        if syntax == "env":
            return _parse_env(text), None
        if syntax in ("compose", "yaml"):
            return _parse_yaml(text, kind), None
        if syntax == "json":
            return _parse_json(text), None
        return _parse_conf(text), None
    except ParseError as exc:
        return _parse_conf(text, list_items=syntax != "json"), str(exc)


def parse(kind, path, text):
    """The assignments of a file as (line, key, value), in file order; a file that does not parse as its
    kind is read line by line (``key: value``, ``key = value``, ``key value``)."""
    return [(record.line, record.key, record.value) for record in _records(kind, path, text)[0]]


# --------------------------------------------------------------------------- ports

_ADDRESS_WORDS = frozenset(("ADDR", "ADDRESS", "LISTEN", "BIND", "LISTENER"))
_PORT_OPTION = re.compile(r"^--(?:[A-Za-z0-9.\-]*[-.])?port$", re.IGNORECASE)
_ADDRESS_OPTION = re.compile(r"^--(?:[A-Za-z0-9.\-]*[-.])?(?:address|addr|bind|listen)$", re.IGNORECASE)
_HOST_PORT = re.compile(r"^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9_.\-*]*)):(\d{1,5})$")


def _port_number(text):
    text = str(text).strip()
    if text.isdigit() and 0 < int(text) < 65536:
        return int(text)
    return None


def _host_port(text):
    """(address or None, port) of ``9001``, ``:9001``, ``0.0.0.0:9001``, ``[::]:9001``; None otherwise."""
    text = str(text).strip().strip("'\"")
    port = _port_number(text)
    if port is not None:
        return None, port
    match = _HOST_PORT.match(text)
    if not match or _port_number(match.group(3)) is None:
        return None
    address = match.group(1) if match.group(1) is not None else match.group(2)
    return (address or None), int(match.group(3))


def _interpolated(text, kind):
    """text with ``${VAR:-default}`` replaced by its default; None when a reference without default remains
    (the value is not in this file)."""
    text = _INNER_DEFAULT.sub(lambda match: match.group(1), str(text))
    if _INNER_REFERENCE.search(text):
        return None
    return text.replace("$$", "$") if kind == "compose" else text


def _range(text):
    """The ports of ``9001`` or ``5173-5178`` (at most MAX_RANGE), [] otherwise."""
    first, dash, last = str(text).partition("-")
    first, last = _port_number(first), _port_number(last) if dash else _port_number(first)
    if first is None or last is None or last < first:
        return []
    return list(range(first, min(last, first + MAX_RANGE - 1) + 1))


def _short_syntax(spec):
    """(address, [host ports], protocol) of a compose short-syntax port; no host ports for ``8000`` (the
    container port only: the engine picks the host port) or ``127.0.0.1::8000``."""
    spec, _slash, protocol = str(spec).strip().partition("/")
    address = None
    if spec.startswith("["):
        end = spec.find("]")
        address, spec = spec[1:end], spec[end + 2:]
        parts = spec.split(":")
        host = parts[0] if len(parts) == 2 else ""
    else:
        parts = spec.split(":")
        if len(parts) == 1:
            return None, [], protocol or None
        if len(parts) == 2:
            host = parts[0]
        else:  # address:host:container, the address may be an unbracketed IPv6 one
            address, host = ":".join(parts[:-2]), parts[-2]
    return address or None, _range(host), protocol or None


def _compose_ports(text, kind):
    found = []
    try:
        documents = _yaml_documents(text)
    except ParseError:
        return found
    for document in documents:
        services = _mapping_get(document, "services")
        if not isinstance(services, yaml.MappingNode):
            continue
        for name_node, service in services.value:
            ports_node = _mapping_get(service, "ports")
            if not isinstance(ports_node, yaml.SequenceNode):
                continue
            key = "%s.ports" % name_node.value
            for item in ports_node.value:
                if isinstance(item, yaml.ScalarNode):
                    spec = _interpolated(item.value, kind)
                    if spec is None:
                        continue
                    address, host_ports, protocol = _short_syntax(spec)
                    line = item.start_mark.line + 1
                elif isinstance(item, yaml.MappingNode):
                    fields = dict((k.value, v) for k, v in item.value if isinstance(v, yaml.ScalarNode))
                    published = fields.get("published")
                    if published is None or _yaml_null(published):
                        continue
                    spec = _interpolated(published.value, kind)
                    host_ip = fields.get("host_ip")
                    address = _interpolated(host_ip.value, kind) if host_ip is not None else None
                    protocol = fields["protocol"].value if "protocol" in fields else None
                    host_ports = _range(spec) if spec is not None else []
                    line = published.start_mark.line + 1
                else:
                    continue
                for port in host_ports:
                    entry = _port_entry(line, key, port, address, published=True)
                    if protocol and protocol.lower() != "tcp":
                        entry["protocol"] = protocol.lower()
                    found.append(entry)
    return found


def _mapping_get(node, name):
    if not isinstance(node, yaml.MappingNode):
        return None
    for key_node, value_node in node.value:
        if isinstance(key_node, yaml.ScalarNode) and key_node.value == name:
            return value_node
    return None


def _tokens(record):
    try:
        return shlex.split(record.value, comments=False)
    except ValueError:
        return record.value.split()


def _option_ports(tokens, key):
    """Ports of ``--port 9001``, ``--http-port=9001``, ``--bind 0.0.0.0:8000``, ``--console-address :9001``
    in [(line, token)]."""
    found = []
    for index, (line, token) in enumerate(tokens):
        name, equals, value = token.partition("=")
        if not equals:
            if index + 1 >= len(tokens):
                continue
            line, value = tokens[index + 1]
        if _PORT_OPTION.match(name):
            port = _port_number(value)
            if port is not None:
                found.append(_port_entry(line, key, port))
        elif _ADDRESS_OPTION.match(name):
            parsed = _host_port(value) if ":" in str(value) else None
            if parsed:
                found.append(_port_entry(line, key, parsed[1], parsed[0]))
    return found


def _port_entry(line, key, port, address=None, published=False):
    entry = {"port": port, "line": line, "key": key, "published": published}
    if address and address != "*":
        entry["address"] = address
    return entry


def _record_ports(record, kind):
    """Ports a single assignment gives: a *PORT* key with a port, a listener/listen/*_ADDR with host:port."""
    value = _interpolated(record.value, kind)
    if value is None:
        return []
    words = _key_words(record.key)
    if "PORT" in words:
        port = _port_number(value)
        return [_port_entry(record.line, record.key, port)] if port is not None else []
    if words and words[-1] in _ADDRESS_WORDS and "://" not in value:
        pieces = value.split()
        if not pieces:
            return []
        if words[-1] == "LISTENER" and _port_number(pieces[0]) is not None:  # mosquitto: listener 9001 [addr]
            return [_port_entry(record.line, record.key, int(pieces[0]), pieces[1] if len(pieces) > 1 else None)]
        parsed = _host_port(pieces[0]) if words[-1] == "LISTEN" or ":" in pieces[0] else None
        if parsed:
            return [_port_entry(record.line, record.key, parsed[1], parsed[0])]
        return []
    return []


def _ports_from_records(records, kind):
    found, sequences = [], OrderedDict()
    for record in records:
        found.extend(_record_ports(record, kind))
        if record.seq is not None:
            sequences.setdefault(record.seq, (record.key, []))[1].append(record)
            continue
        if "-" in record.value:
            tokens = [(record.line, token) for token in _tokens(record)]
            found.extend(_option_ports(tokens, record.key))
    for key, items in sequences.values():  # a command written as a list: options and values are items
        tokens = []
        for item in items:
            if item.value is None:
                continue
            tokens.extend((item.line, token) for token in _tokens(item))
        found.extend(_option_ports(tokens, key))
    return found


def _ports(kind, path, text, records):
    found = _compose_ports(text, kind) if kind == "compose" else []
    found.extend(_ports_from_records(records, kind))
    unique, seen = [], set()
    for entry in found:
        identity = (entry["line"], entry["port"], entry.get("address"), entry.get("protocol"))
        if identity not in seen:
            seen.add(identity)
            unique.append(entry)
    return sorted(unique, key=lambda entry: (entry["line"], entry["port"]))


def ports(kind, path, text):
    """The host ports a file assigns, by line: [{port, line, key, published, address?, protocol?}].

    published is true for a compose ``ports:`` entry (the engine publishes it on the host), false for a
    port a program is told to listen on (``*PORT*=9001``, ``listener 9001``, ``listen 9001;``,
    ``--port 9001``, ``--bind 0.0.0.0:8000``, ``LISTEN_ADDR=:8080``). address is there when the file
    gives one, protocol when it is not tcp. Compose's ``8000`` (container port only) and
    ``127.0.0.1::8000`` assign no host port and are left out, as are ``${VAR}`` ports without a default
    and client URLs (``http://db:5432`` is where a program connects, not where it listens)."""
    return _ports(kind, path, text, _records(kind, path, text)[0])


# --------------------------------------------------------------------------- secrets

_TOKEN_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-.+/")


def _widen(text, secret):
    """The whole token of text around secret: detect-secrets reports only a part of some tokens (``ghp``
    of a GitHub token, a JWT without its signature), whose fingerprint would be the same everywhere."""
    start = text.find(secret)
    if start < 0:
        return secret
    end = start + len(secret)
    while start > 0 and text[start - 1] in _TOKEN_CHARS:
        start -= 1
    while end < len(text) and text[end] in _TOKEN_CHARS:
        end += 1
    while end < len(text) and text[end] == "=":
        end += 1
    return text[start:end]


def _pem_block(lines, index):
    """The lines of a PEM block from its BEGIN line (0-based index) to its END line."""
    block = []
    for line in lines[index:]:
        block.append(line.strip().strip("'\""))
        if "-----END" in line:
            break
    return "\n".join(block)


def _unescape(value, kind):
    return value.replace("$$", "$") if kind == "compose" else value


def _secret(line, key, value, key_bytes, detector):
    return {"line": line, "key": key, "fingerprint": fingerprint(key_bytes, value), "detector": detector,
            "known_default": known_default(value)}


# Keys whose values are digests (a compose label's config-hash, a checksum, an image digest).
_DIGEST_KEY = re.compile(r"(hash|checksum|digest|sha\d*|sha256sum|etag|fingerprint)$", re.I)


def _secrets(kind, records, lines, key_bytes, detector):
    found, covered = [], []  # covered: (first line, last line, value) of what is fingerprinted already

    def add(record, line, key, value, name):
        entry = _secret(line, key, value, key_bytes, name)
        if not any(other["line"] == line and other["fingerprint"] == entry["fingerprint"] for other in found):
            found.append(entry)
        covered.append((record.line if record else line, record.end if record else line, value))

    for record in records:
        value = literal(record.value, kind)
        if not value:
            continue
        passwords = [_unescape(password, kind) for password in
                     url_credentials(literal(record.value), schemeless=_locator(_key_words(record.key)))]
        for password in passwords:
            add(record, record.line, record.key, password, "url-credentials")
        if not passwords and credential_key(record.key, value):
            add(record, record.line, record.key, value, "keyword")
    for number, text in enumerate(lines, 1):  # URLs outside any assignment (a command, a comment)
        for password in url_credentials(text):
            password = _unescape(password, kind)
            if not any(first <= number <= last and value == password for first, last, value in covered):
                add(None, number, _key_at(records, number), password, "url-credentials")
    for number, type_name, secret in (detector(lines) if detector else []):
        if not secret or not 0 < number <= len(lines):
            continue
        if any(first <= number <= last and secret in value for first, last, value in covered):
            continue  # the same secret, found by a keyword or in a URL already
        record = _record_at(records, number)
        if record is not None and "High Entropy" in type_name and _DIGEST_KEY.search(record.key or ""):
            continue  # a checksum or a configuration hash is high-entropy and no secret
        value = literal(record.value, kind) if record is not None else None
        if type_name == "Private Key":
            value = value if value and secret in value else _pem_block(lines, number - 1)
        elif value and secret in value and not re.search(r"\s", value):
            pass  # the whole value of the assignment
        else:
            value = _widen(lines[number - 1], secret)
        add(record, number, record.key if record is not None else None, value, "detect-secrets:%s" % type_name)
    return sorted(found, key=lambda entry: (entry["line"], entry["key"] or "", entry["detector"]))


def _record_at(records, number):
    for record in records:
        if record.line <= number <= record.end:
            return record
    return None


def _key_at(records, number):
    record = _record_at(records, number)
    return record.key if record is not None else None


def analyse(entry, key_bytes, detector=None):
    """The facts' file entry for a host module's file entry: the same fields without ``text``, with
    ``ports`` (see ports) and ``secrets`` [{line, key, fingerprint, detector, known_default}], and
    ``parse_error`` when the text is not what its kind says (its lines were still read one by one).

    detector(lines) -> [(line_number, type_name, secret_value)] adds the findings of another scanner
    (detector ``detect-secrets:<type_name>``) but those of a secret already found on its line by a
    keyword or in a URL. No value is in what is returned: each becomes its fingerprint."""
    result = dict((name, value) for name, value in entry.items() if name != "text")
    result["ports"], result["secrets"] = [], []
    text = entry.get("text")
    if text is None or entry.get("error"):
        return result
    kind, path = entry.get("kind"), entry.get("path")
    records, problem = _records(kind, path, text)
    result["ports"] = _ports(kind, path, text, records)
    result["secrets"] = _secrets(kind, records, _lines(text), key_bytes, detector)
    if problem:
        result["parse_error"] = problem
    return result


# --------------------------------------------------------------------------- detect-secrets

class MissingDetectSecrets(ImportError):
    """detect-secrets is not installed on the controller."""


def load_detect_secrets():
    """detect-secrets' line scanner and settings, or MissingDetectSecrets naming the requirement."""
    try:
        from detect_secrets.core.scan import _process_line_based_plugins
        from detect_secrets.settings import default_settings
    except ImportError as exc:
        raise MissingDetectSecrets("the audit needs the Python package detect-secrets on the controller "
                                   "(%s, in requirements.txt: pip install -r requirements.txt): %s"
                                   % (DETECT_SECRETS_REQUIREMENT, exc))
    return _process_line_based_plugins, default_settings


def detect_secrets_lines(lines, filename=None):
    """detect-secrets' findings in lines as [(line_number, type, value)], with every plugin and the default
    filters (``default_settings()``), line by line as ``detect-secrets scan`` reads a file: filename (the
    file's path) picks the keyword rules of its type (YAML, .conf, ...).

    Not ``detect_secrets.core.scan.scan_line``: that ad hoc scanner turns on the "eager" search of the
    high-entropy plugins, which reports every unquoted word of a line (``PORT=9001`` included)."""
    scan_lines, default_settings = load_detect_secrets()
    found = []
    with default_settings():
        numbered = list(enumerate((str(line) for line in lines), 1))
        for secret in scan_lines(numbered, filename=filename or "audit"):
            found.append((secret.line_number, secret.type, secret.secret_value))
    return found
