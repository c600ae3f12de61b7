# -*- coding: utf-8 -*-
"""plugins/action/audit_facts.py with the module's run replaced by a canned raw result (file texts
included): the HMAC key file is made once (0600, parents 0700) and reused, never sent to the host; what
the action returns holds no file text and no value; the module's failures pass through without texts."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import json
import os
import stat
import sys
from types import SimpleNamespace

import pytest

from ansible.errors import AnsibleActionFail
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar

from ansible_collections.taylordash.ops.plugins.action import audit_facts as action_plugin
from ansible_collections.taylordash.ops.plugins.action.audit_facts import ActionModule

ENV_TEXT = """POSTGRES_USER=app
POSTGRES_PASSWORD='Vw9-shared-pw'
JWT_SECRET=jwt-8f2c-only-here
DATABASE_URL=postgresql://app:Vw9-shared-pw@db:5432/app
MINIO_ROOT_PASSWORD=minioadmin
BACKEND_PORT=8000
"""
COMPOSE_TEXT = """services:
  db:
    environment:
      - POSTGRES_PASSWORD=Vw9-shared-pw
  minio:
    command: server /data --console-address ":9001"
    environment:
      MINIO_ROOT_PASSWORD: minioadmin
      AWS_SECRET_ACCESS_KEY: wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY
    ports:
      - "9001:9001"
