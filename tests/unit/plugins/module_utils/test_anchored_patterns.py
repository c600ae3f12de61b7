# -*- coding: utf-8 -*-
"""Patterns that judge a value are anchored with \\Z: Python's `$` also matches before a trailing newline, so
"name\\n" would pass a `^...$` check and end up in a file, a label or a command line. Each row takes a good
value and the same value with a newline; a new `$`-anchored pattern in plugins/ fails the last test unless
it is listed there with the reason it may stay (a parser of lines already split, a file name, ...).
test__settings.py and test__inputs.py hold the rows of _settings.py's and _inputs.py's patterns."""

import os
import re

import pytest

from ansible_collections.taylordash.ops.plugins.filter import images as images_filter
from ansible_collections.taylordash.ops.plugins.module_utils import (_audit, _audit_scan, _backup, _dev_server,
                                                                      _docker_user_firewall, _envfile, _inputs,
                                                                      _mosquitto_passwd, _port_plan)

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), os.pardir, os.pardir, os.pardir, os.pardir))
RECIPIENT = "age1ukuzjevy3ggr9t2nphmfjl3uf9hdv2mp6vthqamhk00auy7w5f3qdncvpt"


def offsite_errors(**changes):
    settings = {"schedule": "daily", "keep_daily": 7, "keep_weekly": 4, "keep_monthly": 12, "keep_pre_migration": 5,
                "recipients": [RECIPIENT], "secrets": False, "offsite": ["offsite1"], "offsite_user": "taylordash-backup",
                "offsite_dir": "/var/backups/taylordash", "offsite_port": 22, "dir": "/opt/taylordash/backups",
                "deploy_dir": "/opt/taylordash", "backup_host": "host1"}
    settings.update(changes)
    return _backup.settings_errors(settings, ["host1", "offsite1"])


# (name, is the value accepted?, a good value)
ROWS = [
    ("_backup backup name", lambda v: _backup.parse_id(v) is not None, "20261202T070000Z-pre-migration"),
    ("_backup ssh recipient", lambda v: bool(_backup._SSH_KEY.match(v)), "ssh-ed25519 AAAAC3Nza comment"),
    ("_backup s3 target", lambda v: bool(_backup._S3.match(v)), "s3://bucket/prefix"),
    ("_backup schedule pattern", lambda v: bool(_backup._DURATION.match(v)), "1h30m"),
    ("_backup schedule setting", lambda v: offsite_errors(schedule=v) == [], "6h"),
    ("_backup recipients setting", lambda v: offsite_errors(recipients=[v]) == [], RECIPIENT),
    ("_backup offsite setting", lambda v: offsite_errors(offsite=[v]) == [], "offsite1"),
    ("_backup offsite_user", lambda v: offsite_errors(offsite_user=v) == [], "taylordash-backup"),
    ("_backup offsite_dir", lambda v: offsite_errors(offsite_dir=v) == [], "/var/backups/taylordash"),
    ("_audit fingerprint", lambda v: _audit._fingerprint(v) is not None, "hmac-sha256:0123456789abcdef"),
    ("_audit_scan env key", lambda v: bool(_audit_scan.ENV_KEY.match(v)), "DB_PASSWORD"),
    ("_envfile name", lambda v: bool(_envfile.NAME.match(v)), "API_KEY"),
    ("_port_plan port", lambda v: _port_plan._port(v) is not None, "8080"),
    ("_mosquitto_passwd iterations", lambda v: bool(_mosquitto_passwd.DIGITS.match(v)), "101"),
    ("_dev_server name", lambda v: bool(_dev_server.NAME.match(v)), "backend"),
    ("_docker_user_firewall chain", lambda v: bool(_docker_user_firewall.CHAIN_NAME.match(v)), "DOCKER-USER"),
    ("_docker_user_firewall rule", lambda v: bool(_docker_user_firewall.RULE_NAME.match(v)), "taylordash-postgres"),
    ("filter images tag", lambda v: bool(images_filter._TAGGED.search(v)), "postgres:17"),
    ("_inputs go duration", lambda v: _inputs.go_seconds(v) is not None, "1m30s"),
    ("_inputs e-mail", lambda v: bool(_inputs.EMAIL.match(v)), "ops@example.com"),
    ("_inputs registry prefix", lambda v: bool(_inputs.REGISTRY_PREFIX.match(v)), "mirror.example.com:5000/"),
    ("_inputs host name", lambda v: bool(_inputs.HOST_NAME.match(v)), "taylordash"),
    ("_inputs label key", lambda v: bool(_inputs.LABEL_KEY.match(v)), "org.taylordash.keep"),
    ("_inputs haproxy time", lambda v: bool(_inputs.HAPROXY_TIME.match(v)), "1h"),
]


@pytest.mark.parametrize("name,accepted,good", ROWS, ids=[row[0] for row in ROWS])
def test_a_trailing_newline_is_refused(name, accepted, good):
    assert accepted(good), good
    assert not accepted(good + "\n"), repr(good + "\n")


# `$`-anchored patterns that may stay, by file and pattern text, with the reason.
ALLOWED = {
    ("plugins/filter/images.py", r"\.sh(\.j2)?$"): "a template's file name in the role (no newline)",
    ("plugins/filter/images.py", r"\.j2$"): "a template's file name in the role (no newline)",
    ("plugins/module_utils/_audit_files.py", None): "parsers of configuration files already split into lines, and "
                                                    "of values: a YAML block scalar's value ends with a newline, and "
                                                    "${VAR}\\n is still a reference, not a literal credential",
    ("plugins/module_utils/_audit_scan.py", r"auth$"): "a key name's suffix, matched after rstrip",
    ("plugins/module_utils/_audit_scan.py", None): "file names found on the host (a name with a newline in it is "
                                                   "still scanned)",
    ("plugins/module_utils/_compose.py", None): "docker's own timestamps",
    ("plugins/module_utils/_context_hash.py", None): "exclude patterns matched against paths of a source tree",
    ("plugins/module_utils/_devservers.py", None): "/proc entries (readlink of an fd, a process name)",
    ("plugins/module_utils/_envfile.py", None): "the value of one .env line, the file already split on newlines",
    ("plugins/modules/postgres_version.py", None): "the tag of an image reference the catalogue already checked",
}
_LITERAL = re.compile(r'''(?<![A-Za-z0-9_])r?(["'])((?:(?!\1).)*?)\$\1''')


def test_no_other_pattern_is_anchored_with_a_dollar():
    found = []
    for folder, _, files in os.walk(os.path.join(ROOT, "plugins")):
        for filename in sorted(files):
            if not filename.endswith(".py"):
                continue
            path = os.path.relpath(os.path.join(folder, filename), ROOT)
            with open(os.path.join(ROOT, path), encoding="utf-8") as handle:
                for number, line in enumerate(handle, 1):
                    for match in _LITERAL.finditer(line):
                        body = match.group(2) + "$"
                        if body in ("$", "$$") or body.endswith("$$"):
                            continue  # a dollar sign, not an anchor
                        if (path, body) in ALLOWED or (path, None) in ALLOWED:
                            continue
                        found.append("%s:%d: %s" % (path, number, match.group(0)))
    assert found == [], "anchor with \\Z (or add the pattern to ALLOWED with its reason): %s" % found
