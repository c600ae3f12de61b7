"""Bad input fails before any package, file or container is touched, naming the culprit."""

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conftest import ROOT, playbook

PLAN = yaml.safe_load((ROOT / "roles/taylordash/defaults/main.yml").read_text())["taylordash_port_plan"]

# One run per step of the one check that opens every play (plan_facts: the inputs, the argument specs, the
# catalogue, the placement and offline images, then every phase's settings), to prove each runs before anything
# on the host changes and names every culprit of its step at once (the argument specs' step: first the specs,
# then the options' own rules). The matrix of bad input is unit-tested:
# tests/unit/plugins/module_utils/test__inputs.py (every option of every role), test__settings.py (images,
# shared and infrastructure settings, dev apps), test__catalogue.py (the catalogue, placement),
# test__port_plan.py (the port plan), test__backup.py (backups) and tests/unit/test_argument_specs.py.
CASES = {
    # The inputs every other check reads: image references, the deploy directory and domain, the port plan,
    # backups.
    "inputs": (
        {"taylordash_images": {"postgres": {"registry": "Postgres Latest!", "build": "taylordash/postgres:17"}},
         "taylordash_deploy_dir": "/etc/", "taylordash_domain": "taylordash.local\n",
         "taylordash_port_plan": dict(PLAN, **{"mosquitto-websockets": {"port": 9001, "address": "127.0.0.1"}}),
         "taylordash_backup_schedule": "every night", "taylordash_backup_keep_daily": 0,
         "taylordash_backup_recipients": ["age1notakey"], "taylordash_backup_offsite": ["ftp://nowhere/x"]},
        ["taylordash_images.postgres", "Postgres Latest!",
         "taylordash_deploy_dir: '/etc/' is a system directory",
         'taylordash_domain="taylordash.local\\n" is not a valid DNS name',
         "taylordash_port_plan.minio-console", "9001", "mosquitto-websockets",
         "taylordash_backup_schedule: 'every night' is not", "taylordash_backup_keep_daily must be a whole number",
         "taylordash_backup_recipients: 'age1notakey' is not an age public key",
         "taylordash_backup_offsite: 'ftp://nowhere/x' is neither an inventory host nor an S3 URL"]),
    # An argument spec (ansible-core's own check, per role entry point).
    "argument-spec": ({"docker_engine_source": "snap"}, ["docker_engine_source", "snap"]),
    # The options' rules beyond their specs (issue 16's hardening: a secret .env cannot hold, ACME without a
    # contact, a batch of no host, an MQTT wildcard).
    "option-rules": (
        {"infrastructure_secrets": {"API_KEY": "sixteen chars'ok", "MQTT_PASSWORD": "short"}, "taylordash_tls": "acme",
         "taylordash_serial": 0, "infrastructure_mqtt_topic_prefix": "td/#"},
        ["infrastructure_secrets.API_KEY: the supplied value contains a single quote",
         "infrastructure_secrets.MQTT_PASSWORD: the supplied value is shorter than taylordash_secret_min_length",
         "taylordash_acme_email is required with taylordash_tls: acme", "taylordash_serial must be a whole number",
         'infrastructure_mqtt_topic_prefix: "td/#" holds a wildcard']),
    # The catalogue as a whole.
    "catalogue": ({"taylordash_service_overrides": {"postgres": {"memroy": "2g"}}},
                  ["taylordash_services.postgres.memroy: unknown key"]),
    # The offline images (the placement step).
    "offline-images": (
        {"taylordash_image_source": "build", "taylordash_minio_enabled": True},
        ["minio has no offline build", "taylordash_minio_enabled: false"],
    ),
    # Every phase's settings: the engine's platform, the infrastructure's thresholds and published ports.
    "phase-settings": (
        {"docker_engine_platforms": {"Fedora": {"40": {"codename": "f40", "distro_packages": [],
                                                      "plugin_packages": [], "helper_suite": ""}}},
         "infrastructure_alert_disk_percent": 120,
         "taylordash_port_plan": {name: PLAN[name] for name in ("backend", "frontend", "mcp-manager", "projects-manager", "midnight-hud")}},
        ["docker_engine supports Fedora", "ansible_facts.distribution=Debian",
         "infrastructure_alert_disk_percent", "120",
         "taylordash_port_plan.traefik-web is missing; traefik is enabled and publishes it"]),
}

# Tasks that touch the host; none may run when the input is bad.
ACTING_TASKS = ["Install the engine", "Add the helper suite", "Write daemon.json", "Debootstrap", "Build "]


@pytest.mark.parametrize("extra_vars,expected", list(CASES.values()), ids=list(CASES))
def test_bad_input_fails_early_and_names_the_variable(extra_vars, expected):
    run = playbook("deploy-prod.yml", extra_vars=extra_vars)
    assert run.rc != 0, run
    # The message as one line (the output wraps it and doubles a single quote inside a quoted scalar).
    text = " ".join(run.out.split()).replace("''", "'")
    for fragment in expected:
        assert fragment in text, run
    assert "Take the deploy lock" not in run.out, run
    for task in ACTING_TASKS:
        assert "TASK [docker_engine : %s" % task not in run.out
        assert "TASK [images : %s" % task not in run.out
    assert "TASK [infrastructure : Write .env" not in run.out
    assert run.changed == 0, run


