# -*- coding: utf-8 -*-
import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.taylordash.ops.plugins.filter import application as f
from ansible_collections.taylordash.ops.plugins.filter.application import dotenv, port_of

def test_dotenv_reads_the_env_file_format():
    assert dotenv("# managed\nA='x y'\nexport B=2\n\nC=\"q\"\n") == {"A": "x y", "B": "2", "C": "q"}


def test_dotenv_errors_name_the_line_not_the_value():
    with pytest.raises(AnsibleFilterError) as err:
        dotenv("A=1\nthis-is-s3cret\n")
    assert "2" in str(err.value) and "s3cret" not in str(err.value)


@pytest.mark.parametrize("entry, port", [(3000, 3000), ("5173", 5173), ({"port": 5432, "address": "127.0.0.1"}, 5432)])
def test_port_of_plan_entries(entry, port):
    assert port_of(entry) == port


def _image(repo_tags, image_id):
    return {"Id": image_id, "RepoTags": repo_tags}


ROLLBACK_REPOS = {"backend": "td/backend", "frontend": "td/frontend"}


def _box(service, image_id, image, state="running", oneoff="False"):
    return {"Labels": {"com.docker.compose.service": service, "com.docker.compose.oneoff": oneoff},
            "ImageID": image_id, "Image": image, "State": state}


def _running(backend_id, frontend_id):
    """As docker_host_info lists them: found by label, not by a -1 name; a one-off and an exited leftover aside."""
    return [_box("backend", "b0", "td/backend:older", state="exited"), _box("backend", backend_id, "td/backend:run"),
            _box("backend", "bx", "td/backend:x", oneoff="True"), _box("frontend", frontend_id, "td/frontend:f1")]


def test_rollback_returns_to_previous_when_the_current_image_runs():
    kept = [_image(["td/backend:new", "td/backend:current"], "b2"), _image(["td/backend:old", "td/backend:previous"], "b1"),
            _image(["td/frontend:f1", "td/frontend:current"], "f1")]
    out = f.rollback_refs(kept, _running("b2", "f1"), ROLLBACK_REPOS)
    assert out == {"refs": {"backend": "td/backend:old", "frontend": "td/frontend:f1"}, "back": ["backend"],
                   "kept": ["frontend"], "from": {"backend": "td/backend:run"}}


def test_a_second_rollback_does_not_move_forward_again():
    """After a rollback, keep left `old` current and no previous (image_keep_plan with rollback): nothing to do."""
    kept = [_image(["td/backend:old", "td/backend:current"], "b1"), _image(["td/frontend:f1", "td/frontend:current"], "f1")]
    out = f.rollback_refs(kept, _running("b1", "f1"), ROLLBACK_REPOS)
    assert out["back"] == [] and out["kept"] == ["backend", "frontend"] and out["refs"]["backend"] == "td/backend:run"


def test_rollback_after_a_failed_rollout_returns_to_the_last_healthy_image():
    kept = [_image(["td/backend:old", "td/backend:current"], "b1"), _image(["td/frontend:f1", "td/frontend:current"], "f1")]
    out = f.rollback_refs(kept, _running("b2", "f1"), ROLLBACK_REPOS)
    assert out["refs"]["backend"] == "td/backend:old" and out["back"] == ["backend"]


def test_build_context_spec_reads_the_tree_and_hashes_the_rendered_files(tmp_path):
    from ansible_collections.taylordash.ops.plugins.module_utils import _context_hash as ch
    (tmp_path / "main.py").write_text("x\n")
    (tmp_path / "debug.log").write_text("y\n")
    build = {"name": "backend", "src": str(tmp_path), "repository": "t/backend", "from": ["t/py:1", "t/py:1"]}
    spec = f.build_context_spec(build, ["*.log"], {"backend": {"Dockerfile": "FROM t/py:1\n"}},
                                {"l": "v"}, {"build-ca.crt": "/etc/ca.crt"}, "/opt/b")
    assert spec["entries"] == [["src", "d", ""],
                               list(ch.file_entry("src/main.py", False, ch.file_digest(str(tmp_path / "main.py"))))]
    assert spec["texts"] == {"Dockerfile": "FROM t/py:1\n"} and spec["path"] == "/opt/b/backend"
    assert spec["files"] == {"build-ca.crt": "/etc/ca.crt"} and spec["base_images"] == ["t/py:1", "t/py:1"]
    with pytest.raises(AnsibleFilterError, match="nope"):
        f.build_context_spec(dict(build, src=str(tmp_path / "nope")), [], {}, {}, {}, "/opt/b")


def test_a_build_template_comes_from_the_first_operator_directory_that_has_it():
    from ansible_collections.taylordash.ops.plugins.module_utils import _templates
    builds = {"backend": {"templates": ["Dockerfile"]}, "frontend": {"templates": ["Dockerfile", "nginx.conf"]}}
    present = {"/ops/b/frontend/nginx.conf.j2", "/ops/a/frontend/nginx.conf.j2", "/ops/b/backend/Dockerfile.j2"}
    sources = _templates.template_sources(builds, ["frontend", "backend"], ["/ops/a/", "/ops/b"], "/role/templates",
                                          present.__contains__)
    assert sources == [
        {"app": "frontend", "name": "Dockerfile", "path": "/role/templates/frontend/Dockerfile.j2"},
        {"app": "frontend", "name": "nginx.conf", "path": "/ops/a/frontend/nginx.conf.j2"},
        {"app": "backend", "name": "Dockerfile", "path": "/ops/b/backend/Dockerfile.j2"}]
    assert _templates.texts_by_app(sources, ["F", "N", "B"]) == {
        "frontend": {"Dockerfile": "F", "nginx.conf": "N"}, "backend": {"Dockerfile": "B"}}
    with pytest.raises(ValueError, match="3 build templates but 2 rendered texts"):
        _templates.texts_by_app(sources, ["F", "N"])