"""
MOSQUITTO_TEXT = """listener 1883 127.0.0.1
listener 9001
protocol websockets
"""
BROKEN_TEXT = "services:\n  a:\n    environment:\n      - MQTT_PASSWORD=brok3n-yaml-pw\n   bad: [\n"
# every value of the fixture files that must never be returned
VALUES = ["Vw9-shared-pw", "jwt-8f2c-only-here", "minioadmin", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
          "brok3n-yaml-pw"]


def file_entry(path, kind, text, **extra):
    entry = {"path": path, "kind": kind, "mode": "0640", "owner": "root", "group": "root", "world_readable": False,
             "error": None, "text": text}
    entry.update(extra)
    return entry


def raw_result():
    return {
        "changed": False,
        "invocation": {"module_args": {"project_root": "/srv/app"}},
        "audit": {
            "schema": "taylordash.audit.facts/1",
            "collected_at": "2026-12-02T12:00:00Z",
            "scan_errors": [{"what": "file", "path": "/srv/secret.env", "error": "Permission denied"}],
            "processes": [],
            "listeners": [{"address": "0.0.0.0", "port": 9001, "family": "ipv4", "pid": 7, "process": "mosquitto",
                           "user": "mosquitto", "in_container": False, "container": None}],
            "containers": [],
            "files": [
                file_entry("/srv/app/.env", "env", ENV_TEXT, world_readable=True, mode="0644"),
                file_entry("/srv/app/docker-compose.yml", "compose", COMPOSE_TEXT),
                file_entry("/etc/mosquitto/mosquitto.conf", "config", MOSQUITTO_TEXT),
                file_entry("/srv/old/docker-compose.yml", "compose", BROKEN_TEXT),
                file_entry("/srv/secret.env", "env", None, error="Permission denied"),
            ],
            "docker": {"available": False},
        },
    }


class Recorder(object):
    """A stand-in for ActionBase._execute_module: records its calls, returns a copy of result."""

    def __init__(self, result):
        self.result, self.calls = result, []

    def __call__(self, module_name=None, module_args=None, task_vars=None, **kwargs):
        self.calls.append({"module_name": module_name, "module_args": copy.deepcopy(module_args),
                           "task_vars": task_vars, "kwargs": kwargs})
        return copy.deepcopy(self.result)


def run(key_file, raw=None, extra_args=None, host="web1"):
    args = {"project_root": "/srv/app", "scan_roots": ["/srv"], "fingerprint_key_file": key_file}
    args.update(extra_args or {})
    if key_file is None:
        del args["fingerprint_key_file"]
    task = SimpleNamespace(args=args, async_val=0, check_mode=False, action="taylordash.ops.audit_facts")
    connection = SimpleNamespace(_shell=SimpleNamespace(tmpdir="/nonexistent"))
    loader = DataLoader()
    action = ActionModule(task, connection, None, loader, Templar(loader=loader, variables={}), None)
    recorder = Recorder(raw_result() if raw is None else raw)
    action._execute_module = recorder
    return action.run(task_vars={"inventory_hostname": host}), recorder


def files_of(result):
    return dict((entry["path"], entry) for entry in result["audit"]["files"])


def mode(path):
    return stat.S_IMODE(os.stat(str(path)).st_mode)


@pytest.fixture
def key_file(tmp_path):
    return tmp_path / "config" / "taylordash" / "audit-fingerprint.key"


# --------------------------------------------------------------------------- the key file

def test_the_key_file_is_made_once_0600_in_0700_directories_and_reused(key_file):
    run(str(key_file))
    key = key_file.read_bytes()
    assert len(key) == 32 and mode(key_file) == 0o600
    assert mode(key_file.parent) == 0o700 and mode(key_file.parent.parent) == 0o700
    assert [name for name in os.listdir(str(key_file.parent)) if name != key_file.name] == []  # no temporary left
    first, _ = run(str(key_file))
    second, _ = run(str(key_file))
    assert key_file.read_bytes() == key
    assert first["audit"]["files"] == second["audit"]["files"]


def test_a_key_file_in_the_home_directory_is_expanded(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    run("~/.config/taylordash/audit.key")
    assert len((tmp_path / ".config" / "taylordash" / "audit.key").read_bytes()) == 32


def test_a_key_that_exists_already_is_kept(tmp_path):
    path = tmp_path / "key"
    path.write_bytes(b"an existing key")
    path.chmod(0o600)
    assert action_plugin._create_key(str(path)) is False
    assert path.read_bytes() == b"an existing key"
    assert sorted(os.listdir(str(tmp_path))) == ["key"]


def test_fingerprints_are_the_same_for_the_same_value_in_two_files_and_differ_with_another_key(tmp_path):
    one, _ = run(str(tmp_path / "one.key"))
    two, _ = run(str(tmp_path / "two.key"))

    def fingerprints(result):
        files = files_of(result)
        env = dict((s["key"], s["fingerprint"]) for s in files["/srv/app/.env"]["secrets"])
        compose = dict((s["key"], s["fingerprint"]) for s in files["/srv/app/docker-compose.yml"]["secrets"])
        return env, compose

    env, compose = fingerprints(one)
    assert env["POSTGRES_PASSWORD"] == compose["db.environment.POSTGRES_PASSWORD"] == env["DATABASE_URL"]
    assert env["MINIO_ROOT_PASSWORD"] == compose["minio.environment.MINIO_ROOT_PASSWORD"]
    assert env["JWT_SECRET"] != env["POSTGRES_PASSWORD"]
    other_env, other_compose = fingerprints(two)
    assert other_env["POSTGRES_PASSWORD"] == other_compose["db.environment.POSTGRES_PASSWORD"]
    assert other_env["POSTGRES_PASSWORD"] != env["POSTGRES_PASSWORD"]


@pytest.mark.parametrize("make, problem", [
    (lambda path: path.write_bytes(b""), "is empty"),
    (lambda path: path.mkdir(), "cannot be read"),
], ids=["empty", "a-directory"])
def test_a_key_file_that_is_empty_or_unreadable_is_refused_before_the_module_runs(tmp_path, make, problem):
    path = tmp_path / "key"
    make(path)
    with pytest.raises(AnsibleActionFail, match="audit_fingerprint_key_file .* %s" % problem):
        run(str(path))


def test_a_key_file_without_read_permission_is_refused(tmp_path, monkeypatch):
    path = tmp_path / "key"
    path.write_bytes(b"k" * 32)
    path.chmod(0)
    # Root (CI) reads a mode 0000 file: the open that a user without the permission gets is made here.
    real_open = open

    def refusing_open(name, *args, **kwargs):
        if str(name) == str(path):
            raise PermissionError(13, "Permission denied", str(name))
        return real_open(name, *args, **kwargs)
    monkeypatch.setattr("builtins.open", refusing_open)
    with pytest.raises(AnsibleActionFail, match="audit_fingerprint_key_file .* cannot be read"):
        run(str(path))


def test_a_key_file_that_cannot_be_made_is_refused(tmp_path):
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("x")
    with pytest.raises(AnsibleActionFail, match="audit_fingerprint_key_file .* cannot be created"):
        run(str(blocker / "key"))


@pytest.mark.parametrize("value", [None, "", ["a"]])
def test_the_key_file_option_is_required(value):
    with pytest.raises(AnsibleActionFail, match="fingerprint_key_file"):
        run(value)


def test_a_key_open_to_other_users_is_used_with_a_warning(tmp_path):
    path = tmp_path / "key"
    path.write_bytes(b"k" * 32)
    path.chmod(0o644)
    result, _ = run(str(path))
    assert result.get("failed") is not True
    assert [w for w in result["warnings"] if "audit_fingerprint_key_file" in w and "0644" in w]


# --------------------------------------------------------------------------- what the module gets

def test_the_module_runs_without_the_key_option_and_never_sees_the_key(key_file):
    _, recorder = run(str(key_file))
    assert len(recorder.calls) == 1
    call = recorder.calls[0]
    assert call["module_name"] == "taylordash.ops.audit_facts"
    assert call["module_args"] == {"project_root": "/srv/app", "scan_roots": ["/srv"]}
    assert call["task_vars"] == {"inventory_hostname": "web1"}
    key = key_file.read_bytes()
    sent = json.dumps(call["module_args"])
    assert key.hex() not in sent and str(key_file) not in sent


def test_detect_secrets_missing_fails_naming_the_package_before_the_module_runs(key_file, monkeypatch):
    monkeypatch.setitem(sys.modules, "detect_secrets.core.scan", None)
    task = SimpleNamespace(args={"fingerprint_key_file": str(key_file)}, async_val=0, check_mode=False,
                           action="taylordash.ops.audit_facts")
    loader = DataLoader()
    action = ActionModule(task, SimpleNamespace(_shell=SimpleNamespace(tmpdir="/nonexistent")), None, loader,
                          Templar(loader=loader, variables={}), None)
    recorder = Recorder(raw_result())
    action._execute_module = recorder
    with pytest.raises(AnsibleActionFail, match=r"detect-secrets==1\.5\.0"):
        action.run(task_vars={"inventory_hostname": "web1"})
    assert recorder.calls == []


# --------------------------------------------------------------------------- what the action returns

def test_no_value_and_no_text_anywhere_in_the_result(key_file):
    result, _ = run(str(key_file))
    dumped = json.dumps(result)
    for value in VALUES:
        assert value not in dumped, value
    assert key_file.read_bytes().hex() not in dumped
    for entry in result["audit"]["files"]:
        assert "text" not in entry and "parse_error" not in entry
    assert '"text"' not in dumped


def test_the_facts_hold_the_host_ports_secrets_and_the_scan_errors(key_file):
    result, _ = run(str(key_file), host="web7")
    audit = result["audit"]
    assert result["changed"] is False and result.get("failed") is not True
    assert list(audit)[:2] == ["schema", "host"] and audit["host"] == "web7"
    assert audit["schema"] == "taylordash.audit.facts/1" and audit["collected_at"] == "2026-12-02T12:00:00Z"
    assert audit["listeners"] == raw_result()["audit"]["listeners"]
    assert audit["scan_errors"] == [
        {"what": "file", "path": "/srv/secret.env", "error": "Permission denied"},
        {"what": "parse", "path": "/srv/old/docker-compose.yml", "error": "not valid YAML (line 5)"},
    ]
    files = files_of(result)
    assert [p for p in files["/srv/app/docker-compose.yml"]["ports"] if p["port"] == 9001] == [
        {"port": 9001, "line": 6, "key": "minio.command", "published": False},
        {"port": 9001, "line": 11, "key": "minio.ports", "published": True},
    ]
    assert files["/etc/mosquitto/mosquitto.conf"]["ports"] == [
        {"port": 1883, "line": 1, "key": "listener", "published": False, "address": "127.0.0.1"},
        {"port": 9001, "line": 2, "key": "listener", "published": False},
    ]
    env = files["/srv/app/.env"]
    assert (env["mode"], env["world_readable"]) == ("0644", True)
    assert [(s["line"], s["key"], s["detector"], s["known_default"]) for s in env["secrets"]] == [
        (2, "POSTGRES_PASSWORD", "keyword", False),
        (3, "JWT_SECRET", "keyword", False),
        (4, "DATABASE_URL", "url-credentials", False),
        (5, "MINIO_ROOT_PASSWORD", "keyword", True),
    ]
    assert all(s["fingerprint"].startswith("hmac-sha256:") and len(s["fingerprint"]) == 28 for s in env["secrets"])
    broken = files["/srv/old/docker-compose.yml"]
    assert [s["key"] for s in broken["secrets"]] == ["MQTT_PASSWORD"]  # read line by line
    unreadable = files["/srv/secret.env"]
    assert (unreadable["error"], unreadable["ports"], unreadable["secrets"]) == ("Permission denied", [], [])


def test_a_file_that_cannot_be_analysed_becomes_a_scan_error_without_its_content(key_file, monkeypatch):
    def boom(entry, key, detector=None):
        raise ValueError("cannot handle %s" % entry["text"])
    monkeypatch.setattr(action_plugin._audit_files, "analyse", boom)
    result, _ = run(str(key_file))
    assert "Vw9-shared-pw" not in json.dumps(result)
    assert {"what": "parse", "path": "/srv/app/.env", "error": "could not be analysed (ValueError)"} in \
        result["audit"]["scan_errors"]
    assert files_of(result)["/srv/app/.env"]["secrets"] == []


@pytest.mark.parametrize("raw", [
    dict(raw_result(), failed=True, msg="docker inspect failed"),
    {"failed": True, "msg": "MODULE FAILURE", "rc": 1, "module_stderr": "Traceback ...",
     "module_stdout": '{"audit": {"files": [{"text": "JWT_SECRET=jwt-8f2c-only-here'},
    {"changed": False},
], ids=["failed-with-files", "module-failure", "no-audit"])
def test_a_failed_module_passes_through_without_texts(key_file, raw):
    result, _ = run(str(key_file), raw=raw)
    assert result["failed"] is True and result["msg"]
    dumped = json.dumps(result)
    for value in VALUES:
        assert value not in dumped
    assert '"text"' not in dumped
    if raw.get("msg") == "docker inspect failed":
        assert result["msg"] == "docker inspect failed"
        assert [entry["path"] for entry in result["audit"]["files"]][0] == "/srv/app/.env"
    if "module_stdout" in raw:
        assert result["module_stdout"] == action_plugin.WITHHELD and result["module_stderr"] == "Traceback ..."