CLEANUP_CASES = {
    # cleanup's own settings (a phase's check): all four named by one run.
    "cleanup-settings": ({"cleanup_keep_apps": ["frontend", "no-such-app"], "cleanup_stop_all_dev_servers": True,
                          "cleanup_stop_timeout": -5, "cleanup_remove_volumes": True},
                         ["cleanup_keep_apps", "no-such-app", "cleanup_stop_all_dev_servers", "cleanup_stop_timeout",
                          "cleanup_remove_volumes_confirm"]),
    # The port plan and the dev apps it reads (the inputs' step).
    "plan-and-dev-apps": ({"taylordash_port_plan": {"backend": 3000, "frontend": 3000, "mcp-manager": 5174,
                                                     "projects-manager": 5175, "midnight-hud": 5177},
                           "taylordash_dev_apps": {"backend": {"path": "backend", "kinds": ["uvicorn"]},
                                                   "admin": {"path": "admin", "kinds": ["vite"]}}},
                          ["taylordash_port_plan.backend", "also planned for frontend", "taylordash_dev_apps.admin"]),
}


@pytest.mark.parametrize("extra_vars,expected", list(CLEANUP_CASES.values()), ids=list(CLEANUP_CASES))
def test_bad_cleanup_input_fails_before_any_signal(extra_vars, expected):
    run = playbook("cleanup.yml", extra_vars=extra_vars)
    assert run.rc != 0, run
    text = " ".join(run.out.split()).replace("''", "'")
    for fragment in expected:
        assert fragment in text, run
    for task in ["Find our dev servers", "Bring down", "Remove"]:
        assert "TASK [cleanup : %s" % task not in run.out
    assert run.changed == 0, run


def local_inventory(tmp_path, groups, extra_hosts=()):
    """An inventory of local-connection hosts (every one is this machine) in the given groups."""
    hosts = {name: {"ansible_connection": "local", "ansible_python_interpreter": "{{ ansible_playbook_python }}",
                    "taylordash_address": "127.0.0.1"} for name in set(sum(groups.values(), [])) | set(extra_hosts)}
    data = {"all": {"hosts": hosts, "children": {group: {"hosts": {h: None for h in members}}
                                                 for group, members in groups.items()}}}
    path = tmp_path / "inventory" / "hosts.yml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data))
    return path


# One placement case (the rest of the matrix: test__catalogue.py and tests/unit/plugins/filter/test_placement.py):
# two problems at once, named together.
PLACEMENT_CASES = {
    "stray-host-and-postgres-twice": ({"proxy": ["a"], "app": ["a"], "data": ["a", "b"], "monitoring": ["a"]},
                                      ["stray"],
                                      ["host stray is in none of the groups", "postgres runs on one host only", "a, b"]),
}


@pytest.mark.parametrize("groups,extra_hosts,expected", list(PLACEMENT_CASES.values()), ids=list(PLACEMENT_CASES))
def test_bad_placement_fails_before_anything_changes(tmp_path, groups, extra_hosts, expected):
    inventory = local_inventory(tmp_path, groups, extra_hosts)
    run = playbook("deploy-prod.yml", "-i", str(inventory), stack_vars=False)
    assert run.rc != 0, run
    text = " ".join(run.out.split()).replace("''", "'")
    for fragment in expected:
        assert fragment in text, run
    assert "TASK [infrastructure : Write .env" not in run.out and "Take the deploy lock" not in run.out
    assert run.changed == 0, run


def test_a_vault_value_that_cannot_be_decrypted_is_named_before_anything_changes(tmp_path):
    inventory = local_inventory(tmp_path, {"proxy": ["a"], "app": ["a"], "data": ["a"], "monitoring": ["a"]})
    right, wrong = tmp_path / "right", tmp_path / "wrong"
    right.write_text("right-password\n")
    wrong.write_text("wrong-password\n")
    encrypted = subprocess.run([str(Path(sys.executable).parent / "ansible-vault"), "encrypt_string",
                                "--vault-password-file", str(right), "not-a-real-secret", "--name", "POSTGRES_PASSWORD"],
                               capture_output=True, text=True, check=True).stdout
    group_vars = inventory.parent / "group_vars" / "all"
    group_vars.mkdir(parents=True)
    (group_vars / "vault.yml").write_text("vault_secrets:\n" + "".join("  " + line + "\n" for line in encrypted.splitlines()))
    (group_vars / "main.yml").write_text('infrastructure_secrets: "{{ vault_secrets }}"\n')
    run = playbook("deploy-prod.yml", "-i", str(inventory), "--vault-password-file", str(wrong), stack_vars=False)
    assert run.rc != 0, run
    assert "undecryptable" in run.out and str(group_vars / "vault.yml") in run.out, run
    assert "Take the deploy lock" not in run.out and run.changed == 0, run
    ok = playbook("cleanup.yml", "-i", str(inventory), "--vault-password-file", str(right), "--check",
                  stack_vars=False)
    assert ok.rc == 0, ok
