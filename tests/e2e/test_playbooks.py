"""Every playbook runs end to end against localhost, and a second run changes nothing."""

import pytest
import yaml

from conftest import ROOT, playbook

DEFAULTS = yaml.safe_load((ROOT / "roles/taylordash/defaults/main.yml").read_text())

PLAYBOOKS = ["deploy-prod.yml", "deploy-dev.yml", "cleanup.yml", "health-check.yml", "rollback.yml", "backup.yml",
             "restore.yml", "rotate-secrets.yml", "audit.yml", "engine.yml"]


# deploy-prod.yml's second run and check mode are asserted on the shared stack by
# test_infrastructure (same container IDs, same .env); deploy-dev.yml's by test_dev.
@pytest.mark.parametrize("name", ["cleanup.yml", "health-check.yml"])
def test_playbook_twice_then_check_mode_changes_nothing(stack, engine, name):
    first = playbook(name)
    assert first.rc == 0, first
    if name == "health-check.yml":  # it reports the engine and the images
        assert "Docker %s" % engine in first.out
        assert "images missing: none" in first.out
        present = first.out.split("images present: ", 1)[1].split("images missing:", 1)[0]
        assert "taylordash/postgres:17" in present and "taylordash/traefik:3.7" in present, first
    second = playbook(name)
    assert second.rc == 0, second
    assert second.changed == 0, second
    check = playbook(name, "--check", "--diff")
    assert check.rc == 0, check
    assert check.changed == 0, check


def test_playbooks_dir_entry_points_parse():
    # One ansible-playbook run checks them all (it names the file that does not parse).
    run = playbook("--syntax-check", *["playbooks/" + name for name in PLAYBOOKS])
    assert run.rc == 0, run
    assert sorted(PLAYBOOKS) == sorted(path.name for path in (ROOT / "playbooks").glob("*.yml")), "a playbook is not listed"


def test_health_check_fails_naming_a_missing_image(engine):
    # Ansible replaces a whole dict: pass every shipped image, one of them absent.
    images = dict(DEFAULTS["taylordash_images"], base={"registry": "debian:13", "build": "taylordash/absent-for-test:1"})
    run = playbook("health-check.yml", extra_vars={"taylordash_images": images})
    assert run.rc != 0, run
    assert "taylordash/absent-for-test:1" in run.out
