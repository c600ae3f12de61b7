"""cleanup.yml on the audited host's layout of real uvicorn and vite servers, with decoys."""

import json
import subprocess
import textwrap

import pytest
import yaml

import seed as seedlib
from conftest import ROOT, ansible_env, playbook

KEEP = {3000: "backend", 5173: "frontend", 5174: "mcp-manager", 5175: "projects-manager", 5177: "midnight-hud"}
STRAYS = ["backend-uvicorn-8000", "backend-uvicorn-basepython-8000-v6", "frontend-vite-5176", "frontend-vite-5178"]


@pytest.fixture()
def seed(tmp_path, engine):
    started = seedlib.start(tmp_path)
    yield started
    started.stop()


def tree(seed, pid):
    return {pid} | seed.descendants(pid)


def test_cleanup_keeps_one_instance_per_app_on_its_planned_port(seed):
    extra = dict(seed.extra_vars(), cleanup_stop_timeout=10)
    stray_trees = {name: tree(seed, seed.server(name)["pid"]) for name in STRAYS}
    kept_trees = {entry["name"]: tree(seed, entry["pid"]) for entry in seed.servers if entry["port"] in KEEP}
    assert any(len(t) > 1 for t in kept_trees.values()), "the --reload backend should be a process tree"

    facts = playbook("cleanup.yml", "--check", "--diff", extra_vars=extra)
    assert facts.rc == 0, facts
    assert facts.changed >= 1, facts
    for name in STRAYS:
        assert "pid=%d" % seed.server(name)["pid"] in facts.out, (name, facts)
    for name, pids in list(stray_trees.items()) + list(kept_trees.items()):
        assert all(seed.alive(pid) for pid in pids), "check mode stopped %s" % name
    assert "type: off-plan" in facts.out, facts
    duplicates = facts.out.split("duplicates:", 1)[1].split("ours:", 1)[0]
    assert "backend:" in duplicates and "frontend:" in duplicates and "mcp-manager" not in duplicates, facts

    run = playbook("cleanup.yml", extra_vars=extra)
    assert run.rc == 0, run
    for name, pids in stray_trees.items():
        assert not any(seed.alive(pid) for pid in pids), "%s or a descendant survived" % name
    for name, pids in kept_trees.items():
        assert seed.alive(seed.server(name)["pid"]), "%s was stopped" % name
    for decoy in seed.decoys:
        assert seed.alive(decoy["pid"]), "decoy %s was stopped" % decoy["name"]
        assert seed.listening(decoy["port"], decoy["family"]), decoy
    for port in KEEP:
        assert seed.listening(port, "ipv4"), port
    assert not seed.listening(8000, "ipv4") and not seed.listening(8000, "ipv6")
    assert not seed.listening(5176, "ipv4") and not seed.listening(5178, "ipv4")
    for port in (8000, 5176, 5178):
        assert "%d" % port in run.out

    again = playbook("cleanup.yml", extra_vars=extra)
    assert again.rc == 0 and again.changed == 0, again


def test_stop_all_stops_every_instance_of_our_apps_and_nothing_else(seed):
    extra = dict(seed.extra_vars(), cleanup_stop_all_dev_servers=True)
    ours = {entry["name"]: tree(seed, entry["pid"]) for entry in seed.servers}
    run = playbook("cleanup.yml", extra_vars=extra)
    assert run.rc == 0, run
    for name, pids in ours.items():
        assert not any(seed.alive(pid) for pid in pids), "%s survived" % name
    for decoy in seed.decoys:
        assert seed.alive(decoy["pid"]), "decoy %s was stopped" % decoy["name"]
    again = playbook("cleanup.yml", extra_vars=extra)
    assert again.rc == 0 and again.changed == 0, again


def test_keep_apps_are_left_alone(seed):
    extra = dict(seed.extra_vars(), cleanup_keep_apps=["frontend"])
    frontends = [entry for entry in seed.servers if entry["app"] == "frontend"]
    run = playbook("cleanup.yml", extra_vars=extra)
    assert run.rc == 0, run
    assert all(seed.alive(entry["pid"]) for entry in frontends)
    assert not seed.alive(seed.server("backend-uvicorn-8000")["pid"])


def test_listen_ports_facts_lacks_what_cleanup_needs(seed):
    """community.general.listen_ports_facts gives pid and name, but no command line, cwd or tree."""
    play = seed.base / "lpf.yml"
    play.write_text(textwrap.dedent("""\
        - hosts: localhost
          gather_facts: false
          tasks:
            - community.general.listen_ports_facts:
            - ansible.builtin.copy:
                content: "{{ ansible_facts.tcp_listen | to_json }}"
                dest: "%s"
        """ % (seed.base / "lpf.json")))
    proc = subprocess.run(["ansible-playbook", str(play)], cwd=ROOT, env=ansible_env(), stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, check=False)
    assert proc.returncode == 0, proc.stdout
    listeners = json.loads((seed.base / "lpf.json").read_text())
    entry = next(item for item in listeners if item["port"] == 5176)
    assert entry["pid"] == seed.server("frontend-vite-5176")["pid"] or entry["name"] in ("node", "nodejs")
    assert not {"cmdline", "cwd", "ppid", "descendants"} & set(entry)
    # Both frontend duplicates and the decoy vite look alike to it: same name, no project directory.
    names = {item["name"] for item in listeners if item["port"] in (5173, 5176, 5180)}
    assert len(names) == 1


def test_deploy_prod_cleanup_phase_stops_every_dev_server_of_our_apps(seed):
    """deploy-prod.yml's cleanup phase: production serves the apps from containers, so every
    hand-started instance goes (by PID, with its tree), and decoys stay."""
    ours = {entry["name"]: tree(seed, entry["pid"]) for entry in seed.servers}
    defaults = yaml.safe_load((ROOT / "roles" / "taylordash" / "defaults" / "main.yml").read_text())
    # The seed's plan holds the dev ports only; the deploy's checks also want Traefik's and MQTT's.
    extra = dict(seed.extra_vars(), taylordash_port_plan=dict(defaults["taylordash_port_plan"], **seed.port_plan))
    run = playbook("deploy-prod.yml", "--tags", "cleanup", extra_vars=extra)
    assert run.rc == 0, run
    assert run.changed >= 1, run
    for name, pids in ours.items():
        assert not any(seed.alive(pid) for pid in pids), "%s survived" % name
    for decoy in seed.decoys:
        assert seed.alive(decoy["pid"]), "decoy %s was stopped" % decoy["name"]
    again = playbook("deploy-prod.yml", "--tags", "cleanup", extra_vars=extra)
    assert again.rc == 0 and again.changed == 0, again
