"""`ansible-galaxy collection build` produces a collection that installs and whose content resolves."""

import os
import subprocess

from conftest import ROOT, ansible_env


def run(cmd, cwd, env):
    proc = subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          check=False)
    assert proc.returncode == 0, proc.stdout
    return proc.stdout


def test_collection_builds_installs_and_documents_itself(tmp_path):
    env = ansible_env()
    env.pop("ANSIBLE_CONFIG")
    run(["ansible-galaxy", "collection", "build", "--output-path", str(tmp_path)], ROOT, env)
    tarballs = [name for name in os.listdir(tmp_path) if name.startswith("taylordash-ops-")]
    assert len(tarballs) == 1
    # Install from a directory without this repository's ansible.cfg or collections/ symlink.
    run(["ansible-galaxy", "collection", "install", "--no-deps", "-p", str(tmp_path / "inst"),
         str(tmp_path / tarballs[0])], tmp_path, env)
    installed = tmp_path / "inst" / "ansible_collections" / "taylordash" / "ops"
    for path in ["roles/docker_engine/meta/argument_specs.yml", "roles/images/tasks/main.yml",
                 "plugins/modules/build_context_hash.py", "plugins/module_utils/_context_hash.py",
                 "playbooks/deploy-prod.yml", "meta/runtime.yml"]:
        assert (installed / path).is_file(), path
    assert not (installed / "collections").exists()
    assert not (installed / ".venv").exists()
    env["ANSIBLE_COLLECTIONS_PATH"] = str(tmp_path / "inst")
    module_doc = run(["ansible-doc", "taylordash.ops.build_context_hash"], tmp_path, env)
    assert "missing_ok" in module_doc and "base_image_ids" in module_doc
    role_doc = run(["ansible-doc", "-t", "role", "taylordash.ops.docker_engine"], tmp_path, env)
    assert "docker_engine_source" in role_doc
